package lazyfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/internal/testsupport/lazyfs"
)

// write writes data to the file at path, creating or truncating it, and
// fsyncs it when sync is set.
func write(t *testing.T, path, data string, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// syncDir fsyncs the folder at path.
func syncDir(t *testing.T, path string) {
	t.Helper()
	d, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// files returns the regular files below dir, by path relative to it, with
// their contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCut: each case prepares the filesystem, then works on it; after the
// cut exactly the files of want are left, with those contents.
func TestCut(t *testing.T) {
	tests := []struct {
		name string
		work func(t *testing.T, dir string)
		want map[string]string
	}{{
		name: "an unsynced write is lost",
		work: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "synced", true)
			syncDir(t, dir)
			write(t, filepath.Join(dir, "a"), "not synced", false)
		},
		want: map[string]string{"a": "synced"},
	}, {
		name: "a synced write is kept",
		work: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "first", true)
			syncDir(t, dir)
			write(t, filepath.Join(dir, "a"), "second", true)
		},
		want: map[string]string{"a": "second"},
	}, {
		name: "a write in the middle is lost, the synced ones around it kept",
		work: func(t *testing.T, dir string) {
			path := filepath.Join(dir, "a")
			write(t, path, "", true)
			syncDir(t, dir)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte(strings.Repeat("x", 3*4096)), 0); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("yyyy"), 5000); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); string(got[5000:5004]) != "yyyy" {
				t.Fatalf("a read does not see the unsynced write")
			}
		},
		want: map[string]string{"a": strings.Repeat("x", 3*4096)},
	}, {
		name: "a synced new file without a synced folder is lost",
		work: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "synced", true)
		},
		want: map[string]string{},
	}, {
		name: "a new file in a synced folder keeps only its synced content",
		work: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "not synced", false)
			syncDir(t, dir)
		},
		want: map[string]string{"a": ""},
	}, {
		name: "a rename without a synced folder is lost",
		work: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "old", true)
			syncDir(t, dir)
			write(t, filepath.Join(dir, "a.tmp"), "new", true)
			if err := os.Rename(filepath.Join(dir, "a.tmp"), filepath.Join(dir, "a")); err != nil {
				t.Fatal(err)
			}
		},
		want: map[string]string{"a": "old"},
	}, {
		name: "a rename with a synced folder is kept",
		work: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "old", true)
			syncDir(t, dir)
			write(t, filepath.Join(dir, "a.tmp"), "new", true)
			if err := os.Rename(filepath.Join(dir, "a.tmp"), filepath.Join(dir, "a")); err != nil {
				t.Fatal(err)
			}
			syncDir(t, dir)
		},
		want: map[string]string{"a": "new"},
	}, {
		name: "an unlink without a synced folder is undone",
		work: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "kept", true)
			syncDir(t, dir)
			if err := os.Remove(filepath.Join(dir, "a")); err != nil {
				t.Fatal(err)
			}
		},
		want: map[string]string{"a": "kept"},
	}, {
		name: "a truncation and regrowth, synced, is kept",
		work: func(t *testing.T, dir string) {
			path := filepath.Join(dir, "a")
			write(t, path, strings.Repeat("x", 8192), true)
			syncDir(t, dir)
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 8192); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		},
		want: map[string]string{"a": string(make([]byte, 8192))},
	}, {
		name: "a new folder needs its parent synced, its file it",
		work: func(t *testing.T, dir string) {
			sub := filepath.Join(dir, "sub")
			if err := os.Mkdir(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(sub, "a"), "in sub", true)
			syncDir(t, dir)
			write(t, filepath.Join(sub, "b"), "made later", true)
			syncDir(t, sub)
			if err := os.Mkdir(filepath.Join(dir, "lost"), 0o700); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "lost", "c"), "lost", true)
			syncDir(t, filepath.Join(dir, "lost"))
		},
		// sub was synced into the root before b was made, then sub's
		// list with a and b was synced; lost was never synced into the
		// root.
		want: map[string]string{"sub/a": "in sub", "sub/b": "made later"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fsys := lazyfs.Mount(t, dir)
			tt.work(t, dir)
			if err := fsys.Cut(); err != nil {
				t.Fatal(err)
			}
			if got := files(t, dir); !maps.Equal(got, tt.want) {
				t.Fatalf("after the cut: %q, want %q", abbreviate(got), abbreviate(tt.want))
			}
		})
	}
}

// TestCutTwice: what survived one cut is durable and survives the next;
// the filesystem works after a cut.
func TestCutTwice(t *testing.T) {
	dir := t.TempDir()
	fsys := lazyfs.Mount(t, dir)
	write(t, filepath.Join(dir, "a"), "first", true)
	syncDir(t, dir)
	if err := fsys.Cut(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "b"), "second", true)
	if err := fsys.Cut(); err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), map[string]string{"a": "first"}; !maps.Equal(got, want) {
		t.Fatalf("after two cuts: %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("b after the cut: %v", err)
	}
	if fsys.Syncs() == 0 {
		t.Fatal("no fsync was counted")
	}
}

// abbreviate shortens long contents for a failure message.
func abbreviate(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		out[k] = v
	}
	return out
}

// TestMain makes the test binary, started with LAZYFS_TEST_BBOLT set, a
// child process that works on a bbolt file on lazyfs (see TestBbolt): a
// process must not fault on mmap'd pages of a FUSE filesystem it serves
// itself.
func TestMain(m *testing.M) {
	if path := os.Getenv("LAZYFS_TEST_BBOLT"); path != "" {
		var err error
		switch mode := os.Getenv("LAZYFS_TEST_BBOLT_MODE"); mode {
		case "cuts-commit":
			err = stressChild(path)
		case "cuts-create":
			var db *bolt.DB
			if db, err = bolt.Open(path, 0o600, nil); err == nil {
				err = db.Update(func(tx *bolt.Tx) error {
					m, err := tx.CreateBucket([]byte("meta"))
					if err != nil {
						return err
					}
					return m.Put([]byte("schema"), []byte{0, 0, 0, 9})
				})
				db.Close()
			}
		case "cuts-check":
			err = checkChild(path)
		default:
			err = bboltChild(path, mode)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// bboltCommits is how many transactions TestBbolt's child commits, one key
// each, with values large enough to grow the file several times.
const bboltCommits = 200

// bboltChild opens the bbolt file at path and, in mode "write", commits
// bboltCommits transactions of one key each, reading every key back
// through bbolt's mmap; in mode "check", checks the file and that every
// key is there.
func bboltChild(path, mode string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 3000) }
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%04d", i) }
	if mode == "write" {
		for i := range bboltCommits {
			err := db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return b.Put(key(i), value(i))
			})
			if err != nil {
				return err
			}
		}
	}
	return db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		b := tx.Bucket([]byte("b"))
		if b == nil {
			return errors.New("no bucket")
		}
		for i := range bboltCommits {
			if !bytes.Equal(b.Get(key(i)), value(i)) {
				return fmt.Errorf("%s does not read back", key(i))
			}
		}
		return nil
	})
}

// TestBbolt: bbolt works on lazyfs (it writes with pwrite and fdatasync
// and reads through mmap, in a child process), and what it committed
// survives a cut once the folder was synced after the file was made.
func TestBbolt(t *testing.T) {
	dir := t.TempDir()
	fsys := lazyfs.Mount(t, dir)
	path := filepath.Join(dir, "test.db")
	child := func(mode string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "LAZYFS_TEST_BBOLT="+path, "LAZYFS_TEST_BBOLT_MODE="+mode)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bbolt %s on lazyfs: %v\n%s", mode, err, out)
		}
	}
	child("write")
	syncDir(t, dir)
	if err := fsys.Cut(); err != nil {
		t.Fatal(err)
	}
	child("check")
}
