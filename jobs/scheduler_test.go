package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// TestSchedulerCronWakesJobs: with real cron every second, a letter
// delivered after Start is notified without anyone calling RunNow; Status
// shows each job's last run, outcome and next run; Stop returns.
func TestSchedulerCronWakesJobs(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Schedules.Notifications = "@every 1s" })
	_, nid := e.resident(store.NotificationPreferences{Phone: "+4512345678", SMSOn: true})
	e.s.Start()
	waitFor(t, func() bool {
		runs, _ := e.st.JobRuns(context.Background())
		if len(runs) != len(e.s.order)-1 { // all but the backup run at start
			return false
		}
		for _, r := range runs {
			if r.Outcome == store.JobRunning {
				return false
			}
		}
		return true
	})
	e.deliver(e.muni.ID, nid, "after-start", false)
	waitFor(t, func() bool { return len(e.gw.Requests()) == 1 })

	status, err := e.s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(status) != 10 || status[7].Name != JobCallbacks || status[8].Name != JobRelease || status[9].Name != JobPrintUnread {
		t.Fatalf("status %+v", status)
	}
	for _, st := range status {
		if st.Name == JobNotifications && st.Running {
			continue // cron woke it again just now
		}
		if st.Name == JobBackup {
			if !st.Last.Started.IsZero() {
				t.Errorf("the backup job ran at start: %+v", st)
			}
			continue
		}
		if st.Last.Outcome != store.JobOK || st.Last.Started.IsZero() || !st.Next.After(e.clock.Now()) {
			t.Errorf("status of %s: %+v", st.Name, st)
		}
	}
	if status[1].Name != JobRetention || status[1].Schedule != "17 3 * * *" || !status[1].Next.Equal(time.Date(2026, 11, 23, 3, 17, 0, 0, time.UTC)) {
		t.Errorf("retention status %+v", status[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.RunNow(JobRetention); err == nil {
		t.Error("RunNow after Stop")
	}
}

// TestSchedulerPanicRecovered: a panic in a job is recorded as its
// outcome, and the job runs again next time.
func TestSchedulerPanicRecovered(t *testing.T) {
	e := newEnv(t, nil)
	_, nid := e.resident(email(1))
	e.deliver(e.muni.ID, nid, "l", false)
	panics := true
	e.cfg.afterItem = func(job string, n int) {
		if panics {
			panic("boom")
		}
	}
	e.newScheduler()
	r := e.run(JobNotifications, store.JobPanicked)
	if !strings.Contains(r.Detail, "boom") || r.Finished.IsZero() {
		t.Errorf("panicked run: %+v", r)
	}
	panics = false
	e.run(JobNotifications, store.JobOK)
}

// TestSchedulerSkipsWhileRunning: a job that is running is not started a
// second time; Status says it is running; Stop waits for it (and gives up
// at its context's deadline), and the job ends after its current item.
func TestSchedulerSkipsWhileRunning(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 3 {
		_, nid := e.resident(email(i))
		e.deliver(e.muni.ID, nid, "l"+string(rune('a'+i)), false)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	e.cfg.afterItem = func(job string, n int) {
		if job == JobNotifications && n == 1 {
			close(inside)
			<-release
		}
	}
	e.newScheduler()
	done := make(chan store.JobRun)
	go func() {
		r, _ := e.s.RunNow(JobNotifications)
		done <- r
	}()
	<-inside
	if _, err := e.s.RunNow(JobNotifications); !errors.Is(err, ErrJobRunning) {
		t.Errorf("second run: %v", err)
	}
	status, _ := e.s.Status()
	if !status[2].Running || status[2].Last.Outcome != store.JobRunning {
		t.Errorf("status while running: %+v", status[2])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop with a job that does not end: %v", err)
	}
	close(release)
	r := <-done
	if r.Outcome != store.JobStopped || r.Items != 1 {
		t.Errorf("run stopped at shutdown: %+v", r)
	}
	if err := e.s.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if n := len(e.smtp.Mails()); n != 1 {
		t.Errorf("%d mails sent, want 1 (the rest at the next start)", n)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, nil)
	for name, edit := range map[string]func(*Config){
		"no store":          func(c *Config) { c.Store = nil },
		"bad schedule":      func(c *Config) { c.Schedules.Retention = "every day" },
		"bad sms hours":     func(c *Config) { c.SMSHours = SMSHours{From: 20, To: 9} },
		"bad smtp":          func(c *Config) { c.SMTP.Host = "" },
		"bad sms gateway":   func(c *Config) { c.SMS.URL = "ftp://x" },
		"bad smtp security": func(c *Config) { c.SMTP.Security = "sometimes" },
	} {
		cfg := e.cfg
		cfg.Store = e.st
		smtp, sms := *e.cfg.SMTP, *e.cfg.SMS
		cfg.SMTP, cfg.SMS = &smtp, &sms
		edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPeriodWords(t *testing.T) {
	cat, err := i18n.Load(assets.FS(), "")
	if err != nil {
		t.Fatal(err)
	}
	en := cat.Lang("en")
	for p, want := range map[store.Period]string{
		{Years: 5}:            "5 years",
		{Months: 15}:          "15 months",
		{Years: 1, Months: 6}: "1 year and 6 months",
		{Years: 1, Days: 1}:   "1 year and 1 day",
		{}:                    "0 days",
	} {
		if got := periodWords(en, p); got != want {
			t.Errorf("periodWords(%s) = %q, want %q", p, got, want)
		}
	}
}

func TestParseRetentionAndHours(t *testing.T) {
	p, err := ParseRetention("", "", "", "")
	if err != nil || p.Inactivity != (store.Period{}) || p.InactivityWarnings != nil {
		t.Errorf("defaults: %+v, %v", p, err)
	}
	p, err = ParseRetention("P3Y", "P60D, P14D,P1D", "P10Y", "P2Y")
	if err != nil || p.Inactivity.Years != 3 || len(p.InactivityWarnings) != 3 || p.InactivityWarnings[2].Days != 1 || p.DeceasedPublic.Years != 10 || p.DeceasedPrivate.Years != 2 {
		t.Errorf("set: %+v, %v", p, err)
	}
	if p, err := ParseRetention("", "none", "", ""); err != nil || p.InactivityWarnings == nil || len(p.InactivityWarnings) != 0 {
		t.Errorf("none: %+v, %v", p, err)
	}
	for _, bad := range [][4]string{{"5 years", "", "", ""}, {"", "P30D; P7D", "", ""}, {"P1M", "P60D", "", ""}, {"", "", "P0D", ""}} {
		if _, err := ParseRetention(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("ParseRetention(%q) accepted", bad)
		}
	}
	for in, want := range map[string]SMSHours{"": {}, "09-20": {9, 20}, "8–22": {8, 22}, " 0-24 ": {0, 24}} {
		if got, err := ParseSMSHours(in); err != nil || got != want {
			t.Errorf("ParseSMSHours(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"9", "20-9", "9-25", "a-b", "0-0"} {
		if _, err := ParseSMSHours(bad); err == nil {
			t.Errorf("ParseSMSHours(%q) accepted", bad)
		}
	}
	if ParseSchedule("*/5 * * * *") != nil || ParseSchedule("@every 30s") != nil || ParseSchedule("daily") == nil {
		t.Error("ParseSchedule")
	}
}
