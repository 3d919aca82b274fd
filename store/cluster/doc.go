// Package cluster is the storage engine for several nodes: records in
// PostgreSQL (15 or newer, through pgx), sealed document content in
// S3-compatible object storage (through minio-go). It implements package
// storage's seam, so the domain (package store) runs on it unchanged, and
// any number of nodes may share one database and one bucket.
//
// # Transactions
//
// Update runs fn in a SERIALIZABLE transaction and commits it; on a
// serialisation failure (SQLSTATE 40001) or a deadlock (40P01) it rolls
// back and runs fn again, up to thirty times with a growing, jittered pause,
// then answers storage.ErrUnavailable. View runs fn in a REPEATABLE READ
// READ ONLY transaction: one snapshot, and any change fails. A failure to
// reach the database (connection refused or lost, the server shutting
// down, out of resources) is storage.ErrUnavailable: nothing was stored.
//
// # Schema
//
// Every table is plain SQL that a DBA can read; each record's full
// content is in its record column (the JSON encoding of package
// storage's struct, as bytea: a record may hold any text), and the
// columns beside it are the keys and indexes, kept in step with the
// record by the one function that writes it. Per-resident data has the
// resident id leading its primary key, so a distributed SQL engine can
// partition it by resident:
//
//	meta                (key) → value
//	residents           (id), unique national_id, version (the stamp)
//	senders             (id), org_number, version
//	sender_certificates (fingerprint) → sender_id
//	letters             (resident_id, id), unique id, unique (sender_id, sender_reference),
//	                    mailbox order (resident_id, delivered_at, id),
//	                    folder order (resident_id, folder, delivered_at, id),
//	                    deleted_at (a tombstone's; NULL while the letter lives) by
//	                    (resident_id, deleted_at), the unread letters by
//	                    (resident_id, folder) where unread, the due dates to act on
//	                    by (resident_id, due, id) where due (all since 3)
//	documents           (letter_id, idx) → blob_key, size
//	sessions            (resident_id, id), unique id
//	outbox              (resident_id, seq), due order (next_attempt) of pending ones
//	audit_entries       (idx) → encoded entry (store/auditlog)
//	audit_hashes        (idx) → the Merkle tree's stored hash
//	audit_size          the one row with the log's size
//	terms_versions      (version)
//	terms_acceptances   (resident_id)
//	terms_notices       (resident_id, version) → letter_id
//	retention           (resident_id)
//	preferences         (resident_id)
//	job_runs            (job)
//	support_requests    (resident_id, id), unique id, order (created, id)
//	sender_blocks       (resident_id) → the resident's blocks of senders
//	events              (sender_id, seq), order of time (at), for pruning
//	folders             (resident_id) → the resident's own folders
//	leases              (name) → holder, expires
//	limits              (key) → expires, value; order of expiry, for the sweep (since 2)
//	search_indexes      (resident_id) → version, the sealed search index (since 3)
//	callbacks           (sender_id) → the sender's callback and its delivery state (since 4)
//	callback_outbox     (sender_id, seq) → an event still to POST to it (since 4)
//	mailbox_counts      (resident_id, folder) → the folder's letters, unread letters and
//	                    letters with a due date, kept by Letters.Put and Delete (since 4)
//	print_queue         (id) → sender_id, sender_reference (unique together), queued_at and
//	                    wait_until (NULL unless queued, waiting), printed_at (NULL until
//	                    printed), the record (since 5)
//	replies             (id) → letter_id ('' for a message) and resident_id, each indexed with
//	                    created, the record (since 6)
//	delegations         (id) → grantor_id, delegate_id, created; order (grantor_id, created, id)
//	                    and (delegate_id, created, id) (since 7)
//	schema_version      the one row naming the schema's version
//
// The SQL is kept to what CockroachDB and YugabyteDB also accept: no
// extensions, no advisory locks, no triggers or stored procedures, no
// partial indexes; bytea, text, bigint, integer and timestamptz only; two
// sequences (outbox_seq, event_seq). Migrations are numbered like the embedded
// engine's schema: Open applies the ones a database lacks, in one
// transaction, and refuses a database whose schema is newer than the
// code.
//
// # Blobs
//
// A document's sealed content is an object in the bucket under
// documents/<letter id>/<index>-<16 random hex digits>, written before
// the transaction that attaches it (Documents.Put) commits. An object
// that no committed transaction attached (the delivery was refused, or
// the node died between the two) is deleted by its writer (Discard) or,
// failing that, by SweepBlobs after a grace period. Deleting a letter's
// documents deletes their objects once the transaction has committed; a
// node that dies in between leaves objects that SweepBlobs finds.
package cluster
