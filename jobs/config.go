package jobs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // the time zone database in the binary: Europe/Copenhagen works on a bare machine

	"github.com/robfig/cron/v3"

	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
)

// DefaultTimeZone is the appliance's local time zone unless configured.
const DefaultTimeZone = "Europe/Copenhagen"

// Config is what the scheduler needs; main builds it from postkasse.toml.
// Every field has a default except Store.
type Config struct {
	// Store is the appliance's store. Required.
	Store *store.Store
	// Clock is the time; it must be the store's clock (store.Options.Clock),
	// as the store decides what is due by its own. Default time.Now.
	Clock func() time.Time
	// Logger receives a line per job run and per failure. Default: discard.
	Logger *slog.Logger

	// Location is the appliance's local time zone: SMS sending hours and
	// the dates in notifications are in it. Default Europe/Copenhagen
	// (the time zone database is built in).
	Location *time.Location

	// Municipality is the public sender that delivers the notices of new
	// terms of use: its organisation number (CVR) or its sender id. While
	// it is empty or names no active public sender, the terms job fails
	// with an error saying so, and no notice goes out.
	Municipality string

	// Schedules say when cron wakes each job (standard five-field cron
	// specs in UTC, or "@every 30s"). Zero fields are the defaults.
	Schedules Schedules

	// BaseURL is the web UI's address, linked from every notification
	// ("https://post.eksempelby.dk/"). Default: no link.
	BaseURL string
	// DefaultLanguage is the language of notifications to residents who
	// have not chosen one: "en", "da" or "nb"; "" is English.
	DefaultLanguage string
	// ServiceName names the appliance in notifications. Default
	// "Postkasse".
	ServiceName string

	// SMTP is the mail server for e-mail notifications. Nil: e-mail
	// notifications stay queued (retried hourly, no attempt counted)
	// until one is configured.
	SMTP *notify.SMTPConfig
	// SMS is the SMS gateway. Nil: SMS notifications stay queued likewise.
	SMS *notify.SMSConfig
	// SMSHours is when SMS may be sent, in Location. Zero: 09–20.
	SMSHours SMSHours
	// Retry is how often and how soon a failed notification is tried
	// again before it is dead. Zero fields: 10 attempts, 1 minute
	// doubling up to 6 hours.
	Retry store.RetryPolicy
	// KeepSent is how long sent and dead notifications stay in the outbox
	// for the operator to see. Default 30 days.
	KeepSent time.Duration
	// Batch is how many notifications one run sends at most. Default 500.
	Batch int

	// CheckpointFile is the file outside the database where the
	// audit-checkpoint job appends a signed checkpoint of the audit log
	// whenever the log has grown (DATA/audit-checkpoints). Empty: the job
	// only checks that a checkpoint can be signed.
	CheckpointFile string
	// Witness is a URL that each new checkpoint is POSTed to (a witness
	// that keeps them, out of the operator's reach). Empty: none. A
	// witness that fails makes the run fail; the file has the checkpoint.
	Witness string
	// Backup, when set, is the scheduled backup (JobBackup); nil: the job
	// runs and writes nothing (the operator backs up otherwise).
	Backup *BackupConfig
	// HTTPClient posts to the witness. Default: a client with a
	// 30-second timeout.
	HTTPClient *http.Client

	// Node names this process among the nodes that share a database
	// (the cluster engine): the node holding the jobs lease runs the
	// jobs, the others skip them until it stops renewing. Default: the
	// host name.
	Node string
	// LeaseTTL is how long the jobs lease lasts without a renewal: when
	// the node holding it dies, another runs the jobs after at most this
	// long plus the next wake-up. It is renewed before each run and
	// every third of it during a long run. Default 30 seconds.
	LeaseTTL time.Duration

	// Callbacks is how events are POSTed to senders' callback URLs.
	Callbacks CallbackConfig

	// afterItem, when set (tests only), is called after each item a job
	// handles, with the job's name and the count so far; a panic in it
	// simulates a crash in the middle of the job.
	afterItem func(job string, n int)
}

// Schedules are cron specs for the jobs (robfig/cron's standard parser:
// "minute hour day-of-month month day-of-week", or descriptors such as
// "@hourly" and "@every 1m"), evaluated in UTC.
type Schedules struct {
	Terms         string // default "*/5 * * * *"
	Retention     string // default "17 3 * * *" (03:17 UTC daily)
	Notifications string // default "@every 30s"
	Checkpoint    string // default "@every 1m"
	BlobSweep     string // default "41 4 * * *" (04:41 UTC daily); also deletes expired limits
	Backup        string // default "23 2 * * *" (02:23 UTC daily)
	SessionSweep  string // default "@hourly"
	Callbacks     string // default "@every 5s"
	Release       string // default "* * * * *" (every minute, on the minute)
	PrintUnread   string // default "* * * * *" (every minute, on the minute)
}

// CallbackConfig is how the callbacks job POSTs events to senders'
// callback URLs (store/callbacks.go has the rules).
type CallbackConfig struct {
	// Policy is the backoff and when to give up. Zero fields: 30 seconds
	// doubling up to 1 hour, given up after 72 hours.
	Policy store.CallbackPolicy
	// AllowPrivate lets callbacks reach loopback and private addresses
	// (internal/netguard); off, such an address is refused at every
	// connection.
	AllowPrivate bool
	// ConnectTimeout bounds the connection with its TLS handshake;
	// default 5 seconds. Timeout bounds a whole request, the answer
	// included; default 15 seconds.
	ConnectTimeout, Timeout time.Duration
	// Parallel is how many senders' callbacks are served at once; default
	// 8. Each sender's events go one at a time, in order.
	Parallel int
	// RootCAs are the roots trusted for the receivers' certificates; nil:
	// the system's.
	RootCAs *x509.CertPool
}

// SMSHours are the hours of the day in which SMS may be sent, From:00 to
// To:00 local time. Zero: 9 to 20.
type SMSHours struct{ From, To int }

// Names of the jobs.
const (
	JobTerms         = "terms-notices"
	JobRetention     = "retention"
	JobNotifications = "notifications"
	JobCheckpoint    = "audit-checkpoint"
	JobBlobSweep     = "blob-sweep"
	JobBackup        = "backup"
	JobSessionSweep  = "session-sweep"
	JobCallbacks     = "callbacks"
	JobRelease       = "release-scheduled"
	JobPrintUnread   = "print-unread"
)

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil {
		return c, errors.New("jobs: Config.Store is nil")
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Location == nil {
		loc, err := time.LoadLocation(DefaultTimeZone)
		if err != nil {
			return c, fmt.Errorf("jobs: time zone %s: %w", DefaultTimeZone, err)
		}
		c.Location = loc
	}
	if c.Schedules.Terms == "" {
		c.Schedules.Terms = "*/5 * * * *"
	}
	if c.Schedules.Retention == "" {
		c.Schedules.Retention = "17 3 * * *"
	}
	if c.Schedules.Notifications == "" {
		c.Schedules.Notifications = "@every 30s"
	}
	if c.Schedules.BlobSweep == "" {
		c.Schedules.BlobSweep = "41 4 * * *"
	}
	if c.Schedules.Checkpoint == "" {
		c.Schedules.Checkpoint = "@every 1m"
	}
	if c.Schedules.Backup == "" {
		c.Schedules.Backup = "23 2 * * *"
	}
	if c.Schedules.SessionSweep == "" {
		c.Schedules.SessionSweep = "@hourly"
	}
	if c.Schedules.Release == "" {
		c.Schedules.Release = "* * * * *"
	}
	if c.Schedules.PrintUnread == "" {
		c.Schedules.PrintUnread = "* * * * *"
	}
	if c.Schedules.Callbacks == "" {
		c.Schedules.Callbacks = "@every 5s"
	}
	if err := c.Callbacks.Policy.Validate(); err != nil {
		return c, fmt.Errorf("jobs: %w", err)
	}
	if c.Callbacks.ConnectTimeout <= 0 {
		c.Callbacks.ConnectTimeout = 5 * time.Second
	}
	if c.Callbacks.Timeout <= 0 {
		c.Callbacks.Timeout = 15 * time.Second
	}
	if c.Callbacks.Parallel <= 0 {
		c.Callbacks.Parallel = 8
	}
	if c.Backup != nil {
		if c.Backup.Folder == "" || c.Backup.Write == nil || !backupName.MatchString(c.Backup.Name) {
			return c, errors.New("jobs: a backup needs its folder, its writer and a name of letters, digits, '.' and '-'")
		}
		if c.Backup.Keep <= 0 {
			c.Backup.Keep = 7
		}
	}
	if c.ServiceName == "" {
		c.ServiceName = "Postkasse"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Node == "" {
		c.Node = defaultNode()
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	c.BaseURL = strings.TrimSpace(c.BaseURL)
	if c.SMSHours == (SMSHours{}) {
		c.SMSHours = SMSHours{From: 9, To: 20}
	}
	if err := c.sendingHours().Validate(); err != nil {
		return c, fmt.Errorf("jobs: sms hours: %w", err)
	}
	c.Retry = c.Retry.WithDefaults()
	if c.KeepSent <= 0 {
		c.KeepSent = 30 * 24 * time.Hour
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	return c, nil
}

func (c Config) sendingHours() store.SendingHours {
	return store.SendingHours{From: c.SMSHours.From, To: c.SMSHours.To, Location: c.Location}
}

// backupName is what BackupConfig.Name may be.
var backupName = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}$`)

// cronParser is robfig/cron's standard parser: five fields and
// descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseRetention builds a retention policy from the configuration's
// strings: ISO 8601 periods ("P5Y", "P15M") and a comma-separated list of
// warning lead times ("P30D, P7D"). An empty string means the default; a
// warnings value of "none" means no warnings. The policy is validated.
func ParseRetention(inactivity, warnings, deceasedPublic, deceasedPrivate string) (store.RetentionPolicy, error) {
	var p store.RetentionPolicy
	for _, f := range []struct {
		key string
		in  string
		out *store.Period
	}{
		{"inactivity", inactivity, &p.Inactivity},
		{"deceased_public", deceasedPublic, &p.DeceasedPublic},
		{"deceased_private", deceasedPrivate, &p.DeceasedPrivate},
	} {
		if strings.TrimSpace(f.in) == "" {
			continue
		}
		v, err := store.ParsePeriod(f.in)
		if err != nil {
			return p, fmt.Errorf("%s: %w", f.key, err)
		}
		if v.IsZero() {
			return p, fmt.Errorf("%s: must not be zero", f.key)
		}
		*f.out = v
	}
	switch w := strings.TrimSpace(warnings); w {
	case "":
	case "none":
		p.InactivityWarnings = []store.Period{}
	default:
		for part := range strings.SplitSeq(w, ",") {
			v, err := store.ParsePeriod(part)
			if err != nil {
				return p, fmt.Errorf("inactivity_warnings: %w", err)
			}
			p.InactivityWarnings = append(p.InactivityWarnings, v)
		}
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// ParseSMSHours reads sending hours written "09-20" (from 09:00 to
// 20:00); empty is the default.
func ParseSMSHours(s string) (SMSHours, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return SMSHours{}, nil
	}
	from, to, ok := strings.Cut(strings.ReplaceAll(s, "–", "-"), "-")
	var h SMSHours
	if ok {
		_, err1 := fmt.Sscanf(strings.TrimSpace(from), "%d", &h.From)
		_, err2 := fmt.Sscanf(strings.TrimSpace(to), "%d", &h.To)
		ok = err1 == nil && err2 == nil
	}
	if !ok {
		return SMSHours{}, fmt.Errorf("sms hours %q: want from-to in whole hours, such as 09-20", s)
	}
	if err := (store.SendingHours{From: h.From, To: h.To}).Validate(); err != nil || h == (SMSHours{}) {
		return SMSHours{}, fmt.Errorf("sms hours %q: want 0 ≤ from < to ≤ 24", s)
	}
	return h, nil
}

// ParseSchedule checks a cron spec as the scheduler reads it.
func ParseSchedule(spec string) error {
	_, err := cronParser.Parse(spec)
	return err
}

// defaultNode names this process by its host: a process started again on
// the same host after a crash takes its own lease back at once (on one
// machine the embedded engine's file lock keeps a second process out).
// Nodes of a cluster on one host need names of their own.
func defaultNode() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "postkasse"
	}
	return host
}
