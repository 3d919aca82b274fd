package guard

import (
	"sync"
	"time"
)

// Throttle counts failed password checks (logins, and the password that
// confirms deleting a mailbox) per account and per client address in a
// sliding window. It lives in memory: a restart forgets it, which costs an
// attacker a restart of the server, not a bypass.
//
// A check is reserved before the password is tried and settled after
// (Reserve), and checks under way count against the limit like failures:
// otherwise attempts sent at the same time would all pass before the
// first failure was counted, and a burst of N guesses would get N checks
// whatever the limit.
type Throttle struct {
	clock      func() time.Time
	window     time.Duration
	perAccount int
	perAddress int

	mu        sync.Mutex
	accounts  map[string][]time.Time // failure times, oldest first
	addresses map[string][]time.Time
	// pendingAccounts and pendingAddresses count the checks under way
	// (reserved, not yet settled); a key is absent at zero.
	pendingAccounts  map[string]int
	pendingAddresses map[string]int
	lastSweep        time.Time
}

// NewThrottle returns a throttle that allows perAccount failures per
// account and perAddress per client address within window, on clock.
func NewThrottle(clock func() time.Time, window time.Duration, perAccount, perAddress int) *Throttle {
	return &Throttle{
		clock: clock, window: window, perAccount: perAccount, perAddress: perAddress,
		accounts: map[string][]time.Time{}, addresses: map[string][]time.Time{},
		pendingAccounts: map[string]int{}, pendingAddresses: map[string]int{},
	}
}

// Reserve books one password check for account from address. It refuses
// (ok false, with how long to wait) when the account or the address
// already has as many failures in the window plus checks under way as its
// limit. Otherwise the check counts as under way for both until done is
// called, exactly once, with whether the password was wrong; done(true)
// records a failure. A caller that checks no password after all (the
// server was busy, the store failed) calls done(false).
func (t *Throttle) Reserve(account, address string) (ok bool, wait time.Duration, done func(failed bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	if w := t.waitFor(t.accounts, t.pendingAccounts, account, t.perAccount, now); w > wait {
		wait = w
	}
	if w := t.waitFor(t.addresses, t.pendingAddresses, address, t.perAddress, now); w > wait {
		wait = w
	}
	if wait > 0 {
		return false, wait, nil
	}
	t.pendingAccounts[account]++
	t.pendingAddresses[address]++
	var once sync.Once
	return true, 0, func(failed bool) {
		once.Do(func() { t.settle(account, address, failed) })
	}
}

// settle ends a check that Reserve booked.
func (t *Throttle) settle(account, address string, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	decrement(t.pendingAccounts, account)
	decrement(t.pendingAddresses, address)
	if !failed {
		return
	}
	now := t.clock()
	t.add(t.accounts, account, t.perAccount, now)
	t.add(t.addresses, address, t.perAddress, now)
	if now.Sub(t.lastSweep) > t.window {
		t.sweep(now)
	}
}

func decrement(m map[string]int, key string) {
	if m[key] <= 1 {
		delete(m, key)
		return
	}
	m[key]--
}

// waitFor returns how long until key, counting its checks under way as
// failures now, has fewer than limit failures in the window; 0 when it
// has already.
func (t *Throttle) waitFor(m map[string][]time.Time, pending map[string]int, key string, limit int, now time.Time) time.Duration {
	times := t.prune(m, key, now)
	n := len(times) + pending[key]
	if n < limit {
		return 0
	}
	// The window must slide past the failure that keeps the count at the
	// limit; when that is a check under way, a whole window.
	i := n - limit
	if i >= len(times) {
		return t.window
	}
	return times[i].Add(t.window).Sub(now)
}

// prune drops the failures of key that have left the window.
func (t *Throttle) prune(m map[string][]time.Time, key string, now time.Time) []time.Time {
	times := m[key]
	i := 0
	for i < len(times) && !now.Before(times[i].Add(t.window)) {
		i++
	}
	if i == len(times) {
		delete(m, key)
		return nil
	}
	times = times[i:]
	m[key] = times
	return times
}

// add appends a failure, keeping no more than limit of them: older ones
// can no longer change the answer.
func (t *Throttle) add(m map[string][]time.Time, key string, limit int, now time.Time) {
	times := append(t.prune(m, key, now), now)
	if len(times) > limit {
		times = times[len(times)-limit:]
	}
	m[key] = times
}

// Succeed forgets an account's failures after a right password. The
// address keeps its count: one good password must not reset an address
// that tries many accounts.
func (t *Throttle) Succeed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, account)
}

// sweep drops every key whose failures have all left the window, so the
// maps stay as small as the recent failures. (The maps of checks under
// way hold only keys with a check in progress.)
func (t *Throttle) sweep(now time.Time) {
	for k := range t.accounts {
		t.prune(t.accounts, k, now)
	}
	for k := range t.addresses {
		t.prune(t.addresses, k, now)
	}
	t.lastSweep = now
}
