package lazyfs_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/internal/testsupport/lazyfs"
)

// stressChild commits forever into the bbolt file at path, with a reader
// that copies the file with WriteTo into a file beside it, until killed.
func stressChild(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists([]byte("meta"))
		if err != nil {
			return err
		}
		if m.Get([]byte("schema")) == nil {
			return m.Put([]byte("schema"), []byte{0, 0, 0, 9})
		}
		return nil
	}); err != nil {
		return err
	}
	go func() {
		for i := 0; ; i++ {
			f, err := os.CreateTemp(filepath.Dir(path), ".copy-*")
			if err != nil {
				panic(err)
			}
			db.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(f); return err })
			f.Close()
			os.Remove(f.Name())
		}
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("letters"))
			if err != nil {
				return err
			}
			for range 1 + rng.IntN(4) {
				seq, _ := b.NextSequence()
				k := binary.BigEndian.AppendUint64(nil, seq)
				if err := b.Put(k, bytes.Repeat([]byte{byte(seq)}, 100+rng.IntN(30000))); err != nil {
					return err
				}
			}
			m := tx.Bucket([]byte("meta"))
			return m.Put([]byte("counter"), binary.BigEndian.AppendUint64(nil, rng.Uint64()))
		})
		if err != nil {
			return err
		}
	}
}

// checkChild checks the bbolt file at path.
func checkChild(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		m := tx.Bucket([]byte("meta"))
		if m == nil || len(m.Get([]byte("schema"))) != 4 {
			return fmt.Errorf("meta bucket without schema")
		}
		return nil
	})
}

// TestBboltCuts cuts the power while a child process commits into a
// bbolt file on lazyfs and another goroutine of it copies the file with
// WriteTo (a backup), and checks after each cut that the file passes
// bbolt's check and its meta bucket holds its schema key: the power-cut
// test of the appliance cut down to bbolt and lazyfs, for when that one
// finds a damaged file. 8 cuts; LAZYFS_BBOLT_CUTS=N for N (60 take about
// a minute).
func TestBboltCuts(t *testing.T) {
	cuts := 8
	if v := os.Getenv("LAZYFS_BBOLT_CUTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("LAZYFS_BBOLT_CUTS=%q: want a number of cuts", v)
		}
		cuts = n
	}
	dir := t.TempDir()
	fsys := lazyfs.Mount(t, dir)
	path := filepath.Join(dir, "test.db")
	run := func(mode string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "LAZYFS_TEST_BBOLT="+path, "LAZYFS_TEST_BBOLT_MODE="+mode)
		return cmd
	}
	// Make the file and its name durable.
	cmd := run("cuts-create")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	syncDir(t, dir)
	seed := uint64(time.Now().UnixNano())
	t.Logf("%d cuts, seed %d", cuts, seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for round := range cuts {
		cmd := run("cuts-commit")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+rng.IntN(600)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if err := fsys.Cut(); err != nil {
			t.Fatal(err)
		}
		if cout, err := run("cuts-check").CombinedOutput(); err != nil {
			keep, _ := os.MkdirTemp("", "lazyfs-stress-")
			src, _ := os.Open(path)
			dst, _ := os.Create(filepath.Join(keep, "test.db"))
			io.Copy(dst, src)
			t.Fatalf("round %d: %v\n%s\nkept %s; child said: %s", round, err, cout, keep, out.String())
		}
	}
}
