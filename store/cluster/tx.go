package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/store/storage"
)

// tx is one transaction; its accessors run their statements on it.
type tx struct {
	ctx      context.Context
	tx       pgx.Tx
	e        *Engine
	writable bool
	// deletedBlobs are the objects of documents deleted in this
	// transaction: removed from the bucket once it has committed.
	deletedBlobs []string
}

func (t *tx) Meta() storage.Meta               { return metaTx{t} }
func (t *tx) Residents() storage.Residents     { return residentsTx{t} }
func (t *tx) Senders() storage.Senders         { return sendersTx{t} }
func (t *tx) Letters() storage.Letters         { return lettersTx{t} }
func (t *tx) Documents() storage.Documents     { return documentsTx{t} }
func (t *tx) Sessions() storage.Sessions       { return sessionsTx{t} }
func (t *tx) Outbox() storage.Outbox           { return outboxTx{t} }
func (t *tx) Audit() storage.Audit             { return auditTx{t} }
func (t *tx) Terms() storage.Terms             { return termsTx{t} }
func (t *tx) Retention() storage.Retention     { return retentionTx{t} }
func (t *tx) Preferences() storage.Preferences { return preferencesTx{t} }
func (t *tx) JobRuns() storage.JobRuns         { return jobRunsTx{t} }
func (t *tx) Leases() storage.Leases           { return leasesTx{t} }
func (t *tx) Limits() storage.Limits           { return limitsTx{t} }
func (t *tx) Support() storage.Support         { return supportTx{t} }
func (t *tx) SenderBlocks() storage.SenderBlocks {
	return residentLists[storage.SenderBlock]{t, "sender_blocks"}
}
func (t *tx) Events() storage.Events { return eventsTx{t} }
func (t *tx) Callbacks() storage.Callbacks {
	return callbacksTx{t}
}
func (t *tx) Print() storage.Print             { return printTx{t} }
func (t *tx) Replies() storage.Replies         { return repliesTx{t} }
func (t *tx) Folders() storage.Folders         { return residentLists[storage.Folder]{t, "folders"} }
func (t *tx) Delegations() storage.Delegations { return delegationsTx{t} }
func (t *tx) SearchIndexes() storage.SearchIndexes {
	return searchIndexesTx{t}
}

// exec runs a statement that changes something.
func (t *tx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	if !t.writable {
		return pgconn.CommandTag{}, errors.New("cluster: a change in a read-only transaction")
	}
	return t.tx.Exec(t.ctx, sql, args...)
}

// get reads one record column into v; storage.ErrNotFound when no row.
func (t *tx) get(v any, what, sql string, args ...any) error {
	var b []byte
	err := t.tx.QueryRow(t.ctx, sql, args...).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: decode: %w", what, err)
	}
	return nil
}

// each calls fn for every record column of a query's rows, decoded into a
// new T, until fn returns an error or false (as stop).
func each[T any](t *tx, what string, fn func(*T) (bool, error), sql string, args ...any) error {
	rows, err := t.tx.Query(t.ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	// Read every row first: fn may run statements of its own on the
	// transaction, which pgx allows only once the rows are closed.
	var all [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return fmt.Errorf("%s: %w", what, err)
		}
		all = append(all, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, b := range all {
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("%s: decode: %w", what, err)
		}
		more, err := fn(v)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// strings reads a query's single text column.
func (t *tx) strings(what, sql string, args ...any) ([]string, error) {
	rows, err := t.tx.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func encode(v any) ([]byte, error) { return json.Marshal(v) }

// stamp makes a Stamp value from a record's id and version.
func stamp(id string, version int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(id), uint64(version))
}

type metaTx struct{ t *tx }

func (m metaTx) Get(key string) ([]byte, error) {
	var v []byte
	err := m.t.tx.QueryRow(m.t.ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("meta %s: %w", key, storage.ErrNotFound)
	}
	return v, err
}

func (m metaTx) Put(key string, value []byte) error {
	_, err := m.t.exec(`INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func (m metaTx) All(fn func(key string, value []byte) error) error {
	return keyed(m.t, `SELECT key, value FROM meta ORDER BY key`, fn)
}

// keyed reads every row of sql, a key and a value, and then calls fn
// with each: fn may run statements of its own on the transaction, which
// pgx allows only once the rows are closed.
func keyed[K any](t *tx, sql string, fn func(key K, value []byte) error) error {
	rows, err := t.tx.Query(t.ctx, sql)
	if err != nil {
		return err
	}
	type row struct {
		k K
		v []byte
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.k, &x.v)
	})
	if err != nil {
		return err
	}
	for _, x := range all {
		if err := fn(x.k, x.v); err != nil {
			return err
		}
	}
	return nil
}

type residentsTx struct{ t *tx }

func (r residentsTx) Get(id string) (*storage.Resident, error) {
	v := new(storage.Resident)
	return v, r.t.get(v, "resident "+id, `SELECT record FROM residents WHERE id = $1`, id)
}

func (r residentsTx) ByNationalID(number string) (*storage.Resident, error) {
	v := new(storage.Resident)
	return v, r.t.get(v, "resident by national id", `SELECT record FROM residents WHERE national_id = $1`, number)
}

func (r residentsTx) Put(v *storage.Resident) error {
	var other string
	err := r.t.tx.QueryRow(r.t.ctx, `SELECT id FROM residents WHERE national_id = $1 AND id <> $2`, v.NationalID, v.ID).Scan(&other)
	if err == nil {
		return fmt.Errorf("resident %s: national id already names resident %s", v.ID, other)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	b, err := encode(v)
	if err != nil {
		return err
	}
	_, err = r.t.exec(`INSERT INTO residents (id, national_id, version, record) VALUES ($1, $2, 1, $3)
		ON CONFLICT (id) DO UPDATE SET national_id = excluded.national_id, version = residents.version + 1, record = excluded.record`,
		v.ID, v.NationalID, b)
	return err
}

func (r residentsTx) Delete(id string) error {
	_, err := r.t.exec(`DELETE FROM residents WHERE id = $1`, id)
	return err
}

func (r residentsTx) All(fn func(*storage.Resident) error) error {
	return each(r.t, "residents", func(v *storage.Resident) (bool, error) { return true, fn(v) },
		`SELECT record FROM residents ORDER BY national_id`)
}

func (r residentsTx) Stamp(nationalID string) []byte {
	var id string
	var version int64
	if err := r.t.tx.QueryRow(r.t.ctx, `SELECT id, version FROM residents WHERE national_id = $1`, nationalID).Scan(&id, &version); err != nil {
		return nil
	}
	return stamp(id, version)
}

type sendersTx struct{ t *tx }

func (s sendersTx) Get(id string) (*storage.Sender, error) {
	v := new(storage.Sender)
	return v, s.t.get(v, "sender "+id, `SELECT record FROM senders WHERE id = $1`, id)
}

func (s sendersTx) ByCertificate(fingerprint string) (*storage.Sender, error) {
	v := new(storage.Sender)
	return v, s.t.get(v, "sender by certificate "+fingerprint,
		`SELECT s.record FROM sender_certificates c JOIN senders s ON s.id = c.sender_id WHERE c.fingerprint = $1`, fingerprint)
}

func (s sendersTx) Put(v *storage.Sender) error {
	for _, c := range v.Certificates {
		var other string
		err := s.t.tx.QueryRow(s.t.ctx, `SELECT sender_id FROM sender_certificates WHERE fingerprint = $1 AND sender_id <> $2`,
			c.Fingerprint, v.ID).Scan(&other)
		if err == nil {
			return fmt.Errorf("sender %s: certificate %s is bound to sender %s", v.ID, c.Fingerprint, other)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	b, err := encode(v)
	if err != nil {
		return err
	}
	if _, err := s.t.exec(`INSERT INTO senders (id, org_number, version, record) VALUES ($1, $2, 1, $3)
		ON CONFLICT (id) DO UPDATE SET org_number = excluded.org_number, version = senders.version + 1, record = excluded.record`,
		v.ID, v.OrgNumber, b); err != nil {
		return err
	}
	if _, err := s.t.exec(`DELETE FROM sender_certificates WHERE sender_id = $1`, v.ID); err != nil {
		return err
	}
	for _, c := range v.Certificates {
		if _, err := s.t.exec(`INSERT INTO sender_certificates (fingerprint, sender_id) VALUES ($1, $2)`, c.Fingerprint, v.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s sendersTx) All(fn func(*storage.Sender) error) error {
	return each(s.t, "senders", func(v *storage.Sender) (bool, error) { return true, fn(v) }, `SELECT record FROM senders ORDER BY id`)
}

func (s sendersTx) Stamp(id string) []byte {
	var version int64
	if err := s.t.tx.QueryRow(s.t.ctx, `SELECT version FROM senders WHERE id = $1`, id).Scan(&version); err != nil {
		return nil
	}
	return stamp(id, version)
}

type lettersTx struct{ t *tx }

func (l lettersTx) Get(id string) (*storage.Letter, error) {
	v := new(storage.Letter)
	return v, l.t.get(v, "letter "+id, `SELECT record FROM letters WHERE id = $1`, id)
}

// Listed is Get's letter with only its listing's fields: the record is
// one JSON column either way.
func (l lettersTx) Listed(id string) (*storage.Letter, error) {
	v, err := l.Get(id)
	if err != nil {
		return nil, err
	}
	return v.ListingFields(), nil
}

func (l lettersTx) ByReference(senderID, reference string) (string, error) {
	var id string
	err := l.t.tx.QueryRow(l.t.ctx, `SELECT id FROM letters WHERE sender_id = $1 AND sender_reference = $2`, senderID, reference).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("reference: %w", storage.ErrNotFound)
	}
	return id, err
}

func (l lettersTx) Put(v *storage.Letter) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	var due *string
	if d := v.Due(); d != "" {
		due = &d
	}
	// The counts the row stood for, to move them to the new row's.
	var was counted
	err = l.t.tx.QueryRow(l.t.ctx, `SELECT resident_id, folder, deleted_at IS NULL AND release_at IS NULL, unread, due IS NOT NULL FROM letters WHERE id = $1`, v.ID).
		Scan(&was.resident, &was.folder, &was.live, &was.unread, &was.due)
	if errors.Is(err, pgx.ErrNoRows) {
		was = counted{}
	} else if err != nil {
		return err
	}
	_, err = l.t.exec(`INSERT INTO letters (resident_id, id, sender_id, sender_reference, delivered_at, folder, unread, due, deleted_at, release_at, record)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (resident_id, id) DO UPDATE SET sender_id = excluded.sender_id, sender_reference = excluded.sender_reference,
			delivered_at = excluded.delivered_at, folder = excluded.folder, unread = excluded.unread, due = excluded.due,
			deleted_at = excluded.deleted_at, release_at = excluded.release_at, record = excluded.record`,
		v.ResidentID, v.ID, v.SenderID, v.SenderReference, v.DeliveredAt, v.Folder, v.Unread(), due, deletedAt(v), releaseAt(v), b)
	if err != nil {
		return err
	}
	is := counted{resident: v.ResidentID, folder: v.Folder, live: v.InMailbox(), unread: v.Unread(), due: due != nil}
	return l.recount(was, is)
}

// counted is what a letter's row adds to the counts of its resident's
// folder (mailbox_counts): one letter while it is in the mailbox (not
// deleted, not scheduled), one unread, one
// due. The zero value counts nothing.
type counted struct {
	resident, folder  string
	live, unread, due bool
}

// recount moves a row's counts from what it was to what it is, in the
// transaction that changed the row.
func (l lettersTx) recount(was, is counted) error {
	n := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	if was.resident == is.resident && was.folder == is.folder {
		return l.count(is, n(is.live)-n(was.live), n(is.unread)-n(was.unread), n(is.due)-n(was.due))
	}
	if err := l.count(was, -n(was.live), -n(was.unread), -n(was.due)); err != nil {
		return err
	}
	return l.count(is, n(is.live), n(is.unread), n(is.due))
}

// count adds to the counts of c's folder; a row whose counts are all
// zero is deleted.
func (l lettersTx) count(c counted, letters, unread, due int64) error {
	if letters == 0 && unread == 0 && due == 0 {
		return nil
	}
	if _, err := l.t.exec(`INSERT INTO mailbox_counts AS c (resident_id, folder, letters, unread, due) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (resident_id, folder) DO UPDATE SET letters = c.letters + excluded.letters, unread = c.unread + excluded.unread,
			due = c.due + excluded.due`, c.resident, c.folder, letters, unread, due); err != nil {
		return err
	}
	if letters >= 0 && unread >= 0 && due >= 0 {
		return nil
	}
	_, err := l.t.exec(`DELETE FROM mailbox_counts WHERE resident_id = $1 AND folder = $2 AND letters <= 0 AND unread <= 0 AND due <= 0`,
		c.resident, c.folder)
	return err
}

// releaseAt is the release_at column of a letter: when a scheduled letter
// is released, or NULL.
func releaseAt(v *storage.Letter) *time.Time {
	if !v.IsScheduled() {
		return nil
	}
	return &v.ReleaseAt
}

func (l lettersTx) Scheduled(until time.Time, fn func(letterID, residentID string, releaseAt time.Time) (bool, error)) error {
	rows, err := l.t.tx.Query(l.t.ctx, `SELECT id, resident_id, release_at FROM letters WHERE release_at IS NOT NULL AND release_at <= $1
		ORDER BY release_at, id`, until)
	if err != nil {
		return err
	}
	type row struct {
		ID, Resident string
		At           time.Time
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return err
	}
	for _, r := range all {
		if more, err := fn(r.ID, r.Resident, r.At.UTC()); err != nil || !more {
			return err
		}
	}
	return nil
}

// deletedAt is the deleted_at column of a letter: when it was deleted, or
// NULL while it lives.
func deletedAt(v *storage.Letter) *time.Time {
	if !v.IsTombstone() {
		return nil
	}
	return &v.Deleted
}

func (l lettersTx) Delete(v *storage.Letter) error {
	var was counted
	err := l.t.tx.QueryRow(l.t.ctx, `DELETE FROM letters WHERE id = $1 RETURNING resident_id, folder, deleted_at IS NULL AND release_at IS NULL, unread, due IS NOT NULL`, v.ID).
		Scan(&was.resident, &was.folder, &was.live, &was.unread, &was.due)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return l.recount(was, counted{})
}

// A mailbox cursor is the delivery time (Unix microseconds) and id of the
// last letter of a page.
func mailboxCursor(at time.Time, id string) string {
	return strconv.FormatInt(at.UnixMicro(), 10) + "." + id
}

func parseMailboxCursor(c string) (time.Time, string, error) {
	us, id, ok := strings.Cut(c, ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil {
		return time.Time{}, "", fmt.Errorf("mailbox cursor %q: malformed", c)
	}
	return time.UnixMicro(n).UTC(), id, nil
}

func (l lettersTx) Mailbox(residentID string, after string, limit int) ([]storage.MailboxEntry, string, error) {
	return l.page(residentID, nil, after, limit)
}

func (l lettersTx) Folder(residentID, folder, after string, limit int) ([]storage.MailboxEntry, string, error) {
	return l.page(residentID, &folder, after, limit)
}

// FolderCount, FolderUnread and DueCount read the counts that Put and
// Delete keep (schema 4).
func (l lettersTx) FolderCount(residentID, folder string) (int, error) {
	var n int
	err := l.t.tx.QueryRow(l.t.ctx, `SELECT COALESCE(sum(letters), 0) FROM mailbox_counts WHERE resident_id = $1 AND folder = $2`, residentID, folder).Scan(&n)
	return n, err
}

func (l lettersTx) FolderUnread(residentID, folder string) (int, error) {
	var n int
	err := l.t.tx.QueryRow(l.t.ctx, `SELECT COALESCE(sum(unread), 0) FROM mailbox_counts WHERE resident_id = $1 AND folder = $2`, residentID, folder).Scan(&n)
	return n, err
}

// Due pages by (due, id); a cursor is the last line's "due.id".
func (l lettersTx) Due(residentID, after string, limit int) ([]storage.DueEntry, string, error) {
	var rows pgx.Rows
	var err error
	if after == "" {
		rows, err = l.t.tx.Query(l.t.ctx, `SELECT id, due FROM letters WHERE resident_id = $1 AND due IS NOT NULL
			ORDER BY due, id LIMIT $2`, residentID, limit+1)
	} else {
		due, id, ok := strings.Cut(after, ".")
		if !ok || len(due) != len("2006-01-02") || id == "" {
			return nil, "", fmt.Errorf("due cursor %q: %w", after, storage.ErrNotFound)
		}
		rows, err = l.t.tx.Query(l.t.ctx, `SELECT id, due FROM letters WHERE resident_id = $1 AND due IS NOT NULL
			AND (due, id) > ($2, $3) ORDER BY due, id LIMIT $4`, residentID, due, id, limit+1)
	}
	if err != nil {
		return nil, "", err
	}
	page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.DueEntry, error) {
		var d storage.DueEntry
		err := r.Scan(&d.LetterID, &d.Due)
		return d, err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		last := page[len(page)-1]
		next = last.Due + "." + last.LetterID
	}
	return page, next, nil
}

func (l lettersTx) DueCount(residentID string) (int, error) {
	var n int
	err := l.t.tx.QueryRow(l.t.ctx, `SELECT COALESCE(sum(due), 0) FROM mailbox_counts WHERE resident_id = $1`, residentID).Scan(&n)
	return n, err
}

// page returns a page of a resident's mailbox, or of one folder of it,
// newest first. A folder's cursor names the folder, so that it is not
// taken for another's.
func (l lettersTx) page(residentID string, folder *string, after string, limit int) ([]storage.MailboxEntry, string, error) {
	var rows pgx.Rows
	var err error
	scope, cursorFolder := " AND deleted_at IS NULL AND release_at IS NULL", ""
	if folder != nil {
		scope, cursorFolder = " AND folder = $2 AND deleted_at IS NULL AND release_at IS NULL", "folder:"+*folder+"/"
	}
	args := []any{residentID}
	if folder != nil {
		args = append(args, *folder)
	}
	if after == "" {
		args = append(args, limit+1)
		rows, err = l.t.tx.Query(l.t.ctx, `SELECT id, delivered_at FROM letters WHERE resident_id = $1`+scope+
			fmt.Sprintf(` ORDER BY delivered_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	} else {
		rest, ok := strings.CutPrefix(after, cursorFolder)
		if folder == nil && strings.HasPrefix(after, "folder:") {
			ok = false
		}
		at, id, perr := parseMailboxCursor(rest)
		if !ok || perr != nil {
			return nil, "", fmt.Errorf("mailbox cursor %q: %w", after, storage.ErrNotFound)
		}
		args = append(args, at, id, limit+1)
		n := len(args)
		rows, err = l.t.tx.Query(l.t.ctx, `SELECT id, delivered_at FROM letters WHERE resident_id = $1`+scope+
			fmt.Sprintf(` AND (delivered_at, id) < ($%d, $%d) ORDER BY delivered_at DESC, id DESC LIMIT $%d`, n-2, n-1, n), args...)
	}
	if err != nil {
		return nil, "", err
	}
	page, err := collectMailbox(rows)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		last := page[len(page)-1]
		next = cursorFolder + mailboxCursor(last.DeliveredAt, last.LetterID)
	}
	return page, next, nil
}

func collectMailbox(rows pgx.Rows) ([]storage.MailboxEntry, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.MailboxEntry, error) {
		var m storage.MailboxEntry
		err := r.Scan(&m.LetterID, &m.DeliveredAt)
		m.DeliveredAt = m.DeliveredAt.UTC()
		return m, err
	})
}

func (l lettersTx) MailboxAll(residentID string, fn func(storage.MailboxEntry) error) error {
	rows, err := l.t.tx.Query(l.t.ctx, `SELECT id, delivered_at FROM letters WHERE resident_id = $1 AND deleted_at IS NULL AND release_at IS NULL ORDER BY delivered_at, id`, residentID)
	if err != nil {
		return err
	}
	all, err := collectMailbox(rows)
	if err != nil {
		return err
	}
	for _, m := range all {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

func (l lettersTx) Tombstones(residentID string, fn func(letterID string) error) error {
	ids, err := l.t.strings("tombstones", `SELECT id FROM letters WHERE resident_id = $1 AND deleted_at IS NOT NULL ORDER BY id`, residentID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func (l lettersTx) All(fn func(*storage.Letter) error) error {
	return each(l.t, "letters", func(v *storage.Letter) (bool, error) { return true, fn(v) }, `SELECT record FROM letters ORDER BY id`)
}

type documentsTx struct{ t *tx }

func (d documentsTx) Put(letterID string, blobs []storage.Blob) error {
	for i, b := range blobs {
		if _, err := d.t.exec(`INSERT INTO documents (letter_id, idx, blob_key, size) VALUES ($1, $2, $3, $4)`,
			letterID, i, b.Key(), b.Size()); err != nil {
			return err
		}
	}
	return nil
}

func (d documentsTx) key(letterID string, index int) (string, error) {
	var key string
	err := d.t.tx.QueryRow(d.t.ctx, `SELECT blob_key FROM documents WHERE letter_id = $1 AND idx = $2`, letterID, index).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("document %s/%d: %w", letterID, index, storage.ErrNotFound)
	}
	return key, err
}

func (d documentsTx) Open(letterID string, index int) (io.ReadCloser, error) {
	key, err := d.key(letterID, index)
	if err != nil {
		return nil, err
	}
	return d.t.e.blobs.open(d.t.ctx, key)
}

func (d documentsTx) Has(letterID string, index int) (bool, error) {
	_, err := d.key(letterID, index)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (d documentsTx) Delete(letterID string, n int) error {
	rows, err := d.t.tx.Query(d.t.ctx, `DELETE FROM documents WHERE letter_id = $1 AND idx < $2 RETURNING blob_key`, letterID, n)
	if err != nil {
		return err
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	d.t.deletedBlobs = append(d.t.deletedBlobs, keys...)
	return nil
}

func (d documentsTx) Letters(fn func(letterID string) error) error {
	ids, err := d.t.strings("documents", `SELECT DISTINCT letter_id FROM documents ORDER BY letter_id`)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

type sessionsTx struct{ t *tx }

func (s sessionsTx) Get(id []byte) (*storage.Session, error) {
	v := new(storage.Session)
	return v, s.t.get(v, "session", `SELECT record FROM sessions WHERE id = $1`, id)
}

func (s sessionsTx) Put(id []byte, v *storage.Session) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	// A session never moves to another resident; its id is its key.
	_, err = s.t.exec(`INSERT INTO sessions (resident_id, id, expires, last_seen, record) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (resident_id, id) DO UPDATE SET expires = excluded.expires, last_seen = excluded.last_seen, record = excluded.record`,
		v.ResidentID, id, v.Expires, v.LastSeen, b)
	return err
}

func (s sessionsTx) DeleteExpired(expiresBy, seenBy time.Time, max int) (int, error) {
	tag, err := s.t.exec(`DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE expires <= $1 UNION SELECT id FROM sessions WHERE last_seen <= $2 LIMIT $3)`, expiresBy, seenBy, max)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

func (s sessionsTx) Delete(id []byte) error {
	_, err := s.t.exec(`DELETE FROM sessions WHERE id = $1`, id)
	return err
}

func (s sessionsTx) OfResident(residentID string) ([][]byte, error) {
	rows, err := s.t.tx.Query(s.t.ctx, `SELECT id FROM sessions WHERE resident_id = $1 ORDER BY id`, residentID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]byte])
}

func (s sessionsTx) All(fn func(id []byte, s *storage.Session) error) error {
	return keyed(s.t, `SELECT id, record FROM sessions ORDER BY id`, func(id, rec []byte) error {
		v := new(storage.Session)
		if json.Unmarshal(rec, v) != nil {
			return nil // opens nothing; Check reports it
		}
		return fn(id, v)
	})
}

type outboxTx struct{ t *tx }

// dueAt is the outbox_due column: the next attempt of a pending
// notification, NULL for others.
func dueAt(n *storage.Notification) *time.Time {
	if n.State != storage.NotificationPending {
		return nil
	}
	at := n.NextAttempt
	return &at
}

func (o outboxTx) Add(n *storage.Notification) error {
	if !o.t.writable {
		return errors.New("cluster: a change in a read-only transaction")
	}
	var seq int64
	if err := o.t.tx.QueryRow(o.t.ctx, `SELECT nextval('outbox_seq')`).Scan(&seq); err != nil {
		return err
	}
	n.Seq = uint64(seq)
	b, err := encode(n)
	if err != nil {
		return err
	}
	_, err = o.t.exec(`INSERT INTO outbox (resident_id, seq, next_attempt, record) VALUES ($1, $2, $3, $4)`,
		n.ResidentID, seq, dueAt(n), b)
	return err
}

func (o outboxTx) Get(residentID string, seq uint64) (*storage.Notification, error) {
	v := new(storage.Notification)
	return v, o.t.get(v, fmt.Sprintf("notification %s/%d", residentID, seq),
		`SELECT record FROM outbox WHERE resident_id = $1 AND seq = $2`, residentID, int64(seq))
}

func (o outboxTx) Put(n *storage.Notification) error {
	b, err := encode(n)
	if err != nil {
		return err
	}
	_, err = o.t.exec(`INSERT INTO outbox (resident_id, seq, next_attempt, record) VALUES ($1, $2, $3, $4)
		ON CONFLICT (resident_id, seq) DO UPDATE SET next_attempt = excluded.next_attempt, record = excluded.record`,
		n.ResidentID, int64(n.Seq), dueAt(n), b)
	if err != nil {
		return err
	}
	return o.t.advanceSequence("outbox_seq", n.Seq)
}

func (o outboxTx) Delete(n *storage.Notification) error {
	_, err := o.t.exec(`DELETE FROM outbox WHERE resident_id = $1 AND seq = $2`, n.ResidentID, int64(n.Seq))
	return err
}

func (o outboxTx) Due(now time.Time, fn func(*storage.Notification) bool) error {
	return each(o.t, "outbox due", func(v *storage.Notification) (bool, error) { return fn(v), nil },
		`SELECT record FROM outbox WHERE next_attempt IS NOT NULL AND next_attempt <= $1 ORDER BY next_attempt, resident_id, seq`, now)
}

func (o outboxTx) OfResident(residentID string) ([]*storage.Notification, error) {
	var out []*storage.Notification
	err := each(o.t, "outbox", func(v *storage.Notification) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM outbox WHERE resident_id = $1 ORDER BY seq`, residentID)
	return out, err
}

func (o outboxTx) All(fn func(*storage.Notification) bool) error {
	return each(o.t, "outbox", func(v *storage.Notification) (bool, error) { return fn(v), nil },
		`SELECT record FROM outbox ORDER BY resident_id, seq`)
}

type auditTx struct{ t *tx }

func (a auditTx) Size() (int64, error) {
	var size int64
	err := a.t.tx.QueryRow(a.t.ctx, `SELECT size FROM audit_size WHERE one = 1`).Scan(&size)
	return size, err
}

// PutEntry appends an entry. Two transactions appending at once both
// change audit_size's row: one of them fails its serialisation and runs
// again, so the log has no gaps and no forks.
func (a auditTx) PutEntry(index int64, encoded []byte) error {
	tag, err := a.t.exec(`UPDATE audit_size SET size = $1 + 1 WHERE one = 1 AND size = $1`, index)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("audit entry %d appended to a log of another size", index)
	}
	_, err = a.t.exec(`INSERT INTO audit_entries (idx, encoded) VALUES ($1, $2)`, index, encoded)
	return err
}

func (a auditTx) Entry(index int64) ([]byte, error) {
	var b []byte
	err := a.t.tx.QueryRow(a.t.ctx, `SELECT encoded FROM audit_entries WHERE idx = $1`, index).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("audit entry %d: %w", index, storage.ErrNotFound)
	}
	return b, err
}

func (a auditTx) Entries(fn func(index int64, encoded []byte) error) error {
	// In pages, so that a long log is not read into memory at once.
	next := int64(-1)
	for {
		rows, err := a.t.tx.Query(a.t.ctx, `SELECT idx, encoded FROM audit_entries WHERE idx > $1 ORDER BY idx LIMIT 1000`, next)
		if err != nil {
			return err
		}
		type row struct {
			Index   int64
			Encoded []byte
		}
		page, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r.Index, r.Encoded); err != nil {
				return err
			}
			next = r.Index
		}
		if len(page) < 1000 {
			return nil
		}
	}
}

func (a auditTx) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	rows, err := a.t.tx.Query(a.t.ctx, `SELECT idx, hash FROM audit_hashes WHERE idx = ANY($1)`, indexes)
	if err != nil {
		return nil, err
	}
	found := map[int64][]byte{}
	for rows.Next() {
		var i int64
		var h []byte
		if err := rows.Scan(&i, &h); err != nil {
			rows.Close()
			return nil, err
		}
		found[i] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h := found[x]
		if len(h) != len(out[i]) {
			return nil, fmt.Errorf("audit hash %d: %w", x, storage.ErrNotFound)
		}
		copy(out[i][:], h)
	}
	return out, nil
}

func (a auditTx) PutHashes(start int64, hashes []tlog.Hash) error {
	for i, h := range hashes {
		if _, err := a.t.exec(`INSERT INTO audit_hashes (idx, hash) VALUES ($1, $2)`, start+int64(i), h[:]); err != nil {
			return err
		}
	}
	return nil
}

type termsTx struct{ t *tx }

func (m termsTx) Get(version int) (*storage.TermsVersion, error) {
	v := new(storage.TermsVersion)
	return v, m.t.get(v, fmt.Sprintf("terms version %d", version), `SELECT record FROM terms_versions WHERE version = $1`, version)
}

func (m termsTx) Put(v *storage.TermsVersion) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	_, err = m.t.exec(`INSERT INTO terms_versions (version, record) VALUES ($1, $2)
		ON CONFLICT (version) DO UPDATE SET record = excluded.record`, v.Version, b)
	return err
}

func (m termsTx) All() ([]*storage.TermsVersion, error) {
	var out []*storage.TermsVersion
	err := each(m.t, "terms", func(v *storage.TermsVersion) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM terms_versions ORDER BY version`)
	return out, err
}

func (m termsTx) Acceptance(residentID string) (*storage.TermsAcceptance, error) {
	v := new(storage.TermsAcceptance)
	err := m.t.get(v, "terms acceptance", `SELECT record FROM terms_acceptances WHERE resident_id = $1`, residentID)
	if errors.Is(err, storage.ErrNotFound) {
		return v, nil
	}
	return v, err
}

func (m termsTx) PutAcceptance(residentID string, a *storage.TermsAcceptance) error {
	b, err := encode(a)
	if err != nil {
		return err
	}
	_, err = m.t.exec(`INSERT INTO terms_acceptances (resident_id, record) VALUES ($1, $2)
		ON CONFLICT (resident_id) DO UPDATE SET record = excluded.record`, residentID, b)
	return err
}

func (m termsTx) DeleteAcceptance(residentID string) error {
	_, err := m.t.exec(`DELETE FROM terms_acceptances WHERE resident_id = $1`, residentID)
	return err
}

func (m termsTx) Acceptances(fn func(residentID string, a *storage.TermsAcceptance) error) error {
	return keyed(m.t, `SELECT resident_id, record FROM terms_acceptances ORDER BY resident_id`, func(id string, rec []byte) error {
		a := new(storage.TermsAcceptance)
		if err := json.Unmarshal(rec, a); err != nil {
			return fmt.Errorf("terms acceptance of %s: %w", id, err)
		}
		return fn(id, a)
	})
}

func (m termsTx) Notice(version int, residentID string) (string, error) {
	var id string
	err := m.t.tx.QueryRow(m.t.ctx, `SELECT letter_id FROM terms_notices WHERE resident_id = $1 AND version = $2`, residentID, version).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("terms notice: %w", storage.ErrNotFound)
	}
	return id, err
}

func (m termsTx) PutNotice(version int, residentID, letterID string) error {
	_, err := m.t.exec(`INSERT INTO terms_notices (resident_id, version, letter_id) VALUES ($1, $2, $3)
		ON CONFLICT (resident_id, version) DO UPDATE SET letter_id = excluded.letter_id`, residentID, version, letterID)
	return err
}

func (m termsTx) DeleteNotices(residentID string) error {
	_, err := m.t.exec(`DELETE FROM terms_notices WHERE resident_id = $1`, residentID)
	return err
}

func (m termsTx) Notices(fn func(version int, residentID, letterID string) error) error {
	rows, err := m.t.tx.Query(m.t.ctx, `SELECT version, resident_id, letter_id FROM terms_notices ORDER BY version, resident_id`)
	if err != nil {
		return err
	}
	type row struct {
		v        int
		rid, lid string
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.v, &x.rid, &x.lid)
	})
	if err != nil {
		return err
	}
	for _, x := range all {
		if err := fn(x.v, x.rid, x.lid); err != nil {
			return err
		}
	}
	return nil
}

// residentLists is a table of one list a resident (their sender blocks,
// their folders): storage.SenderBlocks and storage.Folders. An empty list
// is no row.
type residentLists[T any] perResident[[]T]

func (l residentLists[T]) Get(residentID string) ([]T, error) {
	v, err := perResident[[]T](l).get(residentID)
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (l residentLists[T]) Put(residentID string, list []T) error {
	if len(list) == 0 {
		return perResident[[]T](l).delete(residentID)
	}
	return perResident[[]T](l).put(residentID, &list)
}

func (l residentLists[T]) All(fn func(residentID string, list []T) error) error {
	return perResident[[]T](l).all(func(id string, v *[]T) error { return fn(id, *v) })
}

// perResident is a table of one record per resident (retention,
// preferences), where none is the zero record.
type perResident[T any] struct {
	t     *tx
	table string
}

func (p perResident[T]) get(residentID string) (*T, error) {
	v := new(T)
	err := p.t.get(v, p.table+" of "+residentID, `SELECT record FROM `+p.table+` WHERE resident_id = $1`, residentID)
	if errors.Is(err, storage.ErrNotFound) {
		return v, nil
	}
	return v, err
}

func (p perResident[T]) put(residentID string, v *T) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	_, err = p.t.exec(`INSERT INTO `+p.table+` (resident_id, record) VALUES ($1, $2)
		ON CONFLICT (resident_id) DO UPDATE SET record = excluded.record`, residentID, b)
	return err
}

func (p perResident[T]) delete(residentID string) error {
	_, err := p.t.exec(`DELETE FROM `+p.table+` WHERE resident_id = $1`, residentID)
	return err
}

func (p perResident[T]) all(fn func(residentID string, v *T) error) error {
	return keyed(p.t, `SELECT resident_id, record FROM `+p.table+` ORDER BY resident_id`, func(id string, rec []byte) error {
		v := new(T)
		if err := json.Unmarshal(rec, v); err != nil {
			return fmt.Errorf("%s of %s: %w", p.table, id, err)
		}
		return fn(id, v)
	})
}

type retentionTx struct{ t *tx }

func (r retentionTx) p() perResident[storage.RetentionRecord] {
	return perResident[storage.RetentionRecord]{r.t, "retention"}
}

func (r retentionTx) Get(residentID string) (*storage.RetentionRecord, error) {
	return r.p().get(residentID)
}

func (r retentionTx) Put(residentID string, v *storage.RetentionRecord) error {
	if v.IsZero() {
		return r.p().delete(residentID)
	}
	return r.p().put(residentID, v)
}

func (r retentionTx) All(fn func(residentID string, v *storage.RetentionRecord) error) error {
	return r.p().all(fn)
}

type preferencesTx struct{ t *tx }

func (r preferencesTx) p() perResident[storage.PreferencesRecord] {
	return perResident[storage.PreferencesRecord]{r.t, "preferences"}
}

func (r preferencesTx) Get(residentID string) (*storage.PreferencesRecord, error) {
	return r.p().get(residentID)
}

func (r preferencesTx) Put(residentID string, v *storage.PreferencesRecord) error {
	return r.p().put(residentID, v)
}

func (r preferencesTx) Delete(residentID string) error { return r.p().delete(residentID) }

func (r preferencesTx) All(fn func(residentID string) error) error {
	return r.p().all(func(id string, _ *storage.PreferencesRecord) error { return fn(id) })
}

type jobRunsTx struct{ t *tx }

func (j jobRunsTx) Put(r *storage.JobRun) error {
	b, err := encode(r)
	if err != nil {
		return err
	}
	_, err = j.t.exec(`INSERT INTO job_runs (job, record) VALUES ($1, $2) ON CONFLICT (job) DO UPDATE SET record = excluded.record`, r.Job, b)
	return err
}

func (j jobRunsTx) All() ([]*storage.JobRun, error) {
	var out []*storage.JobRun
	err := each(j.t, "job runs", func(v *storage.JobRun) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM job_runs ORDER BY job`)
	return out, err
}

type leasesTx struct{ t *tx }

func (l leasesTx) Acquire(name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	tag, err := l.t.exec(`INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE leases.holder = excluded.holder OR leases.expires <= $4`, name, holder, now.Add(ttl), now)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func (l leasesTx) Release(name, holder string) error {
	_, err := l.t.exec(`DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
	return err
}

func (l leasesTx) Get(name string) (string, time.Time, error) {
	var holder string
	var expires time.Time
	err := l.t.tx.QueryRow(l.t.ctx, `SELECT holder, expires FROM leases WHERE name = $1`, name).Scan(&holder, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, fmt.Errorf("lease %s: %w", name, storage.ErrNotFound)
	}
	return holder, expires.UTC(), err
}

type limitsTx struct{ t *tx }

func (l limitsTx) Get(key string) (*storage.Limit, error) {
	v := &storage.Limit{Key: key}
	err := l.t.tx.QueryRow(l.t.ctx, `SELECT expires, value FROM limits WHERE key = $1`, key).Scan(&v.Expires, &v.Value)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("limit %s: %w", key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("limit %s: %w", key, err)
	}
	v.Expires = v.Expires.UTC()
	return v, nil
}

func (l limitsTx) Put(v *storage.Limit) error {
	value := v.Value
	if value == nil {
		value = []byte{} // pgx sends a nil slice as NULL
	}
	_, err := l.t.exec(`INSERT INTO limits (key, expires, value) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET expires = excluded.expires, value = excluded.value`, v.Key, v.Expires, value)
	return err
}

func (l limitsTx) Delete(key string) error {
	_, err := l.t.exec(`DELETE FROM limits WHERE key = $1`, key)
	return err
}

func (l limitsTx) DeleteExpired(before time.Time, max int) (int, error) {
	tag, err := l.t.exec(`DELETE FROM limits WHERE key IN
		(SELECT key FROM limits WHERE expires < $1 ORDER BY expires LIMIT $2)`, before, max)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

type supportTx struct{ t *tx }

func (s supportTx) Get(id string) (*storage.SupportRequest, error) {
	v := new(storage.SupportRequest)
	return v, s.t.get(v, "support request "+id, `SELECT record FROM support_requests WHERE id = $1`, id)
}

func (s supportTx) Put(r *storage.SupportRequest) error {
	b, err := encode(r)
	if err != nil {
		return err
	}
	_, err = s.t.exec(`INSERT INTO support_requests (resident_id, id, created, record) VALUES ($1, $2, $3, $4)
		ON CONFLICT (resident_id, id) DO UPDATE SET created = excluded.created, record = excluded.record`,
		r.ResidentID, r.ID, r.Created, b)
	return err
}

func (s supportTx) Delete(r *storage.SupportRequest) error {
	_, err := s.t.exec(`DELETE FROM support_requests WHERE id = $1`, r.ID)
	return err
}

func (s supportTx) OfResident(residentID string) ([]*storage.SupportRequest, error) {
	var out []*storage.SupportRequest
	err := each(s.t, "support requests", func(v *storage.SupportRequest) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM support_requests WHERE resident_id = $1 ORDER BY created, id`, residentID)
	return out, err
}

func (s supportTx) All(fn func(*storage.SupportRequest) error) error {
	return each(s.t, "support requests", func(v *storage.SupportRequest) (bool, error) { return true, fn(v) },
		`SELECT record FROM support_requests ORDER BY created, id`)
}

type eventsTx struct{ t *tx }

func (ev eventsTx) Append(e *storage.Event) error {
	if !ev.t.writable {
		return errors.New("cluster: a change in a read-only transaction")
	}
	// The sequence is not transactional: two transactions may commit
	// their events out of the order of their numbers. So an appending
	// transaction holds its sender's feed lock shared until it ends, and
	// a reader of the feed waits for them (After).
	var seq int64
	if err := ev.t.tx.QueryRow(ev.t.ctx, `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(`+feedLock+`))
		SELECT nextval('event_seq') FROM l`, e.SenderID).Scan(&seq); err != nil {
		return err
	}
	e.Seq = uint64(seq)
	b, err := encode(e)
	if err != nil {
		return err
	}
	_, err = ev.t.exec(`INSERT INTO events (sender_id, seq, at, record) VALUES ($1, $2, $3, $4)`, e.SenderID, seq, e.At, b)
	return err
}

// feedLock is the advisory lock of a sender's feed ($1: the sender id).
const feedLock = `hashtextextended('postkasse-events:' || $1, 0)`

// settleFeed waits, in a read-only transaction, for the transactions
// appending to the sender's feed to end (Events.Settle): the lock taken
// exclusively on another connection and let go at once. A reader that
// settles first in its transaction (whose snapshot its first read takes)
// never sees an event without those numbered before it. A writing
// transaction, which may hold the lock itself, does not wait.
func (t *tx) settleFeed(senderID string) error {
	if t.writable {
		return nil
	}
	if _, err := t.e.pool.Exec(t.ctx, `SELECT pg_advisory_xact_lock(`+feedLock+`)`, senderID); err != nil {
		return unavailable(err)
	}
	return nil
}

// Settle: see settleFeed.
func (ev eventsTx) Settle(senderID string) error { return ev.t.settleFeed(senderID) }

func (ev eventsTx) After(senderID string, after uint64, limit int) ([]*storage.Event, error) {
	var out []*storage.Event
	err := each(ev.t, "events", func(v *storage.Event) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM events WHERE sender_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, senderID, int64(after), limit)
	return out, err
}

func (ev eventsTx) Put(e *storage.Event) error {
	b, err := encode(e)
	if err != nil {
		return err
	}
	if _, err := ev.t.exec(`INSERT INTO events (sender_id, seq, at, record) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sender_id, seq) DO UPDATE SET at = excluded.at, record = excluded.record`, e.SenderID, int64(e.Seq), e.At, b); err != nil {
		return err
	}
	return ev.t.advanceSequence("event_seq", e.Seq)
}

func (ev eventsTx) All(fn func(*storage.Event) error) error {
	return each(ev.t, "events", func(v *storage.Event) (bool, error) { return true, fn(v) },
		`SELECT record FROM events ORDER BY seq`)
}

func (ev eventsTx) Prune(before time.Time) (int, error) {
	tag, err := ev.t.exec(`DELETE FROM events WHERE at < $1`, before)
	return int(tag.RowsAffected()), err
}

type callbacksTx struct{ t *tx }

func (c callbacksTx) Get(senderID string) (*storage.Callback, error) {
	v := new(storage.Callback)
	if err := c.t.get(v, "callback of "+senderID, `SELECT record FROM callbacks WHERE sender_id = $1`, senderID); err != nil {
		return nil, err
	}
	return v, nil
}

func (c callbacksTx) Put(v *storage.Callback) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	_, err = c.t.exec(`INSERT INTO callbacks (sender_id, record) VALUES ($1, $2)
		ON CONFLICT (sender_id) DO UPDATE SET record = excluded.record`, v.SenderID, b)
	return err
}

func (c callbacksTx) Delete(senderID string) error {
	if _, err := c.Clear(senderID); err != nil {
		return err
	}
	_, err := c.t.exec(`DELETE FROM callbacks WHERE sender_id = $1`, senderID)
	return err
}

func (c callbacksTx) All(fn func(*storage.Callback) error) error {
	return each(c.t, "callbacks", func(v *storage.Callback) (bool, error) { return true, fn(v) },
		`SELECT record FROM callbacks ORDER BY sender_id`)
}

func (c callbacksTx) Queue(e *storage.Event) error {
	b, err := encode(e)
	if err != nil {
		return err
	}
	_, err = c.t.exec(`INSERT INTO callback_outbox (sender_id, seq, record) VALUES ($1, $2, $3)
		ON CONFLICT (sender_id, seq) DO UPDATE SET record = excluded.record`, e.SenderID, int64(e.Seq), b)
	return err
}

func (c callbacksTx) Queued(senderID string, limit int) ([]*storage.Event, error) {
	var out []*storage.Event
	err := each(c.t, "callback outbox", func(v *storage.Event) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM callback_outbox WHERE sender_id = $1 ORDER BY seq LIMIT $2`, senderID, limit)
	return out, err
}

func (c callbacksTx) Dequeue(senderID string, seq uint64) error {
	_, err := c.t.exec(`DELETE FROM callback_outbox WHERE sender_id = $1 AND seq = $2`, senderID, int64(seq))
	return err
}

func (c callbacksTx) Clear(senderID string) (int, error) {
	tag, err := c.t.exec(`DELETE FROM callback_outbox WHERE sender_id = $1`, senderID)
	return int(tag.RowsAffected()), err
}

func (c callbacksTx) Count(senderID string) (int, error) {
	var n int
	err := c.t.tx.QueryRow(c.t.ctx, `SELECT count(*) FROM callback_outbox WHERE sender_id = $1`, senderID).Scan(&n)
	return n, err
}

type printTx struct{ t *tx }

func (p printTx) Get(id string) (*storage.PrintLetter, error) {
	v := new(storage.PrintLetter)
	if err := p.t.get(v, "print letter "+id, `SELECT record FROM print_queue WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return v, nil
}

func (p printTx) Put(v *storage.PrintLetter) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	orNull := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	_, err = p.t.exec(`INSERT INTO print_queue (id, sender_id, sender_reference, queued_at, wait_until, printed_at, record)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET sender_id = excluded.sender_id, sender_reference = excluded.sender_reference,
			queued_at = excluded.queued_at, wait_until = excluded.wait_until, printed_at = excluded.printed_at, record = excluded.record`,
		v.ID, v.SenderID, v.SenderReference, orNull(v.QueuedAt), orNull(v.WaitUntil), orNull(v.PrintedAt), b)
	return err
}

func (p printTx) ByReference(senderID, ref string) (string, error) {
	var id string
	err := p.t.tx.QueryRow(p.t.ctx, `SELECT id FROM print_queue WHERE sender_id = $1 AND sender_reference = $2`, senderID, ref).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("print letter with reference %q: %w", ref, storage.ErrNotFound)
	}
	return id, err
}

func (p printTx) Pending(fn func(*storage.PrintLetter) (bool, error)) error {
	return each(p.t, "print queue", fn, `SELECT record FROM print_queue WHERE printed_at IS NULL AND wait_until IS NULL ORDER BY queued_at, id`)
}

func (p printTx) Waiting(until time.Time, fn func(*storage.PrintLetter) (bool, error)) error {
	return each(p.t, "print queue", fn, `SELECT record FROM print_queue WHERE printed_at IS NULL AND wait_until <= $1 ORDER BY wait_until, id`, until)
}

func (p printTx) Delete(id string) error {
	_, err := p.t.exec(`DELETE FROM print_queue WHERE id = $1`, id)
	return err
}

func (p printTx) All(fn func(*storage.PrintLetter) error) error {
	return each(p.t, "print queue", func(v *storage.PrintLetter) (bool, error) { return true, fn(v) },
		`SELECT record FROM print_queue ORDER BY id`)
}

// advanceSequence moves a sequence past seq, so that it never hands out a
// number stored already (a record copied with its number). A sequence is
// outside transactions: moved too far by a transaction that then rolls
// back, it only skips numbers.
func (t *tx) advanceSequence(name string, seq uint64) error {
	_, err := t.exec(`SELECT setval('`+name+`', $1) FROM `+name+` WHERE last_value < $1 OR NOT is_called`, int64(seq))
	return err
}

// searchIndexesTx keeps the version in a column of its own, so that
// Version reads a number and not the whole sealed index.
type searchIndexesTx struct{ t *tx }

func (s searchIndexesTx) Get(residentID string) (*storage.SearchIndex, error) {
	ix := &storage.SearchIndex{}
	var version int64
	err := s.t.tx.QueryRow(s.t.ctx, `SELECT version, sealed FROM search_indexes WHERE resident_id = $1`, residentID).Scan(&version, &ix.Sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("search index of %s: %w", residentID, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("search index of %s: %w", residentID, err)
	}
	ix.Version = uint64(version)
	return ix, nil
}

func (s searchIndexesTx) Version(residentID string) (uint64, error) {
	var version int64
	err := s.t.tx.QueryRow(s.t.ctx, `SELECT version FROM search_indexes WHERE resident_id = $1`, residentID).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("search index of %s: %w", residentID, storage.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("search index of %s: %w", residentID, err)
	}
	return uint64(version), nil
}

func (s searchIndexesTx) Put(residentID string, ix *storage.SearchIndex) error {
	_, err := s.t.exec(`INSERT INTO search_indexes (resident_id, version, sealed) VALUES ($1, $2, $3)
		ON CONFLICT (resident_id) DO UPDATE SET version = excluded.version, sealed = excluded.sealed`,
		residentID, int64(ix.Version), ix.Sealed)
	return err
}

func (s searchIndexesTx) Delete(residentID string) error {
	_, err := s.t.exec(`DELETE FROM search_indexes WHERE resident_id = $1`, residentID)
	return err
}

func (s searchIndexesTx) All(fn func(residentID string, ix *storage.SearchIndex) error) error {
	rows, err := s.t.tx.Query(s.t.ctx, `SELECT resident_id, version, sealed FROM search_indexes ORDER BY resident_id`)
	if err != nil {
		return err
	}
	type row struct {
		id      string
		version int64
		sealed  []byte
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.version, &x.sealed)
	})
	if err != nil {
		return err
	}
	for _, x := range all {
		if err := fn(x.id, &storage.SearchIndex{Version: uint64(x.version), Sealed: x.sealed}); err != nil {
			return err
		}
	}
	return nil
}

type repliesTx struct{ t *tx }

func (r repliesTx) Get(id string) (*storage.Reply, error) {
	v := new(storage.Reply)
	if err := r.t.get(v, "reply "+id, `SELECT record FROM replies WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return v, nil
}

func (r repliesTx) Put(v *storage.Reply) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	_, err = r.t.exec(`INSERT INTO replies (id, letter_id, resident_id, created, record) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET letter_id = excluded.letter_id, resident_id = excluded.resident_id,
			created = excluded.created, record = excluded.record`,
		v.ID, v.LetterID, v.ResidentID, v.Created, b)
	return err
}

func (r repliesTx) Delete(id string) error {
	_, err := r.t.exec(`DELETE FROM replies WHERE id = $1`, id)
	return err
}

func (r repliesTx) ByLetter(letterID string, fn func(*storage.Reply) error) error {
	if letterID == "" {
		return nil
	}
	return each(r.t, "replies of letter "+letterID, func(v *storage.Reply) (bool, error) { return true, fn(v) },
		`SELECT record FROM replies WHERE letter_id = $1 ORDER BY created, id`, letterID)
}

func (r repliesTx) ByResident(residentID string, fn func(*storage.Reply) error) error {
	return each(r.t, "replies of resident "+residentID, func(v *storage.Reply) (bool, error) { return true, fn(v) },
		`SELECT record FROM replies WHERE resident_id = $1 ORDER BY created, id`, residentID)
}

func (r repliesTx) All(fn func(*storage.Reply) error) error {
	return each(r.t, "replies", func(v *storage.Reply) (bool, error) { return true, fn(v) },
		`SELECT record FROM replies ORDER BY id`)
}

type delegationsTx struct{ t *tx }

func (d delegationsTx) Get(id string) (*storage.Delegation, error) {
	v := new(storage.Delegation)
	return v, d.t.get(v, "delegation "+id, `SELECT record FROM delegations WHERE id = $1`, id)
}

func (d delegationsTx) Put(v *storage.Delegation) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	_, err = d.t.exec(`INSERT INTO delegations (id, grantor_id, delegate_id, created, record) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET grantor_id = excluded.grantor_id, delegate_id = excluded.delegate_id,
			created = excluded.created, record = excluded.record`,
		v.ID, v.GrantorID, v.DelegateID, v.Created, b)
	return err
}

func (d delegationsTx) Delete(id string) error {
	_, err := d.t.exec(`DELETE FROM delegations WHERE id = $1`, id)
	return err
}

func (d delegationsTx) OfGrantor(residentID string) ([]*storage.Delegation, error) {
	var out []*storage.Delegation
	err := each(d.t, "delegations", func(v *storage.Delegation) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM delegations WHERE grantor_id = $1 ORDER BY created, id`, residentID)
	return out, err
}

func (d delegationsTx) OfDelegate(residentID string) ([]*storage.Delegation, error) {
	var out []*storage.Delegation
	err := each(d.t, "delegations", func(v *storage.Delegation) (bool, error) { out = append(out, v); return true, nil },
		`SELECT record FROM delegations WHERE delegate_id = $1 ORDER BY created, id`, residentID)
	return out, err
}

func (d delegationsTx) All(fn func(*storage.Delegation) error) error {
	return each(d.t, "delegations", func(v *storage.Delegation) (bool, error) { return true, fn(v) },
		`SELECT record FROM delegations ORDER BY created, id`)
}
