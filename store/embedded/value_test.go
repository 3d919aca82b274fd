package embedded

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// TestGetValueErrors: a missing key is ErrNotFound, and a record that does
// not decode (JSON or CBOR) is named by its key in a readable message.
func TestGetValueErrors(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("things"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("broken"), []byte("{")); err != nil {
			return err
		}
		// A CBOR map of one pair, cut short.
		if err := b.Put([]byte("cut"), []byte{0xa1, 0x62, 'I', 'D'}); err != nil {
			return err
		}
		var v struct{}
		if err := getValue(b, []byte("missing"), &v); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("missing key: %v, want ErrNotFound", err)
		}
		err = getValue(b, []byte("broken"), &v)
		if err == nil || !strings.HasPrefix(err.Error(), "decode broken: ") || strings.Contains(err.Error(), "%!") {
			t.Errorf("broken record: %v, want an error that begins \"decode broken: \"", err)
		}
		err = getValue(b, []byte("cut"), &v)
		if err == nil || !strings.HasPrefix(err.Error(), "decode cut: ") {
			t.Errorf("CBOR cut short: %v, want an error that begins \"decode cut: \"", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
