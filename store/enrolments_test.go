package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDeleteExpiredEnrolments: a pending mailbox whose activation code
// expired goes after the grace period, audited, and its number can be
// enrolled again; one given a new code meanwhile, one within the grace
// period, and active mailboxes stay.
func TestDeleteExpiredEnrolments(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(o *Options) { o.ActivationLifetime = 10 * 24 * time.Hour })
	ctx := context.Background()
	stale, renewed, fresh := testNID(t, 2), testNID(t, 3), testNID(t, 4)
	for _, nid := range []NationalID{stale, renewed} {
		if _, _, err := f.s.EnrolResident(ctx, nid, "Pending Person"); err != nil {
			t.Fatal(err)
		}
	}
	// 10 days: the codes expire; 30 more: the grace period is over.
	f.clock.Advance(39 * 24 * time.Hour)
	if _, _, err := f.s.EnrolResident(ctx, renewed, "Pending Person"); err != nil { // a new code
		t.Fatal(err)
	}
	if _, _, err := f.s.EnrolResident(ctx, fresh, "New Person"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.DeleteExpiredEnrolments(ctx); err != nil || n != 0 {
		t.Fatalf("a day before the grace period ends: %d, %v; want 0", n, err)
	}
	f.clock.Advance(24 * time.Hour)
	if n, err := f.s.DeleteExpiredEnrolments(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredEnrolments = %d, %v; want 1", n, err)
	}
	if _, err := f.s.ResidentByNationalID(ctx, stale); !errors.Is(err, ErrNotFound) {
		t.Errorf("the expired enrolment is still there: %v", err)
	}
	for _, nid := range []NationalID{renewed, fresh, f.nid} {
		if _, err := f.s.ResidentByNationalID(ctx, nid); err != nil {
			t.Errorf("resident %s: %v", nid, err)
		}
	}
	if n := countAction(t, f.s, "delete-expired-enrolment"); n != 1 {
		t.Errorf("%d delete-expired-enrolment entries, want 1", n)
	}
	if n, err := f.s.DeleteExpiredEnrolments(ctx); err != nil || n != 0 {
		t.Errorf("again: %d, %v; want 0", n, err)
	}
	// The number is free: enrolled again, it gets a new code that works.
	_, code, err := f.s.EnrolResident(ctx, stale, "Pending Person")
	if err != nil {
		t.Fatalf("enrol the number again: %v", err)
	}
	if _, err := f.s.Activate(ctx, stale.String(), code, "a long enough password"); err != nil {
		t.Errorf("activate after enrolling again: %v", err)
	}
}
