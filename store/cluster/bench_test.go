package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/cputime"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/storage"
)

// benchKDF keeps the benchmarks' sign-ins cheap; deliveries do not use it.
var benchKDF = crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// benchRecordBytes approximates what a letter stores in the database
// besides its document: the record with sealed key, subject, body, file
// name and receipt, its index entries, the audit entry and the
// notification.
const benchRecordBytes = 2500

// BenchmarkDeliver measures Store.Deliver on the cluster engine (one or
// two nodes, each an engine and a store on the same database and bucket,
// the senders spread over them) and, in the same run, a baseline: a plain
// program writing the same bytes straight to the object store (the sealed
// document) and to PostgreSQL (one row of the record's size, in its own
// transaction), with the same number of concurrent writers. Half the
// baseline runs before the store and half after. It reports both rates,
// their ratio, and this process's CPU time per letter (PostgreSQL's and
// the object store's own CPU is not in it).
//
//	go test ./store/cluster -run '^$' -bench Deliver -benchtime 200x -count 3
func BenchmarkDeliver(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"100KB", 100 << 10}} {
		for _, c := range []struct{ senders, nodes int }{{1, 1}, {32, 1}, {32, 2}} {
			b.Run(fmt.Sprintf("size=%s/senders=%d/nodes=%d", size.name, c.senders, c.nodes), func(b *testing.B) {
				benchDeliver(b, size.bytes, c.senders, c.nodes)
			})
		}
	}
}

func benchDeliver(b *testing.B, size, senders, nodes int) {
	ctx := context.Background()
	cfg := config(b)
	content := make([]byte, size)
	copy(content, "%PDF-1.4\n")
	rand.Read(content[9:])
	base := newBaseline(b, cfg, crypto.SealedDocumentSize(size), benchRecordBytes)
	baseline := base.run(b, b.N/2, senders)

	var stores []*store.Store
	for range nodes {
		e := open(b, cfg)
		s, err := store.New(e, store.Options{KDF: benchKDF})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	nid, err := store.ParseNationalID("0101901234")
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := stores[0].AddResident(context.Background(), nid, "Bench Resident", "bench-password-2026"); err != nil {
		b.Fatal(err)
	}
	snd, err := stores[0].AddSender(context.Background(), "Bench Sender", "12345674", store.SenderPublic)
	if err != nil {
		b.Fatal(err)
	}

	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu0 := processCPU()
	elapsed := testsupport.Concurrently(b, b.N, senders, func(g, i int) error {
		_, err := stores[g%nodes].Deliver(context.Background(), snd.ID, store.Delivery{
			Recipient: nid, Subject: "Benchmark letter", SenderReference: fmt.Sprintf("bench-%d-%d", g, i),
			Documents: []store.DocumentInput{{Name: "letter.pdf", ContentType: "application/pdf", Content: content}},
		})
		return err
	})
	cpu := processCPU() - cpu0
	b.StopTimer()
	baseline += base.run(b, b.N-b.N/2, senders)

	rate := float64(b.N) / elapsed.Seconds()
	baseRate := float64(b.N) / baseline.Seconds()
	b.ReportMetric(rate, "letters/s")
	b.ReportMetric(baseRate, "baseline-letters/s")
	b.ReportMetric(rate/baseRate, "ratio")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/letter")
	_ = ctx
}

// baseline writes letters' bytes straight to the database and the bucket.
type baseline struct {
	pool        *pgxpool.Pool
	client      *minio.Client
	bucket      string
	object, row []byte
	seq         atomic.Int64
}

func newBaseline(b *testing.B, cfg cluster.Config, objectBytes, rowBytes int) *baseline {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_baseline (id bigint PRIMARY KEY, payload bytea NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	bl := &baseline{pool: pool, client: s3.Server(b).Client(b), bucket: cfg.Blobs.Bucket,
		object: make([]byte, objectBytes), row: make([]byte, rowBytes)}
	rand.Read(bl.object)
	rand.Read(bl.row)
	return bl
}

// run writes n letters with the given number of concurrent writers and
// returns how long that took.
func (bl *baseline) run(b *testing.B, n, writers int) time.Duration {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range writers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				id := bl.seq.Add(1)
				if _, err := bl.client.PutObject(ctx, bl.bucket, fmt.Sprintf("baseline/%d", id), bytesReader(bl.object),
					int64(len(bl.object)), minio.PutObjectOptions{DisableContentSha256: true}); err != nil {
					b.Error(err)
					return
				}
				if _, err := bl.pool.Exec(ctx, `INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)`, id, bl.row); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(t0)
}

// BenchmarkInbox measures opening an inbox of 10,000 letters (every
// letter's sealed subject is opened) on the embedded engine and on the
// cluster engine; its figure is ns/op, one whole inbox.
//
//	go test ./store/cluster -run '^$' -bench Inbox -benchtime 5x
func BenchmarkInbox(b *testing.B) {
	for _, engine := range []string{"embedded", "cluster"} {
		b.Run("letters=10000/engine="+engine, func(b *testing.B) {
			var s *store.Store
			var err error
			if engine == "embedded" {
				s, err = store.Open(filepath.Join(b.TempDir(), "postkasse.db"), store.Options{KDF: benchKDF})
			} else {
				s, err = store.New(open(b, config(b)), store.Options{KDF: benchKDF})
			}
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchInbox(b, s, 10000)
		})
	}
}

func benchInbox(b *testing.B, s *store.Store, letters int) {
	nid, err := store.ParseNationalID("0101901234")
	if err != nil {
		b.Fatal(err)
	}
	const password = "bench-password-2026"
	if _, _, err := s.AddResident(context.Background(), nid, "Bench Resident", password); err != nil {
		b.Fatal(err)
	}
	snd, err := s.AddSender(context.Background(), "Bench Sender", "12345674", store.SenderPublic)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(letters) {
					return
				}
				d := store.Delivery{Recipient: nid, Subject: fmt.Sprintf("Letter %d", i), SenderReference: fmt.Sprintf("ref-%d", i),
					Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("hello")}}}
				if _, err := s.Deliver(context.Background(), snd.ID, d); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	sess, err := s.Login(context.Background(), nid.String(), password)
	if err != nil {
		b.Fatal(err)
	}
	mb, err := s.OpenSession(context.Background(), sess.Token)
	if err != nil {
		b.Fatal(err)
	}
	defer mb.Close()
	b.ResetTimer()
	for range b.N {
		inbox, err := mb.Inbox(context.Background())
		if err != nil || len(inbox) != letters {
			b.Fatalf("inbox of %d letters, %v", len(inbox), err)
		}
	}
}

var _ storage.Engine = (*cluster.Engine)(nil)

// processCPU is the process's CPU time so far (zero where the platform
// does not report it).
func processCPU() time.Duration {
	d, _ := cputime.Process()
	return d
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
