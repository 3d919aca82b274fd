package auditlog

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// sliceLog is an audit log in slices: the cheapest real Storage and Log,
// so that benchmarks measure the log's own work.
type sliceLog struct {
	entries [][]byte
	hashes  []tlog.Hash
}

func (s *sliceLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("stored hash %d is not stored", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

func (s *sliceLog) PutEntry(index int64, encoded []byte) error {
	if index != int64(len(s.entries)) {
		return fmt.Errorf("entry %d out of order", index)
	}
	s.entries = append(s.entries, encoded)
	return nil
}

func (s *sliceLog) PutHashes(start int64, hashes []tlog.Hash) error {
	if start != int64(len(s.hashes)) {
		return fmt.Errorf("stored hash %d out of order", start)
	}
	s.hashes = append(s.hashes, hashes...)
	return nil
}

func (s *sliceLog) Entries(fn func(int64, []byte) error) error {
	for i, e := range s.entries {
		if err := fn(int64(i), e); err != nil {
			return err
		}
	}
	return nil
}

func (s *sliceLog) Size() (int64, error) { return int64(len(s.entries)), nil }

// benchEntries are the entries benchmarks append, in turn.
func benchEntries() []Entry {
	out := make([]Entry, 1024)
	for i := range out {
		out[i] = testEntry(int64(i))
	}
	return out
}

// BenchmarkAppend measures Appender.Append, which the store calls for
// every delivery inside the group-commit transaction, against a memory
// storage, and in the same run a baseline: what the issue first proposed,
// Entry.Encode and tlog.StoredHashes into the same kind of storage. It
// reports ns/entry for both and their ratio; allocs/op are the Appender's
// (the encoding, the hashes, and the storage's read).
//
//	go test ./store/auditlog -run '^$' -bench Append -benchtime 200000x -count 5
func BenchmarkAppend(b *testing.B) {
	entries := benchEntries()
	var a Appender
	log, base := &sliceLog{}, &sliceLog{}
	var baseTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		chunk := min(1024, b.N-i)
		// The baseline's share of this chunk, untimed by b.
		b.StopTimer()
		start := time.Now()
		for j := range chunk {
			e := entries[j]
			e.Index = int64(len(base.entries))
			encoded, err := e.Encode()
			if err != nil {
				b.Fatal(err)
			}
			hashes, err := tlog.StoredHashes(e.Index, encoded, base)
			if err != nil {
				b.Fatal(err)
			}
			if err := base.PutEntry(e.Index, encoded); err != nil {
				b.Fatal(err)
			}
			if err := base.PutHashes(tlog.StoredHashIndex(0, e.Index), hashes); err != nil {
				b.Fatal(err)
			}
		}
		baseTime += time.Since(start)
		b.StartTimer()
		for j := range chunk {
			e := entries[j]
			e.Index = int64(len(log.entries))
			if _, err := a.Append(log, e); err != nil {
				b.Fatal(err)
			}
		}
		i += chunk
	}
	b.StopTimer()
	if log.hashes[len(log.hashes)-1] != base.hashes[len(base.hashes)-1] {
		b.Fatal("the Appender and tlog stored different hashes")
	}
	elapsed := b.Elapsed()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "ns/entry")
	b.ReportMetric(float64(baseTime.Nanoseconds())/float64(b.N), "baseline-ns/entry")
	b.ReportMetric(float64(elapsed)/float64(baseTime), "ratio")
}

// BenchmarkVerify measures Verify of a sound log of 100,000 entries with
// a checkpoint at its end, and in the same run a baseline: hashing every
// entry's bytes once (tlog.RecordHash), the least any verification does.
// It reports ns/entry for both and their ratio.
//
//	go test ./store/auditlog -run '^$' -bench Verify -benchtime 5x -count 3
func BenchmarkVerify(b *testing.B) {
	const size = 100_000
	log := &sliceLog{}
	entries := benchEntries()
	var a Appender
	for n := range int64(size) {
		e := entries[n%int64(len(entries))]
		e.Index = n
		if _, err := a.Append(log, e); err != nil {
			b.Fatal(err)
		}
	}
	s, v := testNote(b, "appliance")
	root, err := TreeHash(size, log)
	if err != nil {
		b.Fatal(err)
	}
	cp, err := SignCheckpoint(s, size, root)
	if err != nil {
		b.Fatal(err)
	}
	ev := Evidence{Checkpoints: []File{{Name: "checkpoint", Data: cp}}}
	var baseTime time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		start := time.Now()
		var sink tlog.Hash
		for _, e := range log.entries {
			h := tlog.RecordHash(e)
			sink[0] ^= h[0]
		}
		baseTime += time.Since(start)
		b.StartTimer()
		r, err := Verify(log, v, ev)
		if err != nil {
			b.Fatal(err)
		}
		if !r.OK() || r.Checkpoints != 1 || sink[1] != 0 {
			b.Fatalf("sound log:\n%s", r)
		}
	}
	b.StopTimer()
	elapsed := b.Elapsed()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*size), "ns/entry")
	b.ReportMetric(float64(baseTime.Nanoseconds())/float64(b.N*size), "baseline-ns/entry")
	b.ReportMetric(float64(elapsed)/float64(baseTime), "ratio")
}
