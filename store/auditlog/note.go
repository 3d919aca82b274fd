package auditlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/postkasse/postkasse/crypto"
)

// signatureKind is the kind of statement (package crypto's Sign) a
// checkpoint's signature makes. It is also the identifier after the
// signature type byte 0xff in the key ID.
const signatureKind = "checkpoint"

// signatureTypeID identifies the signature type of checkpoints in key IDs:
// C2SP signed-note §"Signature types" reserves 0xff for types it does not
// assign, "followed by a longer identifier that is unlikely to collide".
const signatureTypeID = "\xffpostkasse/v1/checkpoint"

// validKeyName reports whether name may name a note key (C2SP signed-note
// §Format: not empty, no Unicode spaces, no "+"). A checkpoint's origin is
// its key's name, so it must also fit on one line of text.
func validKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) && len(name) <= MaxFieldSize &&
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0 &&
		!strings.Contains(name, "+")
}

// keyID is the note key ID of the appliance's key under name: the first
// four bytes of SHA-256(name | 0x0A | 0xff | "postkasse/v1/checkpoint" |
// public key), big-endian.
func keyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n'})
	h.Write([]byte(signatureTypeID))
	h.Write(pub)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// noteSigner signs notes with the appliance's key as crypto signs every
// statement: Ed25519 over "postkasse/v1/checkpoint" | 0x00 | note text.
type noteSigner struct {
	name string
	id   uint32
	key  *crypto.Signer
}

// NewNoteSigner returns the note signer of checkpoints: the appliance's
// key (package crypto's Signer) under a key name such as
// "postkasse.example.dk/audit", which is also the checkpoints' origin.
func NewNoteSigner(name string, key *crypto.Signer) (note.Signer, error) {
	if !validKeyName(name) {
		return nil, fmt.Errorf("key name %q: not empty, no spaces or '+': %w", name, ErrCheckpointFormat)
	}
	return &noteSigner{name: name, id: keyID(name, key.PublicKey()), key: key}, nil
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.id }

func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	return s.key.Sign(signatureKind, msg), nil
}

type noteVerifier struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
}

// NewNoteVerifier returns the note verifier of checkpoints signed by
// NewNoteSigner(name, key) where pub is key's public key.
func NewNoteVerifier(name string, pub ed25519.PublicKey) (note.Verifier, error) {
	if !validKeyName(name) {
		return nil, fmt.Errorf("key name %q: not empty, no spaces or '+': %w", name, ErrCheckpointFormat)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key of %d bytes: %w", len(pub), ErrCheckpointFormat)
	}
	return &noteVerifier{name: name, id: keyID(name, pub), pub: pub}, nil
}

func (v *noteVerifier) Name() string    { return v.name }
func (v *noteVerifier) KeyHash() uint32 { return v.id }

func (v *noteVerifier) Verify(msg, sig []byte) bool {
	return crypto.Verify(v.pub, signatureKind, msg, sig)
}
