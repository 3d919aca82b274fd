// Package embedded is Postkasse's embedded storage engine: every record
// and every sealed document in one bbolt file (DATA/postkasse.db), for one
// machine. It implements the seam of package storage; the domain's rules
// are package store's.
//
// Each kind of record is a table (table.go): a bucket of records and the
// description of its indexes, from which putting a record writes its index
// entries, deleting it deletes them, and Check verifies them, so the three
// cannot disagree (tables.go has every description). Update transactions
// are bbolt's, one writer at a time, fsynced at commit; documents are
// written in the same transaction as their letter (Blobs holds them in
// memory until then).
//
// # Buckets
//
// All ids are 128-bit numbers in lowercase hex (32 bytes), random except
// that a letter id starts with 48 bits of its delivery time in Unix
// milliseconds, so letters' keys mostly grow (store's newLetterID). Times are
// UTC. Records are CBOR (RFC 8949) since schema 14, JSON before (still
// read; table.go, decodeRecord). Numbers in keys are big-endian, so keys
// sort in numeric order.
//
//	meta               "schema" → uint32 schema version
//	                   "signing-seed" → Ed25519 seed of the appliance's receipt key (32 bytes)
//	                   "created" → RFC 3339 time the database was made
//	                   "lease/<name>" → holder and expiry of a lease (storage.Leases)
//	                   "limits-key" → the secret the limits' keys are derived under (32 bytes;
//	                   store's UpdateLimits makes it the first time)
//	residents          residentID → storage.Resident: national id, name, status, public key,
//	                   password wrapping and recovery wrapping of the private key, times;
//	                   while pending (no keys yet): SHA-256 of the activation code, its expiry
//	residents-by-nid   national id digits → residentID
//	senders            senderID → storage.Sender: name, organisation number, kind, revoked,
//	                   bound certificates (fingerprint, serial, expiry, revoked)
//	sender-certs       SHA-256 of a certificate's DER, hex → senderID
//	letters            letterID → storage.Letter: resident, sender, senderReference, type,
//	                   due date, times, size, content hash, sealed data key, sealed subject,
//	                   body and file names, content types and sizes, signed receipt; since
//	                   schema 15 without the big fields kept in letter-parts, and with
//	                   Parts, their sizes (letterparts.go)
//	documents          letterID | uint16 index | uint16 part → a part of a small document's
//	                   sealed content (crypto's chunked format), when every document of
//	                   the letter is small (since schema 14); else letterID → sub-bucket:
//	                   uint16 index → sealed document content, one sub-bucket per letter
//	                   (since schema 4; before, letterID | uint16 index → sealed content,
//	                   which is still read). documents.go says why.
//	mailbox            residentID | 0x00 | uint64 deliveredAt (Unix ns) | letterID → empty;
//	                   a resident's letters in delivery order
//	references         senderID | 0x00 | senderReference → letterID (idempotency)
//	sender-letters     senderID | 0x00 | letterID → empty (since schema 2)
//	sessions           sessionID (16 bytes) → storage.Session: resident, session wrapping of the
//	                   private key, created, last seen, expires; since schema 9 the browser's
//	                   User-Agent (cut short) and address at sign-in
//	audit              uint64 sequence → storage.AuditEntry
//
// Since schema 3 (scheduled work: terms, retention, notifications):
//
//	terms              uint32 version → storage.TermsVersion: full text, published, effective, when
//	                   the notice had reached every active mailbox
//	terms-accepted     residentID → storage.TermsAcceptance: highest version accepted, when
//	terms-notices      uint32 version | residentID → letterID of the notice letter (the marker
//	                   that makes the notice once-only)
//	retention          residentID → storage.RetentionRecord: inactivity warnings given and for which
//	                   last login, date of death, and for a deleted account the tombstone
//	                   (when, why)
//	preferences        residentID → storage.PreferencesRecord: e-mail address, phone number,
//	                   which channels are on, the language chosen
//	outbox             residentID | uint64 sequence → storage.Notification: one notification on one
//	                   channel (address, kind, sender name unless sensitive, letter type,
//	                   times, state, attempts, last error); never a subject or content
//	outbox-due         uint64 next attempt (Unix ns) | residentID | uint64 sequence → empty;
//	                   only pending notifications, in the order they are due
//	job-runs           job name → storage.JobRun: last start, end, outcome, items, error
//
// Since schema 5:
//
//	sessions-by-resident  residentID | sessionID → empty
//
// Since schema 8:
//
//	limits             key → storage.Limit: a limit's state that the nodes of a cluster
//	                   share (store's UpdateLimits), an HMAC of what it counts, never a
//	                   national identity number or an address; expiry; opaque value
//	limits-by-expiry   uint64 expiry (Unix ns) | key → empty
//
// Since schema 9:
//
//	mailbox-unread     folderKey → empty, for each unread letter (storage.Letter.Unread)
//	mailbox-due        residentID | 0x00 | due date (YYYY-MM-DD) | letterID → empty, for each
//	                   letter of the inbox with a due date not marked paid (storage.Letter.Due)
//	tombstones         residentID | 0x00 | letterID → empty; the tombstones a resident's
//	                   deleted letters left (a tombstone is a letters record with Deleted
//	                   set, in references and sender-letters but not in mailbox or
//	                   mailbox-folders)
//	search-indexes     residentID → uint64 version | the resident's search index, sealed by
//	                   package store (storage.SearchIndex); no word of it in clear
//	sessions-by-expiry     uint64 expires (Unix ns) | sessionID → empty
//	sessions-by-last-seen  uint64 last seen (Unix ns) | sessionID → empty
//
// Since schema 10:
//
//	callbacks          senderID → storage.Callback: the sender's callback URL and how its
//	                   delivery goes (last delivered, failures, next attempt, given up)
//	callback-outbox    senderID | uint64 event sequence → storage.Event: the events still to
//	                   POST to the sender's callback, in order
//	mailbox-counts     residentID | 0x00 | kind | folder → uint64 (big-endian): the number of a
//	                   resident's entries in mailbox-folders (kind 'l', by folder),
//	                   mailbox-unread ('u', by folder) and mailbox-due ('d', no folder); kept
//	                   by the letters table in the transaction that adds or deletes an entry,
//	                   stored while above zero, so a folder's counts cost one read
//	letters-scheduled  uint64 release time (Unix ns) | letterID → residentID, for each
//	                   scheduled letter (storage.Letter.ReleaseAt set), which is in
//	                   references and sender-letters but in no mailbox index until released
//
// Since schema 11:
//
//	print              letterID → storage.PrintLetter: a letter of the print queue (its
//	                   address and documents sealed to the print key until printed)
//	print-by-reference senderID | 0x00 | reference → letterID
//	print-pending      uint64 queued (Unix ns) | letterID → empty, while queued and not printed
//	print-waiting      uint64 wait until (Unix ns) | letterID → empty, while waiting to be
//	                   printed if still unread then (unread-after)
//
// Since schema 12:
//
//	replies            replyID → storage.Reply: a resident's reply to a letter (or message
//	                   to a sender, with no letter), sealed (crypto's sealed reply v1, and
//	                   the data key's copy for the resident)
//	replies-by-letter  letterID | 0x00 | uint64 created (Unix ns) | replyID → empty (not for
//	                   a message)
//	replies-by-resident residentID | 0x00 | uint64 created (Unix ns) | replyID → empty
//	delegations        delegationID → storage.Delegation: a resident's grant of access
//	                   to their mailbox
//	delegations-by-grantor   grantorID | delegationID → empty
//	delegations-by-delegate  delegateID | delegationID → empty
//
// Since schema 15:
//
//	letter-parts       letterID | uint16 field | uint16 part → a part of a letter's big
//	                   field (sealed data key, receipt payload, body, structured data, a
//	                   delegate's sealed key: 256 bytes or more), at most 700 bytes, the
//	                   parts in order; a tombstone keeps its fields in its record.
//	                   letterparts.go says why.
//
// # Schema versions
//
// The meta bucket's "schema" says which version the file has. Open applies
// the missing steps of the upgrade record in schema.go in order, each in
// one transaction with its new version number. A newer file than the code
// knows is refused; a read-only Open refuses an older one.
//
// # A damaged file
//
// A file whose pages do not decode (cut short, or a page changed by a
// disk or a power cut) makes bbolt panic, or its memory map fault, where
// it reads them. Every call into bbolt (transactions, the check, the
// backup's copy, Open) turns that into ErrDamaged, never a crash, and
// tells it from a panic of the caller's own by the code that raised it
// (damage.go). The first damage found is kept and logged once: from then
// on changes and backups are refused naming it, and reads go on unless
// the file can no longer be read safely.
package embedded
