package store

import (
	"context"
	"testing"
	"time"
)

// TestLeases: one holder at a time by the store's clock; the holder
// renews and releases; a lease needs a name, a holder and a time.
func TestLeases(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	for _, bad := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "a", time.Minute}, {LeaseJobs, "", time.Minute}, {LeaseJobs, "a", 0}} {
		if _, err := s.AcquireLease(context.Background(), bad.name, bad.holder, bad.ttl); err == nil {
			t.Errorf("AcquireLease(%q, %q, %s) succeeded", bad.name, bad.holder, bad.ttl)
		}
	}
	if h, _, err := s.LeaseHolder(context.Background(), LeaseJobs); err != nil || h != "" {
		t.Fatalf("holder of a lease never taken: %q, %v", h, err)
	}
	acquire := func(holder string) bool {
		t.Helper()
		held, err := s.AcquireLease(context.Background(), LeaseJobs, holder, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return held
	}
	if !acquire("a") || acquire("b") {
		t.Fatal("a did not get the free lease, or b got a's")
	}
	clock.Advance(50 * time.Second)
	if !acquire("a") {
		t.Fatal("a could not renew")
	}
	clock.Advance(50 * time.Second)
	if acquire("b") {
		t.Fatal("b got a's renewed lease")
	}
	if h, exp, err := s.LeaseHolder(context.Background(), LeaseJobs); err != nil || h != "a" || !exp.Equal(clock.Now().UTC().Add(10*time.Second).Round(time.Microsecond)) {
		t.Fatalf("holder %q until %s, %v", h, exp, err)
	}
	if err := s.ReleaseLease(context.Background(), LeaseJobs, "a"); err != nil {
		t.Fatal(err)
	}
	if !acquire("b") {
		t.Fatal("b did not get the released lease")
	}
}
