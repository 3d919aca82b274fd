package embedded

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/store/storage"
)

// tx is a storage.Tx over a bbolt transaction. Its accessors are values
// that hold the same *bolt.Tx.
type tx struct{ tx *bolt.Tx }

func (t *tx) Meta() storage.Meta           { return metaTx(*t) }
func (t *tx) Residents() storage.Residents { return residentsTx(*t) }
func (t *tx) Senders() storage.Senders     { return sendersTx(*t) }
func (t *tx) Letters() storage.Letters     { return lettersTx(*t) }
func (t *tx) Documents() storage.Documents { return documentsTx(*t) }
func (t *tx) Sessions() storage.Sessions   { return sessionsTx(*t) }
func (t *tx) Outbox() storage.Outbox       { return outboxTx(*t) }
func (t *tx) Audit() storage.Audit         { return auditTx(*t) }
func (t *tx) Support() storage.Support     { return supportTx(*t) }
func (t *tx) SenderBlocks() storage.SenderBlocks {
	return senderBlocksTx(*t)
}
func (t *tx) Events() storage.Events           { return eventsTx(*t) }
func (t *tx) Callbacks() storage.Callbacks     { return callbacksTx(*t) }
func (t *tx) Print() storage.Print             { return printTx(*t) }
func (t *tx) Replies() storage.Replies         { return repliesTx(*t) }
func (t *tx) Folders() storage.Folders         { return foldersTx(*t) }
func (t *tx) Delegations() storage.Delegations { return delegationsTx(*t) }
func (t *tx) Terms() storage.Terms             { return termsTx(*t) }
func (t *tx) Retention() storage.Retention     { return retentionTx(*t) }
func (t *tx) Preferences() storage.Preferences { return preferencesTx(*t) }
func (t *tx) JobRuns() storage.JobRuns         { return jobRunsTx(*t) }
func (t *tx) Leases() storage.Leases           { return leasesTx(*t) }
func (t *tx) Limits() storage.Limits           { return limitsTx(*t) }
func (t *tx) SearchIndexes() storage.SearchIndexes {
	return searchIndexesTx(*t)
}

// Meta.

type metaTx tx

func (t metaTx) Get(key string) ([]byte, error) {
	v := t.tx.Bucket(bucketMeta).Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("meta %s: %w", key, storage.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (t metaTx) All(fn func(key string, value []byte) error) error {
	return t.tx.Bucket(bucketMeta).ForEach(func(k, v []byte) error {
		if bytes.Equal(k, keySchema) || bytes.HasPrefix(k, []byte("lease/")) {
			return nil // the engine's own
		}
		return fn(string(k), bytes.Clone(v))
	})
}

func (t metaTx) Put(key string, value []byte) error {
	if key == string(keySchema) {
		return errors.New("meta: the schema version is the engine's own")
	}
	return t.tx.Bucket(bucketMeta).Put([]byte(key), value)
}

// Residents.

type residentsTx tx

func (t residentsTx) Get(id string) (*storage.Resident, error) {
	return residents.get(t.tx, []byte(id))
}

func (t residentsTx) ByNationalID(number string) (*storage.Resident, error) {
	id := t.tx.Bucket(bucketResidentsByNID).Get([]byte(number))
	if id == nil {
		return nil, fmt.Errorf("resident with national id: %w", storage.ErrNotFound)
	}
	return residents.get(t.tx, id)
}

func (t residentsTx) Put(r *storage.Resident) error {
	if id := t.tx.Bucket(bucketResidentsByNID).Get([]byte(r.NationalID)); id != nil && string(id) != r.ID {
		return fmt.Errorf("resident %s: the national id is resident %s's", r.ID, id)
	}
	return residents.put(t.tx, r)
}

func (t residentsTx) Delete(id string) error {
	r, err := residents.get(t.tx, []byte(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return residents.remove(t.tx, r)
}

func (t residentsTx) All(fn func(*storage.Resident) error) error {
	return t.tx.Bucket(bucketResidentsByNID).ForEach(func(_, id []byte) error {
		r, err := residents.get(t.tx, id)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// Stamp is the raw record the number leads to: it holds the resident's id
// and number, so it differs when the number leads elsewhere.
func (t residentsTx) Stamp(number string) []byte {
	id := t.tx.Bucket(bucketResidentsByNID).Get([]byte(number))
	if id == nil {
		return nil
	}
	return t.tx.Bucket(bucketResidents).Get(id)
}

// Senders.

type sendersTx tx

func (t sendersTx) Get(id string) (*storage.Sender, error) { return senders.get(t.tx, []byte(id)) }

func (t sendersTx) ByCertificate(fingerprint string) (*storage.Sender, error) {
	id := t.tx.Bucket(bucketSenderCerts).Get([]byte(fingerprint))
	if id == nil {
		return nil, fmt.Errorf("certificate %s: %w", fingerprint, storage.ErrNotFound)
	}
	return senders.get(t.tx, id)
}

func (t sendersTx) Put(s *storage.Sender) error {
	certs := t.tx.Bucket(bucketSenderCerts)
	for _, c := range s.Certificates {
		if id := certs.Get([]byte(c.Fingerprint)); id != nil && string(id) != s.ID {
			return fmt.Errorf("sender %s: certificate %s is bound to sender %s", s.ID, c.Fingerprint, id)
		}
	}
	return senders.put(t.tx, s)
}

func (t sendersTx) All(fn func(*storage.Sender) error) error { return senders.all(t.tx, fn) }

func (t sendersTx) Stamp(id string) []byte { return t.tx.Bucket(bucketSenders).Get([]byte(id)) }

// Letters.

type lettersTx tx

func (t lettersTx) Get(id string) (*storage.Letter, error) {
	l, err := letters.get(t.tx, []byte(id))
	if err != nil {
		return nil, err
	}
	if l.ID != id {
		// The record names another letter: it was moved or copied here.
		// Its sealed key is bound to its own id, so it would open;
		// refuse it rather than show one letter's content under
		// another's id.
		return nil, fmt.Errorf("letter %s: the record stored under this id is letter %s", id, l.ID)
	}
	return l, nil
}

// Listed decodes only the fields of Letter.ListingFields from the record
// (listedLetter): a page's 50 records are read in about half the time of
// whole ones, which carry the sealed key, subject, body, documents'
// names and receipt in base64.
func (t lettersTx) Listed(id string) (*storage.Letter, error) {
	v := t.tx.Bucket(bucketLetters).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("letter %s: %w", id, storage.ErrNotFound)
	}
	var r listedLetter
	if err := decodeRecord(v, &r); err != nil {
		return nil, fmt.Errorf("decode letter %s: %w", id, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("letter %s: the record stored under this id is letter %s", id, r.ID)
	}
	return &storage.Letter{ID: r.ID, ResidentID: r.ResidentID, SenderID: r.SenderID, Type: r.Type, DueDate: r.DueDate,
		DeliveredAt: r.DeliveredAt, ReadAt: r.ReadAt, Size: r.Size, Documents: make([]storage.DocumentRecord, len(r.Documents)),
		Folder: r.Folder, ReadMark: r.ReadMark, PaidAt: r.PaidAt, Hold: r.Hold, Listing: r.Listing, Deleted: r.Deleted,
		ReleaseAt: r.ReleaseAt, Imported: r.Imported, Own: r.Own}, nil
}

// listedLetter is the part of a letter's record (storage.Letter, as
// encoding/json writes it) that Letter.ListingFields keeps: the fields of
// the same names; a document only counted. The storage contract checks
// Listed against Get (storagetest).
type listedLetter struct {
	ID, ResidentID, SenderID string
	Type                     storage.LetterType
	DueDate                  string
	DeliveredAt, ReadAt      time.Time
	Size                     int64
	Documents                []struct{}
	Folder                   string
	ReadMark                 *bool
	PaidAt                   time.Time
	Hold                     *storage.LetterHold
	Listing                  []byte
	Deleted, ReleaseAt       time.Time
	Imported                 *storage.ImportedLetter
	Own                      *storage.OwnDocument
}

func (t lettersTx) ByReference(senderID, reference string) (string, error) {
	id := t.tx.Bucket(bucketReferences).Get(referenceKey(senderID, reference))
	if id == nil {
		return "", fmt.Errorf("reference: %w", storage.ErrNotFound)
	}
	return string(id), nil
}

func (t lettersTx) Put(l *storage.Letter) error    { return letters.put(t.tx, l) }
func (t lettersTx) Delete(l *storage.Letter) error { return letters.remove(t.tx, l) }

func (t lettersTx) All(fn func(*storage.Letter) error) error { return letters.all(t.tx, fn) }

// Mailbox walks the resident's part of the mailbox index backwards. A
// cursor is the last key of the page before, in hex.
func (t lettersTx) Mailbox(residentID, after string, limit int) ([]storage.MailboxEntry, string, error) {
	return t.page(bucketMailbox, join(residentID), after, limit)
}

func (t lettersTx) Folder(residentID, folder, after string, limit int) ([]storage.MailboxEntry, string, error) {
	return t.page(bucketMailboxFolders, folderPrefix(residentID, folder), after, limit)
}

// FolderCount, FolderUnread and DueCount read the counters that put and
// remove keep beside the indexes (mailbox-counts).
func (t lettersTx) FolderCount(residentID, folder string) (int, error) {
	return t.counter(countKey(residentID, countLetters, folder)), nil
}

func (t lettersTx) FolderUnread(residentID, folder string) (int, error) {
	return t.counter(countKey(residentID, countUnread, folder)), nil
}

// Due walks the resident's part of the index of due dates forwards. A
// cursor is the last key of the page before, in hex.
func (t lettersTx) Due(residentID, after string, limit int) ([]storage.DueEntry, string, error) {
	prefix := join(residentID)
	c := t.tx.Bucket(bucketMailboxDue).Cursor()
	k, _ := c.Seek(prefix)
	if after != "" {
		from, err := hex.DecodeString(after)
		if err != nil || len(from) != dueKeySize || !bytes.HasPrefix(from, prefix) {
			return nil, "", fmt.Errorf("due cursor %q: %w", after, storage.ErrNotFound)
		}
		k, _ = c.Seek(from)
		if bytes.Equal(k, from) {
			k, _ = c.Next()
		}
	}
	var out []storage.DueEntry
	var last []byte
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
		if len(k) != dueKeySize {
			return nil, "", fmt.Errorf("due key %x: malformed", k)
		}
		out = append(out, storage.DueEntry{Due: string(k[len(prefix) : dueKeySize-idSize]), LetterID: string(k[dueKeySize-idSize:])})
		last = k
	}
	next := ""
	if k != nil && bytes.HasPrefix(k, prefix) && last != nil {
		next = hex.EncodeToString(last)
	}
	return out, next, nil
}

func (t lettersTx) DueCount(residentID string) (int, error) {
	return t.counter(countKey(residentID, countDue, "")), nil
}

// counter returns a counter of mailbox-counts (0 for none).
func (t lettersTx) counter(key []byte) int {
	return int(decodeCount(t.tx.Bucket(bucketMailboxCounts).Get(key)))
}

// page returns up to limit entries of an index by delivery time under
// prefix (prefix | uint64 time | letter id), newest first, after the
// cursor, and the next cursor.
func (t lettersTx) page(bucket, prefix []byte, after string, limit int) ([]storage.MailboxEntry, string, error) {
	c := t.tx.Bucket(bucket).Cursor()
	var k []byte
	if after == "" {
		// Seek past the prefix and step back: the newest.
		k, _ = c.Seek(append(bytes.Clone(prefix), 0xff))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	} else {
		from, err := hex.DecodeString(after)
		if err != nil || !bytes.HasPrefix(from, prefix) {
			return nil, "", fmt.Errorf("mailbox cursor %q: %w", after, storage.ErrNotFound)
		}
		k, _ = c.Seek(from)
		if k == nil {
			k, _ = c.Last()
		}
		if k != nil && bytes.Compare(k, from) >= 0 {
			k, _ = c.Prev()
		}
	}
	var out []storage.MailboxEntry
	var last []byte
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
		e, err := mailboxEntry(prefix, k)
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
		last = k
	}
	next := ""
	if k != nil && bytes.HasPrefix(k, prefix) && last != nil {
		next = hex.EncodeToString(last)
	}
	return out, next, nil
}

func mailboxEntry(prefix, k []byte) (storage.MailboxEntry, error) {
	if len(k) < len(prefix)+8 {
		return storage.MailboxEntry{}, fmt.Errorf("mailbox key %x: too short", k)
	}
	at := int64(binary.BigEndian.Uint64(k[len(prefix) : len(prefix)+8]))
	return storage.MailboxEntry{LetterID: string(k[len(prefix)+8:]), DeliveredAt: time.Unix(0, at).UTC()}, nil
}

func (t lettersTx) MailboxAll(residentID string, fn func(storage.MailboxEntry) error) error {
	prefix := join(residentID)
	c := t.tx.Bucket(bucketMailbox).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		e, err := mailboxEntry(prefix, k)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (t lettersTx) Tombstones(residentID string, fn func(letterID string) error) error {
	prefix := join(residentID)
	c := t.tx.Bucket(bucketTombstones).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := fn(string(k[len(prefix):])); err != nil {
			return err
		}
	}
	return nil
}

func (t lettersTx) Scheduled(until time.Time, fn func(letterID, residentID string, releaseAt time.Time) (bool, error)) error {
	end := unixNanos(until)
	c := t.tx.Bucket(bucketLettersScheduled).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) <= 8 {
			return fmt.Errorf("scheduled letters key %x: too short", k)
		}
		at := binary.BigEndian.Uint64(k)
		if at > end {
			return nil
		}
		more, err := fn(string(k[8:]), string(v), time.Unix(0, int64(at)).UTC())
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Sessions.

type sessionsTx tx

func (t sessionsTx) Get(id []byte) (*storage.Session, error) {
	row, err := sessions.get(t.tx, id)
	if err != nil {
		return nil, err
	}
	return &row.Session, nil
}

func (t sessionsTx) Put(id []byte, s *storage.Session) error {
	return sessions.put(t.tx, &sessionRow{ID: id, Session: *s})
}

func (t sessionsTx) Delete(id []byte) error {
	row, err := sessions.get(t.tx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		// A record that does not decode opens nothing; it goes without
		// its index entry, which Check then reports.
		return t.tx.Bucket(bucketSessions).Delete(id)
	}
	return sessions.remove(t.tx, row)
}

func (t sessionsTx) OfResident(residentID string) ([][]byte, error) {
	var out [][]byte
	prefix := []byte(residentID)
	c := t.tx.Bucket(bucketSessionsByResident).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) > len(prefix) {
			out = append(out, bytes.Clone(k[len(prefix):]))
		}
	}
	return out, nil
}

// All skips records that do not decode: they open nothing, and Check
// reports them.
func (t sessionsTx) All(fn func(id []byte, s *storage.Session) error) error {
	return t.tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
		var s storage.Session
		if decodeRecord(v, &s) != nil {
			return nil
		}
		return fn(bytes.Clone(k), &s)
	})
}

// DeleteExpired reads the two indexes by time up to their bounds, then
// deletes what they name (a cursor's bucket must not change under it).
func (t sessionsTx) DeleteExpired(expiresBy, seenBy time.Time, max int) (int, error) {
	var ids [][]byte
	seen := map[string]bool{}
	type stale struct{ bucket, key []byte }
	var orphans []stale // index entries of no record
	for _, ix := range []struct {
		bucket []byte
		by     time.Time
	}{{bucketSessionsByExpiry, expiresBy}, {bucketSessionsByLastSeen, seenBy}} {
		end := unixNanos(ix.by)
		c := t.tx.Bucket(ix.bucket).Cursor()
		for k, _ := c.First(); k != nil && len(ids) < max; k, _ = c.Next() {
			if len(k) <= 8 || binary.BigEndian.Uint64(k) > end {
				break
			}
			id := k[8:]
			if t.tx.Bucket(bucketSessions).Get(id) == nil {
				orphans = append(orphans, stale{ix.bucket, bytes.Clone(k)})
				continue
			}
			if !seen[string(id)] {
				seen[string(id)] = true
				ids = append(ids, bytes.Clone(id))
			}
		}
	}
	for _, o := range orphans {
		if err := t.tx.Bucket(o.bucket).Delete(o.key); err != nil {
			return 0, err
		}
	}
	for _, id := range ids {
		if err := sessionsTx(t).Delete(id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Outbox.

type outboxTx tx

func (t outboxTx) Add(n *storage.Notification) error {
	seq, err := t.tx.Bucket(bucketOutbox).NextSequence()
	if err != nil {
		return err
	}
	n.Seq = seq
	return outbox.put(t.tx, n)
}

func (t outboxTx) Get(residentID string, seq uint64) (*storage.Notification, error) {
	return outbox.get(t.tx, outboxKey(residentID, seq))
}

func (t outboxTx) Put(n *storage.Notification) error {
	b := t.tx.Bucket(bucketOutbox)
	if n.Seq > b.Sequence() {
		if err := b.SetSequence(n.Seq); err != nil {
			return err
		}
	}
	return outbox.put(t.tx, n)
}

func (t outboxTx) Delete(n *storage.Notification) error { return outbox.remove(t.tx, n) }

func (t outboxTx) Due(now time.Time, fn func(*storage.Notification) bool) error {
	c := t.tx.Bucket(bucketOutboxDue).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) > now.UnixNano() {
			break
		}
		n, err := outbox.get(t.tx, k[8:])
		if err != nil {
			return fmt.Errorf("outbox-due %x: %w", k, err)
		}
		if !fn(n) {
			break
		}
	}
	return nil
}

func (t outboxTx) OfResident(residentID string) ([]*storage.Notification, error) {
	var out []*storage.Notification
	prefix := []byte(residentID)
	c := t.tx.Bucket(bucketOutbox).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n, err := outbox.get(t.tx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// errStop ends a ForEach early.
var errStop = errors.New("stop")

func (t outboxTx) All(fn func(*storage.Notification) bool) error {
	err := outbox.all(t.tx, func(n *storage.Notification) error {
		if !fn(n) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// Audit.

type auditTx tx

// keyAuditSize is the meta key of the audit log's size (uint64).
var keyAuditSize = []byte("audit-size")

func (t auditTx) Size() (int64, error) {
	v := t.tx.Bucket(bucketMeta).Get(keyAuditSize)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, fmt.Errorf("audit log size of %d bytes: damaged", len(v))
}

func (t auditTx) PutEntry(index int64, encoded []byte) error {
	size, err := t.Size()
	if err != nil {
		return err
	}
	if index != size {
		return fmt.Errorf("audit entry %d appended to a log of %d", index, size)
	}
	if err := t.tx.Bucket(bucketAuditLog).Put(be64(uint64(index)), encoded); err != nil {
		return err
	}
	return t.tx.Bucket(bucketMeta).Put(keyAuditSize, be64(uint64(index+1)))
}

func (t auditTx) Entry(index int64) ([]byte, error) {
	v := t.tx.Bucket(bucketAuditLog).Get(be64(uint64(index)))
	if v == nil {
		return nil, fmt.Errorf("audit entry %d: %w", index, storage.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (t auditTx) Entries(fn func(index int64, encoded []byte) error) error {
	return t.tx.Bucket(bucketAuditLog).ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("audit log key %x: not an index", k)
		}
		return fn(int64(binary.BigEndian.Uint64(k)), v)
	})
}

func (t auditTx) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	b := t.tx.Bucket(bucketAuditHashes)
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		v := b.Get(be64(uint64(x)))
		if len(v) != len(out[i]) {
			return nil, fmt.Errorf("audit hash %d: %w", x, storage.ErrNotFound)
		}
		copy(out[i][:], v)
	}
	return out, nil
}

func (t auditTx) PutHashes(start int64, hashes []tlog.Hash) error {
	b := t.tx.Bucket(bucketAuditHashes)
	for i, h := range hashes {
		if err := b.Put(be64(uint64(start+int64(i))), bytes.Clone(h[:])); err != nil {
			return err
		}
	}
	return nil
}

// Terms.

type termsTx tx

func (t termsTx) Get(version int) (*storage.TermsVersion, error) {
	if version <= 0 || version > 1<<31 {
		return nil, fmt.Errorf("terms version %d: %w", version, storage.ErrNotFound)
	}
	return terms.get(t.tx, be32(uint32(version)))
}

func (t termsTx) Put(v *storage.TermsVersion) error { return terms.put(t.tx, v) }

func (t termsTx) All() ([]*storage.TermsVersion, error) {
	var out []*storage.TermsVersion
	err := terms.all(t.tx, func(v *storage.TermsVersion) error { out = append(out, v); return nil })
	return out, err
}

func (t termsTx) Acceptance(residentID string) (*storage.TermsAcceptance, error) {
	var a storage.TermsAcceptance
	err := getOrZero(t.tx.Bucket(bucketTermsAccepted), []byte(residentID), &a)
	return &a, err
}

func (t termsTx) PutAcceptance(residentID string, a *storage.TermsAcceptance) error {
	return putValue(t.tx.Bucket(bucketTermsAccepted), []byte(residentID), a)
}

func (t termsTx) DeleteAcceptance(residentID string) error {
	return t.tx.Bucket(bucketTermsAccepted).Delete([]byte(residentID))
}

func (t termsTx) Acceptances(fn func(residentID string, a *storage.TermsAcceptance) error) error {
	b := t.tx.Bucket(bucketTermsAccepted)
	return b.ForEach(func(k, _ []byte) error {
		var a storage.TermsAcceptance
		if err := getValue(b, k, &a); err != nil {
			return fmt.Errorf("terms acceptance of %s: %w", k, err)
		}
		return fn(string(k), &a)
	})
}

func termsNoticeKey(version int, residentID string) []byte {
	return append(be32(uint32(version)), residentID...)
}

func (t termsTx) Notice(version int, residentID string) (string, error) {
	v := t.tx.Bucket(bucketTermsNotices).Get(termsNoticeKey(version, residentID))
	if v == nil {
		return "", fmt.Errorf("terms notice %d for resident %s: %w", version, residentID, storage.ErrNotFound)
	}
	return string(v), nil
}

func (t termsTx) PutNotice(version int, residentID, letterID string) error {
	return t.tx.Bucket(bucketTermsNotices).Put(termsNoticeKey(version, residentID), []byte(letterID))
}

func (t termsTx) DeleteNotices(residentID string) error {
	notices := t.tx.Bucket(bucketTermsNotices)
	return t.tx.Bucket(bucketTerms).ForEach(func(k, _ []byte) error {
		return notices.Delete(append(bytes.Clone(k), residentID...))
	})
}

func (t termsTx) Notices(fn func(version int, residentID, letterID string) error) error {
	return t.tx.Bucket(bucketTermsNotices).ForEach(func(k, v []byte) error {
		if len(k) < 4 {
			return fmt.Errorf("terms notice %x: key too short", k)
		}
		return fn(int(binary.BigEndian.Uint32(k)), string(k[4:]), string(v))
	})
}

// Retention.

type retentionTx tx

func (t retentionTx) Get(residentID string) (*storage.RetentionRecord, error) {
	var r storage.RetentionRecord
	err := getOrZero(t.tx.Bucket(bucketRetention), []byte(residentID), &r)
	return &r, err
}

func (t retentionTx) Put(residentID string, r *storage.RetentionRecord) error {
	if r.IsZero() {
		return t.tx.Bucket(bucketRetention).Delete([]byte(residentID))
	}
	return putValue(t.tx.Bucket(bucketRetention), []byte(residentID), r)
}

func (t retentionTx) All(fn func(residentID string, r *storage.RetentionRecord) error) error {
	b := t.tx.Bucket(bucketRetention)
	return b.ForEach(func(k, _ []byte) error {
		var r storage.RetentionRecord
		if err := getValue(b, k, &r); err != nil {
			return fmt.Errorf("retention of %s: %w", k, err)
		}
		return fn(string(k), &r)
	})
}

// Preferences.

type preferencesTx tx

func (t preferencesTx) Get(residentID string) (*storage.PreferencesRecord, error) {
	var p storage.PreferencesRecord
	err := getOrZero(t.tx.Bucket(bucketPreferences), []byte(residentID), &p)
	return &p, err
}

func (t preferencesTx) Put(residentID string, p *storage.PreferencesRecord) error {
	return putValue(t.tx.Bucket(bucketPreferences), []byte(residentID), p)
}

func (t preferencesTx) Delete(residentID string) error {
	return t.tx.Bucket(bucketPreferences).Delete([]byte(residentID))
}

func (t preferencesTx) All(fn func(residentID string) error) error {
	return t.tx.Bucket(bucketPreferences).ForEach(func(k, _ []byte) error { return fn(string(k)) })
}

// Job runs.

type jobRunsTx tx

func (t jobRunsTx) Put(r *storage.JobRun) error { return jobRuns.put(t.tx, r) }

func (t jobRunsTx) All() ([]*storage.JobRun, error) {
	var out []*storage.JobRun
	err := jobRuns.all(t.tx, func(r *storage.JobRun) error { out = append(out, r); return nil })
	return out, err
}

// Limits.

type limitsTx tx

func (t limitsTx) Get(key string) (*storage.Limit, error) { return limits.get(t.tx, []byte(key)) }
func (t limitsTx) Put(l *storage.Limit) error {
	c := *l
	c.Expires = l.Expires.UTC()
	return limits.put(t.tx, &c)
}

func (t limitsTx) Delete(key string) error {
	l, err := limits.get(t.tx, []byte(key))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return limits.remove(t.tx, l)
}

// DeleteExpired reads the index by expiry from its start: the records
// that expired first.
//
// An index entry that names no record (or a record that expires at
// another time) is deleted by itself and not counted: the sweep must
// make progress on a damaged index, not meet the same entry forever.
// Check reports such entries.
func (t limitsTx) DeleteExpired(before time.Time, max int) (int, error) {
	var entries [][]byte
	index := t.tx.Bucket(bucketLimitsByExpiry)
	c := index.Cursor()
	end := be64(unixNanos(before))
	for k, _ := c.First(); k != nil && len(entries) < max && bytes.Compare(k[:min(8, len(k))], end) < 0; k, _ = c.Next() {
		entries = append(entries, bytes.Clone(k))
	}
	n := 0
	for _, entry := range entries {
		l, err := limits.get(t.tx, entry[min(8, len(entry)):])
		switch {
		case errors.Is(err, storage.ErrNotFound) || (err == nil && !bytes.Equal(entry, expiryKey(l.Expires, l.Key))):
			if err := index.Delete(entry); err != nil {
				return 0, err
			}
		case err != nil:
			return 0, err
		default:
			if err := limits.remove(t.tx, l); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

// Leases.

type leasesTx tx

// leaseRecord is a lease in the meta bucket under "lease/<name>". With one
// process on the file, the lease only records who runs the jobs.
type leaseRecord struct {
	Holder  string
	Expires time.Time
}

func leaseKey(name string) []byte { return []byte("lease/" + name) }

func (t leasesTx) Acquire(name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	b := t.tx.Bucket(bucketMeta)
	var cur leaseRecord
	if err := getOrZero(b, leaseKey(name), &cur); err != nil {
		return false, err
	}
	if cur.Holder != "" && cur.Holder != holder && now.Before(cur.Expires) {
		return false, nil
	}
	return true, putValue(b, leaseKey(name), &leaseRecord{Holder: holder, Expires: now.Add(ttl).UTC()})
}

func (t leasesTx) Release(name, holder string) error {
	b := t.tx.Bucket(bucketMeta)
	var cur leaseRecord
	if err := getOrZero(b, leaseKey(name), &cur); err != nil {
		return err
	}
	if cur.Holder != holder {
		return nil
	}
	return b.Delete(leaseKey(name))
}

func (t leasesTx) Get(name string) (string, time.Time, error) {
	var cur leaseRecord
	if err := getValue(t.tx.Bucket(bucketMeta), leaseKey(name), &cur); err != nil {
		return "", time.Time{}, fmt.Errorf("lease %s: %w", name, err)
	}
	return cur.Holder, cur.Expires, nil
}

// Support.

type supportTx tx

func (t supportTx) Get(id string) (*storage.SupportRequest, error) {
	return support.get(t.tx, []byte(id))
}
func (t supportTx) Put(r *storage.SupportRequest) error    { return support.put(t.tx, r) }
func (t supportTx) Delete(r *storage.SupportRequest) error { return support.remove(t.tx, r) }

func (t supportTx) OfResident(residentID string) ([]*storage.SupportRequest, error) {
	var out []*storage.SupportRequest
	prefix := []byte(residentID)
	c := t.tx.Bucket(bucketSupportByResident).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		r, err := support.get(t.tx, k[len(prefix):])
		if err != nil {
			return nil, fmt.Errorf("support-by-resident %x: %w", k, err)
		}
		out = append(out, r)
	}
	sortSupport(out)
	return out, nil
}

func (t supportTx) All(fn func(*storage.SupportRequest) error) error {
	var all []*storage.SupportRequest
	if err := support.all(t.tx, func(r *storage.SupportRequest) error { all = append(all, r); return nil }); err != nil {
		return err
	}
	sortSupport(all)
	for _, r := range all {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// sortSupport orders requests oldest first, then by id.
func sortSupport(rs []*storage.SupportRequest) {
	slices.SortFunc(rs, func(a, b *storage.SupportRequest) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Sender blocks: residentID → JSON list.

type senderBlocksTx tx

func (t senderBlocksTx) Get(residentID string) ([]storage.SenderBlock, error) {
	var out []storage.SenderBlock
	err := getOrZero(t.tx.Bucket(bucketSenderBlocks), []byte(residentID), &out)
	return out, err
}

func (t senderBlocksTx) Put(residentID string, blocks []storage.SenderBlock) error {
	if len(blocks) == 0 {
		return t.tx.Bucket(bucketSenderBlocks).Delete([]byte(residentID))
	}
	return putValue(t.tx.Bucket(bucketSenderBlocks), []byte(residentID), blocks)
}

func (t senderBlocksTx) All(fn func(residentID string, blocks []storage.SenderBlock) error) error {
	b := t.tx.Bucket(bucketSenderBlocks)
	return b.ForEach(func(k, _ []byte) error {
		var blocks []storage.SenderBlock
		if err := getValue(b, k, &blocks); err != nil {
			return fmt.Errorf("sender blocks of %s: %w", k, err)
		}
		return fn(string(k), blocks)
	})
}

// Events: senderID | uint64 sequence → JSON. The sequence is the bucket's,
// shared by all senders.

type eventsTx tx

func (t eventsTx) Append(e *storage.Event) error {
	b := t.tx.Bucket(bucketEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	return putValue(b, binary.BigEndian.AppendUint64([]byte(e.SenderID), seq), e)
}

// Settle has nothing to wait for: one transaction writes at a time, in
// the order of its event numbers.
func (t eventsTx) Settle(string) error { return nil }

func (t eventsTx) After(senderID string, after uint64, limit int) ([]*storage.Event, error) {
	var out []*storage.Event
	prefix := []byte(senderID)
	b := t.tx.Bucket(bucketEvents)
	c := b.Cursor()
	for k, _ := c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), after+1)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
		var e storage.Event
		if err := getValue(b, k, &e); err != nil {
			return nil, fmt.Errorf("event %x: %w", k, err)
		}
		out = append(out, &e)
	}
	return out, nil
}

func (t eventsTx) Put(e *storage.Event) error {
	b := t.tx.Bucket(bucketEvents)
	if e.Seq > b.Sequence() {
		if err := b.SetSequence(e.Seq); err != nil {
			return err
		}
	}
	return putValue(b, binary.BigEndian.AppendUint64([]byte(e.SenderID), e.Seq), e)
}

// All reads every event and calls fn in order of Seq: the bucket is in
// order of sender, then Seq.
func (t eventsTx) All(fn func(*storage.Event) error) error {
	b := t.tx.Bucket(bucketEvents)
	var all []*storage.Event
	if err := b.ForEach(func(k, _ []byte) error {
		var e storage.Event
		if err := getValue(b, k, &e); err != nil {
			return fmt.Errorf("event %x: %w", k, err)
		}
		all = append(all, &e)
		return nil
	}); err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b *storage.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, e := range all {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (t eventsTx) Prune(before time.Time) (int, error) {
	b := t.tx.Bucket(bucketEvents)
	var old [][]byte
	if err := b.ForEach(func(k, _ []byte) error {
		var e storage.Event
		if err := getValue(b, k, &e); err != nil {
			return fmt.Errorf("event %x: %w", k, err)
		}
		if e.At.Before(before) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}

// Callbacks: senderID → JSON; their outbox: senderID | uint64 sequence →
// JSON event.

type callbacksTx tx

func (t callbacksTx) Get(senderID string) (*storage.Callback, error) {
	var c storage.Callback
	if err := getValue(t.tx.Bucket(bucketCallbacks), []byte(senderID), &c); err != nil {
		return nil, fmt.Errorf("callback of %s: %w", senderID, err)
	}
	return &c, nil
}

func (t callbacksTx) Put(c *storage.Callback) error {
	return putValue(t.tx.Bucket(bucketCallbacks), []byte(c.SenderID), c)
}

func (t callbacksTx) Delete(senderID string) error {
	if _, err := t.Clear(senderID); err != nil {
		return err
	}
	return t.tx.Bucket(bucketCallbacks).Delete([]byte(senderID))
}

func (t callbacksTx) All(fn func(*storage.Callback) error) error {
	b := t.tx.Bucket(bucketCallbacks)
	return b.ForEach(func(k, _ []byte) error {
		var c storage.Callback
		if err := getValue(b, k, &c); err != nil {
			return fmt.Errorf("callback of %s: %w", k, err)
		}
		return fn(&c)
	})
}

func (t callbacksTx) Queue(e *storage.Event) error {
	return putValue(t.tx.Bucket(bucketCallbackOutbox), binary.BigEndian.AppendUint64([]byte(e.SenderID), e.Seq), e)
}

// queuedKeys returns the keys of up to limit events of a sender's outbox
// (limit < 0: all), in order of Seq.
func (t callbacksTx) queuedKeys(senderID string, limit int) [][]byte {
	var out [][]byte
	prefix := []byte(senderID)
	c := t.tx.Bucket(bucketCallbackOutbox).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 && (limit < 0 || len(out) < limit); k, _ = c.Next() {
		out = append(out, bytes.Clone(k))
	}
	return out
}

func (t callbacksTx) Queued(senderID string, limit int) ([]*storage.Event, error) {
	b := t.tx.Bucket(bucketCallbackOutbox)
	var out []*storage.Event
	for _, k := range t.queuedKeys(senderID, limit) {
		var e storage.Event
		if err := getValue(b, k, &e); err != nil {
			return nil, fmt.Errorf("queued event %x: %w", k, err)
		}
		out = append(out, &e)
	}
	return out, nil
}

func (t callbacksTx) Dequeue(senderID string, seq uint64) error {
	return t.tx.Bucket(bucketCallbackOutbox).Delete(binary.BigEndian.AppendUint64([]byte(senderID), seq))
}

func (t callbacksTx) Clear(senderID string) (int, error) {
	keys := t.queuedKeys(senderID, -1)
	b := t.tx.Bucket(bucketCallbackOutbox)
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func (t callbacksTx) Count(senderID string) (int, error) {
	return len(t.queuedKeys(senderID, -1)), nil
}

// Folders: residentID → JSON list.

type foldersTx tx

func (t foldersTx) Get(residentID string) ([]storage.Folder, error) {
	var out []storage.Folder
	err := getOrZero(t.tx.Bucket(bucketFolders), []byte(residentID), &out)
	return out, err
}

func (t foldersTx) Put(residentID string, folders []storage.Folder) error {
	if len(folders) == 0 {
		return t.tx.Bucket(bucketFolders).Delete([]byte(residentID))
	}
	return putValue(t.tx.Bucket(bucketFolders), []byte(residentID), folders)
}

func (t foldersTx) All(fn func(residentID string, folders []storage.Folder) error) error {
	b := t.tx.Bucket(bucketFolders)
	return b.ForEach(func(k, _ []byte) error {
		var folders []storage.Folder
		if err := getValue(b, k, &folders); err != nil {
			return fmt.Errorf("folders of %s: %w", k, err)
		}
		return fn(string(k), folders)
	})
}

// Search indexes: residentID → uint64 version | sealed index.

type searchIndexesTx tx

func (t searchIndexesTx) value(residentID string) ([]byte, error) {
	v := t.tx.Bucket(bucketSearchIndexes).Get([]byte(residentID))
	if v == nil {
		return nil, fmt.Errorf("search index of %s: %w", residentID, storage.ErrNotFound)
	}
	if len(v) < 8 {
		return nil, fmt.Errorf("search index of %s: %d bytes, shorter than its version", residentID, len(v))
	}
	return v, nil
}

func (t searchIndexesTx) Get(residentID string) (*storage.SearchIndex, error) {
	v, err := t.value(residentID)
	if err != nil {
		return nil, err
	}
	return &storage.SearchIndex{Version: binary.BigEndian.Uint64(v), Sealed: bytes.Clone(v[8:])}, nil
}

func (t searchIndexesTx) Version(residentID string) (uint64, error) {
	v, err := t.value(residentID)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(v), nil
}

func (t searchIndexesTx) Put(residentID string, ix *storage.SearchIndex) error {
	return t.tx.Bucket(bucketSearchIndexes).Put([]byte(residentID), append(be64(ix.Version), ix.Sealed...))
}

func (t searchIndexesTx) Delete(residentID string) error {
	return t.tx.Bucket(bucketSearchIndexes).Delete([]byte(residentID))
}

func (t searchIndexesTx) All(fn func(residentID string, ix *storage.SearchIndex) error) error {
	return t.tx.Bucket(bucketSearchIndexes).ForEach(func(k, _ []byte) error {
		ix, err := t.Get(string(k))
		if err != nil {
			return err
		}
		return fn(string(k), ix)
	})
}

// Print queue: id → JSON, with print-by-reference and print-pending.

type printTx tx

func (t printTx) Get(id string) (*storage.PrintLetter, error) {
	return printLetters.get(t.tx, []byte(id))
}

func (t printTx) Put(p *storage.PrintLetter) error { return printLetters.put(t.tx, p) }

func (t printTx) ByReference(senderID, ref string) (string, error) {
	v := t.tx.Bucket(bucketPrintByReference).Get(referenceKey(senderID, ref))
	if v == nil {
		return "", fmt.Errorf("print letter with reference %q: %w", ref, storage.ErrNotFound)
	}
	return string(v), nil
}

func (t printTx) Pending(fn func(*storage.PrintLetter) (bool, error)) error {
	c := t.tx.Bucket(bucketPrintPending).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < 8 {
			return fmt.Errorf("print-pending %x: %w", k, storage.ErrNotFound)
		}
		p, err := printLetters.get(t.tx, k[8:])
		if err != nil {
			return fmt.Errorf("print-pending %x: %w", k, err)
		}
		if more, err := fn(p); err != nil || !more {
			return err
		}
	}
	return nil
}

func (t printTx) Waiting(until time.Time, fn func(*storage.PrintLetter) (bool, error)) error {
	c := t.tx.Bucket(bucketPrintWaiting).Cursor()
	end := be64(unixNanos(until))
	for k, _ := c.First(); len(k) >= 8 && bytes.Compare(k[:8], end) <= 0; k, _ = c.Next() {
		p, err := printLetters.get(t.tx, k[8:])
		if err != nil {
			return fmt.Errorf("print-waiting %x: %w", k, err)
		}
		if more, err := fn(p); err != nil || !more {
			return err
		}
	}
	return nil
}

func (t printTx) Delete(id string) error {
	p, err := printLetters.get(t.tx, []byte(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return printLetters.remove(t.tx, p)
}

func (t printTx) All(fn func(*storage.PrintLetter) error) error {
	return printLetters.all(t.tx, fn)
}

// Replies: id → JSON, with replies-by-letter.

type repliesTx tx

func (t repliesTx) Get(id string) (*storage.Reply, error) { return replies.get(t.tx, []byte(id)) }

func (t repliesTx) Put(r *storage.Reply) error { return replies.put(t.tx, r) }

func (t repliesTx) Delete(id string) error {
	r, err := replies.get(t.tx, []byte(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return replies.remove(t.tx, r)
}

func (t repliesTx) ByLetter(letterID string, fn func(*storage.Reply) error) error {
	if letterID == "" {
		return nil
	}
	return t.byIndex(bucketRepliesByLetter, letterID, fn)
}

func (t repliesTx) ByResident(residentID string, fn func(*storage.Reply) error) error {
	return t.byIndex(bucketRepliesResident, residentID, fn)
}

func (t repliesTx) byIndex(bucket []byte, owner string, fn func(*storage.Reply) error) error {
	prefix := join(owner)
	// Collect the ids first: fn may delete replies.
	var ids [][]byte
	c := t.tx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) < len(prefix)+8 {
			return fmt.Errorf("%s %x: %w", bucket, k, storage.ErrNotFound)
		}
		ids = append(ids, bytes.Clone(k[len(prefix)+8:]))
	}
	for _, id := range ids {
		r, err := replies.get(t.tx, id)
		if err != nil {
			return fmt.Errorf("%s %s: %w", bucket, id, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (t repliesTx) All(fn func(*storage.Reply) error) error { return replies.all(t.tx, fn) }

// Delegations.

type delegationsTx tx

func (t delegationsTx) Get(id string) (*storage.Delegation, error) {
	return delegations.get(t.tx, []byte(id))
}

func (t delegationsTx) Put(d *storage.Delegation) error { return delegations.put(t.tx, d) }

func (t delegationsTx) Delete(id string) error {
	d, err := delegations.get(t.tx, []byte(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return delegations.remove(t.tx, d)
}

func (t delegationsTx) OfGrantor(residentID string) ([]*storage.Delegation, error) {
	return t.of(bucketDelegationsByGrantor, residentID)
}

func (t delegationsTx) OfDelegate(residentID string) ([]*storage.Delegation, error) {
	return t.of(bucketDelegationsByDelegate, residentID)
}

func (t delegationsTx) of(bucket []byte, residentID string) ([]*storage.Delegation, error) {
	var out []*storage.Delegation
	prefix := []byte(residentID)
	c := t.tx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		d, err := delegations.get(t.tx, k[len(prefix):])
		if err != nil {
			return nil, fmt.Errorf("%s %x: %w", bucket, k, err)
		}
		out = append(out, d)
	}
	sortDelegations(out)
	return out, nil
}

func (t delegationsTx) All(fn func(*storage.Delegation) error) error {
	var all []*storage.Delegation
	if err := delegations.all(t.tx, func(d *storage.Delegation) error { all = append(all, d); return nil }); err != nil {
		return err
	}
	sortDelegations(all)
	for _, d := range all {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// sortDelegations orders grants oldest first, then by id.
func sortDelegations(ds []*storage.Delegation) {
	slices.SortFunc(ds, func(a, b *storage.Delegation) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
