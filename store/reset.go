package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Resetting a mailbox whose password and recovery key are both lost
// (issue 11, "forgotten password without the recovery key"): the private
// key cannot be unwrapped any more, so the only way back in is a new key
// pair, and everything sealed to the old one is deleted. The resident
// first proves who they are again, in one of two ways:
//
//   - eID (ResetWithEID): the provider vouches for the number;
//   - a reset code from the operator (IssueResetCode, `postkasse resident
//     reset-code`, then ResetWithCode), for appliances without eID: the
//     operator hands it over as they hand over an activation code, after
//     checking who the resident is at the service desk.
//
// A reset code has the shape and alphabet of an activation code
// (activation.go: 160 random bits, 32 base32 characters) and lives
// resetCodeLifetime. It is kept in the engine's Limits, so it needs no
// record of its own: under a key derived from the resident's id with the
// limits' secret (limitKey), the value is the code's SHA-256 under its
// own label and the time it was issued (resetCodeValue), and the limit
// expires with the code (the hourly sweep deletes one never used). A new
// code replaces the one before; the reset deletes it in its transaction,
// so a code works once; and a sign-in after the code was issued voids it
// (every way in sets LastLogin): a resident who can still sign in has not
// lost their keys, and a code left in a drawer must not empty a mailbox
// in use.
//
// The operator holds the code, not the mailbox: a reset opens no earlier
// letter. But whoever resets chooses the new password, so letters
// delivered after a reset are theirs to read: a reset made by someone
// else than the resident (the operator included) would take over the
// mailbox's new mail. The resident is therefore told on every channel
// they chose, in the reset's transaction (NotifyMailboxReset), besides
// finding that their password no longer works; the audit log shows
// "reset-code-issued" by the operator and "reset-code" or "reset-eid".

// resetCodeLifetime is how long a reset code works: long enough to take
// home from the service desk, short enough that a forgotten one is gone
// soon (an activation code lives longer: it opens an empty mailbox).
const resetCodeLifetime = 72 * time.Hour

// resetCodeLabel separates the hash of a reset code from that of an
// activation code (which has the same shape) and every other use of
// SHA-256 in the appliance.
const resetCodeLabel = "postkasse/v1/reset-code"

// resetCodeHash is what the database keeps of a reset code.
func resetCodeHash(raw []byte) []byte {
	h := sha256.New()
	h.Write([]byte(resetCodeLabel))
	h.Write(raw)
	return h.Sum(nil)
}

// resetCodeValue is the limit's value of a reset code: its hash, then the
// time it was issued (Unix nanoseconds, big-endian).
func resetCodeValue(hash []byte, issued time.Time) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(hash), uint64(issued.UnixNano()))
}

// parseResetCodeValue splits resetCodeValue's value; false for one of
// another shape.
func parseResetCodeValue(v []byte) (hash []byte, issued time.Time, ok bool) {
	if len(v) != sha256.Size+8 {
		return nil, time.Time{}, false
	}
	return v[:sha256.Size], time.Unix(0, int64(binary.BigEndian.Uint64(v[sha256.Size:]))), true
}

// resetCodeKey is the limits' key of the reset code of resident id.
func resetCodeKey(secret []byte, id string) string {
	return limitKey(secret, "reset-code/"+id)
}

// ResetCode is a reset code the operator hands to a resident: shown once,
// only its hash is stored.
type ResetCode struct {
	Resident Resident
	Code     string
	Expires  time.Time
}

// IssueResetCode gives the operator a one-time code with which the
// resident (nid) resets their mailbox in the browser (ResetWithCode),
// until it expires (resetCodeLifetime) or the resident signs in. A code
// issued before stops working. Only an active or reserved mailbox can be reset: a
// pending one is activated with its activation code instead (renewed by
// EnrolResident), and a blocked, closed, deceased or deleted one cannot
// be (InvalidError, field "status"); an unknown number is ErrNotFound.
// Audited as "reset-code-issued", by the operator.
func (s *Store) IssueResetCode(ctx context.Context, nid NationalID) (ResetCode, error) {
	raw := make([]byte, activationCodeSize)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return ResetCode{}, fmt.Errorf("read reset code: %w", err)
	}
	defer clear(raw)
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		return ResetCode{}, err
	}
	now := s.now()
	out := ResetCode{Code: formatActivationCode(raw), Expires: now.Add(resetCodeLifetime).UTC()}
	err = s.update(ctx, func(tx storage.Tx) error {
		rec, err := getResidentByNID(tx, nid)
		if err != nil {
			return fmt.Errorf("resident %s: %w", nid, err)
		}
		switch {
		case rec.Status == ResidentPending:
			return invalid("status", "the mailbox was never activated, so there is nothing to reset: give the resident a new activation code with `postkasse resident add`")
		case rec.Status != ResidentActive && rec.Status != ResidentReserved:
			return invalid("status", "a %s mailbox cannot be reset", rec.Status)
		case rec.BlockedReason != "":
			return invalid("status", "access to the mailbox is blocked: unblock it first")
		}
		if err := tx.Limits().Put(&storage.Limit{Key: resetCodeKey(secret, rec.ID), Expires: out.Expires, Value: resetCodeValue(resetCodeHash(raw), now)}); err != nil {
			return err
		}
		out.Resident = residentOf(rec)
		return s.appendAudit(tx, now, operatorActor(ctx), "reset-code-issued", "resident:"+rec.ID)
	})
	if err != nil {
		return ResetCode{}, err
	}
	return out, nil
}

// ResetWithCode resets the mailbox of the resident numbered nationalID
// with a reset code from the operator (IssueResetCode) and the new
// password they chose (resetMailbox says what a reset does). The code is
// used in the reset's transaction.
//
// An unknown or invalid number, a mailbox that is not active or reserved,
// a wrong, expired or used code are all ErrBadResetCode, and each costs
// the same Argon2id work as a failed login. The one exception tells only
// the holder of a mailbox's live secret what they hold: the activation
// code of a mailbox never activated is ErrResetCodePending, since there
// is nothing to reset and activating is the way in. A password against
// the policy is an *InvalidError for "password", checked once the code
// is (it may name the resident), and leaves the code to try again.
// Audited as "reset-code", with the number of letters deleted.
func (s *Store) ResetWithCode(ctx context.Context, nationalID, code, password string) (Session, error) {
	rec, err := s.residentByText(ctx, nationalID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, err
	}
	raw, parsed := parseActivationCode(code)
	if !parsed {
		raw = make([]byte, activationCodeSize)
	}
	hash, activation := resetCodeHash(raw), activationHash(raw)
	clear(raw)
	key, stored := "", []byte(nil)
	now := s.now()
	if rec != nil {
		secret, err := s.limitsSecret(ctx)
		if err != nil {
			return Session{}, err
		}
		key = resetCodeKey(secret, rec.ID)
		if err := s.view(ctx, func(tx storage.Tx) error {
			l, err := tx.Limits().Get(key)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if err == nil && now.Before(l.Expires) {
				if h, issued, ok := parseResetCodeValue(l.Value); ok && !rec.LastLogin.After(issued) {
					stored = bytes.Clone(h)
				}
			}
			return nil
		}); err != nil {
			return Session{}, err
		}
	}
	// Every comparison runs whatever failed before it, so the time taken
	// does not tell which check failed.
	ok := parsed && rec != nil && (rec.Status == ResidentActive || rec.Status == ResidentReserved)
	if len(stored) != len(hash) {
		stored, ok = make([]byte, len(hash)), false
	}
	ok = subtle.ConstantTimeCompare(stored, hash) == 1 && ok
	if !ok {
		crypto.SpendPasswordWork([]byte(password), s.kdf)
		if parsed && rec != nil && rec.Status == ResidentPending && now.Before(rec.ActivationExpires) &&
			len(rec.ActivationHash) == len(activation) && subtle.ConstantTimeCompare(rec.ActivationHash, activation) == 1 {
			return Session{}, ErrResetCodePending
		}
		return Session{}, ErrBadResetCode
	}
	if err := CheckPassword(password, rec.Name, rec.NationalID); err != nil {
		return Session{}, err
	}
	keys, err := s.newKeys(password)
	if err != nil {
		return Session{}, err
	}
	defer keys.zero()
	return s.resetMailbox(ctx, rec.NationalID, keys, "reset-code", func(tx storage.Tx, cur *residentRecord, now time.Time) error {
		// The code checked above must still be the mailbox's: not used by
		// a reset that committed meanwhile, nor replaced, nor expired.
		if cur.ID != rec.ID {
			return ErrBadResetCode
		}
		l, err := tx.Limits().Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrBadResetCode
		} else if err != nil {
			return err
		}
		stored, issued, ok := parseResetCodeValue(l.Value)
		if !ok || !now.Before(l.Expires) || subtle.ConstantTimeCompare(stored, hash) != 1 || cur.LastLogin.After(issued) {
			return ErrBadResetCode
		}
		return tx.Limits().Delete(key)
	})
}

// resetMailbox is the one reset of a mailbox, whichever way the resident
// proved who they are: the resident numbered number gets the new key
// pair keys (wrapped with the new password and a new recovery key), and
// everything sealed to the old one is deleted, since nothing can open it
// any more — every letter, the folders (their names are sealed), the
// search index, two-step verification (its secret is sealed, the
// passkeys wrap the old key) and every session; the senders get a
// "deleted" event for each letter, as when the resident deletes one. A
// session starts; its NewRecoveryKey is the recovery key, to show once.
// The page says all this before the resident confirms.
//
// use checks and uses the proof, within the transaction, for the record
// as it is then: its error aborts the reset. A mailbox that is not active
// or reserved is ErrNoMailbox, a blocked one a *BlockedError. Audited as
// action, with the number of letters deleted.
func (s *Store) resetMailbox(ctx context.Context, number string, keys *newKeyPair, action string, use func(tx storage.Tx, cur *residentRecord, now time.Time) error) (Session, error) {
	res, err := s.residentByNumber(ctx, number)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrNoMailbox
	} else if err != nil {
		return Session{}, err
	}
	sessToken, sessID, sess, err := s.newSession(ctx, keys.priv, res.ID)
	if err != nil {
		return Session{}, err
	}
	now := sess.Created
	err = s.update(ctx, func(tx storage.Tx) error {
		cur, err := tx.Residents().ByNationalID(number)
		if errors.Is(err, ErrNotFound) {
			return ErrNoMailbox
		} else if err != nil {
			return err
		}
		if err := use(tx, cur, now); err != nil {
			return err
		}
		if cur.ID != res.ID || (cur.Status != ResidentActive && cur.Status != ResidentReserved) {
			return ErrNoMailbox
		}
		if err := blocked(cur); err != nil {
			return err
		}
		// A letter the operator holds under a legal obligation stays, as
		// it is: sealed to the old key, it opens for no one, but the
		// hold keeps its bytes until it is lifted.
		// Its own folders go (below): a held letter in one is kept in the
		// inbox.
		var letters []*letterRecord
		if err := forEachMailboxLetter(tx, cur.ID, func(l *letterRecord) error {
			switch {
			case l.Hold == nil:
				letters = append(letters, l)
			case l.Folder != FolderInbox && l.Folder != FolderArchive:
				l.Folder = FolderInbox
				return tx.Letters().Put(l)
			}
			return nil
		}); err != nil {
			return err
		}
		// Letters scheduled for later are sealed to the old key too: once
		// released they would open for no one. They go like the others.
		scheduled, err := scheduledOf(tx, cur.ID)
		if err != nil {
			return err
		}
		for _, l := range scheduled {
			if l.Hold == nil {
				letters = append(letters, l)
			}
		}
		for _, l := range letters {
			if err := shredLetter(tx, l, now); err != nil {
				return err
			}
			// Its sender is told, as when the resident deletes it.
			if err := appendEvent(tx, l, EventDeleted, now); err != nil {
				return err
			}
		}
		if err := deleteSessionsOf(tx, cur.ID); err != nil {
			return err
		}
		if err := tx.Folders().Put(cur.ID, nil); err != nil {
			return err
		}
		if err := tx.SearchIndexes().Delete(cur.ID); err != nil {
			return err
		}
		// Grants to and from the old key pair end: no copy sealed to it
		// opens any more, and the grantor's letters are gone.
		if err := s.endDelegationsOf(tx, cur.ID, now); err != nil {
			return err
		}
		cur.PublicKey, cur.MLKEMPublicKey = keys.public.X25519[:], keys.public.MLKEM
		cur.PasswordWrap, cur.RecoveryWrap = keys.passwordWrap, keys.recoveryWrap
		// Two-step verification goes with the old key pair: the TOTP
		// secret was sealed under it, and the passkeys wrap it.
		cur.TOTP, cur.Passkeys = nil, nil
		cur.LastLogin = now
		if err := tx.Residents().Put(cur); err != nil {
			return err
		}
		if err := tx.Sessions().Put(sessID, sess); err != nil {
			return err
		}
		// The resident hears of it wherever they chose to: a reset they
		// did not make is someone taking over their new mail.
		if err := s.queueNotification(tx, cur.ID, outboxRecord{Kind: NotifyMailboxReset}, now); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+cur.ID, fmt.Sprintf("%s (%d letters deleted)", action, len(letters)), "resident:"+cur.ID)
	})
	if err != nil {
		return Session{}, err
	}
	rk := keys.recoveryKey
	return Session{Token: sessToken, ResidentID: sess.ResidentID, Expires: sess.Expires, NewRecoveryKey: &rk}, nil
}
