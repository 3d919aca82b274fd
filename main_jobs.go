package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
)

// The scheduled work (package jobs) and the operator's commands for it:
// `postkasse terms …`, `postkasse resident died`, `postkasse jobs status`.
// Like `postkasse sender …` they go through the running server's control
// socket, or work on the data folder directly when no server runs
// (operations in main_ctl.go).

var (
	orgNumberPattern = regexp.MustCompile(`^[0-9]{8,9}$`)
	senderIDPattern  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// validateJobs checks [jobs], [smtp] and [sms].
func (c *Config) validateJobs() error {
	if _, err := time.LoadLocation(c.Jobs.TimeZone); err != nil || c.Jobs.TimeZone == "" {
		return fmt.Errorf("jobs.time_zone %q: not a time zone name such as Europe/Copenhagen", c.Jobs.TimeZone)
	}
	if m := c.Jobs.Municipality; m != "" && !orgNumberPattern.MatchString(m) && !senderIDPattern.MatchString(m) {
		return fmt.Errorf("jobs.municipality %q: want the organisation number (8 or 9 digits) of a public sender", m)
	}
	if _, err := c.retention(); err != nil {
		return err
	}
	for _, s := range []struct{ key, spec string }{
		{"jobs.terms_schedule", c.Jobs.TermsSchedule},
		{"jobs.retention_schedule", c.Jobs.RetentionSchedule},
		{"jobs.notifications_schedule", c.Jobs.NotificationsSchedule},
	} {
		if err := jobs.ParseSchedule(s.spec); err != nil {
			return fmt.Errorf("%s %q: %w", s.key, s.spec, err)
		}
	}
	if c.SMTP.Host != "" {
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			return fmt.Errorf("smtp.from %q: not an e-mail address (needed when smtp.host is set)", c.SMTP.From)
		}
		if _, err := notify.NewMailer(c.mailerConfig(nil)); err != nil {
			return err
		}
	}
	if c.SMS.URL != "" {
		if _, err := notify.NewSMSGateway(c.smsConfig()); err != nil {
			return err
		}
	}
	if _, err := jobs.ParseSMSHours(c.SMS.Hours); err != nil {
		return fmt.Errorf("sms.hours: %w", err)
	}
	return nil
}

// retention is the retention policy of [jobs], which the scheduler
// applies and the web UI shows the resident.
func (c *Config) retention() (store.RetentionPolicy, error) {
	p, err := jobs.ParseRetention(c.Jobs.Inactivity, c.Jobs.InactivityWarnings, c.Jobs.DeceasedPublic, c.Jobs.DeceasedPrivate)
	if err != nil {
		return p, fmt.Errorf("jobs: %w", err)
	}
	return p, nil
}

func (c *Config) mailerConfig(roots *x509.CertPool) notify.SMTPConfig {
	return notify.SMTPConfig{
		Host: c.SMTP.Host, Port: c.SMTP.Port, Security: c.SMTP.Security,
		Username: c.SMTP.Username, Password: c.SMTP.Password, From: c.SMTP.From, RootCAs: roots,
	}
}

func (c *Config) smsConfig() notify.SMSConfig {
	return notify.SMSConfig{
		URL: c.SMS.URL, Method: c.SMS.Method, AuthHeader: c.SMS.AuthHeader,
		ContentType: c.SMS.ContentType, BodyTemplate: c.SMS.BodyTemplate,
	}
}

// jobsConfig builds the scheduler's configuration from postkasse.toml.
// clock must be the store's clock; baseURL is linked from notifications.
func jobsConfig(c *Config, dir string, st *store.Store, clock func() time.Time, log *slog.Logger, baseURL string) (jobs.Config, error) {
	loc, err := time.LoadLocation(c.Jobs.TimeZone)
	if err != nil {
		return jobs.Config{}, fmt.Errorf("jobs.time_zone: %w", err)
	}
	hours, err := jobs.ParseSMSHours(c.SMS.Hours)
	if err != nil {
		return jobs.Config{}, fmt.Errorf("sms.hours: %w", err)
	}
	jc := jobs.Config{
		Store: st, Clock: clock, Logger: log, Location: loc,
		Municipality: c.Jobs.Municipality, BaseURL: baseURL, SMSHours: hours,
		Schedules: jobs.Schedules{
			Terms: c.Jobs.TermsSchedule, Retention: c.Jobs.RetentionSchedule, Notifications: c.Jobs.NotificationsSchedule,
		},
	}
	if c.SMTP.Host != "" {
		var roots *x509.CertPool
		if p := c.SMTP.TrustedRoot; p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return jobs.Config{}, fmt.Errorf("smtp.trusted_root: %w", err)
			}
			if roots, err = rootPool(data); err != nil {
				return jobs.Config{}, fmt.Errorf("smtp.trusted_root %s: %w", p, err)
			}
		}
		mc := c.mailerConfig(roots)
		jc.SMTP = &mc
	}
	if c.SMS.URL != "" {
		sc := c.smsConfig()
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

// runTerms dispatches `postkasse terms SUBCOMMAND`.
func runTerms(args []string, stdout io.Writer) error {
	return dispatch("terms", "publish or list", args, stdout, subcommands{
		"publish": termsPublish, "list": termsList,
	})
}

// termsPublish is `postkasse terms publish --file FILE --effective DATE`.
func termsPublish(args []string, stdout io.Writer) error {
	c := newCtlCommand("terms publish")
	file := c.String("file", "", "the full text of the new terms of use (UTF-8 text)")
	effective := c.String("effective", "", "the date they take effect, YYYY-MM-DD, at least one month from today")
	if err := c.parse(args); err != nil {
		return err
	}
	if *file == "" || *effective == "" {
		return c.usageErrorf("--file and --effective are needed")
	}
	if _, err := time.Parse(time.DateOnly, *effective); err != nil {
		return c.usageErrorf("--effective %q: want a date YYYY-MM-DD", *effective)
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return c.failed(err)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		terms, err := ops.PublishTerms(ctx, control.TermsRequest{Text: string(text), Effective: *effective})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Published version %d of the terms of use, effective %s (%s).\n", terms.Version, terms.EffectiveDate, cfg.Jobs.TimeZone)
		if cfg.Jobs.Municipality == "" {
			fmt.Fprintf(stdout, "Note: jobs.municipality is not set in postkasse.toml, so no notice can be delivered yet.\n")
		} else {
			fmt.Fprintf(stdout, "The notice goes to every active mailbox from the next run of the terms-notices job.\n")
		}
		return nil
	})
}

// termsList is `postkasse terms list`.
func termsList(args []string, stdout io.Writer) error {
	return listCommand("terms list", args, stdout, control.Operations.Terms,
		"VERSION\tPUBLISHED\tEFFECTIVE\tNOTICES\tBYTES", func(w io.Writer, t control.TermsInfo) {
			notices := "in progress"
			if t.NoticesDone != nil {
				notices = "done " + t.NoticesDone.Format(time.DateOnly)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\n", t.Version, t.Published.Format(time.DateOnly), t.EffectiveDate, notices, t.Size)
		})
}

// residentDied is `postkasse resident died --national-id N --date DATE`.
func residentDied(args []string, stdout io.Writer) error {
	c := newCtlCommand("resident died")
	nidFlag := c.String("national-id", "", "the resident's national identity number")
	date := c.String("date", "", "the date of death, YYYY-MM-DD")
	if err := c.parse(args); err != nil {
		return err
	}
	if *nidFlag == "" || *date == "" {
		return c.usageErrorf("--national-id and --date are needed")
	}
	if _, err := store.ParseNationalID(*nidFlag); err != nil {
		return c.usageErrorf("%v", err)
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		return c.usageErrorf("--date %q: want a date YYYY-MM-DD", *date)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, cfg *Config) error {
		r, err := ops.RecordDeath(ctx, control.DeathRequest{NationalID: *nidFlag, Date: *date})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Recorded the death of %s (%s) on %s. The account can no longer log in; its letters are kept for %s (public senders) and %s (private senders) from that date.\n",
			r.Name, r.NationalID, *date, cfg.Jobs.DeceasedPublic, cfg.Jobs.DeceasedPrivate)
		return nil
	})
}

// runJobs dispatches `postkasse jobs status`.
func runJobs(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return fmt.Errorf("%w: jobs: status is needed", errUsage)
	}
	return jobsStatus(args[1:], stdout)
}

// jobsStatus is `postkasse jobs status`.
func jobsStatus(args []string, stdout io.Writer) error {
	return listCommand("jobs status", args, stdout, control.Operations.Jobs,
		"JOB\tSCHEDULE (UTC)\tNEXT RUN\tLAST RUN\tOUTCOME\tITEMS\tDETAIL", func(w io.Writer, s control.JobInfo) {
			last, outcome, items, detail := "never", "", 0, ""
			if l := s.Last; l != nil {
				last, outcome, items, detail = l.Started.Format(time.RFC3339), l.Outcome, l.Items, l.Detail
				if l.Outcome == string(store.JobRunning) && !s.Running {
					outcome = "interrupted (the server stopped during the run)"
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, s.Schedule, s.Next.Format(time.RFC3339), last, outcome, items, detail)
		})
}

// newOperator builds the operator's operations on an open store, for the
// server's control socket and for the command line with the server
// stopped. status is the jobs' status (jobStatus).
func newOperator(cfg *Config, st *store.Store, ca *crypto.CA, status func() ([]control.JobInfo, error)) (*control.Operator, error) {
	loc, err := time.LoadLocation(cfg.Jobs.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("jobs.time_zone: %w", err)
	}
	return &control.Operator{
		Store: st, CA: ca, CertificateValidity: time.Duration(cfg.Senders.CertificateDays) * 24 * time.Hour,
		Location: loc, JobStatus: status,
	}, nil
}

// jobStatus returns the jobs' status from a scheduler, for the control
// socket: the running server's, or, with the server stopped, one built
// on the data folder and never started (its status is the schedules and
// the last runs recorded in the database).
func jobStatus(sched func() (*jobs.Scheduler, error)) func() ([]control.JobInfo, error) {
	return func() ([]control.JobInfo, error) {
		s, err := sched()
		if err != nil {
			return nil, err
		}
		status, err := s.Status()
		if err != nil {
			return nil, err
		}
		out := make([]control.JobInfo, 0, len(status))
		for _, j := range status {
			out = append(out, control.JobInfo{Name: j.Name, Schedule: j.Schedule, Next: j.Next, Running: j.Running, Last: control.JobRun(j.Last)})
		}
		return out, nil
	}
}
