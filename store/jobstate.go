package store

import (
	"context"
	"strings"

	"github.com/postkasse/postkasse/store/storage"
)

// JobOutcome is how a job's run ended.
type JobOutcome = storage.JobOutcome

// Job outcomes. A run that is still "running" after the server stopped
// was interrupted (killed, or the machine went down); its work is idempotent
// and is picked up by the next run.
const (
	JobRunning  = storage.JobRunning
	JobOK       = storage.JobOK
	JobFailed   = storage.JobFailed
	JobPanicked = storage.JobPanicked
	JobStopped  = storage.JobStopped // the server shut down during the run
)

// JobRun is the record of a job's last run, for the operator: its last
// start, end (zero while running, or when the run was interrupted),
// outcome, what it did (Items: letters delivered, notifications sent, …)
// and a summary line or the error (Detail).
type JobRun = storage.JobRun

// RecordJobRun stores the state of a job's run: once with JobRunning when
// it starts, once with its outcome when it ends.
func (s *Store) RecordJobRun(ctx context.Context, r JobRun) error {
	if r.Job == "" || len(r.Job) > 64 {
		return invalid("job", "a name of 1 to 64 bytes")
	}
	r.Detail = truncateUTF8(strings.ToValidUTF8(r.Detail, "?"), 1000)
	return s.update(ctx, func(tx storage.Tx) error { return tx.JobRuns().Put(&r) })
}

// JobRuns returns the last run of every job that has run, by name.
func (s *Store) JobRuns(ctx context.Context) ([]JobRun, error) {
	var out []JobRun
	err := s.view(ctx, func(tx storage.Tx) error {
		runs, err := tx.JobRuns().All()
		for _, r := range runs {
			out = append(out, *r)
		}
		return err
	})
	return out, err
}
