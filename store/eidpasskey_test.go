package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/internal/testsupport/webauthntest"
)

// eidPasskeyResponses begins the registration of a mailbox's passkey for
// the proof token and answers it as a browser does.
func eidPasskeyResponses(t testing.TB, s *Store, token string, a *webauthntest.Authenticator) (state, creation, unlock string) {
	t.Helper()
	cer, err := s.BeginEIDPasskey(context.Background(), testRP, token)
	if err != nil {
		t.Fatalf("BeginEIDPasskey: %v", err)
	}
	creation, c, err := a.Create(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if a.PRF && !a.PRFAtCreate {
		if unlock, err = a.Assert(c, cer.Unlock); err != nil {
			t.Fatal(err)
		}
	}
	return cer.State, creation, unlock
}

// TestEIDActivatePasskey: with eID and a passkey that has the PRF (its
// output at the creation or from the assertion after it), a resident
// makes a mailbox unlocked by the passkey alone: no password opens it,
// the passkey signs in and reads the letters, the recovery key works;
// a pending mailbox is activated the same way. A passkey without the PRF
// makes nothing and leaves the proof for the password; a used proof or
// ceremony makes nothing more.
func TestEIDActivatePasskey(t *testing.T) {
	t.Parallel()
	for _, atCreate := range []bool{true, false} {
		t.Run(map[bool]string{true: "PRF at creation", false: "PRF by assertion"}[atCreate], func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			nid := testNID(t, 2)
			token, err := f.s.ProveEID(ctx, nid, "Bo Berg", EIDSignIn)
			if err != nil {
				t.Fatal(err)
			}
			// Without the PRF: refused, nothing made, the proof left.
			before := digest(t, f.s)
			st, creation, unlock := eidPasskeyResponses(t, f.s, token, newTestAuthenticator(false, false))
			if _, err := f.s.ActivateWithEIDPasskey(ctx, testRP, token, st, "Telefon", creation, unlock); !errors.Is(err, ErrPasskeyNoUnlock) {
				t.Fatalf("a passkey without the PRF: %v", err)
			}
			if digest(t, f.s) != before {
				t.Error("a passkey without the PRF changed the database")
			}
			a := newTestAuthenticator(true, atCreate)
			st, creation, unlock = eidPasskeyResponses(t, f.s, token, a)
			if _, err := f.s.ActivateWithEIDPasskey(ctx, testRP, token, st, "   ", creation, unlock); err == nil {
				t.Fatal("a passkey with no name made a mailbox")
			}
			sess, err := f.s.ActivateWithEIDPasskey(ctx, testRP, token, st, "Telefon", creation, unlock)
			if err != nil {
				t.Fatal(err)
			}
			if sess.NewRecoveryKey == nil {
				t.Fatal("no recovery key to show")
			}
			rec := residentRaw(t, f.s, sess.ResidentID)
			if rec.Status != ResidentActive || rec.PasswordWrap != nil || len(rec.Passkeys) != 1 || rec.Passkeys[0].PRFWrap == nil || rec.Name != "Bo Berg" {
				t.Fatalf("record %+v", rec)
			}
			if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(nid, "til-bo")); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.Login(ctx, nid.String(), testPassword); err != ErrBadCredentials {
				t.Errorf("a password sign-in of a mailbox without a password: %v", err)
			}
			cer, err := f.s.BeginPasskeySignIn(ctx, testRP)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := a.Get(cer.Options)
			if err != nil {
				t.Fatal(err)
			}
			signedIn, err := f.s.PasskeySignIn(ctx, testRP, cer.State, resp)
			if err != nil {
				t.Fatalf("PasskeySignIn: %v", err)
			}
			mb, err := f.s.OpenSession(ctx, signedIn.Token)
			if err != nil {
				t.Fatal(err)
			}
			if letters, err := mb.Inbox(ctx); err != nil || len(letters) != 1 {
				t.Errorf("inbox with the passkey alone: %d letters, %v", len(letters), err)
			}
			if _, err := mb.NewRecoveryKey(ctx, ""); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("a new recovery key with no password: %v", err)
			}
			mb.Close()
			// Used: the proof and the ceremony work once.
			if _, err := f.s.ActivateWithEIDPasskey(ctx, testRP, token, st, "Telefon", creation, unlock); !errors.Is(err, ErrEIDExpired) {
				t.Errorf("again: %v", err)
			}
			// The recovery key sets a password.
			if _, err := f.s.Recover(ctx, nid.String(), *sess.NewRecoveryKey, "a password after all"); err != nil {
				t.Errorf("the recovery key: %v", err)
			}
			mustLogin(t, f.s, nid, "a password after all").Close()
			if n := strings.Count(strings.Join(auditActions(t, f.s), " "), "activate-eid-passkey"); n != 1 {
				t.Errorf("%d activate-eid-passkey entries", n)
			}
		})
	}
}

// TestEIDActivatePasskeyRefused: a pending mailbox is activated with
// the passkey (its activation code stops working); an existing mailbox,
// a ceremony of another proof or a stale one make nothing.
func TestEIDActivatePasskeyRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.BeginEIDPasskey(ctx, testRP, "no-such-token"); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("an unknown proof: %v", err)
	}
	active, err := f.s.ProveEID(ctx, f.nid, "Anna Andersen", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.BeginEIDPasskey(ctx, testRP, active); !errors.Is(err, ErrExists) {
		t.Errorf("a number with a mailbox: %v", err)
	}
	if _, err := f.s.BeginEIDPasskey(ctx, PasskeyRP{ID: "127.0.0.1", Origin: "http://127.0.0.1:8080"}, active); !errors.Is(err, ErrPasskeysUnavailable) {
		t.Errorf("at an IP address: %v", err)
	}
	pendingNID := testNID(t, 3)
	pending, code, err := f.s.EnrolResident(ctx, pendingNID, "Carl Carlsen")
	if err != nil {
		t.Fatal(err)
	}
	token, err := f.s.ProveEID(ctx, pendingNID, "Carl Carlsen", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.s.ProveEID(ctx, testNID(t, 4), "Dorte Dam", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAuthenticator(true, true)
	st, creation, unlock := eidPasskeyResponses(t, f.s, other, a)
	if _, err := f.s.ActivateWithEIDPasskey(ctx, testRP, token, st, "Telefon", creation, unlock); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another proof's ceremony: %v", err)
	}
	st, creation, unlock = eidPasskeyResponses(t, f.s, token, a)
	if _, err := f.s.ActivateWithEIDPasskey(ctx, testRP, token, st, "Telefon", "{}", unlock); !errors.Is(err, ErrPasskeyResponse) {
		t.Errorf("a response that does not read: %v", err)
	}
	sess, err := f.s.ActivateWithEIDPasskey(ctx, testRP, token, st, "Telefon", creation, unlock)
	if err != nil {
		t.Fatal(err)
	}
	if sess.ResidentID != pending.ID {
		t.Errorf("the pending record %s was not the one activated (%s)", pending.ID, sess.ResidentID)
	}
	if _, err := f.s.Activate(ctx, pendingNID.String(), code, testPassword); err != ErrBadActivation {
		t.Errorf("the activation code after: %v", err)
	}
}

// eidPasskeyMailbox makes the mailbox of testNID(n) with eID and a PRF
// passkey (the authenticator returned), and returns its first session.
func eidPasskeyMailbox(t testing.TB, s *Store, n int) (NationalID, Session, *webauthntest.Authenticator) {
	t.Helper()
	nid := testNID(t, n)
	token, err := s.ProveEID(context.Background(), nid, "Bo Berg", EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAuthenticator(true, true)
	st, creation, unlock := eidPasskeyResponses(t, s, token, a)
	sess, err := s.ActivateWithEIDPasskey(context.Background(), testRP, token, st, "Telefon", creation, unlock)
	if err != nil {
		t.Fatal(err)
	}
	return nid, sess, a
}

// TestChoosePassword: a mailbox made with a passkey has no password; its
// recovery key gives it one, once (then it is changed like any other),
// ending the other sessions unless kept; a wrong recovery key, a password
// the rules refuse or a mailbox that has a password change nothing.
func TestChoosePassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	nid, first, a := eidPasskeyMailbox(t, f.s, 2)
	res, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(nid, "til-bo"))
	if err != nil {
		t.Fatal(err)
	}
	// This session is the passkey's; first is another.
	cer, err := f.s.BeginPasskeySignIn(ctx, testRP)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	signedInByPasskey, err := f.s.PasskeySignIn(ctx, testRP, cer.State, resp)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := f.s.OpenSession(ctx, signedInByPasskey.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if mb.Resident().HasPassword {
		t.Fatal("a mailbox made with a passkey says it has a password")
	}
	rk := *first.NewRecoveryKey
	wrong := rk
	wrong[0] ^= 1
	before := digest(t, f.s)
	const pw = "a password after all"
	if err := mb.ChoosePassword(ctx, wrong, pw, false); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a wrong recovery key: %v", err)
	}
	var ie *InvalidError
	if err := mb.ChoosePassword(ctx, rk, "short", false); !errors.As(err, &ie) {
		t.Errorf("a short password: %v", err)
	}
	if digest(t, f.s) != before {
		t.Error("a refused choice changed the database")
	}
	// Kept: the session the mailbox was made in stays.
	if err := mb.ChoosePassword(ctx, rk, pw, true); err != nil {
		t.Fatal(err)
	}
	if err := mb.ChoosePassword(ctx, rk, "yet another password", false); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a second choice: %v", err)
	}
	again, err := f.s.OpenSession(ctx, signedInByPasskey.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !again.Resident().HasPassword {
		t.Error("the mailbox has a password and says it has none")
	}
	if _, err := again.Letter(ctx, res.Letter.ID); err != nil {
		t.Errorf("after the choice: %v", err)
	}
	if _, err := f.s.OpenSession(ctx, first.Token); err != nil {
		t.Errorf("a kept session: %v", err)
	}
	// The password signs in (its second step is the passkey) and is
	// changed like any other: it unwraps the key.
	if _, err := f.s.Login(ctx, nid.String(), pw); err != nil {
		t.Errorf("the chosen password: %v", err)
	}
	if err := again.ChangePassword(ctx, pw, "a third long password", false); err != nil {
		t.Errorf("changing the chosen password: %v", err)
	}
	if _, err := f.s.OpenSession(ctx, first.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another session after the change: %v", err)
	}
	if n := strings.Count(strings.Join(auditActions(t, f.s), " "), "choose-password"); n != 1 {
		t.Errorf("%d choose-password entries", n)
	}
	// A mailbox with a password chooses none.
	owner := mustLogin(t, f.s, f.nid, testPassword)
	defer owner.Close()
	if err := owner.ChoosePassword(ctx, rk, pw, false); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a mailbox with a password: %v", err)
	}
}

// anyPasskey is assertion options with no list of allowed credentials,
// so that any passkey answers them, as a forged browser's would.
func anyPasskey(t testing.TB, options string) string {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		t.Fatal(err)
	}
	delete(o, "allowCredentials")
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEIDPasskeySignIn: after eID, one of the resident's own passkeys
// with the PRF opens the mailbox instead of the password, using the
// proof. Another resident's passkey, a ceremony of another proof or a
// response that does not read sign nobody in and leave the proof; a
// mailbox without such a passkey, or a number without a mailbox, is
// offered none.
func TestEIDPasskeySignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	nid, _, a := eidPasskeyMailbox(t, f.s, 2)
	otherNID, _, other := eidPasskeyMailbox(t, f.s, 3)
	res, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(nid, "til-bo"))
	if err != nil {
		t.Fatal(err)
	}
	prove := func(nid NationalID) string {
		t.Helper()
		token, err := f.s.ProveEID(ctx, nid, "Bo Berg", EIDSignIn)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	// Offered none: a mailbox unlocked by its password alone, no mailbox.
	if _, err := f.s.BeginEIDPasskeySignIn(ctx, testRP, prove(f.nid)); !errors.Is(err, ErrPasskeyNoUnlock) {
		t.Errorf("a mailbox with no passkey: %v", err)
	}
	if _, err := f.s.BeginEIDPasskeySignIn(ctx, testRP, prove(testNID(t, 9))); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("no mailbox: %v", err)
	}
	if _, err := f.s.BeginEIDPasskeySignIn(ctx, testRP, "no-such-proof"); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("no proof: %v", err)
	}

	token := prove(nid)
	cer, err := f.s.BeginEIDPasskeySignIn(ctx, testRP, token)
	if err != nil {
		t.Fatal(err)
	}
	// The other resident's own ceremony, with this proof.
	otherCer, err := f.s.BeginEIDPasskeySignIn(ctx, testRP, prove(otherNID))
	if err != nil {
		t.Fatal(err)
	}
	own, err := other.Get(otherCer.Options)
	if err != nil {
		t.Fatal(err)
	}
	before := digest(t, f.s)
	// Another resident's passkey answers the same challenge.
	forged, err := other.Get(anyPasskey(t, cer.Options))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.EIDPasskeySignIn(ctx, testRP, token, cer.State, forged); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("another resident's passkey: %v", err)
	}
	if _, err := f.s.EIDPasskeySignIn(ctx, testRP, token, cer.State, "{not json"); !errors.Is(err, ErrPasskeyResponse) {
		t.Errorf("a response that does not read: %v", err)
	}
	// The other resident's own ceremony, with this proof.
	if _, err := f.s.EIDPasskeySignIn(ctx, testRP, token, otherCer.State, own); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("a ceremony of another proof: %v", err)
	}
	if digest(t, f.s) != before {
		t.Error("a refused passkey after eID changed the database")
	}

	resp, err := a.Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := f.s.EIDPasskeySignIn(ctx, testRP, token, cer.State, resp)
	if err != nil {
		t.Fatalf("EIDPasskeySignIn: %v", err)
	}
	mb, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if mb.Resident().NationalID != nid {
		t.Errorf("signed in as %v", mb.Resident().NationalID)
	}
	if _, err := mb.Letter(ctx, res.Letter.ID); err != nil {
		t.Errorf("the letter after eID and the passkey: %v", err)
	}
	// Used: the proof and the ceremony work once.
	if _, err := f.s.EIDPasskeySignIn(ctx, testRP, token, cer.State, resp); !errors.Is(err, ErrEIDExpired) {
		t.Errorf("again: %v", err)
	}
	if n := strings.Count(strings.Join(auditActions(t, f.s), " "), "login-eid-passkey"); n != 1 {
		t.Errorf("%d login-eid-passkey entries", n)
	}
}

// TestChoosePasswordWithPasskey: the owner of a mailbox without a
// password confirms the first one with their own passkey (its PRF output
// opens the key pair) instead of the recovery key. Another resident's
// passkey or ceremony, a response that does not read or a password the
// rules refuse change nothing; a mailbox with a password is offered none.
func TestChoosePasswordWithPasskey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	nid, first, a := eidPasskeyMailbox(t, f.s, 2)
	_, otherFirst, other := eidPasskeyMailbox(t, f.s, 3)
	res, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(nid, "til-bo"))
	if err != nil {
		t.Fatal(err)
	}
	open := func(token string) *Mailbox {
		t.Helper()
		mb, err := f.s.OpenSession(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(mb.Close)
		return mb
	}
	mb, otherMB := open(first.Token), open(otherFirst.Token)
	owner := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := owner.BeginChoosePassword(ctx, testRP); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a mailbox with a password: %v", err)
	}
	cer, err := mb.BeginChoosePassword(ctx, testRP)
	if err != nil {
		t.Fatal(err)
	}
	otherCer, err := otherMB.BeginChoosePassword(ctx, testRP)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "a password after all"
	before := digest(t, f.s)
	forged, err := other.Get(anyPasskey(t, cer.Options))
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.ChoosePasswordWithPasskey(ctx, testRP, cer.State, forged, pw, false); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("another resident's passkey: %v", err)
	}
	theirs, err := other.Get(otherCer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.ChoosePasswordWithPasskey(ctx, testRP, otherCer.State, theirs, pw, false); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another resident's ceremony: %v", err)
	}
	if err := mb.ChoosePasswordWithPasskey(ctx, testRP, cer.State, "{not json", pw, false); !errors.Is(err, ErrPasskeyResponse) {
		t.Errorf("a response that does not read: %v", err)
	}
	resp, err := a.Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	var ie *InvalidError
	if err := mb.ChoosePasswordWithPasskey(ctx, testRP, cer.State, resp, "short", false); !errors.As(err, &ie) {
		t.Errorf("a short password: %v", err)
	}
	if digest(t, f.s) != before {
		t.Error("a refused choice changed the database")
	}
	if err := mb.ChoosePasswordWithPasskey(ctx, testRP, cer.State, resp, pw, false); err != nil {
		t.Fatalf("ChoosePasswordWithPasskey: %v", err)
	}
	if err := mb.ChoosePasswordWithPasskey(ctx, testRP, cer.State, resp, pw, false); err == nil {
		t.Error("the same answer chose again")
	}
	if _, err := f.s.Login(ctx, nid.String(), pw); err != nil {
		t.Errorf("the chosen password: %v", err)
	}
	if err := mb.ChangePassword(ctx, pw, "a third long password", true); err != nil {
		t.Errorf("the chosen password does not open the key: %v", err)
	}
	if _, err := mb.Letter(ctx, res.Letter.ID); err != nil {
		t.Errorf("after the choice: %v", err)
	}
	if n := strings.Count(strings.Join(auditActions(t, f.s), " "), "choose-password"); n != 1 {
		t.Errorf("%d choose-password entries", n)
	}
}
