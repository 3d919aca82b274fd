package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/postkasse/postkasse/store/storage"
)

// migrations are the schema's steps; migrations[i] brings a database from
// version i to i+1. Never change one that has shipped: add another.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE meta (
	key   text PRIMARY KEY,
	value bytea NOT NULL
);
CREATE TABLE residents (
	id          text PRIMARY KEY,
	national_id text NOT NULL UNIQUE,
	version     bigint NOT NULL,
	record      bytea NOT NULL
);
CREATE TABLE senders (
	id         text PRIMARY KEY,
	org_number text NOT NULL,
	version    bigint NOT NULL,
	record     bytea NOT NULL
);
CREATE INDEX senders_by_org_number ON senders (org_number);
CREATE TABLE sender_certificates (
	fingerprint text PRIMARY KEY,
	sender_id   text NOT NULL
);
CREATE INDEX sender_certificates_by_sender ON sender_certificates (sender_id);
CREATE TABLE letters (
	resident_id      text NOT NULL,
	id               text NOT NULL,
	sender_id        text NOT NULL,
	sender_reference text NOT NULL,
	delivered_at     timestamptz NOT NULL,
	folder           text NOT NULL,
	record           bytea NOT NULL,
	PRIMARY KEY (resident_id, id)
);
CREATE INDEX letters_folder ON letters (resident_id, folder, delivered_at, id);
CREATE UNIQUE INDEX letters_by_id ON letters (id);
CREATE UNIQUE INDEX letters_by_reference ON letters (sender_id, sender_reference);
CREATE INDEX letters_mailbox ON letters (resident_id, delivered_at, id);
CREATE TABLE documents (
	letter_id text NOT NULL,
	idx       integer NOT NULL,
	blob_key  text NOT NULL UNIQUE,
	size      bigint NOT NULL,
	PRIMARY KEY (letter_id, idx)
);
CREATE TABLE sessions (
	resident_id text NOT NULL,
	id          bytea NOT NULL,
	record      bytea NOT NULL,
	PRIMARY KEY (resident_id, id)
);
CREATE UNIQUE INDEX sessions_by_id ON sessions (id);
CREATE SEQUENCE outbox_seq;
CREATE TABLE outbox (
	resident_id  text NOT NULL,
	seq          bigint NOT NULL,
	next_attempt timestamptz,
	record       bytea NOT NULL,
	PRIMARY KEY (resident_id, seq)
);
CREATE INDEX outbox_due ON outbox (next_attempt, resident_id, seq);
CREATE TABLE audit_entries (
	idx     bigint PRIMARY KEY,
	encoded bytea NOT NULL
);
CREATE TABLE audit_hashes (
	idx  bigint PRIMARY KEY,
	hash bytea NOT NULL
);
CREATE TABLE audit_size (
	one  integer PRIMARY KEY,
	size bigint NOT NULL
);
INSERT INTO audit_size (one, size) VALUES (1, 0);
CREATE TABLE terms_versions (
	version integer PRIMARY KEY,
	record  bytea NOT NULL
);
CREATE TABLE terms_acceptances (
	resident_id text PRIMARY KEY,
	record      bytea NOT NULL
);
CREATE TABLE terms_notices (
	resident_id text NOT NULL,
	version     integer NOT NULL,
	letter_id   text NOT NULL,
	PRIMARY KEY (resident_id, version)
);
CREATE TABLE retention (
	resident_id text PRIMARY KEY,
	record      bytea NOT NULL
);
CREATE TABLE preferences (
	resident_id text PRIMARY KEY,
	record      bytea NOT NULL
);
CREATE TABLE job_runs (
	job    text PRIMARY KEY,
	record bytea NOT NULL
);
CREATE TABLE support_requests (
	resident_id text NOT NULL,
	id          text NOT NULL,
	created     timestamptz NOT NULL,
	record      bytea NOT NULL,
	PRIMARY KEY (resident_id, id)
);
CREATE UNIQUE INDEX support_requests_by_id ON support_requests (id);
CREATE INDEX support_requests_by_created ON support_requests (created, id);
CREATE TABLE sender_blocks (
	resident_id text PRIMARY KEY,
	record      bytea NOT NULL
);
CREATE SEQUENCE event_seq;
CREATE TABLE events (
	sender_id text NOT NULL,
	seq       bigint NOT NULL,
	at        timestamptz NOT NULL,
	record    bytea NOT NULL,
	PRIMARY KEY (sender_id, seq)
);
CREATE INDEX events_by_time ON events (at);
CREATE TABLE folders (
	resident_id text PRIMARY KEY,
	record      bytea NOT NULL
);
CREATE TABLE leases (
	name    text PRIMARY KEY,
	holder  text NOT NULL,
	expires timestamptz NOT NULL
);
`,
	// 2: the limits the nodes share (the login throttle, the senders'
	// rate limits), with their order of expiry for the sweep.
	`
CREATE TABLE limits (
	key     text PRIMARY KEY,
	expires timestamptz NOT NULL,
	value   bytea NOT NULL
);
CREATE INDEX limits_by_expiry ON limits (expires);
`,
	// 3: the unread letters of each folder, for the navigation's counts,
	// the due dates to act on (the columns are set from
	// storage.Letter.Unread and Due by every Put, and for the letters
	// there were by the step's fix-up, backfillLetterIndexes), and the
	// tombstones that deleting a letter leaves (storage.Letter's Deleted;
	// NULL while the letter lives): out of the mailbox and its folders,
	// found by resident; residents' sealed search indexes (package
	// store seals them; the version, in clear, changes at every
	// replacement); and the sessions' order of expiry (absolute, and by
	// the last request), for the hourly sweep, set from their records by
	// the fix-up backfillSessionTimes.
	`
ALTER TABLE letters ADD COLUMN unread boolean NOT NULL DEFAULT false;
ALTER TABLE letters ADD COLUMN due text;
ALTER TABLE letters ADD COLUMN deleted_at timestamptz;
CREATE INDEX letters_unread ON letters (resident_id, folder) WHERE unread;
CREATE INDEX letters_due ON letters (resident_id, due, id) WHERE due IS NOT NULL;
CREATE INDEX letters_tombstones ON letters (resident_id, deleted_at);
CREATE TABLE search_indexes (
	resident_id text PRIMARY KEY,
	version     bigint NOT NULL,
	sealed      bytea NOT NULL
);
ALTER TABLE sessions ADD COLUMN expires timestamptz;
ALTER TABLE sessions ADD COLUMN last_seen timestamptz;
CREATE INDEX sessions_by_expiry ON sessions (expires);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen);
`,
	// 4: senders' callbacks, and their outbox of events still to be
	// POSTed (copies of the feed's events, in order of seq).
	// And the counts of each resident's folders (the letters, the unread
	// letters, and the letters with a due date to act on), so that the
	// navigation reads them instead of counting. Letters.Put and Delete
	// keep them in their transaction, by the columns the counts stand for
	// (deleted_at IS NULL, unread, due IS NOT NULL); a row is kept while
	// a count is above zero. The counts of the letters there are are made
	// from their rows.
	// And the scheduled letters (storage.Letter's ReleaseAt; NULL once
	// released or never scheduled): out of the mailbox and its folders,
	// found by release time for the release job. No fix-up: no letter
	// was scheduled before.
	`
CREATE TABLE callbacks (
	sender_id text PRIMARY KEY,
	record    bytea NOT NULL
);
CREATE TABLE callback_outbox (
	sender_id text NOT NULL,
	seq       bigint NOT NULL,
	record    bytea NOT NULL,
	PRIMARY KEY (sender_id, seq)
);
CREATE TABLE mailbox_counts (
	resident_id text NOT NULL,
	folder      text NOT NULL,
	letters     bigint NOT NULL,
	unread      bigint NOT NULL,
	due         bigint NOT NULL,
	PRIMARY KEY (resident_id, folder)
);
INSERT INTO mailbox_counts (resident_id, folder, letters, unread, due)
	SELECT resident_id, folder, count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE unread),
		count(*) FILTER (WHERE due IS NOT NULL)
	FROM letters GROUP BY resident_id, folder
	HAVING count(*) FILTER (WHERE deleted_at IS NULL OR unread OR due IS NOT NULL) > 0;
ALTER TABLE letters ADD COLUMN release_at timestamptz;
CREATE INDEX letters_scheduled ON letters (release_at, id) WHERE release_at IS NOT NULL;
`,
	// 5: the print queue (storage.PrintLetter): unique by sender and
	// reference, found in the order queued while not printed, and by the
	// time a letter waits until (NULL unless it waits). No fix-up: no
	// letter was queued for print before.
	`
CREATE TABLE print_queue (
	id               text PRIMARY KEY,
	sender_id        text NOT NULL,
	sender_reference text NOT NULL,
	queued_at        timestamptz,
	wait_until       timestamptz,
	printed_at       timestamptz,
	record           bytea NOT NULL,
	UNIQUE (sender_id, sender_reference)
);
CREATE INDEX print_queue_by_queued ON print_queue (queued_at, id);
CREATE INDEX print_queue_by_wait ON print_queue (wait_until, id);
`,
	// 6: residents' sealed replies to letters and messages to senders
	// (storage.Reply; a message's letter_id is ''), found by letter and
	// by resident in the order written. No fix-up: nobody replied before.
	`
CREATE TABLE replies (
	id          text PRIMARY KEY,
	letter_id   text NOT NULL,
	resident_id text NOT NULL,
	created     timestamptz NOT NULL,
	record      bytea NOT NULL
);
CREATE INDEX replies_by_letter ON replies (letter_id, created, id);
CREATE INDEX replies_by_resident ON replies (resident_id, created, id);
`,
	// 7: residents' grants of access to their mailboxes
	// (storage.Delegation), found by grantor and by delegate. No fix-up:
	// no grant was made before. (A letter's wrappings to delegates are a
	// field of its record.)
	`
CREATE TABLE delegations (
	id          text PRIMARY KEY,
	grantor_id  text NOT NULL,
	delegate_id text NOT NULL,
	created     timestamptz NOT NULL,
	record      bytea NOT NULL
);
CREATE INDEX delegations_by_grantor ON delegations (grantor_id, created, id);
CREATE INDEX delegations_by_delegate ON delegations (delegate_id, created, id);
`,
}

// fixups are what a step needs done in Go after its SQL, in the same
// transaction: keyed by the version the step brings the database to.
// They keep a rule in its one home (package storage) rather than copy it
// into SQL.
var fixups = map[int]func(ctx context.Context, tx pgx.Tx) error{
	3: func(ctx context.Context, tx pgx.Tx) error {
		if err := backfillLetterIndexes(ctx, tx); err != nil {
			return err
		}
		return backfillSessionTimes(ctx, tx)
	},
}

// backfillSessionTimes sets the expires and last_seen columns of the
// sessions there were before schema 3 from their records, and then makes
// them required. A record that does not decode opens nothing (Check
// reports it): it is given the zero time, so the next sweep deletes it.
func backfillSessionTimes(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, record FROM sessions`)
	if err != nil {
		return err
	}
	var ids [][]byte
	var expires, lastSeen []time.Time
	for rows.Next() {
		var id, b []byte
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return err
		}
		var s storage.Session
		if json.Unmarshal(b, &s) != nil {
			s = storage.Session{}
		}
		ids, expires, lastSeen = append(ids, id), append(expires, s.Expires), append(lastSeen, s.LastSeen)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE sessions SET expires = t.expires, last_seen = t.last_seen
		FROM unnest($1::bytea[], $2::timestamptz[], $3::timestamptz[]) AS t(id, expires, last_seen) WHERE sessions.id = t.id`,
		ids, expires, lastSeen); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `ALTER TABLE sessions ALTER COLUMN expires SET NOT NULL, ALTER COLUMN last_seen SET NOT NULL`)
	return err
}

// backfillLetterIndexes sets the unread and due columns of the letters
// there were before schema 3, by storage.Letter.Unread and Due.
func backfillLetterIndexes(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, record FROM letters`)
	if err != nil {
		return err
	}
	var unread, dueIDs, dues []string
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return err
		}
		var l storage.Letter
		if err := json.Unmarshal(b, &l); err != nil {
			rows.Close()
			return fmt.Errorf("decode letter %s: %w", id, err)
		}
		if l.Unread() {
			unread = append(unread, id)
		}
		if d := l.Due(); d != "" {
			dueIDs, dues = append(dueIDs, id), append(dues, d)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE letters SET unread = true WHERE id = ANY($1)`, unread); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE letters SET due = d.due FROM unnest($1::text[], $2::text[]) AS d(id, due) WHERE letters.id = d.id`, dueIDs, dues)
	return err
}

// SchemaVersion is the version of the schema this code writes.
func SchemaVersion() int { return len(migrations) }

// ErrSchemaNewer: the database was brought to a newer schema by newer
// code; this code must not write to it.
var ErrSchemaNewer = errors.New("the database's schema is newer than this code's")

// migrate brings the database up to SchemaVersion, each step in one
// transaction with its version row, so a crash leaves a whole step or
// none. Two nodes starting at once: one wins each step; the other's
// transaction fails on the version row's key and it reads again.
func (e *Engine) migrate(ctx context.Context) error {
	// Each step is won here or lost to another node once (then read
	// again): two tries a step, and the table's creation.
	for range 2*SchemaVersion() + 2 {
		// Nodes creating the table at once may meet on the catalogue's
		// own keys, even with IF NOT EXISTS: the loser tries again.
		if _, err := e.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY)`); err != nil {
			if isMigrationRace(err) {
				continue
			}
			return fmt.Errorf("database: create schema_version: %s", describePgError(err))
		}
		v, err := e.schemaVersion(ctx)
		if err != nil {
			return err
		}
		if v > SchemaVersion() {
			return fmt.Errorf("database: %w (%d, this code knows %d): run the newer postkasse, or restore a backup from before the upgrade", ErrSchemaNewer, v, SchemaVersion())
		}
		if v == SchemaVersion() {
			return nil
		}
		err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return err
			}
			if fix := fixups[v+1]; fix != nil {
				if err := fix(ctx, tx); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM schema_version`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, v+1)
			return err
		})
		if err != nil {
			if retryable(err) || isMigrationRace(err) {
				continue // another node migrated at the same time
			}
			return fmt.Errorf("database: upgrade the schema from %d to %d: %s", v, v+1, describePgError(err))
		}
		e.upgraded = append(e.upgraded, fmt.Sprintf("schema %d to %d", v, v+1))
	}
	v, err := e.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if v != SchemaVersion() {
		return fmt.Errorf("database: the schema is at %d after upgrading, want %d", v, SchemaVersion())
	}
	return nil
}

// Upgraded says what Open's schema upgrade did, one line a step; none
// when the database was up to date (or another node upgraded it).
func (e *Engine) Upgraded() []string { return e.upgraded }

// checkSchema checks, without changing anything, that the database's
// schema is this code's.
func (e *Engine) checkSchema(ctx context.Context) error {
	var exists bool
	if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version' AND table_schema = current_schema())`).Scan(&exists); err != nil {
		return fmt.Errorf("database: %s", describePgError(err))
	}
	if !exists {
		return errors.New("database: it holds no Postkasse schema (is it the right database?)")
	}
	v, err := e.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > SchemaVersion() {
		return fmt.Errorf("database: %w (%d, this code knows %d): run the newer postkasse", ErrSchemaNewer, v, SchemaVersion())
	}
	if v != SchemaVersion() {
		return fmt.Errorf("database: the schema is at %d, this code reads %d: start a node of this version once to upgrade it", v, SchemaVersion())
	}
	return nil
}

// schemaVersion reads the database's schema version (0 for a new one).
func (e *Engine) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := e.pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("database: read the schema version: %s", describePgError(err))
	}
	return v, nil
}

// isMigrationRace says whether err is what a node meets when another
// created the same table, column or version row at the same time:
// unique_violation, duplicate_table, duplicate_object, and
// duplicate_column (an ALTER TABLE waits for the other node's, then finds
// its column there).
func isMigrationRace(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07" || pgErr.Code == "42710" || pgErr.Code == "42701")
}
