package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/api"
	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/httpui/metrics"
	"github.com/postkasse/postkasse/internal/netguard"
	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/embedded"
)

// The appliance is wired here, by one function (buildAppliance) from one
// resolved configuration (resolved, config.go): serve, demo and the
// operator's commands with the server stopped all build it this way, and
// differ only in the buildOptions they pass.

// Files and folders of the data folder besides postkasse.toml.
const (
	dbFileName     = "postkasse.db"
	caDirName      = "ca"
	certsDirName   = "certs"
	socketFileName = "ctl.sock"
	// checkpointFileName is where the audit-checkpoint job appends the
	// audit log's signed checkpoints, beside the database (`postkasse
	// audit verify --checkpoint DATA/audit-checkpoints`).
	checkpointFileName = "audit-checkpoints"
)

// appliance is Postkasse built on a data folder: the store and the sender
// CA, from which the web UI, the scheduled jobs and the operator's
// operations are made.
type appliance struct {
	// demo: the demo's appliance, on loopback, whose callbacks may be
	// http:// and reach this machine.
	demo  bool
	cfg   *resolved
	store *store.Store
	ca    *crypto.CA
	clock func() time.Time
	log   *slog.Logger
	// metrics, when server.metrics_listen is set, counts the web UI's
	// requests and serves /metrics (serve).
	metrics *metrics.Metrics
}

// buildOptions are what the commands that build an appliance differ in.
type buildOptions struct {
	// clock is the store's and the jobs' clock. Default time.Now.
	clock func() time.Time
	// log is the server's log; nil for the operator's commands, whose
	// store logs nothing.
	log *slog.Logger
	// timeout is how long opening the database waits for another
	// process to let go of it. Zero: the store's default.
	timeout time.Duration
	// readOnly opens the database read-only (the listing commands):
	// beside other readers, and changing nothing.
	readOnly bool
	// demoCA, when set, names the CA made in DATA/ca and the database
	// made when the folder has none yet (the demo's folder makes itself);
	// otherwise both must exist, as init made them.
	demoCA string
}

// buildAppliance opens the appliance of the data folder of cfg: the
// sender CA, then the database. The caller closes it.
func buildAppliance(cfg *resolved, o buildOptions) (*appliance, error) {
	if o.clock == nil {
		o.clock = time.Now
	}
	var ca *crypto.CA
	var err error
	if o.demoCA != "" {
		ca, err = loadOrCreateCA(cfg.path(caDirName), o.demoCA)
	} else {
		ca, err = loadCA(cfg.dir)
	}
	if err != nil {
		return nil, err
	}
	opts := cfg.storeOptions()
	opts.Clock, opts.Logger, opts.Timeout, opts.ReadOnly = o.clock, o.log, o.timeout, o.readOnly
	var st *store.Store
	if cfg.Store.Engine == "cluster" {
		ccfg, err := cfg.clusterConfig()
		if err != nil {
			return nil, &storeError{err}
		}
		ccfg.ReadOnly = o.readOnly
		eng, err := cluster.Open(context.Background(), ccfg)
		if err != nil {
			return nil, &storeError{fmt.Errorf("cluster engine: %w", err)}
		}
		if st, err = store.New(eng, opts); err != nil {
			eng.Close()
			return nil, &storeError{err}
		}
	} else {
		path := cfg.path(dbFileName)
		if o.demoCA == "" {
			// Commands other than init and demo never create a database.
			if _, err := os.Stat(path); err != nil {
				return nil, &storeError{fmt.Errorf("database: %w (was %s made with `postkasse init`?)", err, cfg.dir)}
			}
		}
		if ackBeforeSync {
			st, err = openUnsynced(path, opts)
		} else {
			st, err = store.Open(path, opts)
		}
		if err != nil {
			return nil, &storeError{err}
		}
	}
	return &appliance{cfg: cfg, store: st, ca: ca, clock: o.clock, log: o.log, demo: o.demoCA != ""}, nil
}

// ackBeforeSync plants a fault: the embedded database commits without
// fsync, so deliveries are acknowledged before they are on disk. Only the
// tests set it (TestMain, in a child process TestPowerCutCatchesMissingFsync
// starts), to show that the power-cut test catches a missing fsync.
var ackBeforeSync bool

// openUnsynced is store.Open with the planted fault of ackBeforeSync.
func openUnsynced(path string, opts store.Options) (*store.Store, error) {
	eng, err := embedded.Open(path, embedded.Options{Timeout: opts.Timeout, Clock: opts.Clock, NoSync: true, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	st, err := store.New(eng, opts)
	if err != nil {
		eng.Close()
		return nil, err
	}
	return st, nil
}

// storeError is a database that cannot be opened, as against a data
// folder that is not one.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// Close closes the store, which waits for deliveries still committing.
func (a *appliance) Close() error { return a.store.Close() }

// webUI builds the web UI and the sender API.
func (a *appliance) webUI() (*httpui.Server, error) {
	var rp *eid.Client
	var callback string
	if cfg, ok, err := a.cfg.eidConfig(); err != nil {
		return nil, err
	} else if ok {
		if rp, err = eid.New(cfg); err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		if a.cfg.Domain != "" {
			callback = "https://" + a.cfg.Domain + "/eid/callback"
		}
	}
	return httpui.New(httpui.Config{
		EID:             rp,
		EIDCallbackURL:  callback,
		Store:           a.store,
		Logger:          a.log,
		Location:        a.cfg.location,
		DefaultLanguage: a.cfg.Residents.Language,
		Metrics:         a.requestObserver(),
		// The nodes of a cluster share one database: they count failed
		// logins and senders' requests there, together. The embedded
		// engine has one process (bbolt's lock), which counts in memory.
		SharedLimits:  a.cfg.Store.Engine == "cluster",
		Callbacks:     a.callbackConfig(),
		BytesInFlight: int64(a.cfg.Server.BytesInFlightMiB) << 20,
		Throttle: httpui.ThrottleConfig{
			AccountFailures: a.cfg.Login.AccountFailures,
			AddressFailures: a.cfg.Login.AddressFailures,
			Window:          a.cfg.Login.Window,
		},
		PasswordCheckWait: a.cfg.Login.PasswordCheckWait,
	})
}

// operator builds the operator's operations, for the server's control
// socket and for the command line with the server stopped. status is the
// jobs' status (jobStatus).
func (a *appliance) operator(status func() ([]control.JobInfo, error)) *control.Operator {
	op := &control.Operator{
		Store: a.store, CA: a.ca, CertificateValidity: time.Duration(a.cfg.Senders.CertificateDays) * 24 * time.Hour,
		Location: a.cfg.location, JobStatus: status, Municipality: a.cfg.Jobs.Municipality,
		BackupTo: func(ctx context.Context, path string) (control.BackupInfo, error) {
			return writeBackup(ctx, a.store, a.cfg.dir, path, a.cfg.folderFiles())
		},
		CallbackPolicy: a.callbackConfig().Policy,
		CheckCallback: func(ctx context.Context, url string) error {
			return api.CheckCallbackURL(ctx, a.callbackConfig(), url)
		},
	}
	// The catalogue is embedded and checked by the tests: a failure to
	// load it leaves the answers' wording in English.
	if w, err := supportWording(a.cfg.Residents.Language); err == nil {
		op.SupportWording = w
	} else if a.log != nil {
		a.log.Error("support answers: load the message catalogue", "err", err)
	}
	return op
}

// jobsConfig is the scheduler's configuration; baseURL is linked from
// notifications. The audit-checkpoint job appends to
// DATA/audit-checkpoints and posts to audit.witness.
func (a *appliance) jobsConfig(baseURL string) (jobs.Config, error) {
	jc, err := a.cfg.jobsConfig(baseURL)
	if err != nil {
		return jobs.Config{}, err
	}
	jc.Store, jc.Clock, jc.Logger = a.store, a.clock, a.log
	cb := a.callbackConfig()
	jc.Callbacks = jobs.CallbackConfig{Policy: cb.Policy, AllowPrivate: cb.Guard.AllowPrivate, Timeout: a.cfg.Callbacks.Timeout}
	jc.Schedules.Callbacks = a.cfg.Callbacks.Schedule
	if folder := a.cfg.Backup.Folder; folder != "" {
		extra := a.cfg.folderFiles()
		jc.Backup = &jobs.BackupConfig{Folder: dataPath(a.cfg.dir, folder), Name: cmp.Or(a.cfg.Domain, "appliance"), Keep: a.cfg.Backup.Keep,
			Write: func(ctx context.Context, path string) error {
				_, err := writeBackup(ctx, a.store, a.cfg.dir, path, extra)
				return err
			}}
	}
	return jc, nil
}

// jobsConfig is the scheduler's configuration but for the store, its
// clock and the log.
func (r *resolved) jobsConfig(baseURL string) (jobs.Config, error) {
	jc := jobs.Config{
		Location:     r.location,
		Municipality: r.Jobs.Municipality, BaseURL: baseURL, SMSHours: r.smsHours,
		Schedules: jobs.Schedules{
			Terms: r.Jobs.TermsSchedule, Retention: r.Jobs.RetentionSchedule, Notifications: r.Jobs.NotificationsSchedule,
			Backup: r.Backup.Schedule,
		},
		CheckpointFile:  r.path(checkpointFileName),
		Witness:         r.Audit.Witness,
		DefaultLanguage: r.Residents.Language,
		Node:            r.Server.Node,
	}
	if r.SMTP.Host != "" {
		var roots *x509.CertPool
		if p := dataPath(r.dir, r.SMTP.TrustedRoot); p != "" {
			data, err := os.ReadFile(p)
			if err != nil {
				return jobs.Config{}, fmt.Errorf("smtp.trusted_root: %w", err)
			}
			if roots, err = rootPool(data); err != nil {
				return jobs.Config{}, fmt.Errorf("smtp.trusted_root %s: %w", p, err)
			}
		}
		mc := r.mailerConfig(roots)
		jc.SMTP = &mc
	}
	if r.SMS.URL != "" {
		sc := r.smsConfig()
		jc.SMS = &sc
	}
	return jc, nil
}

// startJobs builds and starts the scheduler; the returned function stops
// it, waiting up to timeout for jobs in progress (they end after their
// current item).
func startJobs(jc jobs.Config, timeout time.Duration, log *slog.Logger) (sched *jobs.Scheduler, stop func(), err error) {
	sched, err = jobs.New(jc)
	if err != nil {
		return nil, nil, err
	}
	sched.Start()
	return sched, func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := sched.Stop(ctx); err != nil {
			log.Warn("scheduled jobs did not stop in time; what is left is done at the next start", "err", err)
		}
	}, nil
}

// isStoreError reports whether err is the database failing to open.
func isStoreError(err error) bool {
	var se *storeError
	return errors.As(err, &se)
}

// folderFiles are the files of the data folder that the configuration
// names by a relative path (a backup takes them along).
func (r *resolved) folderFiles() []string {
	var out []string
	for _, p := range []string{r.ACME.TrustedRoot, r.TLS.CertificateFile, r.TLS.KeyFile, r.SMTP.TrustedRoot, r.Store.BlobsCredentialsFile} {
		if p != "" && !filepath.IsAbs(p) {
			out = append(out, filepath.ToSlash(filepath.Clean(p)))
		}
	}
	return out
}

// requestObserver is the metrics as the web UI's request observer, or nil
// (an interface holding a nil pointer would not be nil).
func (a *appliance) requestObserver() httpui.RequestObserver {
	if a.metrics == nil {
		return nil
	}
	return a.metrics
}

// callbackConfig is how senders' callback URLs are checked: the
// [callbacks] table's policy and guard; the demo also takes http:// and
// this machine's addresses.
func (a *appliance) callbackConfig() api.CallbackConfig {
	return api.CallbackConfig{Policy: a.cfg.callbackPolicy(a.demo), Guard: netguard.Guard{AllowPrivate: a.cfg.Callbacks.AllowPrivate || a.demo}}
}
