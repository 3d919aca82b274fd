package auditlog

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// rfc6962Root is the Merkle tree hash of RFC 6962 §2.1 computed the
// obvious recursive way, as a reference independent of tlog's stored
// hashes and of Verify's frontier.
func rfc6962Root(leaves []tlog.Hash) tlog.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return tlog.NodeHash(rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:]))
}

// TestAppend checks, for each of 300 appends, that Append writes the
// entry and exactly tlog's stored hashes at tlog's positions, and that the
// tree hash read back is RFC 6962's root of the leaves so far.
func TestAppend(t *testing.T) {
	t.Parallel()
	m := newMemLog()
	var a Appender
	var leaves []tlog.Hash
	for n := range int64(300) {
		e := testEntry(n)
		e.Index = n
		encoded, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		want, err := tlog.StoredHashes(n, encoded, m)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := a.Append(m, e)
		if err != nil {
			t.Fatal(err)
		}
		m.size++
		leaves = append(leaves, leaf)
		if leaf != tlog.RecordHash(encoded) {
			t.Fatalf("entry %d: leaf hash is not tlog.RecordHash of its encoding", n)
		}
		if !bytes.Equal(m.entries[n], encoded) {
			t.Fatalf("entry %d stored as %q, want %q", n, m.entries[n], encoded)
		}
		start := tlog.StoredHashIndex(0, n)
		for i, h := range want {
			if m.hashes[start+int64(i)] != h {
				t.Fatalf("entry %d: stored hash %d differs from tlog.StoredHashes", n, i)
			}
		}
		if got, want := int64(len(m.hashes)), tlog.StoredHashCount(n+1); got != want {
			t.Fatalf("after entry %d: %d stored hashes, want %d", n, got, want)
		}
		root, err := TreeHash(n+1, m)
		if err != nil {
			t.Fatal(err)
		}
		if root != rfc6962Root(leaves) {
			t.Fatalf("tree hash at size %d is not RFC 6962's", n+1)
		}
	}
	if root, err := TreeHash(0, m); err != nil || root != sha256.Sum256(nil) {
		t.Errorf("empty tree hash = %s, %v; want SHA-256 of nothing", root, err)
	}
}

// keepingLog is a Storage that keeps the slices it is given without
// copying them, as bbolt's Put does until the transaction ends, and a
// copy of each to compare with.
type keepingLog struct {
	*memLog
	kept, copies [][]byte
}

func (k *keepingLog) PutEntry(index int64, encoded []byte) error {
	k.kept, k.copies = append(k.kept, encoded), append(k.copies, slices.Clone(encoded))
	return k.memLog.PutEntry(index, encoded)
}

func (k *keepingLog) PutHashes(start int64, hashes []tlog.Hash) error {
	for i := range hashes {
		k.kept, k.copies = append(k.kept, hashes[i][:]), append(k.copies, slices.Clone(hashes[i][:]))
	}
	return k.memLog.PutHashes(start, hashes)
}

// TestAppendSlicesStayValid: what Append hands to the storage is never
// changed afterwards, so a bbolt storage may Put it without copying.
func TestAppendSlicesStayValid(t *testing.T) {
	t.Parallel()
	k := &keepingLog{memLog: newMemLog()}
	var a Appender
	for n := range int64(64) {
		e := testEntry(n)
		e.Index = n
		if _, err := a.Append(k, e); err != nil {
			t.Fatal(err)
		}
	}
	for i := range k.kept {
		if !bytes.Equal(k.kept[i], k.copies[i]) {
			t.Fatalf("slice %d given to the storage changed after the call", i)
		}
	}
}

// TestMigrate: old plain entries go through the same path as new ones,
// numbered from the log's size whatever their own index says.
func TestMigrate(t *testing.T) {
	t.Parallel()
	want := newMemLog()
	var a Appender
	for n := range int64(20) {
		want.add(t, &a, testEntry(n))
	}

	got := newMemLog()
	var b Appender
	for n := range int64(5) {
		got.add(t, &b, testEntry(n))
	}
	old := func(yield func(Entry) bool) {
		for n := int64(5); n < 20; n++ {
			e := testEntry(n)
			e.Index = 1000 + n // the old sequence numbers do not matter
			if !yield(e) {
				return
			}
		}
	}
	size, err := b.Migrate(got, got.size, old)
	if err != nil {
		t.Fatal(err)
	}
	if size != 20 {
		t.Errorf("size after migration %d, want 20", size)
	}
	for n := range int64(20) {
		if !bytes.Equal(got.entries[n], want.entries[n]) {
			t.Errorf("entry %d: %q, want %q", n, got.entries[n], want.entries[n])
		}
	}
	rootGot, _ := TreeHash(20, got)
	rootWant, _ := TreeHash(20, want)
	if rootGot != rootWant {
		t.Error("migrated log has another root than the same entries appended")
	}

	// An old entry that has no encoding stops the migration with
	// ErrEntryFormat.
	bad := func(yield func(Entry) bool) { yield(Entry{Actor: "x"}) }
	if _, err := b.Migrate(newMemLog(), 0, bad); !errors.Is(err, ErrEntryFormat) {
		t.Errorf("migrating a bad entry: %v, want ErrEntryFormat", err)
	}
}

// shortReader answers every read with one hash too few.
type shortReader struct{ *memLog }

func (s shortReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	h, err := s.memLog.ReadHashes(indexes)
	if err != nil || len(h) == 0 {
		return h, err
	}
	return h[:len(h)-1], nil
}

type failingPut struct{ *memLog }

var errDisk = errors.New("disk full")

func (failingPut) PutEntry(int64, []byte) error { return errDisk }

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	var a Appender
	m := newMemLog()
	m.add(t, &a, testEntry(0))

	// Entry 1 completes a subtree and reads entry 0's hash.
	e := testEntry(1)
	e.Index = 1
	if _, err := a.Append(shortReader{m}, e); !errors.Is(err, ErrStorage) {
		t.Errorf("short read: %v, want ErrStorage", err)
	}
	if _, err := a.Append(failingPut{m}, e); !errors.Is(err, errDisk) {
		t.Errorf("failing put: %v, want the storage's error", err)
	}
	e.Index = 3 // hashes of entries 1 and 2 are not there
	if _, err := a.Append(m, e); err == nil {
		t.Error("append past the end succeeded")
	}
	bad := Entry{Index: 1, Time: testStart, Actor: "a", Action: "b"}
	if _, err := a.Append(m, bad); !errors.Is(err, ErrEntryFormat) {
		t.Errorf("bad entry: %v, want ErrEntryFormat", err)
	}
	if len(m.entries) != 1 || len(m.hashes) != 1 {
		t.Errorf("failed appends wrote: %d entries, %d hashes", len(m.entries), len(m.hashes))
	}
	for _, size := range []int64{-1, MaxTreeSize + 1} {
		if _, err := TreeHash(size, m); !errors.Is(err, ErrStorage) {
			t.Errorf("TreeHash(%d): %v, want ErrStorage", size, err)
		}
	}
	for _, c := range [][2]int64{{0, 0}, {1, 1}, {-1, 1}, {0, MaxTreeSize + 1}} {
		if _, err := ProveInclusion(c[0], c[1], m); !errors.Is(err, ErrStorage) {
			t.Errorf("ProveInclusion(%d, %d): %v, want ErrStorage", c[0], c[1], err)
		}
	}
}
