package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// delegationFixture: Anna (the grantor) with a letter from a public
// authority and one from a private business, and Bo (a delegate to be).
type delegationFixture struct {
	*fixture
	bank            Sender
	bo              Resident
	boNID           NationalID
	public, private string // Anna's letters
	anna, boMailbox *Mailbox
	ctx             context.Context
}

func newDelegationFixture(t *testing.T) *delegationFixture {
	t.Helper()
	return newDelegationFixtureOf(t, newFixture(t))
}

// newDelegationFixtureOf is newDelegationFixture on the store of f.
func newDelegationFixtureOf(t *testing.T, f *fixture) *delegationFixture {
	t.Helper()
	df := &delegationFixture{fixture: f, ctx: context.Background()}
	df.bank = mustSender(t, f.s, "Fjordkraft AS", "976944801", SenderPrivate)
	df.boNID = testNID(t, 2)
	df.bo = mustResident(t, f.s, df.boNID, "Bo Berg")
	df.public = df.deliver(t, f.sender, "public-1")
	df.private = df.deliver(t, df.bank, "private-1")
	df.anna = mustLogin(t, f.s, f.nid, testPassword)
	df.boMailbox = mustLogin(t, f.s, df.boNID, testPassword)
	return df
}

func (df *delegationFixture) deliver(t *testing.T, from Sender, ref string) string {
	t.Helper()
	r, err := df.s.Deliver(df.ctx, from.ID, testDelivery(df.nid, ref))
	if err != nil {
		t.Fatalf("Deliver %s: %v", ref, err)
	}
	return r.Letter.ID
}

// grant gives Bo a grant from Anna and has Bo accept it.
func (df *delegationFixture) grant(t *testing.T, access storage.DelegationAccess, scope storage.DelegationScope, until time.Time) Grant {
	t.Helper()
	g, err := df.anna.GrantAccess(df.ctx, GrantRequest{DelegateNationalID: df.boNID.String(), Access: access, Scope: scope, Until: until})
	if err != nil {
		t.Fatalf("GrantAccess: %v", err)
	}
	if err := df.boMailbox.AcceptGrant(df.ctx, g.ID); err != nil {
		t.Fatalf("AcceptGrant: %v", err)
	}
	return g
}

// ids returns the ids of letters, in order.
func letterIDs(ls []LetterSummary) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

// wrappingsTo returns the letters that hold a wrapping to the delegate.
func wrappingsTo(t *testing.T, s *Store, delegateID string) []string {
	t.Helper()
	var out []string
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		return tx.Letters().All(func(l *storage.Letter) error {
			if slices.ContainsFunc(l.DelegateKeys, func(k storage.DelegateKey) bool { return k.DelegateID == delegateID }) {
				out = append(out, l.ID)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDelegationPublicReadGrant: a read grant of public post lets the
// delegate, once accepted, list and open the public letters only (those
// from before the grant and those delivered after), never the private
// ones, and no act; the grantor's ending it takes every wrapping away at
// once, and no wrapping is left anywhere in the file.
func TestDelegationPublicReadGrant(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	g, err := df.anna.GrantAccess(ctx, GrantRequest{DelegateNationalID: df.boNID.String(), Access: storage.AccessRead, Scope: storage.ScopePublic})
	if err != nil {
		t.Fatal(err)
	}
	if g.Active || g.DelegateName != "Bo Berg" || g.Covered.IsZero() {
		t.Errorf("new grant = %+v, want pending, to Bo, covered", g)
	}
	// Pending: the delegate sees it, and cannot open the mailbox yet.
	_, received, err := df.boMailbox.Grants(ctx)
	if err != nil || len(received) != 1 || received[0].ID != g.ID || received[0].GrantorName != "Anna Andersen" {
		t.Fatalf("Bo's received grants = %+v, %v", received, err)
	}
	if _, err := df.boMailbox.Delegated(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delegated before accepting: %v, want ErrNotFound", err)
	}
	// Another resident cannot accept it.
	carl := testNID(t, 3)
	mustResident(t, df.s, carl, "Carl Carlsen")
	carlMB := mustLogin(t, df.s, carl, testPassword)
	if err := carlMB.AcceptGrant(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident's accept: %v, want ErrNotFound", err)
	}
	if _, err := carlMB.Delegated(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident's Delegated: %v, want ErrNotFound", err)
	}
	if err := df.boMailbox.AcceptGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	later := df.deliver(t, df.sender, "public-2")
	laterPrivate := df.deliver(t, df.bank, "private-2")
	list, err := dm.Letters(ctx)
	if got, want := slices.Sorted(slices.Values(letterIDs(list))), slices.Sorted(slices.Values([]string{later, df.public})); err != nil || !slices.Equal(got, want) {
		t.Fatalf("delegate's list = %v, %v; want %v", got, err, want)
	}
	for _, id := range []string{df.public, later} {
		l, err := dm.Letter(ctx, id)
		if err != nil || l.Subject != "Afgørelse om boligstøtte" {
			t.Errorf("delegate opens %s: %+v, %v", id, l.Subject, err)
		}
		doc, err := dm.Document(ctx, id, 0)
		if err != nil || string(doc.Content) != string(pdfContent) {
			t.Errorf("delegate's document of %s: %v", id, err)
		}
	}
	for _, id := range []string{df.private, laterPrivate} {
		if _, err := dm.Letter(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("delegate opens private %s: %v, want ErrNotFound", id, err)
		}
		if _, err := dm.Document(ctx, id, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("delegate's document of private %s: %v, want ErrNotFound", id, err)
		}
	}
	// The delegate's reading marks nothing read for the grantor.
	if l, err := df.anna.Letter(ctx, later); err != nil {
		t.Fatal(err)
	} else if !l.ReadAt.IsZero() && l.ReadAt.Before(df.clock.Now().Add(-time.Second)) {
		t.Errorf("ReadAt %v", l.ReadAt)
	}
	// A read grant: no act, nothing changed.
	before := digest(t, df.s)
	if err := dm.MarkRead(ctx, []string{df.public}, true); !errors.Is(err, ErrDelegationReadOnly) {
		t.Errorf("MarkRead on a read grant: %v, want ErrDelegationReadOnly", err)
	}
	if err := dm.Move(ctx, []string{df.public}, FolderArchive); !errors.Is(err, ErrDelegationReadOnly) {
		t.Errorf("Move on a read grant: %v, want ErrDelegationReadOnly", err)
	}
	if digest(t, df.s) != before {
		t.Error("a refused act stored something")
	}
	// The grantor sees what the delegate did.
	act, err := df.anna.DelegateActivity(ctx)
	if err != nil || len(act) != 2 || act[0].Action != "delegate-read" || act[0].Actor != "resident:"+df.bo.ID {
		t.Errorf("DelegateActivity = %+v, %v", act, err)
	}
	if got := wrappingsTo(t, df.s, df.bo.ID); len(got) != 2 {
		t.Errorf("wrappings to Bo = %v, want the two public letters", got)
	}
	// Revoked: nothing opens, no wrapping is left.
	if err := df.anna.EndGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Letter(ctx, df.public); !errors.Is(err, ErrNotFound) {
		t.Errorf("after revoking: %v, want ErrNotFound", err)
	}
	if _, err := dm.Letters(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("list after revoking: %v, want ErrNotFound", err)
	}
	if got := wrappingsTo(t, df.s, df.bo.ID); len(got) != 0 {
		t.Errorf("wrappings to Bo after revoking = %v", got)
	}
	// A letter delivered after the end is sealed to Anna alone.
	df.deliver(t, df.sender, "public-3")
	if got := wrappingsTo(t, df.s, df.bo.ID); len(got) != 0 {
		t.Errorf("wrappings to Bo after a delivery past the end = %v", got)
	}
}

// TestDelegationRevokeCanary: after a grant is ended, no byte of any
// wrapping it made is in the database of the engine of the pass: any
// bucket of the embedded file, any row of the cluster's tables.
func TestDelegationRevokeCanary(t *testing.T) {
	t.Parallel()
	delegationRevokeCanary(t, newDelegationFixture(t))
}

// TestDelegationRevokeCanaryFile is TestDelegationRevokeCanary in the
// embedded engine's file in both passes.
func TestDelegationRevokeCanaryFile(t *testing.T) {
	t.Parallel()
	delegationRevokeCanary(t, newDelegationFixtureOf(t, newEmbeddedFixture(t)))
}

func delegationRevokeCanary(t *testing.T, df *delegationFixture) {
	t.Helper()
	g := df.grant(t, storage.AccessAct, storage.ScopeAll, time.Time{})
	df.deliver(t, df.bank, "private-2")
	traces := map[string][]byte{}
	if err := df.s.view(df.ctx, func(tx storage.Tx) error {
		return tx.Letters().All(func(l *storage.Letter) error {
			for _, k := range l.DelegateKeys {
				traces["wrapping of "+l.ID] = k.SealedKey[len(k.SealedKey)-48:]
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if len(traces) != 3 {
		t.Fatalf("%d wrappings before revoking, want 3", len(traces))
	}
	inRows := map[string]string{}
	for what, tr := range traces {
		inRows[what] = string(tr)
	}
	if !onEmbedded(df.s) {
		if found := clusterRowsHolding(t, df.s, inRows); len(found) < len(traces) {
			t.Fatalf("before revoking, the wrappings are found as %q: the test looks in the wrong place", found)
		}
	}
	if err := df.boMailbox.EndGrant(df.ctx, g.ID); err != nil { // the delegate ends it
		t.Fatal(err)
	}
	if !onEmbedded(df.s) {
		if found := clusterRowsHolding(t, df.s, inRows); len(found) != 0 {
			t.Errorf("wrappings left after revoking: %v", found)
		}
		return
	}
	if found := findTraces(t, df.s, "no-letter-id-is-this-0000000000", traces); len(found) != 0 {
		t.Errorf("wrappings left after revoking: %v", found)
	}
}

// TestDelegationActGrant: an act grant lets the delegate mark read and
// move within the inbox and archive, audited for the grantor; an own
// folder is refused.
func TestDelegationActGrant(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	g := df.grant(t, storage.AccessAct, storage.ScopeAll, time.Time{})
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := dm.Letters(ctx); err != nil || len(list) != 2 {
		t.Fatalf("list of an all grant = %v, %v", letterIDs(list), err)
	}
	if err := dm.MarkRead(ctx, []string{df.private}, true); err != nil {
		t.Fatal(err)
	}
	if err := dm.Move(ctx, []string{df.private}, FolderArchive); err != nil {
		t.Fatal(err)
	}
	if err := dm.Move(ctx, []string{df.private}, "0123456789abcdef0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Move to an own folder: %v, want ErrNotFound", err)
	}
	rec := rawLetter(t, df.s, df.private)
	if rec.Folder != FolderArchive || rec.ReadMark == nil || !*rec.ReadMark {
		t.Errorf("after the acts: folder %q, mark %v", rec.Folder, rec.ReadMark)
	}
	actions := delegateActions(t, df.anna)
	if !slices.Equal(actions, []string{"delegate-mark-read", "delegate-move"}) {
		t.Errorf("DelegateActivity = %v", actions)
	}
	// Bo's own activity view shows nothing of Anna's mailbox.
	if act, _ := df.boMailbox.DelegateActivity(ctx); len(act) != 0 {
		t.Errorf("Bo's DelegateActivity = %+v", act)
	}
	// A guardianship cannot be ended by a resident; a plain grant by the
	// delegate can.
	if err := df.boMailbox.EndGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
}

// TestDelegationBadInput: a grant to oneself, to a number with no open
// mailbox (unknown, pending, deleted), with a last day before today, an
// unknown access or scope, or a second grant to the same delegate, is
// refused with its error and stores nothing.
func TestDelegationBadInput(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	pending := testNID(t, 4)
	if _, _, err := df.s.EnrolResident(ctx, pending, "Pia Pending"); err != nil {
		t.Fatal(err)
	}
	dead := testNID(t, 5)
	mustResident(t, df.s, dead, "Dora Død")
	if err := mustLogin(t, df.s, dead, testPassword).DeleteMailbox(ctx, testPassword); err != nil {
		t.Fatal(err)
	}
	yesterday := df.clock.Now().AddDate(0, 0, -1)
	ok := GrantRequest{DelegateNationalID: df.boNID.String(), Access: storage.AccessRead, Scope: storage.ScopeAll}
	if _, err := df.anna.GrantAccess(ctx, ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(r *GrantRequest)
		want error
	}{
		{"oneself", func(r *GrantRequest) { r.DelegateNationalID = df.nid.String() }, ErrDelegateSelf},
		{"an unknown number", func(r *GrantRequest) { r.DelegateNationalID = testNID(t, 9).String() }, ErrDelegateUnknown},
		{"no number", func(r *GrantRequest) { r.DelegateNationalID = "12345" }, ErrDelegateUnknown},
		{"a pending mailbox", func(r *GrantRequest) { r.DelegateNationalID = pending.String() }, ErrDelegateUnknown},
		{"a deleted mailbox", func(r *GrantRequest) { r.DelegateNationalID = dead.String() }, ErrDelegateUnknown},
		{"yesterday", func(r *GrantRequest) { r.Until = yesterday }, ErrDelegationUntilPast},
		{"an unknown access", func(r *GrantRequest) { r.Access = "write" }, ErrDelegationInvalid},
		{"an unknown scope", func(r *GrantRequest) { r.Scope = "private" }, ErrDelegationInvalid},
		{"a second grant", func(r *GrantRequest) {}, ErrDelegationExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := digest(t, df.s)
			r := ok
			tc.edit(&r)
			if _, err := df.anna.GrantAccess(ctx, r); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if digest(t, df.s) != before {
				t.Error("a refused grant stored something")
			}
		})
	}
}

// TestDelegationExpiry: a grant until today opens letters today; from
// tomorrow it opens nothing at once, before the sweep, which then
// deletes it and its wrappings.
func TestDelegationExpiry(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	g := df.grant(t, storage.AccessRead, storage.ScopeAll, df.clock.Now())
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Letter(ctx, df.public); err != nil {
		t.Fatalf("today: %v", err)
	}
	y, m, d := df.clock.Now().Date()
	df.clock.Set(time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC))
	if _, err := dm.Letter(ctx, df.public); !errors.Is(err, ErrNotFound) {
		t.Errorf("tomorrow: %v, want ErrNotFound", err)
	}
	if _, err := df.boMailbox.Delegated(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delegated tomorrow: %v, want ErrNotFound", err)
	}
	n, err := df.s.EndExpiredDelegations(ctx)
	if err != nil || n != 1 {
		t.Fatalf("EndExpiredDelegations = %d, %v", n, err)
	}
	if got := wrappingsTo(t, df.s, df.bo.ID); len(got) != 0 {
		t.Errorf("wrappings after expiry = %v", got)
	}
	given, _, _ := df.anna.Grants(ctx)
	if len(given) != 0 {
		t.Errorf("grants after expiry = %+v", given)
	}
}

// TestDelegationDeletedLetter: deleting a covered letter deletes its
// wrappings to delegates with it.
func TestDelegationDeletedLetter(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	g := df.grant(t, storage.AccessRead, storage.ScopeAll, time.Time{})
	if err := df.anna.DeleteLetters(df.ctx, []string{df.public}); err != nil {
		t.Fatal(err)
	}
	if got := wrappingsTo(t, df.s, df.bo.ID); !slices.Equal(got, []string{df.private}) {
		t.Errorf("wrappings after deleting a letter = %v", got)
	}
	dm, err := df.boMailbox.Delegated(df.ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Letter(df.ctx, df.public); !errors.Is(err, ErrNotFound) {
		t.Errorf("a deleted letter: %v", err)
	}
}

// TestGuardianship: a guardianship the operator records lets the
// guardian read new letters at once, the earlier ones only once the
// ward has signed in again; a resident cannot end it, the operator can.
func TestGuardianship(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	if _, err := df.s.AddGuardianship(ctx, df.nid, df.nid, time.Time{}, "x"); !errors.Is(err, ErrDelegateSelf) {
		t.Errorf("a guardian of oneself: %v", err)
	}
	g, err := df.s.AddGuardianship(ctx, df.nid, df.boNID, time.Time{}, "Familieretshuset 2026-1234")
	if err != nil {
		t.Fatal(err)
	}
	if !g.Active || !g.Covered.IsZero() || g.Access != storage.AccessAct {
		t.Errorf("guardianship = %+v", g)
	}
	newer := df.deliver(t, df.bank, "private-2")
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := dm.Letters(ctx)
	if err != nil || !slices.Equal(letterIDs(list), []string{newer}) {
		t.Fatalf("before the ward signs in: %v, %v; want the new letter only", letterIDs(list), err)
	}
	if _, err := dm.Letter(ctx, df.public); !errors.Is(err, ErrNotFound) {
		t.Errorf("an earlier letter before the ward signs in: %v", err)
	}
	mustLogin(t, df.s, df.nid, testPassword) // the ward signs in
	list, err = dm.Letters(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("after the ward signed in: %v, %v; want all three", letterIDs(list), err)
	}
	if err := df.anna.EndGrant(ctx, g.ID); !errors.Is(err, ErrGuardianship) {
		t.Errorf("the ward ends a guardianship: %v", err)
	}
	if err := df.s.RemoveGuardianship(ctx, df.nid, df.boNID); err != nil {
		t.Fatal(err)
	}
	if got := wrappingsTo(t, df.s, df.bo.ID); len(got) != 0 {
		t.Errorf("wrappings after the guardianship ended = %v", got)
	}
	if err := df.s.RemoveGuardianship(ctx, df.nid, df.boNID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it twice: %v", err)
	}
}

// TestDelegationScheduledLetter: a letter scheduled before a grant is
// sealed to the delegate at the grant, so it is readable once released;
// ending the grant takes the copy off the scheduled letter too.
func TestDelegationScheduledLetter(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	d := testDelivery(df.nid, "scheduled-1")
	d.NotBefore = df.clock.Now().Add(2 * time.Hour)
	r, err := df.s.Deliver(ctx, df.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	g := df.grant(t, storage.AccessRead, storage.ScopePublic, time.Time{})
	if got := wrappingsTo(t, df.s, df.bo.ID); !slices.Contains(got, r.Letter.ID) {
		t.Fatalf("the scheduled letter has no copy for the delegate: %v", got)
	}
	df.clock.Advance(3 * time.Hour)
	if _, err := df.s.ReleaseScheduled(ctx); err != nil {
		t.Fatal(err)
	}
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Letter(ctx, r.Letter.ID); err != nil {
		t.Errorf("the released letter: %v", err)
	}
	if err := df.anna.EndGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := wrappingsTo(t, df.s, df.bo.ID); len(got) != 0 {
		t.Errorf("copies left: %v", got)
	}
}

// TestDelegationGrantDuringDelivery: a letter committed without a copy
// for a grant made while it was being sealed (settleWrappings, as the
// commit runs it) marks the grant not covered, and the grantor's next
// request seals the letter to the delegate; a copy for a grant ended
// meanwhile is dropped at the commit.
func TestDelegationGrantDuringDelivery(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	g := df.grant(t, storage.AccessRead, storage.ScopeAll, time.Time{})
	// The letter as a delivery sealed before the grant would commit it.
	if err := df.s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(df.public)
		if err != nil {
			return err
		}
		rec.DelegateKeys = nil
		if err := settleWrappings(tx, rec, SenderPublic, df.clock.Now()); err != nil {
			return err
		}
		return tx.Letters().Put(rec)
	}); err != nil {
		t.Fatal(err)
	}
	given, _, err := df.anna.Grants(ctx)
	if err != nil || len(given) != 1 || !given[0].Covered.IsZero() {
		t.Fatalf("the grant after a letter without its copy: %+v, %v", given, err)
	}
	mustLogin(t, df.s, df.nid, testPassword) // the grantor's next request
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Letter(ctx, df.public); err != nil {
		t.Errorf("the letter after the grantor's next request: %v", err)
	}
	given, _, _ = df.anna.Grants(ctx)
	if given[0].Covered.IsZero() {
		t.Error("the grant is still not covered")
	}
	// A copy for a grant that ended is dropped at the commit.
	if err := df.s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(df.private)
		if err != nil {
			return err
		}
		rec.DelegateKeys = append(rec.DelegateKeys, storage.DelegateKey{DelegationID: "00000000000000000000000000000000", DelegateID: df.bo.ID, SealedKey: rec.SealedKey})
		if err := settleWrappings(tx, rec, SenderPrivate, df.clock.Now()); err != nil {
			return err
		}
		if len(rec.DelegateKeys) != 1 || rec.DelegateKeys[0].DelegationID != g.ID {
			t.Errorf("after settling: %+v", rec.DelegateKeys)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDelegationEndsAtDeath: recording the grantor's or the delegate's
// death ends their grants and deletes the copies.
func TestDelegationEndsAtDeath(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	g := df.grant(t, storage.AccessRead, storage.ScopeAll, time.Time{})
	if _, err := df.s.RecordDeath(df.ctx, df.boNID, df.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := wrappingsTo(t, df.s, df.bo.ID); len(got) != 0 {
		t.Errorf("copies after the delegate's death: %v", got)
	}
	if given, _, _ := df.anna.Grants(df.ctx); len(given) != 0 {
		t.Errorf("grants after the delegate's death: %+v (%s)", given, g.ID)
	}
}

// delegateActions returns the actions of mb's DelegateActivity, in order.
func delegateActions(t *testing.T, mb *Mailbox) []string {
	t.Helper()
	act, err := mb.DelegateActivity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range act {
		actions = append(actions, e.Action)
	}
	return actions
}
