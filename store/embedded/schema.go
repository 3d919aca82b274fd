package embedded

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"

	bolt "go.etcd.io/bbolt"
)

var keySchema = []byte("schema")

// upgrades is the ordered record of schema changes, as mox keeps it: each
// step takes a file of version-1 to version, in one transaction with the
// new version number, so a crash leaves either the old or the new schema.
// Steps are never edited once released; a change is a new step.
var upgrades = []struct {
	version int
	what    string
	apply   func(e *Engine, tx *bolt.Tx) error
}{
	{1, "initial buckets", upgrade1},
	{2, "index of letters by sender, for sender status lookups", upgrade2},
	{3, "terms of use, retention, notification outbox and preferences, job runs", upgrade3},
	{4, "documents of new letters in a sub-bucket per letter", upgrade4},
	{5, "index of sessions by resident", upgrade5},
	{6, "the audit log as a Merkle tree log (store/auditlog): the plain entries moved into it", upgrade6},
	{7, "support requests and their index by resident; residents' blocks of senders; senders' events; folders and the mailbox by folder", upgrade7},
	{8, "limits shared by the nodes of a cluster (the login throttle, the senders' rate limits) and their index by expiry", upgrade8},
	{9, "indexes of the unread letters of each folder, of the due dates to act on, and of residents' tombstones of deleted letters; residents' sealed search indexes; indexes of sessions by expiry and by last seen, for the hourly sweep", upgrade9},
	{10, "senders' callbacks and their outbox of events to POST; counters of each folder's letters and unread letters and of the due dates to act on, kept with their indexes; index of scheduled letters by release time", upgrade10},
	{11, "the print queue, its index by sender and reference, its index of letters queued and not yet printed and its index of letters waiting to be printed if unread", upgrade11},
	{12, "residents' sealed replies to letters and messages to senders, and their indexes by letter and by resident", upgrade12},
	{13, "residents' grants of access to their mailboxes (delegation, guardianship) and their indexes by grantor and by delegate", upgrade13},
	{14, "small documents of new letters stored flat in parts instead of in a sub-bucket per letter; records written in CBOR instead of JSON", upgrade14},
	{15, "letters' sealed data keys, receipts and other big fields kept in parts beside their records", upgrade15},
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

// Schema returns the file's schema version.
func (e *Engine) Schema() (int, error) {
	var v int
	err := e.guarded(false, func(tx *bolt.Tx) error { v = readSchema(tx); return nil })
	return v, err
}

func (e *Engine) upgrade(readOnly bool) error {
	var current int
	if err := e.guarded(false, func(tx *bolt.Tx) error {
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
			// file; running step 1 on it would start it afresh.
			return fmt.Errorf("damaged database: the meta bucket has no schema version")
		}
		return nil
	}); err != nil {
		return err
	}
	if current > SchemaVersion() {
		return fmt.Errorf("database schema version %d is newer than this program's %d; upgrade the program", current, SchemaVersion())
	}
	if readOnly {
		if current < SchemaVersion() {
			return fmt.Errorf("database schema version %d is older than this program's %d: open it once read-write to upgrade it", current, SchemaVersion())
		}
		return nil
	}
	for _, u := range upgrades {
		if u.version <= current {
			continue
		}
		err := e.guarded(true, func(tx *bolt.Tx) error {
			if err := u.apply(e, tx); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keySchema, be32(uint32(u.version)))
		})
		if err != nil {
			return fmt.Errorf("upgrade schema to version %d (%s): %w", u.version, u.what, err)
		}
		e.upgraded = append(e.upgraded, fmt.Sprintf("schema %d: %s", u.version, u.what))
	}
	return nil
}

func createBuckets(tx *bolt.Tx, names ...[]byte) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// upgrade1 makes the first buckets and notes when the file was made. (The
// appliance's receipt key is the store's to make: see store.New.)
func upgrade1(e *Engine, tx *bolt.Tx) error {
	if err := createBuckets(tx, bucketMeta, bucketResidents, bucketResidentsByNID, bucketSenders,
		bucketSenderCerts, bucketLetters, bucketDocuments, bucketMailbox, bucketReferences,
		bucketSessions, bucketAudit); err != nil {
		return err
	}
	created, err := e.clock().UTC().MarshalText()
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put([]byte("created"), created)
}

func upgrade2(e *Engine, tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketSenderLetters)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketLetters).ForEach(func(k, v []byte) error {
		var rec struct{ SenderID string }
		if err := decodeRecord(v, &rec); err != nil {
			return fmt.Errorf("decode letter %s: %w", k, err)
		}
		return idx.Put(join(rec.SenderID, k...), nil)
	})
}

// upgrade3 adds the buckets of scheduled work: terms of use and their
// acceptance, retention state, notification preferences, the notification
// outbox and the record of job runs. They start empty.
func upgrade3(e *Engine, tx *bolt.Tx) error {
	return createBuckets(tx, bucketTerms, bucketTermsAccepted, bucketTermsNotices,
		bucketRetention, bucketPreferences, bucketOutbox, bucketOutboxDue, bucketJobRuns)
}

// upgrade4 changes nothing stored: from schema 4 on, a new letter's
// documents go into a sub-bucket of documents per letter (documents.go),
// and the code reads both forms. The step is there so that a program that
// knows only the flat form refuses a file that may hold sub-buckets.
// Documents stored before stay where they are: moving them all in one
// transaction would hold the whole bucket in memory.
func upgrade4(e *Engine, tx *bolt.Tx) error { return nil }

// upgrade5 indexes the sessions by resident, so that a resident's
// sessions are found without reading every session.
func upgrade5(e *Engine, tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketSessionsByResident)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
		var rec struct{ ResidentID string }
		if decodeRecord(v, &rec) != nil || len(rec.ResidentID) != idSize {
			return nil // it opens nothing; Check reports it
		}
		return idx.Put(append([]byte(rec.ResidentID), k...), nil)
	})
}

// upgrade6 moves the plain audit entries (uint64 sequence → JSON) into the
// tamper-evident log, in their order, and deletes the plain bucket.
func upgrade6(e *Engine, tx *bolt.Tx) error {
	if err := createBuckets(tx, bucketAuditLog, bucketAuditHashes); err != nil {
		return err
	}
	old := tx.Bucket(bucketAudit)
	if old == nil {
		return nil
	}
	var entries []auditlog.Entry
	if err := old.ForEach(func(k, v []byte) error {
		var rec struct {
			Time                  time.Time
			Actor, Action, Object string
		}
		if err := decodeRecord(v, &rec); err != nil {
			return fmt.Errorf("audit entry %x: %w", k, err)
		}
		entries = append(entries, auditlog.Entry{Index: int64(len(entries)), Time: rec.Time,
			Actor: rec.Actor, Action: rec.Action, Object: rec.Object})
		return nil
	}); err != nil {
		return err
	}
	a := auditTx{tx: tx}
	var app auditlog.Appender
	if _, err := app.Migrate(a, 0, slices.Values(entries)); err != nil {
		return fmt.Errorf("migrate the audit log: %w", err)
	}
	return tx.DeleteBucket(bucketAudit)
}

// upgrade7 adds the buckets of support requests, of residents' blocks of
// senders, of senders' events and of residents' folders (empty), and the
// index of the mailbox by folder, with every letter in the inbox.
func upgrade7(e *Engine, tx *bolt.Tx) error {
	if err := createBuckets(tx, bucketSupport, bucketSupportByResident, bucketSenderBlocks, bucketEvents,
		bucketFolders, bucketMailboxFolders); err != nil {
		return err
	}
	// Every letter so far is in the inbox.
	idx := tx.Bucket(bucketMailboxFolders)
	return tx.Bucket(bucketLetters).ForEach(func(k, v []byte) error {
		var rec struct {
			ResidentID  string
			DeliveredAt time.Time
		}
		if err := decodeRecord(v, &rec); err != nil {
			return fmt.Errorf("decode letter %s: %w", k, err)
		}
		return idx.Put(folderKey(rec.ResidentID, "", rec.DeliveredAt, string(k)), nil)
	})
}

// upgrade8 adds the buckets of limits and of their index by expiry,
// empty. (The embedded engine's appliance keeps its limits in memory; the
// buckets are there so that the engine meets the whole seam.)
func upgrade8(e *Engine, tx *bolt.Tx) error {
	return createBuckets(tx, bucketLimits, bucketLimitsByExpiry)
}

// upgrade9 adds the indexes of unread letters by folder and of due dates,
// made from the letters as they are, and the index of the tombstones that
// deleting a letter leaves, empty: no letter was deleted before, and the
// bucket of residents' sealed search indexes, empty: each is made the
// first time its resident searches.
func upgrade9(e *Engine, tx *bolt.Tx) error {
	if err := createBuckets(tx, bucketMailboxUnread, bucketMailboxDue, bucketTombstones, bucketSearchIndexes,
		bucketSessionsByExpiry, bucketSessionsByLastSeen); err != nil {
		return err
	}
	byExpiry, byLastSeen := tx.Bucket(bucketSessionsByExpiry), tx.Bucket(bucketSessionsByLastSeen)
	if err := tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
		var rec struct{ Expires, LastSeen time.Time }
		if decodeRecord(v, &rec) != nil {
			return nil // it opens nothing; Check reports it
		}
		if err := byExpiry.Put(timeKey(rec.Expires, k), nil); err != nil {
			return err
		}
		return byLastSeen.Put(timeKey(rec.LastSeen, k), nil)
	}); err != nil {
		return err
	}
	unread, due := tx.Bucket(bucketMailboxUnread), tx.Bucket(bucketMailboxDue)
	return tx.Bucket(bucketLetters).ForEach(func(k, v []byte) error {
		var rec storage.Letter
		if err := decodeRecord(v, &rec); err != nil {
			return fmt.Errorf("decode letter %s: %w", k, err)
		}
		if rec.Unread() {
			if err := unread.Put(folderKey(rec.ResidentID, rec.Folder, rec.DeliveredAt, string(k)), nil); err != nil {
				return err
			}
		}
		if rec.Due() != "" {
			return due.Put(dueKey(rec.ResidentID, rec.Due(), string(k)), nil)
		}
		return nil
	})
}

// upgrade10 adds the buckets of senders' callbacks and of their outbox of
// events still to be POSTed, empty: no sender had a callback before; and
// the counters of the indexes that count their entries (mailbox-folders,
// mailbox-unread, mailbox-due), counted from the indexes as they are;
// and the index of scheduled letters by release time, empty: no letter
// was scheduled before.
func upgrade10(e *Engine, tx *bolt.Tx) error {
	if err := createBuckets(tx, bucketCallbacks, bucketCallbackOutbox, bucketMailboxCounts, bucketLettersScheduled); err != nil {
		return err
	}
	counts := tx.Bucket(bucketMailboxCounts)
	for _, idx := range letters.indexes {
		if idx.counter == nil {
			continue
		}
		n := map[string]uint64{}
		if err := tx.Bucket(idx.bucket).ForEach(func(k, _ []byte) error {
			if ck := idx.counter(k); ck != nil {
				n[string(ck)]++
			}
			return nil
		}); err != nil {
			return err
		}
		for k, v := range n {
			if err := counts.Put([]byte(k), be64(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// upgrade11 adds the buckets of the print queue, empty: no letter was
// queued for print before.
func upgrade11(e *Engine, tx *bolt.Tx) error {
	return createBuckets(tx, bucketPrint, bucketPrintByReference, bucketPrintPending, bucketPrintWaiting)
}

// upgrade12 adds the buckets of residents' replies and their indexes by
// letter and by resident, empty: nobody replied before.
func upgrade12(e *Engine, tx *bolt.Tx) error {
	return createBuckets(tx, bucketReplies, bucketRepliesByLetter, bucketRepliesResident)
}

// upgrade13 adds the buckets of delegations, empty: no grant was made
// before. (A letter's wrappings to delegates are a field of its record.)
func upgrade13(e *Engine, tx *bolt.Tx) error {
	return createBuckets(tx, bucketDelegations, bucketDelegationsByGrantor, bucketDelegationsByDelegate)
}

// upgrade14 changes nothing stored: from schema 14 on, a new letter whose
// documents are all small stores them flat in parts (documents.go), and
// records are written in CBOR (table.go); the code reads every form, and
// records written as JSON stay so until they are next written. The step
// is there so that a program that knows neither refuses a file that may
// hold them.
func upgrade14(e *Engine, tx *bolt.Tx) error { return nil }

// upgrade15 adds the bucket of letters' big fields kept beside their
// records (letterparts.go), empty: records written before keep every
// field, are read as they are, and are written in the new form the next
// time they change (rewriting them all in one transaction would hold the
// whole letters bucket in memory). The step is there so that a program
// that knows only whole records refuses a file that may hold parts.
func upgrade15(e *Engine, tx *bolt.Tx) error {
	return createBuckets(tx, bucketLetterParts)
}
