package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/nacl/secretbox"
)

// A sealed document is a version byte, 16 random bytes, then the document
// in chunks of ChunkSize bytes of plaintext, each sealed by an AEAD under
// a nonce made of the chunk's counter and a flag that marks the last
// chunk: the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
// "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
// CRYPTO 2015), as age's stream package uses it. Two formats exist
// (doc.go, "Formats"); OpenDocument reads both, and every document sealed
// now is v2:
//
//   - v1 (0x01): the 16 bytes are a nonce prefix; the key is HKDF of the
//     data key with info "postkasse/v1/document/" | label; each chunk is
//     sealed with secretbox (XSalsa20-Poly1305) under the 24-byte nonce
//     prefix | counter u56 | last u8.
//   - v2 (0x02): the 16 bytes are HKDF's salt; the key is HKDF of the data
//     key with that salt and info "postkasse/v2/document/" | label; each
//     chunk is sealed with AES-256-GCM (NIST SP 800-38D) under the 12-byte
//     nonce counter u88 | last u8, without additional data. AES-GCM runs
//     on the processor's AES and carry-less multiplication instructions,
//     several times faster than secretbox, which has no SIMD code.
//
// Why v2's nonce can be a counter, and 96 bits are enough: the salt makes
// the key unique to the document (two documents share a key only if their
// random 128-bit salts collide, for the same data key and label), so a
// nonce needs to be unique only within one document, which the counter
// makes it; no nonce is ever drawn at random, so GCM's birthday bound on
// random 96-bit nonces (SP 800-38D §8.3) does not apply. A data key that
// seals many documents under one label (a resident's search index, sealed
// again at every change) gets a fresh AES key every time: after q seals,
// the chance that any two share a key (and so their nonces) is below
// q²/2^129. The flag makes a
// document cut at a chunk boundary fail: its new last chunk was sealed as
// not last. The version byte cannot be changed to make a v2 document read
// as v1, or the other way round: the two formats derive different keys
// (the version is in HKDF's info), so a document relabelled opens under
// neither; making a v1 document of the same plaintext takes the data key.

// ChunkSize is the plaintext size of one chunk of a sealed document.
const ChunkSize = 64 * 1024

// documentFormat is the format of every document sealed now.
const documentFormat = formatV2

const (
	// docRandSize is the size of a sealed document's random bytes: v1's
	// nonce prefix, v2's HKDF salt.
	docRandSize = 16
	// docHeaderSize is the version byte and the random bytes.
	docHeaderSize = 1 + docRandSize
	// docTagSize is a chunk's authentication tag: secretbox's Poly1305
	// tag, and AES-GCM's full 16-byte tag (cipher.NewGCM's; a test checks
	// they agree), so both formats have the same size.
	docTagSize = secretbox.Overhead
	// sealedChunkSize is the size of a sealed chunk but the last.
	sealedChunkSize = ChunkSize + docTagSize
	// gcmNonceSize is AES-GCM's standard nonce: an 11-byte counter and
	// the last-chunk flag.
	gcmNonceSize = 12
)

// maxChunks is the most chunks a document of format v may have. v1's
// counter is 56 bits. v2's counter field is 88 bits, far more than
// AES-GCM should seal under one key: 2^32 chunks (256 TiB) are at most
// 2^44 AES blocks, for which AES's distance from a random function
// (σ²/2^129 for σ blocks) stays below 2^-40.
func maxChunks(v byte) uint64 {
	if v == formatV1 {
		return 1<<56 - 1
	}
	return 1 << 32
}

// SealedDocumentSize returns the size of a sealed document of n bytes, in
// either format.
func SealedDocumentSize(n int) int {
	chunks := n / ChunkSize
	if n%ChunkSize != 0 || n == 0 {
		chunks++
	}
	return docHeaderSize + n + chunks*docTagSize
}

// docCipher seals or opens the chunks of one document, in order. It is
// made once per document: one key derivation and, for v2, one AES key
// schedule and one cipher.AEAD. It builds each chunk's nonce in place, so
// sealing or opening a chunk allocates nothing.
type docCipher struct {
	v       byte
	key     [keySize]byte // v1: the secretbox key; v2: zero once aead is made
	aead    cipher.AEAD   // v2
	nonce   [nonceSize]byte
	counter uint64 // the next chunk's
}

// documentKey derives the key of a document of format v sealed under
// name ("document/0"): HKDF-SHA-256 of the data key with info
// "postkasse/v<v>/document/" | name, and salt the document's random bytes
// in v2 (v1 has none: its random bytes are the nonce prefix). The salt is
// of fixed length, so HMAC's zero padding of its key makes no two salts
// alike.
func (dk *DataKey) documentKey(v byte, salt []byte, name string) [keySize]byte {
	return derive(dk.b[:], salt, label(v, "document/"+name))
}

// newDocCipher returns the cipher of a document of format v, whose random
// bytes are rand, sealed under name. An unknown format gives ErrFormat.
func (dk *DataKey) newDocCipher(v byte, rand []byte, name string) (*docCipher, error) {
	c := &docCipher{v: v}
	switch v {
	case formatV1:
		c.key = dk.documentKey(v, nil, name)
		copy(c.nonce[:], rand)
	case formatV2:
		key := dk.documentKey(v, rand, name)
		defer clear(key[:])
		block, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, fmt.Errorf("aes-256: %w", err)
		}
		if c.aead, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("aes-256-gcm: %w", err)
		}
	default:
		return nil, fmt.Errorf("sealed document version %d: %w", v, ErrFormat)
	}
	return c, nil
}

// startDocument reads a new document's random bytes from rand, writes the
// header of format v into head (docHeaderSize bytes) and returns the
// document's cipher.
func (dk *DataKey) startDocument(rand io.Reader, v byte, name string, head []byte) (*docCipher, error) {
	head[0] = v
	if _, err := io.ReadFull(rand, head[1:docHeaderSize]); err != nil {
		return nil, fmt.Errorf("read sealed document's random bytes: %w", err)
	}
	return dk.newDocCipher(v, head[1:docHeaderSize], name)
}

// next sets the nonce of the next chunk and counts it; past maxChunks it
// fails with ErrFormat.
func (c *docCipher) next(last bool) error {
	if c.counter >= maxChunks(c.v) {
		return fmt.Errorf("sealed document: over %d chunks: %w", maxChunks(c.v), ErrFormat)
	}
	var flag byte
	if last {
		flag = 1
	}
	if c.v == formatV1 {
		// prefix[16] | counter u56 | last u8: the counter's low 7 bytes.
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], c.counter)
		copy(c.nonce[docRandSize:nonceSize-1], ctr[1:])
		c.nonce[nonceSize-1] = flag
	} else {
		// counter u88 | last u8: the counter's high 3 bytes are zero.
		binary.BigEndian.PutUint64(c.nonce[3:11], c.counter)
		c.nonce[gcmNonceSize-1] = flag
	}
	c.counter++
	return nil
}

// seal appends the next chunk, plaintext sealed, to dst.
func (c *docCipher) seal(dst, plaintext []byte, last bool) ([]byte, error) {
	if err := c.next(last); err != nil {
		return nil, err
	}
	if c.v == formatV1 {
		return secretbox.Seal(dst, plaintext, &c.nonce, &c.key), nil
	}
	return c.aead.Seal(dst, c.nonce[:gcmNonceSize], plaintext, nil), nil
}

// open appends the next chunk's plaintext to dst; a chunk that does not
// open gives ErrOpen.
func (c *docCipher) open(dst, sealed []byte, last bool) ([]byte, error) {
	if err := c.next(last); err != nil {
		return nil, err
	}
	if c.v == formatV1 {
		out, ok := secretbox.Open(dst, sealed, &c.nonce, &c.key)
		if !ok {
			return nil, ErrOpen
		}
		return out, nil
	}
	out, err := c.aead.Open(dst, c.nonce[:gcmNonceSize], sealed, nil)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// zero clears the v1 key and drops v2's AEAD (best effort: the AES key
// schedule inside it cannot be cleared, only left to the garbage
// collector).
func (c *docCipher) zero() {
	clear(c.key[:])
	c.aead = nil
}

// SealDocument seals a document's content under label ("document/0") in
// chunks of ChunkSize, so that a reader can check each chunk in turn. It
// seals in format v2 (AES-256-GCM).
func (dk *DataKey) SealDocument(rand io.Reader, label string, plaintext []byte) ([]byte, error) {
	return dk.AppendSealedDocument(nil, rand, label, plaintext)
}

// AppendSealedDocument seals like SealDocument and appends the sealed
// document to dst, so that a caller can reuse its buffers (the store seals
// 100 KB letters into pooled buffers rather than fresh allocations).
func (dk *DataKey) AppendSealedDocument(dst []byte, rand io.Reader, label string, plaintext []byte) ([]byte, error) {
	return dk.appendSealedDocument(dst, rand, documentFormat, label, plaintext)
}

// appendSealedDocument seals in format v. Only v2 is sealed for new
// documents; v1 is sealed for sealed replies v1, whose format senders
// decode themselves (SENDERS.md), and for the known-answer vectors.
func (dk *DataKey) appendSealedDocument(dst []byte, rand io.Reader, v byte, label string, plaintext []byte) ([]byte, error) {
	start := len(dst)
	out := slices.Grow(dst, SealedDocumentSize(len(plaintext)))[:start+docHeaderSize]
	c, err := dk.startDocument(rand, v, label, out[start:])
	if err != nil {
		return nil, err
	}
	defer c.zero()
	for {
		n := min(len(plaintext), ChunkSize)
		last := n == len(plaintext)
		if out, err = c.seal(out, plaintext[:n], last); err != nil {
			return nil, err
		}
		plaintext = plaintext[n:]
		if last {
			return out, nil
		}
	}
}

// OpenDocument opens a document sealed by SealDocument, or by an earlier
// version in format v1, under the same label. Reordered, dropped, added
// or cut chunks give ErrOpen; an unknown version or a document too short
// for one chunk gives ErrFormat.
func (dk *DataKey) OpenDocument(label string, sealed []byte) ([]byte, error) {
	if len(sealed) < docHeaderSize+docTagSize {
		return nil, fmt.Errorf("sealed document %s: %w", label, ErrFormat)
	}
	c, err := dk.newDocCipher(sealed[0], sealed[1:docHeaderSize], label)
	if err != nil {
		return nil, fmt.Errorf("sealed document %s: %w", label, err)
	}
	defer c.zero()
	body := sealed[docHeaderSize:]
	out := make([]byte, 0, len(body))
	for {
		n := min(len(body), sealedChunkSize)
		last := n == len(body)
		if n < docTagSize || (last && c.counter > 0 && n == docTagSize) {
			// Only the first chunk of an empty document may be empty.
			return nil, fmt.Errorf("sealed document %s: %w", label, ErrOpen)
		}
		chunk := c.counter
		if out, err = c.open(out, body[:n], last); err != nil {
			return nil, fmt.Errorf("sealed document %s chunk %d: %w", label, chunk, err)
		}
		body = body[n:]
		if last {
			return out, nil
		}
	}
}
