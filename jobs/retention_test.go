package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// letterExists reports whether a letter is still stored.
func (e *env) letterExists(senderID, letterID string) bool {
	e.t.Helper()
	_, err := e.st.LetterStatus(context.Background(), senderID, letterID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.t.Fatal(err)
	}
	return err == nil
}

func (e *env) status(id string) store.ResidentStatus {
	e.t.Helper()
	r, err := e.st.Resident(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Status
}

// TestRetentionJobInactivityEdges runs the job a day before, on and after
// each edge of the inactivity rule, and checks the warnings that arrive
// by e-mail.
func TestRetentionJobInactivityEdges(t *testing.T) {
	e := newEnv(t, nil)
	r, nid := e.resident(email(1))
	letter := e.deliver(e.muni.ID, nid, "l1", false)
	e.run(JobNotifications, store.JobOK) // the letter's own notification
	due := start.AddDate(5, 0, 0)
	for _, st := range []struct {
		at     time.Time
		warned int // warnings sent by e-mail so far
		gone   bool
	}{
		{due.AddDate(0, 0, -31), 0, false},
		{due.AddDate(0, 0, -30), 1, false},
		{due.AddDate(0, 0, -29), 1, false},
		{due.AddDate(0, 0, -8), 1, false},
		{due.AddDate(0, 0, -7), 2, false},
		{due.AddDate(0, 0, -6), 2, false},
		{due.AddDate(0, 0, -1), 2, false},
		{due, 2, true},
		{due.AddDate(0, 0, 1), 2, true},
	} {
		e.clock.Set(st.at)
		e.run(JobRetention, store.JobOK)
		e.run(JobNotifications, store.JobOK)
		var warnings []string
		for _, b := range e.mailsTo("r1@example.dk") {
			if strings.Contains(b, "will be deleted on") {
				warnings = append(warnings, b)
			}
		}
		if len(warnings) != st.warned {
			t.Fatalf("at %s: %d warnings, want %d", st.at, len(warnings), st.warned)
		}
		if gone := e.status(r.ID) == store.ResidentDeleted; gone != st.gone {
			t.Fatalf("at %s: deleted %v, want %v", st.at, gone, st.gone)
		}
		if st.warned > 0 && !strings.Contains(warnings[0], "deleted on 22 November 2031") || st.warned > 0 && !strings.Contains(warnings[0], "5 years") {
			t.Fatalf("warning text:\n%s", warnings[0])
		}
	}
	if e.letterExists(e.muni.ID, letter.Letter.ID) {
		t.Error("the letter survived the account")
	}
	if ok, _ := e.st.IsDigital(context.Background(), nid); ok {
		t.Error("deleted account is digital")
	}
}

// TestRetentionYearsOfPolicy runs seven years of the policy, a run of the
// retention and notification jobs every day, against three residents:
// one who never logs in, one who logs in every two years, and one who
// dies after a year with a letter from a public and one from a private
// sender.
func TestRetentionYearsOfPolicy(t *testing.T) {
	e := newEnv(t, nil)
	private, err := e.st.AddSender(context.Background(), "Nordlys Energi A/S", "31572290", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	idle, _ := e.resident(email(1))
	active, activeNID := e.resident(email(2))
	dead, deadNID := e.resident(email(3))
	pub := e.deliver(e.muni.ID, deadNID, "pub", false)
	priv := e.deliver(private.ID, deadNID, "priv", false)
	diedOn := time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC)

	began := time.Now()
	days := 0
	var idleGone, privGone, deadGone time.Time
	recorded := false
	for day := start; day.Before(start.AddDate(7, 0, 0)); day = day.Add(24 * time.Hour) {
		days++
		e.clock.Set(day)
		if !recorded && !day.Before(diedOn) {
			recorded = true
			if _, err := e.st.RecordDeath(context.Background(), deadNID, diedOn); err != nil {
				t.Fatal(err)
			}
		}
		if day.Sub(start)%(2*365*24*time.Hour) == 0 && day != start {
			if _, err := e.st.Login(context.Background(), activeNID.String(), testPassword); err != nil {
				t.Fatal(err)
			}
		}
		e.run(JobRetention, store.JobOK)
		if idleGone.IsZero() && e.status(idle.ID) == store.ResidentDeleted {
			idleGone = day
		}
		if privGone.IsZero() && !e.letterExists(private.ID, priv.Letter.ID) {
			privGone = day
		}
		if deadGone.IsZero() && e.status(dead.ID) == store.ResidentDeleted {
			deadGone = day
		}
		if day.Hour() == 10 && day.Weekday() == time.Monday || !idleGone.IsZero() && idleGone.Equal(day) {
			e.run(JobNotifications, store.JobOK)
		}
	}
	e.run(JobNotifications, store.JobOK)
	t.Logf("%d days of policy in %s", days, time.Since(began).Round(time.Millisecond))

	if want := start.AddDate(5, 0, 0); !idleGone.Equal(want) {
		t.Errorf("idle account deleted on %s, want %s", idleGone, want)
	}
	if want := diedOn.AddDate(0, 15, 0); privGone.Before(want) || privGone.After(want.Add(24*time.Hour)) {
		t.Errorf("private letter deleted on %s, want the day of %s", privGone, want)
	}
	if want := diedOn.AddDate(5, 0, 0); deadGone.Before(want) || deadGone.After(want.Add(24*time.Hour)) {
		t.Errorf("deceased account deleted on %s, want the day of %s", deadGone, want)
	}
	if e.letterExists(e.muni.ID, pub.Letter.ID) {
		t.Error("the public letter survived")
	}
	if e.status(active.ID) != store.ResidentActive {
		t.Errorf("the active resident's account is %s", e.status(active.ID))
	}
	count := func(addr string) (n int) {
		for _, b := range e.mailsTo(addr) {
			if strings.Contains(b, "will be deleted") {
				n++
			}
		}
		return n
	}
	if n := count("r1@example.dk"); n != 2 {
		t.Errorf("idle resident got %d warnings, want 2", n)
	}
	if n := count("r2@example.dk") + count("r3@example.dk"); n != 0 {
		t.Errorf("active and deceased residents got %d warnings", n)
	}
}

// TestRetentionJobKilled: the job dies in the middle of deleting
// accounts; every account is either whole or only a tombstone
// (CheckInvariants runs at each restart), and the next run finishes.
func TestRetentionJobKilled(t *testing.T) {
	for _, killAt := range []int{1, 3, 5} {
		t.Run(fmt.Sprint("kill at ", killAt), func(t *testing.T) {
			e := newEnvWithPolicy(t, store.RetentionPolicy{InactivityWarnings: []store.Period{}}, nil)
			type acct struct {
				id      string
				letters []string
			}
			var accts []acct
			for i := range 6 {
				r, nid := e.resident(email(i))
				a := acct{id: r.ID}
				for j := range 3 {
					a.letters = append(a.letters, e.deliver(e.muni.ID, nid, fmt.Sprintf("l%d-%d", i, j), false).Letter.ID)
				}
				accts = append(accts, a)
			}
			e.clock.Set(start.AddDate(5, 0, 1))
			e.cfg.afterItem = func(job string, n int) {
				if job == JobRetention && n == killAt {
					panic("killed")
				}
			}
			e.newScheduler()
			e.run(JobRetention, store.JobPanicked)
			e.restart()
			deleted := 0
			for _, a := range accts {
				gone := e.status(a.id) == store.ResidentDeleted
				for _, l := range a.letters {
					if e.letterExists(e.muni.ID, l) == gone {
						t.Errorf("account %s deleted=%v but letter %s exists=%v", a.id, gone, l, !gone)
					}
				}
				if gone {
					deleted++
				}
			}
			if deleted != killAt {
				t.Errorf("%d accounts deleted before the kill, want %d", deleted, killAt)
			}
			if r := e.run(JobRetention, store.JobOK); r.Items != 6-killAt {
				t.Errorf("after restart: %+v", r)
			}
			for _, a := range accts {
				if e.status(a.id) != store.ResidentDeleted {
					t.Errorf("account %s not deleted", a.id)
				}
			}
		})
	}
}

// TestRetentionCatchUpAtStart: the server was down for three years past
// an account's deletion date. Start runs the job at once: one warning
// (not two) and the full seven days before deletion.
func TestRetentionCatchUpAtStart(t *testing.T) {
	e := newEnv(t, nil)
	r, _ := e.resident(email(1))
	e.restart()
	back := start.AddDate(8, 0, 0)
	e.clock.Set(back)
	e.s.Start()
	// Let every job's start-up run finish: stopping while the notification
	// job is sending would (rightly) put the warning back for a retry
	// later, and this test is about the catch-up, not about shutdown.
	waitFor(t, func() bool {
		jobs, err := e.s.Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Name == JobBackup {
				continue // not run at start
			}
			if j.Running || j.Last.Started.Before(back) || j.Last.Finished.IsZero() {
				return false
			}
		}
		return true
	})
	if err := e.s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, _ := e.st.InactivityStatus(context.Background(), r.ID)
	if want := back.AddDate(0, 0, 7); !st.DeleteAt.Equal(want) || st.WarningsGiven != 2 {
		t.Errorf("after catch-up: %+v, want one (final) warning and deletion on %s", st, want)
	}
	e.newScheduler()
	e.run(JobNotifications, store.JobOK)
	if n := len(e.mailsTo("r1@example.dk")); n != 1 {
		t.Errorf("%d warnings by e-mail, want 1", n)
	}
	e.clock.Set(back.AddDate(0, 0, 6))
	e.run(JobRetention, store.JobOK)
	if e.status(r.ID) == store.ResidentDeleted {
		t.Fatal("deleted before the seven days")
	}
	e.clock.Set(back.AddDate(0, 0, 7))
	e.run(JobRetention, store.JobOK)
	if e.status(r.ID) != store.ResidentDeleted {
		t.Fatal("not deleted after the seven days")
	}
}
