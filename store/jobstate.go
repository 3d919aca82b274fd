package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// JobOutcome is how a job's run ended.
type JobOutcome string

// Job outcomes. A run that is still "running" after the server stopped
// was interrupted (killed, or the machine went down); its work is idempotent
// and is picked up by the next run.
const (
	JobRunning  JobOutcome = "running"
	JobOK       JobOutcome = "ok"
	JobFailed   JobOutcome = "failed"
	JobPanicked JobOutcome = "panicked"
	JobStopped  JobOutcome = "stopped" // the server shut down during the run
)

// JobRun is the record of a job's last run, for the operator.
type JobRun struct {
	Job      string
	Started  time.Time
	Finished time.Time // zero while running (or when the run was interrupted)
	Outcome  JobOutcome
	Items    int    // what the run did: letters delivered, notifications sent, …
	Detail   string // a summary line, or the error
}

// RecordJobRun stores the state of a job's run: once with JobRunning when
// it starts, once with its outcome when it ends.
func (s *Store) RecordJobRun(r JobRun) error {
	if r.Job == "" || len(r.Job) > 64 {
		return invalid("job", "a name of 1 to 64 bytes")
	}
	r.Detail = truncateUTF8(strings.ToValidUTF8(r.Detail, "?"), 1000)
	return s.update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketJobRuns), []byte(r.Job), &r)
	})
}

// JobRuns returns the last run of every job that has run, by name.
func (s *Store) JobRuns() ([]JobRun, error) {
	var out []JobRun
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobRuns).ForEach(func(k, v []byte) error {
			var r JobRun
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode job run %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
