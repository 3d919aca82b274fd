package store

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport/webauthntest"
	"github.com/postkasse/postkasse/store/storage"
)

var testRP = PasskeyRP{ID: "postkasse.example", Origin: "https://postkasse.example"}

func newTestAuthenticator(prf, atCreate bool) *webauthntest.Authenticator {
	return &webauthntest.Authenticator{Origin: testRP.Origin, PRF: prf, PRFAtCreate: atCreate}
}

// addPasskey registers a passkey of a for mb's owner, answering the
// unlock options too when the creation gave no PRF output.
func addPasskey(t testing.TB, mb *Mailbox, a *webauthntest.Authenticator, name string) (PasskeyInfo, *webauthntest.Credential) {
	t.Helper()
	creation, unlock, c, st := registerResponses(t, mb, a)
	info, err := mb.AddPasskey(context.Background(), testRP, st, testPassword, name, creation, unlock)
	if err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	return info, c
}

// registerResponses begins a registration and answers it as a browser
// does: the creation, and when it gave no PRF output but the passkey has
// the PRF, an assertion of the new credential for it.
func registerResponses(t testing.TB, mb *Mailbox, a *webauthntest.Authenticator) (creation, unlock string, c *webauthntest.Credential, state string) {
	t.Helper()
	cer, err := mb.BeginPasskeyRegistration(context.Background(), testRP)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	creation, c, err = a.Create(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if a.PRF && !a.PRFAtCreate {
		if unlock, err = a.Assert(c, cer.Unlock); err != nil {
			t.Fatal(err)
		}
	}
	return creation, unlock, c, cer.State
}

func residentRaw(t testing.TB, s *Store, id string) *residentRecord {
	t.Helper()
	var rec *residentRecord
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		var err error
		rec, err = getResident(tx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestPasskeyRegistration: a resident registers several passkeys (with
// and without the PRF, the PRF given at creation or by an assertion right
// after), lists, renames and removes them; a wrong password, a bad name,
// a malformed or forged response, a replayed or another resident's
// ceremony store nothing; everything is audited.
func TestPasskeyRegistration(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)

	withCreate := newTestAuthenticator(true, true)
	withAssert := newTestAuthenticator(true, false)
	without := newTestAuthenticator(false, false)
	p1, c1 := addPasskey(t, mb, withCreate, "  Min   telefon ")
	p2, _ := addPasskey(t, mb, withAssert, "Nøgle")
	p3, _ := addPasskey(t, mb, without, "Gammel nøgle")
	if p1.Name != "Min telefon" || !p1.Unlocks || !p2.Unlocks || p3.Unlocks {
		t.Fatalf("added %+v %+v %+v", p1, p2, p3)
	}
	list, err := mb.Passkeys(ctx)
	if err != nil || len(list) != 3 || list[0].ID != p1.ID || list[2].Name != "Gammel nøgle" {
		t.Fatalf("Passkeys = %+v, %v", list, err)
	}
	// The PRF output is nowhere in the record; the wrapping is.
	rec := residentRaw(t, f.s, f.resident.ID)
	raw, _ := json.Marshal(rec)
	if out := c1.PRFOutput(crypto.PRFInput); bytes.Contains(raw, out) || bytes.Contains(raw, []byte(string(out))) {
		t.Fatal("the record holds the PRF output")
	}
	if err := crypto.CheckPRFWrapping(rec.Passkeys[0].PRFWrap); err != nil {
		t.Fatal(err)
	}

	before := residentRaw(t, f.s, f.resident.ID)
	refused := func(name string, want error, st, password, pkName, creation, unlock string) {
		t.Helper()
		if _, err := mb.AddPasskey(ctx, testRP, st, password, pkName, creation, unlock); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
	a := newTestAuthenticator(true, true)
	creation, _, _, st := registerResponses(t, mb, a)
	refused("wrong password", ErrBadCredentials, st, "wrong password", "x", creation, "")
	refused("malformed", ErrPasskeyResponse, st, testPassword, "x", `{"id":"AAAA","type":"public-key","response":{}}`, "")
	refused("not JSON", ErrPasskeyResponse, st, testPassword, "x", "\x00\xff", "")
	refused("forged state", ErrSessionExpired, st[:len(st)-2]+"AA", testPassword, "x", creation, "")
	var inv *InvalidError
	if _, err := mb.AddPasskey(ctx, testRP, st, testPassword, " ", creation, ""); !errors.As(err, &inv) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := mb.AddPasskey(ctx, testRP, st, testPassword, strings.Repeat("å", MaxPasskeyName+1), creation, ""); !errors.As(err, &inv) {
		t.Errorf("long name: %v", err)
	}
	// Another origin (a phishing site relaying the options).
	phish := &webauthntest.Authenticator{Origin: "https://postkasse.example.evil", PRF: true, PRFAtCreate: true}
	pc, _, _, pst := registerResponses(t, mb, phish)
	refused("other origin", ErrBadCredentials, pst, testPassword, "x", pc, "")
	if got := residentRaw(t, f.s, f.resident.ID); !slices.EqualFunc(got.Passkeys, before.Passkeys, func(a, b storage.Passkey) bool { return bytes.Equal(a.ID, b.ID) }) {
		t.Fatalf("a refused registration stored something: %d passkeys", len(got.Passkeys))
	}
	// The right one, once.
	if _, err := mb.AddPasskey(ctx, testRP, st, testPassword, "Fjerde", creation, ""); err != nil {
		t.Fatal(err)
	}
	refused("replayed", ErrSessionExpired, st, testPassword, "x", creation, "")
	// A ceremony expires.
	c5, _, _, st5 := registerResponses(t, mb, newTestAuthenticator(false, false))
	f.clock.Advance(PasskeyCeremonyLifetime)
	refused("expired", ErrSessionExpired, st5, testPassword, "x", c5, "")

	// Another resident's ceremony is not this one's, and another
	// resident cannot rename or remove this one's passkeys.
	other := mustResident(t, f.s, testNID(t, 2), "Bo Berg")
	mb2 := mustLogin(t, f.s, testNID(t, 2), testPassword)
	oc, _, _, ost := registerResponses(t, mb2, newTestAuthenticator(false, false))
	refused("another resident's ceremony", ErrSessionExpired, ost, testPassword, "x", oc, "")
	if err := mb2.RenamePasskey(ctx, p1.ID, "mine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident renames: %v", err)
	}
	if err := mb2.RemovePasskey(ctx, p1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident removes: %v", err)
	}
	_ = other

	if err := mb.RenamePasskey(ctx, p2.ID, "Nøglering"); err != nil {
		t.Fatal(err)
	}
	if err := mb.RenamePasskey(ctx, p2.ID, ""); !errors.As(err, &inv) {
		t.Errorf("rename to nothing: %v", err)
	}
	if err := mb.RemovePasskey(ctx, p1.ID); err != nil {
		t.Fatal(err)
	}
	if err := mb.RemovePasskey(ctx, p1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed twice: %v", err)
	}
	list, _ = mb.Passkeys(ctx)
	if len(list) != 3 || list[0].Name != "Nøglering" {
		t.Fatalf("after rename and remove: %+v", list)
	}
	var n int
	for _, a := range auditActions(t, f.s) {
		if strings.Contains(a, "passkey-") {
			n++
		}
	}
	if n != 6 { // 4 added, 1 renamed, 1 removed
		t.Errorf("%d passkey audit records: %q", n, auditActions(t, f.s))
	}
}

// TestPasskeySecondStep: with a passkey, the password alone starts no
// session; the passkey's assertion does, once; a forged or replayed one,
// or one whose counter went back, does not and leaves the first step.
func TestPasskeySecondStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	a := newTestAuthenticator(false, false)
	_, c := addPasskey(t, mb, a, "Nøgle")
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "pk-1")); err != nil {
		t.Fatal(err)
	}

	token := firstStep(t, f)
	if pk, totp, err := f.s.SecondStepFactors(ctx, token); err != nil || !pk || totp {
		t.Fatalf("SecondStepFactors = %v %v %v", pk, totp, err)
	}
	cer, err := f.s.BeginPasskeySecondStep(ctx, testRP, token)
	if err != nil {
		t.Fatal(err)
	}
	// Another first step's ceremony does not serve this one.
	other := firstStep(t, f)
	ocer, err := f.s.BeginPasskeySecondStep(ctx, testRP, other)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(ocer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CompletePasskeyLogin(ctx, testRP, token, ocer.State, resp); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another first step's ceremony: %v", err)
	}
	// A signature by another key.
	forged := &webauthntest.Authenticator{Origin: testRP.Origin}
	fc := *c
	fc.Key = mustECKey(t)
	forged.Credentials = []*webauthntest.Credential{&fc}
	bad, err := forged.Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CompletePasskeyLogin(ctx, testRP, token, cer.State, bad); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("forged signature: %v", err)
	}
	if _, err := f.s.CompletePasskeyLogin(ctx, testRP, token, cer.State, `{"id":1}`); !errors.Is(err, ErrPasskeyResponse) {
		t.Errorf("malformed: %v", err)
	}
	// The right one (the first step stayed).
	resp, err = a.Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := f.s.CompletePasskeyLogin(ctx, testRP, token, cer.State, resp)
	if err != nil {
		t.Fatalf("CompletePasskeyLogin: %v", err)
	}
	mb2, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb2.Close()
	if letters, err := mb2.Inbox(ctx); err != nil || len(letters) != 1 || letters[0].Subject != "Afgørelse om boligstøtte" {
		t.Fatalf("inbox after the second step: %+v, %v", letters, err)
	}
	if _, err := f.s.CompletePasskeyLogin(ctx, testRP, token, cer.State, resp); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("replayed: %v", err)
	}
	// A counter that goes back: a clone.
	rec := residentRaw(t, f.s, f.resident.ID)
	if rec.Passkeys[0].SignCount != c.Counter || rec.Passkeys[0].LastUsed.IsZero() {
		t.Fatalf("counter %d (authenticator %d), last used %v", rec.Passkeys[0].SignCount, c.Counter, rec.Passkeys[0].LastUsed)
	}
	c.Counter -= 2
	t3 := firstStep(t, f)
	cer3, _ := f.s.BeginPasskeySecondStep(ctx, testRP, t3)
	resp3, _ := a.Get(cer3.Options)
	if _, err := f.s.CompletePasskeyLogin(ctx, testRP, t3, cer3.State, resp3); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("counter went back: %v", err)
	}
	// With the passkey removed, the password alone signs in again.
	if err := mb.RemovePasskey(ctx, infoOf(rec.Passkeys[0]).ID); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, f.s, f.nid, testPassword)
}

// TestPasskeySignIn: a passkey registered with the PRF signs in alone and
// unlocks the mailbox; one without the PRF does not; a wrong PRF output,
// a replay, a removed passkey or a blocked account get nothing; recovering
// the account removes its passkeys.
func TestPasskeySignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "pk-2")); err != nil {
		t.Fatal(err)
	}
	signIn := func(a *webauthntest.Authenticator) (string, string, error) {
		t.Helper()
		cer, err := f.s.BeginPasskeySignIn(ctx, testRP)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Get(cer.Options)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := f.s.PasskeySignIn(ctx, testRP, cer.State, resp)
		return sess.Token, cer.State + "|" + resp, err
	}
	for _, atCreate := range []bool{true, false} {
		a := newTestAuthenticator(true, atCreate)
		addPasskey(t, mb, a, "Telefon")
		token, replay, err := signIn(a)
		if err != nil {
			t.Fatalf("PRF at creation %v: PasskeySignIn: %v", atCreate, err)
		}
		mb2, err := f.s.OpenSession(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if letters, err := mb2.Inbox(ctx); err != nil || len(letters) != 1 || letters[0].Subject != "Afgørelse om boligstøtte" {
			t.Fatalf("inbox after a passkey alone: %+v, %v", letters, err)
		}
		mb2.Close()
		st, resp, _ := strings.Cut(replay, "|")
		if _, err := f.s.PasskeySignIn(ctx, testRP, st, resp); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("replayed: %v", err)
		}
	}
	// Without the PRF: only as a second step.
	noPRF := newTestAuthenticator(false, false)
	addPasskey(t, mb, noPRF, "Nøgle")
	if _, _, err := signIn(noPRF); !errors.Is(err, ErrPasskeyNoUnlock) {
		t.Errorf("passkey without the PRF: %v", err)
	}
	// The PRF at registration, none now (a browser that does not ask).
	a := newTestAuthenticator(true, true)
	info, c := addPasskey(t, mb, a, "Bærbar")
	a.PRF = false
	if _, _, err := signIn(a); !errors.Is(err, ErrPasskeyNoUnlock) {
		t.Errorf("no PRF output: %v", err)
	}
	a.PRF = true
	// Another PRF output (the authenticator's secret is not the one).
	saved := c.PRFSecret
	c.PRFSecret = bytes.Repeat([]byte{7}, 32)
	if _, _, err := signIn(a); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong PRF output: %v", err)
	}
	c.PRFSecret = saved
	// A blocked account.
	if _, err := f.s.BlockResident(ctx, f.nid, "misbrug"); err != nil {
		t.Fatal(err)
	}
	var block *BlockedError
	if _, _, err := signIn(a); !errors.As(err, &block) {
		t.Errorf("blocked: %v", err)
	}
	if _, err := f.s.UnblockResident(ctx, f.nid); err != nil {
		t.Fatal(err)
	}
	if _, _, err := signIn(a); err != nil {
		t.Fatalf("unblocked: %v", err)
	}
	// Removed: nobody.
	if err := mb.RemovePasskey(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := signIn(a); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("removed passkey: %v", err)
	}
	if n := len(residentRaw(t, f.s, f.resident.ID).Passkeys); n != 3 {
		t.Fatalf("%d passkeys", n)
	}
}

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPasskeysRemovedByRecovery: signing in with the recovery key removes
// the passkeys (the lost device may be the passkey), audited; the password
// alone then signs in again and the passkey alone no more.
func TestPasskeysRemovedByRecovery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	nid := testNID(t, 3)
	_, rk, err := f.s.AddResident(ctx, nid, "Cai Carlsen", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, nid, testPassword)
	a := newTestAuthenticator(true, true)
	addPasskey(t, mb, a, "Telefon")
	if _, err := f.s.Recover(ctx, nid.String(), rk, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(auditActions(t, f.s), "passkeys-removed-recovery") {
		t.Errorf("no passkeys-removed-recovery in %q", auditActions(t, f.s))
	}
	if sess, err := f.s.Login(ctx, nid.String(), "a brand new passphrase"); err != nil || sess.SecondStep {
		t.Fatalf("the password after recovery: %+v, %v", sess, err)
	}
	cer, err := f.s.BeginPasskeySignIn(ctx, testRP)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PasskeySignIn(ctx, testRP, cer.State, resp); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the removed passkey alone: %v", err)
	}
}
