package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// schedule delivers a letter from the municipality to nid, not before at.
func (e *env) schedule(nid store.NationalID, ref string, at time.Time) store.DeliveryResult {
	e.t.Helper()
	r, err := e.st.Deliver(context.Background(), e.muni.ID, store.Delivery{
		Recipient: nid, Subject: "Secret subject " + ref, SenderReference: ref, Type: store.TypeDecision, NotBefore: at,
		Documents: []store.DocumentInput{{Name: "afgoerelse.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4\n%%EOF\n")}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if r.Letter.Status != "scheduled" {
		e.t.Fatalf("schedule %s: status %s", ref, r.Letter.Status)
	}
	return r
}

// TestReleaseJob: the release job runs every minute, on the minute. With
// the clock before a letter's notBefore it releases nothing, the resident
// sees nothing and no notification goes out; at the minute it releases the
// letter into the inbox as of notBefore, and the notifications job then
// tells the resident.
func TestReleaseJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if got := e.s.jobs[JobRelease].spec; got != "* * * * *" {
		t.Errorf("the release job's schedule is %q, want every minute", got)
	}
	_, nid := e.resident(email(1))
	at := start.Add(10 * time.Minute)
	e.schedule(nid, "ten-past", at)

	e.clock.Set(at.Add(-time.Minute))
	if r := e.run(JobRelease, store.JobOK); r.Items != 0 || r.Detail != "0 scheduled letters released" {
		t.Errorf("a minute early: %d items, %q", r.Items, r.Detail)
	}
	e.run(JobNotifications, store.JobOK)
	if got := e.inbox(nid); len(got) != 0 {
		t.Fatalf("inbox a minute early: %d letters, want none", len(got))
	}
	if got := e.mailsTo("r1@example.dk"); len(got) != 0 {
		t.Fatalf("%d mails before the release, want none", len(got))
	}

	e.clock.Set(at)
	if r := e.run(JobRelease, store.JobOK); r.Items != 1 || r.Detail != "1 scheduled letters released" {
		t.Errorf("at the minute: %d items, %q", r.Items, r.Detail)
	}
	got := e.inbox(nid)
	if len(got) != 1 || !got[0].DeliveredAt.Equal(at) {
		t.Fatalf("inbox at the minute: %+v, want the letter delivered at %s", got, at)
	}
	e.run(JobNotifications, store.JobOK)
	if got := e.mailsTo("r1@example.dk"); len(got) != 1 {
		t.Fatalf("%d mails after the release, want 1", len(got))
	}
	if r := e.run(JobRelease, store.JobOK); r.Items != 0 {
		t.Errorf("again: %d items, want 0", r.Items)
	}
}

// TestReleaseCatchUpAtStart: the server was down from before two letters'
// times until hours after. Start runs the release job at once, which
// delivers both, each as of its own notBefore; the one still ahead stays
// scheduled.
func TestReleaseCatchUpAtStart(t *testing.T) {
	e := newEnv(t, nil)
	_, nid := e.resident(email(1))
	first, second := start.Add(time.Hour), start.Add(2*time.Hour)
	a := e.schedule(nid, "first", first)
	b := e.schedule(nid, "second", second)
	ahead := e.schedule(nid, "ahead", start.Add(48*time.Hour))
	e.restart()
	back := start.Add(7 * time.Hour)
	e.clock.Set(back)
	e.s.Start()
	waitFor(t, func() bool {
		jobs, err := e.s.Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Name == JobRelease {
				return !j.Running && !j.Last.Started.Before(back) && !j.Last.Finished.IsZero()
			}
		}
		return false
	})
	if err := e.s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		id   string
		at   time.Time
		want string
	}{{a.Letter.ID, first, "delivered"}, {b.Letter.ID, second, "delivered"}, {ahead.Letter.ID, start.Add(48 * time.Hour), "scheduled"}} {
		st, err := e.st.LetterStatus(ctx, e.muni.ID, c.id)
		if err != nil || st.Status != c.want || !st.DeliveredAt.Equal(c.at) {
			t.Errorf("letter %s: %+v, %v; want %s at %s", c.id, st, err, c.want, c.at)
		}
	}
	if got := e.inbox(nid); len(got) != 2 {
		t.Errorf("inbox after the catch-up: %d letters, want 2", len(got))
	}
}

// TestReleaseCrash: a crash (a panic in the job's hook) after the release
// committed its transaction loses nothing and does nothing twice: after
// the restart both letters are delivered once, with one event each.
func TestReleaseCrash(t *testing.T) {
	e := newEnv(t, nil)
	_, nid := e.resident(email(1))
	e.schedule(nid, "one", start.Add(time.Minute))
	e.schedule(nid, "two", start.Add(2*time.Minute))
	e.clock.Set(start.Add(3 * time.Minute))
	e.cfg.afterItem = func(job string, n int) {
		if job == JobRelease && n == 1 {
			panic("power cut")
		}
	}
	e.newScheduler()
	e.run(JobRelease, store.JobPanicked)
	e.restart()
	if r := e.run(JobRelease, store.JobOK); r.Items != 0 {
		t.Errorf("after the restart: %d released, want 0 (all were committed together)", r.Items)
	}
	evs, _, err := e.st.Events(context.Background(), e.muni.ID, "", 100)
	if err != nil || len(evs) != 2 {
		t.Errorf("events: %d, %v; want one delivered event per letter", len(evs), err)
	}
	if got := e.inbox(nid); len(got) != 2 {
		t.Errorf("inbox: %d letters, want 2", len(got))
	}
}
