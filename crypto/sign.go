package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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

func signedMessage(kind string, msg []byte) []byte {
	out := make([]byte, 0, len("postkasse/v1/")+len(kind)+1+len(msg))
	out = append(out, "postkasse/v1/"...)
	out = append(out, kind...)
	out = append(out, 0)
	return append(out, msg...)
}

// Sign signs msg as a statement of the given kind ("receipt",
// "checkpoint").
func (s *Signer) Sign(kind string, msg []byte) []byte {
	return ed25519.Sign(s.key, signedMessage(kind, msg))
}

// Verify reports whether sig is pub's signature of msg as a statement of
// the given kind.
func Verify(pub ed25519.PublicKey, kind string, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, signedMessage(kind, msg), sig)
}
