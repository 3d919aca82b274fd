package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

const sessionIDSize = 16

// sessionRecord is a login as the engine stores it (storage.Session),
// keyed by the session id. Wrap is the resident's private key wrapped
// with the secret that only the session cookie holds.
type sessionRecord = storage.Session

// lastSeenGranularity: a session's LastSeen is written at most this often,
// so reading mail does not cost a disk write per request.
const lastSeenGranularity = time.Minute

// The bounds of a session (Options.SessionIdle, SessionLifetime): the
// defaults, and the range CheckSessionLifetimes allows.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
	// MinSessionIdle: a session is seen to the minute
	// (lastSeenGranularity), so a shorter idle time would end sessions
	// in use.
	MinSessionIdle = 5 * time.Minute
	// MaxSessionLifetime: a month. A session's wrapping of the private
	// key lives as long as the session.
	MaxSessionLifetime = 31 * 24 * time.Hour
)

// CheckSessionLifetimes checks a session's idle time and lifetime: the
// idle time at least MinSessionIdle, the lifetime at least the idle time
// and at most MaxSessionLifetime.
func CheckSessionLifetimes(idle, lifetime time.Duration) error {
	switch {
	case idle < MinSessionIdle:
		return fmt.Errorf("sessions: the idle time %v is under %v", idle, MinSessionIdle)
	case lifetime < idle:
		return fmt.Errorf("sessions: the lifetime %v is shorter than the idle time %v", lifetime, idle)
	case lifetime > MaxSessionLifetime:
		return fmt.Errorf("sessions: the lifetime %v is over %v", lifetime, MaxSessionLifetime)
	}
	return nil
}

// Login checks a resident's national identity number and password and
// starts a session. Every failure is ErrBadCredentials and costs the same
// Argon2id work, whether or not the account exists, and whatever policy
// its password was wrapped under. When the password
// wrapping's Argon2id parameters are weaker than the store's, the private
// key is wrapped again with the current ones. A key pair from before
// envelope v2 gains its ML-KEM-768 half (keyUpgrade): the resident gets a
// new recovery key in Session.NewRecoveryKey, to be shown once, and every
// other session ends. For a resident with two-step verification on, the
// right password starts no session: Session.SecondStep is set and its
// Token names the first step of the sign-in, which CompleteLogin
// completes with a code (secondstep.go).
func (s *Store) Login(ctx context.Context, nationalID, password string) (Session, error) {
	return s.login(ctx, nationalID, password, "")
}

// login is Login, or with proofKey the password step of a sign-in with
// eID (LoginWithEID): the proof under proofKey is used in the
// transaction that starts the session, no code is asked for, and a
// number with no mailbox that may sign in is ErrNoMailbox (its holder
// proved who they are, so may be told).
func (s *Store) login(ctx context.Context, nationalID, password, proofKey string) (Session, error) {
	viaEID := proofKey != ""
	rec, err := s.residentByText(ctx, nationalID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, err
	}
	if viaEID && (rec == nil || (rec.Status != ResidentActive && rec.Status != ResidentReserved)) {
		return Session{}, ErrNoMailbox
	}
	// A mailbox made with a passkey instead of a password
	// (ActivateWithEIDPasskey) has no password wrapping: no password
	// opens it.
	if rec == nil || (rec.Status != ResidentActive && rec.Status != ResidentReserved) || len(password) > 1024 || len(rec.PasswordWrap) == 0 {
		s.spendWork([]byte(password), s.kdf)
		return Session{}, ErrBadCredentials
	}
	priv, err := crypto.UnwrapWithPassword(rec.PasswordWrap, []byte(password))
	if errors.Is(err, crypto.ErrOpen) {
		// A wrapping made under an older, cheaper policy fails faster
		// than an unknown number, which pays the current one: spend the
		// difference, so that the time of a failure tells no one which
		// numbers have accounts that have not signed in since.
		if params, err := crypto.PasswordParams(rec.PasswordWrap); err == nil {
			if extra, short := params.Shortfall(s.kdf); short {
				s.spendWork([]byte(password), extra)
			}
		}
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, fmt.Errorf("resident %s: password wrapping: %w", rec.ID, err)
	}
	defer priv.Zero()
	// A blocked account says so, with the reason, but only to whoever
	// gave its password.
	if err := blocked(rec); err != nil {
		return Session{}, err
	}

	var rewrap, recoveryWrap []byte
	var upgrade *keyUpgrade
	oldKey := priv
	if hasSecondFactor(rec) && !viaEID {
		// Two-step verification: no session until the code (totp.go) or
		// the passkey (passkeys.go). eID is a factor of its own (eid.go).
		return s.firstStep(ctx, rec, priv, password)
	}
	// The key pair gains no ML-KEM half while a second factor holds what
	// is bound to it: that would replace the recovery key, change the key
	// that seals the TOTP secret, and leave the passkeys' PRF wrappings
	// with the key pair without it.
	if !priv.HasMLKEM() && !hasSecondFactor(rec) {
		if upgrade, err = s.upgradeKeys(priv, password); err != nil {
			return Session{}, err
		}
		defer upgrade.zero()
		priv = upgrade.priv
		rewrap, recoveryWrap = upgrade.passwordWrap, upgrade.recoveryWrap
	} else if params, err := crypto.PasswordParams(rec.PasswordWrap); err == nil && params.Less(s.kdf) {
		if rewrap, err = crypto.WrapWithPassword(s.rand, priv, []byte(password), s.kdf); err != nil {
			return Session{}, err
		}
	}

	token, id, sess, err := s.newSession(ctx, priv, rec.ID)
	if err != nil {
		return Session{}, err
	}
	now := sess.Created
	if s.hookLoginChecked != nil {
		s.hookLoginChecked()
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		cur, err := getResident(tx, rec.ID)
		if err != nil {
			return err
		}
		// The password was checked against the wrapping read before, in
		// another transaction. Write the session only if the account may
		// still sign in and that wrapping is still the account's: a
		// session wrapping of the private key written onto an account
		// deleted meanwhile would undo its crypto-shredding, and a
		// re-wrapping would undo a password changed meanwhile.
		if (cur.Status != ResidentActive && cur.Status != ResidentReserved) || !bytes.Equal(cur.PasswordWrap, rec.PasswordWrap) {
			return ErrBadCredentials
		}
		if err := blocked(cur); err != nil {
			return err // blocked meanwhile
		}
		if viaEID {
			if _, err := useEIDProof(tx, proofKey, now, EIDSignIn); err != nil {
				return err
			}
		}
		cur.LastLogin = now
		if rewrap != nil {
			cur.PasswordWrap = rewrap
		}
		if upgrade != nil {
			// The wrapping compared above held no ML-KEM half, so the
			// account has none yet: it gets the one made here, wrapped by
			// the password and a new recovery key. An ML-KEM key already
			// there is never replaced: letters are sealed to it.
			if len(cur.MLKEMPublicKey) > 0 {
				// The password wrapping holds no ML-KEM half but the
				// account has one: damaged, never made by this code.
				s.log.Error("login: the password wrapping holds an older key pair than the account's; recover with the recovery key", "resident", cur.ID)
				return ErrBadCredentials
			}
			// A new recovery key made meanwhile (NewRecoveryKey) is not
			// replaced behind the resident's back: sign in again.
			if !bytes.Equal(cur.RecoveryWrap, rec.RecoveryWrap) {
				return ErrBadCredentials
			}
			cur.MLKEMPublicKey, cur.RecoveryWrap = upgrade.public, recoveryWrap
			// The other sessions hold the key pair without its ML-KEM
			// half, which opens no letter sealed from now on; they end.
			if err := deleteSessionsOf(tx, cur.ID); err != nil {
				return err
			}
			if err := resealFolderNames(tx, s.rand, cur.ID, oldKey, priv); err != nil {
				return err
			}
		}
		if err := tx.Residents().Put(cur); err != nil {
			return err
		}
		if err := tx.Sessions().Put(id, sess); err != nil {
			return err
		}
		if upgrade != nil {
			if err := s.appendAudit(tx, now, "resident:"+rec.ID, "upgrade keys to ML-KEM-768", "resident:"+rec.ID); err != nil {
				return err
			}
		}
		action := "login"
		if viaEID {
			action = "login-eid"
		}
		return s.appendAudit(tx, now, "resident:"+rec.ID, action, "resident:"+rec.ID)
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, err
	}
	out := Session{Token: token, ResidentID: rec.ID, Expires: sess.Expires}
	if upgrade != nil {
		rk := upgrade.recoveryKey
		out.NewRecoveryKey = &rk
	}
	return out, nil
}

// keyUpgrade is what a sign-in makes for a resident whose key pair has no
// ML-KEM-768 half (activated before envelope v2): the key pair with one,
// its public half, and the wrappings that replace the account's. The
// recovery wrapping cannot be remade with the old recovery key, which the
// store never holds, so a new recovery key replaces it and is shown to the
// resident once (Session.NewRecoveryKey); the old one stops working.
type keyUpgrade struct {
	priv         *crypto.PrivateKey
	public       []byte
	passwordWrap []byte
	recoveryKey  crypto.RecoveryKey
	recoveryWrap []byte
}

func (s *Store) upgradeKeys(old *crypto.PrivateKey, password string) (*keyUpgrade, error) {
	priv, err := old.WithMLKEM(s.rand)
	if err != nil {
		return nil, err
	}
	u := &keyUpgrade{priv: priv, public: priv.PublicKeys().MLKEM}
	if len(u.public) != crypto.MLKEMPublicKeySize {
		u.zero()
		return nil, fmt.Errorf("upgrade keys: no ML-KEM-768 public key made: %w", crypto.ErrFormat)
	}
	if u.passwordWrap, err = crypto.WrapWithPassword(s.rand, priv, []byte(password), s.kdf); err != nil {
		u.zero()
		return nil, err
	}
	if u.recoveryKey, err = crypto.NewRecoveryKey(s.rand); err != nil {
		u.zero()
		return nil, err
	}
	if u.recoveryWrap, err = crypto.WrapWithRecoveryKey(s.rand, priv, u.recoveryKey); err != nil {
		u.zero()
		return nil, err
	}
	return u, nil
}

func (u *keyUpgrade) zero() {
	u.priv.Zero()
	clear(u.recoveryKey[:])
}

// SessionSweepBatch is how many expired sessions one transaction of
// SweepSessions deletes at most.
const SessionSweepBatch = 1000

// SweepSessions deletes the sessions that have expired by now (past their
// lifetime, or idle for the idle time) and returns how many it deleted.
// The engine finds them through its indexes by expiry and by last seen,
// in the transaction that deletes them, so a session kept alive by a
// request meanwhile stays, and no session that is still live is read. A
// session record that does not decode has no place in those indexes and
// is left alone: it opens no mailbox, and Check reports it. The hourly
// job calls it (jobs.JobSessionSweep).
func (s *Store) SweepSessions(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		var n int
		err := s.update(ctx, func(tx storage.Tx) error {
			var err error
			n, err = tx.Sessions().DeleteExpired(now, now.Add(-s.sessionIdle), SessionSweepBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sweep sessions: %w", err)
		}
		total += n
		if n < SessionSweepBatch {
			s.searches.prune(now)
			return total, nil
		}
	}
}

func (s *Store) expired(rec *sessionRecord, now time.Time) bool {
	return !now.Before(rec.Expires) || now.Sub(rec.LastSeen) >= s.sessionIdle
}

func parseToken(token string) (id, secret []byte, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != sessionIDSize+crypto.SessionSecretSize {
		return nil, nil, ErrSessionExpired
	}
	return raw[:sessionIDSize], raw[sessionIDSize:], nil
}

// OpenSession returns the mailbox of a live session, with the resident's
// private key unwrapped by the cookie's secret. Close the mailbox when the
// request is done. An unknown, expired or idle session is
// ErrSessionExpired.
func (s *Store) OpenSession(ctx context.Context, token string) (*Mailbox, error) {
	id, secret, err := parseToken(token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var sess *sessionRecord
	var resident *residentRecord
	var prefs *preferencesRecord
	var termsPending, uncovered bool
	err = s.view(ctx, func(tx storage.Tx) error {
		var err error
		if sess, err = tx.Sessions().Get(id); err != nil {
			return err
		}
		if resident, err = getResident(tx, sess.ResidentID); err != nil {
			return err
		}
		if prefs, err = tx.Preferences().Get(sess.ResidentID); err != nil {
			return err
		}
		if _, termsPending, err = pendingTerms(tx, sess.ResidentID, now); err != nil {
			return err
		}
		uncovered, err = uncoveredGrants(tx, sess.ResidentID, now)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrSessionExpired
	} else if err != nil {
		return nil, err
	}
	// A first step of a sign-in (SecondStep) is no session, whatever its
	// cookie says; its wrapping would not open here either.
	if sess.SecondStep != nil || s.expired(sess, now) || (resident.Status != ResidentActive && resident.Status != ResidentReserved) || resident.BlockedReason != "" {
		return nil, ErrSessionExpired
	}
	priv, err := crypto.UnwrapForSession(sess.Wrap, secret, id)
	if err != nil {
		// A token with the right id and the wrong secret: forged.
		return nil, ErrSessionExpired
	}
	if len(resident.MLKEMPublicKey) > 0 && !priv.HasMLKEM() {
		// A session from before the account's key pair gained its
		// ML-KEM half (the upgrading sign-in ends them): it would open
		// no letter sealed since.
		priv.Zero()
		return nil, ErrSessionExpired
	}
	if now.Sub(sess.LastSeen) >= lastSeenGranularity {
		err := s.update(ctx, func(tx storage.Tx) error {
			cur, err := tx.Sessions().Get(id)
			if err != nil {
				return err
			}
			cur.LastSeen = now
			return tx.Sessions().Put(id, cur)
		})
		if err != nil {
			priv.Zero()
			if errors.Is(err, ErrNotFound) {
				return nil, ErrSessionExpired
			}
			return nil, err
		}
	}
	m := &Mailbox{s: s, resident: residentOf(resident), key: priv, sessionID: string(id),
		language: prefs.Language, termsPending: termsPending}
	if uncovered {
		// A grant (a guardianship recorded by the operator) waits for
		// this key to make the earlier letters readable to its delegate.
		if err := m.coverGrants(ctx, false); err != nil {
			m.Close()
			return nil, fmt.Errorf("cover grants of %s: %w", resident.ID, err)
		}
	}
	return m, nil
}

// Logout ends a session: its wrapped key is deleted, so the cookie opens
// nothing any more. Logging out of an unknown session is no error.
func (s *Store) Logout(ctx context.Context, token string) error {
	id, secret, err := parseToken(token)
	if err != nil {
		return nil
	}
	now := s.now()
	// The session's opened search index goes with it (search.go).
	defer s.searches.drop(string(id))
	return s.update(ctx, func(tx storage.Tx) error {
		sess, err := tx.Sessions().Get(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		// Only the cookie's holder may end the session: a token with the
		// right id and a wrong secret is an unknown session here too, as
		// it is for OpenSession. The first step of a sign-in ends the
		// same way, unaudited: no session began.
		binding := id
		if sess.SecondStep != nil {
			binding = secondStepBinding(id)
		}
		priv, err := crypto.UnwrapForSession(sess.Wrap, secret, binding)
		if err != nil {
			return nil
		}
		priv.Zero()
		if err := tx.Sessions().Delete(id); err != nil {
			return err
		}
		if sess.SecondStep != nil {
			return nil
		}
		return s.appendAudit(tx, now, "resident:"+sess.ResidentID, "logout", "resident:"+sess.ResidentID)
	})
}

// deleteSessionsOf deletes every session of a resident, with the session
// wrappings of the private key.
func deleteSessionsOf(tx storage.Tx, residentID string) error {
	ids, err := tx.Sessions().OfResident(residentID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := tx.Sessions().Delete(id); err != nil {
			return err
		}
	}
	return nil
}

// newSession makes a new session for priv's owner: the token for the
// cookie (its id and its secret) and the record that keeps the private key
// wrapped with the secret, which only the cookie holds. The record notes
// the device that ctx says the request came from (WithDevice).
func (s *Store) newSession(ctx context.Context, priv *crypto.PrivateKey, residentID string) (token string, id []byte, rec *sessionRecord, err error) {
	raw := make([]byte, sessionIDSize+crypto.SessionSecretSize)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return "", nil, nil, fmt.Errorf("read session token: %w", err)
	}
	id, secret := raw[:sessionIDSize], raw[sessionIDSize:]
	wrap, err := crypto.WrapForSession(s.rand, priv, secret, id)
	if err != nil {
		return "", nil, nil, err
	}
	now := s.now()
	dev := deviceOf(ctx)
	rec = &sessionRecord{ResidentID: residentID, Wrap: wrap, Created: now, LastSeen: now, Expires: now.Add(s.sessionLifetime),
		UserAgent: dev.UserAgent, Address: dev.Address}
	return base64Token(raw), id, rec, nil
}

// base64Token is the text of a token's id and secret, for a cookie.
func base64Token(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }
