package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// Sealed document contents live in the documents bucket, in one of three
// forms; every function here reads, deletes and checks all three:
//
//   - Since schema 14, a small document (sealed, at most
//     smallDocumentMax bytes) is stored flat, in parts:
//     letterID | uint16 index | uint16 part → at most documentPartMax
//     bytes of its sealed content, the parts in order (putParts).
//   - Since schema 4, a larger document is in a sub-bucket of the letter,
//     named by the letter id, that maps the document's uint16 index to
//     its sealed content (documentIndexKey). A letter's documents are all
//     of one form: the sub-bucket when any of them is large.
//   - Before schema 4, letterID | uint16 index → sealed content
//     (flatDocumentKey); still read.
//
// Why a sub-bucket for large documents: bbolt puts at least two values on
// a leaf however large they are, and rewrites the whole leaf when a key is
// added to it. In one flat bucket every commit of new letters rewrote the
// last leaf's two to four older documents too (100 KB letters: about 34
// pages written per letter instead of 26). A letter's own sub-bucket is
// written once, when the letter is delivered; the documents bucket's
// leaves hold only the sub-buckets' small headers.
//
// Why parts for small ones: a sub-bucket whose content is over a quarter
// of a page is never inlined, so a 2 KB letter's document took a 4 KiB
// page of its own; and two values of 2 KB do not fit one leaf page, so
// flat whole they would take as much. Parts of at most documentPartMax
// bytes fill the documents bucket's pages (filled to 95 %, as letter ids
// grow) five to a page, and a commit rewrites at most the last leaf of
// older parts, less than a page. See docs/PERFORMANCE.md, "Small letters
// on disk", for the measurement that chose the parts' size. Documents
// over a page sealed keep the sub-bucket, whose pages are written once.

const (
	// smallDocumentMax is the largest sealed document stored in parts.
	smallDocumentMax = 4096
	// documentPartMax is the largest part of a small document: five
	// parts, with their keys and bbolt's element headers, fill a 4 KiB
	// page to 95 %.
	documentPartMax = 700
)

func documentIndexKey(index int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(index)) }

// flatDocumentKey is where a document's sealed content was kept before
// schema 4.
func flatDocumentKey(letterID string, index int) []byte {
	return binary.BigEndian.AppendUint16([]byte(letterID), uint16(index))
}

// The lengths of the documents bucket's flat keys: before schema 4, and
// a part's.
const (
	flatKeySize = idSize + 2
	partKeySize = idSize + 4
)

// splitParts cuts content into the fewest parts of at most documentPartMax
// bytes, of equal size but for the last, so that they pack pages evenly.
// Empty content is one empty part.
func splitParts(content []byte) [][]byte {
	n := max(1, (len(content)+documentPartMax-1)/documentPartMax)
	size := (len(content) + n - 1) / n
	parts := make([][]byte, 0, n)
	for len(content) > size {
		parts = append(parts, content[:size])
		content = content[size:]
	}
	return append(parts, content)
}

// memBlob is a blob held in memory until a transaction writes it.
type memBlob struct {
	key  string
	data []byte
}

func (b *memBlob) Key() string { return b.key }
func (b *memBlob) Size() int64 { return int64(len(b.data)) }

// memBlobs writes nothing before the transaction: the content goes into
// the database file with the letter, in the same commit.
type memBlobs struct{}

// Write holds the content. Content that can give its bytes (a
// *bytes.Buffer) is held without a copy: the caller must not change it
// until the transaction that attaches it has ended.
func (memBlobs) Write(ctx context.Context, letterID string, index int, content io.Reader) (storage.Blob, error) {
	key := fmt.Sprintf("%s/%d", letterID, index)
	if b, ok := content.(interface{ Bytes() []byte }); ok {
		return &memBlob{key: key, data: b.Bytes()}, nil
	}
	data, err := io.ReadAll(content)
	if err != nil {
		return nil, fmt.Errorf("read document %s: %w", key, err)
	}
	return &memBlob{key: key, data: data}, nil
}

func (memBlobs) Discard(context.Context, []storage.Blob) {}

type documentsTx tx

// Put writes a letter's documents: in parts when every one is small,
// else in the letter's sub-bucket.
func (t documentsTx) Put(letterID string, blobs []storage.Blob) error {
	small := true
	for i, blob := range blobs {
		mb, ok := blob.(*memBlob)
		if !ok {
			return fmt.Errorf("letter %s document %d: a blob of another engine", letterID, i)
		}
		small = small && len(mb.data) <= smallDocumentMax
	}
	docs := t.tx.Bucket(bucketDocuments)
	if small {
		for i, blob := range blobs {
			if err := putParts(docs, flatDocumentKey(letterID, i), blob.(*memBlob).data); err != nil {
				return err
			}
		}
		return nil
	}
	b, err := docs.CreateBucket([]byte(letterID))
	if err != nil {
		return fmt.Errorf("letter %s documents: %w", letterID, err)
	}
	for i, blob := range blobs {
		if err := b.Put(documentIndexKey(i), blob.(*memBlob).data); err != nil {
			return err
		}
	}
	return nil
}

// get returns a document's sealed content, or nil if it is missing (or a
// small one's parts are not all there, 0 to the last without a gap). The
// content of the sub-bucket's and the pre-schema-4 form is valid only
// during the transaction; a small document's is a copy.
func (t documentsTx) get(letterID string, index int) []byte {
	docs := t.tx.Bucket(bucketDocuments)
	if b := docs.Bucket([]byte(letterID)); b != nil {
		return b.Get(documentIndexKey(index))
	}
	if v := docs.Get(flatDocumentKey(letterID, index)); v != nil {
		return v
	}
	content, ok := readParts(docs, flatDocumentKey(letterID, index))
	if !ok {
		return nil
	}
	return content
}

// readParts joins the parts stored under prefix (prefix | uint16 part,
// in a bucket of partKeySize keys: a small document's, or a letter's
// field kept beside its record), copied out of the transaction. ok is
// false when the parts are not 0 to the last without a gap, or a key
// under prefix is of another length; none is nil and ok.
func readParts(b *bolt.Bucket, prefix []byte) (content []byte, ok bool) {
	part := 0
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+2 || int(binary.BigEndian.Uint16(k[len(prefix):])) != part {
			return nil, false
		}
		if content == nil {
			content = make([]byte, 0, len(v)*2)
		}
		content = append(content, v...)
		part++
	}
	return content, true
}

// putParts stores content under prefix in parts (splitParts), prefix |
// uint16 part → part.
func putParts(b *bolt.Bucket, prefix, content []byte) error {
	for p, part := range splitParts(content) {
		if err := b.Put(binary.BigEndian.AppendUint16(bytes.Clone(prefix), uint16(p)), part); err != nil {
			return err
		}
	}
	return nil
}

// deletePrefix deletes every key of b that begins with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Open copies the content out of the transaction.
func (t documentsTx) Open(letterID string, index int) (io.ReadCloser, error) {
	v := t.get(letterID, index)
	if v == nil {
		return nil, fmt.Errorf("letter %s document %d content: %w", letterID, index, storage.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(bytes.Clone(v))), nil
}

func (t documentsTx) Has(letterID string, index int) (bool, error) {
	return t.get(letterID, index) != nil, nil
}

// Delete deletes a letter's documents in whichever form they are: every
// flat entry of the letter (its parts, or its documents from before
// schema 4), whatever n says.
func (t documentsTx) Delete(letterID string, n int) error {
	docs := t.tx.Bucket(bucketDocuments)
	if docs.Bucket([]byte(letterID)) != nil {
		return docs.DeleteBucket([]byte(letterID))
	}
	var keys [][]byte
	prefix := []byte(letterID)
	c := docs.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if id, ok := documentsLetterID(k, v); ok && v != nil && string(id) == letterID {
			keys = append(keys, bytes.Clone(k))
		}
	}
	for _, k := range keys {
		if err := docs.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (t documentsTx) Letters(fn func(letterID string) error) error {
	var last string
	return t.tx.Bucket(bucketDocuments).ForEach(func(k, v []byte) error {
		id, ok := documentsLetterID(k, v)
		if !ok || string(id) == last {
			return nil
		}
		last = string(id)
		return fn(last)
	})
}

// documentsLetterID returns the letter an entry of the documents bucket
// belongs to: a sub-bucket (v == nil) is named by the letter id, an entry
// of a flat form begins with it. ok is false for a key of neither shape.
func documentsLetterID(k, v []byte) (id []byte, ok bool) {
	if v == nil {
		return k, true
	}
	if len(k) != flatKeySize && len(k) != partKeySize {
		return nil, false
	}
	return k[:idSize], true
}

// checkDocuments reports documents of no letter and letters' documents
// that are missing.
func checkDocuments(btx *bolt.Tx) []error {
	var errs []error
	lettersB := btx.Bucket(bucketLetters)
	err := btx.Bucket(bucketDocuments).ForEach(func(k, v []byte) error {
		if id, ok := documentsLetterID(k, v); !ok || lettersB.Get(id) == nil {
			errs = append(errs, fmt.Errorf("document %x: no such letter", k))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	docs := documentsTx{tx: btx}
	err = lettersB.ForEach(func(k, v []byte) error {
		var l storage.Letter
		if decodeRecord(v, &l) != nil {
			return nil // the letters table's check reports it
		}
		for i := range l.Documents {
			if docs.get(string(k), i) == nil {
				errs = append(errs, fmt.Errorf("letter %s: document %d missing", k, i))
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// RawDocument returns a copy of a document's sealed content as stored, in
// whichever form, or nil if it is missing: for tests and tools that read
// the file raw (the domain reads through storage.Documents).
func RawDocument(btx *bolt.Tx, letterID string, index int) []byte {
	return bytes.Clone(documentsTx{tx: btx}.get(letterID, index))
}

// ReplaceRawDocument overwrites a document's stored content in the form
// the letter's documents are in (a small one's as parts), as an attacker
// with the file could: for tests.
func ReplaceRawDocument(btx *bolt.Tx, letterID string, index int, content []byte) error {
	docs := btx.Bucket(bucketDocuments)
	if b := docs.Bucket([]byte(letterID)); b != nil {
		return b.Put(documentIndexKey(index), content)
	}
	if docs.Get(flatDocumentKey(letterID, index)) != nil {
		return docs.Put(flatDocumentKey(letterID, index), content)
	}
	if err := deletePrefix(docs, flatDocumentKey(letterID, index)); err != nil {
		return err
	}
	return putParts(docs, flatDocumentKey(letterID, index), content)
}
