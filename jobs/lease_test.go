package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// second builds another node's scheduler on the same store (as a second
// node of a cluster shares the database).
func (e *env) second(node string) *Scheduler {
	e.t.Helper()
	cfg := e.cfg
	cfg.Store, cfg.Node, cfg.afterItem = e.st, node, nil
	s, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestOneNodeRunsTheJobs: the node that holds the jobs lease runs them;
// another skips them until the lease expires (the holder died), and takes
// them at once when the holder stops and releases it.
func TestOneNodeRunsTheJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Node = "node-a" })
	b := e.second("node-b")
	e.run(JobNotifications, store.JobOK)
	if _, err := b.RunNow(JobNotifications); !errors.Is(err, ErrOtherNode) || !strings.Contains(err.Error(), "node-a") {
		t.Fatalf("node b while node a holds the lease: %v, want ErrOtherNode naming node-a", err)
	}
	// Node a stops renewing (it died): after the lease's time, b runs.
	e.clock.Advance(e.s.cfg.LeaseTTL + time.Second)
	if r, err := b.RunNow(JobNotifications); err != nil || r.Outcome != store.JobOK {
		t.Fatalf("node b after node a's lease expired: %+v, %v", r, err)
	}
	if _, err := e.s.RunNow(JobTerms); !errors.Is(err, ErrOtherNode) {
		t.Fatalf("node a after node b took over: %v, want ErrOtherNode", err)
	}
	// Node b stops: its lease is released, and a runs at once.
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.run(JobNotifications, store.JobOK)
	if holder, _, err := e.st.LeaseHolder(context.Background(), store.LeaseJobs); err != nil || holder != "node-a" {
		t.Fatalf("lease holder %q, %v; want node-a", holder, err)
	}
}

// TestLeaseLostMidRun: a node whose lease went to another during a long
// run (it stalled for longer than the lease) stops after the item in hand
// and records why; the items it did are done once.
func TestLeaseLostMidRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Node = "node-a" })
	for i := range 3 {
		_, nid := e.resident(email(i))
		e.deliver(e.muni.ID, nid, "ref-"+string(rune('a'+i)), false)
	}
	b := e.second("node-b")
	e.cfg.afterItem = func(job string, n int) {
		if job == JobNotifications && n == 1 {
			// Node a stalls past its lease; node b takes the jobs.
			e.clock.Advance(e.s.cfg.LeaseTTL + time.Second)
			if held, err := e.st.AcquireLease(context.Background(), store.LeaseJobs, "node-b", time.Minute); err != nil || !held {
				t.Errorf("node b could not take the expired lease: %v, %v", held, err)
			}
		}
	}
	e.newScheduler()
	r := e.run(JobNotifications, store.JobStopped)
	if r.Items != 1 || !strings.Contains(r.Detail, "lease went to another node") {
		t.Errorf("run after losing the lease: %+v", r)
	}
	// Node b sends the rest, and nothing twice.
	if r, err := b.RunNow(JobNotifications); err != nil || r.Outcome != store.JobOK {
		t.Fatalf("node b: %+v, %v", r, err)
	}
	for i := range 3 {
		if got := e.mailsTo(email(i).Email); len(got) != 1 {
			t.Errorf("resident %d got %d mails, want 1", i, len(got))
		}
	}
}
