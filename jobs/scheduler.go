package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
)

// ErrJobRunning: RunNow found the job running already.
var ErrJobRunning = errors.New("job is running already")

// ErrOtherNode: another node holds the jobs lease and runs the jobs.
var ErrOtherNode = errors.New("another node runs the jobs")

// Scheduler runs the jobs. Build it with New, then Start; Stop at
// shutdown.
type Scheduler struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	mailer *notify.Mailer
	cat    *i18n.Catalogue // the texts of notifications (messages.go)
	sms    *notify.SMSGateway
	cron   *cron.Cron
	jobs   map[string]*job
	order  []string

	ctx    context.Context // cancelled by Stop: jobs end after their current item
	cancel context.CancelFunc
	runs   sync.WaitGroup // runs started outside cron (Start's catch-up, RunNow)

	mu      sync.Mutex
	started bool
	stopped bool

	stopOnce sync.Once
	stopDone chan struct{} // closed when Stop's wait is over

	// leaseMu guards renewed: when this node last renewed the jobs
	// lease (zero: it does not hold it).
	leaseMu sync.Mutex
	renewed time.Time

	// checkpointed is the audit log's size at the last checkpoint this
	// process wrote; only the checkpoint job (one run at a time) touches
	// it.
	checkpointed int64

	// callbackClient POSTs events to senders' callback URLs
	// (callbacks.go).
	callbackClient *http.Client

	// lastPrune is when the notifications job last pruned the outbox;
	// only that job (one run at a time) touches it.
	lastPrune time.Time
}

// job is one of the scheduler's jobs.
type job struct {
	name     string
	spec     string
	schedule cron.Schedule
	run      func(ctx context.Context, r *runState) error
	// onlyScheduled: Start does not run it at once (a backup at every
	// restart would push the scheduled copies out of those kept).
	onlyScheduled bool
	running       sync.Mutex  // held while the job runs; TryLock fails → skipped
	busy          atomic.Bool // mirrors running, for Status
}

// runState is what a run of a job reports.
type runState struct {
	job    string
	items  int
	detail string
	hook   func(job string, n int)
	// renew keeps the jobs lease during a long run; it ends the run
	// (cancels its context) when the lease went to another node.
	renew func()
}

// item counts one item done, calls the test hook, and keeps the lease
// before the next item.
func (r *runState) item() {
	r.items++
	if r.hook != nil {
		r.hook(r.job, r.items)
	}
	if r.renew != nil {
		r.renew()
	}
}

// New checks the configuration and builds the scheduler. It starts
// nothing.
func New(cfg Config) (*Scheduler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Scheduler{cfg: cfg, st: cfg.Store, log: cfg.Logger, jobs: map[string]*job{}}
	s.callbackClient = newCallbackClient(cfg.Callbacks)
	if s.cat, err = i18n.Load(assets.FS(), cfg.DefaultLanguage); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if cfg.SMTP != nil {
		if s.mailer, err = notify.NewMailer(*cfg.SMTP); err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
	}
	if cfg.SMS != nil {
		if s.sms, err = notify.NewSMSGateway(*cfg.SMS); err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
	}
	logger := cronLogger{cfg.Logger}
	s.cron = cron.New(
		cron.WithLocation(time.UTC),
		cron.WithParser(cronParser),
		cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)),
	)
	for _, j := range []struct {
		name, spec string
		run        func(context.Context, *runState) error
	}{
		{JobTerms, cfg.Schedules.Terms, s.runTerms},
		{JobRetention, cfg.Schedules.Retention, s.runRetention},
		{JobNotifications, cfg.Schedules.Notifications, s.runNotifications},
		{JobCheckpoint, cfg.Schedules.Checkpoint, s.runCheckpoint},
		{JobBlobSweep, cfg.Schedules.BlobSweep, s.runBlobSweep},
		{JobBackup, cfg.Schedules.Backup, s.runBackup},
		{JobSessionSweep, cfg.Schedules.SessionSweep, s.runSessionSweep},
		{JobCallbacks, cfg.Schedules.Callbacks, s.runCallbacks},
		{JobRelease, cfg.Schedules.Release, s.runRelease},
		{JobPrintUnread, cfg.Schedules.PrintUnread, s.runPrintUnread},
	} {
		sched, err := cronParser.Parse(j.spec)
		if err != nil {
			return nil, fmt.Errorf("jobs: schedule of %s %q: %w", j.name, j.spec, err)
		}
		jb := &job{name: j.name, spec: j.spec, schedule: sched, run: j.run, onlyScheduled: j.name == JobBackup}
		s.jobs[j.name] = jb
		s.order = append(s.order, j.name)
		s.cron.Schedule(sched, cron.FuncJob(func() { s.runJob(jb) }))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start starts cron and runs every job once now, in the background, so
// that work missed while the server was down is caught up at once.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	s.cron.Start()
	for _, name := range s.order {
		jb := s.jobs[name]
		if jb.onlyScheduled {
			continue
		}
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			s.runJob(jb)
		}()
	}
}

// Stop stops waking jobs, asks running ones to end after their current
// item, and waits for them until ctx is done. Work left is done by the
// next start.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	started := s.started
	s.mu.Unlock()
	s.cancel()
	// One wait for every call of Stop: the last thing it does is to
	// release the lease, once, after the last run.
	s.stopOnce.Do(func() {
		s.stopDone = make(chan struct{})
		go func() {
			if started {
				<-s.cron.Stop().Done()
			}
			s.runs.Wait()
			// Another node may take the jobs at once.
			if err := s.st.ReleaseLease(ctx, store.LeaseJobs, s.cfg.Node); err != nil {
				s.log.Error("release the jobs lease", "err", err)
			}
			close(s.stopDone)
		}()
	})
	select {
	case <-s.stopDone:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jobs: stop: %w", ctx.Err())
	}
}

// RunNow runs a job at once and waits for it: the operator's "run now",
// and the tests' way to run years of policy with a fake clock. A job that
// is running already is ErrJobRunning; while another node holds the jobs
// lease, ErrOtherNode. The run's outcome is returned and recorded; a
// failure of the job is in the JobRun, not the error.
func (s *Scheduler) RunNow(name string) (store.JobRun, error) {
	jb, ok := s.jobs[name]
	if !ok {
		return store.JobRun{}, fmt.Errorf("jobs: no job named %q", name)
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return store.JobRun{}, fmt.Errorf("jobs: stopped")
	}
	s.runs.Add(1)
	s.mu.Unlock()
	defer s.runs.Done()
	run, err := s.runJob(jb)
	if err != nil {
		return store.JobRun{}, fmt.Errorf("%s: %w", name, err)
	}
	return run, nil
}

// holdLease takes or renews the jobs lease for this node and reports
// whether it holds it. A renewal within a third of the lease's time is
// skipped unless force.
func (s *Scheduler) holdLease(force bool) (bool, error) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	now := s.cfg.Clock()
	if !force && !s.renewed.IsZero() && now.Sub(s.renewed) < s.cfg.LeaseTTL/3 {
		return true, nil
	}
	held, err := s.st.AcquireLease(context.Background(), store.LeaseJobs, s.cfg.Node, s.cfg.LeaseTTL)
	if err != nil || !held {
		s.renewed = time.Time{}
		return false, err
	}
	s.renewed = now
	return true, nil
}

// runJob runs a job unless it is running already or another node holds
// the jobs lease, records its start and its outcome in the store, and
// recovers a panic into the outcome.
func (s *Scheduler) runJob(jb *job) (run store.JobRun, err error) {
	if !jb.running.TryLock() {
		s.log.Info("job skipped: still running", "job", jb.name)
		return store.JobRun{}, ErrJobRunning
	}
	defer jb.running.Unlock()
	if held, err := s.holdLease(true); err != nil {
		s.log.Error("job skipped: the jobs lease", "job", jb.name, "err", err)
		return store.JobRun{}, fmt.Errorf("the jobs lease: %w", err)
	} else if !held {
		holder, _, _ := s.st.LeaseHolder(context.Background(), store.LeaseJobs)
		s.log.Debug("job skipped: another node runs the jobs", "job", jb.name, "node", holder)
		return store.JobRun{}, fmt.Errorf("%w (%s)", ErrOtherNode, holder)
	}
	jb.busy.Store(true)
	defer jb.busy.Store(false)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	var lost atomic.Bool
	st := &runState{job: jb.name, hook: s.cfg.afterItem, renew: func() {
		if held, err := s.holdLease(false); err != nil || !held {
			lost.Store(true)
			cancel()
		}
	}}
	run = store.JobRun{Job: jb.name, Started: s.cfg.Clock().UTC(), Outcome: store.JobRunning}
	if err := s.st.RecordJobRun(context.Background(), run); err != nil {
		s.log.Error("record job start", "job", jb.name, "err", err)
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("job panicked", "job", jb.name, "panic", p, "stack", string(debug.Stack()))
			run.Outcome, run.Detail = store.JobPanicked, fmt.Sprintf("panic after %d items: %v", st.items, p)
		}
		run.Finished, run.Items = s.cfg.Clock().UTC(), st.items
		if err := s.st.RecordJobRun(context.Background(), run); err != nil {
			s.log.Error("record job outcome", "job", jb.name, "err", err)
		}
	}()
	jobErr := jb.run(ctx, st)
	run.Outcome, run.Detail = store.JobOK, st.detail
	switch err := jobErr; {
	case err != nil && lost.Load():
		run.Outcome, run.Detail = store.JobStopped, fmt.Sprintf("stopped after %d items: the jobs lease went to another node", st.items)
		s.log.Info("job stopped: lease lost", "job", jb.name, "items", st.items)
	case err != nil && s.ctx.Err() != nil:
		run.Outcome, run.Detail = store.JobStopped, fmt.Sprintf("stopped at shutdown after %d items", st.items)
		s.log.Info("job stopped", "job", jb.name, "items", st.items)
	case err != nil:
		run.Outcome, run.Detail = store.JobFailed, err.Error()
		s.log.Error("job failed", "job", jb.name, "items", st.items, "err", err)
	case st.items > 0:
		s.log.Info("job done", "job", jb.name, "items", st.items, "detail", st.detail)
	}
	return run, nil
}

// JobStatus is what the operator sees of a job.
type JobStatus struct {
	Name     string
	Schedule string    // the cron spec, UTC
	Next     time.Time // the next time cron wakes it
	Running  bool
	Last     store.JobRun // zero when it never ran
}

// Status returns each job's schedule, next run, whether it is running,
// and its last run with its outcome (from the store, so it survives
// restarts).
func (s *Scheduler) Status() ([]JobStatus, error) {
	runs, err := s.st.JobRuns(context.Background())
	if err != nil {
		return nil, err
	}
	last := map[string]store.JobRun{}
	for _, r := range runs {
		last[r.Job] = r
	}
	now := s.cfg.Clock().UTC()
	var out []JobStatus
	for _, name := range s.order {
		jb := s.jobs[name]
		out = append(out, JobStatus{Name: name, Schedule: jb.spec, Next: jb.schedule.Next(now), Running: jb.busy.Load(), Last: last[name]})
	}
	return out, nil
}

// cronLogger sends robfig/cron's log to slog; its chatty Info lines go to
// Debug.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
