package guard

import (
	"context"
	"errors"
	"time"

	"github.com/postkasse/postkasse/store"
)

// PasswordCheckWait is how long a password check waits for a free slot
// by default before it is refused with ErrBusy.
const PasswordCheckWait = 5 * time.Second

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
type PasswordChecks struct {
	throttle *Throttle
	slots    chan struct{}
	// Wait is how long a check waits for a free slot (PasswordCheckWait
	// by default; 0: not at all).
	Wait time.Duration
	// Waiting, when set (by tests), is called when a check starts to
	// wait for a slot.
	Waiting func()
}

// NewPasswordChecks returns checks under the throttle t with at most
// slots of them at once.
func NewPasswordChecks(t *Throttle, slots int) *PasswordChecks {
	return &PasswordChecks{throttle: t, slots: make(chan struct{}, slots), Wait: PasswordCheckWait}
}

// Slots is how many checks may run at once.
func (p *PasswordChecks) Slots() int { return cap(p.slots) }

// Check runs check, which tries a password for account (a national
// identity number) from address, under the throttle and the bound on
// checks at once. It returns check's error, a *ThrottledError when the
// throttle refuses the attempt, or ErrBusy when no slot came free; in
// those two cases check did not run. store.ErrBadCredentials from check
// counts as a failure; success forgets the account's failures.
func (p *PasswordChecks) Check(ctx context.Context, account, address string, check func() error) error {
	ok, wait, done := p.throttle.Reserve(account, address)
	if !ok {
		return &ThrottledError{Wait: wait}
	}
	failed := false
	defer func() { done(failed) }()
	release, ok := p.Acquire(ctx)
	if !ok {
		return ErrBusy
	}
	defer release()
	err := check()
	failed = errors.Is(err, store.ErrBadCredentials)
	if err == nil {
		p.throttle.Succeed(account)
	}
	return err
}

// Acquire takes a slot for one password check, waiting up to p.Wait or
// until ctx ends, and returns the function that frees it; ok is false when
// no slot came free.
func (p *PasswordChecks) Acquire(ctx context.Context) (release func(), ok bool) {
	release = func() { <-p.slots }
	select {
	case p.slots <- struct{}{}:
		return release, true
	default:
	}
	if p.Wait <= 0 {
		return nil, false
	}
	if p.Waiting != nil {
		p.Waiting()
	}
	timer := time.NewTimer(p.Wait)
	defer timer.Stop()
	select {
	case p.slots <- struct{}{}:
		return release, true
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil, false
}
