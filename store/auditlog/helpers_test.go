package auditlog

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/crypto"
)

// memLog is a whole audit log in memory: a real implementation of Storage
// and Log, with maps so that tests can delete and edit what they like.
type memLog struct {
	entries map[int64][]byte
	hashes  map[int64]tlog.Hash
	size    int64
}

func newMemLog() *memLog {
	return &memLog{entries: map[int64][]byte{}, hashes: map[int64]tlog.Hash{}}
}

func (m *memLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := m.hashes[x]
		if !ok {
			return nil, fmt.Errorf("stored hash %d is not stored", x)
		}
		out[i] = h
	}
	return out, nil
}

func (m *memLog) PutEntry(index int64, encoded []byte) error {
	m.entries[index] = encoded
	return nil
}

func (m *memLog) PutHashes(start int64, hashes []tlog.Hash) error {
	for i, h := range hashes {
		m.hashes[start+int64(i)] = h
	}
	return nil
}

func (m *memLog) Entries(fn func(int64, []byte) error) error {
	for _, k := range slices.Sorted(maps.Keys(m.entries)) {
		if err := fn(k, m.entries[k]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memLog) Size() (int64, error) { return m.size, nil }

func (m *memLog) clone() *memLog {
	return &memLog{entries: maps.Clone(m.entries), hashes: maps.Clone(m.hashes), size: m.size}
}

// add appends e as the next entry, as the store does.
func (m *memLog) add(t testing.TB, a *Appender, e Entry) {
	t.Helper()
	e.Index = m.size
	if _, err := a.Append(m, e); err != nil {
		t.Fatal(err)
	}
	m.size++
}

// rebuild is what someone with write access and this code does to cover
// their tracks: decode the entries in key order, number them again from
// 0, and recompute every hash and the size.
func (m *memLog) rebuild(t testing.TB) {
	t.Helper()
	fresh := newMemLog()
	var a Appender
	for _, k := range slices.Sorted(maps.Keys(m.entries)) {
		e, err := DecodeEntry(m.entries[k])
		if err != nil {
			t.Fatal(err)
		}
		fresh.add(t, &a, e)
	}
	*m = *fresh
}

// editEntry rewrites the entry at key k with edit applied, in canonical
// form, leaving the stored hashes as they were.
func (m *memLog) editEntry(t testing.TB, k int64, edit func(*Entry)) {
	t.Helper()
	e, err := DecodeEntry(m.entries[k])
	if err != nil {
		t.Fatal(err)
	}
	edit(&e)
	if m.entries[k], err = e.Encode(); err != nil {
		t.Fatal(err)
	}
}

// testKey is the appliance's key from a fixed seed, so failures repeat.
func testKey(t testing.TB, label string) *crypto.Signer {
	t.Helper()
	seed := sha256.Sum256([]byte("auditlog test key " + label))
	s, err := crypto.NewSigner(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testOrigin = "postkasse.test/audit"

func testNote(t testing.TB, label string) (note.Signer, note.Verifier) {
	t.Helper()
	key := testKey(t, label)
	s, err := NewNoteSigner(testOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewNoteVerifier(testOrigin, key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

var testStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testEntry is the i'th entry of a test log: every third a delivery.
func testEntry(i int64) Entry {
	e := Entry{Time: testStart.Add(time.Duration(i) * 1500 * time.Millisecond)}
	switch i % 3 {
	case 0:
		e.Actor, e.Action, e.Object = fmt.Sprintf("sender:%032x", i%4), "deliver", fmt.Sprintf("letter:%032x", i)
	case 1:
		e.Actor, e.Action, e.Object = fmt.Sprintf("resident:%032x", i%5), "login", fmt.Sprintf("resident:%032x", i%5)
	default:
		e.Actor, e.Action, e.Object = fmt.Sprintf("resident:%032x", i%5), "read", fmt.Sprintf("letter:%032x", i-2)
	}
	if i%7 == 0 {
		e.Detail = "reason=test"
	}
	return e
}

// fixture is a log of 50 entries with the evidence an auditor may hold:
// checkpoints at sizes 20, 35 and 50 (in one file, as the appliance
// writes it) and three receipts for deliveries, made at the sizes the
// store would make them (the delivery's own, or the end of its batch).
type fixture struct {
	signer   note.Signer
	verifier note.Verifier
	log      *memLog
	// at30 is a copy of the log when it had 30 entries.
	at30        *memLog
	checkpoints map[int64][]byte
	receipts    []ReceiptClaim
}

const fixtureSize = 50

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{log: newMemLog(), checkpoints: map[int64][]byte{}}
	f.signer, f.verifier = testNote(t, "appliance")
	var a Appender
	receiptAt := map[int64]int64{10: 11, 33: 34, 45: 50} // entry → tree size of its receipt
	for i := range int64(fixtureSize) {
		f.log.add(t, &a, testEntry(i))
		size := i + 1
		if size == 30 {
			f.at30 = f.log.clone()
		}
		if size == 20 || size == 35 || size == 50 {
			root, err := TreeHash(size, f.log)
			if err != nil {
				t.Fatal(err)
			}
			if f.checkpoints[size], err = SignCheckpoint(f.signer, size, root); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, index := range []int64{10, 33, 45} {
		p, err := Prove(index, receiptAt[index], f.log)
		if err != nil {
			t.Fatal(err)
		}
		e := testEntry(index)
		e.Index = index
		f.receipts = append(f.receipts, ReceiptClaim{Name: fmt.Sprintf("receipt for letter %d", index), Entry: e, Proof: p})
	}
	return f
}

// checkpointFile is the checkpoint file holding the given sizes'
// checkpoints, as AppendCheckpointFile writes it.
func (f *fixture) checkpointFile(sizes ...int64) File {
	var data []byte
	for _, s := range sizes {
		data = append(append(data, f.checkpoints[s]...), '\n')
	}
	return File{Name: "checkpoints", Data: data}
}

// problemLines gives a report's problems as "kind first–last source"
// lines, for comparing with what a test wants.
func problemLines(r *Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, fmt.Sprintf("%s %d–%d %s", p.Kind, p.First, p.Last, p.Source))
	}
	return out
}

func tlogStoredHashIndex(level int, n int64) int64 { return tlog.StoredHashIndex(level, n) }

func sha256Empty() tlog.Hash { return sha256.Sum256(nil) }
