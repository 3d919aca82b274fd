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

	bolt "go.etcd.io/bbolt"

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
func TestAuditLogTampering(t *testing.T) {
	t.Parallel()
	f := newEmbeddedFixture(t)
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
