package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Two-step verification: after the password, a sign-in asks for a
// time-based one-time code (TOTP, RFC 6238: HOTP, RFC 4226, of the number
// of 30-second steps since the Unix epoch, 6 digits, HMAC-SHA-1, as every
// authenticator app computes it) or one of ten backup codes.
//
// The shared secret is stored sealed with a key derived from the
// resident's private key (PrivateKey.DeriveDataKey, like the listing key
// of listing.go), never in clear, and not sealed to the public key: a
// secret sealed to the public key could be written by anyone who can write
// the database, while a derived key is known only to whoever holds the
// private key and goes with it (a deleted account keeps nothing that opens
// the secret; no second wrapping has to be shredded). The private key is
// at hand every time the secret is needed: while the resident is signed in
// (setting it up, turning it off) and at sign-in, where the password has
// unwrapped the key before the code is checked. Opening it is a symmetric
// operation, no public-key work.
//
// The derived key changes when a key pair gains its ML-KEM half. That
// happens only at a sign-in without two-step verification (Login does not
// upgrade while it is on) or at a recovery (Recover turns it off), so a
// secret never has to be sealed again.
//
// The backup codes are stored only as hashes (SHA-256 with a label and the
// resident's id): each holds 60 random bits, and a guess costs a sign-in
// under the login throttle. Whoever reads the database and could try
// hashes offline must still know the password to use a code, and with it
// holds the mailbox's key already: the codes guard the sign-in, not the
// data.
//
// Every code is single use: the step of the last TOTP code accepted is
// stored and no code of that step or an earlier one is accepted again
// (RFC 6238 §5.2); a backup code's hash is deleted when it is used. The
// check runs inside the transaction that records the use, so two requests
// with the same code cannot both pass.

// TOTP parameters (RFC 6238 §4 and §5.2). Authenticator apps expect them.
const (
	totpPeriod = 30 * time.Second
	totpDigits = otp.DigitsSix
	// totpSkew is how many steps before and after the current one are
	// accepted, for a phone's clock that is a little off.
	totpSkew = 1
	// totpSecretSize is the secret's length in bytes: 160 bits, the
	// length RFC 4226 §4 recommends for HMAC-SHA-1.
	totpSecretSize = 20
	// totpIssuer names the appliance in the resident's authenticator app.
	totpIssuer = "Postkasse"
	// totpPurpose names the key that seals the secret among keys derived
	// from a resident's private key; totpSecretLabel is the sealed
	// field's label.
	totpPurpose     = "totp"
	totpSecretLabel = "totp-secret"
)

// Backup codes.
const (
	// BackupCodeCount is how many backup codes a resident gets at a time.
	BackupCodeCount = 10
	// backupCodeLength is a code's length in characters of
	// backupAlphabet (5 bits each: 60 bits).
	backupCodeLength = 12
	// backupAlphabet is Crockford's base32 alphabet in lower case: no i,
	// l, o or u to misread.
	backupAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	// backupHashLabel separates the codes' hashes from every other hash.
	backupHashLabel = "postkasse/v1/backup-code"
)

// b32NoPadding encodes TOTP secrets as authenticator apps read them
// (RFC 4648 base32, no padding).
var b32NoPadding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrTOTPOn: two-step verification is on already (set it up again only
// after turning it off).
var ErrTOTPOn = errors.New("two-step verification is on already")

// TOTPKey is a new TOTP secret to set up, before it is stored: its text
// for typing into an app, and the otpauth URL that the QR code carries.
type TOTPKey struct {
	// Secret is the secret in base32 without padding, upper case.
	Secret string
	// URL is the otpauth:// URL (Key Uri Format of Google Authenticator,
	// which every authenticator app reads).
	URL string
	key *otp.Key
}

// QRCode returns the QR code of the key's URL (made by pquerna/otp with
// boombuler/barcode), size × size pixels.
func (k TOTPKey) QRCode(size int) (image.Image, error) {
	return k.key.Image(size, size)
}

// NewTOTPKey makes a new TOTP secret for the mailbox's owner to set up.
// Nothing is stored: EnableTOTP stores it once the resident has shown
// that their app computes its codes.
func (m *Mailbox) NewTOTPKey() (TOTPKey, error) {
	secret := make([]byte, totpSecretSize)
	if _, err := io.ReadFull(m.s.rand, secret); err != nil {
		return TOTPKey{}, fmt.Errorf("read totp secret: %w", err)
	}
	return m.totpKey(secret)
}

// TOTPKeyOf returns the TOTPKey of a secret in base32 (as NewTOTPKey
// gave it, sent back by the set-up form). A secret that does not decode
// to 20 bytes is an *InvalidError.
func (m *Mailbox) TOTPKeyOf(secret string) (TOTPKey, error) {
	raw, err := parseTOTPSecret(secret)
	if err != nil {
		return TOTPKey{}, err
	}
	return m.totpKey(raw)
}

func (m *Mailbox) totpKey(secret []byte) (TOTPKey, error) {
	account := m.resident.Name
	if account == "" {
		account = m.resident.ID
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: account, Secret: secret,
		Period: uint(totpPeriod / time.Second), Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("totp key: %w", err)
	}
	return TOTPKey{Secret: key.Secret(), URL: key.URL(), key: key}, nil
}

// parseTOTPSecret decodes a TOTP secret in base32 (either case, spaces
// ignored, with or without padding): exactly totpSecretSize bytes.
func parseTOTPSecret(s string) ([]byte, error) {
	if len(s) > 128 {
		return nil, invalid("secret", "too long")
	}
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	s = strings.TrimRight(s, "=")
	raw, err := b32NoPadding.DecodeString(s)
	if err != nil || len(raw) != totpSecretSize {
		return nil, invalid("secret", "not a secret of %d bytes in base32", totpSecretSize)
	}
	return raw, nil
}

// totpStep is the TOTP time step of t (RFC 6238 §4.2: T = (Unix time -
// T0) / X, T0 = 0, X = 30 s).
func totpStep(t time.Time) int64 {
	return t.Unix() / int64(totpPeriod/time.Second)
}

// totpCode returns the code of secret for a step.
func totpCode(secret []byte, step int64) (string, error) {
	return hotp.GenerateCodeCustom(b32NoPadding.EncodeToString(secret), uint64(step),
		hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
}

// matchTOTP returns the step, within totpSkew of now's and after
// lastStep, whose code is code; ok false when none is.
func matchTOTP(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool, err error) {
	cur := totpStep(now)
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		if s <= lastStep {
			continue // used already, or before a code that was
		}
		want, err := totpCode(secret, s)
		if err != nil {
			return 0, false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true, nil
		}
	}
	return 0, false, nil
}

// codeKind is what a code typed at the second step is.
type codeKind int

const (
	codeInvalid codeKind = iota
	codeTOTP
	codeBackup
)

// parseCode reads a code as typed: six digits are a TOTP code, twelve
// characters of backupAlphabet a backup code (in either case, with spaces
// and hyphens anywhere, and o, i and l read as 0, 1 and 1, as Crockford's
// base32 reads them). It returns the code normalised; anything else is
// codeInvalid.
func parseCode(s string) (codeKind, string) {
	if len(s) > 64 {
		return codeInvalid, ""
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'o':
			r = '0'
		case 'i', 'l':
			r = '1'
		}
		if r > 0x7f || !strings.ContainsRune(backupAlphabet, r) {
			return codeInvalid, ""
		}
		b.WriteRune(r)
	}
	c := b.String()
	switch {
	case len(c) == totpDigits.Length() && strings.Trim(c, "0123456789") == "":
		return codeTOTP, c
	case len(c) == backupCodeLength:
		return codeBackup, c
	}
	return codeInvalid, ""
}

// hashBackupCode is the stored hash of a resident's backup code (as
// parseCode normalised it).
func hashBackupCode(residentID, code string) []byte {
	h := sha256.New()
	for _, s := range []string{backupHashLabel, residentID, code} {
		h.Write([]byte{byte(len(s) >> 8), byte(len(s))})
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// newBackupCodes makes BackupCodeCount backup codes for a resident: the
// codes to show once (grouped by four, "abcd-efgh-jkmn") and their hashes
// to store.
func newBackupCodes(rand io.Reader, residentID string) (shown []string, hashes [][]byte, err error) {
	raw := make([]byte, BackupCodeCount*backupCodeLength)
	if _, err := io.ReadFull(rand, raw); err != nil {
		return nil, nil, fmt.Errorf("read backup codes: %w", err)
	}
	for i := range BackupCodeCount {
		code := make([]byte, backupCodeLength)
		for j := range code {
			code[j] = backupAlphabet[raw[i*backupCodeLength+j]&31]
		}
		c := string(code)
		shown = append(shown, c[:4]+"-"+c[4:8]+"-"+c[8:])
		hashes = append(hashes, hashBackupCode(residentID, c))
	}
	return shown, hashes, nil
}

// totpSecretKey is the key that seals a resident's TOTP secret.
func totpSecretKey(priv *crypto.PrivateKey, residentID string) (*crypto.DataKey, error) {
	return priv.DeriveDataKey(totpPurpose, residentID)
}

// useCode checks code against the resident's two-step verification t at
// now and returns t as it is after the code's use (the step recorded, or
// the backup code gone), and whether it was a backup code. A wrong, used
// or malformed code is ErrBadCredentials; so is a secret that does not
// open with priv's key (a record not made for this key pair).
func useCode(t *storage.TOTP, priv *crypto.PrivateKey, residentID, code string, now time.Time) (*storage.TOTP, bool, error) {
	kind, c := parseCode(code)
	next := *t
	switch kind {
	case codeTOTP:
		key, err := totpSecretKey(priv, residentID)
		if err != nil {
			return nil, false, err
		}
		defer key.Zero()
		secret, err := key.OpenField(totpSecretLabel, t.Secret)
		if err != nil {
			return nil, false, ErrBadCredentials
		}
		defer clear(secret)
		step, ok, err := matchTOTP(secret, c, now, t.LastStep)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, ErrBadCredentials
		}
		next.LastStep = step
		return &next, false, nil
	case codeBackup:
		h := hashBackupCode(residentID, c)
		for i, stored := range t.BackupCodes {
			if subtle.ConstantTimeCompare(stored, h) == 1 {
				next.BackupCodes = append(append([][]byte(nil), t.BackupCodes[:i]...), t.BackupCodes[i+1:]...)
				return &next, true, nil
			}
		}
	}
	return nil, false, ErrBadCredentials
}

// EnableTOTP turns two-step verification on for the mailbox's owner with
// the secret of a TOTPKey (base32), once the resident has confirmed it
// with a current code of their app and their password. It returns the
// ten backup codes, to show once; only their hashes are kept. A wrong
// password or code is ErrBadCredentials (nothing is stored); a secret
// that does not decode is an *InvalidError; ErrTOTPOn when it is on
// already. Audited.
func (m *Mailbox) EnableTOTP(ctx context.Context, secret, code, password string) ([]string, error) {
	raw, err := parseTOTPSecret(secret)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	checked, priv, err := m.checkPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	defer priv.Zero()
	now := m.s.now()
	kind, c := parseCode(code)
	if kind != codeTOTP {
		return nil, ErrBadCredentials
	}
	step, ok, err := matchTOTP(raw, c, now, -1)
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrBadCredentials
	}
	key, err := totpSecretKey(priv, m.resident.ID)
	if err != nil {
		return nil, err
	}
	defer key.Zero()
	sealed, err := key.SealField(m.s.rand, totpSecretLabel, raw)
	if err != nil {
		return nil, err
	}
	shown, hashes, err := newBackupCodes(m.s.rand, m.resident.ID)
	if err != nil {
		return nil, err
	}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		res, err := m.passwordChecked(tx, checked)
		if err != nil {
			return err
		}
		if res.TOTP != nil {
			return ErrTOTPOn
		}
		res.TOTP = &storage.TOTP{Secret: sealed, LastStep: step, BackupCodes: hashes, Enabled: now}
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, "totp-on", "resident:"+res.ID)
	})
	if err != nil {
		return nil, err
	}
	return shown, nil
}

// DisableTOTP turns two-step verification off for the mailbox's owner,
// after checking their password and a current code (or a backup code).
// A wrong password or code is ErrBadCredentials; ErrNotFound when it is
// off. Audited.
func (m *Mailbox) DisableTOTP(ctx context.Context, password, code string) error {
	checked, priv, err := m.checkPassword(ctx, password)
	if err != nil {
		return err
	}
	defer priv.Zero()
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		res, err := m.passwordChecked(tx, checked)
		if err != nil {
			return err
		}
		if res.TOTP == nil {
			return ErrNotFound
		}
		if _, _, err := useCode(res.TOTP, priv, res.ID, code, now); err != nil {
			return err
		}
		res.TOTP = nil
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, "totp-off", "resident:"+res.ID)
	})
}

// NewBackupCodes makes ten new backup codes for the mailbox's owner,
// after checking their password; the old ones stop working. Show them
// once. ErrNotFound when two-step verification is off. Audited.
func (m *Mailbox) NewBackupCodes(ctx context.Context, password string) ([]string, error) {
	checked, priv, err := m.checkPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	priv.Zero()
	shown, hashes, err := newBackupCodes(m.s.rand, m.resident.ID)
	if err != nil {
		return nil, err
	}
	now := m.s.now()
	err = m.s.update(ctx, func(tx storage.Tx) error {
		res, err := m.passwordChecked(tx, checked)
		if err != nil {
			return err
		}
		if res.TOTP == nil {
			return ErrNotFound
		}
		res.TOTP.BackupCodes = hashes
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, "new-backup-codes", "resident:"+res.ID)
	})
	if err != nil {
		return nil, err
	}
	return shown, nil
}

// TOTPStatus is what the owner's settings page shows of two-step
// verification.
type TOTPStatus struct {
	On          bool
	Enabled     time.Time
	BackupCodes int // backup codes not used yet
}

// TOTPStatus returns the state of the owner's two-step verification.
func (m *Mailbox) TOTPStatus(ctx context.Context) (TOTPStatus, error) {
	var st TOTPStatus
	err := m.s.view(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if res.TOTP != nil {
			st = TOTPStatus{On: true, Enabled: res.TOTP.Enabled, BackupCodes: len(res.TOTP.BackupCodes)}
		}
		return nil
	})
	return st, err
}

// passwordChecked returns the owner's record in tx if the password
// wrapping that checkPassword checked is still theirs: a change of the
// password or a deletion meanwhile wins (ErrBadCredentials).
func (m *Mailbox) passwordChecked(tx storage.Tx, checked []byte) (*residentRecord, error) {
	res, err := getResident(tx, m.resident.ID)
	if err != nil {
		return nil, err
	}
	if (res.Status != ResidentActive && res.Status != ResidentReserved) || !bytes.Equal(res.PasswordWrap, checked) {
		return nil, ErrBadCredentials
	}
	return res, nil
}
