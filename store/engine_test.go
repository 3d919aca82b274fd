package store

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/embedded"
)

// The store's tests run on the embedded engine, and on the cluster engine
// (PostgreSQL and an S3 server the tests start) when
// POSTKASSE_STORE_TEST_ENGINE=cluster, as ./test runs them the second
// time. No test is skipped in either pass. Tests that read or damage the
// embedded engine's file on purpose (the raw helpers, testDB) open an
// embedded store whichever the pass (openEmbeddedStore,
// newEmbeddedFixture); testDB fails the test on another engine. Where
// such a promise has a cluster meaning, it is kept on the engine of the
// pass by a test of the same name without "File" (TestSweepSessions and
// TestSweepSessionsFile), which reaches the cluster's rows and objects
// raw (clusterSQL, clusterCount, clusterRows, the bucket's client), or
// the file's test names the one that keeps it (TestCanariesCluster).
var onCluster = os.Getenv("POSTKASSE_STORE_TEST_ENGINE") == "cluster"

var (
	pg pgtest.Shared
	s3 s3test.Shared

	// clusterConfigs remembers the database and bucket of each test
	// store's path, so that a test reopening a store gets the same.
	clusterMu      sync.Mutex
	clusterConfigs = map[string]cluster.Config{}
	clusterPaths   = map[*Store]string{}
)

// storePath returns the path a test store was opened at, to reopen it:
// its file, or on the cluster the name its database and bucket go by.
func storePath(s *Store) string {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if p, ok := clusterPaths[s]; ok {
		return p
	}
	return s.Path()
}

func TestMain(m *testing.M) {
	code := m.Run()
	// PostgreSQL and the S3 server, when a test started them (every
	// test on the cluster engine; TestLimitsSharedByNodes on either).
	for _, close := range []func() error{pg.Close, s3.Close} {
		if err := close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// onEmbedded says whether s is on the embedded engine: a test store is on
// the engine of the pass (openTestStore), or on the embedded engine in
// both passes (openEmbeddedStore) when its test reads the file.
func onEmbedded(s *Store) bool {
	_, ok := s.eng.(*embedded.Engine)
	return ok
}

// openCluster opens a store on the cluster engine of cfg.
func openCluster(cfg cluster.Config, opts Options) (*Store, error) {
	eng, err := cluster.Open(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	s, err := New(eng, opts)
	if err != nil {
		eng.Close()
		return nil, err
	}
	return s, nil
}

// openClusterStore opens a store on the cluster engine: the database and
// bucket of path, new ones the first time.
func openClusterStore(t testing.TB, path string, opts Options) (*Store, error) {
	t.Helper()
	clusterMu.Lock()
	cfg, ok := clusterConfigs[path]
	clusterMu.Unlock()
	if !ok {
		endpoint, bucket, ak, sk := s3.NewBucket(t)
		cfg = cluster.Config{
			DatabaseURL: pg.NewDatabase(t),
			Blobs:       cluster.BlobConfig{Endpoint: endpoint, Bucket: bucket, Region: s3test.Region, AccessKey: ak, SecretKey: sk},
		}
		clusterMu.Lock()
		clusterConfigs[path] = cfg
		clusterMu.Unlock()
	}
	s, err := openCluster(cfg, opts)
	if err != nil {
		return nil, err
	}
	clusterMu.Lock()
	clusterPaths[s] = path
	clusterMu.Unlock()
	return s, nil
}

// clusterSQL runs statements on the database of a test store on the
// cluster engine, as someone with write access to the database could: the
// cluster counterpart of the raw helpers' bbolt writes.
func clusterSQL(t testing.TB, s *Store, sql ...string) {
	t.Helper()
	withClusterConn(t, s, func(ctx context.Context, conn *pgx.Conn) {
		for _, q := range sql {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	})
}

// clusterCount returns the number of rows of a table of a test store on
// the cluster engine that match where ("true" for all), read raw: rows
// the engine would not decode count too.
func clusterCount(t testing.TB, s *Store, table, where string) int {
	t.Helper()
	var n int
	withClusterConn(t, s, func(ctx context.Context, conn *pgx.Conn) {
		q := "SELECT count(*) FROM " + table + " WHERE " + where
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	})
	return n
}

// clusterConfig returns the database and bucket of a test store on the
// cluster engine.
func clusterConfig(t testing.TB, s *Store) cluster.Config {
	t.Helper()
	path := storePath(s)
	clusterMu.Lock()
	cfg, ok := clusterConfigs[path]
	clusterMu.Unlock()
	if !ok || onEmbedded(s) {
		t.Fatal("the store is not a test store on the cluster engine")
	}
	return cfg
}

func withClusterConn(t testing.TB, s *Store, fn func(context.Context, *pgx.Conn)) {
	t.Helper()
	cfg := clusterConfig(t, s)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	fn(ctx, conn)
}

// clusterRows calls fn with every row of every table of a test store on
// the cluster engine, as the database shows a row as text (bytea in hex),
// read raw: rows the engine would not decode too.
func clusterRows(t testing.TB, s *Store, fn func(table, row string)) {
	t.Helper()
	withClusterConn(t, s, func(ctx context.Context, conn *pgx.Conn) {
		rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if len(tables) < 20 {
			t.Fatalf("%d tables: the test reads the wrong database", len(tables))
		}
		for _, table := range tables {
			for _, text := range tableRows(t, ctx, conn, table) {
				fn(table, text)
			}
		}
	})
}

// tableRows returns every row of a table of the cluster's database as the
// database shows a row as text (bytea in hex).
func tableRows(t testing.TB, ctx context.Context, conn *pgx.Conn, table string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return texts
}
