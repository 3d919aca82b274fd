package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Sealed document contents live in the documents bucket. Since schema 4
// each letter has a sub-bucket there, named by the letter id, that maps
// the document's uint16 index to its sealed content. Before, the contents
// were values of the documents bucket itself under letterID | uint16 index
// (documentKey); files made before schema 4 may still hold such entries,
// and every function here reads and deletes both forms.
//
// Why a sub-bucket: bbolt puts at least two values on a leaf however large
// they are, and rewrites the whole leaf when a key is added to it. In one
// flat bucket every commit of new letters rewrote the last leaf's two to
// four older documents too (100 KB letters: about 34 pages written per
// letter instead of 26). A letter's own sub-bucket is written once, when
// the letter is delivered; the documents bucket's leaves hold only the
// sub-buckets' small headers. See docs/PERFORMANCE.md.

func documentIndexKey(index int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(index)) }

// putDocuments stores a new letter's sealed documents.
func putDocuments(tx *bolt.Tx, letterID string, sealed [][]byte) error {
	b, err := tx.Bucket(bucketDocuments).CreateBucket([]byte(letterID))
	if err != nil {
		return fmt.Errorf("letter %s documents: %w", letterID, err)
	}
	for i, content := range sealed {
		if err := b.Put(documentIndexKey(i), content); err != nil {
			return err
		}
	}
	return nil
}

// getDocument returns a document's sealed content, valid only during tx,
// or nil if it is missing.
func getDocument(tx *bolt.Tx, letterID string, index int) []byte {
	docs := tx.Bucket(bucketDocuments)
	if b := docs.Bucket([]byte(letterID)); b != nil {
		return b.Get(documentIndexKey(index))
	}
	return docs.Get(documentKey(letterID, index))
}

// deleteDocuments deletes the n documents of a letter.
func deleteDocuments(tx *bolt.Tx, letterID string, n int) error {
	docs := tx.Bucket(bucketDocuments)
	if docs.Bucket([]byte(letterID)) != nil {
		return docs.DeleteBucket([]byte(letterID))
	}
	for i := range n {
		if err := docs.Delete(documentKey(letterID, i)); err != nil {
			return err
		}
	}
	return nil
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
