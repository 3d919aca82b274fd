package crypto

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/mlkem"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/nacl/secretbox"
)

// Binding names the letter a data key belongs to. It is mixed into the key
// that seals the data key, so a sealed data key opens only for the same
// letter id, recipient id and sender id. For a copy of a letter's data key
// sealed to someone else than the resident (a delegate, a sender's reply
// key), RecipientID names that someone.
//
// A copy sealed to a delegate (a resident the recipient gave access to
// their mailbox) keeps RecipientID the recipient's and names the delegate
// in Delegate: its info has another label ("delegate-data-key") and the
// delegate's id, so a delegate's copy never opens as a letter addressed
// to the delegate, nor as the recipient's own copy, nor as another
// delegate's, and the recipient's own copy never opens as a delegate's.
type Binding struct {
	LetterID    string
	RecipientID string
	SenderID    string
	// Delegate is the id of the delegate a copy is sealed to; empty for
	// the recipient's own copy.
	Delegate string
}

// info returns "postkasse/v<v>/data-key" | lp(letterID) | lp(recipientID) |
// lp(senderID): HKDF's info in format 1, HPKE's info in format 2; for a
// delegate's copy "postkasse/v<v>/delegate-data-key" | the same |
// lp(delegate).
func (b Binding) info(v byte) ([]byte, error) {
	out := []byte(label(v, "data-key"))
	parts := []string{b.LetterID, b.RecipientID, b.SenderID}
	if b.Delegate != "" {
		out = []byte(label(v, "delegate-data-key"))
		parts = append(parts, b.Delegate)
	}
	for _, s := range parts {
		var err error
		if out, err = appendLengthPrefixed(out, s); err != nil {
			return nil, fmt.Errorf("binding: %w", err)
		}
	}
	return out, nil
}

// binder is what a sealed data key is bound to: a letter's Binding or a
// reply's ReplyBinding. info returns the HKDF info (format 1) or HPKE info
// (format 2) of format v.
type binder interface {
	info(v byte) ([]byte, error)
}

// DataKey is the random key of one letter. Call Zero when done with it.
type DataKey struct {
	b [keySize]byte
}

// NewDataKey returns a fresh random data key.
func NewDataKey(rand io.Reader) (*DataKey, error) {
	dk := &DataKey{}
	if _, err := io.ReadFull(rand, dk.b[:]); err != nil {
		return nil, fmt.Errorf("read data key: %w", err)
	}
	return dk, nil
}

// Zero overwrites the key's bytes (best effort).
func (dk *DataKey) Zero() {
	if dk != nil {
		clear(dk.b[:])
	}
}

// The sizes of sealed data keys. Format 2 is format 1's 105 bytes plus
// 1,064: the ML-KEM-768 ciphertext (1,088) less the nonce (24), which HPKE
// derives.
const (
	sealedDataKeyV1Len = 1 + 32 + nonceSize + keySize + secretbox.Overhead
	sealedDataKeyV2Len = 1 + mlkem.CiphertextSize768 + 32 + keySize + chacha20poly1305.Overhead
)

// The HPKE ciphersuite of sealed data keys v2 (RFC 9180 §7): the hybrid KEM
// MLKEM768-X25519 of draft-ietf-hpke-pq (X-Wing, KEM id 0x647a),
// HKDF-SHA256 (0x0001) and ChaCha20Poly1305 (0x0003).
func hpkeSuite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.ChaCha20Poly1305() }

// A Recipient is what a data key is sealed to: a [PublicKey] (X25519 alone:
// sealed data key v1) or [PublicKeys] (v2 when they have an ML-KEM half,
// else v1). Only this package's types are Recipients.
//
// Seal a letter to a resident through PublicKeys built from everything the
// resident record holds, so that a resident who has an ML-KEM key gets v2:
// a bare PublicKey always gives v1.
type Recipient interface {
	sealDataKey(rand io.Reader, dk *DataKey, b binder) ([]byte, error)
}

// PublicKeys are a resident's public keys, stored in clear: the X25519 key
// and, once the resident has one, the ML-KEM-768 encapsulation key (FIPS
// 203, MLKEMPublicKeySize bytes). MLKEM is empty for a resident without one
// (data keys are then sealed in format 1). An MLKEM of any other length, or
// an MLKEM without an X25519 key (half a key pair), is refused with
// ErrFormat: nothing is sealed to half a key.
type PublicKeys struct {
	X25519 PublicKey
	MLKEM  []byte
}

// SealDataKey seals dk to the recipient for the letter b names. Anyone may
// do this; only the recipient's private key opens it.
//
// To PublicKeys with an ML-KEM half it makes a sealed data key v2 (1,169
// bytes): HPKE with the hybrid KEM MLKEM768-X25519, which opens only with
// both private halves. Its ephemeral X25519 key and ML-KEM randomness come
// from the system's secure random source, not from rand: crypto/hpke takes
// no reader (and since Go 1.26 the standard library ignores the readers its
// key generation is given). To a PublicKey, or PublicKeys without an ML-KEM
// half, it makes a sealed data key v1 (105 bytes), whose ephemeral key and
// nonce are read from rand.
func SealDataKey(rand io.Reader, dk *DataKey, to Recipient, b Binding) ([]byte, error) {
	return to.sealDataKey(rand, dk, b)
}

// sealDataKey seals dk in format 1: an ephemeral X25519 exchange with pub,
// HKDF and secretbox.
func (pub PublicKey) sealDataKey(rand io.Reader, dk *DataKey, b binder) ([]byte, error) {
	info, err := b.info(formatV1)
	if err != nil {
		return nil, err
	}
	// The ephemeral key is read from rand, not made by GenerateKey, which
	// ignores its reader since Go 1.26: with rand passed in, the bytes are
	// reproducible (testdata/vectors.json).
	var ephBytes [keySize]byte
	if _, err := io.ReadFull(rand, ephBytes[:]); err != nil {
		return nil, fmt.Errorf("read ephemeral key: %w", err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(ephBytes[:])
	clear(ephBytes[:])
	if err != nil {
		return nil, fmt.Errorf("ephemeral x25519 key: %w", err)
	}
	remote, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return nil, fmt.Errorf("x25519 recipient key: %w: %w", ErrFormat, err)
	}
	shared, err := eph.ECDH(remote)
	if err != nil {
		// A low-order public key gives an all-zero secret; refuse it.
		return nil, fmt.Errorf("x25519 with recipient key: %w", ErrFormat)
	}
	defer clear(shared)
	ephPub := eph.PublicKey().Bytes()
	key := derive(shared, append(ephPub, pub[:]...), string(info))
	defer clear(key[:])
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out := make([]byte, 0, sealedDataKeyV1Len)
	out = append(out, formatV1)
	out = append(out, ephPub...)
	out = append(out, nonce[:]...)
	return secretbox.Seal(out, dk.b[:], &nonce, &key), nil
}

// sealDataKey seals dk in format 2 if p has an ML-KEM half, else in format
// 1 to p.X25519.
func (p PublicKeys) sealDataKey(rand io.Reader, dk *DataKey, b binder) ([]byte, error) {
	if len(p.MLKEM) == 0 {
		return p.X25519.sealDataKey(rand, dk, b)
	}
	if len(p.MLKEM) != MLKEMPublicKeySize {
		return nil, fmt.Errorf("ml-kem-768 public key of %d bytes, want %d: %w", len(p.MLKEM), MLKEMPublicKeySize, ErrFormat)
	}
	if p.X25519 == (PublicKey{}) {
		return nil, fmt.Errorf("ml-kem-768 public key without an x25519 key: %w", ErrFormat)
	}
	info, err := b.info(formatV2)
	if err != nil {
		return nil, err
	}
	// FIPS 203 §7.2: the modulus check of the encapsulation key.
	ek, err := mlkem.NewEncapsulationKey768(p.MLKEM)
	if err != nil {
		return nil, fmt.Errorf("ml-kem-768 public key: %w: %w", ErrFormat, err)
	}
	xpub, err := ecdh.X25519().NewPublicKey(p.X25519[:])
	if err != nil {
		return nil, fmt.Errorf("x25519 public key: %w: %w", ErrFormat, err)
	}
	pk, err := hpke.NewHybridPublicKey(ek, xpub)
	if err != nil {
		return nil, fmt.Errorf("mlkem768-x25519 public key: %w: %w", ErrFormat, err)
	}
	kdf, aead := hpkeSuite()
	ct, err := hpke.Seal(pk, kdf, aead, info, dk.b[:])
	if err != nil {
		// The X25519 exchange with a low-order key fails: refuse it, as v1 does.
		return nil, fmt.Errorf("hpke seal: %w: %w", ErrFormat, err)
	}
	out := make([]byte, 0, sealedDataKeyV2Len)
	out = append(out, formatV2)
	out = append(out, ct...)
	if len(out) != sealedDataKeyV2Len {
		return nil, fmt.Errorf("hpke gave %d bytes, want %d", len(out), sealedDataKeyV2Len)
	}
	return out, nil
}

// SealedDataKeyVersion returns the format of a sealed data key, 1 or 2,
// from its version byte and length alone (it opens nothing), or 0 if it is
// in neither. An auditor counts the letters of each format with it.
func SealedDataKeyVersion(sealed []byte) int {
	switch {
	case len(sealed) == sealedDataKeyV1Len && sealed[0] == formatV1:
		return 1
	case len(sealed) == sealedDataKeyV2Len && sealed[0] == formatV2:
		return 2
	}
	return 0
}

// OpenDataKey opens a sealed data key of either format for the letter b
// names. A key sealed to another resident or for another letter or sender
// gives ErrOpen; a sealed data key v2 given to a private key without an
// ML-KEM half gives ErrNoMLKEM.
func (k *PrivateKey) OpenDataKey(sealed []byte, b Binding) (*DataKey, error) {
	return k.openDataKey(sealed, b)
}

func (k *PrivateKey) openDataKey(sealed []byte, b binder) (*DataKey, error) {
	switch {
	case len(sealed) == sealedDataKeyV1Len && sealed[0] == formatV1:
		return k.openDataKeyV1(sealed, b)
	case len(sealed) == sealedDataKeyV2Len && sealed[0] == formatV2:
		return k.openDataKeyV2(sealed, b)
	}
	return nil, fmt.Errorf("sealed data key: %w", ErrFormat)
}

func (k *PrivateKey) openDataKeyV1(sealed []byte, b binder) (*DataKey, error) {
	info, err := b.info(formatV1)
	if err != nil {
		return nil, err
	}
	xk, err := k.x25519()
	if err != nil {
		return nil, err
	}
	ephPub := sealed[1:33]
	remote, err := ecdh.X25519().NewPublicKey(ephPub)
	if err != nil {
		return nil, fmt.Errorf("x25519 ephemeral key: %w", ErrOpen)
	}
	shared, err := xk.ECDH(remote)
	if err != nil {
		return nil, fmt.Errorf("x25519 with ephemeral key: %w", ErrOpen)
	}
	defer clear(shared)
	salt := append(append(make([]byte, 0, 64), ephPub...), xk.PublicKey().Bytes()...)
	key := derive(shared, salt, string(info))
	defer clear(key[:])
	var nonce [nonceSize]byte
	copy(nonce[:], sealed[33:33+nonceSize])
	dk := &DataKey{}
	if _, ok := secretbox.Open(dk.b[:0], sealed[33+nonceSize:], &nonce, &key); !ok {
		return nil, ErrOpen
	}
	return dk, nil
}

func (k *PrivateKey) openDataKeyV2(sealed []byte, b binder) (*DataKey, error) {
	info, err := b.info(formatV2)
	if err != nil {
		return nil, err
	}
	hk, err := k.hybridKey()
	if err != nil {
		return nil, fmt.Errorf("sealed data key v2: %w", err)
	}
	kdf, aead := hpkeSuite()
	// Any failure is ErrOpen: a changed ML-KEM ciphertext decapsulates to
	// another (implicitly rejected, FIPS 203 §6.3) secret, a changed X25519
	// share gives another secret and changes the combiner's input, and
	// either makes the AEAD fail; a low-order share fails the exchange.
	pt, err := hpke.Open(hk, kdf, aead, info, sealed[1:])
	if err != nil {
		return nil, fmt.Errorf("sealed data key v2: %w", ErrOpen)
	}
	defer clear(pt)
	// The exact length checked above leaves keySize bytes of plaintext.
	dk := &DataKey{}
	copy(dk.b[:], pt)
	return dk, nil
}

// SealField seals a short field of a letter (its subject, body, a file
// name) under label, which must be unique within the letter ("subject",
// "document/0/name"): a field moved to another label fails to open.
func (dk *DataKey) SealField(rand io.Reader, label string, plaintext []byte) ([]byte, error) {
	key := derive(dk.b[:], nil, "postkasse/v1/field/"+label)
	defer clear(key[:])
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out := make([]byte, 0, 1+nonceSize+len(plaintext)+secretbox.Overhead)
	out = append(out, formatV1)
	out = append(out, nonce[:]...)
	return secretbox.Seal(out, plaintext, &nonce, &key), nil
}

// OpenField opens a field sealed by SealField under the same label.
func (dk *DataKey) OpenField(label string, sealed []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+secretbox.Overhead || sealed[0] != formatV1 {
		return nil, fmt.Errorf("sealed field %s: %w", label, ErrFormat)
	}
	key := derive(dk.b[:], nil, "postkasse/v1/field/"+label)
	defer clear(key[:])
	var nonce [nonceSize]byte
	copy(nonce[:], sealed[1:])
	out, ok := secretbox.Open(nil, sealed[1+nonceSize:], &nonce, &key)
	if !ok {
		return nil, fmt.Errorf("sealed field %s: %w", label, ErrOpen)
	}
	return out, nil
}
