package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBackupPause measures how long deliveries wait while a backup
// is taken from the running store (WriteBackup, as `postkasse backup`
// does through the control socket). A mailbox of 40 MB of letters is
// delivered first; then 8 senders deliver b.N letters of 2 KB twice: once
// alone (the baseline) and once while backups are written one after
// another. It reports each phase's slowest delivery and 99th percentile,
// and their ratio: how much longer the slowest delivery took with a
// backup running.
//
//	go test ./store -run '^$' -bench BackupPause -benchtime 800x -count 3
func BenchmarkBackupPause(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "postkasse.db"), Options{KDF: cheapKDF})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	nid := testNID(b, 1)
	mustResident(b, s, nid, "Bench Resident")
	snd := mustSender(b, s, "Bench Sender", "12345674", SenderPublic)
	letter := func(size int, ref string) Delivery {
		content := make([]byte, size)
		copy(content, "%PDF-1.4\n")
		rand.Read(content[9:])
		return Delivery{Recipient: nid, Subject: "Benchmark letter", SenderReference: ref,
			Documents: []DocumentInput{{Name: "letter.pdf", ContentType: "application/pdf", Content: content}}}
	}
	// deliver has 8 senders deliver n letters of size bytes and returns
	// each delivery's time.
	deliver := func(phase string, n, size int) []time.Duration {
		var next atomic.Int64
		times := make([]time.Duration, n)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					d := letter(size, fmt.Sprintf("%s-%d", phase, i))
					t0 := time.Now()
					if _, err := s.Deliver(context.Background(), snd.ID, d); err != nil {
						b.Error(err)
						return
					}
					times[i] = time.Since(t0)
				}
			})
		}
		wg.Wait()
		return times
	}
	deliver("preload", 400, 100<<10)
	b.ResetTimer()
	base := deliver("alone", b.N, 2<<10)

	var backups atomic.Int64
	var backupTime atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			if _, err := s.WriteBackup(context.Background(), io.Discard); err != nil {
				b.Error(err)
				return
			}
			backupTime.Add(int64(time.Since(t0)))
			backups.Add(1)
		}
	})
	during := deliver("backup", b.N, 2<<10)
	close(stop)
	wg.Wait()
	b.StopTimer()

	stats := func(d []time.Duration) (maxMS, p99MS float64) {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[len(d)-1].Microseconds()) / 1000, float64(d[len(d)*99/100].Microseconds()) / 1000
	}
	baseMax, baseP99 := stats(base)
	maxMS, p99MS := stats(during)
	b.ReportMetric(baseMax, "baseline-max-ms")
	b.ReportMetric(baseP99, "baseline-p99-ms")
	b.ReportMetric(maxMS, "backup-max-ms")
	b.ReportMetric(p99MS, "backup-p99-ms")
	b.ReportMetric(maxMS/baseMax, "max-ratio")
	if n := backups.Load(); n > 0 {
		b.ReportMetric(float64(n), "backups")
		b.ReportMetric(float64(time.Duration(backupTime.Load()/n).Milliseconds()), "ms/backup")
	}
}
