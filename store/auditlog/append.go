package auditlog

import (
	"fmt"
	"iter"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Storage is where the log lives. The store implements it over its
// buckets inside the write transaction that makes the change an entry
// records, so the entry commits or rolls back with that change.
//
// Stored hashes are addressed by tlog's stored-hash index
// (tlog.StoredHashIndex): a log of n entries has tlog.StoredHashCount(n)
// of them, at indexes 0 to that count minus one, and the hashes of entry i
// start at tlog.StoredHashIndex(0, i). Big-endian uint64 keys keep both
// the entries and the hashes in order in a bbolt bucket.
type Storage interface {
	// ReadHashes returns the stored hashes at the given stored-hash
	// indexes, in the order asked (tlog.HashReader). A hash that is not
	// stored is an error.
	tlog.HashReader
	// PutEntry stores the encoding of the entry at index.
	PutEntry(index int64, encoded []byte) error
	// PutHashes stores hashes[i] at stored-hash index start+i.
	PutHashes(start int64, hashes []tlog.Hash) error
}

// Appender appends entries to a log. It keeps a scratch buffer between
// calls, so it is not safe for concurrent use: the store's committer, the
// one goroutine that writes, owns one. Its zero value is ready to use.
type Appender struct {
	indexes []int64
}

// Append writes e, which must be the log's next entry (e.Index is the
// log's size before it; the store keeps the size, in the same
// transaction), and the stored hashes it completes, to s, and returns its
// leaf hash.
//
// Append reads at most log₂(e.Index) stored hashes (none for an even
// index) and writes the encoding and on average two hashes. The slices it
// passes to PutEntry and PutHashes are fresh and never touched again, so
// s may keep them: bbolt's Put requires a value to stay unchanged until
// the transaction ends.
func (a *Appender) Append(s Storage, e Entry) (tlog.Hash, error) {
	encoded, err := e.Encode()
	if err != nil {
		return tlog.Hash{}, err
	}
	leaf := tlog.RecordHash(encoded)
	hashes, err := a.storedHashes(e.Index, leaf, s)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("append audit entry %d: %w", e.Index, err)
	}
	if err := s.PutEntry(e.Index, encoded); err != nil {
		return tlog.Hash{}, fmt.Errorf("append audit entry %d: %w", e.Index, err)
	}
	if err := s.PutHashes(tlog.StoredHashIndex(0, e.Index), hashes); err != nil {
		return tlog.Hash{}, fmt.Errorf("append audit entry %d: %w", e.Index, err)
	}
	return leaf, nil
}

// storedHashes returns what tlog.StoredHashesForRecordHash returns: the
// leaf hash of entry n and the hashes of the subtrees it completes, to be
// stored from tlog.StoredHashIndex(0, n) on. It differs only in reusing
// its index buffer and not calling r when no earlier hash is needed.
func (a *Appender) storedHashes(n int64, leaf tlog.Hash, r tlog.HashReader) ([]tlog.Hash, error) {
	// Each trailing 1 bit of n completes a subtree, whose left half is an
	// earlier stored hash: at level i, node n>>i - 1.
	m := bits.TrailingZeros64(uint64(n + 1))
	hashes := make([]tlog.Hash, 1, m+1)
	hashes[0] = leaf
	if m == 0 {
		return hashes, nil
	}
	a.indexes = a.indexes[:0]
	for i := m - 1; i >= 0; i-- { // ascending stored-hash order
		a.indexes = append(a.indexes, tlog.StoredHashIndex(i, n>>uint(i)-1))
	}
	old, err := r.ReadHashes(a.indexes)
	if err != nil {
		return nil, fmt.Errorf("read stored hashes: %w", err)
	}
	if len(old) != m {
		return nil, fmt.Errorf("read %d stored hashes, got %d: %w", m, len(old), ErrStorage)
	}
	h := leaf
	for i := range m {
		h = tlog.NodeHash(old[m-1-i], h)
		hashes = append(hashes, h)
	}
	return hashes, nil
}

// Migrate appends old entries (the store's plain audit entries from before
// the log, in their sequence order) to a log of the given size through
// the same path as Append, giving them the indexes size, size+1, … (their
// own Index is ignored), and returns the new size. The store calls it in
// the schema step that introduces the log, in one transaction.
func (a *Appender) Migrate(s Storage, size int64, old iter.Seq[Entry]) (int64, error) {
	for e := range old {
		e.Index = size
		if _, err := a.Append(s, e); err != nil {
			return size, fmt.Errorf("migrate: %w", err)
		}
		size++
	}
	return size, nil
}

// TreeHash returns the root hash of the log's first size entries, read
// from the stored hashes (at most 1 + log₂ size of them). The root of an
// empty log is SHA-256 of nothing (RFC 6962 §2.1).
func TreeHash(size int64, r tlog.HashReader) (tlog.Hash, error) {
	if size < 0 || size > MaxTreeSize {
		return tlog.Hash{}, fmt.Errorf("tree size %d out of range: %w", size, ErrStorage)
	}
	h, err := tlog.TreeHash(size, r)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("tree hash at size %d: %w", size, err)
	}
	return h, nil
}

// ProveInclusion returns the proof that entry index is in the log's first
// size entries (RFC 6962 §2.1.1, an audit path), read from the stored
// hashes.
func ProveInclusion(index, size int64, r tlog.HashReader) (tlog.RecordProof, error) {
	if size < 1 || size > MaxTreeSize || index < 0 || index >= size {
		return nil, fmt.Errorf("prove entry %d in a tree of size %d: out of range: %w", index, size, ErrStorage)
	}
	p, err := tlog.ProveRecord(size, index, r)
	if err != nil {
		return nil, fmt.Errorf("prove entry %d in a tree of size %d: %w", index, size, err)
	}
	return p, nil
}
