package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/cputime"
)

// BenchmarkDeliver measures deliveries through Store.Deliver on a real
// file with the default durability (bbolt fsyncs every commit), and, in
// the same run, a baseline: the same number of bytes appended to a plain
// file with an fsync every letter (one sender) or every 32 letters (32
// senders: a perfect group commit). It reports both rates and their ratio,
// so the figure that matters does not depend on the machine's disk, and
// the process's CPU time per letter and share of the CPUs while the store
// ran (cpu-us/letter, cpu-use), which tell a CPU-bound run from a stalled
// one.
//
//	go test ./store -run '^$' -bench Deliver -benchtime 400x -count 3
func BenchmarkDeliver(b *testing.B) { benchDeliveryCases(b, benchDeliver) }

// The cases, the record overhead and the fsync baseline are shared with
// httpui's BenchmarkDeliverAPI (internal/testsupport/bench.go).
var (
	benchDeliveryCases = testsupport.DeliveryBenchCases
	benchBaseline      = testsupport.FsyncBaseline
)

const benchRecordOverhead = testsupport.BenchRecordOverhead

func benchDeliver(b *testing.B, size, senders int) { benchDeliverTo(b, size, senders, 2) }

// benchDeliverTo is benchDeliver with letters sealed in the envelope
// version given: 2 to a resident with both key halves, 1 to a resident
// whose record has only the X25519 key (as before the ML-KEM upgrade).
// It reports the sealed data key's size too.
func benchDeliverTo(b *testing.B, size, senders, envelope int) {
	content := make([]byte, size)
	copy(content, "%PDF-1.4\n")
	if _, err := rand.Read(content[9:]); err != nil {
		b.Fatal(err)
	}
	// The baseline: the bytes the store writes for a letter, at least.
	perLetter := crypto.SealedDocumentSize(size) + benchRecordOverhead
	syncEvery := 1
	if senders > 1 {
		syncEvery = senders
	}
	// Half the baseline runs before the store and half after, so a change
	// in the machine's load during the run affects both alike.
	baseFile := filepath.Join(b.TempDir(), "baseline")
	baseline := benchBaseline(b, baseFile, b.N/2, perLetter, syncEvery)

	s, err := Open(filepath.Join(b.TempDir(), "postkasse.db"), Options{KDF: cheapKDF})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	nid := testNID(b, 1)
	resident := mustResident(b, s, nid, "Bench Resident")
	if envelope == 1 {
		benchDropMLKEM(b, s, resident.ID)
	}
	snd := mustSender(b, s, "Bench Sender", "12345674", SenderPublic)
	start := s.commits.Load()

	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu0, cpuOK := cputime.Process()
	elapsed := testsupport.Concurrently(b, b.N, senders, func(g, i int) error {
		_, err := s.Deliver(context.Background(), snd.ID, Delivery{
			Recipient: nid, Subject: "Benchmark letter", SenderReference: fmt.Sprintf("bench-%d-%d", g, i),
			Documents: []DocumentInput{{Name: "letter.pdf", ContentType: "application/pdf", Content: content}},
		})
		return err
	})
	cpu1, _ := cputime.Process()
	b.StopTimer()
	baseline += benchBaseline(b, baseFile, b.N-b.N/2, perLetter, syncEvery)

	rate := float64(b.N) / elapsed.Seconds()
	baseRate := float64(b.N) / baseline.Seconds()
	b.ReportMetric(rate, "letters/s")
	b.ReportMetric(baseRate, "baseline-letters/s")
	b.ReportMetric(rate/baseRate, "ratio")
	b.ReportMetric(float64(b.N)/float64(s.commits.Load()-start), "letters/commit")
	b.ReportMetric(float64(benchSealedKeySize(b, s, snd.ID, envelope)), "sealed-key-bytes")
	st := s.testDB(b).Stats()
	b.ReportMetric(float64(st.TxStats.GetPageCount())/float64(b.N), "pages/letter")
	if cpuOK {
		// The process's CPU time while the store ran (the senders, the
		// committer, the garbage collector and the kernel's work for the
		// process), per letter and as a share of the CPUs Go may use.
		cpu := cpu1 - cpu0
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/letter")
		b.ReportMetric(cpu.Seconds()/(elapsed.Seconds()*float64(runtime.GOMAXPROCS(0))), "cpu-use")
	}
}

// BenchmarkCommit measures the committer alone, without the sealing that
// competes with it for the CPU in BenchmarkDeliver: letters prepared
// beforehand as Deliver prepares them are committed in batches of 16 by
// one goroutine. It reports the commit's time per letter (and as letters
// a second) and bbolt's share of it (spill: building the pages; write:
// writing and fsyncing them), the pages written per letter, the measure
// of write amplification, and the file's growth over the documents' bytes
// (disk-x); it logs each bucket's growth per letter (where the bytes went).
//
//	go test ./store -run '^$' -bench Commit -benchtime 1600x -count 3
func BenchmarkCommit(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"100KB", 100 << 10}} {
		b.Run("size="+size.name, func(b *testing.B) {
			size := size.bytes
			content := make([]byte, size)
			copy(content, "%PDF-1.4\n")
			if _, err := rand.Read(content[9:]); err != nil {
				b.Fatal(err)
			}
			s, err := Open(filepath.Join(b.TempDir(), "postkasse.db"), Options{KDF: cheapKDF})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			nid := testNID(b, 1)
			mustResident(b, s, nid, "Bench Resident")
			snd := mustSender(b, s, "Bench Sender", "12345674", SenderPublic)
			const batch = 16
			var commitTime time.Duration
			st0 := s.testDB(b).Stats()
			used0 := usedBytes(b, s)
			buckets0 := bucketSpace(b, s)
			for i := 0; i < b.N; i += batch {
				var ps []*pendingDelivery
				for j := i; j < i+batch && j < b.N; j++ {
					d := Delivery{Recipient: nid, Subject: "x", SenderReference: fmt.Sprintf("r-%d", j), Type: TypeLetter,
						Documents: []DocumentInput{{Name: "a.pdf", ContentType: "application/pdf", Content: content}}}
					if err := s.checkFields(&d); err != nil {
						b.Fatal(err)
					}
					ds, err := s.NewDocuments()
					if err != nil {
						b.Fatal(err)
					}
					if err := ds.Add(context.Background(), d.Documents[0]); err != nil {
						b.Fatal(err)
					}
					p, _, err := s.prepare(context.Background(), snd.ID, &d, nil, ds, contentHashOf(&d, ds.hashed()))
					if err != nil {
						b.Fatal(err)
					}
					ps = append(ps, p)
				}
				t0 := time.Now()
				s.commit(ps)
				commitTime += time.Since(t0)
				for _, p := range ps {
					if p.err != nil {
						b.Fatal(p.err)
					}
				}
			}
			used1 := usedBytes(b, s)
			st1 := s.testDB(b).Stats()
			st := st1.Sub(&st0)
			b.ReportMetric(float64(used1-used0)/float64(b.N*size), "disk-x")
			logBucketSpace(b, buckets0, bucketSpace(b, s), b.N)
			b.ReportMetric(float64(commitTime.Microseconds())/float64(b.N), "commit-us/letter")
			b.ReportMetric(float64(b.N)/commitTime.Seconds(), "letters/s")
			b.ReportMetric(float64(st.TxStats.GetSpillTime().Microseconds())/float64(b.N), "spill-us/letter")
			b.ReportMetric(float64(st.TxStats.GetWriteTime().Microseconds())/float64(b.N), "write-us/letter")
			b.ReportMetric(float64(st.TxStats.GetPageCount())/float64(b.N), "pages/letter")
		})
	}
}

// space is what a bucket takes: the bytes of its pages (with overflow)
// and the bytes of them in use, by bbolt's Bucket.Stats.
type space struct{ paged, inuse int }

// bucketSpace returns the space of each top-level bucket, sub-buckets
// counted in their parent's.
func bucketSpace(tb testing.TB, s *Store) map[string]space {
	tb.Helper()
	out := map[string]space{}
	db := s.testDB(tb)
	if err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			st := b.Stats()
			out[string(name)] = space{paged: (st.BranchPageN + st.BranchOverflowN + st.LeafPageN + st.LeafOverflowN) * db.Info().PageSize,
				inuse: st.BranchInuse + st.LeafInuse}
			return nil
		})
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// logBucketSpace logs where the letters' bytes went: each bucket's growth
// in pages (as bytes) and in bytes in use, per letter, largest first.
func logBucketSpace(b *testing.B, before, after map[string]space, letters int) {
	names := slices.SortedFunc(maps.Keys(after), func(x, y string) int {
		return cmp.Compare(after[y].paged-before[y].paged, after[x].paged-before[x].paged)
	})
	var out strings.Builder
	for _, name := range names {
		paged, inuse := after[name].paged-before[name].paged, after[name].inuse-before[name].inuse
		if paged == 0 && inuse == 0 {
			continue
		}
		fmt.Fprintf(&out, "\n\t%-20s %7.0f B/letter in pages, %7.0f B/letter in use", name,
			float64(paged)/float64(letters), float64(inuse)/float64(letters))
	}
	b.Logf("where the bytes went (bbolt Bucket.Stats):%s", out.String())
}

// usedBytes returns the bytes of the database file's pages in use: its
// size less its free pages.
func usedBytes(tb testing.TB, s *Store) int64 {
	tb.Helper()
	var used int64
	db := s.testDB(tb)
	if err := db.View(func(tx *bolt.Tx) error {
		st := db.Stats()
		used = tx.Size() - int64(st.FreePageN+st.PendingPageN)*int64(db.Info().PageSize)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return used
}
