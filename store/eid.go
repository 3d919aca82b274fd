package store

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Signing in with eID (DESIGN.md, "Signing in"): an OpenID Connect
// provider (MitID, ID-porten, BankID) proves who the resident is; the
// mailbox's private key is still unwrapped by something only the resident
// holds, the password. eID alone opens no mailbox.
//
// Two short-lived records keep the sign-in between requests, each bound to
// the browser by a random token that only the browser's cookie holds, and
// each used once:
//
//   - the handshake (BeginEIDHandshake, TakeEIDHandshake): the state, the
//     nonce and the PKCE verifier of one authorization request (RFC 6749
//     §10.12, OpenID Connect Core §3.1.2.1, RFC 7636), from sending the
//     browser to the provider until it comes back. Taking it deletes it,
//     so a callback (and the nonce it was made for) works once;
//   - the proof (ProveEID): the national identity number whose holder the
//     provider vouched for, until the resident gives the password
//     (LoginWithEID), chooses one for a new mailbox (ActivateWithEID) or
//     resets the mailbox (ResetWithEID). The step that uses it deletes it
//     in its own transaction.
//
// Both live in the engine's Limits (small values that expire, shared by
// the nodes of a cluster; no schema of their own), under keys derived
// from the token with the limits' secret (limitKey): the database holds
// no token that would work in a cookie. The hourly sweep of expired
// limits deletes what was never used.

// EIDLifetime is how long a handshake waits for the browser to come back
// from the provider, and how long a proof waits for the password.
const EIDLifetime = 10 * time.Minute

// eidTokenSize is the random bytes of a handshake's or a proof's token.
const eidTokenSize = 32

// EIDPurpose is what a sign-in with eID is for.
type EIDPurpose string

// The purposes of a sign-in with eID.
const (
	// EIDSignIn signs in, or makes the mailbox of a resident who has none.
	EIDSignIn EIDPurpose = "sign-in"
	// EIDReset resets a mailbox whose password and recovery key are lost.
	EIDReset EIDPurpose = "reset"
)

// EIDHandshake is what one authorization request keeps until the
// browser comes back from the provider.
type EIDHandshake struct {
	State       string
	Nonce       string
	Verifier    string // the PKCE code verifier (RFC 7636 §4.1)
	RedirectURL string // the redirect_uri sent, which the token request repeats
	Purpose     EIDPurpose
}

// EIDProof is who the provider vouched for, and what the appliance knows
// of their mailbox.
type EIDProof struct {
	NationalID NationalID
	Name       string
	Purpose    EIDPurpose
	// Status is the mailbox's status; "" when the number has none.
	Status ResidentStatus
}

// eidProofRecord is a proof as it is stored.
type eidProofRecord struct {
	Country, Number, Name string
	Purpose               EIDPurpose
}

// newEIDToken returns a new random token.
func (s *Store) newEIDToken() (string, error) {
	raw := make([]byte, eidTokenSize)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return "", fmt.Errorf("read eID token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// eidKey is the key of a handshake's or a proof's record; ok is false for
// a token that is not one of newEIDToken's.
func (s *Store) eidKey(ctx context.Context, kind, token string) (string, bool, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != eidTokenSize {
		return "", false, nil
	}
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		return "", false, err
	}
	return limitKey(secret, "eid-"+kind+"/"+token), true, nil
}

// putEID stores value under a new token of kind, expiring EIDLifetime
// from now.
func (s *Store) putEID(ctx context.Context, kind string, value any) (string, error) {
	token, err := s.newEIDToken()
	if err != nil {
		return "", err
	}
	key, _, err := s.eidKey(ctx, kind, token)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(value)
	if err != nil {
		return "", err
	}
	expires := s.now().Add(EIDLifetime)
	err = s.update(ctx, func(tx storage.Tx) error {
		return tx.Limits().Put(&storage.Limit{Key: key, Expires: expires.UTC(), Value: b})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// getEID reads the live record of kind under key into v within tx; a
// missing or expired one is ErrEIDExpired.
func getEID(tx storage.Tx, key string, now time.Time, v any) error {
	l, err := tx.Limits().Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrEIDExpired
	} else if err != nil {
		return err
	}
	if !now.Before(l.Expires) {
		return ErrEIDExpired
	}
	if err := json.Unmarshal(l.Value, v); err != nil {
		return fmt.Errorf("eID record: %w", err)
	}
	return nil
}

// BeginEIDHandshake keeps an authorization request's state, nonce and
// verifier, and returns the token that names them, for the browser's
// cookie.
func (s *Store) BeginEIDHandshake(ctx context.Context, h EIDHandshake) (string, error) {
	if h.State == "" || h.Nonce == "" || h.Verifier == "" {
		return "", errors.New("eID handshake: state, nonce and verifier are needed")
	}
	return s.putEID(ctx, "handshake", h)
}

// TakeEIDHandshake returns the handshake that token names and deletes
// it, in one transaction: a handshake is used once. An unknown, used or
// expired one, or a malformed token, is ErrEIDExpired.
func (s *Store) TakeEIDHandshake(ctx context.Context, token string) (EIDHandshake, error) {
	var h EIDHandshake
	key, ok, err := s.eidKey(ctx, "handshake", token)
	if err != nil {
		return h, err
	} else if !ok {
		return h, ErrEIDExpired
	}
	now := s.now()
	err = s.update(ctx, func(tx storage.Tx) error {
		if err := getEID(tx, key, now, &h); err != nil {
			return err
		}
		return tx.Limits().Delete(key)
	})
	return h, err
}

// EqualState compares a callback's state with the handshake's in
// constant time.
func (h EIDHandshake) EqualState(state string) bool {
	return h.State != "" && subtle.ConstantTimeCompare([]byte(h.State), []byte(state)) == 1
}

// ProveEID keeps the proof that the provider vouched for the holder of
// nid (with the name it gave), for purpose, and returns its token for the
// browser's cookie. The proof is not audited; the step that uses it is.
func (s *Store) ProveEID(ctx context.Context, nid NationalID, name string, purpose EIDPurpose) (string, error) {
	if nid.IsZero() {
		return "", invalid("nationalId", "missing")
	}
	if purpose != EIDSignIn && purpose != EIDReset {
		return "", fmt.Errorf("eID proof: purpose %q", purpose)
	}
	name = normaliseSpaces(name)
	if len(name) > 200 {
		name = ""
	}
	return s.putEID(ctx, "proof", eidProofRecord{Country: nid.Country, Number: nid.Number, Name: name, Purpose: purpose})
}

// EIDProofOf returns the proof that token names, with the status of the
// number's mailbox. An unknown, used or expired one is ErrEIDExpired.
func (s *Store) EIDProofOf(ctx context.Context, token string) (EIDProof, error) {
	var p EIDProof
	key, ok, err := s.eidKey(ctx, "proof", token)
	if err != nil {
		return p, err
	} else if !ok {
		return p, ErrEIDExpired
	}
	now := s.now()
	err = s.view(ctx, func(tx storage.Tx) error {
		var rec eidProofRecord
		if err := getEID(tx, key, now, &rec); err != nil {
			return err
		}
		p = EIDProof{NationalID: NationalID{Country: rec.Country, Number: rec.Number}, Name: rec.Name, Purpose: rec.Purpose}
		res, err := tx.Residents().ByNationalID(rec.Number)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			p.Status = res.Status
		}
		return nil
	})
	return p, err
}

// useEIDProof reads the proof under key within tx and deletes it: the
// step that uses it commits with it gone. A proof for another purpose is
// ErrEIDExpired too.
func useEIDProof(tx storage.Tx, key string, now time.Time, purpose EIDPurpose) (eidProofRecord, error) {
	var rec eidProofRecord
	if err := getEID(tx, key, now, &rec); err != nil {
		return rec, err
	}
	if rec.Purpose != purpose {
		return rec, ErrEIDExpired
	}
	return rec, tx.Limits().Delete(key)
}

// proofAndKeys reads a live proof for purpose (proofNumber), checks the
// password the resident chose against the policy and makes a new key
// pair wrapped by it: the first steps of making a mailbox with eID and of
// resetting one.
func (s *Store) proofAndKeys(ctx context.Context, token string, purpose EIDPurpose, password string) (string, eidProofRecord, *newKeyPair, error) {
	key, rec, err := s.proofNumber(ctx, token, purpose)
	if err != nil {
		return "", rec, nil, err
	}
	if err := CheckPassword(password, rec.Name, rec.Number); err != nil {
		return "", rec, nil, err
	}
	keys, err := s.newKeys(password)
	return key, rec, keys, err
}

// proofNumber reads a live proof for purpose without using it: the
// number it vouches for.
func (s *Store) proofNumber(ctx context.Context, token string, purpose EIDPurpose) (key string, rec eidProofRecord, err error) {
	key, ok, err := s.eidKey(ctx, "proof", token)
	if err != nil {
		return "", rec, err
	} else if !ok {
		return "", rec, ErrEIDExpired
	}
	now := s.now()
	err = s.view(ctx, func(tx storage.Tx) error {
		if err := getEID(tx, key, now, &rec); err != nil {
			return err
		}
		if rec.Purpose != purpose {
			return ErrEIDExpired
		}
		return nil
	})
	return key, rec, err
}

// LoginWithEID signs in the resident the proof (token) vouches for, with
// the password that unwraps the mailbox's private key: eID proves who
// the resident is, the password opens the mailbox. It is Login with the
// number from the proof, except that two-step verification asks for no
// code (eID is a factor of its own, stronger than a code), and the proof
// is used (deleted) in the transaction that starts the session. A wrong
// password is ErrBadCredentials and leaves the proof, to try again until
// it expires; a used or expired proof is ErrEIDExpired; a number with no
// mailbox that may sign in is ErrNoMailbox. Audited as "login-eid".
func (s *Store) LoginWithEID(ctx context.Context, token, password string) (Session, error) {
	key, rec, err := s.proofNumber(ctx, token, EIDSignIn)
	if err != nil {
		return Session{}, err
	}
	return s.login(ctx, rec.Number, password, key)
}

// ActivateWithEID makes the mailbox of the resident the proof (token)
// vouches for, with no activation letter: the key pair is made, wrapped
// with the password the resident chose and with a new recovery key, and a
// session starts (its NewRecoveryKey is the recovery key, to show once).
// A number with no record gets one, named as the provider named the
// resident; one the operator enrolled (pending) is activated, and its
// activation code stops working. A number whose mailbox exists, or was
// deleted, is ErrExists (the operator decides about a deleted one). A
// password against the policy is an *InvalidError for "password". The
// proof is used in the transaction. Audited as "activate-eid".
func (s *Store) ActivateWithEID(ctx context.Context, token, password string) (Session, error) {
	key, rec, keys, err := s.proofAndKeys(ctx, token, EIDSignIn, password)
	if err != nil {
		return Session{}, err
	}
	defer keys.zero()
	// The session is for the record the number names now (a pending
	// one), or for a new one; the transaction checks it still is.
	id, err := s.newID()
	if err != nil {
		return Session{}, err
	}
	if cur, err := s.residentByNumber(ctx, rec.Number); err == nil {
		id = cur.ID
	} else if !errors.Is(err, ErrNotFound) {
		return Session{}, err
	}
	return s.activateWithEID(ctx, key, rec, keys, id, "activate-eid", nil)
}

// activateWithEID makes the mailbox of the resident whose proof (under
// key, rec) was read, with the key pair keys, as the record id (the
// pending one the number names, or a new one), and starts a session: the
// transaction ActivateWithEID and ActivateWithEIDPasskey share. also, when
// not nil, runs in the transaction on the record before it is stored.
// Audited as action.
func (s *Store) activateWithEID(ctx context.Context, key string, rec eidProofRecord, keys *newKeyPair, id, action string,
	also func(tx storage.Tx, cur *residentRecord) error) (Session, error) {
	sessToken, sessID, sess, err := s.newSession(ctx, keys.priv, id)
	if err != nil {
		return Session{}, err
	}
	now := sess.Created
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := useEIDProof(tx, key, now, EIDSignIn); err != nil {
			return err
		}
		cur, err := tx.Residents().ByNationalID(rec.Number)
		switch {
		case errors.Is(err, ErrNotFound):
			if rec.Name == "" {
				return invalid("name", "the eID provider gave no name")
			}
			cur = &residentRecord{ID: id, Country: rec.Country, NationalID: rec.Number, Name: rec.Name, Created: now}
		case err != nil:
			return err
		case cur.Status != ResidentPending:
			return fmt.Errorf("resident %s: %w", cur.ID, ErrExists)
		}
		if cur.ID != id {
			return ErrEIDExpired // another record meanwhile: begin again
		}
		cur.Status = ResidentActive
		cur.PublicKey, cur.MLKEMPublicKey = keys.public.X25519[:], keys.public.MLKEM
		cur.PasswordWrap, cur.RecoveryWrap = keys.passwordWrap, keys.recoveryWrap
		cur.ActivationHash, cur.ActivationExpires = nil, time.Time{}
		cur.LastLogin = now
		if also != nil {
			if err := also(tx, cur); err != nil {
				return err
			}
		}
		if err := tx.Residents().Put(cur); err != nil {
			return err
		}
		if err := tx.Sessions().Put(sessID, sess); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+cur.ID, action, "resident:"+cur.ID)
	})
	if err != nil {
		return Session{}, err
	}
	rk := keys.recoveryKey
	return Session{Token: sessToken, ResidentID: sess.ResidentID, Expires: sess.Expires, NewRecoveryKey: &rk}, nil
}

// ResetWithEID resets the mailbox of the resident the proof (token, made
// for EIDReset) vouches for, who has lost both the password and the
// recovery key (resetMailbox says what a reset does). A mailbox that is
// not active or reserved is ErrNoMailbox. The proof is used in the
// reset's transaction. Audited as "reset-eid", with the number of
// letters deleted.
func (s *Store) ResetWithEID(ctx context.Context, token, password string) (Session, error) {
	key, rec, keys, err := s.proofAndKeys(ctx, token, EIDReset, password)
	if err != nil {
		return Session{}, err
	}
	defer keys.zero()
	return s.resetMailbox(ctx, rec.Number, keys, "reset-eid", func(tx storage.Tx, _ *residentRecord, now time.Time) error {
		_, err := useEIDProof(tx, key, now, EIDReset)
		return err
	})
}

// newKeyPair is a new key pair with its wrappings by a password and by a
// new recovery key.
type newKeyPair struct {
	priv         *crypto.PrivateKey
	public       crypto.PublicKeys
	passwordWrap []byte
	recoveryKey  crypto.RecoveryKey
	recoveryWrap []byte
}

func (k *newKeyPair) zero() {
	k.priv.Zero()
	clear(k.recoveryKey[:])
}

// newKeys makes a key pair and wraps it with password and a new recovery
// key (the Argon2id work, outside any transaction).
func (s *Store) newKeys(password string) (*newKeyPair, error) {
	k, err := s.newKeysWithoutPassword()
	if err != nil {
		return nil, err
	}
	if k.passwordWrap, err = crypto.WrapWithPassword(s.rand, k.priv, []byte(password), s.kdf); err != nil {
		k.zero()
		return nil, err
	}
	return k, nil
}

// newKeysWithoutPassword makes a key pair and wraps it with a new
// recovery key only: the caller wraps it for what else unlocks it.
func (s *Store) newKeysWithoutPassword() (*newKeyPair, error) {
	priv, err := crypto.GenerateKeyPair(s.rand)
	if err != nil {
		return nil, err
	}
	k := &newKeyPair{priv: priv, public: priv.PublicKeys()}
	if k.recoveryKey, err = crypto.NewRecoveryKey(s.rand); err != nil {
		k.zero()
		return nil, err
	}
	if k.recoveryWrap, err = crypto.WrapWithRecoveryKey(s.rand, priv, k.recoveryKey); err != nil {
		k.zero()
		return nil, err
	}
	return k, nil
}

// residentByNumber reads the record of a national identity number's
// digits (any status).
func (s *Store) residentByNumber(ctx context.Context, number string) (*residentRecord, error) {
	var rec *residentRecord
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		rec, err = tx.Residents().ByNationalID(number)
		return err
	})
	return rec, err
}
