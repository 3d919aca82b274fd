package crypto

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
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

// CallbackSigner signs the events the appliance POSTs to senders'
// callback URLs (API.md, "Events and callbacks"): a plain Ed25519
// signature over t "." body, as the header Postkasse-Signature carries
// it, so that a receiver needs nothing but the public key and its
// language's Ed25519. Its key is not the receipt key: it is derived from
// the receipt key's seed with HKDF-SHA256 under its own label, so a
// signature made for a callback can never pass for a receipt or a
// checkpoint (those are over labelled bytes, see Sign), and the callback
// key changes when the receipt key does.
type CallbackSigner struct {
	key ed25519.PrivateKey
}

// callbackKeyLabel is the HKDF info of the callback signing key.
const callbackKeyLabel = "postkasse/v1/callback-signing-key"

// CallbackSigner returns the callback signing key derived from s.
func (s *Signer) CallbackSigner() *CallbackSigner {
	seed, err := hkdf.Key(sha256.New, s.key.Seed(), nil, callbackKeyLabel, ed25519.SeedSize)
	if err != nil {
		panic("hkdf: " + err.Error()) // only for a length HKDF cannot give
	}
	defer clear(seed)
	return &CallbackSigner{key: ed25519.NewKeyFromSeed(seed)}
}

// PublicKey returns the key that verifies c's signatures.
func (c *CallbackSigner) PublicKey() ed25519.PublicKey {
	return c.key.Public().(ed25519.PublicKey)
}

// Sign signs the bytes t "." body of a callback, where t is the Unix time
// in decimal digits. The bytes start with a digit: never the
// "postkasse/v1/" of a labelled statement.
func (c *CallbackSigner) Sign(t int64, body []byte) []byte {
	return ed25519.Sign(c.key, CallbackSignedBytes(t, body))
}

// CallbackSignedBytes returns what a callback's signature covers: the
// decimal Unix time, ".", and the body as sent.
func CallbackSignedBytes(t int64, body []byte) []byte {
	out := strconv.AppendInt(nil, t, 10)
	out = append(out, '.')
	return append(out, body...)
}
