package store

import (
	"encoding/binary"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/embedded"
)

// Tests that read the embedded engine's file raw, or damage it on purpose
// as an attacker with the file would, use its bbolt database and the
// bucket names and keys store/embedded documents. The domain itself never
// does.

var (
	bucketMeta            = []byte("meta")
	bucketResidents       = []byte("residents")
	bucketLetters         = []byte("letters")
	bucketLetterParts     = []byte("letter-parts")
	bucketDocuments       = []byte("documents")
	bucketReferences      = []byte("references")
	bucketSenderLetters   = []byte("sender-letters")
	bucketSessions        = []byte("sessions")
	bucketTerms           = []byte("terms")
	bucketTermsAccepted   = []byte("terms-accepted")
	bucketTermsNotices    = []byte("terms-notices")
	bucketRetention       = []byte("retention")
	bucketPreferences     = []byte("preferences")
	bucketOutbox          = []byte("outbox")
	bucketOutboxDue       = []byte("outbox-due")
	bucketJobRuns         = []byte("job-runs")
	bucketSessionsByResid = []byte("sessions-by-resident")
	keySchema             = []byte("schema")
	_                     = bucketSessionsByResid
)

// testDB returns the embedded engine's bbolt database. The test fails on
// a store of another engine: a test of the file opens its store with
// openEmbeddedStore (or newEmbeddedFixture), which it runs on in both
// passes.
func (s *Store) testDB(t testing.TB) *bolt.DB {
	t.Helper()
	e, ok := s.eng.(*embedded.Engine)
	if !ok {
		t.Fatal("testDB: the store is not on the embedded engine; open it with openEmbeddedStore")
	}
	return e.DB()
}

func be32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

func readSchema(tx *bolt.Tx) int {
	v := tx.Bucket(bucketMeta).Get(keySchema)
	if len(v) != 4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(v))
}

func referenceKey(senderID, ref string) []byte {
	return append(append([]byte(senderID), 0), ref...)
}

func documentIndexKey(index int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(index)) }

// documentKey is where a document's content was kept before schema 4.
func documentKey(letterID string, index int) []byte {
	return binary.BigEndian.AppendUint16([]byte(letterID), uint16(index))
}

// sealedKeyPartKey is where the first part of a letter's sealed key is
// kept beside its record (since schema 15): letterID | uint16 field 0 |
// uint16 part 0.
func sealedKeyPartKey(letterID string) []byte { return append([]byte(letterID), 0, 0, 0, 0) }

// getDocument returns a copy of a document's sealed content in any form.
func getDocument(tx *bolt.Tx, letterID string, index int) []byte {
	return embedded.RawDocument(tx, letterID, index)
}

func getValue(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	if err := embedded.DecodeRecord(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

func putValue(b *bolt.Bucket, key []byte, v any) error {
	data, err := embedded.EncodeRecord(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// boltResident decodes a resident's record from the file.
func boltResident(tx *bolt.Tx, id string) (*residentRecord, error) {
	var rec residentRecord
	if err := getValue(tx.Bucket(bucketResidents), []byte(id), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}
