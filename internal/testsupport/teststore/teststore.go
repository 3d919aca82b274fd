// Package teststore opens a store for the tests of the packages above it
// (httpui, jobs, main): a real bbolt file in the test's temporary folder,
// with cheap Argon2id, checked (the engine's consistency check and the
// store's invariants) and closed when the test ends. The store's own
// tests cannot import it (it imports store) and keep their helpers in
// store/helpers_test.go, on the same testsupport values.
package teststore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// Open opens a store on a new file in t.TempDir() with opts; a zero KDF
// is testsupport.CheapKDF. When the test ends (after the cleanups
// registered after Open, such as listeners closing) the store is checked
// and closed; the test must not close it itself.
func Open(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	if opts.KDF == (crypto.KDFParams{}) {
		opts.KDF = testsupport.CheapKDF
	}
	path := filepath.Join(t.TempDir(), "postkasse.db")
	st, err := store.Open(path, opts)
	if err != nil {
		t.Fatalf("open store %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := st.Check(context.Background()); err != nil {
			t.Errorf("store check: %v", err)
		}
		if err := st.CheckInvariants(context.Background()); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
}
