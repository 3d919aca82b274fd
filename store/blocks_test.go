package store

import (
	"context"
	"errors"
	"testing"
)

// TestBlockResident: a block ends every session at once and refuses
// sign-in, saying why only to whoever gives the password; letters are
// still delivered; unblocking lets the resident in again; both audited.
func TestBlockResident(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "   ", "two\nlines", "bidi \u202e override"} {
		if _, err := f.s.BlockResident(context.Background(), f.nid, bad); err == nil {
			t.Errorf("block with reason %q accepted", bad)
		}
	}
	const reason = "Misbrug af postkassen, jf. vilkårene afsnit 4.7"
	r, err := f.s.BlockResident(context.Background(), f.nid, reason)
	if err != nil || r.Blocked != reason || r.BlockedAt.IsZero() {
		t.Fatalf("BlockResident = %+v, %v", r, err)
	}
	if _, err := f.s.OpenSession(context.Background(), sess.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("a session after the block: %v, want ErrSessionExpired", err)
	}
	_, err = f.s.Login(context.Background(), f.nid.String(), testPassword)
	var be *BlockedError
	if !errors.As(err, &be) || !errors.Is(err, ErrBlocked) || be.Reason != reason {
		t.Errorf("login of a blocked account: %v, want the block with its reason", err)
	}
	if _, err := f.s.Login(context.Background(), f.nid.String(), "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a wrong password on a blocked account: %v, want ErrBadCredentials (no reason shown)", err)
	}
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "while-blocked")); err != nil {
		t.Errorf("delivery to a blocked account: %v", err)
	}
	if r, err := f.s.UnblockResident(context.Background(), f.nid); err != nil || r.Blocked != "" {
		t.Fatalf("UnblockResident = %+v, %v", r, err)
	}
	if _, err := f.s.UnblockResident(context.Background(), f.nid); !errors.Is(err, ErrNotFound) {
		t.Errorf("unblocking an account that is not blocked: %v", err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	log, err := f.s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		if e.Object == "resident:"+f.resident.ID && (e.Action == "block" || e.Action == "unblock") {
			actions = append(actions, e.Action)
		}
	}
	if len(actions) != 2 || actions[0] != "block" || actions[1] != "unblock" {
		t.Errorf("audited %v, want [block unblock]", actions)
	}
}

// TestLoginRacesBlock: a login whose password was checked before the
// account was blocked writes no session.
func TestLoginRacesBlock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.s.hookLoginChecked = func() {
		if _, err := f.s.BlockResident(context.Background(), f.nid, "Blokeret af kommunen"); err != nil {
			t.Error(err)
		}
	}
	if _, err := f.s.Login(context.Background(), f.nid.String(), testPassword); !errors.Is(err, ErrBlocked) {
		t.Errorf("login racing a block: %v, want ErrBlocked", err)
	}
}
