package guard

import (
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"time"

	"github.com/postkasse/postkasse/store"
)

// CheckDeadline is how long a check under way counts against the limits
// at most. A check ends long before (it waits PasswordChecks.MaxWait at
// most for a slot, then runs one Argon2id evaluation); the deadline is for the
// check whose node died before it could settle it, which would otherwise
// hold its place in the shared count for ever.
const CheckDeadline = time.Minute

// settleTimeout bounds the settling of a check, which runs even when the
// request that made the check has ended (a client that hangs up must not
// keep its failure from being counted).
const settleTimeout = 10 * time.Second

// Throttle counts failed password checks (logins, activation codes,
// recovery, and the passwords that confirm deleting a mailbox or changing
// the password) per account and per client address in a sliding window.
//
// A check is reserved before the password is tried and settled after
// (Reserve), and checks under way count against the limit like failures:
// otherwise attempts sent at the same time would all pass before the
// first failure was counted, and a burst of N guesses would get N checks
// whatever the limit.
//
// The counts live in this process's memory (NewThrottle), where a restart
// forgets them, which costs an attacker a restart of the server, not a
// bypass; or in the store (NewSharedThrottle), where every node on the
// same database counts together, each reservation and each settling one
// transaction over the account's and the address's state.
type Throttle struct {
	clock      func() time.Time
	window     time.Duration
	perAccount int
	perAddress int
	states     states[throttleState]
}

// throttleState is what the throttle knows of one account or address.
type throttleState struct {
	// Failures are the times of the failures in the window, oldest
	// first; no more than the limit (older ones can no longer change
	// the answer).
	Failures []time.Time `json:",omitempty"`
	// Pending are the checks under way: reserved, not yet settled.
	Pending []pendingCheck `json:",omitempty"`
}

// pendingCheck is a check under way: its reservation's id, and when it
// stops counting if it was never settled (CheckDeadline).
type pendingCheck struct {
	ID    string
	Until time.Time
}

func (s *throttleState) empty() bool { return len(s.Failures) == 0 && len(s.Pending) == 0 }

func cloneThrottleState(s throttleState) throttleState {
	return throttleState{Failures: cloneSlice(s.Failures), Pending: cloneSlice(s.Pending)}
}

// prune drops the failures that have left the window and the checks
// under way past their deadline.
func (s *throttleState) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(s.Failures) && !now.Before(s.Failures[i].Add(window)) {
		i++
	}
	s.Failures = cloneSlice(s.Failures[i:])
	s.Pending = slices.DeleteFunc(s.Pending, func(p pendingCheck) bool { return !now.Before(p.Until) })
}

// wait returns how long until the state, counting its checks under way
// as failures now, has fewer than limit failures in the window; 0 when it
// has already.
func (s *throttleState) wait(now time.Time, window time.Duration, limit int) time.Duration {
	n := len(s.Failures) + len(s.Pending)
	if n < limit {
		return 0
	}
	// The window must slide past the failure that keeps the count at the
	// limit; when that is a check under way, a whole window.
	i := n - limit
	if i >= len(s.Failures) {
		return window
	}
	return s.Failures[i].Add(window).Sub(now)
}

// settle ends the check id; failedAt, when not zero, is a failure to
// count, of which the state keeps the newest limit.
func (s *throttleState) settle(id string, failedAt time.Time, limit int) {
	s.Pending = slices.DeleteFunc(s.Pending, func(p pendingCheck) bool { return p.ID == id })
	if failedAt.IsZero() {
		return
	}
	// Nodes' clocks differ a little: keep the failures in order.
	i, _ := slices.BinarySearchFunc(s.Failures, failedAt, func(a, b time.Time) int { return a.Compare(b) })
	s.Failures = slices.Insert(s.Failures, i, failedAt)
	if len(s.Failures) > limit {
		s.Failures = s.Failures[len(s.Failures)-limit:]
	}
}

// NewThrottle returns a throttle in this process's memory that allows
// perAccount failures per account and perAddress per client address
// within window, on clock.
func NewThrottle(clock func() time.Time, window time.Duration, perAccount, perAddress int) *Throttle {
	t := &Throttle{clock: clock, window: window, perAccount: perAccount, perAddress: perAddress}
	t.states = newMemoryStates(clock, (*throttleState).empty, cloneThrottleState)
	return t
}

// NewSharedThrottle is NewThrottle with the counts kept in st, shared by
// every node on its database.
func NewSharedThrottle(st *store.Store, clock func() time.Time, window time.Duration, perAccount, perAddress int) *Throttle {
	t := &Throttle{clock: clock, window: window, perAccount: perAccount, perAddress: perAddress}
	t.states = sharedStates[throttleState]{store: st, empty: (*throttleState).empty}
	return t
}

// Outcome is how a reserved check ended.
type Outcome int

// Outcomes of a check.
const (
	// NotChecked: no password was tried after all (the server was busy,
	// the store failed).
	NotChecked Outcome = iota
	// WrongPassword counts a failure for the account and the address.
	WrongPassword
	// RightPassword forgets the account's failures. The address keeps
	// its count: one good password must not reset an address that tries
	// many accounts.
	RightPassword
)

// keys are the throttle's keys of an account and an address, apart from
// every other limit's.
func (t *Throttle) keys(account, address string) []string {
	return []string{"login-account:" + account, "login-address:" + address}
}

// expires is when the states written now mean no more than none.
func (t *Throttle) expires(now time.Time) time.Time {
	return now.Add(max(t.window, CheckDeadline))
}

// Reserve books one password check for account from address. It refuses
// (ok false, with how long to wait) when the account or the address
// already has as many failures in the window plus checks under way as its
// limit. Otherwise the check counts as under way for both until done is
// called with its outcome, exactly once (a second call does nothing), or
// until CheckDeadline. err is the store's failure: the check is then
// neither allowed nor booked. done's error is the store's failure to
// settle the check, which then counts until its deadline.
func (t *Throttle) Reserve(ctx context.Context, account, address string) (ok bool, wait time.Duration, done func(Outcome) error, err error) {
	id := rand.Text()
	now := t.clock()
	err = t.states.update(ctx, t.keys(account, address), t.expires(now), func(s []*throttleState) error {
		acc, addr := s[0], s[1]
		acc.prune(now, t.window)
		addr.prune(now, t.window)
		wait = max(acc.wait(now, t.window, t.perAccount), addr.wait(now, t.window, t.perAddress))
		if ok = wait == 0; ok {
			p := pendingCheck{ID: id, Until: now.Add(CheckDeadline)}
			acc.Pending = append(acc.Pending, p)
			addr.Pending = append(addr.Pending, p)
		}
		return nil
	})
	if err != nil || !ok {
		return false, wait, nil, err
	}
	var once sync.Once
	return true, 0, func(o Outcome) error {
		var err error
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
			defer cancel()
			err = t.settle(ctx, account, address, id, o)
		})
		return err
	}, nil
}

// settle ends a check that Reserve booked.
func (t *Throttle) settle(ctx context.Context, account, address, id string, o Outcome) error {
	now := t.clock()
	return t.states.update(ctx, t.keys(account, address), t.expires(now), func(s []*throttleState) error {
		acc, addr := s[0], s[1]
		acc.prune(now, t.window)
		addr.prune(now, t.window)
		var failedAt time.Time
		if o == WrongPassword {
			failedAt = now
		}
		acc.settle(id, failedAt, t.perAccount)
		addr.settle(id, failedAt, t.perAddress)
		if o == RightPassword {
			acc.Failures = nil
		}
		return nil
	})
}
