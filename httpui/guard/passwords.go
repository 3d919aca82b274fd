package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/postkasse/postkasse/store"
)

// DefaultPasswordCheckWait is the bound on a password check's wait for a
// slot by default (PasswordChecks.MaxWait).
const DefaultPasswordCheckWait = 30 * time.Second

// MaxPasswordCheckWait is the longest bound on the wait that the login
// throttle allows: a check under way counts there for CheckDeadline at
// most, so its wait and its Argon2id evaluation must end well before.
const MaxPasswordCheckWait = CheckDeadline * 3 / 4

// DefaultIdleRelease is how long the password checks stay idle, after
// some ran, before the memory they held is given back to the operating
// system (PasswordChecks.IdleRelease): long enough that a trickle of
// sign-ins does not force a collection after each, short enough that the
// resident set falls within seconds of a burst.
const DefaultIdleRelease = 250 * time.Millisecond

// initialCheckCost is what one check is taken to cost before any was
// measured: about one Argon2id evaluation at the default policy on a
// loaded small machine.
const initialCheckCost = time.Second

// ErrBusy: no slot for a password check came free in time.
var ErrBusy = errors.New("too many password checks under way")

// ThrottledError: the login throttle refused the attempt without checking
// the password.
type ThrottledError struct {
	Wait time.Duration // until the next attempt is allowed
}

func (e *ThrottledError) Error() string {
	return "too many failed password checks; wait " + e.Wait.String()
}

// PasswordChecks runs password checks under the login throttle and a bound
// on how many run at once, so neither a burst against one account nor one
// spread over many can get more checks, or more memory, than allowed.
//
// A check that finds every slot taken waits in line, first come first
// served. Its wait is bounded by the checks' own cost, not by a fixed
// time: it is refused at once (ErrBusy) when its expected wait, the
// rounds of checks before its turn times the measured cost of one check
// (an exponentially weighted moving average of recent checks'
// durations), is over MaxWait, and gives up if it is still waiting when
// MaxWait has passed (the estimate was wrong: checks are stuck, not
// slow). So a burst of a few times the slots is always checked, and a
// flood is refused before it has waited.
//
// Each check is an Argon2id evaluation that allocates the KDF's memory;
// Go's runtime keeps freed memory for minutes before giving it back. When
// the checks go idle after some ran, and stay idle for IdleRelease, the
// memory is returned to the operating system at once (FreeMemory), once
// per burst, not after every check.
type PasswordChecks struct {
	throttle *Throttle
	slots    int
	// MaxWait bounds a check's wait for a slot (DefaultPasswordCheckWait
	// by default, at most MaxPasswordCheckWait; 0: no waiting at all).
	MaxWait time.Duration
	// IdleRelease is how long the checks stay idle before the memory is
	// returned (DefaultIdleRelease by default).
	IdleRelease time.Duration
	// Now and AfterFunc measure the checks' cost and time the waits and
	// the idle release: time.Now and time.AfterFunc, or a test's clock.
	// The cost is real time, never the calendar clock of the throttle's
	// rules, which tests set by hand.
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// FreeMemory returns the freed memory to the operating system:
	// debug.FreeOSMemory, or a test's counter.
	FreeMemory func()
	// Waiting, when set (by tests), is called when a check starts to
	// wait for a slot.
	Waiting func()
	// Log, when set, is told when a check could not be settled in the
	// throttle's store.
	Log *slog.Logger

	mu      sync.Mutex
	running int       // slots taken
	queue   []*waiter // checks waiting for a slot, first come first
	cost    time.Duration
	// measured: cost is measured (else initialCheckCost); ran: checks
	// ran since the memory was last returned.
	measured, ran bool
	// idle counts the idle periods; stopIdle cancels the pending
	// release of the current one.
	idle     uint64
	stopIdle func() bool
}

// waiter is a check waiting in line for a slot.
type waiter struct {
	ready   chan struct{} // closed when the waiter is given a slot
	granted bool          // under PasswordChecks.mu
}

// NewPasswordChecks returns checks under the throttle t with at most
// slots of them at once.
func NewPasswordChecks(t *Throttle, slots int) *PasswordChecks {
	return &PasswordChecks{throttle: t, slots: slots, MaxWait: DefaultPasswordCheckWait, IdleRelease: DefaultIdleRelease,
		Now: time.Now, AfterFunc: afterFunc, FreeMemory: debug.FreeOSMemory}
}

// afterFunc is time.AfterFunc as PasswordChecks.AfterFunc.
func afterFunc(d time.Duration, f func()) (stop func() bool) { return time.AfterFunc(d, f).Stop }

// Slots is how many checks may run at once.
func (p *PasswordChecks) Slots() int { return p.slots }

// Cost is the measured cost of one check (before any ran, an assumed
// one).
func (p *PasswordChecks) Cost() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.costLocked()
}

func (p *PasswordChecks) costLocked() time.Duration {
	if !p.measured {
		return initialCheckCost
	}
	return p.cost
}

// Check runs check, which tries a password for account (a national
// identity number) from address, under the throttle and the bound on
// checks at once. It returns check's error, a *ThrottledError when the
// throttle refuses the attempt, or ErrBusy when no slot came free in time
// or the throttle's store failed (then the error wraps the store's too);
// in those cases check did not run: without its count, no password is
// tried. store.ErrBadCredentials from check counts as a failure; success
// forgets the account's failures.
func (p *PasswordChecks) Check(ctx context.Context, account, address string, check func() error) error {
	ok, wait, done, err := p.throttle.Reserve(ctx, account, address)
	if err != nil {
		return fmt.Errorf("%w: the login throttle: %w", ErrBusy, err)
	}
	if !ok {
		return &ThrottledError{Wait: wait}
	}
	outcome := NotChecked
	defer func() {
		// A check not settled counts as under way until its deadline:
		// the throttle errs on the side of refusing.
		if err := done(outcome); err != nil && p.Log != nil {
			p.Log.Warn("settle a password check in the login throttle", "err", err)
		}
	}()
	release, ok := p.Acquire(ctx)
	if !ok {
		return ErrBusy
	}
	defer release()
	start := p.Now()
	err = check()
	p.measure(p.Now().Sub(start))
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		outcome = WrongPassword
	case err == nil:
		outcome = RightPassword
	}
	return err
}

// measure adds one check's duration d to the cost: an exponentially
// weighted moving average that gives the newest check an eighth, as TCP
// smooths its round-trip time (RFC 6298 §2), so one slow check moves it
// little and a machine that became slower moves it within a burst.
func (p *PasswordChecks) measure(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d = max(d, 0)
	if p.measured {
		p.cost += (d - p.cost) / 8
	} else {
		p.cost, p.measured = d, true
	}
	p.ran = true
}

// Acquire takes a slot for one password check, waiting in line as Check
// does, and returns the function that frees it; ok is false when the
// expected wait is over p.MaxWait, the wait reached it, or ctx ended
// first, and then the check has left the line.
func (p *PasswordChecks) Acquire(ctx context.Context) (release func(), ok bool) {
	p.mu.Lock()
	if p.running < p.slots && len(p.queue) == 0 {
		p.running++
		p.busyLocked()
		p.mu.Unlock()
		return p.releaser(), true
	}
	// The slots are all taken (the line is empty only then): the turn
	// comes after len(p.queue)+1 checks end, p.slots at a time.
	maxWait := p.MaxWait
	expected := time.Duration(len(p.queue)/p.slots+1) * p.costLocked()
	if maxWait <= 0 || expected > maxWait {
		p.mu.Unlock()
		return nil, false
	}
	w := &waiter{ready: make(chan struct{})}
	p.queue = append(p.queue, w)
	p.mu.Unlock()
	expired := make(chan struct{})
	stop := p.AfterFunc(maxWait, func() { close(expired) })
	defer stop()
	if p.Waiting != nil {
		p.Waiting()
	}
	select {
	case <-w.ready:
		return p.releaser(), true
	case <-ctx.Done():
	case <-expired:
	}
	p.mu.Lock()
	if w.granted {
		// Given a slot as it gave up: the next in line has it.
		p.mu.Unlock()
		p.release()
		return nil, false
	}
	p.queue = slices.DeleteFunc(p.queue, func(x *waiter) bool { return x == w })
	p.mu.Unlock()
	return nil, false
}

// releaser returns the function that frees a slot taken, once however
// often it is called.
func (p *PasswordChecks) releaser() func() {
	var once sync.Once
	return func() { once.Do(p.release) }
}

// release frees a slot: it goes to the first in line, or, when none
// waits, it is free; when that leaves the checks idle after some ran, the
// memory they held is returned after IdleRelease unless a check starts
// before.
func (p *PasswordChecks) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) > 0 {
		w := p.queue[0]
		p.queue = slices.Delete(p.queue, 0, 1)
		w.granted = true
		close(w.ready)
		return
	}
	p.running--
	if p.running > 0 || !p.ran {
		return
	}
	p.idle++
	idle := p.idle
	p.stopIdle = p.AfterFunc(p.IdleRelease, func() { p.releaseMemory(idle) })
}

// busyLocked notes that a check started: the idle period, if any, ended
// before its memory was returned, which waits for the next one.
func (p *PasswordChecks) busyLocked() {
	if p.stopIdle != nil {
		p.stopIdle()
		p.stopIdle = nil
	}
	p.idle++
}

// releaseMemory returns the memory to the operating system, if the idle
// period idle is still under way.
func (p *PasswordChecks) releaseMemory(idle uint64) {
	p.mu.Lock()
	if p.idle != idle || p.running > 0 || !p.ran {
		p.mu.Unlock()
		return
	}
	p.ran, p.stopIdle = false, nil
	p.mu.Unlock()
	p.FreeMemory()
}
