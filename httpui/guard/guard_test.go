package guard

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/internal/testsupport/teststore"
	"github.com/postkasse/postkasse/store"
)

// The shared states run on real stores: the embedded engine's file
// (teststore) and the cluster engine, on a PostgreSQL server and an S3
// server these tests start.
var (
	pg pgtest.Shared
	s3 s3test.Shared
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, close := range []func() error{pg.Close, s3.Close} {
		if err := close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

var ctx = context.Background()

// clusterStores opens n stores, as n nodes would, on one new database and
// bucket of the cluster engine, on clock (teststore.OpenCluster).
func clusterStores(t *testing.T, clock func() time.Time, n int) []*store.Store {
	t.Helper()
	return teststore.OpenCluster(t, &pg, &s3, n, store.Options{Clock: clock})
}

// kind is where a test's throttles and limiters keep their states: each
// test runs against every kind.
type kind struct {
	name string
	// store returns the store of shared states, nil for memory.
	store func(t *testing.T, clock func() time.Time) *store.Store
}

var kinds = []kind{
	{"memory", func(*testing.T, func() time.Time) *store.Store { return nil }},
	{"embedded", func(t *testing.T, clock func() time.Time) *store.Store {
		return teststore.Open(t, store.Options{Clock: clock})
	}},
	{"cluster", func(t *testing.T, clock func() time.Time) *store.Store { return clusterStores(t, clock, 1)[0] }},
}

func (k kind) throttle(t *testing.T, c *testsupport.Clock, window time.Duration, perAccount, perAddress int) *Throttle {
	if st := k.store(t, c.Now); st != nil {
		return NewSharedThrottle(st, c.Now, window, perAccount, perAddress)
	}
	return NewThrottle(c.Now, window, perAccount, perAddress)
}

func (k kind) limiter(t *testing.T, c *testsupport.Clock, rate, burst float64) *RateLimiter {
	if st := k.store(t, c.Now); st != nil {
		return NewSharedRateLimiter(st, c.Now, rate, burst)
	}
	return NewRateLimiter(c.Now, rate, burst)
}

// reserve reserves a check and fails the test on the store's error.
func reserve(t *testing.T, th *Throttle, account, address string) (bool, time.Duration, func(Outcome) error) {
	t.Helper()
	ok, wait, done, err := th.Reserve(ctx, account, address)
	if err != nil {
		t.Fatalf("reserve %s from %s: %v", account, address, err)
	}
	return ok, wait, done
}

// settle ends a reserved check with its outcome.
func settle(t *testing.T, done func(Outcome) error, o Outcome) {
	t.Helper()
	if err := done(o); err != nil {
		t.Fatalf("settle: %v", err)
	}
}

// fail records a failed password check for account from address.
func fail(t *testing.T, th *Throttle, account, address string) {
	t.Helper()
	ok, _, done := reserve(t, th, account, address)
	if !ok {
		t.Fatalf("%s from %s refused", account, address)
	}
	settle(t, done, WrongPassword)
}

// blocked reports whether a check for account from address would be
// refused now, and the wait; a reservation it gets is given back.
func blocked(t *testing.T, th *Throttle, account, address string) (bool, time.Duration) {
	t.Helper()
	ok, wait, done := reserve(t, th, account, address)
	if ok {
		settle(t, done, NotChecked)
	}
	return !ok, wait
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			c := testsupport.NewClock()
			th := k.throttle(t, c, 10*time.Minute, 2, 3)
			if b, _ := blocked(t, th, "a", "ip"); b {
				t.Fatal("blocked before any failure")
			}
			fail(t, th, "a", "ip")
			c.Advance(time.Minute)
			fail(t, th, "a", "ip")
			if b, wait := blocked(t, th, "a", "ip"); !b || wait != 9*time.Minute {
				t.Fatalf("after 2 failures: %v %v", b, wait)
			}
			if b, _ := blocked(t, th, "b", "ip2"); b {
				t.Fatal("another account and address blocked")
			}
			fail(t, th, "b", "ip") // the address's third failure
			if b, wait := blocked(t, th, "c", "ip"); !b || wait != 9*time.Minute {
				t.Fatalf("address over the limit: %v %v", b, wait)
			}
			if b, _ := blocked(t, th, "a", "ip3"); !b {
				t.Fatal("a reserved over its limit")
			}
			c.Advance(9 * time.Minute)
			ok, _, done := reserve(t, th, "a", "ip3")
			if !ok {
				t.Fatal("a blocked after its first failure left the window")
			}
			settle(t, done, RightPassword)
			// The right password forgot a's failure a minute ago.
			fail(t, th, "a", "ip4")
			if b, _ := blocked(t, th, "a", "ip5"); b {
				t.Fatal("success did not reset the account")
			}
			if b, _ := blocked(t, th, "c", "ip"); b {
				t.Fatal("still blocked after the window")
			}
			// States that expired are dropped.
			if m, isMemory := th.states.(*memoryStates[throttleState]); isMemory {
				c.Advance(time.Hour)
				fail(t, th, "d", "ip6")
				if n := m.len(); n != 2 {
					t.Fatalf("%d keys after the sweep, want 2", n)
				}
			}
		})
	}
}

// TestThrottleReservation: checks under way count against the limit like
// failures, so attempts at the same time cannot all pass before the first
// failure is counted; a check that settles without a failure frees its
// place; one never settled (its node died) stops counting at its
// deadline.
func TestThrottleReservation(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			c := testsupport.NewClock()
			th := k.throttle(t, c, 10*time.Minute, 2, 3)

			ok1, _, done1 := reserve(t, th, "a", "ip1")
			ok2, _, done2 := reserve(t, th, "a", "ip2")
			if !ok1 || !ok2 {
				t.Fatalf("first two checks of a: %v %v", ok1, ok2)
			}
			// Two under way is a's limit, whatever the address.
			if ok, wait, _ := reserve(t, th, "a", "ip3"); ok || wait != 10*time.Minute {
				t.Fatalf("third check while two are under way: %v %v", ok, wait)
			}
			settle(t, done1, NotChecked)
			settle(t, done1, WrongPassword) // a second call changes nothing
			ok3, _, done3 := reserve(t, th, "a", "ip3")
			if !ok3 {
				t.Fatal("a check settled without a failure still holds its place")
			}
			c.Advance(time.Minute)
			settle(t, done2, WrongPassword)
			settle(t, done3, WrongPassword)
			if b, wait := blocked(t, th, "a", "ip4"); !b || wait != 10*time.Minute {
				t.Fatalf("after two failures: %v %v", b, wait)
			}

			// The address's limit (3) counts checks under way of every
			// account: one failure (ip2's, a minute ago) and two under way.
			c.Advance(time.Minute)
			okB, _, doneB := reserve(t, th, "b", "ip2")
			okC, _, doneC := reserve(t, th, "c", "ip2")
			if !okB || !okC {
				t.Fatalf("checks of b and c from ip2: %v %v", okB, okC)
			}
			if ok, wait, _ := reserve(t, th, "d", "ip2"); ok || wait != 9*time.Minute {
				// Counting the two under way as failures now, the window
				// must slide past ip2's failure a minute ago.
				t.Fatalf("a fourth check from ip2: %v %v", ok, wait)
			}
			settle(t, doneB, NotChecked)
			// c's check is never settled: its node died. It counts until
			// its deadline, and not after.
			_ = doneC
			if ok, _, _ := reserve(t, th, "e", "ip2"); !ok {
				t.Fatal("b's settled check still counts")
			}
			// Now ip2 has its failure and c's and e's checks under way.
			if b, _ := blocked(t, th, "f", "ip2"); !b {
				t.Fatal("ip2 with two checks under way and a failure not blocked")
			}
			c.Advance(CheckDeadline)
			if b, _ := blocked(t, th, "f", "ip2"); b {
				t.Fatal("checks never settled still count after their deadline")
			}
		})
	}
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			c := testsupport.NewClock()
			l := k.limiter(t, c, 2, 3)
			allow := func() (bool, time.Duration) {
				t.Helper()
				ok, wait, err := l.Allow(ctx, "s")
				if err != nil {
					t.Fatal(err)
				}
				return ok, wait
			}
			for i := range 3 {
				if ok, _ := allow(); !ok {
					t.Fatalf("request %d refused", i)
				}
			}
			if ok, wait := allow(); ok || wait != 500*time.Millisecond {
				t.Fatalf("over the burst: %v %v", ok, wait)
			}
			c.Advance(500 * time.Millisecond)
			if ok, _ := allow(); !ok {
				t.Fatal("refused after refilling")
			}
			c.Advance(time.Hour)
			for i := range 3 {
				if ok, _ := allow(); !ok {
					t.Fatalf("burst %d after an hour refused", i)
				}
			}
			if ok, _ := allow(); ok {
				t.Fatal("the bucket holds more than its burst")
			}
		})
	}
}

// TestRateLimiterAllowN: a request that costs n tokens takes all n at
// once or none, so a refused one leaves the bucket as it was.
func TestRateLimiterAllowN(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			c := testsupport.NewClock()
			l := k.limiter(t, c, 100, 300)
			allowN := func(n int) (bool, time.Duration) {
				t.Helper()
				ok, wait, err := l.AllowN(ctx, "s", n)
				if err != nil {
					t.Fatal(err)
				}
				return ok, wait
			}
			if ok, _ := allowN(250); !ok {
				t.Fatal("250 of a full bucket of 300 refused")
			}
			if ok, wait := allowN(100); ok || wait != 500*time.Millisecond {
				t.Fatalf("100 of the 50 left: %v %v; want refused, 500ms", ok, wait)
			}
			if ok, _ := allowN(50); !ok {
				t.Fatal("the refused request took tokens: 50 of 50 refused")
			}
			if ok, _ := allowN(1); ok {
				t.Fatal("the bucket gave more than its burst")
			}
			if ok, _ := allowN(301); ok {
				t.Fatal("more than the burst allowed")
			}
			c.Advance(time.Second)
			if ok, _ := allowN(100); !ok {
				t.Fatal("100 after a second's refill refused")
			}
		})
	}
}

// TestRateLimiterOwnBucket: a key's own bucket (Take) is its rate and
// burst whatever the limiter's, other keys keep the limiter's, and on a
// shared store a node takes a chunk of the key's own rate.
func TestRateLimiterOwnBucket(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			c := testsupport.NewClock()
			l := k.limiter(t, c, 2, 3)
			own := Bucket{Rate: 100, Burst: 50}
			take := func(key string, b Bucket) bool {
				t.Helper()
				ok, _, err := l.Take(ctx, key, 1, b)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			for i := range 50 {
				if !take("bulk", own) {
					t.Fatalf("request %d of its own burst of 50 refused", i)
				}
			}
			if take("bulk", own) {
				t.Fatal("more than its own burst")
			}
			for i := range 3 {
				if !take("other", Bucket{}) {
					t.Fatalf("the other key's request %d refused", i)
				}
			}
			if take("other", Bucket{}) {
				t.Fatal("the other key got more than the limiter's burst of 3")
			}
			// A hundred a second: ten in a tenth of a second.
			c.Advance(100 * time.Millisecond)
			for i := range 10 {
				if !take("bulk", own) {
					t.Fatalf("request %d after a tenth of a second refused", i)
				}
			}
			if take("bulk", own) {
				t.Fatal("more than its own rate")
			}
		})
	}
}
