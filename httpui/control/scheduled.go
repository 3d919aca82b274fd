package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/store"
)

// The operations of the scheduled work (docs/RETENTION.md): publishing
// the terms of use, recording a death, and the jobs' status.

// TermsRequest publishes a new version of the terms of use.
type TermsRequest struct {
	// Text is the full text, UTF-8.
	Text string `json:"text"`
	// Effective is the date it takes effect, YYYY-MM-DD, in the
	// appliance's time zone (jobs.time_zone); at least one calendar month
	// after today's date there.
	Effective string `json:"effective"`
}

// TermsInfo is a published version of the terms of use, without its text.
type TermsInfo struct {
	Version       int       `json:"version"`
	Published     time.Time `json:"published"`
	EffectiveDate string    `json:"effectiveDate"` // YYYY-MM-DD in the appliance's time zone
	Effective     time.Time `json:"effective"`     // the start of that day
	// NoticesDone is when the notice had reached every active mailbox;
	// absent while the terms-notices job is still at it.
	NoticesDone *time.Time `json:"noticesDone,omitempty"`
	Size        int        `json:"size"` // of the text, in bytes
}

// DeathRequest records a resident's death.
type DeathRequest struct {
	NationalID string `json:"nationalId"`
	// Date is the date of death, YYYY-MM-DD, in the appliance's time zone;
	// not in the future.
	Date string `json:"date"`
}

// JobInfo is what the operator sees of one scheduled job.
type JobInfo struct {
	Name     string    `json:"name"`
	Schedule string    `json:"schedule"` // cron spec, UTC
	Next     time.Time `json:"next"`     // when cron next wakes it
	Running  bool      `json:"running"`
	// Last is its last run (kept in the database, so it survives
	// restarts); absent when it never ran.
	Last *JobRunInfo `json:"last,omitempty"`
}

// JobRunInfo is a job's last run.
type JobRunInfo struct {
	Started time.Time `json:"started"`
	// Finished is absent while the run goes on, or when the server
	// stopped during it (Outcome "running" then).
	Finished *time.Time `json:"finished,omitempty"`
	Outcome  string     `json:"outcome"` // running, ok, failed, panicked, stopped
	Items    int        `json:"items"`
	Detail   string     `json:"detail,omitempty"`
}

// ErrNoScheduler: the operator was built without the jobs' status.
var ErrNoScheduler = errors.New("the jobs' status is not available here")

func (o *Operator) location() *time.Location {
	if o.Location != nil {
		return o.Location
	}
	return time.UTC
}

// parseDate reads a YYYY-MM-DD date in the operator's time zone.
func (o *Operator) parseDate(field, s string) (time.Time, error) {
	day, err := time.ParseInLocation(time.DateOnly, s, o.location())
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q: want a date YYYY-MM-DD", ErrBadRequest, field, s)
	}
	return day, nil
}

// PublishTerms publishes a new version of the terms of use. A date less
// than one month ahead is store.ErrTermsNoticePeriod, with a message that
// names the earliest date allowed.
func (o *Operator) PublishTerms(ctx context.Context, req TermsRequest) (TermsInfo, error) {
	day, err := o.parseDate("effective date", req.Effective)
	if err != nil {
		return TermsInfo{}, err
	}
	t, err := o.Store.PublishTerms(ctx, req.Text, day)
	if err != nil {
		return TermsInfo{}, err
	}
	return termsInfo(t), nil
}

// Terms lists every published version, oldest first.
func (o *Operator) Terms(context.Context) ([]TermsInfo, error) {
	all, err := o.Store.AllTerms(context.Background())
	if err != nil {
		return nil, err
	}
	out := make([]TermsInfo, 0, len(all))
	for _, t := range all {
		out = append(out, termsInfo(t))
	}
	return out, nil
}

// RecordDeath records a resident's death: the account can no longer log
// in, and its letters are kept for the retention policy's periods after
// the date.
func (o *Operator) RecordDeath(ctx context.Context, req DeathRequest) (ResidentInfo, error) {
	nid, err := store.ParseNationalID(req.NationalID)
	if err != nil {
		return ResidentInfo{}, err
	}
	day, err := o.parseDate("date of death", req.Date)
	if err != nil {
		return ResidentInfo{}, err
	}
	r, err := o.Store.RecordDeath(ctx, nid, day)
	if err != nil {
		return ResidentInfo{}, err
	}
	return residentInfo(r), nil
}

// Jobs returns the scheduled jobs' status.
func (o *Operator) Jobs(context.Context) ([]JobInfo, error) {
	if o.JobStatus == nil {
		return nil, ErrNoScheduler
	}
	return o.JobStatus()
}

func termsInfo(t store.Terms) TermsInfo {
	info := TermsInfo{
		Version: t.Version, Published: t.Published, EffectiveDate: t.EffectiveDate, Effective: t.Effective,
		Size: len(t.Text),
	}
	if !t.NoticesDone.IsZero() {
		at := t.NoticesDone
		info.NoticesDone = &at
	}
	return info
}

// JobRun converts the store's record of a job's run; nil when it never
// ran. (main builds JobInfo from the scheduler's status with it.)
func JobRun(r store.JobRun) *JobRunInfo {
	if r.Started.IsZero() {
		return nil
	}
	info := &JobRunInfo{Started: r.Started, Outcome: string(r.Outcome), Items: r.Items, Detail: r.Detail}
	if !r.Finished.IsZero() {
		at := r.Finished
		info.Finished = &at
	}
	return info
}

// The command line's side.

// RecordDeath implements Operations.
func (c *Client) RecordDeath(ctx context.Context, req DeathRequest) (ResidentInfo, error) {
	var out ResidentInfo
	err := c.do(ctx, http.MethodPost, "/v1/residents/death", req, &out)
	return out, err
}

// PublishTerms implements Operations.
func (c *Client) PublishTerms(ctx context.Context, req TermsRequest) (TermsInfo, error) {
	var out TermsInfo
	err := c.do(ctx, http.MethodPost, "/v1/terms", req, &out)
	return out, err
}

// Terms implements Operations.
func (c *Client) Terms(ctx context.Context) ([]TermsInfo, error) {
	var out []TermsInfo
	err := c.do(ctx, http.MethodGet, "/v1/terms", nil, &out)
	return out, err
}

// Jobs implements Operations.
func (c *Client) Jobs(ctx context.Context) ([]JobInfo, error) {
	var out []JobInfo
	err := c.do(ctx, http.MethodGet, "/v1/jobs", nil, &out)
	return out, err
}
