package crypto

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/nacl/secretbox"
)

// Binding names the letter a data key belongs to. It is mixed into the key
// that seals the data key, so a sealed data key opens only for the same
// letter id, recipient id and sender id.
type Binding struct {
	LetterID    string
	RecipientID string
	SenderID    string
}

func (b Binding) info() (string, error) {
	out := []byte("postkasse/v1/data-key")
	for _, s := range []string{b.LetterID, b.RecipientID, b.SenderID} {
		var err error
		if out, err = appendLengthPrefixed(out, s); err != nil {
			return "", fmt.Errorf("binding: %w", err)
		}
	}
	return string(out), nil
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

const sealedDataKeyLen = 1 + 32 + nonceSize + keySize + secretbox.Overhead

// SealDataKey seals dk to the recipient's public key for the letter b
// names. Anyone may do this; only the recipient's private key opens it.
func SealDataKey(rand io.Reader, dk *DataKey, to PublicKey, b Binding) ([]byte, error) {
	info, err := b.info()
	if err != nil {
		return nil, err
	}
	eph, err := GenerateKeyPair(rand)
	if err != nil {
		return nil, err
	}
	defer eph.Zero()
	ephPub := eph.Public()
	shared, err := x25519(&eph.b, to[:])
	if err != nil {
		// A low-order public key gives an all-zero secret; refuse it.
		return nil, fmt.Errorf("x25519 with recipient key: %w", ErrFormat)
	}
	defer clear(shared[:])
	key := derive(shared[:], append(ephPub[:], to[:]...), info)
	defer clear(key[:])
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out := make([]byte, 0, sealedDataKeyLen)
	out = append(out, formatV1)
	out = append(out, ephPub[:]...)
	out = append(out, nonce[:]...)
	return secretbox.Seal(out, dk.b[:], &nonce, &key), nil
}

// OpenDataKey opens a sealed data key for the letter b names. A key sealed
// to another resident or for another letter or sender gives ErrOpen.
func (k *PrivateKey) OpenDataKey(sealed []byte, b Binding) (*DataKey, error) {
	if len(sealed) != sealedDataKeyLen || sealed[0] != formatV1 {
		return nil, fmt.Errorf("sealed data key: %w", ErrFormat)
	}
	info, err := b.info()
	if err != nil {
		return nil, err
	}
	ephPub := sealed[1:33]
	shared, err := x25519(&k.b, ephPub)
	if err != nil {
		return nil, fmt.Errorf("x25519 with ephemeral key: %w", ErrOpen)
	}
	defer clear(shared[:])
	pub := k.Public()
	key := derive(shared[:], append(append([]byte{}, ephPub...), pub[:]...), info)
	defer clear(key[:])
	var nonce [nonceSize]byte
	copy(nonce[:], sealed[33:33+nonceSize])
	dk := &DataKey{}
	if _, ok := secretbox.Open(dk.b[:0], sealed[33+nonceSize:], &nonce, &key); !ok {
		return nil, ErrOpen
	}
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

// ChunkSize is the plaintext size of one chunk of a sealed document.
const ChunkSize = 64 * 1024

const prefixSize = 16

// maxChunks keeps the 56-bit counter from wrapping.
const maxChunks = 1<<56 - 1

// SealedDocumentSize returns the size of a sealed document of n bytes.
func SealedDocumentSize(n int) int {
	chunks := n / ChunkSize
	if n%ChunkSize != 0 || n == 0 {
		chunks++
	}
	return 1 + prefixSize + n + chunks*secretbox.Overhead
}

func chunkNonce(prefix []byte, counter uint64, last bool) *[nonceSize]byte {
	var nonce [nonceSize]byte
	copy(nonce[:], prefix)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	copy(nonce[prefixSize:prefixSize+7], c[1:])
	if last {
		nonce[nonceSize-1] = 1
	}
	return &nonce
}

// SealDocument seals a document's content under label ("document/0") in
// chunks of ChunkSize, so that a reader can check each chunk in turn.
func (dk *DataKey) SealDocument(rand io.Reader, label string, plaintext []byte) ([]byte, error) {
	return dk.AppendSealedDocument(nil, rand, label, plaintext)
}

// AppendSealedDocument seals like SealDocument and appends the sealed
// document to dst, so that a caller can reuse its buffers (the store seals
// 100 KB letters into pooled buffers rather than fresh allocations).
func (dk *DataKey) AppendSealedDocument(dst []byte, rand io.Reader, label string, plaintext []byte) ([]byte, error) {
	key := derive(dk.b[:], nil, "postkasse/v1/document/"+label)
	defer clear(key[:])
	start := len(dst)
	out := slices.Grow(dst, SealedDocumentSize(len(plaintext)))[:start+1+prefixSize]
	out[start] = formatV1
	prefix := out[start+1 : start+1+prefixSize]
	if _, err := io.ReadFull(rand, prefix); err != nil {
		return nil, fmt.Errorf("read nonce prefix: %w", err)
	}
	for counter := uint64(0); ; counter++ {
		n := min(len(plaintext), ChunkSize)
		last := n == len(plaintext)
		out = secretbox.Seal(out, plaintext[:n], chunkNonce(prefix, counter, last), &key)
		plaintext = plaintext[n:]
		if last {
			return out, nil
		}
	}
}

// OpenDocument opens a document sealed by SealDocument under the same
// label. Reordered, dropped, added or cut chunks give ErrOpen.
func (dk *DataKey) OpenDocument(label string, sealed []byte) ([]byte, error) {
	if len(sealed) < 1+prefixSize+secretbox.Overhead || sealed[0] != formatV1 {
		return nil, fmt.Errorf("sealed document %s: %w", label, ErrFormat)
	}
	key := derive(dk.b[:], nil, "postkasse/v1/document/"+label)
	defer clear(key[:])
	prefix := sealed[1 : 1+prefixSize]
	body := sealed[1+prefixSize:]
	const sealedChunk = ChunkSize + secretbox.Overhead
	out := make([]byte, 0, len(body))
	for counter := uint64(0); ; counter++ {
		if counter >= maxChunks {
			return nil, fmt.Errorf("sealed document %s: %w", label, ErrFormat)
		}
		n := min(len(body), sealedChunk)
		last := n == len(body)
		if n < secretbox.Overhead || (last && counter > 0 && n == secretbox.Overhead) {
			// Only the first chunk of an empty document may be empty.
			return nil, fmt.Errorf("sealed document %s: %w", label, ErrOpen)
		}
		var ok bool
		out, ok = secretbox.Open(out, body[:n], chunkNonce(prefix, counter, last), &key)
		if !ok {
			return nil, fmt.Errorf("sealed document %s chunk %d: %w", label, counter, ErrOpen)
		}
		body = body[n:]
		if last {
			return out, nil
		}
	}
}
