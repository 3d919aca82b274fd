package embedded

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"

	bolt "go.etcd.io/bbolt"
)

// TestSweepOrphanIndexEntry: an entry of the sessions' expiry index whose
// record is gone (a damaged file) is removed by the sweep and not counted,
// so the hourly sweep cannot loop on it for ever.
func TestSweepOrphanIndexEntry(t *testing.T) {
	e, err := Open(filepath.Join(t.TempDir(), "postkasse.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	past := time.Unix(1e9, 0)
	if err := e.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessionsByExpiry).Put(timeKey(past, []byte("no such session")), nil)
	}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.Update(context.Background(), func(tx storage.Tx) (err error) {
		n, err = tx.Sessions().DeleteExpired(time.Unix(2e9, 0), past, 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("DeleteExpired counted %d sessions, want 0", n)
	}
	if err := e.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketSessionsByExpiry).Cursor().First(); k != nil {
			t.Errorf("the orphan entry %q is still in the index", k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
