package guard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport"
)

// checksOnClock returns password checks with slots at once, their cost,
// waits and idle release on c, a throttle that never refuses, and a count
// of the times the memory was returned.
func checksOnClock(c *testsupport.Clock, slots int) (*PasswordChecks, *atomic.Int32) {
	p := NewPasswordChecks(NewThrottle(c.Now, 15*time.Minute, 1000, 1000), slots)
	p.Now, p.AfterFunc = c.Now, c.AfterFunc
	freed := new(atomic.Int32)
	p.FreeMemory = func() { freed.Add(1) }
	return p, freed
}

// waitingHook makes p report each check that starts to wait on the
// returned channel.
func waitingHook(p *PasswordChecks) <-chan struct{} {
	waiting := make(chan struct{}, 100)
	p.Waiting = func() { waiting <- struct{}{} }
	return waiting
}

// measureCost runs one check of cost d on c, so p's measured cost is d.
func measureCost(t *testing.T, p *PasswordChecks, c *testsupport.Clock, d time.Duration) {
	t.Helper()
	if err := p.Check(ctx, "measure", "192.0.2.250", func() error { c.Advance(d); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := p.Cost(); got != d {
		t.Fatalf("cost after one check of %v: %v", d, got)
	}
}

// lineLength is how many checks wait in p's line.
func lineLength(p *PasswordChecks) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// TestPasswordChecksFirstComeFirstServed: checks that wait for a slot get
// one in the order they came.
func TestPasswordChecksFirstComeFirstServed(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	p, _ := checksOnClock(c, 1)
	waiting := waitingHook(p)
	release, ok := p.Acquire(ctx)
	if !ok {
		t.Fatal("no free slot")
	}
	const n = 6
	served := make(chan int)
	for i := range n {
		go func() {
			r, ok := p.Acquire(ctx)
			if !ok {
				served <- -1 - i
				return
			}
			served <- i
			<-served // the test says when the check ends
			r()
		}()
		<-waiting // in line before the next comes
	}
	release()
	for want := range n {
		if got := <-served; got != want {
			t.Fatalf("slot %d went to waiter %d, want %d (negative: refused)", want, got, want)
		}
		served <- 0
	}
}

// TestPasswordChecksBurst: a burst of ten checks on two slots, each
// costing what a sign-in costs on a loaded two-core machine, is checked
// in full: none is refused, however long the line.
func TestPasswordChecksBurst(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	p, _ := checksOnClock(c, 2)
	waiting := waitingHook(p)
	const cost = 1500 * time.Millisecond
	measureCost(t, p, c, cost)

	const burst = 10
	gate := make(chan struct{})
	errs := make(chan error, burst)
	for i := range burst {
		go func() {
			errs <- p.Check(ctx, fmt.Sprintf("account-%d", i), fmt.Sprintf("192.0.2.%d", i), func() error {
				<-gate
				c.Advance(cost)
				return nil
			})
		}()
	}
	for range burst - p.Slots() {
		<-waiting
	}
	close(gate)
	for range burst {
		if err := <-errs; err != nil {
			t.Errorf("a check of the burst: %v", err)
		}
	}
}

// TestPasswordChecksRefused: a check whose expected wait is over the
// bound is refused at once, without trying the password; one that waited
// as long as the bound gives up and leaves the line.
func TestPasswordChecksRefused(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	p, _ := checksOnClock(c, 2)
	p.MaxWait = 30 * time.Second
	waiting := waitingHook(p)
	measureCost(t, p, c, 10*time.Second)
	r1, _ := p.Acquire(ctx)
	r2, _ := p.Acquire(ctx)

	// Two at a time, 10 s each: the first six in line expect 10, 10,
	// 20, 20, 30 and 30 s; the seventh 40 s.
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			errs <- p.Check(ctx, fmt.Sprintf("account-%d", i), "192.0.2.1", func() error { return nil })
		}()
		<-waiting
	}
	tried := false
	if err := p.Check(ctx, "account-7", "192.0.2.1", func() error { tried = true; return nil }); !errors.Is(err, ErrBusy) || tried {
		t.Fatalf("the seventh in line: %v (password tried: %v), want ErrBusy untried", err, tried)
	}
	if n := lineLength(p); n != 6 {
		t.Fatalf("%d in line after the refusal, want 6", n)
	}
	// The slots stay taken (a stuck check): the line gives up when the
	// bound has passed.
	c.Advance(30 * time.Second)
	for range 6 {
		if err := <-errs; !errors.Is(err, ErrBusy) {
			t.Errorf("a check that waited 30 s: %v, want ErrBusy", err)
		}
	}
	if n := lineLength(p); n != 0 {
		t.Fatalf("%d in line after they gave up", n)
	}
	r1()
	r2()
	if err := p.Check(ctx, "account-8", "192.0.2.1", func() error { return nil }); err != nil {
		t.Fatalf("a check with the slots free again: %v", err)
	}
	// No waiting at all: refused at once.
	p.MaxWait = 0
	r1, _ = p.Acquire(ctx)
	r2, _ = p.Acquire(ctx)
	if _, ok := p.Acquire(ctx); ok {
		t.Fatal("a third slot with MaxWait 0")
	}
	r1()
	r2()
}

// TestPasswordChecksCancel: a check whose request ends while it waits
// leaves the line, and the slot goes to the next.
func TestPasswordChecksCancel(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	p, _ := checksOnClock(c, 1)
	waiting := waitingHook(p)
	release, _ := p.Acquire(ctx)

	cctx, cancel := context.WithCancel(ctx)
	first := make(chan bool)
	go func() {
		r, ok := p.Acquire(cctx)
		if ok {
			r()
		}
		first <- ok
	}()
	<-waiting
	second := make(chan func())
	go func() {
		r, ok := p.Acquire(ctx)
		if !ok {
			r = nil
		}
		second <- r
	}()
	<-waiting
	cancel()
	if <-first {
		t.Fatal("a cancelled wait got a slot")
	}
	if n := lineLength(p); n != 1 {
		t.Fatalf("%d in line after the cancel, want 1", n)
	}
	release()
	r := <-second
	if r == nil {
		t.Fatal("the second in line got no slot")
	}
	r()
	r() // a second call frees nothing more
	p.mu.Lock()
	running := p.running
	p.mu.Unlock()
	if running != 0 {
		t.Fatalf("%d slots taken at the end", running)
	}
}

// TestPasswordChecksReleaseMemory: the memory is returned once after a
// burst, when the checks have been idle for IdleRelease; a check that
// starts before puts it off; slots taken without a check return nothing.
func TestPasswordChecksReleaseMemory(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	p, freed := checksOnClock(c, 2)
	run := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := p.Check(ctx, fmt.Sprintf("account-%d", i), "192.0.2.1", func() error { return nil }); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	run(10)
	if freed.Load() != 0 {
		t.Fatal("memory returned before the checks were idle for IdleRelease")
	}
	c.Advance(p.IdleRelease - time.Nanosecond)
	if freed.Load() != 0 {
		t.Fatal("memory returned before IdleRelease")
	}
	run(1) // before the release: it waits for the next idle period
	c.Advance(p.IdleRelease - time.Nanosecond)
	if freed.Load() != 0 {
		t.Fatal("memory returned though a check started in the idle period")
	}
	c.Advance(time.Nanosecond)
	if freed.Load() != 1 {
		t.Fatalf("memory returned %d times after the burst, want once", freed.Load())
	}
	c.Advance(time.Hour)
	r, _ := p.Acquire(ctx)
	r()
	c.Advance(time.Hour)
	if freed.Load() != 1 || c.Timers() != 0 {
		t.Fatalf("memory returned %d times, %d timers; want once and none after idle slots", freed.Load(), c.Timers())
	}
}

// TestPasswordChecksCancelWhenGiven: a wait that ends just as the slot is
// given to it loses no slot, whichever it sees first: it has the slot, or
// the slot is free again.
func TestPasswordChecksCancelWhenGiven(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	p, _ := checksOnClock(c, 1)
	for range 50 {
		release, _ := p.Acquire(ctx)
		cctx, cancel := context.WithCancel(ctx)
		// In line, the request ends and the slot comes free at once.
		p.Waiting = func() { cancel(); release() }
		r, ok := p.Acquire(cctx)
		if ok {
			r()
		}
		p.mu.Lock()
		running, line := p.running, len(p.queue)
		p.mu.Unlock()
		if running != 0 || line != 0 {
			t.Fatalf("after a wait that ended as it was given the slot (got it: %v): %d slots taken, %d in line", ok, running, line)
		}
	}
}
