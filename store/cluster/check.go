package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postkasse/postkasse/store/storage"
)

// Check checks that every table's key and index columns agree with the
// record beside them (residents, senders, letters, sessions, notifications,
// support requests, events), that the mailbox counts are the counts of
// the letters' rows, that every record kept by resident decodes,
// that every sender's certificates are bound to it and no other binding
// exists, that every document belongs to a letter and its object is in
// the bucket, and that every record decodes. It returns every problem it
// finds. (The leases and the limits hold no record to decode and no index
// column: their columns are their whole content.)
func (e *Engine) Check(ctx context.Context) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	objects, err := e.blobs.objects(ctx)
	if err != nil {
		return err
	}
	err = e.View(ctx, func(st storage.Tx) error {
		t := st.(*tx)
		if err := checkRows(t, `SELECT id, national_id, record FROM residents`, func(key, col string, r *storage.Resident) {
			if r.ID != key || r.NationalID != col {
				bad("resident %s: columns (%s, %s) disagree with its record (%s, %s)", key, key, col, r.ID, r.NationalID)
			}
		}, bad); err != nil {
			return err
		}
		bound := map[string]string{}
		if err := checkRows(t, `SELECT id, org_number, record FROM senders`, func(key, col string, s *storage.Sender) {
			if s.ID != key || s.OrgNumber != col {
				bad("sender %s: columns disagree with its record", key)
			}
			for _, c := range s.Certificates {
				bound[c.Fingerprint] = s.ID
			}
		}, bad); err != nil {
			return err
		}
		rows, err := t.tx.Query(t.ctx, `SELECT fingerprint, sender_id FROM sender_certificates`)
		if err != nil {
			return err
		}
		certs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ FP, Sender string }])
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, c := range certs {
			seen[c.FP] = true
			if bound[c.FP] != c.Sender {
				bad("certificate %s: bound to sender %s, which does not list it", c.FP, c.Sender)
			}
		}
		for fp, s := range bound {
			if !seen[fp] {
				bad("certificate %s of sender %s: not bound", fp, s)
			}
		}
		letters := map[string]bool{}
		rows, err = t.tx.Query(t.ctx, `SELECT resident_id, id, sender_id, sender_reference, delivered_at, folder, deleted_at, unread, due, release_at, record FROM letters`)
		if err != nil {
			return err
		}
		type letterRow struct {
			Resident, ID, Sender, Reference string
			At                              time.Time
			Folder                          string
			Deleted                         *time.Time
			Unread                          bool
			Due                             *string
			Release                         *time.Time
			Record                          []byte
		}
		lrows, err := pgx.CollectRows(rows, pgx.RowToStructByPos[letterRow])
		if err != nil {
			return err
		}
		for _, r := range lrows {
			letters[r.ID] = true
			var l storage.Letter
			if err := json.Unmarshal(r.Record, &l); err != nil {
				bad("letter %s: record does not decode: %v", r.ID, err)
				continue
			}
			if l.ID != r.ID || l.ResidentID != r.Resident || l.SenderID != r.Sender || l.SenderReference != r.Reference || l.Folder != r.Folder || l.IsTombstone() != (r.Deleted != nil) ||
				(r.Deleted != nil && !l.Deleted.Truncate(time.Microsecond).Equal(*r.Deleted)) ||
				!l.DeliveredAt.Truncate(time.Microsecond).Equal(r.At) || l.Unread() != r.Unread || l.Due() != deref(r.Due) ||
				l.IsScheduled() != (r.Release != nil) || (r.Release != nil && !l.ReleaseAt.Truncate(time.Microsecond).Equal(*r.Release)) {
				bad("letter %s: columns disagree with its record", r.ID)
			}
		}
		// The counts (schema 4) against the rows they count.
		rows, err = t.tx.Query(t.ctx, `SELECT resident_id, folder, COALESCE(c.letters, 0), COALESCE(c.unread, 0), COALESCE(c.due, 0),
				COALESCE(l.letters, 0), COALESCE(l.unread, 0), COALESCE(l.due, 0)
			FROM mailbox_counts c FULL JOIN (SELECT resident_id, folder, count(*) FILTER (WHERE deleted_at IS NULL AND release_at IS NULL) AS letters,
				count(*) FILTER (WHERE unread) AS unread, count(*) FILTER (WHERE due IS NOT NULL) AS due
				FROM letters GROUP BY resident_id, folder) l USING (resident_id, folder)
			WHERE COALESCE(c.letters, 0) <> COALESCE(l.letters, 0) OR COALESCE(c.unread, 0) <> COALESCE(l.unread, 0)
				OR COALESCE(c.due, 0) <> COALESCE(l.due, 0)
			ORDER BY resident_id, folder`)
		if err != nil {
			return err
		}
		counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
			Resident, Folder                 string
			Letters, Unread, Due             int64
			WantLetters, WantUnread, WantDue int64
		}])
		if err != nil {
			return err
		}
		for _, c := range counts {
			bad("mailbox counts of resident %s, folder %q: letters %d, unread %d, due %d; the letters hold %d, %d, %d",
				c.Resident, c.Folder, c.Letters, c.Unread, c.Due, c.WantLetters, c.WantUnread, c.WantDue)
		}
		rows, err = t.tx.Query(t.ctx, `SELECT letter_id, idx, blob_key FROM documents ORDER BY letter_id, idx`)
		if err != nil {
			return err
		}
		docs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
			Letter string
			Index  int32
			Key    string
		}])
		if err != nil {
			return err
		}
		for _, d := range docs {
			if !letters[d.Letter] {
				bad("document %s/%d: no such letter", d.Letter, d.Index)
			}
			if _, ok := objects[d.Key]; !ok {
				bad("document %s/%d: object %s missing from the bucket", d.Letter, d.Index, d.Key)
			}
		}
		const usUTC = `'YYYY-MM-DD"T"HH24:MI:SS.US'`
		if err := checkRows(t, `SELECT encode(id, 'hex'), resident_id || ' ' || to_char(expires AT TIME ZONE 'UTC', `+usUTC+`) || ' ' ||
			to_char(last_seen AT TIME ZONE 'UTC', `+usUTC+`), record FROM sessions`, func(key, col string, s *storage.Session) {
			const layout = "2006-01-02T15:04:05.000000"
			want := s.ResidentID + " " + s.Expires.UTC().Truncate(time.Microsecond).Format(layout) + " " +
				s.LastSeen.UTC().Truncate(time.Microsecond).Format(layout)
			if col != want {
				bad("session %s: columns (resident, expires, last seen) %s, record %s", key, col, want)
			}
		}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT resident_id || '/' || seq::text, resident_id, record FROM outbox`, func(key, col string, n *storage.Notification) {
			if n.ResidentID != col || fmt.Sprintf("%s/%d", n.ResidentID, n.Seq) != key {
				bad("notification %s: columns disagree with its record", key)
			}
		}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT id, grantor_id || '/' || delegate_id, record FROM delegations`, func(key, col string, d *storage.Delegation) {
			if d.ID != key || d.GrantorID+"/"+d.DelegateID != col {
				bad("delegation %s: columns disagree with its record", key)
			}
		}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT id, resident_id, record FROM support_requests`, func(key, col string, r *storage.SupportRequest) {
			if r.ID != key || r.ResidentID != col {
				bad("support request %s: columns disagree with its record", key)
			}
		}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT sender_id || '/' || seq::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), record FROM events`, func(key, col string, e *storage.Event) {
			if fmt.Sprintf("%s/%d", e.SenderID, e.Seq) != key || e.At.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000") != col {
				bad("event %s: columns disagree with its record", key)
			}
		}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT sender_id || '/' || seq::text, sender_id, record FROM callback_outbox`, func(key, col string, e *storage.Event) {
			if fmt.Sprintf("%s/%d", e.SenderID, e.Seq) != key {
				bad("queued event %s: columns disagree with its record", key)
			}
		}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT id, sender_id || '/' || sender_reference || '/' ||
			coalesce(to_char(queued_at AT TIME ZONE 'UTC', `+usUTC+`), '') || '/' ||
			coalesce(to_char(wait_until AT TIME ZONE 'UTC', `+usUTC+`), '') || '/' || (printed_at IS NOT NULL)::text,
			record FROM print_queue`, func(key, col string, p *storage.PrintLetter) {
			ts := func(t time.Time) string {
				if t.IsZero() {
					return ""
				}
				return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000")
			}
			want := fmt.Sprintf("%s/%s/%s/%s/%t", p.SenderID, p.SenderReference, ts(p.QueuedAt), ts(p.WaitUntil), p.Printed())
			if p.ID != key || col != want {
				bad("print letter %s: columns %s, record %s", key, col, want)
			}
		}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT id, letter_id || '/' || resident_id || '/' || to_char(created AT TIME ZONE 'UTC', `+usUTC+`), record FROM replies`,
			func(key, col string, r *storage.Reply) {
				want := r.LetterID + "/" + r.ResidentID + "/" + r.Created.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000")
				if r.ID != key || col != want {
					bad("reply %s: columns %s, record %s", key, col, want)
				}
			}, bad); err != nil {
			return err
		}
		if err := checkRows(t, `SELECT sender_id, sender_id, record FROM callbacks`, func(key, col string, c *storage.Callback) {
			if c.SenderID != key {
				bad("callback %s: columns disagree with its record", key)
			}
		}, bad); err != nil {
			return err
		}
		// Records kept by resident: each decodes.
		for _, table := range []string{"sender_blocks", "folders", "terms_acceptances", "retention", "preferences"} {
			if err := checkRows(t, `SELECT resident_id, resident_id, record FROM `+table, func(string, string, *json.RawMessage) {}, bad); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(errs, func(a, b error) int {
		if a.Error() < b.Error() {
			return -1
		}
		return 1
	})
	return errors.Join(errs...)
}

// checkRows decodes each row's record (the third column) and calls fn with
// the key and index column; a record that does not decode is a problem.
func checkRows[T any](t *tx, sql string, fn func(key, col string, v *T), bad func(string, ...any)) error {
	rows, err := t.tx.Query(t.ctx, sql)
	if err != nil {
		return err
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		Key, Col string
		Record   []byte
	}])
	if err != nil {
		return err
	}
	for _, r := range all {
		v := new(T)
		if err := json.Unmarshal(r.Record, v); err != nil {
			bad("%s: record does not decode: %v", r.Key, err)
			continue
		}
		fn(r.Key, r.Col, v)
	}
	return nil
}

// deref is a nullable text column's value, "" for NULL.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
