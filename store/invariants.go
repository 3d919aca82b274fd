package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// CheckInvariants checks the domain's invariants across buckets, where
// Check checks bbolt's pages: every letter is in its resident's mailbox
// index and has its documents, every index entry points to a letter, a
// pending account has an activation code and no keys (and no other
// account has an activation code), and a deleted account has only its
// tombstone left (no name, keys, letters, sessions, preferences,
// acceptance, notices or notifications). The tests run it after every
// simulated crash; an auditor can run it on a copy. It returns every
// problem it finds.
func (s *Store) CheckInvariants() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	err := s.db.View(func(tx *bolt.Tx) error {
		residents := map[string]*residentRecord{}
		if err := tx.Bucket(bucketResidents).ForEach(func(k, _ []byte) error {
			rec, err := getResident(tx, string(k))
			if err != nil {
				return err
			}
			residents[rec.ID] = rec
			if id := tx.Bucket(bucketResidentsByNID).Get([]byte(rec.NationalID)); string(id) != rec.ID {
				bad("resident %s: residents-by-nid has %q", rec.ID, id)
			}
			if rec.Status == ResidentPending {
				if rec.PublicKey != nil || rec.PasswordWrap != nil || rec.RecoveryWrap != nil {
					bad("pending resident %s: has keys", rec.ID)
				}
				if len(rec.ActivationHash) != sha256.Size || rec.ActivationExpires.IsZero() {
					bad("pending resident %s: no activation code", rec.ID)
				}
			} else if rec.ActivationHash != nil || !rec.ActivationExpires.IsZero() {
				bad("resident %s (%s): an activation code left", rec.ID, rec.Status)
			}
			if rec.Status == ResidentDeleted {
				if rec.Name != "" || rec.PublicKey != nil || rec.PasswordWrap != nil || rec.RecoveryWrap != nil {
					bad("deleted resident %s: name or keys left", rec.ID)
				}
				for _, b := range [][]byte{bucketPreferences, bucketTermsAccepted} {
					if tx.Bucket(b).Get(k) != nil {
						bad("deleted resident %s: %s left", rec.ID, b)
					}
				}
				ret, err := getRetention(tx, rec.ID)
				if err != nil {
					return err
				}
				if ret.Deleted.IsZero() {
					bad("deleted resident %s: no tombstone in retention", rec.ID)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		liveResident := func(id string) bool { r := residents[id]; return r != nil && r.Status != ResidentDeleted }

		if err := tx.Bucket(bucketLetters).ForEach(func(k, _ []byte) error {
			rec, err := getLetter(tx, string(k))
			if err != nil {
				return err
			}
			if !liveResident(rec.ResidentID) {
				bad("letter %s: resident %s missing or deleted", rec.ID, rec.ResidentID)
			}
			if tx.Bucket(bucketMailbox).Get(mailboxKey(rec.ResidentID, rec.DeliveredAt, rec.ID)) == nil {
				bad("letter %s: not in the mailbox index", rec.ID)
			}
			if tx.Bucket(bucketSenderLetters).Get(senderLetterKey(rec.SenderID, rec.ID)) == nil {
				bad("letter %s: not in the sender index", rec.ID)
			}
			for i := range rec.Documents {
				if getDocument(tx, rec.ID, i) == nil {
					bad("letter %s: document %d missing", rec.ID, i)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		letterExists := func(id []byte) bool { return tx.Bucket(bucketLetters).Get(id) != nil }
		if err := tx.Bucket(bucketMailbox).ForEach(func(k, _ []byte) error {
			if i := bytes.IndexByte(k, 0); i < 0 || len(k) < i+9 || !letterExists(k[i+9:]) {
				bad("mailbox entry %x: no such letter", k)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDocuments).ForEach(func(k, v []byte) error {
			if id, ok := documentsLetterID(k, v); !ok || !letterExists(id) {
				bad("document %x: no such letter", k)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			var rec sessionRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if !liveResident(rec.ResidentID) {
				bad("session %x: resident %s missing or deleted", k, rec.ResidentID)
			}
			return nil
		}); err != nil {
			return err
		}
		pending := 0
		if err := tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var rec outboxRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if !liveResident(rec.ResidentID) {
				bad("notification %x: resident %s missing or deleted", k, rec.ResidentID)
			}
			if rec.State == NotificationPending {
				pending++
				if tx.Bucket(bucketOutboxDue).Get(rec.dueKey()) == nil {
					bad("notification %x: pending but not in outbox-due", k)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if n := tx.Bucket(bucketOutboxDue).Stats().KeyN; n != pending {
			bad("outbox-due has %d entries for %d pending notifications", n, pending)
		}
		return tx.Bucket(bucketTermsNotices).ForEach(func(k, _ []byte) error {
			if len(k) < 4 || !liveResident(string(k[4:])) {
				bad("terms notice %d %s: resident missing or deleted", binary.BigEndian.Uint32(k), k[4:])
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}
