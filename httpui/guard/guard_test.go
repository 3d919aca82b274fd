package guard

import (
	"sync"
	"testing"
	"time"
)

// clock is a clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// failThrottled records a failed password check for account from address.
func failThrottled(t *testing.T, th *Throttle, account, address string) {
	t.Helper()
	ok, _, done := th.Reserve(account, address)
	if !ok {
		t.Fatalf("%s from %s refused", account, address)
	}
	done(true)
}

// blockedThrottled reports whether a check for account from address would
// be refused now, and the wait; a reservation it gets is given back.
func blockedThrottled(th *Throttle, account, address string) (bool, time.Duration) {
	ok, wait, done := th.Reserve(account, address)
	if ok {
		done(false)
	}
	return !ok, wait
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	c := newClock()
	th := NewThrottle(c.Now, 10*time.Minute, 2, 3)
	if blocked, _ := blockedThrottled(th, "a", "ip"); blocked {
		t.Fatal("blocked before any failure")
	}
	failThrottled(t, th, "a", "ip")
	c.Advance(time.Minute)
	failThrottled(t, th, "a", "ip")
	blocked, wait := blockedThrottled(th, "a", "ip")
	if !blocked || wait != 9*time.Minute {
		t.Fatalf("after 2 failures: %v %v", blocked, wait)
	}
	if blocked, _ := blockedThrottled(th, "b", "ip2"); blocked {
		t.Fatal("another account and address blocked")
	}
	failThrottled(t, th, "b", "ip") // the address's third failure
	if blocked, wait := blockedThrottled(th, "c", "ip"); !blocked || wait != 9*time.Minute {
		t.Fatalf("address over the limit: %v %v", blocked, wait)
	}
	th.Succeed("a")
	if blocked, _ := blockedThrottled(th, "a", "ip3"); blocked {
		t.Fatal("success did not reset the account")
	}
	c.Advance(9 * time.Minute)
	if blocked, _ := blockedThrottled(th, "c", "ip"); blocked {
		t.Fatal("still blocked after the window")
	}
	// Old entries are swept.
	c.Advance(time.Hour)
	failThrottled(t, th, "d", "ip4")
	th.mu.Lock()
	n := len(th.accounts) + len(th.addresses)
	pending := len(th.pendingAccounts) + len(th.pendingAddresses)
	th.mu.Unlock()
	if n != 2 || pending != 0 {
		t.Fatalf("%d keys after the sweep, want 2; %d keys of checks under way, want 0", n, pending)
	}
}

// TestThrottleReservation: checks under way count against the limit like
// failures, so attempts at the same time cannot all pass before the first
// failure is counted; a check that settles without a failure frees its
// place.
func TestThrottleReservation(t *testing.T) {
	t.Parallel()
	c := newClock()
	th := NewThrottle(c.Now, 10*time.Minute, 2, 3)

	ok1, _, done1 := th.Reserve("a", "ip1")
	ok2, _, done2 := th.Reserve("a", "ip2")
	if !ok1 || !ok2 {
		t.Fatalf("first two checks of a: %v %v", ok1, ok2)
	}
	// Two under way is a's limit, whatever the address.
	if ok, wait, _ := th.Reserve("a", "ip3"); ok || wait != 10*time.Minute {
		t.Fatalf("third check while two are under way: %v %v", ok, wait)
	}
	done1(false) // right password, or no check after all
	done1(true)  // a second call changes nothing
	ok3, _, done3 := th.Reserve("a", "ip3")
	if !ok3 {
		t.Fatal("a check settled without a failure still holds its place")
	}
	c.Advance(time.Minute)
	done2(true)
	done3(true)
	if blocked, wait := blockedThrottled(th, "a", "ip4"); !blocked || wait != 10*time.Minute {
		t.Fatalf("after two failures: %v %v", blocked, wait)
	}

	// The address's limit (3) counts checks under way of every account:
	// one failure (ip2's, a minute ago) and two under way.
	c.Advance(time.Minute)
	okB, _, doneB := th.Reserve("b", "ip2")
	okC, _, doneC := th.Reserve("c", "ip2")
	if !okB || !okC {
		t.Fatalf("checks of b and c from ip2: %v %v", okB, okC)
	}
	if ok, wait, _ := th.Reserve("d", "ip2"); ok || wait != 9*time.Minute {
		// Counting the two under way as failures now, the window must
		// slide past ip2's failure a minute ago.
		t.Fatalf("a fourth check from ip2: %v %v", ok, wait)
	}
	doneB(false)
	doneC(false)
	th.mu.Lock()
	pending := len(th.pendingAccounts) + len(th.pendingAddresses)
	th.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d keys of checks under way after all settled, want 0", pending)
	}
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := NewRateLimiter(c.Now, 2, 3)
	for i := range 3 {
		if ok, _ := l.Allow("s"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, wait := l.Allow("s")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v %v", ok, wait)
	}
	c.Advance(500 * time.Millisecond)
	if ok, _ := l.Allow("s"); !ok {
		t.Fatal("refused after refilling")
	}
	c.Advance(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("s"); !ok {
			t.Fatalf("burst %d after an hour refused", i)
		}
	}
	if ok, _ := l.Allow("s"); ok {
		t.Fatal("the bucket holds more than its burst")
	}
}
