// Package teststore opens a store for the tests of the packages above it
// (httpui, jobs, main): a real bbolt file in the test's temporary folder,
// or several stores on one database and bucket of the cluster engine (the
// nodes of a cluster), with cheap Argon2id, checked (the engine's
// consistency check and the store's invariants) and closed when the test
// ends. The store's own
// tests cannot import it (it imports store) and keep their helpers in
// store/helpers_test.go, on the same testsupport values.
package teststore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/cluster"
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

// OpenCluster opens nodes stores on one new database of pg and one new
// bucket of s3, as that many nodes of a cluster share them, each with
// its own connections; a zero KDF is testsupport.CheapKDF. When the test
// ends the first is checked and all are closed; the test must not close
// them itself.
func OpenCluster(t testing.TB, pg *pgtest.Shared, s3 *s3test.Shared, nodes int, opts store.Options) []*store.Store {
	t.Helper()
	if opts.KDF == (crypto.KDFParams{}) {
		opts.KDF = testsupport.CheapKDF
	}
	endpoint, bucket, ak, sk := s3.NewBucket(t)
	cfg := cluster.Config{
		DatabaseURL: pg.NewDatabase(t),
		Blobs:       cluster.BlobConfig{Endpoint: endpoint, Bucket: bucket, Region: s3test.Region, AccessKey: ak, SecretKey: sk},
	}
	stores := make([]*store.Store, nodes)
	for i := range stores {
		eng, err := cluster.Open(context.Background(), cfg)
		if err != nil {
			t.Fatalf("open the cluster engine: %v", err)
		}
		if stores[i], err = store.New(eng, opts); err != nil {
			eng.Close()
			t.Fatalf("open store on the cluster engine: %v", err)
		}
	}
	t.Cleanup(func() {
		if err := stores[0].Check(context.Background()); err != nil {
			t.Errorf("store check: %v", err)
		}
		if err := stores[0].CheckInvariants(context.Background()); err != nil {
			t.Errorf("store invariants: %v", err)
		}
		for _, st := range stores {
			if err := st.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		}
	})
	return stores
}
