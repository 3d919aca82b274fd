package crypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/mlkem"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"
)

// Errors returned by this package. Callers test them with errors.Is.
var (
	// ErrOpen means a ciphertext did not open: a wrong key or password, or
	// bytes that were changed, moved or cut.
	ErrOpen = errors.New("ciphertext does not open")
	// ErrFormat means the bytes are not in a format this version knows, or
	// a key is not one this package can use: a wrong length, or half a key
	// pair.
	ErrFormat = errors.New("unknown or malformed format")
	// ErrNoMLKEM means a sealed data key v2 was given to a private key that
	// has no ML-KEM-768 half (a resident's key wrapped before the resident
	// got one). The key is not wrong; another wrapping of it, made after
	// the upgrade, opens the letter.
	ErrNoMLKEM = errors.New("private key has no ML-KEM-768 half")
)

const (
	formatV1  = 0x01
	formatV2  = 0x02
	keySize   = 32
	nonceSize = 24
	saltSize  = 16

	// A wrapped private key's plaintext: the X25519 key (format 1), or the
	// X25519 key then the ML-KEM-768 seed (format 2).
	payloadV1 = keySize
	payloadV2 = keySize + mlkem.SeedSize

	pwHeader = 1 + 4 + 4 + 1 + saltSize
)

// wrapLenPw and wrapLenKey are the exact lengths of a password wrapping and
// of a recovery or session wrapping of format v; 0 for an unknown format.
func wrapLenPw(v byte) int {
	if n := wrapLenKey(v); n != 0 {
		return pwHeader - 1 + n
	}
	return 0
}

func wrapLenKey(v byte) int {
	switch v {
	case formatV1:
		return 1 + nonceSize + payloadV1 + secretbox.Overhead
	case formatV2:
		return 1 + nonceSize + payloadV2 + secretbox.Overhead
	}
	return 0
}

// label returns the HKDF info label "postkasse/v<v>/<purpose>". A wrapping
// of format 2 uses other keys than one of format 1 (postkasse/v2/...), so
// that no ciphertext is ever read as the other format's plaintext.
func label(v byte, purpose string) string {
	return fmt.Sprintf("postkasse/v%d/%s", v, purpose)
}

// PublicKey is a resident's X25519 public key (RFC 7748). It is stored in
// clear. On its own it is a [Recipient] of sealed data keys v1.
type PublicKey [32]byte

// MLKEMPublicKeySize is the length of an ML-KEM-768 encapsulation key
// (FIPS 203 §8, Table 3): the second half of [PublicKeys].
const MLKEMPublicKeySize = mlkem.EncapsulationKeySize768

// PrivateKey is a resident's private key: an X25519 key and, for residents
// who have one, an ML-KEM-768 decapsulation key (FIPS 203), kept as its
// 64-byte seed d‖z. Its bytes never leave this package; other packages hold
// the pointer and ask it to open letters (the "factotum" of upspin). Call
// Zero when done with it. A PrivateKey is safe for concurrent use, except
// Zero.
//
// The expanded forms the standard library computes from the bytes (the
// crypto/ecdh key and its public key, the ML-KEM key's matrix and vectors,
// about 0.1 ms of work) are made on first use and kept: a request that
// opens no v2 letter never expands the ML-KEM key.
type PrivateKey struct {
	x    [keySize]byte
	seed *[mlkem.SeedSize]byte // nil: no ML-KEM half

	xOnce sync.Once
	xKey  *ecdh.PrivateKey
	xErr  error

	hybridOnce sync.Once
	hybrid     hpke.PrivateKey // X-Wing: xKey and the expanded ML-KEM key
	mlkemPub   []byte
	hybridErr  error
}

// GenerateKeyPair returns a new resident key pair with both halves, read
// from rand: 32 bytes of X25519 key, then the 64-byte ML-KEM-768 seed.
func GenerateKeyPair(rand io.Reader) (*PrivateKey, error) {
	k := &PrivateKey{seed: new([mlkem.SeedSize]byte)}
	if _, err := io.ReadFull(rand, k.x[:]); err != nil {
		return nil, fmt.Errorf("read random key: %w", err)
	}
	if _, err := io.ReadFull(rand, k.seed[:]); err != nil {
		k.Zero()
		return nil, fmt.Errorf("read random ML-KEM-768 seed: %w", err)
	}
	// Fail here, not later in Public, if the standard library refuses
	// X25519 (GODEBUG=fips140=only).
	if _, err := k.x25519(); err != nil {
		k.Zero()
		return nil, err
	}
	return k, nil
}

// WithMLKEM returns a copy of k with an ML-KEM-768 half: k's own if it has
// one, else a fresh one whose seed is read from rand. It never replaces an
// ML-KEM key, which would make the letters sealed to it unreadable. The
// store calls it when a resident without an ML-KEM key signs in, wraps the
// result anew, and only then publishes [PrivateKey.PublicKeys] (see the
// package doc on upgrading residents). The caller zeroes both keys.
func (k *PrivateKey) WithMLKEM(rand io.Reader) (*PrivateKey, error) {
	c := &PrivateKey{x: k.x, seed: new([mlkem.SeedSize]byte)}
	if k.seed != nil {
		*c.seed = *k.seed
		return c, nil
	}
	if _, err := io.ReadFull(rand, c.seed[:]); err != nil {
		c.Zero()
		return nil, fmt.Errorf("read random ML-KEM-768 seed: %w", err)
	}
	return c, nil
}

// HasMLKEM reports whether k has an ML-KEM-768 half, that is whether it
// opens sealed data keys v2 and whether its wrappings carry both halves.
func (k *PrivateKey) HasMLKEM() bool { return k.seed != nil }

// x25519 returns k's X25519 half as a crypto/ecdh key, made on first use.
func (k *PrivateKey) x25519() (*ecdh.PrivateKey, error) {
	k.xOnce.Do(func() {
		k.xKey, k.xErr = ecdh.X25519().NewPrivateKey(k.x[:])
		if k.xErr != nil {
			k.xErr = fmt.Errorf("x25519 private key: %w", k.xErr)
		}
	})
	return k.xKey, k.xErr
}

// hybridKey returns k as an HPKE MLKEM768-X25519 private key, made on first
// use; ErrNoMLKEM if k has no ML-KEM half.
func (k *PrivateKey) hybridKey() (hpke.PrivateKey, error) {
	if k.seed == nil {
		return nil, ErrNoMLKEM
	}
	k.hybridOnce.Do(func() {
		xk, err := k.x25519()
		if err != nil {
			k.hybridErr = err
			return
		}
		dk, err := mlkem.NewDecapsulationKey768(k.seed[:])
		if err != nil {
			// Only a seed of another length than 64 bytes fails.
			k.hybridErr = fmt.Errorf("ml-kem-768 key: %w", err)
			return
		}
		if k.hybrid, err = hpke.NewHybridPrivateKey(dk, xk); err != nil {
			k.hybridErr = fmt.Errorf("mlkem768-x25519 key: %w", err)
			return
		}
		k.mlkemPub = dk.EncapsulationKey().Bytes()
	})
	return k.hybrid, k.hybridErr
}

// Public returns k's X25519 public key, X25519(k, 9) (RFC 7748 §6.1), as
// crypto/ecdh computes it. It is the zero PublicKey, to which nothing can be
// sealed, after Zero or if the standard library refuses X25519
// (GODEBUG=fips140=only, which GenerateKeyPair reports as an error).
func (k *PrivateKey) Public() PublicKey {
	var pub PublicKey
	if xk, err := k.x25519(); err == nil {
		copy(pub[:], xk.PublicKey().Bytes())
	}
	return pub
}

// PublicKeys returns k's public keys: the X25519 one and, if k has an
// ML-KEM half, its encapsulation key. Data keys sealed to them are v2 when
// k has both halves, v1 otherwise.
func (k *PrivateKey) PublicKeys() PublicKeys {
	p := PublicKeys{X25519: k.Public()}
	if _, err := k.hybridKey(); err == nil {
		p.MLKEM = bytes.Clone(k.mlkemPub)
	}
	return p
}

// DeriveDataKey returns a symmetric key derived from the whole private
// key, both halves when it has them, for one purpose of one owner: HKDF-SHA-256
// (RFC 5869) of the X25519 key followed by the ML-KEM-768 seed, without
// salt, with info "postkasse/v1/derived-key" followed by the purpose and
// the owner, each as a 2-byte big-endian length and its bytes. Only whoever
// holds the private key can compute it, so, unlike a key sealed to the
// public key, nobody who can write the database can plant one they know. A
// key pair that gains its ML-KEM half derives other keys afterwards.
func (k *PrivateKey) DeriveDataKey(purpose, owner string) (*DataKey, error) {
	info, err := appendLengthPrefixed([]byte(label(1, "derived-key")), purpose)
	if err != nil {
		return nil, fmt.Errorf("derive key: purpose: %w", err)
	}
	if info, err = appendLengthPrefixed(info, owner); err != nil {
		return nil, fmt.Errorf("derive key: owner: %w", err)
	}
	ikm := make([]byte, 0, keySize+mlkem.SeedSize)
	ikm = append(ikm, k.x[:]...)
	if k.seed != nil {
		ikm = append(ikm, k.seed[:]...)
	}
	defer clear(ikm)
	return &DataKey{b: derive(ikm, nil, string(info))}, nil
}

// Zero overwrites the key's bytes and forgets its expanded forms (best
// effort: Go may have copied them, and crypto/ecdh and crypto/mlkem keep
// their own copies, which have no method to clear them and are left to the
// garbage collector). k opens nothing afterwards. Zero must not run
// concurrently with k's other methods.
func (k *PrivateKey) Zero() {
	if k == nil {
		return
	}
	clear(k.x[:])
	if k.seed != nil {
		clear(k.seed[:])
	}
	// Mark both expansions done, then drop them: a later call finds no key.
	k.xOnce.Do(func() {})
	k.hybridOnce.Do(func() {})
	k.xKey, k.hybrid, k.mlkemPub = nil, nil, nil
	k.xErr = fmt.Errorf("zeroed private key: %w", ErrOpen)
	k.hybridErr = k.xErr
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

// Shortfall returns the Argon2id work that, spent after a derivation
// with p, makes up the cost of one with q: q's passes and lanes over the
// memory that makes passes × memory up to q's (Argon2id's cost is
// linear in both, RFC 9106 §3.2), at least the least memory valid for
// q's lanes. It is false when p costs as much as q or more. A login uses
// it so that a wrong password for an account wrapped under an older,
// cheaper policy takes as long as one for an unknown account, which pays
// the current policy.
func (p KDFParams) Shortfall(q KDFParams) (KDFParams, bool) {
	have := uint64(p.Time) * uint64(p.MemoryKiB)
	want := uint64(q.Time) * uint64(q.MemoryKiB)
	if q.Time == 0 || have >= want {
		return KDFParams{}, false
	}
	memory := (want - have + uint64(q.Time) - 1) / uint64(q.Time)
	return KDFParams{Time: q.Time, MemoryKiB: max(uint32(memory), 8*uint32(q.Threads)), Threads: q.Threads}, true
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

func passwordKey(password, salt []byte, p KDFParams, v byte) [keySize]byte {
	stretched := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keySize)
	defer clear(stretched)
	return derive(stretched, nil, label(v, "password-wrap"))
}

// WrapWithPassword wraps k with a key derived from password by Argon2id with
// parameters p and a fresh random salt. A key with an ML-KEM half gives a
// wrapping of format 2, which carries both halves; a key without one gives
// format 1.
func WrapWithPassword(rand io.Reader, k *PrivateKey, password []byte, p KDFParams) ([]byte, error) {
	if !p.valid() {
		return nil, fmt.Errorf("argon2id parameters %+v: %w", p, ErrFormat)
	}
	v := k.wrapFormat()
	out := make([]byte, 10, wrapLenPw(v))
	out[0] = v
	binary.BigEndian.PutUint32(out[1:5], p.Time)
	binary.BigEndian.PutUint32(out[5:9], p.MemoryKiB)
	out[9] = p.Threads
	salt := make([]byte, saltSize)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("read salt: %w", err)
	}
	out = append(out, salt...)
	key := passwordKey(password, salt, p, v)
	defer clear(key[:])
	return sealKey(rand, out, &key, k)
}

// PasswordParams returns the Argon2id parameters a password wrapping was
// made with, so the caller can tell whether to re-wrap after a login.
func PasswordParams(wrapped []byte) (KDFParams, error) {
	if len(wrapped) == 0 || len(wrapped) != wrapLenPw(wrapped[0]) {
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

// UnwrapWithPassword opens a password wrapping of either format. A wrong
// password gives ErrOpen.
func UnwrapWithPassword(wrapped, password []byte) (*PrivateKey, error) {
	p, err := PasswordParams(wrapped)
	if err != nil {
		return nil, err
	}
	v := wrapped[0]
	salt := wrapped[10 : 10+saltSize]
	key := passwordKey(password, salt, p, v)
	defer clear(key[:])
	return openKey(v, wrapped[10+saltSize:], &key)
}

// SpendPasswordWork does the same Argon2id work as a password check with p,
// for a login of an unknown user, so that an unknown user costs the same
// time as a known one.
func SpendPasswordWork(password []byte, p KDFParams) {
	salt := make([]byte, saltSize)
	key := passwordKey(password, salt, p, formatV1)
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

// WrapWithRecoveryKey wraps k with a key derived from rk, in format 2 if k
// has an ML-KEM half, else in format 1.
func WrapWithRecoveryKey(rand io.Reader, k *PrivateKey, rk RecoveryKey) ([]byte, error) {
	v := k.wrapFormat()
	key := derive(rk[:], nil, label(v, "recovery-wrap"))
	defer clear(key[:])
	return sealKey(rand, []byte{v}, &key, k)
}

// UnwrapWithRecoveryKey opens a recovery wrapping of either format.
func UnwrapWithRecoveryKey(wrapped []byte, rk RecoveryKey) (*PrivateKey, error) {
	if len(wrapped) == 0 || len(wrapped) != wrapLenKey(wrapped[0]) {
		return nil, fmt.Errorf("recovery wrapping: %w", ErrFormat)
	}
	v := wrapped[0]
	key := derive(rk[:], nil, label(v, "recovery-wrap"))
	defer clear(key[:])
	return openKey(v, wrapped[1:], &key)
}

// SessionSecretSize is the length of the secret a session cookie carries.
const SessionSecretSize = 32

// sessionKey derives the key of a session wrapping of format v. The session
// id goes into HKDF's info with a length prefix, not into its salt: HKDF's
// salt is an HMAC key, which HMAC pads with zero bytes (and hashes when it is
// longer than 64 bytes), so as a salt the ids "abc" and "abc\x00" would give
// the same key and a wrapping would open under a session id it was not made
// for.
func sessionKey(secret, sessionID []byte, v byte) ([keySize]byte, error) {
	if len(secret) != SessionSecretSize {
		return [keySize]byte{}, fmt.Errorf("session secret of %d bytes: %w", len(secret), ErrFormat)
	}
	info, err := appendLengthPrefixed([]byte(label(v, "session-wrap")), string(sessionID))
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
// The format is 2 if k has an ML-KEM half, else 1.
func WrapForSession(rand io.Reader, k *PrivateKey, secret, sessionID []byte) ([]byte, error) {
	v := k.wrapFormat()
	key, err := sessionKey(secret, sessionID, v)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	return sealKey(rand, []byte{v}, &key, k)
}

// UnwrapForSession opens a session wrapping of either format with the
// cookie's secret. A wrong secret or session id gives ErrOpen.
func UnwrapForSession(wrapped, secret, sessionID []byte) (*PrivateKey, error) {
	if len(wrapped) == 0 || len(wrapped) != wrapLenKey(wrapped[0]) {
		return nil, fmt.Errorf("session wrapping: %w", ErrFormat)
	}
	v := wrapped[0]
	key, err := sessionKey(secret, sessionID, v)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	return openKey(v, wrapped[1:], &key)
}

// wrapFormat is the format of k's wrappings: 2 (both halves) if k has an
// ML-KEM half, else 1 (the X25519 key alone, as before there were two).
// WrappingFormat returns the format of a password, recovery or session
// wrapping: 1 (the X25519 key alone) or 2 (with the ML-KEM-768 seed). An
// empty wrapping or an unknown format is ErrFormat. Nothing is opened.
func WrappingFormat(wrapped []byte) (int, error) {
	if len(wrapped) == 0 || (wrapped[0] != formatV1 && wrapped[0] != formatV2) {
		return 0, fmt.Errorf("wrapping of unknown format: %w", ErrFormat)
	}
	return int(wrapped[0]), nil
}

func (k *PrivateKey) wrapFormat() byte {
	if k.seed != nil {
		return formatV2
	}
	return formatV1
}

// sealKey appends nonce | secretbox(payload) to out, where payload is k's
// X25519 key, followed by its ML-KEM seed if it has one.
func sealKey(rand io.Reader, out []byte, key *[keySize]byte, k *PrivateKey) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out = append(out, nonce[:]...)
	payload := make([]byte, 0, payloadV2)
	payload = append(payload, k.x[:]...)
	if k.seed != nil {
		payload = append(payload, k.seed[:]...)
	}
	defer clear(payload)
	return secretbox.Seal(out, payload, &nonce, key), nil
}

// openKey opens nonce | secretbox(payload) of format v: the caller has
// checked the version byte and the exact length, which openKey checks again.
func openKey(v byte, b []byte, key *[keySize]byte) (*PrivateKey, error) {
	if len(b) != wrapLenKey(v)-1 {
		return nil, ErrFormat
	}
	var nonce [nonceSize]byte
	copy(nonce[:], b)
	payload, ok := secretbox.Open(nil, b[nonceSize:], &nonce, key)
	if !ok {
		return nil, ErrOpen
	}
	defer clear(payload)
	k := &PrivateKey{}
	copy(k.x[:], payload)
	if v == formatV2 {
		k.seed = new([mlkem.SeedSize]byte)
		copy(k.seed[:], payload[keySize:])
	}
	return k, nil
}
