package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// Where the day's features meet: scheduled letters, resets with eID,
// holds, blocks and revocations.

// TestResetWithEIDTakesScheduledLetters: a letter scheduled before a
// reset with eID is sealed to the old key pair; released later it would
// open for no one. The reset deletes it like the letters already there,
// and the sender's status says so.
func TestResetWithEIDTakesScheduledLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	at := f.clock.Now().Add(90 * time.Minute).Truncate(time.Minute)
	res, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "plan", at))
	if err != nil {
		t.Fatal(err)
	}
	token, err := f.s.ProveEID(ctx, f.nid, "Anna Andersen", EIDReset)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ResetWithEID(ctx, token, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 0 {
		t.Fatalf("released %d after the reset, %v; want none", n, err)
	}
	mb := mustLogin(t, f.s, f.nid, "a brand new passphrase")
	defer mb.Close()
	if inbox, err := mb.Inbox(ctx); err != nil || len(inbox) != 0 {
		t.Errorf("inbox after the reset and the release time: %d letters, %v", len(inbox), err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, res.Letter.ID); err != nil || st.Status != "deleted" {
		t.Errorf("the sender's status of the scheduled letter = %+v, %v; want deleted", st, err)
	}
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Error(err)
	}
}

// TestResetWithEIDKeepsHeldLetterInInbox: a held letter stays through a
// reset, but the resident's own folders go; the letter is kept in the
// inbox, not in a folder that no longer exists.
func TestResetWithEIDKeepsHeldLetterInInbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "brev"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	fo, err := mb.CreateFolder(ctx, "Skat")
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(ctx, []string{res.Letter.ID}, fo.ID); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	if _, err := f.s.MakeInaccessible(ctx, res.Letter.ID, "court order", "order 1"); err != nil {
		t.Fatal(err)
	}
	token, err := f.s.ProveEID(ctx, f.nid, "Anna Andersen", EIDReset)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ResetWithEID(ctx, token, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Errorf("invariants after the reset: %v", err)
	}
	if rec := rawLetter(t, f.s, res.Letter.ID); rec.Hold == nil || rec.Folder != FolderInbox {
		t.Errorf("the held letter after the reset: hold %v, folder %q; want held, in the inbox", rec.Hold != nil, rec.Folder)
	}
}

// TestReleaseRefusesBlockedAndRevoked: a letter scheduled before its
// resident's block of the sender took effect, or before the sender was
// revoked, is not released: the release refuses it as a delivery then
// would be refused, and deletes it.
func TestReleaseRefusesBlockedAndRevoked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	priv := mustSender(t, f.s, "Fjordkraft AS", "31572290", SenderPrivate)
	if _, err := f.s.Deliver(ctx, priv.ID, testDelivery(f.nid, "first")); err != nil {
		t.Fatal(err)
	}
	blockedLetter, err := f.s.Deliver(ctx, priv.ID, scheduledDelivery(f.nid, "later", f.clock.Now().Add(30*24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	revokedLetter, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "plan", f.clock.Now().Add(90*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := f.s.Deliver(ctx, priv.ID, scheduledDelivery(f.nid, "soon", f.clock.Now().Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := mb.BlockSender(ctx, priv.ID); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	if err := f.s.RevokeSender(ctx, f.sender.ID); err != nil {
		t.Fatal(err)
	}
	// Before the block takes effect the private sender's letter is
	// released; the revoked sender's is not.
	f.clock.Advance(3 * time.Hour)
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 1 {
		t.Fatalf("released %d, %v; want the one due before the block", n, err)
	}
	if rec := rawLetter(t, f.s, kept.Letter.ID); !rec.InMailbox() {
		t.Error("the letter due before the block took effect was not released")
	}
	f.clock.Advance(31 * 24 * time.Hour)
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 0 {
		t.Fatalf("released %d after the block took effect, %v; want none", n, err)
	}
	for _, id := range []string{blockedLetter.Letter.ID, revokedLetter.Letter.ID} {
		err := f.s.view(ctx, func(tx storage.Tx) error {
			_, err := tx.Letters().Get(id)
			return err
		})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("letter %s: %v; want it deleted", id, err)
		}
	}
	log, err := f.s.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "not-released (sender blocked)") || !slices.Contains(actions, "not-released (sender revoked)") {
		t.Errorf("audit log %q: want both refusals", actions)
	}
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Error(err)
	}
}

// TestHoldOnScheduledLetter: the sender hears nothing of a letter it has
// not delivered yet, and cannot withdraw one an authority holds.
func TestHoldOnScheduledLetter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "plan", f.clock.Now().Add(90*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.MakeInaccessible(ctx, res.Letter.ID, "court order", "order 1"); err != nil {
		t.Fatal(err)
	}
	if evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100); err != nil || len(evs) != 0 {
		t.Errorf("events of a held letter not yet released: %+v, %v", evs, err)
	}
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, res.Letter.ID); err == nil {
		t.Error("a held letter was withdrawn")
	}
	if rec := rawLetter(t, f.s, res.Letter.ID); rec.Hold == nil || len(rec.SealedKey) == 0 {
		t.Error("the held letter is gone")
	}
}
