// Package store owns Postkasse's domain and its persistence: residents,
// senders and their certificates, letters and their documents, read state,
// sessions and the audit log, in one bbolt file (DATA/postkasse.db). Every
// exported operation is one bbolt transaction that keeps the invariants
// below; handlers and jobs parse, call the store and respond.
//
// # Invariants
//
//   - A letter's subject, body, file names and document contents are stored
//     only sealed with its data key (package crypto); the data key only
//     sealed to the recipient's public key, bound to the letter id, the
//     recipient id and the sender id. A resident's private key is stored
//     only wrapped (password, recovery key, session).
//   - The operator never holds a secret that opens a mailbox. Enrolment
//     (EnrolResident) makes a pending mailbox without a key pair and a
//     one-time activation code, of which only a hash is stored; the key
//     pair, its password wrapping and the recovery key are made when the
//     resident activates the mailbox (Activate). A pending mailbox takes
//     no letters, so none is ever sealed to a key from anywhere else.
//   - A letter is acknowledged (Deliver returns) only after the transaction
//     that wrote it has committed, which bbolt fsyncs. Concurrent deliveries
//     are committed together (group commit) by one goroutine, so they share
//     the fsync; a delivery that is refused writes nothing, and a failed
//     batch is retried letter by letter. A letter's DeliveredAt, which its
//     signed receipt states, is the time read inside that transaction.
//   - (sender, senderReference) names at most one letter. The same
//     reference with the same content hash returns the original result;
//     with another hash it is refused.
//   - Every delivery, login, logout, first reading, enrolment and
//     activation appends an audit entry in the same transaction.
//   - A delivery queues its notifications (outbox) in its own transaction;
//     a notification holds no subject or content, and no sender name for a
//     letter marked sensitive.
//   - A deleted account (inactivity, death, or the resident's own choice)
//     is deleted in one transaction: every wrapping of its private key, its
//     public key, sessions, letters, documents, index entries, preferences
//     and notifications. What stays is a tombstone (residents and
//     residents-by-nid with status "deleted", no name, no keys; retention
//     with the time and reason) and the audit entries, so lookups say "not
//     digital" and the number cannot be enrolled again onto the old data.
//
// # Buckets
//
// All ids are 128-bit numbers in lowercase hex (32 bytes), random except
// that a letter id starts with 48 bits of its delivery time in Unix
// milliseconds, so letters' keys mostly grow (see newLetterID). Times are
// UTC. Records are JSON. Numbers in keys are big-endian, so keys sort in
// numeric order.
//
//	meta               "schema" → uint32 schema version
//	                   "signing-seed" → Ed25519 seed of the appliance's receipt key (32 bytes)
//	                   "created" → RFC 3339 time the database was made
//	residents          residentID → residentRecord: national id, name, status, public key,
//	                   password wrapping and recovery wrapping of the private key, times;
//	                   while pending (no keys yet): SHA-256 of the activation code, its expiry
//	residents-by-nid   national id digits → residentID
//	senders            senderID → senderRecord: name, organisation number, kind, revoked,
//	                   bound certificates (fingerprint, serial, expiry, revoked)
//	sender-certs       SHA-256 of a certificate's DER, hex → senderID
//	letters            letterID → letterRecord: resident, sender, senderReference, type,
//	                   due date, times, size, content hash, sealed data key, sealed subject,
//	                   body and file names, content types and sizes, signed receipt
//	documents          letterID → sub-bucket: uint16 index → sealed document content (crypto's
//	                   chunked format), one sub-bucket per letter (since schema 4; before,
//	                   letterID | uint16 index → sealed content, which is still read)
//	mailbox            residentID | 0x00 | uint64 deliveredAt (Unix ns) | letterID → empty;
//	                   a resident's letters in delivery order
//	references         senderID | 0x00 | senderReference → letterID (idempotency)
//	sender-letters     senderID | 0x00 | letterID → empty (since schema 2)
//	sessions           sessionID (16 bytes) → sessionRecord: resident, session wrapping of the
//	                   private key, created, last seen, expires
//	audit              uint64 sequence → AuditEntry JSON
//
// Since schema 3 (scheduled work; see terms.go, retention.go, outbox.go):
//
//	terms              uint32 version → termsRecord: full text, published, effective, when
//	                   the notice had reached every active mailbox
//	terms-accepted     residentID → termsAcceptance: highest version accepted, when
//	terms-notices      uint32 version | residentID → letterID of the notice letter (the marker
//	                   that makes the notice once-only)
//	retention          residentID → retentionRecord: inactivity warnings given and for which
//	                   last login, date of death, and for a deleted account the tombstone
//	                   (when, why)
//	preferences        residentID → preferencesRecord: e-mail address, phone number, which
//	                   channels are on
//	outbox             residentID | uint64 sequence → outboxRecord: one notification on one
//	                   channel (address, kind, sender name unless sensitive, letter type,
//	                   times, state, attempts, last error); never a subject or content
//	outbox-due         uint64 next attempt (Unix ns) | residentID | uint64 sequence → empty;
//	                   only pending notifications, in the order they are due
//	job-runs           job name → JobRun: last start, end, outcome, items, error
//
// # What stays in clear
//
// National identity numbers and names of residents; senders and their
// certificates; for each letter: sender, recipient, senderReference, type,
// due date, reply flag, times, sizes, content types, the content hash (a
// SHA-256 over the letter as sent, so someone holding the database can
// confirm a guess of a letter's exact content) and the signed receipt.
//
// # Schema versions
//
// The meta bucket's "schema" says which version the file has. Open applies
// the missing steps of the upgrade record in schema.go in order, each in
// one transaction with its new version number. A newer file than the code
// knows is refused.
package store
