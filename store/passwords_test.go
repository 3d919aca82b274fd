package store

import (
	"context"
	"errors"
	"testing"

	"github.com/postkasse/postkasse/crypto"
)

// TestChangePassword: the current password is checked; the new one
// opens the mailbox and the old one no longer does; other sessions end
// unless kept, this one stays; audited.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "brev"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	const next = "a new and longer passphrase"
	if err := mb.ChangePassword(context.Background(), "wrong password!", next, false); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong current password: %v", err)
	}
	var ie *InvalidError
	if err := mb.ChangePassword(context.Background(), testPassword, "short", false); !errors.As(err, &ie) {
		t.Errorf("a short new password: %v", err)
	}
	if err := mb.ChangePassword(context.Background(), testPassword, next, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.OpenSession(context.Background(), other.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another session after the change: %v", err)
	}
	if _, err := mb.Letter(context.Background(), res.Letter.ID); err != nil {
		t.Errorf("this session after the change: %v", err)
	}
	if _, err := f.s.Login(context.Background(), f.nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the old password: %v", err)
	}
	mb2 := mustLogin(t, f.s, f.nid, next)
	defer mb2.Close()
	if _, err := mb2.Letter(context.Background(), res.Letter.ID); err != nil {
		t.Errorf("the new password opens no letter: %v", err)
	}
	// Kept sessions stay.
	third, err := f.s.Login(context.Background(), f.nid.String(), next)
	if err != nil {
		t.Fatal(err)
	}
	if err := mb2.ChangePassword(context.Background(), next, testPassword, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.OpenSession(context.Background(), third.Token); err != nil {
		t.Errorf("a kept session: %v", err)
	}
}

// TestRecover: the recovery key lets a resident who forgot the password
// set a new one; every session ends; the mail opens; a new recovery key is
// given and the used one stops working; a wrong key is a failed login.
func TestRecover(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	nid := testNID(t, 1)
	_, rk, err := s.AddResident(context.Background(), nid, "Anna", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	snd := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	res, err := s.Deliver(context.Background(), snd.ID, testDelivery(nid, "brev"))
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.Login(context.Background(), nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recover(context.Background(), nid.String(), crypto.RecoveryKey{1}, "a brand new passphrase"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a wrong recovery key: %v", err)
	}
	if _, err := s.Recover(context.Background(), "0000000000", rk, "a brand new passphrase"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("an unknown number: %v", err)
	}
	sess, err := s.Recover(context.Background(), nid.String(), rk, "a brand new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if sess.NewRecoveryKey == nil || *sess.NewRecoveryKey == rk {
		t.Fatal("no new recovery key")
	}
	if _, err := s.OpenSession(context.Background(), old.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("an old session after recovery: %v", err)
	}
	mb, err := s.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Letter(context.Background(), res.Letter.ID); err != nil {
		t.Errorf("mail after recovery: %v", err)
	}
	// A recovery key made on request replaces the one from recovery.
	fresh, err := mb.NewRecoveryKey(context.Background(), "a brand new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.NewRecoveryKey(context.Background(), "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a new recovery key with a wrong password: %v", err)
	}
	mb.Close()
	if _, err := s.Login(context.Background(), nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the forgotten password still works: %v", err)
	}
	for _, used := range []crypto.RecoveryKey{rk, *sess.NewRecoveryKey} {
		if _, err := s.Recover(context.Background(), nid.String(), used, "yet another passphrase"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("a replaced recovery key: %v", err)
		}
	}
	again, err := s.Recover(context.Background(), nid.String(), fresh, "yet another passphrase")
	if err != nil {
		t.Fatalf("the newest recovery key: %v", err)
	}
	if _, err := s.BlockResident(context.Background(), nid, "Blokeret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recover(context.Background(), nid.String(), *again.NewRecoveryKey, "and one more passphrase"); !errors.Is(err, ErrBlocked) {
		t.Errorf("recovery of a blocked account: %v, want ErrBlocked", err)
	}
}
