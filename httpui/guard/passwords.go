package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Log, when set, is told when a check could not be settled in the
	// throttle's store.
	Log *slog.Logger
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
// throttle refuses the attempt, or ErrBusy when no slot came free or the
// throttle's store failed (then the error wraps the store's too); in
// those cases check did not run: without its count, no password is
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
	err = check()
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		outcome = WrongPassword
	case err == nil:
		outcome = RightPassword
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
