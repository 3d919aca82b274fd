package httpui

import (
	"sync"
	"time"
)

// throttle counts failed logins per account and per client address in a
// sliding window. It lives in memory: a restart forgets it, which costs an
// attacker a restart of the server, not a bypass.
type throttle struct {
	clock      func() time.Time
	window     time.Duration
	perAccount int
	perAddress int

	mu        sync.Mutex
	accounts  map[string][]time.Time // failure times, oldest first
	addresses map[string][]time.Time
	lastSweep time.Time
}

func newThrottle(clock func() time.Time, window time.Duration, perAccount, perAddress int) *throttle {
	return &throttle{
		clock: clock, window: window, perAccount: perAccount, perAddress: perAddress,
		accounts: map[string][]time.Time{}, addresses: map[string][]time.Time{},
	}
}

// blocked reports whether a login for account from address must be refused
// without trying it, and if so how long until the next attempt is allowed.
func (t *throttle) blocked(account, address string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	var wait time.Duration
	if w := t.waitFor(t.accounts, account, t.perAccount, now); w > wait {
		wait = w
	}
	if w := t.waitFor(t.addresses, address, t.perAddress, now); w > wait {
		wait = w
	}
	return wait > 0, wait
}

// waitFor returns how long until key has fewer than limit failures in the
// window; 0 when it has already.
func (t *throttle) waitFor(m map[string][]time.Time, key string, limit int, now time.Time) time.Duration {
	times := t.prune(m, key, now)
	if len(times) < limit {
		return 0
	}
	// The window must slide past the failure that keeps the count at
	// the limit.
	return times[len(times)-limit].Add(t.window).Sub(now)
}

// prune drops the failures of key that have left the window.
func (t *throttle) prune(m map[string][]time.Time, key string, now time.Time) []time.Time {
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

// fail records a failed login.
func (t *throttle) fail(account, address string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	t.add(t.accounts, account, t.perAccount, now)
	t.add(t.addresses, address, t.perAddress, now)
	if now.Sub(t.lastSweep) > t.window {
		t.sweep(now)
	}
}

// add appends a failure, keeping no more than limit of them: older ones
// can no longer change the answer.
func (t *throttle) add(m map[string][]time.Time, key string, limit int, now time.Time) {
	times := append(t.prune(m, key, now), now)
	if len(times) > limit {
		times = times[len(times)-limit:]
	}
	m[key] = times
}

// succeed forgets an account's failures after a successful login. The
// address keeps its count: one good password must not reset an address
// that tries many accounts.
func (t *throttle) succeed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, account)
}

// sweep drops every key whose failures have all left the window, so the
// maps stay as small as the recent failures.
func (t *throttle) sweep(now time.Time) {
	for k := range t.accounts {
		t.prune(t.accounts, k, now)
	}
	for k := range t.addresses {
		t.prune(t.addresses, k, now)
	}
	t.lastSweep = now
}
