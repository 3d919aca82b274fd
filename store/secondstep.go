package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// A sign-in with two-step verification has two steps. The first (Login,
// with the right password) starts no session: it keeps a record among the
// sessions with SecondStep set, whose token goes to the browser in a
// cookie of its own. The record holds the private key that the password
// unwrapped, wrapped as a session's is, with a secret that only the token
// holds (so the key is never stored in clear between the steps, and only
// the browser that gave the password can take the second step), but bound
// to secondStepBinding(id), not the id: OpenSession would not open it even
// if it did not refuse the record first. The second step (CompleteLogin,
// with a right code) deletes the record and starts the session in one
// transaction: the first step is used once, and lives SecondStepLifetime
// at most. Deleting the account, or recovering it, deletes it with the
// sessions (deleteSessionsOf); a password changed meanwhile voids it.

// SecondStepLifetime is how long the first step of a sign-in waits for
// its code.
const SecondStepLifetime = 5 * time.Minute

// secondStepBinding is what the wrapping of a first step is bound to
// instead of the session id.
func secondStepBinding(id []byte) []byte {
	return append([]byte("second-step/"), id...)
}

// firstStep keeps the first step of a sign-in whose password was right
// (rec's password wrapping opened to priv with password) for a resident
// with two-step verification on, and returns its token.
func (s *Store) firstStep(ctx context.Context, rec *residentRecord, priv *crypto.PrivateKey, password string) (Session, error) {
	step := &storage.SecondStep{PasswordWrap: rec.PasswordWrap}
	if params, err := crypto.PasswordParams(rec.PasswordWrap); err == nil && params.Less(s.kdf) {
		if step.Rewrap, err = crypto.WrapWithPassword(s.rand, priv, []byte(password), s.kdf); err != nil {
			return Session{}, err
		}
	}
	raw := make([]byte, sessionIDSize+crypto.SessionSecretSize)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return Session{}, fmt.Errorf("read sign-in token: %w", err)
	}
	id, secret := raw[:sessionIDSize], raw[sessionIDSize:]
	wrap, err := crypto.WrapForSession(s.rand, priv, secret, secondStepBinding(id))
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	half := &sessionRecord{ResidentID: rec.ID, Wrap: wrap, Created: now, LastSeen: now,
		Expires: now.Add(SecondStepLifetime), SecondStep: step}
	err = s.update(ctx, func(tx storage.Tx) error {
		cur, err := getResident(tx, rec.ID)
		if err != nil {
			return err
		}
		// As in Login: the password was checked against the wrapping
		// read before, in another transaction.
		if (cur.Status != ResidentActive && cur.Status != ResidentReserved) || !bytes.Equal(cur.PasswordWrap, rec.PasswordWrap) || !hasSecondFactor(cur) {
			return ErrBadCredentials
		}
		if err := blocked(cur); err != nil {
			return err
		}
		return tx.Sessions().Put(id, half)
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, err
	}
	return Session{Token: base64Token(raw), ResidentID: rec.ID, Expires: half.Expires, SecondStep: true}, nil
}

// SecondStepOf returns the resident whose sign-in waits for its second
// step under token (Login's Session.Token with SecondStep), for the page
// that asks for the code and the login throttle. A token that names no
// first step, or one that expired, is ErrSessionExpired.
func (s *Store) SecondStepOf(ctx context.Context, token string) (Resident, error) {
	res, _, priv, err := s.openFirstStep(ctx, token)
	if err != nil {
		return Resident{}, err
	}
	priv.Zero()
	return residentOf(res), nil
}

// openFirstStep reads the first step that token names and opens its
// wrapping of the private key.
func (s *Store) openFirstStep(ctx context.Context, token string) (*residentRecord, *sessionRecord, *crypto.PrivateKey, error) {
	id, secret, err := parseToken(token)
	if err != nil {
		return nil, nil, nil, err
	}
	var half *sessionRecord
	var res *residentRecord
	err = s.view(ctx, func(tx storage.Tx) error {
		var err error
		if half, err = tx.Sessions().Get(id); err != nil {
			return err
		}
		res, err = getResident(tx, half.ResidentID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil, ErrSessionExpired
	} else if err != nil {
		return nil, nil, nil, err
	}
	if half.SecondStep == nil || !s.now().Before(half.Expires) {
		return nil, nil, nil, ErrSessionExpired
	}
	priv, err := crypto.UnwrapForSession(half.Wrap, secret, secondStepBinding(id))
	if err != nil {
		return nil, nil, nil, ErrSessionExpired // the right id, a wrong secret: forged
	}
	return res, half, priv, nil
}

// CompleteLogin takes the second step of a sign-in with a code: with a right code
// (a current TOTP code not used before, or an unused backup code) the
// first step that token names ends and a session starts, in one
// transaction. A wrong, used or malformed code is ErrBadCredentials and
// changes nothing (the first step stays, to try again until it expires);
// a token that names no first step (unknown, expired, used, or from
// another browser) is ErrSessionExpired. A blocked account is
// ErrBlocked. The use of a backup code is audited, as the sign-in is.
func (s *Store) CompleteLogin(ctx context.Context, token, code string) (Session, error) {
	return s.completeSecondStep(ctx, token, func(tx storage.Tx, cur *residentRecord, priv *crypto.PrivateKey, now time.Time) error {
		if cur.TOTP == nil {
			return ErrSessionExpired // turned off meanwhile: sign in again
		}
		next, backup, err := useCode(cur.TOTP, priv, cur.ID, code, now)
		if err != nil {
			return err
		}
		cur.TOTP = next
		if backup {
			return s.appendAudit(tx, now, "resident:"+cur.ID, "backup-code-used", "resident:"+cur.ID)
		}
		return nil
	})
}

// completeSecondStep takes the second step of a sign-in whose first step
// token names: check, in the transaction that ends the first step, proves
// the second factor on the resident's record (which it may change; it is
// stored) or returns an error, and nothing is stored.
func (s *Store) completeSecondStep(ctx context.Context, token string, check func(tx storage.Tx, cur *residentRecord, priv *crypto.PrivateKey, now time.Time) error) (Session, error) {
	res, _, priv, err := s.openFirstStep(ctx, token)
	if err != nil {
		return Session{}, err
	}
	defer priv.Zero()
	id, _, _ := parseToken(token)
	sessToken, sessID, sess, err := s.newSession(ctx, priv, res.ID)
	if err != nil {
		return Session{}, err
	}
	now := sess.Created
	err = s.update(ctx, func(tx storage.Tx) error {
		half, err := tx.Sessions().Get(id)
		if errors.Is(err, ErrNotFound) {
			return ErrSessionExpired // used meanwhile
		} else if err != nil {
			return err
		}
		if half.SecondStep == nil || half.ResidentID != res.ID || !now.Before(half.Expires) {
			return ErrSessionExpired
		}
		cur, err := getResident(tx, res.ID)
		if err != nil {
			return err
		}
		// A password changed, or two-step verification turned off,
		// meanwhile: sign in again.
		if (cur.Status != ResidentActive && cur.Status != ResidentReserved) || !bytes.Equal(cur.PasswordWrap, half.SecondStep.PasswordWrap) || !hasSecondFactor(cur) {
			return ErrSessionExpired
		}
		if err := blocked(cur); err != nil {
			return err
		}
		if err := check(tx, cur, priv, now); err != nil {
			return err
		}
		cur.LastLogin = now
		if half.SecondStep.Rewrap != nil {
			cur.PasswordWrap = half.SecondStep.Rewrap
		}
		if err := tx.Residents().Put(cur); err != nil {
			return err
		}
		if err := tx.Sessions().Delete(id); err != nil {
			return err
		}
		if err := tx.Sessions().Put(sessID, sess); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+cur.ID, "login", "resident:"+cur.ID)
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrSessionExpired
	} else if err != nil {
		return Session{}, err
	}
	return Session{Token: sessToken, ResidentID: res.ID, Expires: sess.Expires}, nil
}

// hasSecondFactor reports whether a sign-in of the resident with the
// password waits for a second step: two-step verification with codes is
// on, or the resident has a passkey.
func hasSecondFactor(rec *residentRecord) bool {
	return rec.TOTP != nil || len(rec.Passkeys) > 0
}
