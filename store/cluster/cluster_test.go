package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/storage"
	"github.com/postkasse/postkasse/store/storage/storagetest"
)

var (
	pg pgtest.Shared
	s3 s3test.Shared
)

func TestMain(m *testing.M) {
	code := m.Run()
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

// config returns the Config of a new, empty database and bucket of the
// test's own.
func config(t testing.TB) cluster.Config {
	t.Helper()
	endpoint, bucket, ak, sk := s3.NewBucket(t)
	return cluster.Config{
		DatabaseURL: pg.NewDatabase(t),
		Blobs:       cluster.BlobConfig{Endpoint: endpoint, Bucket: bucket, Region: s3test.Region, AccessKey: ak, SecretKey: sk},
	}
}

func open(t testing.TB, cfg cluster.Config) *cluster.Engine {
	t.Helper()
	e, err := cluster.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestContract runs the seam's contract on the cluster engine.
func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Engine { return open(t, config(t)) })
}

// TestOpenRefuses: each wrong setting is one line that names what to fix,
// and never the secret.
func TestOpenRefuses(t *testing.T) {
	good := config(t)
	srv := pg.Server(t)
	const secret = "s3cr3t-never-shown"
	tests := []struct {
		name string
		edit func(c *cluster.Config)
		want string
	}{
		{"malformed database URL", func(c *cluster.Config) { c.DatabaseURL = "postgres://user:" + secret + "@[::1/x" }, "database URL"},
		{"nothing listening", func(c *cluster.Config) {
			c.DatabaseURL = "postgres://postgres:" + secret + "@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5"
		}, "cannot connect"},
		{"no such database", func(c *cluster.Config) {
			c.DatabaseURL = fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/nosuchdb?sslmode=disable", secret, srv.Port())
		}, "does not exist"},
		{"no such bucket", func(c *cluster.Config) { c.Blobs.Bucket = "no-such-bucket" }, `bucket "no-such-bucket" does not exist`},
		{"no bucket", func(c *cluster.Config) { c.Blobs.Bucket = "" }, "no bucket named"},
		{"wrong secret key", func(c *cluster.Config) { c.Blobs.SecretKey = secret }, "credentials were refused"},
		{"endpoint not a URL", func(c *cluster.Config) { c.Blobs.Endpoint = "ftp://example" }, "want http://host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			e, err := cluster.Open(context.Background(), cfg)
			if err == nil {
				e.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Contains(msg, secret) {
				t.Errorf("Open: %q, want one line with %q and without the secret", msg, tt.want)
			}
		})
	}
}

// TestSchemaNewer: a database that newer code upgraded is refused.
func TestSchemaNewer(t *testing.T) {
	cfg := config(t)
	open(t, cfg).Close()
	conn, err := pgx.Connect(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE schema_version SET version = $1`, cluster.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err = cluster.Open(context.Background(), cfg)
	if !errors.Is(err, cluster.ErrSchemaNewer) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaNewer", err)
	}
}

// TestReadOnly: an engine opened read-only (the auditor's commands) reads,
// changes nothing (not even the schema: a database without one, or with
// an older one, is refused rather than upgraded), and refuses Update.
func TestReadOnly(t *testing.T) {
	cfg := config(t)
	ro := cfg
	ro.ReadOnly = true
	if _, err := cluster.Open(context.Background(), ro); err == nil || !strings.Contains(err.Error(), "no Postkasse schema") {
		t.Fatalf("read-only Open of an empty database: %v", err)
	}
	w := open(t, cfg)
	if err := w.Update(context.Background(), func(tx storage.Tx) error { return tx.Meta().Put("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	w.Close()
	e, err := cluster.Open(context.Background(), ro)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.View(context.Background(), func(tx storage.Tx) error {
		v, err := tx.Meta().Get("k")
		if err == nil && string(v) != "v" {
			return fmt.Errorf("read %q", v)
		}
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if err := e.Update(context.Background(), func(tx storage.Tx) error { return tx.Meta().Put("k", []byte("w")) }); !errors.Is(err, cluster.ErrReadOnly) {
		t.Fatalf("Update on a read-only engine: %v, want ErrReadOnly", err)
	}
	if _, err := e.SweepBlobs(context.Background(), time.Now()); !errors.Is(err, cluster.ErrReadOnly) {
		t.Fatalf("SweepBlobs on a read-only engine: %v, want ErrReadOnly", err)
	}
	if _, err := e.Blobs().Write(context.Background(), "letter", 0, strings.NewReader("x")); !errors.Is(err, cluster.ErrReadOnly) {
		t.Fatalf("a blob written on a read-only engine: %v, want ErrReadOnly", err)
	}
	// Older schema: refused, not upgraded.
	conn, err := pgx.Connect(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE schema_version SET version = $1`, cluster.SchemaVersion()-1); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Open(context.Background(), ro); err == nil || !strings.Contains(err.Error(), "start a node of this version") {
		t.Fatalf("read-only Open of an older schema: %v", err)
	}
}

// TestNodesStartTogether: several nodes opening a new database at once
// all start, on one schema.
func TestNodesStartTogether(t *testing.T) {
	cfg := config(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			e, err := cluster.Open(context.Background(), cfg)
			if err == nil {
				e.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

// TestConflictsRunAgain: concurrent transactions that conflict (each
// appends to the audit log, whose numbers are gapless) all commit, by
// running again after a serialisation failure.
func TestConflictsRunAgain(t *testing.T) {
	e := open(t, config(t))
	defer e.Close()
	const workers, each = 6, 5
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range workers {
		wg.Go(func() {
			for range each {
				err := e.Update(context.Background(), func(tx storage.Tx) error {
					size, err := tx.Audit().Size()
					if err != nil {
						return err
					}
					var a auditlog.Appender
					_, err = a.Append(tx.Audit(), auditlog.Entry{Index: size, Time: time.Now(), Actor: "system", Action: "test", Object: "x"})
					return err
				})
				if err != nil {
					t.Error(err)
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	v, err := auditlog.NewNoteVerifier("test", make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.View(context.Background(), func(tx storage.Tx) error {
		report, err := auditlog.Verify(tx.Audit(), v, auditlog.Evidence{})
		if err != nil {
			return err
		}
		if !report.OK() || report.Size != workers*each {
			t.Errorf("the log after concurrent appends: %s", report)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// objectKeys lists the bucket's objects.
func objectKeys(t *testing.T, cfg cluster.Config) []string {
	t.Helper()
	client := s3.Server(t).Client(t)
	var keys []string
	for o := range client.ListObjects(context.Background(), cfg.Blobs.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}

// TestBlobLifecycle: a letter's objects go when the transaction deleting
// its documents commits, not when it fails; the sweep deletes objects
// attached to nothing once they are older than the grace period.
func TestBlobLifecycle(t *testing.T) {
	cfg := config(t)
	e := open(t, cfg)
	defer e.Close()
	ctx := context.Background()
	write := func(letter string) storage.Blob {
		b, err := e.Blobs().Write(ctx, letter, 0, bytes.NewReader([]byte("sealed "+letter)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kept, gone := write("l1"), write("l2")
	orphan := write("l3") // the node "died" before its transaction
	if err := e.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Documents().Put("l1", []storage.Blob{kept}); err != nil {
			return err
		}
		return tx.Documents().Put("l2", []storage.Blob{gone})
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := e.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Documents().Delete("l2", 1); err != nil {
			return err
		}
		return boom
	}); err != boom {
		t.Fatalf("Update = %v", err)
	}
	if got := objectKeys(t, cfg); len(got) != 3 {
		t.Fatalf("after a failed delete: %v, want all three objects", got)
	}
	if err := e.Update(ctx, func(tx storage.Tx) error { return tx.Documents().Delete("l2", 1) }); err != nil {
		t.Fatal(err)
	}
	want := []string{kept.Key(), orphan.Key()}
	slices.Sort(want)
	if got := objectKeys(t, cfg); !slices.Equal(got, want) {
		t.Fatalf("after deleting l2's document: %v, want %v", got, want)
	}
	// Young orphans stay (a delivery may be about to commit them).
	if n, err := e.SweepBlobs(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep of young objects: %d, %v", n, err)
	}
	if n, err := e.SweepBlobs(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want the one orphan", n, err)
	}
	if got := objectKeys(t, cfg); !slices.Equal(got, []string{kept.Key()}) {
		t.Fatalf("after the sweep: %v, want only %s", got, kept.Key())
	}
}

// TestCheckFindsFaults: Check reports a document whose object is gone and
// an index column that disagrees with its record.
func TestCheckFindsFaults(t *testing.T) {
	cfg := config(t)
	e := open(t, cfg)
	defer e.Close()
	ctx := context.Background()
	b, err := e.Blobs().Write(ctx, "l1", 0, bytes.NewReader([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Residents().Put(&storage.Resident{ID: "r1", NationalID: "0101900001", Status: storage.ResidentActive}); err != nil {
			return err
		}
		if err := tx.Support().Put(&storage.SupportRequest{ID: "q1", ResidentID: "r1", Created: time.Now()}); err != nil {
			return err
		}
		if err := tx.Events().Append(&storage.Event{SenderID: "s1", Type: "delivered", LetterID: "l1", SenderReference: "ref", At: time.Now()}); err != nil {
			return err
		}
		if err := tx.Folders().Put("r1", []storage.Folder{{ID: "f1", Name: []byte("sealed"), Created: time.Now()}}); err != nil {
			return err
		}
		return tx.Documents().Put("l1", []storage.Blob{b})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s3.Server(t).Client(t).RemoveObject(ctx, cfg.Blobs.Bucket, b.Key(), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`UPDATE residents SET national_id = '0101900009'`,
		`UPDATE support_requests SET resident_id = 'r2'`,
		`UPDATE events SET at = at + interval '1 hour'`,
		`UPDATE folders SET record = 'not json'`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	err = e.Check(ctx)
	for _, want := range []string{"resident r1: columns", "document l1/0: no such letter", "missing from the bucket",
		"support request q1: columns", "event s1/", "r1: record does not decode"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v, want %q", err, want)
		}
	}
}

// TestOutages: with the database or the object store stopped, the engine
// answers ErrUnavailable and stores nothing; when they are back it works
// again without being opened anew.
func TestOutages(t *testing.T) {
	pgSrv := pgtest.Start(t)
	s3Srv := s3test.Start(t)
	endpoint, bucket, ak, sk := s3Srv.NewBucket(t)
	cfg := cluster.Config{DatabaseURL: pgSrv.NewDatabase(t),
		Blobs: cluster.BlobConfig{Endpoint: endpoint, Bucket: bucket, Region: s3test.Region, AccessKey: ak, SecretKey: sk}}
	e := open(t, cfg)
	defer e.Close()
	ctx := context.Background()
	put := func(i int) error {
		return e.Update(ctx, func(tx storage.Tx) error {
			return tx.Meta().Put(fmt.Sprintf("k%d", i), []byte("v"))
		})
	}
	if err := put(1); err != nil {
		t.Fatal(err)
	}
	if err := pgSrv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := put(2); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Update with the database stopped: %v, want ErrUnavailable", err)
	}
	if err := e.View(ctx, func(storage.Tx) error { return nil }); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("View with the database stopped: %v, want ErrUnavailable", err)
	}
	if err := pgSrv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := put(3); err != nil {
		t.Errorf("Update after the database came back: %v", err)
	}
	if err := e.View(ctx, func(tx storage.Tx) error {
		if _, err := tx.Meta().Get("k2"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the change made during the outage: %v, want none", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := s3Srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Blobs().Write(ctx, "l1", 0, bytes.NewReader([]byte("x"))); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Write with the object store stopped: %v, want ErrUnavailable", err)
	}
	if err := s3Srv.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Blobs().Write(ctx, "l1", 0, bytes.NewReader([]byte("x"))); err != nil {
		t.Errorf("Write after the object store came back: %v", err)
	}
}

// TestSchema3Backfill: the step to schema 3 sets the unread and due
// columns of the letters there were by storage.Letter.Unread and Due, so
// the counts and due dates of a database upgraded are right, and the
// sessions' times from their records, so they are swept when they end;
// Check finds a column that disagrees with its record.
func TestSchema3Backfill(t *testing.T) {
	cfg := config(t)
	e := open(t, cfg)
	resident := strings.Repeat("a", 32)
	yes, no := true, false
	letters := []*storage.Letter{
		{ID: strings.Repeat("1", 32)},                                  // never opened
		{ID: strings.Repeat("2", 32), ReadAt: time.Unix(1e9, 0).UTC()}, // opened
		{ID: strings.Repeat("3", 32), ReadMark: &yes},                  // marked read
		{ID: strings.Repeat("4", 32), ReadAt: time.Unix(1e9, 0).UTC(), ReadMark: &no, DueDate: "2027-01-31"},
	}
	err := e.Update(context.Background(), func(tx storage.Tx) error {
		for i, l := range letters {
			l.ResidentID, l.SenderID, l.SenderReference = resident, strings.Repeat("b", 32), fmt.Sprint(i)
			l.DeliveredAt = time.Unix(int64(1e9+i), 0).UTC()
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		// A session of before, which the upgrade must keep and sweep
		// by its record's times.
		return tx.Sessions().Put([]byte("session-1"), &storage.Session{ResidentID: resident, Wrap: []byte("w"),
			Created: time.Unix(1e9, 0).UTC(), LastSeen: time.Unix(1e9+60, 0).UTC(), Expires: time.Unix(1e9+3600, 0).UTC()})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	// Back to schema 2, as a database of the code before: no column.
	conn, err := pgx.Connect(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), downTo3+`ALTER TABLE letters DROP COLUMN unread; ALTER TABLE letters DROP COLUMN due; ALTER TABLE letters DROP COLUMN deleted_at;
		DROP TABLE search_indexes; ALTER TABLE sessions DROP COLUMN expires; ALTER TABLE sessions DROP COLUMN last_seen;
		UPDATE schema_version SET version = 2`); err != nil {
		t.Fatal(err)
	}
	e = open(t, cfg)
	defer e.Close()
	if got := e.Upgraded(); !slices.Equal(got, []string{"schema 2 to 3", "schema 3 to 4", "schema 4 to 5", "schema 5 to 6", "schema 6 to 7"}) {
		t.Errorf("upgrade did %q", got)
	}
	err = e.View(context.Background(), func(tx storage.Tx) error {
		n, err := tx.Letters().FolderUnread(resident, "")
		if err == nil && n != 2 {
			err = fmt.Errorf("%d unread after the upgrade, want 2", n)
		}
		if err != nil {
			return err
		}
		due, _, err := tx.Letters().Due(resident, "", 10)
		if err == nil && (len(due) != 1 || due[0].LetterID != letters[3].ID || due[0].Due != "2027-01-31") {
			err = fmt.Errorf("due dates after the upgrade: %+v", due)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	if err := e.Check(context.Background()); err != nil {
		t.Errorf("Check after the upgrade: %v", err)
	}
	// The session kept its times: not expired a second before its end,
	// swept at it.
	sweep := func(now time.Time) int {
		t.Helper()
		var n int
		if err := e.Update(context.Background(), func(tx storage.Tx) error {
			var err error
			n, err = tx.Sessions().DeleteExpired(now, time.Unix(0, 0), 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sweep(time.Unix(1e9+3599, 0)); n != 0 {
		t.Errorf("%d sessions swept before the end of their lifetime", n)
	}
	if n := sweep(time.Unix(1e9+3600, 0)); n != 1 {
		t.Errorf("%d sessions swept at the end of their lifetime, want 1", n)
	}
	// Check compares the columns with the records.
	for _, sql := range []string{`UPDATE letters SET unread = NOT unread WHERE id = '` + letters[1].ID + `'`,
		`UPDATE letters SET due = '2027-02-01' WHERE id = '` + letters[0].ID + `'`} {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	err = e.Check(context.Background())
	for _, id := range []string{letters[0].ID, letters[1].ID} {
		if err == nil || !strings.Contains(err.Error(), "letter "+id+": columns disagree") {
			t.Errorf("Check with a wrong column of letter %s: %v", id, err)
		}
	}
}

// downTo3 takes a database of schema 4 back to schema 3: no counts, no
// callbacks, no scheduled letters.
const downTo3 = `DROP TABLE delegations; DROP TABLE replies; DROP TABLE print_queue; DROP TABLE mailbox_counts; DROP TABLE callbacks; DROP TABLE callback_outbox; ALTER TABLE letters DROP COLUMN release_at; UPDATE schema_version SET version = 3;
`

// TestSchema4Counts: the upgrade to schema 4 counts the letters there
// are (in every folder, unread, due, tombstones not counted), the
// counts then follow every change, and Check finds a count that
// disagrees with the letters.
func TestSchema4Counts(t *testing.T) {
	cfg := config(t)
	e := open(t, cfg)
	anna, bo := strings.Repeat("a", 32), strings.Repeat("d", 32)
	yes := true
	letters := []*storage.Letter{
		{ID: strings.Repeat("1", 32), ResidentID: anna},                                        // unread, inbox
		{ID: strings.Repeat("2", 32), ResidentID: anna, ReadMark: &yes, DueDate: "2027-01-31"}, // read, due
		{ID: strings.Repeat("3", 32), ResidentID: anna, Folder: "archive"},                     // unread, archive
		{ID: strings.Repeat("4", 32), ResidentID: anna, Deleted: time.Unix(2e9, 0).UTC()},      // a tombstone
		{ID: strings.Repeat("5", 32), ResidentID: bo, DueDate: "2027-02-01"},                   // Bo's
	}
	err := e.Update(context.Background(), func(tx storage.Tx) error {
		for i, l := range letters {
			l.SenderID, l.SenderReference = strings.Repeat("b", 32), fmt.Sprint(i)
			l.DeliveredAt = time.Unix(int64(1e9+i), 0).UTC()
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	conn, err := pgx.Connect(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), downTo3); err != nil {
		t.Fatal(err)
	}
	e = open(t, cfg)
	defer e.Close()
	if got := e.Upgraded(); !slices.Equal(got, []string{"schema 3 to 4", "schema 4 to 5", "schema 5 to 6", "schema 6 to 7"}) {
		t.Errorf("upgrade did %q", got)
	}
	counts := func() string {
		t.Helper()
		var out []string
		err := e.View(context.Background(), func(tx storage.Tx) error {
			for _, res := range []string{anna, bo} {
				var line []int
				for _, f := range []string{"", "archive"} {
					n, err := tx.Letters().FolderCount(res, f)
					if err != nil {
						return err
					}
					u, err := tx.Letters().FolderUnread(res, f)
					if err != nil {
						return err
					}
					line = append(line, n, u)
				}
				d, err := tx.Letters().DueCount(res)
				if err != nil {
					return err
				}
				out = append(out, fmt.Sprint(append(line, d)))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	// Anna: inbox 2 letters (1 unread), archive 1 (1 unread), 1 due; Bo:
	// inbox 1 (1 unread), 1 due.
	if got, want := counts(), "[2 1 1 1 1] [1 1 0 0 1]"; got != want {
		t.Errorf("counts after the upgrade %s, want %s", got, want)
	}
	if err := e.Check(context.Background()); err != nil {
		t.Errorf("Check after the upgrade: %v", err)
	}
	// Archiving Anna's due letter: the counts follow.
	err = e.Update(context.Background(), func(tx storage.Tx) error {
		l, err := tx.Letters().Get(letters[1].ID)
		if err != nil {
			return err
		}
		l.Folder = "archive"
		return tx.Letters().Put(l)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := counts(), "[1 1 2 1 0] [1 1 0 0 1]"; got != want {
		t.Errorf("counts after archiving %s, want %s", got, want)
	}
	if _, err := conn.Exec(context.Background(), `UPDATE mailbox_counts SET unread = 7 WHERE resident_id = '`+bo+`'`); err != nil {
		t.Fatal(err)
	}
	if err := e.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "mailbox counts of resident "+bo) {
		t.Errorf("Check with a wrong count: %v", err)
	}
}
