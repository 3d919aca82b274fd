package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEIDHandshakeOnce: a handshake is taken once; a malformed, unknown
// or expired token is ErrEIDExpired.
func TestEIDHandshakeOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	h := EIDHandshake{State: "s", Nonce: "n", Verifier: "v", RedirectURL: "https://x/eid/callback", Purpose: EIDSignIn}
	if _, err := f.s.BeginEIDHandshake(ctx, EIDHandshake{State: "s"}); err == nil {
		t.Error("a handshake with no nonce or verifier was kept")
	}
	token, err := f.s.BeginEIDHandshake(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.s.TakeEIDHandshake(ctx, token)
	if err != nil || got != h {
		t.Fatalf("take = %+v, %v", got, err)
	}
	if !got.EqualState("s") || got.EqualState("t") || (EIDHandshake{}).EqualState("") {
		t.Error("EqualState")
	}
	if _, err := f.s.TakeEIDHandshake(ctx, token); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("taken twice: %v", err)
	}
	for _, bad := range []string{"", "x", token + "A", "!!!!"} {
		if _, err := f.s.TakeEIDHandshake(ctx, bad); !errors.Is(err, ErrEIDExpired) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	token, err = f.s.BeginEIDHandshake(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(EIDLifetime)
	if _, err := f.s.TakeEIDHandshake(ctx, token); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("expired: %v", err)
	}
}

// TestEIDLogin: a proof and the password sign in, with no code even when
// two-step verification is on; a wrong password leaves the proof; the
// proof works once; a number with no mailbox is ErrNoMailbox. eID alone
// opens nothing: LoginWithEID needs the password.
func TestEIDLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "brev")); err != nil {
		t.Fatal(err)
	}
	token, err := f.s.ProveEID(ctx, f.nid, "Anna Andersen", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.s.EIDProofOf(ctx, token)
	if err != nil || p.NationalID != f.nid || p.Status != ResidentActive || p.Purpose != EIDSignIn {
		t.Fatalf("proof = %+v, %v", p, err)
	}
	if _, err := f.s.LoginWithEID(ctx, token, "wrong password, long enough"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := f.s.LoginWithEID(ctx, token, ""); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("no password: %v", err)
	}
	sess, err := f.s.LoginWithEID(ctx, token, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	letters, err := mb.Inbox(ctx)
	mb.Close()
	if err != nil || len(letters) != 1 {
		t.Fatalf("inbox = %d, %v", len(letters), err)
	}
	if _, err := f.s.LoginWithEID(ctx, token, testPassword); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("the proof used twice: %v", err)
	}
	// A proof for a reset does not sign in.
	reset, err := f.s.ProveEID(ctx, f.nid, "", EIDReset)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.LoginWithEID(ctx, reset, testPassword); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("a reset's proof signed in: %v", err)
	}
	// No mailbox.
	other := testNID(t, 2)
	token, err = f.s.ProveEID(ctx, other, "Bo Berg", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.LoginWithEID(ctx, token, testPassword); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("no mailbox: %v", err)
	}
	// Expired.
	token, err = f.s.ProveEID(ctx, f.nid, "Anna Andersen", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(EIDLifetime + time.Second)
	if _, err := f.s.LoginWithEID(ctx, token, testPassword); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("expired proof: %v", err)
	}
	if a := auditActions(t, f.s); !slices.Contains(a, "login-eid") {
		t.Errorf("audit %v has no login-eid", a)
	}
}

// TestEIDActivate: a resident with no record, or a pending one, makes the
// mailbox with eID and a password; the recovery key opens it; an active
// mailbox is ErrExists; a weak password is refused and stores nothing.
func TestEIDActivate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	fresh := testNID(t, 2)
	token, err := f.s.ProveEID(ctx, fresh, "Bo  Berg", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := f.s.EIDProofOf(ctx, token); err != nil || p.Status != "" || p.Name != "Bo Berg" {
		t.Fatalf("proof = %+v, %v", p, err)
	}
	var ie *InvalidError
	if _, err := f.s.ActivateWithEID(ctx, token, "short"); !errors.As(err, &ie) {
		t.Fatalf("short password: %v", err)
	}
	if _, err := f.s.ResidentByNationalID(ctx, fresh); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused activation stored a resident: %v", err)
	}
	sess, err := f.s.ActivateWithEID(ctx, token, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if sess.NewRecoveryKey == nil {
		t.Fatal("no recovery key")
	}
	res, err := f.s.ResidentByNationalID(ctx, fresh)
	if err != nil || res.Status != ResidentActive || res.Name != "Bo Berg" || res.ID != sess.ResidentID {
		t.Fatalf("resident = %+v, %v", res, err)
	}
	mb, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	mb.Close()
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(fresh, "brev")); err != nil {
		t.Fatalf("a mailbox made with eID takes no post: %v", err)
	}
	mustLogin(t, f.s, fresh, testPassword).Close()
	if _, err := f.s.Recover(ctx, fresh.String(), *sess.NewRecoveryKey, "another long passphrase"); err != nil {
		t.Errorf("the recovery key: %v", err)
	}
	if _, err := f.s.ActivateWithEID(ctx, token, testPassword); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("proof used twice: %v", err)
	}
	// An active mailbox is not made again.
	token, err = f.s.ProveEID(ctx, f.nid, "Anna Andersen", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ActivateWithEID(ctx, token, testPassword); !errors.Is(err, ErrExists) {
		t.Errorf("an active mailbox made again: %v", err)
	}
	// A pending one is activated, and its code stops working.
	pending := testNID(t, 3)
	enrolled, code, err := f.s.EnrolResident(ctx, pending, "Cai Carlsen")
	if err != nil {
		t.Fatal(err)
	}
	token, err = f.s.ProveEID(ctx, pending, "Cai Carlsen", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	sess, err = f.s.ActivateWithEID(ctx, token, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if sess.ResidentID != enrolled.ID {
		t.Errorf("a new record for an enrolled resident")
	}
	if _, err := f.s.Activate(ctx, pending.String(), code, testPassword); !errors.Is(err, ErrBadActivation) {
		t.Errorf("the activation code after eID: %v", err)
	}
	if a := auditActions(t, f.s); !slices.Contains(a, "activate-eid") {
		t.Errorf("audit %v has no activate-eid", a)
	}
}

// TestEIDReset: a reset makes a new key pair; every letter is deleted,
// the old password and recovery key no longer work, two-step
// verification is off, other sessions end; new mail reaches the new key.
func TestEIDReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// The passkey wraps the old key pair: it goes with it.
	old, other, omb := beforeReset(t, f)
	omb.Close()
	token, err := f.s.ProveEID(ctx, f.nid, "Anna Andersen", EIDReset)
	if err != nil {
		t.Fatal(err)
	}
	const next = "a brand new passphrase"
	sess, err := f.s.ResetWithEID(ctx, token, next)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.OpenSession(ctx, other.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another session after the reset: %v", err)
	}
	if _, err := f.s.Login(ctx, f.nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the old password: %v", err)
	}
	if rec := residentRaw(t, f.s, sess.ResidentID); rec.Passkeys != nil || rec.TOTP != nil {
		t.Errorf("two-step verification of the old key pair kept: %d passkeys, TOTP %v", len(rec.Passkeys), rec.TOTP != nil)
	}
	mb, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if letters, err := mb.Inbox(ctx); err != nil || len(letters) != 0 {
		t.Errorf("inbox after reset = %d letters, %v", len(letters), err)
	}
	if _, err := mb.Letter(ctx, old.Letter.ID); err == nil {
		t.Error("the old letter opens after the reset")
	}
	if rec := rawLetter(t, f.s, old.Letter.ID); rec.Deleted.IsZero() || len(rec.SealedKey) > 0 {
		t.Errorf("the old letter is kept: deleted %v, %d bytes of its key's wrapping", rec.Deleted, len(rec.SealedKey))
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, old.Letter.ID); err != nil || st.Status != "deleted" {
		t.Errorf("the sender's status of the old letter = %+v, %v", st, err)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e Event) bool { return e.Type == EventDeleted && e.LetterID == old.Letter.ID }) {
		t.Errorf("the sender got no deleted event: %+v", evs)
	}
	fresh, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "nyt brev"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Letter(ctx, fresh.Letter.ID); err != nil {
		t.Errorf("a letter after the reset: %v", err)
	}
	if _, err := f.s.Recover(ctx, f.nid.String(), *sess.NewRecoveryKey, "yet another passphrase"); err != nil {
		t.Errorf("the new recovery key: %v", err)
	}
	if _, err := f.s.ResetWithEID(ctx, token, next); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("reset twice with one proof: %v", err)
	}
	// A sign-in's proof does not reset.
	token, err = f.s.ProveEID(ctx, f.nid, "", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ResetWithEID(ctx, token, next); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("a sign-in's proof reset the mailbox: %v", err)
	}
	// No mailbox to reset.
	token, err = f.s.ProveEID(ctx, testNID(t, 2), "", EIDReset)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ResetWithEID(ctx, token, next); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("reset of no mailbox: %v", err)
	}
	found := false
	for _, a := range auditActions(t, f.s) {
		found = found || a == "reset-eid (1 letters deleted)"
	}
	if !found {
		t.Errorf("audit %v has no reset-eid", auditActions(t, f.s))
	}
}

// FuzzEIDToken: a cookie's token that the store did not issue names no
// handshake and no proof, whatever its bytes, and never panics.
func FuzzEIDToken(f *testing.F) {
	s := openTestStore(f, testOptions(newFakeClock()))
	ctx := context.Background()
	issued, err := s.BeginEIDHandshake(ctx, EIDHandshake{State: "s", Nonce: "n", Verifier: "v"})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", "x", issued[:len(issued)-1] + "A", issued + "=", "%00", strings.Repeat("A", 43), strings.Repeat("A", 5000)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if token == issued {
			return
		}
		if _, err := s.TakeEIDHandshake(ctx, token); !errors.Is(err, ErrEIDExpired) {
			t.Errorf("handshake %q: %v", token, err)
		}
		if _, err := s.EIDProofOf(ctx, token); !errors.Is(err, ErrEIDExpired) {
			t.Errorf("proof %q: %v", token, err)
		}
		if _, err := s.LoginWithEID(ctx, token, testPassword); !errors.Is(err, ErrEIDExpired) {
			t.Errorf("login %q: %v", token, err)
		}
	})
}
