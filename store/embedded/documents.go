package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// Sealed document contents live in the documents bucket. Since schema 4
// each letter has a sub-bucket there, named by the letter id, that maps
// the document's uint16 index to its sealed content. Before, the contents
// were values of the documents bucket itself under letterID | uint16 index
// (flatDocumentKey); files made before schema 4 may still hold such
// entries, and every function here reads and deletes both forms.
//
// Why a sub-bucket: bbolt puts at least two values on a leaf however large
// they are, and rewrites the whole leaf when a key is added to it. In one
// flat bucket every commit of new letters rewrote the last leaf's two to
// four older documents too (100 KB letters: about 34 pages written per
// letter instead of 26). A letter's own sub-bucket is written once, when
// the letter is delivered; the documents bucket's leaves hold only the
// sub-buckets' small headers. See docs/PERFORMANCE.md.

func documentIndexKey(index int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(index)) }

// flatDocumentKey is where a document's sealed content was kept before
// schema 4.
func flatDocumentKey(letterID string, index int) []byte {
	return binary.BigEndian.AppendUint16([]byte(letterID), uint16(index))
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

func (t documentsTx) Put(letterID string, blobs []storage.Blob) error {
	b, err := t.tx.Bucket(bucketDocuments).CreateBucket([]byte(letterID))
	if err != nil {
		return fmt.Errorf("letter %s documents: %w", letterID, err)
	}
	for i, blob := range blobs {
		mb, ok := blob.(*memBlob)
		if !ok {
			return fmt.Errorf("letter %s document %d: a blob of another engine", letterID, i)
		}
		if err := b.Put(documentIndexKey(i), mb.data); err != nil {
			return err
		}
	}
	return nil
}

// get returns a document's sealed content, valid only during the
// transaction, or nil if it is missing.
func (t documentsTx) get(letterID string, index int) []byte {
	docs := t.tx.Bucket(bucketDocuments)
	if b := docs.Bucket([]byte(letterID)); b != nil {
		return b.Get(documentIndexKey(index))
	}
	return docs.Get(flatDocumentKey(letterID, index))
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

func (t documentsTx) Delete(letterID string, n int) error {
	docs := t.tx.Bucket(bucketDocuments)
	if docs.Bucket([]byte(letterID)) != nil {
		return docs.DeleteBucket([]byte(letterID))
	}
	for i := range n {
		if err := docs.Delete(flatDocumentKey(letterID, i)); err != nil {
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
// of the old flat form ends in the two-byte index. ok is false for a key
// too short to be either.
func documentsLetterID(k, v []byte) (id []byte, ok bool) {
	if v == nil {
		return k, true
	}
	if len(k) < 2 {
		return nil, false
	}
	return k[:len(k)-2], true
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
		if json.Unmarshal(v, &l) != nil {
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
