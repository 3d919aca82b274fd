package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// TestDelegationLastDayInTimeZone: a grant's last day ends at midnight in
// the appliance's time zone (Options.Location), not UTC: a grant until 22
// November lets the delegate in at 23:30 in Copenhagen (22:30 UTC) and
// not a second after midnight there (23:00 UTC); its last day reads 22
// November; a last day that has ended there is refused.
func TestDelegationLastDayInTimeZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	clock.Set(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	opts := testOptions(clock)
	opts.Location = cph
	s := openTestStore(t, opts)
	anna, bo := testNID(t, 1), testNID(t, 2)
	mustResident(t, s, anna, "Anna Andersen")
	mustResident(t, s, bo, "Bo Berg")
	mbA, mbB := mustLogin(t, s, anna, testPassword), mustLogin(t, s, bo, testPassword)
	lastDayDate := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	g, err := mbA.GrantAccess(ctx, GrantRequest{DelegateNationalID: bo.String(), Access: storage.AccessRead, Scope: storage.ScopeAll, Until: lastDayDate})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Until.Equal(lastDayDate) {
		t.Errorf("the last day reads %s", g.Until)
	}
	if err := mbB.AcceptGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Date(2026, 11, 22, 22, 30, 0, 0, time.UTC))
	mbB = mustLogin(t, s, bo, testPassword)
	if _, err := mbB.Delegated(ctx, g.ID); err != nil {
		t.Errorf("at 23:30 in Copenhagen on the last day: %v", err)
	}
	clock.Set(time.Date(2026, 11, 22, 23, 0, 1, 0, time.UTC))
	mbB = mustLogin(t, s, bo, testPassword)
	if _, err := mbB.Delegated(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after midnight in Copenhagen: %v, want ErrNotFound", err)
	}
	// 22 November has ended in Copenhagen, though not in UTC.
	mbA = mustLogin(t, s, anna, testPassword)
	if _, err := mbA.GrantAccess(ctx, GrantRequest{DelegateNationalID: bo.String(), Access: storage.AccessRead, Scope: storage.ScopeAll, Until: lastDayDate}); !errors.Is(err, ErrDelegationUntilPast) {
		t.Errorf("a last day ended in Copenhagen: %v", err)
	}
}
