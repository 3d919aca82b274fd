package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// TestSessionSweepJob: the hourly job deletes exactly the sessions past
// their idle time (default 30 minutes) or lifetime (default 12 hours), and
// says how many.
func TestSessionSweepJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	if got := e.s.jobs[JobSessionSweep].spec; got != "@hourly" {
		t.Errorf("the session sweep's schedule is %q, want @hourly", got)
	}
	_, anna := e.resident(store.NotificationPreferences{})
	_, bo := e.resident(store.NotificationPreferences{})
	login := func(nid store.NationalID) string {
		t.Helper()
		sess, err := e.st.Login(ctx, nid.String(), testPassword)
		if err != nil {
			t.Fatal(err)
		}
		return sess.Token
	}
	open := func(token string) bool {
		t.Helper()
		mb, err := e.st.OpenSession(ctx, token)
		if errors.Is(err, store.ErrSessionExpired) {
			return false
		} else if err != nil {
			t.Fatal(err)
		}
		mb.Close()
		return true
	}
	idle := login(anna)
	e.clock.Advance(20 * time.Minute)
	live := login(anna)
	kept := login(bo) // used every 20 minutes until its 12 hours are over
	e.clock.Advance(10 * time.Minute)
	if r := e.run(JobSessionSweep, store.JobOK); r.Items != 1 || r.Detail != "1 expired sessions deleted" {
		t.Errorf("first run: %d items, %q; want 1", r.Items, r.Detail)
	}
	if open(idle) || !open(live) || !open(kept) {
		t.Fatal("after the first run: want the idle session gone, the others open")
	}
	if r := e.run(JobSessionSweep, store.JobOK); r.Items != 0 {
		t.Errorf("second run: %d items, want 0", r.Items)
	}
	for e.clock.Now().Before(start.Add(12*time.Hour + 20*time.Minute)) {
		e.clock.Advance(20 * time.Minute)
		open(kept)
	}
	fresh := login(anna)
	// live has been idle for hours; kept's 12 hours are over.
	if r := e.run(JobSessionSweep, store.JobOK); r.Items != 2 {
		t.Errorf("last run: %d items, want 2", r.Items)
	}
	if open(live) || open(kept) || !open(fresh) {
		t.Error("after the last run: want only the fresh session open")
	}
}

// TestRetentionDeletesExpiredEnrolments: the daily retention job deletes
// a pending mailbox whose activation code expired more than the grace
// period ago, and says so; an active mailbox stays.
func TestRetentionDeletesExpiredEnrolments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	_, active := e.resident(store.NotificationPreferences{})
	nid, err := store.ParseNationalID("0505905555")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.EnrolResident(ctx, nid, "Pending Person"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(store.DefaultActivationLifetime + store.EnrolmentGrace)
	r := e.run(JobRetention, store.JobOK)
	if r.Items != 1 || !strings.Contains(r.Detail, "1 expired enrolments deleted") {
		t.Errorf("retention run: %d items, %q", r.Items, r.Detail)
	}
	if _, err := e.st.ResidentByNationalID(ctx, nid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the expired enrolment: %v, want ErrNotFound", err)
	}
	if _, err := e.st.ResidentByNationalID(ctx, active); err != nil {
		t.Errorf("the active resident: %v", err)
	}
}
