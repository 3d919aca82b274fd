package embedded_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/internal/testsupport/boltpage"
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
// does not call the file damaged, and the engine goes on. So is a panic
// in a callback that bbolt calls, a runtime error of the caller's, and an
// assertion bbolt raises on a misuse of its API (a bucket of a
// transaction that has ended): they are raised inside bbolt's calls, but
// are the caller's bugs.
func TestCallerPanicIsNotDamage(t *testing.T) {
	e, err := embedded.Open(filepath.Join(t.TempDir(), "postkasse.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var stale *bolt.Bucket
	if err := e.DB().View(func(btx *bolt.Tx) error { stale = btx.Bucket([]byte("meta")); return nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		bug   func(tx storage.Tx)
		isBug func(v any) bool
	}{
		{"a panic", func(storage.Tx) { panic("a bug") }, func(v any) bool { return v == "a bug" }},
		{"a runtime error", func(storage.Tx) {
			var none []string
			_ = none[len(none)]
		}, func(v any) bool {
			re, ok := v.(runtime.Error)
			return ok && strings.Contains(re.Error(), "index out of range")
		}},
		{"a panic in a callback bbolt calls", func(tx storage.Tx) {
			tx.Meta().All(func(string, []byte) error { panic("a bug in a callback") })
		}, func(v any) bool { return v == "a bug in a callback" }},
		{"bbolt's assertion on a misuse", func(storage.Tx) { stale.Cursor().First() },
			func(v any) bool { return v == "assertion failed: tx closed" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			func() {
				defer func() {
					if v := recover(); !tt.isBug(v) {
						t.Errorf("recovered %v, want the caller's own panic", v)
					}
				}()
				e.Update(context.Background(), func(tx storage.Tx) error {
					if err := tx.Meta().Put("half", []byte("written")); err != nil {
						return err
					}
					tt.bug(tx)
					return nil
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
		})
	}
}

// recordsFile makes a database with 100 records of 500 bytes, about seven
// to a page, keyed "record-000" to "record-099", in the meta bucket
// (table "meta") or as limits (table "limits"), closes it, and makes the
// leaf page that holds the record damaged: its type is a freelist page's,
// so that bbolt, reading it as part of the tree, panics "invalid page
// type: ID: 10", as after the power cut that once crashed the server. It
// returns the file and the damaged page's id.
func recordsFile(t *testing.T, table, damaged string) (path string, page uint64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "postkasse.db")
	e, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Update(context.Background(), func(tx storage.Tx) error {
		for i := range 100 {
			key := fmt.Sprintf("record-%03d", i)
			put := tx.Meta().Put(key, make([]byte, 500))
			if table == "limits" {
				put = tx.Limits().Put(&storage.Limit{Key: key, Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Value: make([]byte, 500)})
			}
			if put != nil {
				return put
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	page, pageSize := boltpage.Leaf(t, path, []byte(table), []byte(damaged))
	boltpage.MarkFreelist(t, path, page, pageSize)
	return path, page
}

// TestDamagedPage: a page that does not decode, met by a read or by a
// change, is ErrDamaged naming bbolt's panic and where it struck, not a
// panic; from then on every change is refused with ErrDamaged naming that
// first damage and what to do, and so is a backup, while reads of the
// pages that are whole go on and a read that meets the damage again is
// ErrDamaged again. The damage is logged once. The engine closes (bbolt
// let go of its locks) and the file opens again, its damage met again by
// the first transaction that reads the page.
func TestDamagedPage(t *testing.T) {
	ctx := context.Background()
	get := func(key string) func(tx storage.Tx) error {
		return func(tx storage.Tx) error { _, err := tx.Meta().Get(key); return err }
	}
	for _, found := range []struct {
		name string
		run  func(e *embedded.Engine, fn func(storage.Tx) error) error
	}{
		{"by a read", func(e *embedded.Engine, fn func(storage.Tx) error) error { return e.View(ctx, fn) }},
		{"by a change", func(e *embedded.Engine, fn func(storage.Tx) error) error { return e.Update(ctx, fn) }},
	} {
		t.Run(found.name, func(t *testing.T) {
			path, page := recordsFile(t, "meta", "record-050")
			invalid := fmt.Sprintf("invalid page type: %d: 10", page)
			var log strings.Builder
			e, err := embedded.Open(path, embedded.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatalf("open the file with a damaged leaf page: %v", err)
			}
			err = found.run(e, get("record-050"))
			if !errors.Is(err, embedded.ErrDamaged) || !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("the transaction that met the damaged page: %v, want ErrDamaged (and ErrUnavailable)", err)
			}
			for _, want := range []string{invalid, "go.etcd.io/bbolt.(*Cursor).search", "called from github.com/postkasse/postkasse/store/embedded.metaTx.Get"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the transaction that met the damaged page: %v, want %q (the panic and where it struck)", err, want)
				}
			}
			for _, key := range []string{"record-000", "record-099"} {
				if err := e.View(ctx, get(key)); err != nil {
					t.Errorf("a read of %s, on a page that is whole: %v", key, err)
				}
			}
			if err := e.View(ctx, get("record-050")); !errors.Is(err, embedded.ErrDamaged) || !strings.Contains(err.Error(), invalid) {
				t.Errorf("a read that meets the damage again: %v, want ErrDamaged, %q", err, invalid)
			}
			refusals := map[string]error{
				"a change":                    e.Update(ctx, func(tx storage.Tx) error { return tx.Meta().Put("after", []byte("x")) }),
				"a change that reads nothing": e.Update(ctx, func(storage.Tx) error { return nil }),
			}
			_, refusals["a backup"] = e.WriteBackup(ctx, io.Discard, func(storage.Tx) error { return nil })
			for what, err := range refusals {
				msg := fmt.Sprint(err)
				if !errors.Is(err, embedded.ErrDamaged) || !errors.Is(err, storage.ErrUnavailable) ||
					!strings.Contains(msg, "found earlier in this process: the database file is damaged ("+invalid) ||
					!strings.Contains(msg, "postkasse check") || !strings.Contains(msg, "docs/OPERATORS.md") {
					t.Errorf("%s after the damage: %v, want ErrDamaged naming the first damage and what to do", what, err)
				}
			}
			if err := e.View(ctx, get("after")); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("the refused change: %v, want nothing stored", err)
			}
			if n := strings.Count(log.String(), "database file damaged"); n != 1 || !strings.Contains(log.String(), invalid) ||
				!strings.Contains(log.String(), "Backups") {
				t.Errorf("the log has %d lines of the damage, want one, with the panic and what to do:\n%s", n, log.String())
			}
			// bbolt rolled back every transaction that met the damage: none
			// is open, and Close, which waits for bbolt's locks, returns.
			if n := e.Stats().OpenTxN; n != 0 {
				t.Errorf("%d transactions left open after the damage", n)
			}
			if err := e.Close(); err != nil {
				t.Fatalf("close after the damage: %v", err)
			}
			again, err := embedded.Open(path, embedded.Options{})
			if err != nil {
				t.Fatalf("open again: %v", err)
			}
			defer again.Close()
			if err := again.View(ctx, get("record-050")); !errors.Is(err, embedded.ErrDamaged) {
				t.Errorf("the damaged page after opening again: %v, want ErrDamaged", err)
			}
		})
	}
}

// TestDamagedPageFoundByBackup: a backup reads every page (it compacts a
// copy of the file): a damaged one is ErrDamaged of the engine, not a
// panic, and changes are refused from then on; the copies' files are
// removed all the same.
func TestDamagedPageFoundByBackup(t *testing.T) {
	ctx := context.Background()
	path, _ := recordsFile(t, "meta", "record-050")
	e, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var backup bytes.Buffer
	_, err = e.WriteBackup(ctx, &backup, func(storage.Tx) error { return nil })
	if !errors.Is(err, embedded.ErrDamaged) || !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("a backup of the damaged file: %v, want ErrDamaged (and ErrUnavailable)", err)
	}
	err = e.Update(ctx, func(tx storage.Tx) error { return tx.Meta().Put("after", []byte("x")) })
	if !errors.Is(err, embedded.ErrDamaged) || !strings.Contains(err.Error(), "found earlier in this process") {
		t.Errorf("a change after the backup found the damage: %v, want ErrDamaged naming it", err)
	}
	if err := e.View(ctx, func(tx storage.Tx) error { _, err := tx.Meta().Get("record-000"); return err }); err != nil {
		t.Errorf("a read of a page that is whole, after the backup found the damage: %v", err)
	}
	left, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".backup-copy-*"))
	if err != nil || len(left) != 0 {
		t.Errorf("the backup left %v (%v)", left, err)
	}
}

// TestCheckDamagedPage: the check of a file with a damaged page (read
// only, as `postkasse check` opens it) reports it, bbolt's check of the
// pages (which names the page) and the index checks that meet it
// (ErrDamaged) alike, and does not panic.
func TestCheckDamagedPage(t *testing.T) {
	path, page := recordsFile(t, "limits", "record-050")
	invalid := fmt.Sprintf("page %d: invalid type: freelist", page)
	e, err := embedded.Open(path, embedded.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.Check(context.Background())
	if !errors.Is(err, embedded.ErrDamaged) || !strings.Contains(err.Error(), invalid) {
		t.Errorf("check of a file with a damaged page: %v, want ErrDamaged and %q", err, invalid)
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
