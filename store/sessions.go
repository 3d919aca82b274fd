package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
)

const sessionIDSize = 16

// sessionRecord is a login as stored in the sessions bucket, keyed by the
// session id. Wrap is the resident's private key wrapped with the secret
// that only the session cookie holds.
type sessionRecord struct {
	ResidentID string
	Wrap       []byte
	Created    time.Time
	LastSeen   time.Time
	Expires    time.Time
}

// lastSeenGranularity: a session's LastSeen is written at most this often,
// so reading mail does not cost a disk write per request.
const lastSeenGranularity = time.Minute

// Login checks a resident's national identity number and password and
// starts a session. Every failure is ErrBadCredentials and costs the same
// Argon2id work, whether or not the account exists. When the password
// wrapping's Argon2id parameters are weaker than the store's, the private
// key is wrapped again with the current ones.
func (s *Store) Login(nationalID, password string) (Session, error) {
	rec, err := s.residentByText(nationalID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, err
	}
	if rec == nil || (rec.Status != ResidentActive && rec.Status != ResidentReserved) || len(password) > 1024 {
		crypto.SpendPasswordWork([]byte(password), s.kdf)
		return Session{}, ErrBadCredentials
	}
	priv, err := crypto.UnwrapWithPassword(rec.PasswordWrap, []byte(password))
	if errors.Is(err, crypto.ErrOpen) {
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, fmt.Errorf("resident %s: password wrapping: %w", rec.ID, err)
	}
	defer priv.Zero()

	var rewrap []byte
	if params, err := crypto.PasswordParams(rec.PasswordWrap); err == nil && params.Less(s.kdf) {
		if rewrap, err = crypto.WrapWithPassword(s.rand, priv, []byte(password), s.kdf); err != nil {
			return Session{}, err
		}
	}

	token := make([]byte, sessionIDSize+crypto.SessionSecretSize)
	if _, err := io.ReadFull(s.rand, token); err != nil {
		return Session{}, fmt.Errorf("read session token: %w", err)
	}
	id, secret := token[:sessionIDSize], token[sessionIDSize:]
	wrap, err := crypto.WrapForSession(s.rand, priv, secret, id)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	sess := sessionRecord{ResidentID: rec.ID, Wrap: wrap, Created: now, LastSeen: now, Expires: now.Add(s.sessionLifetime)}
	err = s.update(func(tx *bolt.Tx) error {
		cur, err := getResident(tx, rec.ID)
		if err != nil {
			return err
		}
		cur.LastLogin = now
		if rewrap != nil {
			cur.PasswordWrap = rewrap
		}
		if err := putJSON(tx.Bucket(bucketResidents), []byte(cur.ID), cur); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketSessions), id, &sess); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+rec.ID, "login", "resident:"+rec.ID)
	})
	if err != nil {
		return Session{}, err
	}
	// Expired sessions go now, after the login's own write and outside it
	// (SweepSessions). The login stands whether or not that works.
	if _, err := s.SweepSessions(now); err != nil {
		s.log.Warn("sweep expired sessions", "err", err)
	}
	return Session{Token: base64.RawURLEncoding.EncodeToString(token), ResidentID: rec.ID, Expires: sess.Expires}, nil
}

// SweepSessions deletes the sessions that have expired by now (past their
// lifetime or idle too long) and returns how many it deleted. It decodes
// every session in a read transaction, which holds up no delivery or other
// write, and then, only if some expired, deletes those in a write
// transaction that decodes just them and checks each again (a request may
// have kept one alive meanwhile). A session record that does not decode is
// left alone: it opens no mailbox. Login calls it; a scheduler may too.
func (s *Store) SweepSessions(now time.Time) (int, error) {
	var dead [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			var rec sessionRecord
			if json.Unmarshal(v, &rec) == nil && s.expired(&rec, now) {
				dead = append(dead, bytes.Clone(k))
			}
			return nil
		})
	})
	if err != nil || len(dead) == 0 {
		return 0, err
	}
	var n int
	err = s.update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketSessions)
		for _, k := range dead {
			var rec sessionRecord
			if getJSON(b, k, &rec) != nil || !s.expired(&rec, now) {
				continue // logged out, unreadable, or seen since
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep sessions: %w", err)
	}
	return n, nil
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
func (s *Store) OpenSession(token string) (*Mailbox, error) {
	id, secret, err := parseToken(token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var sess sessionRecord
	var resident *residentRecord
	var prefs preferencesRecord
	err = s.db.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bucketSessions), id, &sess); err != nil {
			return err
		}
		var err error
		if resident, err = getResident(tx, sess.ResidentID); err != nil {
			return err
		}
		prefs, err = getPreferenceRecord(tx, sess.ResidentID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrSessionExpired
	} else if err != nil {
		return nil, err
	}
	if s.expired(&sess, now) || (resident.Status != ResidentActive && resident.Status != ResidentReserved) {
		return nil, ErrSessionExpired
	}
	priv, err := crypto.UnwrapForSession(sess.Wrap, secret, id)
	if err != nil {
		// A token with the right id and the wrong secret: forged.
		return nil, ErrSessionExpired
	}
	if now.Sub(sess.LastSeen) >= lastSeenGranularity {
		err := s.update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSessions)
			var cur sessionRecord
			if err := getJSON(b, id, &cur); err != nil {
				return err
			}
			cur.LastSeen = now
			return putJSON(b, id, &cur)
		})
		if err != nil {
			priv.Zero()
			if errors.Is(err, ErrNotFound) {
				return nil, ErrSessionExpired
			}
			return nil, err
		}
	}
	return &Mailbox{s: s, resident: resident.resident(), key: priv, sessionID: string(id), language: prefs.Language}, nil
}

// Logout ends a session: its wrapped key is deleted, so the cookie opens
// nothing any more. Logging out of an unknown session is no error.
func (s *Store) Logout(token string) error {
	id, secret, err := parseToken(token)
	if err != nil {
		return nil
	}
	now := s.now()
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		var sess sessionRecord
		if err := getJSON(b, id, &sess); errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		// Only the cookie's holder may end the session: a token with the
		// right id and a wrong secret is an unknown session here too, as
		// it is for OpenSession.
		priv, err := crypto.UnwrapForSession(sess.Wrap, secret, id)
		if err != nil {
			return nil
		}
		priv.Zero()
		if err := b.Delete(id); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+sess.ResidentID, "logout", "resident:"+sess.ResidentID)
	})
}
