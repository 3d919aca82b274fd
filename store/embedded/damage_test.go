package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/storage"
)

// damagedFile makes a database with some records, closes it, and damages
// it with damage.
func damagedFile(t *testing.T, damage func(path string, size int64)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "postkasse.db")
	e, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		err := e.Update(context.Background(), func(tx storage.Tx) error {
			return tx.Meta().Put(strings.Repeat("k", 10)+string(rune('a'+i%26))+strings.Repeat("x", i), make([]byte, 1000))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	damage(path, fi.Size())
	return path
}

// overwrite writes garbage over the 4 KiB pages [from, from+n) of path.
func overwrite(t *testing.T, path string, from, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, 4096*n)
	for i := range junk {
		junk[i] = byte(i*131 + 7)
	}
	if _, err := f.WriteAt(junk, 4096*from); err != nil {
		t.Fatal(err)
	}
}

// freelistPage finds the page that holds the file's freelist.
func freelistPage(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil) // read-write: Tx.Page needs the freelist loaded
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id int64 = -1
	db.View(func(tx *bolt.Tx) error {
		for i := 0; ; i++ {
			p, err := tx.Page(i)
			if err != nil || p == nil {
				return err
			}
			if p.Type == "freelist" {
				id = int64(i)
				return nil
			}
		}
	})
	if id < 0 {
		t.Fatal("no freelist page")
	}
	return id
}

// TestDamagedFile: a truncated file, one whose freelist or both meta
// pages are garbage, is refused by Open with ErrDamaged in one line that
// names the file and what to do; never a panic or a fault, read-write or
// read-only.
func TestDamagedFile(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, size int64)
		want   string
	}{
		{"truncated", func(t *testing.T, path string, size int64) {
			if err := os.Truncate(path, size/2); err != nil {
				t.Fatal(err)
			}
		}, "it was cut short"},
		{"meta pages", func(t *testing.T, path string, _ int64) { overwrite(t, path, 0, 2) }, "invalid database"},
		{"freelist", func(t *testing.T, path string, _ int64) { overwrite(t, path, freelistPage(t, path), 1) }, "freelist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ro := range []bool{false, true} {
				// A file of its own each time: bbolt panicking in Open
				// leaves the file's lock to the process's end.
				path := damagedFile(t, func(path string, size int64) { tt.damage(t, path, size) })
				e, err := embedded.Open(path, embedded.Options{ReadOnly: ro})
				if err == nil {
					// Read-only, bbolt reads no freelist: the damage is
					// found by the check, as an error.
					if !ro || tt.name != "freelist" {
						t.Fatalf("read-only %v: Open succeeded", ro)
					}
					if err := e.Check(context.Background()); err == nil {
						t.Errorf("Check of a damaged freelist found nothing")
					}
					e.Close()
					continue
				}
				msg := err.Error()
				if !errors.Is(err, embedded.ErrDamaged) || !strings.Contains(msg, path) || !strings.Contains(msg, tt.want) ||
					!strings.Contains(msg, "postkasse check") || strings.Contains(msg, "\n") {
					t.Errorf("read-only %v: %q, want one line: ErrDamaged, the file, %q and `postkasse check`", ro, msg, tt.want)
				}
			}
		})
	}
}

// TestDamagedWhileOpen: a file cut short under a running engine makes the
// transaction that meets it ErrDamaged, and every later one too, at once,
// without touching bbolt again (whose locks that transaction may have
// left held): no request hangs.
func TestDamagedWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postkasse.db")
	e, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	put := func(i int) error {
		return e.Update(context.Background(), func(tx storage.Tx) error {
			return tx.Meta().Put(strings.Repeat("k", 10)+string(rune('a'+i%26))+strings.Repeat("x", i), make([]byte, 1000))
		})
	}
	for i := range 200 {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Truncate(path, 4096*3); err != nil {
		t.Fatal(err)
	}
	var first error
	for i := 200; i < 400 && first == nil; i++ {
		first = put(i)
	}
	if !errors.Is(first, embedded.ErrDamaged) || !errors.Is(first, storage.ErrUnavailable) {
		t.Fatalf("a transaction on the file cut short: %v, want ErrDamaged (and ErrUnavailable)", first)
	}
	done := make(chan error, 2)
	go func() { done <- put(1) }()
	go func() {
		done <- e.View(context.Background(), func(tx storage.Tx) error { _, err := tx.Meta().Get("k"); return err })
	}()
	for range 2 {
		select {
		case err := <-done:
			if !errors.Is(err, embedded.ErrDamaged) {
				t.Errorf("a transaction after the damage: %v, want ErrDamaged", err)
			}
			// The cause and where it struck, which the first caller may
			// not have logged, are repeated.
			if !strings.Contains(err.Error(), "found earlier in this process: the database file is damaged") ||
				!strings.Contains(err.Error(), "go.etcd.io/bbolt.") {
				t.Errorf("a transaction after the damage: %v, want the first damage and its place", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a transaction after the damage hangs")
		}
	}
}

// TestCallerPanicIsNotDamage: a panic in the transaction's function (a
// bug of the caller's) is raised again as it was, after the rollback; it
// does not call the file damaged, and the engine goes on.
func TestCallerPanicIsNotDamage(t *testing.T) {
	e, err := embedded.Open(filepath.Join(t.TempDir(), "postkasse.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	func() {
		defer func() {
			if v := recover(); v != "a bug" {
				t.Errorf("recovered %v, want the caller's own panic", v)
			}
		}()
		e.Update(context.Background(), func(tx storage.Tx) error {
			if err := tx.Meta().Put("half", []byte("written")); err != nil {
				return err
			}
			panic("a bug")
		})
		t.Error("Update returned after its function panicked")
	}()
	err = e.Update(context.Background(), func(tx storage.Tx) error {
		if _, err := tx.Meta().Get("half"); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("the panicked transaction's write is there: %v", err)
		}
		return tx.Meta().Put("after", []byte("ok"))
	})
	if err != nil {
		t.Fatalf("the engine after a caller's panic: %v", err)
	}
}

// TestDeleteExpiredLimitsOrphanIndex: an index entry by expiry whose
// record is gone is deleted by the sweep, not met again and again (the
// store's sweep runs until a batch deletes nothing).
func TestDeleteExpiredLimitsOrphanIndex(t *testing.T) {
	e, err := embedded.Open(filepath.Join(t.TempDir(), "postkasse.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	past := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = e.Update(context.Background(), func(tx storage.Tx) error {
		for _, k := range []string{"orphan", "kept-record"} {
			if err := tx.Limits().Put(&storage.Limit{Key: k, Expires: past, Value: []byte("x")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Damage: the record goes, its index entry stays.
	if err := e.DB().Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("limits")).Delete([]byte("orphan")) }); err != nil {
		t.Fatal(err)
	}
	sweep := func() int {
		var n int
		err := e.Update(context.Background(), func(tx storage.Tx) (err error) {
			n, err = tx.Limits().DeleteExpired(past.Add(time.Hour), 1000)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sweep(); n != 1 {
		t.Errorf("first sweep deleted %d records, want 1 (the orphan entry is not a record)", n)
	}
	if n := sweep(); n != 0 {
		t.Errorf("second sweep deleted %d, want 0", n)
	}
	if err := e.Check(context.Background()); err != nil {
		t.Errorf("check after the sweeps: %v", err)
	}
}
