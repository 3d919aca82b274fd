package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Enrolment in two steps, so that the operator never holds anything that
// opens a resident's mail (DESIGN.md, "Key hierarchy"):
//
//  1. The operator enrols the resident (EnrolResident, reached through
//     `postkasse resident add`): the mailbox is pending, with no key pair,
//     and the operator gets a one-time activation code to hand to the
//     resident (in a letter on paper, at the service desk).
//  2. The resident activates the mailbox in their own browser (Activate):
//     with the code they choose a password; the key pair is made then,
//     wrapped with that password and with a new recovery key that only
//     the resident's browser is shown.
//
// While pending, the mailbox takes no post (lookups say not digital,
// deliveries get ErrRecipientNotDigital), so nothing is ever sealed to a
// key that did not come from the resident's own activation.
//
// The code has activationCodeSize random bytes. Only its hash is stored:
// SHA-256 without a KDF is enough for a random secret of 160 bits, which
// cannot be guessed from its hash. Residual risk: whoever holds the code
// can activate the mailbox first. The resident then cannot activate it,
// notices at once, and the audit log shows the "activate" entry; the
// operator deletes the account and enrols the resident again. Letters
// cannot have reached such a mailbox before it was activated.

// DefaultActivationLifetime is how long an activation code stays valid
// when Options.ActivationLifetime is zero.
const DefaultActivationLifetime = 30 * 24 * time.Hour

// activationCodeSize is the number of random bytes of an activation code:
// 160 bits, 32 base32 characters.
const activationCodeSize = 20

// activationEncoding writes activation codes: RFC 4648 §6 base32 without
// padding (A–Z and 2–7, so no 0/O, 1/I or 8/B to confuse).
var activationEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// activationLabel separates the hash of an activation code from every
// other use of SHA-256 in the appliance.
const activationLabel = "postkasse/v1/activation-code"

// formatActivationCode writes a code in groups of four characters
// ("ABCD-EFGH-…"), for a person to copy.
func formatActivationCode(raw []byte) string {
	text := activationEncoding.EncodeToString(raw)
	var b strings.Builder
	for i := 0; i < len(text); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(text[i:min(i+4, len(text))])
	}
	return b.String()
}

// parseActivationCode reads a code as a person typed it: case, spaces and
// hyphens do not matter, and the digits 0, 1 and 8 (which the alphabet
// lacks) are read as the letters O, I and B they are mistaken for.
func parseActivationCode(text string) ([]byte, bool) {
	if len(text) > 200 {
		return nil, false
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		case '0':
			return 'O'
		case '1':
			return 'I'
		case '8':
			return 'B'
		}
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, text)
	// Exactly the code's length: 160 bits are 32 characters with no bits
	// left over, so every code has one spelling.
	if len(clean) != activationEncoding.EncodedLen(activationCodeSize) {
		return nil, false
	}
	raw, err := activationEncoding.DecodeString(clean)
	if err != nil || len(raw) != activationCodeSize {
		return nil, false
	}
	return raw, true
}

// activationHash is what the database keeps of an activation code.
func activationHash(raw []byte) []byte {
	h := sha256.New()
	h.Write([]byte(activationLabel))
	h.Write(raw)
	return h.Sum(nil)
}

// EnrolResident enrols a resident for the operator: the mailbox is
// pending, without a key pair, and the returned activation code (shown
// once; only its hash is stored) lets the resident activate it in their
// browser (Activate) until it expires (Options.ActivationLifetime). A
// pending mailbox takes no post and cannot log in.
//
// Enrolling a resident who is still pending again gives a new code (and
// the name given now); the earlier code stops working. Any other resident
// with the number, a deleted account's tombstone among them, is
// ErrExists.
func (s *Store) EnrolResident(ctx context.Context, nid NationalID, name string) (Resident, string, error) {
	name = normaliseSpaces(name)
	if err := checkEnrolment(nid, name); err != nil {
		return Resident{}, "", err
	}
	raw := make([]byte, activationCodeSize)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return Resident{}, "", fmt.Errorf("read activation code: %w", err)
	}
	defer clear(raw)
	id, err := s.newID()
	if err != nil {
		return Resident{}, "", err
	}
	now := s.now()
	var out Resident
	err = s.update(ctx, func(tx storage.Tx) error {
		action := "enrol-resident"
		rec := &residentRecord{ID: id, Country: nid.Country, NationalID: nid.Number, Created: now}
		cur, err := getResidentByNID(tx, nid)
		switch {
		case err == nil:
			if cur.Status != ResidentPending {
				return fmt.Errorf("resident %s: %w", nid, ErrExists)
			}
			rec, action = cur, "renew-activation-code"
		case !errors.Is(err, ErrNotFound):
			return err
		}
		rec.Name, rec.Status = name, ResidentPending
		rec.ActivationHash = activationHash(raw)
		rec.ActivationExpires = now.Add(s.activationLifetime)
		if err := tx.Residents().Put(rec); err != nil {
			return err
		}
		out = residentOf(rec)
		return s.appendAudit(tx, now, operatorActor(ctx), action, "resident:"+rec.ID)
	})
	if err != nil {
		return Resident{}, "", err
	}
	return out, formatActivationCode(raw), nil
}

func checkEnrolment(nid NationalID, name string) error {
	if nid.IsZero() {
		return invalid("nationalId", "missing")
	}
	if name == "" || len(name) > 200 || !utf8.ValidString(name) {
		return invalid("name", "between 1 and 200 bytes of text")
	}
	return nil
}

// Activate activates a pending mailbox with its activation code, in the
// resident's browser: it makes the key pair, wraps the private key with
// the resident's new password and with a new recovery key, and makes the
// mailbox active. The recovery key is returned to be shown to the
// resident once; it is not stored. The code's hash is deleted, so a code
// works once.
//
// A password against the policy is an *InvalidError for "password". An
// unknown or invalid number, a mailbox that is not pending, a wrong or
// expired code are all ErrBadActivation, and each costs the same Argon2id
// work as a failed login. The Argon2id work runs outside the write
// transaction, so it does not hold up deliveries.
func (s *Store) Activate(ctx context.Context, nationalID, code, password string) (crypto.RecoveryKey, error) {
	var rk crypto.RecoveryKey
	if err := CheckPassword(password, nationalID); err != nil {
		return rk, err
	}
	now := s.now()
	rec, err := s.residentByText(ctx, nationalID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return rk, err
	}
	raw, parsed := parseActivationCode(code)
	if !parsed {
		raw = make([]byte, activationCodeSize)
	}
	hash := activationHash(raw)
	clear(raw)
	// Every comparison runs whatever failed before it, so the time taken
	// does not tell which check failed.
	ok := parsed
	var stored []byte
	if rec != nil {
		stored = rec.ActivationHash
		ok = ok && rec.Status == ResidentPending && now.Before(rec.ActivationExpires)
	} else {
		ok = false
	}
	if len(stored) != len(hash) {
		stored, ok = make([]byte, len(hash)), false
	}
	ok = subtle.ConstantTimeCompare(stored, hash) == 1 && ok
	if !ok {
		crypto.SpendPasswordWork([]byte(password), s.kdf)
		return rk, ErrBadActivation
	}

	priv, err := crypto.GenerateKeyPair(s.rand)
	if err != nil {
		return rk, err
	}
	defer priv.Zero()
	if rk, err = crypto.NewRecoveryKey(s.rand); err != nil {
		return rk, err
	}
	pwWrap, err := crypto.WrapWithPassword(s.rand, priv, []byte(password), s.kdf)
	if err != nil {
		clear(rk[:])
		return crypto.RecoveryKey{}, err
	}
	rkWrap, err := crypto.WrapWithRecoveryKey(s.rand, priv, rk)
	if err != nil {
		clear(rk[:])
		return crypto.RecoveryKey{}, err
	}
	pub := priv.PublicKeys()
	err = s.update(ctx, func(tx storage.Tx) error {
		cur, err := getResident(tx, rec.ID)
		if err != nil {
			return err
		}
		// The code checked above must still be the mailbox's: not used by
		// an activation that committed meanwhile, nor renewed, nor
		// expired.
		if cur.Status != ResidentPending || !bytes.Equal(cur.ActivationHash, hash) || !now.Before(cur.ActivationExpires) {
			return ErrBadActivation
		}
		cur.Status = ResidentActive
		cur.PublicKey, cur.MLKEMPublicKey = pub.X25519[:], pub.MLKEM
		cur.PasswordWrap, cur.RecoveryWrap = pwWrap, rkWrap
		cur.ActivationHash, cur.ActivationExpires = nil, time.Time{}
		if err := tx.Residents().Put(cur); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+cur.ID, "activate", "resident:"+cur.ID)
	})
	if err != nil {
		clear(rk[:])
		return crypto.RecoveryKey{}, err
	}
	return rk, nil
}
