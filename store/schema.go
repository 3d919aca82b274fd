package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
)

// upgrade is the ordered record of schema changes, as mox keeps it: each
// step takes a database of version-1 to version, in one transaction with
// the new version number, so a crash leaves either the old or the new
// schema. Steps are never edited once released; a change is a new step.
var upgrades = []struct {
	version int
	what    string
	apply   func(s *Store, tx *bolt.Tx) error
}{
	{1, "initial buckets and the appliance signing key", upgrade1},
	{2, "index of letters by sender, for sender status lookups", upgrade2},
	{3, "terms of use, retention, notification outbox and preferences, job runs", upgrade3},
	{4, "documents of new letters in a sub-bucket per letter", upgrade4},
}

// SchemaVersion is the schema version this code writes.
func SchemaVersion() int { return upgrades[len(upgrades)-1].version }

func readSchema(tx *bolt.Tx) int {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get(keySchema)
	if len(v) != 4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(v))
}

func (s *Store) upgrade() error {
	var current int
	if err := s.db.View(func(tx *bolt.Tx) error {
		current = readSchema(tx)
		if current == 0 && tx.Bucket(bucketMeta) == nil {
			// A new, empty file, or a file that is no Postkasse database.
			empty := true
			tx.ForEach(func(name []byte, _ *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return fmt.Errorf("not a Postkasse database (no meta bucket)")
			}
		}
		if current == 0 && tx.Bucket(bucketMeta) != nil {
			// Every upgrade step writes its version in its own transaction,
			// so a meta bucket always has one. Without it this is a damaged
			// file; running step 1 on it would replace the signing key.
			return fmt.Errorf("damaged database: the meta bucket has no schema version")
		}
		return nil
	}); err != nil {
		return err
	}
	if current > SchemaVersion() {
		return fmt.Errorf("database schema version %d is newer than this program's %d; upgrade the program", current, SchemaVersion())
	}
	for _, u := range upgrades {
		if u.version <= current {
			continue
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			if err := u.apply(s, tx); err != nil {
				return err
			}
			meta := tx.Bucket(bucketMeta)
			return meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, uint32(u.version)))
		})
		if err != nil {
			return fmt.Errorf("upgrade schema to version %d (%s): %w", u.version, u.what, err)
		}
	}
	return nil
}

func upgrade1(s *Store, tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketResidents, bucketResidentsByNID, bucketSenders,
		bucketSenderCerts, bucketLetters, bucketDocuments, bucketMailbox, bucketReferences,
		bucketSessions, bucketAudit} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	seed, err := crypto.NewSigningSeed(s.rand)
	if err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keySigningSeed, seed); err != nil {
		return err
	}
	created, err := s.now().MarshalText()
	if err != nil {
		return err
	}
	return meta.Put(keyCreated, created)
}

func upgrade2(s *Store, tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketSenderLetters)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketLetters).ForEach(func(k, v []byte) error {
		var rec struct{ SenderID string }
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode letter %s: %w", k, err)
		}
		return idx.Put(senderLetterKey(rec.SenderID, string(k)), nil)
	})
}

// Buckets of schema 3. The package doc describes each one's keys and values.
var (
	bucketTerms         = []byte("terms")
	bucketTermsAccepted = []byte("terms-accepted")
	bucketTermsNotices  = []byte("terms-notices")
	bucketRetention     = []byte("retention")
	bucketPreferences   = []byte("preferences")
	bucketOutbox        = []byte("outbox")
	bucketOutboxDue     = []byte("outbox-due")
	bucketJobRuns       = []byte("job-runs")
)

// upgrade3 adds the buckets of scheduled work (package jobs): terms of
// use and their acceptance, retention state, notification preferences,
// the notification outbox and the record of job runs. They start empty.
func upgrade3(s *Store, tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketTerms, bucketTermsAccepted, bucketTermsNotices,
		bucketRetention, bucketPreferences, bucketOutbox, bucketOutboxDue, bucketJobRuns} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// upgrade4 changes nothing stored: from schema 4 on, a new letter's
// documents go into a sub-bucket of documents per letter (documents.go),
// and the code reads both forms. The step is there so that a program that
// knows only the flat form refuses a file that may hold sub-buckets.
// Documents stored before stay where they are: moving them all in one
// transaction would hold the whole bucket in memory.
func upgrade4(s *Store, tx *bolt.Tx) error { return nil }
