package crypto

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"
)

// Errors returned by this package. Callers test them with errors.Is.
var (
	// ErrOpen means a ciphertext did not open: a wrong key or password, or
	// bytes that were changed, moved or cut.
	ErrOpen = errors.New("ciphertext does not open")
	// ErrFormat means the bytes are not in a format this version knows.
	ErrFormat = errors.New("unknown or malformed format")
)

const (
	formatV1   = 0x01
	keySize    = 32
	nonceSize  = 24
	saltSize   = 16
	wrapLenPw  = 1 + 4 + 4 + 1 + saltSize + nonceSize + keySize + secretbox.Overhead
	wrapLenKey = 1 + nonceSize + keySize + secretbox.Overhead
)

// PublicKey is a resident's X25519 public key. It is stored in clear.
type PublicKey [32]byte

// PrivateKey is a resident's X25519 private key. Its bytes never leave this
// package; other packages hold the pointer and ask it to open letters. Call
// Zero when done with it.
type PrivateKey struct {
	b [32]byte
}

// GenerateKeyPair returns a new resident key pair read from rand.
func GenerateKeyPair(rand io.Reader) (*PrivateKey, error) {
	k := &PrivateKey{}
	if _, err := io.ReadFull(rand, k.b[:]); err != nil {
		return nil, fmt.Errorf("read random key: %w", err)
	}
	return k, nil
}

// Public returns the public key that belongs to k: X25519(k, 9) (RFC 7748
// §6.1). It computes the same bytes by another route, about five times
// faster (BenchmarkPublic): the fixed-base multiplication [k]B on
// edwards25519 with its precomputed table of multiples of B, then the
// birational map to the Montgomery u-coordinate, u = (1+y)/(1−y) (RFC 7748
// §4.1). X25519's base
// point u = 9 is the image of edwards25519's B, X25519 clamps k as
// SetBytesWithClamping does (RFC 7748 §5), and reducing the clamped scalar
// modulo the group order changes nothing as B has that order. Both
// computations are constant-time. Every sealed letter computes a public key
// (its ephemeral one), so this is on the delivery path;
// TestPublicMatchesX25519 checks it against curve25519.X25519.
func (k *PrivateKey) Public() PublicKey {
	sc, err := new(edwards25519.Scalar).SetBytesWithClamping(k.b[:])
	if err != nil {
		// Only an input of another length than 32 bytes fails.
		panic("edwards25519 scalar: " + err.Error())
	}
	var pub PublicKey
	copy(pub[:], new(edwards25519.Point).ScalarBaseMult(sc).BytesMontgomery())
	sc.Set(edwards25519.NewScalar()) // the scalar is the secret key: zero it (best effort)
	return pub
}

// Zero overwrites the key's bytes (best effort: Go may have copied them).
func (k *PrivateKey) Zero() {
	if k != nil {
		clear(k.b[:])
	}
}

// KDFParams are the Argon2id parameters of a password wrapping (RFC 9106
// §3.1). They are stored with every wrapping so they can be raised later.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultKDFParams returns the parameters for new password wrappings: RFC
// 9106 §4's second recommended option (t=3, 64 MiB, p=4).
func DefaultKDFParams() KDFParams {
	return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}
}

// Less reports whether p is weaker than q in any dimension, that is whether
// a wrapping made with p should be redone with q.
func (p KDFParams) Less(q KDFParams) bool {
	return p.Time < q.Time || p.MemoryKiB < q.MemoryKiB || p.Threads < q.Threads
}

func (p KDFParams) valid() bool {
	// RFC 9106 §3.1: at least 8*p KiB of memory, at least one pass and lane.
	// The upper bounds keep a forged wrapping from exhausting the machine.
	return p.Time >= 1 && p.Time <= 64 && p.Threads >= 1 &&
		p.MemoryKiB >= 8*uint32(p.Threads) && p.MemoryKiB <= 4*1024*1024
}

// derive returns HKDF-SHA-256(secret, salt, info) of keySize bytes.
func derive(secret, salt []byte, info string) [keySize]byte {
	var key [keySize]byte
	out, err := hkdf.Key(sha256.New, secret, salt, info, keySize)
	if err != nil {
		// Only an output longer than 255 hash lengths fails.
		panic("hkdf: " + err.Error())
	}
	copy(key[:], out)
	clear(out)
	return key
}

func passwordKey(password, salt []byte, p KDFParams) [keySize]byte {
	stretched := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keySize)
	defer clear(stretched)
	return derive(stretched, nil, "postkasse/v1/password-wrap")
}

// WrapWithPassword wraps k with a key derived from password by Argon2id with
// parameters p and a fresh random salt.
func WrapWithPassword(rand io.Reader, k *PrivateKey, password []byte, p KDFParams) ([]byte, error) {
	if !p.valid() {
		return nil, fmt.Errorf("argon2id parameters %+v: %w", p, ErrFormat)
	}
	out := make([]byte, 10, wrapLenPw)
	out[0] = formatV1
	binary.BigEndian.PutUint32(out[1:5], p.Time)
	binary.BigEndian.PutUint32(out[5:9], p.MemoryKiB)
	out[9] = p.Threads
	salt := make([]byte, saltSize)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("read salt: %w", err)
	}
	out = append(out, salt...)
	key := passwordKey(password, salt, p)
	defer clear(key[:])
	return sealKey(rand, out, &key, k)
}

// PasswordParams returns the Argon2id parameters a password wrapping was
// made with, so the caller can tell whether to re-wrap after a login.
func PasswordParams(wrapped []byte) (KDFParams, error) {
	if len(wrapped) != wrapLenPw || wrapped[0] != formatV1 {
		return KDFParams{}, fmt.Errorf("password wrapping: %w", ErrFormat)
	}
	p := KDFParams{
		Time:      binary.BigEndian.Uint32(wrapped[1:5]),
		MemoryKiB: binary.BigEndian.Uint32(wrapped[5:9]),
		Threads:   wrapped[9],
	}
	if !p.valid() {
		return KDFParams{}, fmt.Errorf("password wrapping parameters %+v: %w", p, ErrFormat)
	}
	return p, nil
}

// UnwrapWithPassword opens a password wrapping. A wrong password gives
// ErrOpen.
func UnwrapWithPassword(wrapped, password []byte) (*PrivateKey, error) {
	p, err := PasswordParams(wrapped)
	if err != nil {
		return nil, err
	}
	salt := wrapped[10 : 10+saltSize]
	key := passwordKey(password, salt, p)
	defer clear(key[:])
	return openKey(wrapped[10+saltSize:], &key)
}

// SpendPasswordWork does the same Argon2id work as a password check with p,
// for a login of an unknown user, so that an unknown user costs the same
// time as a known one.
func SpendPasswordWork(password []byte, p KDFParams) {
	salt := make([]byte, saltSize)
	key := passwordKey(password, salt, p)
	clear(key[:])
}

// RecoveryKey is a resident's 256-bit recovery key. It is shown to the
// resident once and never stored.
type RecoveryKey [32]byte

// NewRecoveryKey returns a random recovery key.
func NewRecoveryKey(rand io.Reader) (RecoveryKey, error) {
	var rk RecoveryKey
	if _, err := io.ReadFull(rand, rk[:]); err != nil {
		return rk, fmt.Errorf("read recovery key: %w", err)
	}
	return rk, nil
}

// WrapWithRecoveryKey wraps k with a key derived from rk.
func WrapWithRecoveryKey(rand io.Reader, k *PrivateKey, rk RecoveryKey) ([]byte, error) {
	key := derive(rk[:], nil, "postkasse/v1/recovery-wrap")
	defer clear(key[:])
	return sealKey(rand, []byte{formatV1}, &key, k)
}

// UnwrapWithRecoveryKey opens a recovery wrapping.
func UnwrapWithRecoveryKey(wrapped []byte, rk RecoveryKey) (*PrivateKey, error) {
	if len(wrapped) != wrapLenKey || wrapped[0] != formatV1 {
		return nil, fmt.Errorf("recovery wrapping: %w", ErrFormat)
	}
	key := derive(rk[:], nil, "postkasse/v1/recovery-wrap")
	defer clear(key[:])
	return openKey(wrapped[1:], &key)
}

// SessionSecretSize is the length of the secret a session cookie carries.
const SessionSecretSize = 32

// sessionKey derives the key of a session wrapping. The session id goes into
// HKDF's info with a length prefix, not into its salt: HKDF's salt is an
// HMAC key, which HMAC pads with zero bytes (and hashes when it is longer
// than 64 bytes), so as a salt the ids "abc" and "abc\x00" would give the
// same key and a wrapping would open under a session id it was not made for.
func sessionKey(secret, sessionID []byte) ([keySize]byte, error) {
	if len(secret) != SessionSecretSize {
		return [keySize]byte{}, fmt.Errorf("session secret of %d bytes: %w", len(secret), ErrFormat)
	}
	info, err := appendLengthPrefixed([]byte("postkasse/v1/session-wrap"), string(sessionID))
	if err != nil {
		return [keySize]byte{}, fmt.Errorf("session id: %w", err)
	}
	return derive(secret, nil, string(info)), nil
}

// appendLengthPrefixed appends lp(s): s's length as a big-endian u16, then
// s. A sequence of lp fields decodes in one way only, so two different
// lists of ids never give the same HKDF info. Empty fields are refused: an
// empty id binds nothing.
func appendLengthPrefixed(out []byte, s string) ([]byte, error) {
	if len(s) == 0 || len(s) > math.MaxUint16 {
		return nil, fmt.Errorf("field of %d bytes: %w", len(s), ErrFormat)
	}
	out = binary.BigEndian.AppendUint16(out, uint16(len(s)))
	return append(out, s...), nil
}

// WrapForSession wraps k for one session: with a key derived from the
// cookie's secret and the session's id (1 to 65535 bytes). The server keeps
// the wrapping; only the cookie can open it, and only for that session id.
func WrapForSession(rand io.Reader, k *PrivateKey, secret, sessionID []byte) ([]byte, error) {
	key, err := sessionKey(secret, sessionID)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	return sealKey(rand, []byte{formatV1}, &key, k)
}

// UnwrapForSession opens a session wrapping with the cookie's secret. A
// wrong secret or session id gives ErrOpen.
func UnwrapForSession(wrapped, secret, sessionID []byte) (*PrivateKey, error) {
	if len(wrapped) != wrapLenKey || wrapped[0] != formatV1 {
		return nil, fmt.Errorf("session wrapping: %w", ErrFormat)
	}
	key, err := sessionKey(secret, sessionID)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	return openKey(wrapped[1:], &key)
}

// sealKey appends nonce | secretbox(k) to out.
func sealKey(rand io.Reader, out []byte, key *[keySize]byte, k *PrivateKey) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out = append(out, nonce[:]...)
	return secretbox.Seal(out, k.b[:], &nonce, key), nil
}

// openKey opens nonce | secretbox(k).
func openKey(b []byte, key *[keySize]byte) (*PrivateKey, error) {
	if len(b) != nonceSize+keySize+secretbox.Overhead {
		return nil, ErrFormat
	}
	var nonce [nonceSize]byte
	copy(nonce[:], b)
	k := &PrivateKey{}
	if _, ok := secretbox.Open(k.b[:0], b[nonceSize:], &nonce, key); !ok {
		k.Zero()
		return nil, ErrOpen
	}
	return k, nil
}
