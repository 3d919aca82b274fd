package testsupport

import (
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The delivery benchmarks (store's BenchmarkDeliver, httpui's
// BenchmarkDeliverAPI) share their cases and their baseline, so their
// ratios compare.

// DeliveryBenchCases runs bench as one sub-benchmark per letter size
// (2 KB, 100 KB) and number of concurrent senders (1, 32), named
// size=…/senders=….
func DeliveryBenchCases(b *testing.B, bench func(b *testing.B, size, senders int)) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"100KB", 100 << 10}} {
		for _, senders := range []int{1, 32} {
			b.Run(fmt.Sprintf("size=%s/senders=%d", size.name, senders), func(b *testing.B) {
				bench(b, size.bytes, senders)
			})
		}
	}
}

// BenchRecordOverhead approximates what a letter stores besides its sealed
// document: the JSON record with sealed key, subject, body, file name and
// receipt, the index entries and the audit entry.
const BenchRecordOverhead = 1500

// FsyncBaseline appends n records of perLetter bytes to the file at path,
// with an fsync after every syncEvery records and at the end, and returns
// how long that took: the baseline a delivery benchmark reports its rate
// against, measured in the same run.
func FsyncBaseline(b *testing.B, path string, n, perLetter, syncEvery int) time.Duration {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, perLetter)
	if _, err := rand.Read(rec); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	for i := range n {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if (i+1)%syncEvery == 0 {
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if n%syncEvery != 0 {
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0)
}

// Concurrently runs do for n items from workers goroutines (g is the
// goroutine, i the item; each item once) and returns how long they took,
// as the delivery benchmarks' senders do. An error of do fails tb and
// ends its goroutine.
func Concurrently(tb testing.TB, n, workers int, do func(g, i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := do(g, int(i)); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(t0)
}
