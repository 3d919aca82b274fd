package store

import (
	"bytes"
	"context"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// TestLoginRaces: Login checks the password against the wrapping it read
// in one transaction and writes the session in another. What happens
// between the two (the hook runs exactly there) must not be undone:
//
//   - an account deleted meanwhile gets no session, so no session
//     wrapping of its private key outlives the deletion (it would undo the
//     crypto-shredding), and the login fails;
//   - a password changed meanwhile is not overwritten by the re-wrapping
//     of the old password, and the login with the old one fails.
func TestLoginRaces(t *testing.T) {
	t.Parallel()
	t.Run("account deleted", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		other := mustLogin(t, f.s, f.nid, testPassword)
		f.s.hookLoginChecked = func() {
			if err := other.DeleteMailbox(context.Background(), testPassword); err != nil {
				t.Errorf("DeleteMailbox: %v", err)
			}
		}
		if _, err := f.s.Login(context.Background(), f.nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Login racing the deletion: %v, want ErrBadCredentials", err)
		}
		if n := countKeys(t, f.s)["sessions"]; n != 0 {
			t.Errorf("%d sessions left after the account was deleted", n)
		}
		if err := f.s.CheckInvariants(context.Background()); err != nil {
			t.Errorf("CheckInvariants: %v", err)
		}
	})
	t.Run("password changed", func(t *testing.T) {
		t.Parallel()
		loginRacesPasswordChange(t, openTestStore, false)
	})
	// The same with the password changed straight in the embedded
	// engine's file (in both passes).
	t.Run("password changed in the file", func(t *testing.T) {
		t.Parallel()
		loginRacesPasswordChange(t, openEmbeddedStore, true)
	})
}

// loginRacesPasswordChange is TestLoginRaces' "password changed" on a
// store open makes; with inFile the change is written into the embedded
// engine's file raw, else through the engine.
func loginRacesPasswordChange(t *testing.T, open func(testing.TB, Options) *Store, inFile bool) {
	t.Helper()
	clock := newFakeClock()
	opts := testOptions(clock)
	s := open(t, opts)
	nid := testNID(t, 1)
	r, rk, err := s.AddResident(context.Background(), nid, "Anna Andersen", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	// A stronger policy since, so the login re-wraps the key with the
	// password it checked.
	s.kdf = crypto.KDFParams{Time: 2, MemoryKiB: 128, Threads: 1}
	const newPassword = "a new password chosen meanwhile"
	var changed []byte
	s.hookLoginChecked = func() {
		changed = changePasswordRaw(t, s, r.ID, rk, newPassword, inFile)
	}
	if _, err := s.Login(context.Background(), nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Login with the old password racing the change: %v, want ErrBadCredentials", err)
	}
	s.hookLoginChecked = nil
	var stored []byte
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Residents().Get(r.ID)
		if err == nil {
			stored = rec.PasswordWrap
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inFile {
		if err := s.testDB(t).View(func(tx *bolt.Tx) error {
			rec, err := boltResident(tx, r.ID)
			if err == nil && !bytes.Equal(rec.PasswordWrap, stored) {
				t.Error("the file's record differs from the engine's")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(stored, changed) {
		t.Error("the login overwrote the password changed meanwhile")
	}
	if _, err := s.Login(context.Background(), nid.String(), newPassword); err != nil {
		t.Errorf("Login with the new password: %v", err)
	}
	if _, err := s.Login(context.Background(), nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Login with the old password after the change: %v", err)
	}
}

// changePasswordRaw wraps a resident's private key (opened with the
// recovery key) with a new password, as a password change would, and
// returns the new wrapping: straight in the embedded engine's file if
// inFile, else in the engine's record (a transaction of its own).
func changePasswordRaw(t testing.TB, s *Store, residentID string, rk crypto.RecoveryKey, password string, inFile bool) []byte {
	t.Helper()
	var wrap []byte
	change := func(rec *residentRecord) error {
		priv, err := crypto.UnwrapWithRecoveryKey(rec.RecoveryWrap, rk)
		if err != nil {
			return err
		}
		defer priv.Zero()
		if wrap, err = crypto.WrapWithPassword(s.rand, priv, []byte(password), cheapKDF); err != nil {
			return err
		}
		rec.PasswordWrap = wrap
		return nil
	}
	if !inFile {
		if err := s.update(context.Background(), func(tx storage.Tx) error {
			rec, err := tx.Residents().Get(residentID)
			if err != nil {
				return err
			}
			if err := change(rec); err != nil {
				return err
			}
			return tx.Residents().Put(rec)
		}); err != nil {
			t.Fatal(err)
		}
		return wrap
	}
	err := s.testDB(t).Update(func(tx *bolt.Tx) error {
		rec, err := boltResident(tx, residentID)
		if err != nil {
			return err
		}
		if err := change(rec); err != nil {
			return err
		}
		return putValue(tx.Bucket(bucketResidents), []byte(residentID), rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	return wrap
}
