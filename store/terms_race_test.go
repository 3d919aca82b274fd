package store

import (
	"context"
	"testing"
)

// TestTermsNoticeMarkerRacesDeletion: DeliverTermsNotice delivers the
// notice and writes its once-only marker in two transactions. An account
// deleted between them (the hook runs exactly there) gets no marker: a
// marker of a deleted account would outlive its deletion (CheckInvariants
// says so), and the call still succeeds.
func TestTermsNoticeMarkerRacesDeletion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	terms, err := f.s.PublishTerms(context.Background(), "§1 New terms.\n", f.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	f.s.hookNoticeDelivered = func() {
		if err := mb.DeleteMailbox(context.Background(), testPassword); err != nil {
			t.Errorf("DeleteMailbox: %v", err)
		}
	}
	if _, err := f.s.DeliverTermsNotice(context.Background(), f.sender.ID, terms.Version, f.resident.ID, testTermsWording); err != nil {
		t.Fatalf("DeliverTermsNotice: %v", err)
	}
	if n := countKeys(t, f.s)["terms-notices"]; n != 0 {
		t.Errorf("%d notice markers after the account was deleted, want 0", n)
	}
	if err := f.s.CheckInvariants(context.Background()); err != nil {
		t.Errorf("CheckInvariants: %v", err)
	}
}
