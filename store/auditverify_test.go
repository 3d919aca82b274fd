package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/store/auditlog"
)

// auditFixture delivers n letters and returns the store's file, the
// receipts' audit claims and a checkpoint after the last.
func auditFixture(t *testing.T, f *fixture, n int, from int) []auditlog.ReceiptClaim {
	t.Helper()
	var claims []auditlog.ReceiptClaim
	for i := range n {
		res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "ref-"+string(rune('a'+from+i))))
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.s.VerifyReceipt(res.Receipt)
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, auditlog.ReceiptClaim{Name: "receipt of " + p.LetterID, Entry: p.AuditEntry(), Proof: *p.Audit})
	}
	return claims
}

// TestAuditLogVerifies: the log of a working store verifies, with its
// checkpoint and the receipts as evidence.
func TestAuditLogVerifies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	claims := auditFixture(t, f, 5, 0)
	signed, size, err := f.s.SignCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	log, err := f.s.AuditLog(context.Background())
	if err != nil || size != int64(len(log)) {
		t.Fatalf("checkpoint of size %d, log of %d entries, %v", size, len(log), err)
	}
	report, err := f.s.VerifyAudit(context.Background(), auditlog.Evidence{
		Checkpoints: []auditlog.File{{Name: "checkpoint", Data: signed}}, Receipts: claims,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !report.OK() || report.Size != size {
		t.Errorf("an untouched log: %s", report)
	}
}

// copyFile copies a closed store's file.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAuditLogTampering: what someone holding the database file does to
// the log is caught: an entry edited (by the log alone), and the whole
// file rolled back to an earlier copy (by a checkpoint and a receipt from
// after it).
//
// On the engine of the pass: TestAuditLogTamperingFile on the embedded
// file; on the cluster the same in its tables (auditLogTamperingCluster).
func TestAuditLogTampering(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if !onEmbedded(f.s) {
		auditLogTamperingCluster(t, f)
		return
	}
	auditLogTamperingFile(t, f)
}

// TestAuditLogTamperingFile is TestAuditLogTampering on the embedded
// engine's file in both passes.
func TestAuditLogTamperingFile(t *testing.T) {
	t.Parallel()
	auditLogTamperingFile(t, newEmbeddedFixture(t))
}

// auditLogTamperingCluster is TestAuditLogTampering in the cluster's
// tables, as someone with write access to the database would tamper:
// an entry edited in place (its action changed, its length kept), and
// the log rolled back to an earlier size (its later entries, their
// stored hashes and the size row, as a restore of an earlier dump
// leaves them), against a checkpoint and the receipts from after it.
// Each is put back after, for the checks on close.
func auditLogTamperingCluster(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	auditFixture(t, f, 3, 0)
	var early int64
	withClusterConn(t, f.s, func(ctx context.Context, conn *pgx.Conn) {
		if err := conn.QueryRow(ctx, `SELECT size FROM audit_size WHERE one = 1`).Scan(&early); err != nil {
			t.Fatal(err)
		}
	})
	later := auditFixture(t, f, 3, 3)
	signed, _, err := f.s.SignCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(name string, ev auditlog.Evidence, want string) {
		t.Helper()
		report, err := f.s.VerifyAudit(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if report.OK() || !strings.Contains(report.String(), want) {
			t.Errorf("%s: report %s, want a problem naming %q", name, report, want)
		}
	}

	withClusterConn(t, f.s, func(ctx context.Context, conn *pgx.Conn) {
		var idx int64
		var saved []byte
		if err := conn.QueryRow(ctx, `SELECT idx, encoded FROM audit_entries WHERE position('deliver'::bytea in encoded) > 0 ORDER BY idx LIMIT 1`).Scan(&idx, &saved); err != nil {
			t.Fatal(err)
		}
		edited := []byte(strings.Replace(string(saved), "deliver", "deletes", 1))
		if _, err := conn.Exec(ctx, `UPDATE audit_entries SET encoded = $2 WHERE idx = $1`, idx, edited); err != nil {
			t.Fatal(err)
		}
		verify("entry edited", auditlog.Evidence{}, fmt.Sprintf("entry %d", idx))
		if _, err := conn.Exec(ctx, `UPDATE audit_entries SET encoded = $2 WHERE idx = $1`, idx, saved); err != nil {
			t.Fatal(err)
		}

		// The rollback, with the rows it removes kept aside.
		hashes := tlog.StoredHashCount(early)
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{`CREATE TABLE rolled_entries AS SELECT * FROM audit_entries WHERE idx >= $1`, early},
			{`CREATE TABLE rolled_hashes AS SELECT * FROM audit_hashes WHERE idx >= $1`, hashes},
			{`DELETE FROM audit_entries WHERE idx >= $1`, early},
			{`DELETE FROM audit_hashes WHERE idx >= $1`, hashes},
			{`UPDATE audit_size SET size = $1 WHERE one = 1`, early},
		} {
			if _, err := conn.Exec(ctx, q.sql, q.arg); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		verify("rolled back, against a checkpoint", auditlog.Evidence{Checkpoints: []auditlog.File{{Name: "checkpoint", Data: signed}}}, "checkpoint")
		verify("rolled back, against a receipt", auditlog.Evidence{Receipts: later}, "receipt of")
		for _, q := range []string{
			`INSERT INTO audit_entries SELECT * FROM rolled_entries`,
			`INSERT INTO audit_hashes SELECT * FROM rolled_hashes`,
			`UPDATE audit_size SET size = (SELECT count(*) FROM audit_entries) WHERE one = 1`,
			`DROP TABLE rolled_entries, rolled_hashes`,
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	})
	if report, err := f.s.VerifyAudit(ctx, auditlog.Evidence{Receipts: later}); err != nil || !report.OK() {
		t.Errorf("the log put back: %s, %v", report, err)
	}
}

// auditLogTamperingFile is TestAuditLogTampering on the embedded file of
// f's store.
func auditLogTamperingFile(t *testing.T, f *fixture) {
	t.Helper()
	auditFixture(t, f, 3, 0)
	path := f.s.Path()
	early := filepath.Join(t.TempDir(), "early.db")
	closeTestStore(t, f.s)
	copyFile(t, path, early)
	f.s = openEmbeddedStoreAt(t, path, testOptions(f.clock))
	later := auditFixture(t, f, 3, 3)
	signed, _, err := f.s.SignCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	closeTestStore(t, f.s)

	// An entry edited in place: its action changed, its length kept.
	edited := filepath.Join(t.TempDir(), "edited.db")
	copyFile(t, path, edited)
	db, err := bolt.Open(edited, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	editedIndex := -1
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit-log"))
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if strings.Contains(string(v), "deliver") {
				editedIndex = int(binary.BigEndian.Uint64(k))
				return b.Put(bytes.Clone(k), []byte(strings.Replace(string(v), "deliver", "deletes", 1)))
			}
		}
		return errors.New("no delivery in the log")
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
		ev         auditlog.Evidence
		want       string
	}{
		{"entry edited", edited, auditlog.Evidence{}, fmt.Sprintf("entry %d", editedIndex)},
		{"rolled back, against a checkpoint", early, auditlog.Evidence{Checkpoints: []auditlog.File{{Name: "checkpoint", Data: signed}}}, "checkpoint"},
		{"rolled back, against a receipt", early, auditlog.Evidence{Receipts: later}, "receipt of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.file, Options{KDF: cheapKDF, Clock: f.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			report, err := s.VerifyAudit(context.Background(), tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if report.OK() || !strings.Contains(report.String(), tc.want) {
				t.Errorf("%s: report %s, want a problem naming %q", tc.name, report, tc.want)
			}
		})
	}
}
