package store

import (
	"bytes"
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// TestInboxListsUnreadableLetter: one letter that cannot be opened,
// whether its record does not decode or its sealed key does not open, is
// listed with Error set; the inbox still lists and opens the others. On
// the engine of the pass: the records are damaged in the embedded file,
// or in the cluster's letters table (by SQL, and through the engine).
func TestInboxListsUnreadableLetter(t *testing.T) {
	t.Parallel()
	inboxListsUnreadableLetter(t, newFixture(t))
}

// TestInboxListsUnreadableLetterFile is TestInboxListsUnreadableLetter on
// the embedded engine's file in both passes.
func TestInboxListsUnreadableLetterFile(t *testing.T) {
	t.Parallel()
	inboxListsUnreadableLetter(t, newEmbeddedFixture(t))
}

func inboxListsUnreadableLetter(t *testing.T, f *fixture) {
	t.Helper()
	var ids []string
	for _, ref := range []string{"good-1", "bad-json", "bad-key", "good-2"} {
		res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, ref))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Letter.ID)
		f.clock.Advance(time.Second)
	}
	if !onEmbedded(f.s) {
		// The cluster's: the record of one replaced by bytes that do not
		// decode, and one's sealed key changed through the engine; both
		// put back for the invariants checked on close.
		saved := []*letterRecord{rawLetter(t, f.s, ids[1]), rawLetter(t, f.s, ids[2])}
		clusterSQL(t, f.s, `UPDATE letters SET record = '{damaged'::bytea WHERE id = '`+ids[1]+`'`)
		bad := rawLetter(t, f.s, ids[2])
		bad.SealedKey[40] ^= 1
		putLetterRecords(t, f.s, bad)
		unreadableListed(t, f, ids)
		putLetterRecords(t, f.s, saved...)
		return
	}
	// The file's: the record of one replaced by bytes that do not
	// decode, and a byte of one's sealed key changed where it is kept, in
	// the first of its parts beside the record (letter-parts, field 0).
	keyPart := sealedKeyPartKey(ids[2])
	var savedRecord, savedPart []byte
	err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
		b, parts := tx.Bucket(bucketLetters), tx.Bucket(bucketLetterParts)
		savedRecord, savedPart = bytes.Clone(b.Get([]byte(ids[1]))), bytes.Clone(parts.Get(keyPart))
		if len(savedPart) <= 40 {
			t.Fatalf("letter %s: no part of its sealed key in %s", ids[2], bucketLetterParts)
		}
		if err := b.Put([]byte(ids[1]), []byte("{damaged")); err != nil {
			return err
		}
		bad := bytes.Clone(savedPart)
		bad[40] ^= 1
		return parts.Put(keyPart, bad)
	})
	if err != nil {
		t.Fatal(err)
	}

	unreadableListed(t, f, ids)

	// The invariants checked on close need the records back.
	if err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketLetters).Put([]byte(ids[1]), savedRecord); err != nil {
			return err
		}
		return tx.Bucket(bucketLetterParts).Put(keyPart, savedPart)
	}); err != nil {
		t.Fatal(err)
	}
}

// putLetterRecords writes letter records through the engine.
func putLetterRecords(t *testing.T, s *Store, recs ...*letterRecord) {
	t.Helper()
	if err := s.update(context.Background(), func(tx storage.Tx) error {
		for _, rec := range recs {
			if err := tx.Letters().Put(rec); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// unreadableListed checks the inbox of f's resident, whose letters ids[1]
// and ids[2] (of ids, oldest first) are damaged.
func unreadableListed(t *testing.T, f *fixture, ids []string) {
	t.Helper()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	inbox, err := mb.Inbox(context.Background())
	if err != nil {
		t.Fatalf("Inbox with two damaged letters: %v", err)
	}
	if len(inbox) != 4 {
		t.Fatalf("Inbox lists %d letters, want 4", len(inbox))
	}
	for i, l := range inbox {
		id := ids[len(ids)-1-i] // newest first
		bad := id == ids[1] || id == ids[2]
		switch {
		case l.ID != id:
			t.Errorf("line %d is letter %s, want %s", i, l.ID, id)
		case bad && (l.Error == nil || l.Subject != "" || l.DeliveredAt.IsZero()):
			t.Errorf("damaged letter %s: Error %v, subject %q, delivered %v; want an error, no subject, the delivery time", id, l.Error, l.Subject, l.DeliveredAt)
		case !bad && (l.Error != nil || l.Subject == ""):
			t.Errorf("good letter %s: Error %v, subject %q", id, l.Error, l.Subject)
		}
	}
	if _, err := mb.Letter(context.Background(), ids[0]); err != nil {
		t.Errorf("the good letter does not open: %v", err)
	}
}
