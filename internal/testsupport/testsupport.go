// Package testsupport holds what the tests of several packages share, so
// each exists once: a clock the test moves (Clock), Argon2id parameters
// that cost almost nothing (CheapKDF), a password the store accepts
// (Password), distinct valid national identity numbers (NationalID) and a
// sender CA (NewCA).
//
// It imports crypto and nothing of the store, so the store's own
// (internal) tests may use it too; a store with these settings, for the
// tests of the packages above the store, is teststore.Open. Its
// neighbours pgtest and s3test run a real PostgreSQL server and a real
// object store for the cluster engine's tests, lazyfs a filesystem that
// loses what was not synced when the test cuts the power, and boltpage
// damages one page of a bbolt file.
package testsupport

import (
	cryptorand "crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
)

// Start is the tests' "now": 22 November 2026, 10:00 UTC, which is 11:00
// in Copenhagen, within the default SMS sending hours.
var Start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// Clock is a clock the test sets and moves by hand; pass its Now where a
// clock is taken (store.Options.Clock, httpui.Config.Clock,
// jobs.Config.Clock), and its AfterFunc where timers are
// (guard.PasswordChecks.AfterFunc). It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*clockTimer
}

// clockTimer is a function AfterFunc calls when the clock reaches at.
type clockTimer struct {
	at time.Time
	f  func()
}

// NewClock returns a clock at Start.
func NewClock() *Clock { return NewClockAt(Start) }

// NewClockAt returns a clock at t.
func NewClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set puts the clock at t, then calls the functions of the timers that
// are due (AfterFunc).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.fire()
}

// Advance moves the clock on by d, then calls the functions of the timers
// that are due (AfterFunc).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.fire()
}

// fire unlocks c.mu, which the caller holds, and calls the due timers'
// functions, soonest first, in the caller's goroutine: without the lock,
// so a function may use the clock.
func (c *Clock) fire() {
	var due []*clockTimer
	c.timers = slices.DeleteFunc(c.timers, func(ct *clockTimer) bool {
		if c.t.Before(ct.at) {
			return false
		}
		due = append(due, ct)
		return true
	})
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *clockTimer) int { return a.at.Compare(b.at) })
	for _, ct := range due {
		ct.f()
	}
}

// AfterFunc is time.AfterFunc on this clock: f is called once the clock
// has been moved (Advance, Set) to d after now or later, in the goroutine
// that moved it. stop cancels the call and reports whether it did (false:
// already called or stopped).
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ct := &clockTimer{at: c.t.Add(d), f: f}
	c.timers = append(c.timers, ct)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := len(c.timers)
		c.timers = slices.DeleteFunc(c.timers, func(x *clockTimer) bool { return x == ct })
		return len(c.timers) < n
	}
}

// Timers is how many timers (AfterFunc) wait for the clock.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// CheapKDF costs almost nothing, so tests do not spend 64 MiB and three
// passes of Argon2id per password (store.Options.KDF).
var CheapKDF = crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// Password is long enough for the store's password rule.
const Password = "correct horse battery staple"

// NationalID returns the i-th (0 ≤ i < 10000) of a series of distinct
// valid Danish CPR numbers: born on day 1–28 of January 1990 (the 7th
// digit 0 puts the year in the 1900s), serial i.
func NationalID(i int) string {
	return fmt.Sprintf("%02d0190%04d", i%28+1, i)
}

// NewCA returns a new sender CA, valid from now.
func NewCA(t testing.TB) *crypto.CA {
	t.Helper()
	ca, err := crypto.NewCA(cryptorand.Reader, "Postkasse test sender CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
