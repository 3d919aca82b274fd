package store

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// heapSampler is the writer an export goes to: at every MiB written it
// collects garbage and notes the live heap, so its peak is the most
// memory the export held at once.
type heapSampler struct {
	written, next int64
	peak          uint64
}

// liveHeap returns the live heap after two collections (the second
// empties the pools' victim caches, such as the store's sealed buffers).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func (h *heapSampler) Write(p []byte) (int, error) {
	h.written += int64(len(p))
	if h.written >= h.next {
		h.next += 1 << 20
		h.peak = max(h.peak, liveHeap())
	}
	return len(p), nil
}

// exportHeap fills a mailbox with letters of one PDF of size bytes each
// (incompressible: random bytes after the PDF header) up to total bytes,
// exports it, and returns how much the live heap grew at most during the
// export, the archive's size and the time of a second export (to
// io.Discard, without the sampling), on a store of the fixture newFix
// makes.
func exportHeap(t testing.TB, newFix func(testing.TB) *fixture, total, size int64) (growth uint64, written int64, took time.Duration) {
	t.Helper()
	f := newFix(t)
	ctx := context.Background()
	rng := rand.NewChaCha8([32]byte{1})
	content := make([]byte, size)
	for i := int64(0); i*size < total; i++ {
		copy(content, "%PDF-1.7\n")
		rng.Read(content[9:])
		d := testDelivery(f.nid, strconv.FormatInt(i, 10))
		d.Documents[0].Content = content
		if _, err := f.s.Deliver(ctx, f.sender.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	content = nil
	mb := mustLogin(t, f.s, f.nid, testPassword)
	h := &heapSampler{}
	base := liveHeap()
	if _, err := mb.Export(ctx, h, "postkasse.test", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// Timed apart: the sampler's collections would be most of the time.
	start := time.Now()
	if _, err := mb.Export(ctx, io.Discard, "postkasse.test", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	took = time.Since(start)
	if h.peak < base {
		return 0, h.written, took
	}
	return h.peak - base, h.written, took
}

// TestExportConstantMemory: an export holds a few documents in memory at
// a time, not the mailbox: twelve times the mail (8 MiB against 96 MiB
// of 1 MiB letters) grows the live heap's peak during the export by less
// than 4 MiB, and neither peak is more than a few documents. Not
// parallel: the live heap is the whole process's. On the engine of the
// pass (the cluster's documents are objects read through the seam).
func TestExportConstantMemory(t *testing.T) {
	exportConstantMemory(t, newFixture)
}

// TestExportConstantMemoryFile is TestExportConstantMemory on the
// embedded engine in both passes.
func TestExportConstantMemoryFile(t *testing.T) {
	exportConstantMemory(t, newEmbeddedFixture)
}

func exportConstantMemory(t *testing.T, newFix func(testing.TB) *fixture) {
	t.Helper()
	small, _, _ := exportHeap(t, newFix, 8<<20, 1<<20)
	large, written, _ := exportHeap(t, newFix, 96<<20, 1<<20)
	t.Logf("live heap's peak above the start: %.1f MiB for 8 MiB of mail, %.1f MiB for %d MiB", float64(small)/(1<<20), float64(large)/(1<<20), written>>20)
	if large > small+4<<20 || large > 12<<20 {
		t.Errorf("the export of 96 MiB held %.1f MiB at once, of 8 MiB %.1f MiB: it grows with the mailbox", float64(large)/(1<<20), float64(small)/(1<<20))
	}
}

// BenchmarkExportMemory exports mailboxes of 1 MiB letters, 64 MiB and
// 256 MiB by default, or POSTKASSE_EXPORT_MB MiB (2048 for the 2 GB
// mailbox of the issue), and reports the live heap's peak above the
// start during the export (peak-heap-MiB), sampled after a collection at
// every MiB written, and the rate of an export without the sampling
// (MiB/s).
func BenchmarkExportMemory(b *testing.B) {
	sizes := []int64{64, 256}
	if s := os.Getenv("POSTKASSE_EXPORT_MB"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		sizes = []int64{n}
	}
	for _, mb := range sizes {
		b.Run(fmt.Sprintf("%dMiB", mb), func(b *testing.B) {
			for b.Loop() {
				growth, written, took := exportHeap(b, newFixture, mb<<20, 1<<20)
				b.ReportMetric(float64(growth)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(written)/(1<<20)/took.Seconds(), "MiB/s")
			}
		})
	}
}
