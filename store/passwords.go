package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// ChangePassword wraps the private key anew with a new password, after
// checking the current one. Every other session of the resident ends
// unless keepOtherSessions: a password changed because it leaked must
// also end the sessions of whoever used it. Audited.
func (m *Mailbox) ChangePassword(ctx context.Context, current, next string, keepOtherSessions bool) error {
	if err := CheckPassword(next, m.resident.Name, m.resident.NationalID.Number); err != nil {
		return err
	}
	checked, priv, err := m.checkPassword(ctx, current)
	if err != nil {
		return err
	}
	defer priv.Zero()
	wrap, err := crypto.WrapWithPassword(m.s.rand, priv, []byte(next), m.s.kdf)
	if err != nil {
		return err
	}
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		// The current password was checked against this wrapping: a
		// change or deletion meanwhile wins.
		if res.Status == ResidentDeleted || !bytes.Equal(res.PasswordWrap, checked) {
			return ErrBadCredentials
		}
		res.PasswordWrap = wrap
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		if !keepOtherSessions {
			if err := m.endOtherSessions(tx, res.ID); err != nil {
				return err
			}
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, "change-password", "resident:"+res.ID)
	})
}

// endOtherSessions ends every session of the resident but this one.
func (m *Mailbox) endOtherSessions(tx storage.Tx, residentID string) error {
	ids, err := tx.Sessions().OfResident(residentID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if string(id) == m.sessionID {
			continue
		}
		if err := tx.Sessions().Delete(id); err != nil {
			return err
		}
	}
	return nil
}

// ChoosePassword gives a mailbox that has no password (one made with eID
// and a passkey: eidpasskey.go) its first, after the resident proves they
// hold the key pair with their recovery key (key): the private key that
// wrapping holds is wrapped with the new password (next), so the
// appliance still holds nothing that opens the mailbox without the
// resident. The recovery key stays as it is. Every other session ends
// unless keepOtherSessions. A wrong recovery key, or a mailbox that has a
// password (meanwhile), is ErrBadCredentials; a password the rules refuse
// an *InvalidError. Nothing is stored on any error. Audited as
// "choose-password". ChoosePasswordWithPasskey is the same with a
// passkey instead of the recovery key.
func (m *Mailbox) ChoosePassword(ctx context.Context, key crypto.RecoveryKey, next string, keepOtherSessions bool) error {
	if err := CheckPassword(next, m.resident.Name, m.resident.NationalID.Number); err != nil {
		return err
	}
	var checked []byte
	err := m.s.view(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if len(res.PasswordWrap) > 0 {
			return ErrBadCredentials
		}
		checked = bytes.Clone(res.RecoveryWrap)
		return nil
	})
	if err != nil {
		return err
	}
	priv, err := crypto.UnwrapWithRecoveryKey(checked, key)
	if err != nil {
		return ErrBadCredentials
	}
	defer priv.Zero()
	// The recovery key was checked against this wrapping: a new recovery
	// key meanwhile wins.
	return m.choosePassword(ctx, priv, next, keepOtherSessions, func(_ storage.Tx, res *residentRecord) error {
		if !bytes.Equal(res.RecoveryWrap, checked) {
			return ErrBadCredentials
		}
		return nil
	})
}

// choosePassword wraps priv, which the resident just proved they hold,
// with the first password of their mailbox (next), in a transaction that
// re-checks there is none (a password chosen meanwhile wins) and runs
// check on the record (the proof still holds); the other sessions end
// unless keepOtherSessions. Audited as "choose-password".
func (m *Mailbox) choosePassword(ctx context.Context, priv *crypto.PrivateKey, next string, keepOtherSessions bool, check func(tx storage.Tx, res *residentRecord) error) error {
	wrap, err := crypto.WrapWithPassword(m.s.rand, priv, []byte(next), m.s.kdf)
	if err != nil {
		return err
	}
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if res.Status == ResidentDeleted || len(res.PasswordWrap) > 0 {
			return ErrBadCredentials
		}
		if err := check(tx, res); err != nil {
			return err
		}
		res.PasswordWrap = wrap
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		if !keepOtherSessions {
			if err := m.endOtherSessions(tx, res.ID); err != nil {
				return err
			}
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, "choose-password", "resident:"+res.ID)
	})
}

// checkPassword checks the owner's password against their password
// wrapping and returns the wrapping it checked and the private key it
// holds. A new wrapping is made of that key, never of the session's: a
// session opened before the account's key pair gained its ML-KEM half
// holds the key pair without it, and wrapping that would lose the half
// (and every letter sealed to it) at the next sign-in.
func (m *Mailbox) checkPassword(ctx context.Context, password string) ([]byte, *crypto.PrivateKey, error) {
	var wrap []byte
	err := m.s.view(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		wrap = bytes.Clone(res.PasswordWrap)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(password) > 1024 {
		return nil, nil, ErrBadCredentials
	}
	priv, err := crypto.UnwrapWithPassword(wrap, []byte(password))
	if err != nil {
		return nil, nil, ErrBadCredentials
	}
	return wrap, priv, nil
}

// NewRecoveryKey makes a new recovery key for the mailbox's owner, after
// checking their password: the private key is wrapped with it, and the
// old recovery key stops working. Show it once. Audited.
func (m *Mailbox) NewRecoveryKey(ctx context.Context, password string) (crypto.RecoveryKey, error) {
	checked, priv, err := m.checkPassword(ctx, password)
	if err != nil {
		return crypto.RecoveryKey{}, err
	}
	defer priv.Zero()
	rk, err := crypto.NewRecoveryKey(m.s.rand)
	if err != nil {
		return crypto.RecoveryKey{}, err
	}
	wrap, err := crypto.WrapWithRecoveryKey(m.s.rand, priv, rk)
	if err != nil {
		return crypto.RecoveryKey{}, err
	}
	now := m.s.now()
	err = m.s.update(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		// The password was checked against this wrapping, and the key
		// wrapped anew is the one it holds: a change of either meanwhile
		// wins.
		if res.Status == ResidentDeleted || !bytes.Equal(res.PasswordWrap, checked) {
			return ErrBadCredentials
		}
		res.RecoveryWrap = wrap
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, "new-recovery-key", "resident:"+res.ID)
	})
	return rk, err
}

// Recover lets a resident who forgot their password in with their
// recovery key: the private key is wrapped with a new password and a new
// recovery key (the old one stops working, as it was used), every session
// ends, and a new one starts. The new recovery key is in
// Session.NewRecoveryKey: show it once. Two-step verification, if it was
// on, is turned off (the recovery key is a factor of its own). A wrong
// key, number or state is ErrBadCredentials, as for a login. Audited.
func (s *Store) Recover(ctx context.Context, nationalID string, key crypto.RecoveryKey, newPassword string) (Session, error) {
	if err := CheckPassword(newPassword, nationalID); err != nil {
		return Session{}, err
	}
	rec, err := s.residentByText(ctx, nationalID)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, err
	}
	if rec.Status != ResidentActive && rec.Status != ResidentReserved {
		return Session{}, ErrBadCredentials
	}
	priv, err := crypto.UnwrapWithRecoveryKey(rec.RecoveryWrap, key)
	if err != nil {
		return Session{}, ErrBadCredentials
	}
	defer priv.Zero()
	if err := blocked(rec); err != nil {
		return Session{}, err
	}
	var before *crypto.PrivateKey // the key pair before it gained its ML-KEM half
	if !priv.HasMLKEM() {
		// A key pair from before envelope v2 gains its ML-KEM half here
		// as at a sign-in.
		up, err := priv.WithMLKEM(s.rand)
		if err != nil {
			return Session{}, err
		}
		before, priv = priv, up
		defer up.Zero()
	}
	passwordWrap, err := crypto.WrapWithPassword(s.rand, priv, []byte(newPassword), s.kdf)
	if err != nil {
		return Session{}, err
	}
	rk, err := crypto.NewRecoveryKey(s.rand)
	if err != nil {
		return Session{}, err
	}
	recoveryWrap, err := crypto.WrapWithRecoveryKey(s.rand, priv, rk)
	if err != nil {
		return Session{}, err
	}
	token, id, sess, err := s.newSession(ctx, priv, rec.ID)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	err = s.update(ctx, func(tx storage.Tx) error {
		cur, err := getResident(tx, rec.ID)
		if err != nil {
			return err
		}
		if (cur.Status != ResidentActive && cur.Status != ResidentReserved) || !bytes.Equal(cur.RecoveryWrap, rec.RecoveryWrap) {
			return ErrBadCredentials
		}
		if err := blocked(cur); err != nil {
			return err
		}
		// A recovery wrapping from before the account's key pair gained
		// its ML-KEM half would replace that half, and lose the letters
		// sealed to it: no wrapping made since holds an older key pair,
		// so refuse it rather than lose mail.
		if len(cur.MLKEMPublicKey) > 0 && !bytes.Equal(cur.MLKEMPublicKey, priv.PublicKeys().MLKEM) {
			s.log.Error("recover: the recovery wrapping holds an older key pair than the account's", "resident", cur.ID)
			return ErrBadCredentials
		}
		if before != nil {
			if err := resealFolderNames(tx, s.rand, cur.ID, before, priv); err != nil {
				return err
			}
		}
		cur.PasswordWrap, cur.RecoveryWrap, cur.LastLogin = passwordWrap, recoveryWrap, now
		cur.MLKEMPublicKey = priv.PublicKeys().MLKEM
		// The recovery key is a factor of its own, as strong as any:
		// recovering turns two-step verification off (the phone may be
		// what was lost), and the recover page says so. The resident may
		// turn it on again from the settings.
		totpWasOn := cur.TOTP != nil
		cur.TOTP = nil
		// So are the passkeys (each a second factor, and their PRF
		// wrappings hold the key pair as it was): the resident adds them
		// again from the settings.
		passkeysWere := len(cur.Passkeys) > 0
		cur.Passkeys = nil
		if err := tx.Residents().Put(cur); err != nil {
			return err
		}
		if err := deleteSessionsOf(tx, cur.ID); err != nil {
			return err
		}
		if err := tx.Sessions().Put(id, sess); err != nil {
			return err
		}
		if totpWasOn {
			if err := s.appendAudit(tx, now, "resident:"+cur.ID, "totp-off-recovery", "resident:"+cur.ID); err != nil {
				return err
			}
		}
		if passkeysWere {
			if err := s.appendAudit(tx, now, "resident:"+cur.ID, "passkeys-removed-recovery", "resident:"+cur.ID); err != nil {
				return err
			}
		}
		return s.appendAudit(tx, now, "resident:"+cur.ID, "recover", "resident:"+cur.ID)
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, fmt.Errorf("recover: %w", err)
	}
	return Session{Token: token, ResidentID: rec.ID, Expires: sess.Expires, NewRecoveryKey: &rk}, nil
}
