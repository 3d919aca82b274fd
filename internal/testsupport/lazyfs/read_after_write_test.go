package lazyfs_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport/lazyfs"
)

// TestReadAfterWrite: a read of a page after a write to it returned sees
// that write, while other readers of the file (a backup copying it with
// pread, as bbolt's WriteTo does) make the kernel ask for the file's
// attributes and read ahead. The kernel marks a fully written page up to
// date and unlocks it before it sends the write; were it to drop its cached
// pages then (on a changed mtime, or on open), a read ahead could fetch the
// page's old content from the filesystem before the write reached it, and
// keep it: bbolt would read a page it had just written as it was before.
func TestReadAfterWrite(t *testing.T) {
	dir := t.TempDir()
	lazyfs.Mount(t, dir)
	path := filepath.Join(dir, "pages")
	const pages = 512
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(pages * 4096); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var target atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r, err := os.Open(path) // an open of its own, as a second process would
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Close()
			buf := make([]byte, 16<<10)
			for !stop.Load() {
				r.ReadAt(buf, max(0, target.Load()-2)*4096)
				if _, err := r.Stat(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	page, got := make([]byte, 4096), make([]byte, 4096)
	deadline := time.Now().Add(3 * time.Second)
	stale := 0
	for n := uint64(1); time.Now().Before(deadline) && stale == 0; n++ {
		p := int64(n % pages)
		target.Store(p)
		binary.BigEndian.PutUint64(page, n)
		copy(page[8:], bytes.Repeat([]byte{byte(n)}, 4088))
		if _, err := f.WriteAt(page, p*4096); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ReadAt(got, p*4096); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, page) {
			stale++
			t.Errorf("write %d: page %d read back as write %d", n, p, binary.BigEndian.Uint64(got))
		}
	}
	stop.Store(true)
	wg.Wait()
}
