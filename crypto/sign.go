package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Signer is the appliance's Ed25519 signing key, for delivery receipts and
// audit-log checkpoints.
type Signer struct {
	key ed25519.PrivateKey
}

// SigningSeedSize is the size of a signing key's stored seed.
const SigningSeedSize = ed25519.SeedSize

// NewSigningSeed returns a fresh random seed for NewSigner.
func NewSigningSeed(rand io.Reader) ([]byte, error) {
	seed := make([]byte, SigningSeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("read signing seed: %w", err)
	}
	return seed, nil
}

// NewSigner returns the signer for a stored seed.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != SigningSeedSize {
		return nil, fmt.Errorf("signing seed of %d bytes: %w", len(seed), ErrFormat)
	}
	return &Signer{key: ed25519.NewKeyFromSeed(seed)}, nil
}

// PublicKey returns the key that verifies s's signatures.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return s.key.Public().(ed25519.PublicKey)
}

// KeyID names a verification key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// validKind reports whether kind may name a kind of statement. The signed
// bytes are "postkasse/v1/" | kind | 0x00 | msg; they decode in one way only
// because kind has no 0x00 byte. Without that rule kind "receipt\x00a" with
// message "b" would sign the same bytes as kind "receipt" with message
// "a\x00b".
func validKind(kind string) bool {
	return kind != "" && !strings.Contains(kind, "\x00")
}

func signedMessage(kind string, msg []byte) []byte {
	out := make([]byte, 0, len("postkasse/v1/")+len(kind)+1+len(msg))
	out = append(out, "postkasse/v1/"...)
	out = append(out, kind...)
	out = append(out, 0)
	return append(out, msg...)
}

// Sign signs msg as a statement of the given kind ("receipt",
// "checkpoint"). Kinds are constants of the calling code: Sign panics if
// kind is empty or contains a 0x00 byte, which would make signatures of
// different statements ambiguous.
func (s *Signer) Sign(kind string, msg []byte) []byte {
	if !validKind(kind) {
		panic(fmt.Sprintf("crypto: invalid signature kind %q", kind))
	}
	return ed25519.Sign(s.key, signedMessage(kind, msg))
}

// Verify reports whether sig is pub's signature of msg as a statement of
// the given kind.
func Verify(pub ed25519.PublicKey, kind string, msg, sig []byte) bool {
	// ed25519.Verify panics on a public key of the wrong length.
	if len(pub) != ed25519.PublicKeySize || !validKind(kind) {
		return false
	}
	return ed25519.Verify(pub, signedMessage(kind, msg), sig)
}
