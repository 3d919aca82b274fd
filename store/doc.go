// Package store owns Postkasse's domain: residents, senders and their
// certificates, letters and their documents, read state, sessions, terms
// of use, retention, notifications and the audit log, and every rule
// about them. Every exported operation is one transaction of the storage
// engine below (see "Storage") that keeps the invariants below; handlers
// and jobs parse, call the store and respond.
//
// # Invariants
//
//   - A letter's subject, body, file names, document contents and
//     structured data (an invoice, actions, a signature request:
//     structured.go, signing.go) are stored
//     only sealed with its data key (package crypto); the data key only
//     sealed to the recipient's public key, bound to the letter id, the
//     recipient id and the sender id. A resident's private key is stored
//     only wrapped (password, recovery key, session).
//   - Delegation (delegation.go) never shares a private key: a grant's
//     delegate reads a covered letter through a copy of its data key
//     sealed to the delegate's public key (storage.Letter.DelegateKeys,
//     crypto.Binding.Delegate), made at the grant with the grantor's key,
//     at delivery, or when a ward signs in (a guardianship). Ending a
//     grant deletes it and every copy to its delegate in one transaction;
//     a tombstone keeps none; every read through a grant checks in its
//     transaction that it is accepted and not past its last day.
//   - Two-step verification (totp.go): the TOTP secret is stored only
//     sealed with a key derived from the resident's private key, the
//     backup codes only as hashes. A sign-in with it on starts no session
//     until the code: its first step (secondstep.go) is a record among
//     the sessions that opens no mailbox, used once, for five minutes at
//     most. A code is accepted once (the last step used is kept; a used
//     backup code's hash is deleted).
//   - The operator never holds a secret that opens a mailbox. Enrolment
//     (EnrolResident) makes a pending mailbox without a key pair and a
//     one-time activation code, of which only a hash is stored; the key
//     pair, its password wrapping and the recovery key are made when the
//     resident activates the mailbox (Activate). A pending mailbox takes
//     no letters, so none is ever sealed to a key from anywhere else.
//   - A letter is acknowledged (Deliver returns) only after the transaction
//     that wrote it has committed durably (bbolt fsyncs; PostgreSQL's
//     commit is durable). Concurrent deliveries
//     are committed together (group commit) by one goroutine, so they share
//     the fsync; a delivery that is refused writes nothing, and a failed
//     batch is retried letter by letter. A letter's DeliveredAt, which its
//     signed receipt states, is the time read inside that transaction.
//   - A letter's documents are checked, hashed and sealed as they stream
//     in (stream.go, Documents), before the rest of the letter is known;
//     no document's plaintext is held whole. Their blobs are written
//     ahead and discarded on every refusal, a repeat included (the
//     content hash is known only once all documents are read).
//   - (sender, senderReference) names at most one letter, in a mailbox or
//     in the print queue. The same reference with the same content hash
//     returns the original result; with another hash it is refused.
//   - A letter queued for print (print.go) is stored only sealed to the
//     print key, whose private half is stored only wrapped by the
//     operator's key, which the appliance never keeps; its copy is deleted
//     when its batch is marked printed, and it is printed at most once. A
//     copy waiting to be printed if unread goes when its letter is opened
//     or deleted.
//   - Every delivery, login, logout, first reading, enrolment and
//     activation appends an audit entry in the same transaction; so does
//     turning two-step verification on or off, using a backup code and
//     making new ones.
//   - A delivery queues its notifications (outbox) in its own transaction;
//     a notification holds no subject or content, and no sender name for a
//     letter marked sensitive.
//   - Search never keeps a word of a letter in clear: each resident's
//     search index (search.go) is one record sealed with a key derived
//     from the resident's private key, replaced whole in one transaction;
//     the opened index lives only in memory, per session, and goes at
//     logout or when the session would have expired. A letter found is
//     read again before it is shown, so a deleted letter is never found.
//   - A letter the resident deletes (DeleteLetters, delete.go) is deleted
//     in one transaction with its "deleted" event and audit entry: every
//     wrapping of its data key, its sealed subject, body, file names,
//     structured data and listing, its sealed documents (on the cluster engine their objects
//     once the transaction has committed) and its mailbox and folder
//     index entries. What stays is its tombstone, the letter's record
//     with Deleted set and only ids, senderReference, type, content
//     hash, delivery and reading times and the signed receipt (all in
//     clear before): the sender's status says "deleted", and the same
//     senderReference again returns the original result, never a new
//     letter. A tombstone opens nothing, is in no mailbox or folder, and
//     goes with the account. A letter made inaccessible is not deleted
//     (ErrInaccessible) until the hold is lifted.
//   - A resident's reply to a letter (replies.go) is stored only sealed
//     (crypto's sealed reply v1): its data key sealed to the sender's
//     reply key and to the resident, bound to the reply, the sender and
//     the resident; it is stored with its sender's "reply" event and its
//     audit entry in one transaction, only on a letter of the resident's
//     that allows replies from a sender with a reply key, and deleted
//     with its letter (and so with the account). A message to a sender
//     (SendMessage: a reply with no letter, to a sender that accepts
//     messages) is sealed and stored the same way, and goes with the
//     account. A delegate with access "act" replies on the grantor's
//     behalf (delegated_reply.go): the reply is the grantor's, sealed the
//     same way to the grantor's public keys, with a third copy of its key
//     to the delegate (crypto.ReplyBinding.Delegate) deleted with the
//     grant's other copies; its record, event and audit entry name the
//     delegate.
//   - A resident's own document (own.go: Upload) is sealed like a letter
//     and stored with its audit entry in one transaction, or not at all;
//     its files pass the checks and limits of a sender's documents. Its
//     SenderID is "own:" and the resident's id, no sender's: it has no
//     receipt, no content hash and no sender events.
//   - A deleted account (inactivity, death, or the resident's own choice)
//     is deleted in one transaction: every wrapping of its private key, its
//     public key, sessions, letters and tombstones, documents, index entries, the search
//     index, preferences
//     and notifications. What stays is a tombstone (residents and
//     residents-by-nid with status "deleted", no name, no keys; retention
//     with the time and reason) and the audit entries, so lookups say "not
//     digital" and the number cannot be enrolled again onto the old data.
//
// # Storage
//
// The domain runs on a storage engine through the seam of package
// storage: a transaction gives one typed accessor per kind of record, and
// each accessor keeps that record's indexes. The embedded engine
// (store/embedded, the default) keeps everything in one bbolt file and
// documents its buckets and keys; the cluster engine keeps records in
// PostgreSQL and sealed documents in object storage. Open opens the
// embedded engine; New runs the domain on any engine. The appliance's
// receipt key is the meta value "signing-seed", made by New the first
// time; the signing CA and time-stamping key of residents' signatures the
// meta value "signing-authority" (signing.go), made by New the first time
// it runs writable. The limits that the nodes of a cluster share (the login
// throttle, the senders' rate limits, the steps of a sign-in with eID,
// the hashes of reset codes: eid.go, reset.go) are kept under keys derived with
// the meta value "limits-key" (limits.go), and deleted by
// DeleteExpiredLimits once they expire.
//
// # What stays in clear
//
// National identity numbers and names of residents; the version number
// of each resident's search index (how often it was replaced); senders and their
// certificates; for each letter: sender, recipient, senderReference, type,
// due date, reply flag, the reply it answers (InReplyTo), times, sizes, content types, the content hash (a
// SHA-256 over the letter as sent, so someone holding the database can
// confirm a guess of a letter's exact content) and the signed receipt;
// for a letter imported from another appliance (import.go) also its
// sender's name, organisation number and kind there, its id there and
// that appliance's receipt key; a resident's answer to a signature
// request (signed or declined, when, the reason, and the signature: the
// detached CMS and a signed PDF, which holds the document, signing.go)
// until the letter is deleted; a resident's signing certificate (their
// name and pseudonym; the private key is sealed).
//
// # Export and import
//
// A resident's export archive (export.go: the format; exportread.go: the
// reader and verifier that `postkasse verify` and Import share) holds the
// mailbox in clear with every receipt and the receipt key; Import takes
// one in for the same national identity number, verified first and
// stored in one transaction. An imported letter's SenderID is "import:"
// and the id of the receipt key that signed its receipt, and its
// SenderReference is its id on that appliance: the index of references
// makes the import idempotent. The resident's own documents are the
// export's "archive" (files under archive/<id>/, no receipt); an import
// brings them back as own documents, by the id where each was first
// saved (its SenderReference), once.
//
// # Schema versions
//
// Each engine keeps its own schema version and upgrade record (the
// embedded engine's in store/embedded/schema.go), applied when it opens; a
// newer database than the code knows is refused.
package store
