// Package storage is the seam between Postkasse's domain (package store)
// and the engines that persist it, in the spirit of HashiCorp Vault's
// storage backends: the domain's rules run inside a transaction of this
// package's Tx, and know nothing of the engine below.
//
// An Engine runs transactions (View to read, Update to change) and keeps
// sealed document content as blobs. Inside a transaction, Tx gives one
// typed accessor per kind of record (residents, senders, letters and
// their mailbox pages, documents, sessions, outbox, audit, terms,
// retention, preferences, job runs, leases, limits, search indexes, meta). Each accessor keeps its own
// indexes: putting or deleting a record writes or deletes every index
// entry it has, so the domain never touches an index, and the engine's
// Check can verify them from the same description.
//
// Two engines implement it:
//
//   - store/embedded: bbolt in one file (DATA/postkasse.db), documents in
//     the same file, for one machine. Update transactions are
//     serialisable (one writer at a time).
//   - the cluster engine (PostgreSQL and S3-compatible object storage),
//     for several nodes: Update runs SERIALIZABLE transactions and runs fn
//     again after a serialisation failure, so fn must be free of side
//     effects outside the transaction, or idempotent.
//
// storagetest holds the contract every engine must meet, run against each
// engine by its own tests.
//
// Records are plain structs; an engine may store them in any encoding. A
// record returned by an accessor belongs to the caller (it shares no
// memory with the engine), but the byte slices an accessor documents as
// valid "during the transaction" (Stamp) must not be kept after fn
// returns.
package storage

import (
	"context"
	"errors"
	"io"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors of every engine. The domain maps them, with its own, to answers.
var (
	// ErrNotFound: no record under that key.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the engine could not read or store the change (disk
	// full, I/O error, database or object store unreachable, retries of
	// a conflicting transaction exhausted). Nothing was stored; the
	// caller may try again.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrClosed: the engine is closed.
	ErrClosed = errors.New("storage closed")
)

// Engine persists the domain's records and blobs.
type Engine interface {
	// View runs fn in a read-only transaction: it sees one consistent
	// state of every record.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it when fn
	// returns nil, durably (on disk, or acknowledged by the database)
	// before Update returns. When fn returns an error nothing is stored
	// and Update returns that error unchanged. An engine may run fn more
	// than once (see the package doc).
	Update(ctx context.Context, fn func(Tx) error) error
	// Blobs keeps sealed document content.
	Blobs() Blobs
	// Check checks the engine's own consistency: its storage (bbolt's
	// pages, the database's constraints) and every record's index
	// entries. It returns every problem it finds.
	Check(ctx context.Context) error
	// Close closes the engine. Transactions in progress finish first.
	Close() error
}

// Sweeper is an Engine that keeps blobs outside its transactions (the
// cluster engine's object store) and so may be left with blobs no letter
// refers to, written by a delivery that crashed before its transaction
// committed. SweepBlobs deletes those written before olderThan and
// returns how many.
type Sweeper interface {
	SweepBlobs(ctx context.Context, olderThan time.Time) (int, error)
}

// Backuper is an Engine that can write a consistent copy of its whole
// state while it serves: the embedded engine writes its database file.
type Backuper interface {
	// WriteBackup writes the copy to w and returns its size. With
	// prune, the copy (never the engine's own state) is changed by prune
	// first, and holds nothing of what prune deleted.
	WriteBackup(ctx context.Context, w io.Writer, prune func(Tx) error) (int64, error)
}

// Tx is a transaction. Its accessors may only be used during the call of
// the function it was passed to, and in a View only for reading: a
// change in a View fails.
type Tx interface {
	Meta() Meta
	Residents() Residents
	Senders() Senders
	Letters() Letters
	Documents() Documents
	Sessions() Sessions
	Outbox() Outbox
	Audit() Audit
	Terms() Terms
	Retention() Retention
	Preferences() Preferences
	JobRuns() JobRuns
	Leases() Leases
	Support() Support
	SenderBlocks() SenderBlocks
	Events() Events
	Callbacks() Callbacks
	Print() Print
	Folders() Folders
	Limits() Limits
	SearchIndexes() SearchIndexes
	Replies() Replies
	Delegations() Delegations
}

// Meta holds the appliance's own values (its receipt key's seed, when
// the database was made), by name.
type Meta interface {
	Get(key string) ([]byte, error) // ErrNotFound when unset
	Put(key string, value []byte) error
	// All calls fn for every value, in the order of the keys.
	All(fn func(key string, value []byte) error) error
}

// Residents are the residents' records, with their index by national
// identity number.
type Residents interface {
	Get(id string) (*Resident, error)
	// ByNationalID returns the resident (of any status, a deleted one's
	// tombstone too) with the number's digits.
	ByNationalID(number string) (*Resident, error)
	// Put inserts or replaces a record. A number that names another
	// resident's record is an error: the domain checks it first.
	Put(r *Resident) error
	// Delete deletes a record and its index entry; none is no error. The
	// domain deletes only records that nothing else refers to (a pending
	// mailbox's); a deleted account leaves a tombstone instead.
	Delete(id string) error
	// All calls fn for every resident in the order of their national
	// identity numbers, until fn returns an error.
	All(fn func(*Resident) error) error
	// Stamp returns a value that differs whenever the record of the
	// resident with the national identity number changed, or the number
	// came to name another resident; nil when the number names nobody or
	// the engine cannot tell. It is valid only during the transaction.
	// The group commit uses it to skip checking again what has not
	// changed since it was checked.
	Stamp(nationalID string) []byte
}

// Senders are the senders' records, with their index of bound
// certificates by fingerprint.
type Senders interface {
	Get(id string) (*Sender, error)
	// ByCertificate returns the sender a certificate's fingerprint
	// (lowercase hex SHA-256 of its DER) is bound to.
	ByCertificate(fingerprint string) (*Sender, error)
	// Put inserts or replaces a record. A fingerprint bound to another
	// sender is an error: the domain checks it first.
	Put(s *Sender) error
	// All calls fn for every sender in the order of their ids.
	All(fn func(*Sender) error) error
	// Stamp returns a value that differs whenever the sender's record
	// changed; nil when there is none or the engine cannot tell (see
	// Residents.Stamp).
	Stamp(id string) []byte
}

// Letters are the letters' records, with their indexes: each resident's
// mailbox in delivery order, all of it and by folder, the unread letters
// of each folder, the due dates to act on, each sender's letters, each
// sender's references (the idempotency keys), each resident's
// tombstones, and the scheduled letters by release time. A tombstone
// (Letter.IsTombstone) and a scheduled letter (Letter.IsScheduled) are in
// none of the mailbox's indexes: Mailbox, Folder, FolderCount,
// FolderUnread, Due, DueCount and MailboxAll never return them; Get,
// ByReference and All do, Tombstones the one, Scheduled the other.
type Letters interface {
	Get(id string) (*Letter, error)
	// Listed is Get for a page of a mailbox: the letter with only what a
	// line of the page shows (Letter.ListingFields), which an engine may
	// read faster than the whole record.
	Listed(id string) (*Letter, error)
	// ByReference returns the id of the letter a sender delivered with a
	// senderReference.
	ByReference(senderID, reference string) (string, error)
	// Put inserts or replaces a record.
	Put(l *Letter) error
	// Delete deletes a record and its index entries (not its documents).
	Delete(l *Letter) error
	// Mailbox returns up to limit letters of a resident's mailbox, newest
	// first, starting after the cursor ("" for the newest), and the
	// cursor of the next page ("" after the last).
	Mailbox(residentID string, after string, limit int) ([]MailboxEntry, string, error)
	// Folder is Mailbox for the letters of one folder of the mailbox
	// (Letter.Folder: "" the inbox). A cursor of another folder is an
	// error.
	Folder(residentID, folder, after string, limit int) ([]MailboxEntry, string, error)
	// FolderCount returns the number of letters in a folder. It, and
	// FolderUnread and DueCount, read counters that Put and Delete keep
	// in their transaction: their work does not grow with the mailbox.
	FolderCount(residentID, folder string) (int, error)
	// FolderUnread returns the number of unread letters in a folder
	// (Letter.Unread).
	FolderUnread(residentID, folder string) (int, error)
	// Due returns up to limit of a resident's letters with a due date
	// to act on (Letter.Due), the soonest first (then by id), after the
	// cursor ("" for the first), and the cursor of the next page (""
	// after the last). A cursor that is not one of Due's is ErrNotFound.
	Due(residentID, after string, limit int) ([]DueEntry, string, error)
	// DueCount returns the number of a resident's letters Due lists.
	DueCount(residentID string) (int, error)
	// MailboxAll calls fn for each letter of a resident's mailbox, oldest
	// first; fn must not change the mailbox.
	MailboxAll(residentID string, fn func(MailboxEntry) error) error
	// Tombstones calls fn with the id of each tombstone of a resident's
	// deleted letters, in the order of their ids; fn must not change
	// them.
	Tombstones(residentID string, fn func(letterID string) error) error
	// All calls fn for every letter in the order of their ids.
	All(fn func(*Letter) error) error
	// Scheduled calls fn for each scheduled letter (Letter.IsScheduled)
	// whose ReleaseAt is at or before until, the earliest first (then by
	// id), with its id, resident and release time, until fn returns false
	// or an error; fn must not change letters.
	Scheduled(until time.Time, fn func(letterID, residentID string, releaseAt time.Time) (bool, error)) error
}

// DueEntry is one line of a resident's index of due dates.
type DueEntry struct {
	LetterID string
	Due      string // YYYY-MM-DD
}

// MailboxEntry is one line of a resident's mailbox index.
type MailboxEntry struct {
	LetterID    string
	DeliveredAt time.Time
}

// Documents are the sealed contents of letters' documents, as blobs
// written ahead of the transaction (Blobs.Write) and attached in it.
type Documents interface {
	// Put attaches a new letter's sealed documents, in their order.
	Put(letterID string, blobs []Blob) error
	// Open returns a document's sealed content. It may be read after
	// the transaction ends.
	Open(letterID string, index int) (io.ReadCloser, error)
	// Has reports whether a document's content is stored.
	Has(letterID string, index int) (bool, error)
	// Delete deletes a letter's n documents. An engine that keeps blobs
	// outside the transaction deletes them once it has committed.
	Delete(letterID string, n int) error
	// Letters calls fn with the id of every letter that has documents.
	Letters(fn func(letterID string) error) error
}

// Blobs keep sealed document content, written before the transaction that
// refers to it commits. A blob written but never attached (the delivery
// was refused, or the process died before the commit) is discarded by the
// caller, or swept by the engine later.
type Blobs interface {
	// Write stores content under a new key made from the letter id and
	// the document's index.
	Write(ctx context.Context, letterID string, index int, content io.Reader) (Blob, error)
	// Discard deletes blobs that no committed transaction attached.
	Discard(ctx context.Context, blobs []Blob)
}

// Blob is content written by Blobs.Write.
type Blob interface {
	Key() string
	Size() int64
}

// Sessions are the residents' sessions, with their index by resident
// and their order of expiry (by Expires and by LastSeen), for the sweep.
type Sessions interface {
	Get(id []byte) (*Session, error)
	Put(id []byte, s *Session) error
	Delete(id []byte) error
	// OfResident returns the ids of a resident's sessions.
	OfResident(residentID string) ([][]byte, error)
	// All calls fn for every session that decodes (one that does not
	// opens nothing, and Check reports it); fn must not change sessions.
	All(fn func(id []byte, s *Session) error) error
	// DeleteExpired deletes up to max sessions whose Expires is at or
	// before expiresBy or whose LastSeen is at or before seenBy, found
	// through their indexes (never by reading every session), and
	// returns how many.
	DeleteExpired(expiresBy, seenBy time.Time, max int) (int, error)
}

// Outbox holds the notifications to send, with their index of pending
// notifications by next attempt.
type Outbox interface {
	// Add assigns n.Seq and stores a new notification.
	Add(n *Notification) error
	Get(residentID string, seq uint64) (*Notification, error)
	// Put replaces a notification (its state and next attempt may have
	// changed: the due index follows), or stores one with its Seq as it
	// is, as a copy from another engine does: Add numbers every later
	// notification after it.
	Put(n *Notification) error
	Delete(n *Notification) error
	// Due calls fn for the pending notifications whose next attempt is
	// at or before now, the earliest first, until fn returns false.
	Due(now time.Time, fn func(*Notification) bool) error
	// OfResident returns every notification of a resident.
	OfResident(residentID string) ([]*Notification, error)
	// All calls fn for every notification, by resident and sequence,
	// until fn returns false.
	All(fn func(*Notification) bool) error
}

// Audit is the tamper-evident audit log (package store/auditlog): its
// entries' encodings by index, the Merkle tree's stored hashes by
// tlog's stored-hash index, and its size, recorded beside them (so that a
// log cut short is told from a short log). The domain appends through
// auditlog, which decides what is written; the engine only keeps it.
type Audit interface {
	// Size returns the number of entries (0 for an empty log).
	Size() (int64, error)
	// PutEntry stores the encoding of the entry at index, which must be
	// the size, and makes the size index+1.
	PutEntry(index int64, encoded []byte) error
	// Entry returns the encoding of the entry at index.
	Entry(index int64) ([]byte, error)
	// Entries calls fn with every stored entry in order of index; encoded
	// is valid only during the call.
	Entries(fn func(index int64, encoded []byte) error) error
	// ReadHashes returns the stored hashes at the indexes given, in that
	// order (tlog.HashReader); one not stored is an error.
	ReadHashes(indexes []int64) ([]tlog.Hash, error)
	// PutHashes stores hashes[i] at stored-hash index start+i.
	PutHashes(start int64, hashes []tlog.Hash) error
}

// Terms are the published versions of the terms of use, each resident's
// acceptance, and the markers of the notices delivered.
type Terms interface {
	Get(version int) (*TermsVersion, error)
	Put(t *TermsVersion) error
	// All returns every version, oldest first.
	All() ([]*TermsVersion, error)
	Acceptance(residentID string) (*TermsAcceptance, error)
	PutAcceptance(residentID string, a *TermsAcceptance) error
	DeleteAcceptance(residentID string) error
	// Acceptances calls fn for every resident's acceptance.
	Acceptances(fn func(residentID string, a *TermsAcceptance) error) error
	// Notice returns the letter id of a version's notice to a resident.
	Notice(version int, residentID string) (string, error)
	PutNotice(version int, residentID, letterID string) error
	// DeleteNotices deletes a resident's notice markers of every version.
	DeleteNotices(residentID string) error
	// Notices calls fn for every notice marker.
	Notices(fn func(version int, residentID, letterID string) error) error
}

// Retention holds what the retention rules recorded per resident.
type Retention interface {
	// Get returns a resident's record; none is the zero record.
	Get(residentID string) (*RetentionRecord, error)
	// Put stores it; the zero record deletes it.
	Put(residentID string, r *RetentionRecord) error
	// All calls fn for every resident with a record.
	All(fn func(residentID string, r *RetentionRecord) error) error
}

// Preferences hold each resident's preferences.
type Preferences interface {
	// Get returns a resident's preferences; none is the zero record.
	Get(residentID string) (*PreferencesRecord, error)
	Put(residentID string, p *PreferencesRecord) error
	Delete(residentID string) error
	// All calls fn for every resident that has preferences.
	All(fn func(residentID string) error) error
}

// Leases let one of several nodes hold a named duty (the scheduled jobs)
// at a time: a holder that stops renewing loses it when it expires.
type Leases interface {
	// Acquire gives the lease to holder until now+ttl when it is free,
	// expired, or already holder's (a renewal), and reports whether
	// holder has it now.
	Acquire(name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// Release ends holder's lease early; another holder's stays.
	Release(name, holder string) error
	// Get returns the lease's holder and expiry; ErrNotFound when none
	// was ever taken.
	Get(name string) (holder string, expires time.Time, err error)
}

// Limits hold small values that expire, by key: the state of the limits
// on requests that the nodes of a cluster share (the login throttle's
// failures and checks under way, the senders' token buckets; package
// store's UpdateLimits). The engine neither reads the values nor deletes
// a record when it expires: DeleteExpired does, and until then Get
// returns it as it is. They are not part of a deployment's data: backups
// may hold them, store/migrate does not copy them.
type Limits interface {
	// Get returns the record under key; ErrNotFound when there is none.
	Get(key string) (*Limit, error)
	// Put inserts or replaces the record under l.Key.
	Put(l *Limit) error
	// Delete deletes the record under key; none is no error.
	Delete(key string) error
	// DeleteExpired deletes up to max records that expired before the
	// time given, the earliest first, and returns how many.
	DeleteExpired(before time.Time, max int) (int, error)
}

// Support holds residents' support requests, with their index by
// resident.
type Support interface {
	Get(id string) (*SupportRequest, error)
	// Put inserts or replaces a request.
	Put(r *SupportRequest) error
	Delete(r *SupportRequest) error
	// OfResident returns a resident's requests, oldest first.
	OfResident(residentID string) ([]*SupportRequest, error)
	// All calls fn for every request, oldest first (by Created, then id).
	All(fn func(*SupportRequest) error) error
}

// SenderBlocks hold each resident's blocks of private senders.
type SenderBlocks interface {
	// Get returns a resident's blocks; none is an empty list.
	Get(residentID string) ([]SenderBlock, error)
	// Put stores a resident's blocks; an empty list deletes them.
	Put(residentID string, blocks []SenderBlock) error
	// All calls fn for every resident with blocks.
	All(fn func(residentID string, blocks []SenderBlock) error) error
}

// Events are what senders may know of their letters, one feed per sender
// in the order they happened.
type Events interface {
	// Append assigns e.Seq (increasing across all senders, so a sender's
	// feed is in order of Seq) and stores the event.
	Append(e *Event) error
	// After returns up to limit events of a sender with Seq greater than
	// after, in order of Seq.
	After(senderID string, after uint64, limit int) ([]*Event, error)
	// Settle waits, in a read-only transaction, until the transactions
	// appending to a sender's feed (and so to its callback outbox) have
	// ended, so that the reads that follow see no event without every
	// event numbered before it. It must be the transaction's first read.
	// (The cluster engine numbers events from a sequence outside its
	// transactions; the embedded engine's one writer needs no wait.)
	Settle(senderID string) error
	// Prune deletes every event that happened before the time given and
	// returns how many.
	Prune(before time.Time) (int, error)
	// Put stores an event with its Seq as it is, as a copy from another
	// engine does (store/migrate); Append numbers every later event after
	// it.
	Put(e *Event) error
	// All calls fn for every event, in order of Seq.
	All(fn func(*Event) error) error
}

// Callbacks hold each sender's callback (where its events are POSTed,
// and how that goes) and its outbox: the events still to be POSTed, in
// order of Seq. An event is put in the outbox in the transaction that
// appends it to the feed, and taken out when the receiver acknowledged
// it, so a sequence number handed out but committed late (the cluster
// engine's sequence is outside transactions) is never skipped.
type Callbacks interface {
	// Get returns a sender's callback.
	Get(senderID string) (*Callback, error)
	// Put inserts or replaces a sender's callback.
	Put(c *Callback) error
	// Delete deletes a sender's callback and every event in its outbox;
	// none is no error.
	Delete(senderID string) error
	// All calls fn for every callback, in the order of the senders' ids.
	All(fn func(*Callback) error) error
	// Queue puts an event, with its Seq, in its sender's outbox.
	Queue(e *Event) error
	// Queued returns up to limit events of a sender's outbox, in order of
	// Seq.
	Queued(senderID string, limit int) ([]*Event, error)
	// Dequeue takes an event out of a sender's outbox; none is no error.
	Dequeue(senderID string, seq uint64) error
	// Clear empties a sender's outbox and returns how many events it held.
	Clear(senderID string) (int, error)
	// Count returns how many events are in a sender's outbox.
	Count(senderID string) (int, error)
}

// Print holds the print queue: letters to be printed and posted, with
// their index by sender and reference (a reference is the idempotency
// key of a letter, printed or delivered), the index of those queued and
// not yet printed, in the order they were queued, and the index of those
// waiting to be printed if unread, by that time.
type Print interface {
	// Get returns a letter of the print queue.
	Get(id string) (*PrintLetter, error)
	// Put inserts or replaces one, with its index entries.
	Put(p *PrintLetter) error
	// ByReference returns the id of a sender's letter in the queue by its
	// reference.
	ByReference(senderID, ref string) (string, error)
	// Pending calls fn for every letter queued and not printed, in the
	// order they were queued (then of id), until fn returns false.
	Pending(fn func(*PrintLetter) (bool, error)) error
	// Waiting calls fn for every letter waiting (PrintLetter.Waiting)
	// until at most until, in the order of WaitUntil (then of id), until
	// fn returns false.
	Waiting(until time.Time, fn func(*PrintLetter) (bool, error)) error
	// Delete deletes a letter of the queue with its index entries; none
	// is no error.
	Delete(id string) error
	// All calls fn for every letter of the queue, printed or not, in the
	// order of their ids.
	All(fn func(*PrintLetter) error) error
}

// Folders hold each resident's own folders.
type Folders interface {
	// Get returns a resident's folders; none is an empty list.
	Get(residentID string) ([]Folder, error)
	// Put stores a resident's folders; an empty list deletes them.
	Put(residentID string, folders []Folder) error
	// All calls fn for every resident with folders.
	All(fn func(residentID string, folders []Folder) error) error
}

// SearchIndexes hold each resident's search index, sealed by package
// store with a key that only the resident's private key derives: the
// engine keeps bytes it cannot read. The index is one record, replaced
// whole in one transaction, so a crash leaves the old index or the new.
type SearchIndexes interface {
	// Get returns a resident's index; ErrNotFound when there is none.
	Get(residentID string) (*SearchIndex, error)
	// Version returns the Version of a resident's index without reading
	// its sealed bytes; ErrNotFound when there is none.
	Version(residentID string) (uint64, error)
	// Put inserts or replaces a resident's index.
	Put(residentID string, ix *SearchIndex) error
	// Delete deletes a resident's index; none is no error.
	Delete(residentID string) error
	// All calls fn for every resident with an index, in the order of
	// their ids.
	All(fn func(residentID string, ix *SearchIndex) error) error
}

// Delegations hold residents' grants of access to their mailboxes
// (Delegation), with their indexes by grantor and by delegate.
type Delegations interface {
	// Get returns a grant; ErrNotFound when there is none.
	Get(id string) (*Delegation, error)
	// Put inserts or replaces a grant, with its index entries.
	Put(d *Delegation) error
	// Delete deletes a grant with its index entries; none is no error.
	Delete(id string) error
	// OfGrantor returns the grants a resident gave, oldest first (by
	// Created, then id).
	OfGrantor(residentID string) ([]*Delegation, error)
	// OfDelegate returns the grants given to a resident, oldest first.
	OfDelegate(residentID string) ([]*Delegation, error)
	// All calls fn for every grant, oldest first.
	All(fn func(*Delegation) error) error
}

// JobRuns hold the record of each job's last run.
type JobRuns interface {
	Put(r *JobRun) error
	All() ([]*JobRun, error)
}

// Replies are residents' sealed replies to letters and messages to
// senders (a reply with no LetterID), with their indexes by letter and by
// resident (each in the order written, then of id).
type Replies interface {
	// Get returns a reply.
	Get(id string) (*Reply, error)
	// Put inserts or replaces one, with its index entry.
	Put(r *Reply) error
	// Delete deletes one with its index entry; none is no error.
	Delete(id string) error
	// ByLetter calls fn for every reply to a letter, in the order of
	// Created, then of id, until fn returns an error. letterID is not
	// empty.
	ByLetter(letterID string, fn func(*Reply) error) error
	// ByResident calls fn for every reply and message of a resident, in
	// the order of Created, then of id, until fn returns an error.
	ByResident(residentID string, fn func(*Reply) error) error
	// All calls fn for every reply in the order of their ids.
	All(fn func(*Reply) error) error
}
