package auditlog

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Log is the audit log as Verify reads it. The store implements it over a
// data folder or a backup, read-only, in one read transaction.
type Log interface {
	// Entries calls fn with every stored entry in ascending order of the
	// index it is stored under, and stops at fn's first error, which it
	// returns. encoded need only be valid during the call.
	Entries(fn func(index int64, encoded []byte) error) error
	// ReadHashes returns stored hashes (tlog.HashReader). A hash that is
	// not stored is an error.
	tlog.HashReader
	// Size is the log's size as the store records it beside the entries.
	Size() (int64, error)
}

// Evidence is what is held outside the log and checked against it.
type Evidence struct {
	// Checkpoints are files of signed checkpoints (the checkpoint file, a
	// witness's copy, a single checkpoint), each read with
	// ParseCheckpointFile.
	Checkpoints []File
	// Receipts are the audit proofs of receipts whose own signature the
	// caller has checked.
	Receipts []ReceiptClaim
}

// File is a file's name, as the report should name it, and its bytes.
type File struct {
	Name string
	Data []byte
}

// ReceiptClaim is what a version-2 receipt says about the log: its
// delivery's entry, rebuilt from the receipt (the letter, the sender,
// deliveredAt, and Proof.LeafIndex as its Index), and its proof.
type ReceiptClaim struct {
	Name  string // how the report names the receipt, e.g. "receipt for letter <id>"
	Entry Entry
	Proof ReceiptProof
}

// ProblemKind says what kind of tampering or damage a Problem shows. The
// constants are stable strings, for translation and for scripts.
type ProblemKind string

// Kinds of problems.
const (
	// ProblemEdited: an entry's bytes are not those its stored leaf hash
	// was computed from, or do not decode.
	ProblemEdited ProblemKind = "edited"
	// ProblemRemoved: entries are missing inside the log.
	ProblemRemoved ProblemKind = "removed"
	// ProblemReordered: an entry is stored at another index than its own.
	ProblemReordered ProblemKind = "reordered"
	// ProblemTruncated: entries are missing at the end of the log, which
	// its recorded size or its stored hashes still count.
	ProblemTruncated ProblemKind = "truncated"
	// ProblemExtra: entries beyond the recorded size.
	ProblemExtra ProblemKind = "extra"
	// ProblemStoredHashes: the stored hashes are missing or do not agree
	// with each other; inclusion proofs made from them would be wrong.
	ProblemStoredHashes ProblemKind = "stored-hashes"
	// ProblemRolledBack: a checkpoint or receipt is of a bigger log than
	// this one: it was truncated, or rolled back to an older copy.
	ProblemRolledBack ProblemKind = "rolled-back"
	// ProblemRewritten: the root of the log's first n entries is not the
	// one a checkpoint or receipt states for n: history was changed
	// after it was signed.
	ProblemRewritten ProblemKind = "rewritten"
	// ProblemReceiptEntry: the entry a receipt proves is not in the log
	// at its index.
	ProblemReceiptEntry ProblemKind = "receipt-entry"
	// ProblemUncheckable: a checkpoint or receipt cannot be checked
	// because the entries it covers are missing with their hashes.
	ProblemUncheckable ProblemKind = "uncheckable"
	// ProblemEvidence: a checkpoint or receipt given as evidence does not
	// verify by itself (malformed, another appliance's, forged).
	ProblemEvidence ProblemKind = "bad-evidence"
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind ProblemKind
	// First and Last are the indexes of the entries concerned, both -1
	// when the problem is not about particular entries.
	First, Last int64
	// Source names the checkpoint or receipt concerned, if any.
	Source string
	// Text says what is wrong, in a sentence for an auditor.
	Text string
}

func (p Problem) String() string { return p.Text }

// maxGap bounds how far past the log's end an entry's key may be and still
// be checked position by position.
const maxGap = 1 << 20

// maxProblems bounds a report; the rest are counted in Omitted.
const maxProblems = 1000

// Report is the result of Verify.
type Report struct {
	// Entries is how many entries were read; Size the log's recorded
	// size; Root the root hash recomputed from the entries (valid when
	// the entries cover the log without a hole).
	Entries int64
	Size    int64
	Root    tlog.Hash
	// Checkpoints and Receipts count the evidence that matched the log.
	Checkpoints, Receipts int
	Problems              []Problem
	// Omitted counts problems found beyond the first 1000.
	Omitted int
}

// OK reports whether the log verified without any problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Omitted == 0 }

// String is the report as the command line prints it.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "audit log: %d entries read, recorded size %d, root %s\n", r.Entries, r.Size, r.Root)
	fmt.Fprintf(&b, "evidence that matches the log: %d checkpoints, %d receipts\n", r.Checkpoints, r.Receipts)
	if r.OK() {
		b.WriteString("OK: no problem found\n")
		return b.String()
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "PROBLEM (%s): %s\n", p.Kind, p.Text)
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "… and %d more problems\n", r.Omitted)
	}
	return b.String()
}

func (r *Report) add(kind ProblemKind, first, last int64, source, format string, args ...any) {
	if len(r.Problems) >= maxProblems {
		r.Omitted++
		return
	}
	r.Problems = append(r.Problems, Problem{Kind: kind, First: first, Last: last, Source: source, Text: fmt.Sprintf(format, args...)})
}

// span names entries first to last in a message.
func span(first, last int64) string {
	if first == last {
		return fmt.Sprintf("entry %d", first)
	}
	return fmt.Sprintf("entries %d–%d", first, last)
}

// anchor is a statement from outside the log: that its first size entries
// have root hash root.
type anchor struct {
	source string
	size   int64
	root   tlog.Hash
}

// leafClaim is a receipt's statement that entry index has leaf hash leaf.
type leafClaim struct {
	source string
	index  int64
	leaf   tlog.Hash
}

// frontier is the right edge of a Merkle tree being built leaf by leaf:
// the roots of its complete subtrees, biggest first, with their levels.
// Appending a leaf merges equal levels like a binary counter, producing
// in order exactly the hashes tlog stores for that leaf.
type frontier struct {
	hashes []tlog.Hash
	levels []int
}

// push adds a leaf and returns the stored hashes it completes (leaf
// first), appended to out.
func (f *frontier) push(leaf tlog.Hash, out []tlog.Hash) []tlog.Hash {
	h, level := leaf, 0
	out = append(out, h)
	for n := len(f.levels); n > 0 && f.levels[n-1] == level; n-- {
		h = tlog.NodeHash(f.hashes[n-1], h)
		level++
		f.hashes, f.levels = f.hashes[:n-1], f.levels[:n-1]
		out = append(out, h)
	}
	f.hashes, f.levels = append(f.hashes, h), append(f.levels, level)
	return out
}

// root is the tree hash of the leaves pushed so far (RFC 6962 §2.1): the
// complete subtrees folded from the right.
func (f *frontier) root() tlog.Hash {
	if len(f.hashes) == 0 {
		return sha256.Sum256(nil)
	}
	h := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.hashes[i], h)
	}
	return h
}

// verifier is Verify's state while it walks the log once, position by
// position.
type verifier struct {
	log    Log
	report *Report

	next     int64    // the next position
	computed frontier // from the entries (and stored leaves where an entry is missing)
	// brokenAt is the first position whose leaf is unknown (the entry
	// and its stored hash are both missing), -1 while there is none.
	brokenAt int64
	stored   frontier // from the stored hashes, to check they agree
	// storedBroken is set once stored hashes could not be read: the
	// stored tree is not checked further.
	storedBroken bool

	anchors []anchor    // by size
	claims  []leafClaim // by index
	// reordered maps a position to the index of the entry found there,
	// to name a swap as such.
	reordered map[int64]int64
	// extraFirst and extraLast are the entries beyond the recorded size,
	// -1 while there are none.
	extraFirst, extraLast int64

	scratch  []tlog.Hash
	indexes  []int64
	verified []bool // per anchor: matched
}

// Verify checks an audit log, offline, and reports exactly what is wrong.
// It recomputes the whole tree from the entries, trusting no stored hash
// for an entry that is there; checks that each entry is stored under its
// own index, that the stored hashes are those of the entries and agree
// with each other, that no entry is missing inside or at the end (against
// the recorded size and the stored hashes); and checks the log against
// every checkpoint and receipt given: the log must be at least as big, its
// root at their size must be theirs, and a receipt's entry must be at its
// index. v verifies checkpoints (the appliance's key, NewNoteVerifier).
//
// Verify returns an error only when the log cannot be read; what it finds
// wrong is in the report.
func Verify(log Log, v note.Verifier, ev Evidence) (*Report, error) {
	size, err := log.Size()
	if err != nil {
		return nil, fmt.Errorf("verify audit log: size: %w", err)
	}
	w := &verifier{log: log, report: &Report{Size: size}, brokenAt: -1, reordered: map[int64]int64{}, extraFirst: -1, extraLast: -1}
	w.gatherEvidence(v, ev)

	err = log.Entries(func(index int64, encoded []byte) error {
		w.report.Entries++
		switch {
		case index >= MaxTreeSize || index > max(size, w.next)+maxGap:
			w.report.add(ProblemExtra, index, index, "", "an entry is stored under index %d, far beyond the log's %d entries (a damaged or forged key); it is not checked", index, size)
			return nil
		case index < w.next:
			w.report.add(ProblemReordered, index, index, "", "entry %d is stored out of order, after entry %d", index, w.next-1)
			return nil
		case index > w.next:
			w.missing(w.next, index-1, size, false)
		}
		w.position(encoded, true, size)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify audit log: read entries: %w", err)
	}
	if w.extraFirst >= 0 {
		w.report.add(ProblemExtra, w.extraFirst, w.extraLast, "",
			"%s beyond the recorded size %d (written outside the log)", span(w.extraFirst, w.extraLast), size)
	}
	if w.next < size {
		w.missing(w.next, size-1, size, true)
	}
	// Stored hashes beyond the last position mean entries were cut off
	// with the recorded size.
	if !w.storedBroken {
		if _, err := log.ReadHashes([]int64{tlog.StoredHashIndex(0, w.next)}); err == nil {
			w.report.add(ProblemTruncated, w.next, w.next, "",
				"stored hashes go on past the last entry %d: entries from %d on were cut off (truncated)", w.next-1, w.next)
		}
	}
	if w.brokenAt < 0 {
		w.report.Root = w.computed.root()
	}
	w.finishEvidence()
	return w.report, nil
}

func (w *verifier) gatherEvidence(v note.Verifier, ev Evidence) {
	r := w.report
	for _, f := range ev.Checkpoints {
		cps := ParseCheckpointFile(v, f.Data)
		if len(cps) == 0 {
			r.add(ProblemEvidence, -1, -1, f.Name, "%s: no checkpoint in the file", f.Name)
		}
		for i, c := range cps {
			src := f.Name
			if len(cps) > 1 {
				src = fmt.Sprintf("%s, checkpoint %d (line %d)", f.Name, i+1, c.Line)
			}
			if c.Err != nil {
				r.add(ProblemEvidence, -1, -1, src, "%s: %s", src, evidenceError(c.Err))
				continue
			}
			w.anchors = append(w.anchors, anchor{source: "checkpoint " + src, size: c.Checkpoint.Size, root: c.Checkpoint.Hash})
		}
	}
	for _, rc := range ev.Receipts {
		leaf, err := rc.Entry.LeafHash()
		if err != nil {
			r.add(ProblemEvidence, -1, -1, rc.Name, "%s: its delivery entry cannot be encoded: %v", rc.Name, err)
			continue
		}
		if rc.Entry.Index != rc.Proof.LeafIndex {
			r.add(ProblemEvidence, -1, -1, rc.Name, "%s: its entry says index %d, its proof %d", rc.Name, rc.Entry.Index, rc.Proof.LeafIndex)
			continue
		}
		if err := VerifyReceiptProof(leaf, rc.Proof, v); err != nil {
			r.add(ProblemEvidence, -1, -1, rc.Name, "%s: %s", rc.Name, evidenceError(err))
			continue
		}
		w.anchors = append(w.anchors, anchor{source: rc.Name, size: rc.Proof.TreeSize, root: rc.Proof.RootHash})
		w.claims = append(w.claims, leafClaim{source: rc.Name, index: rc.Proof.LeafIndex, leaf: leaf})
	}
	slices.SortStableFunc(w.anchors, func(a, b anchor) int { return cmpInt(a.size, b.size) })
	slices.SortStableFunc(w.claims, func(a, b leafClaim) int { return cmpInt(a.index, b.index) })
	w.verified = make([]bool, len(w.anchors))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// evidenceError says in words why a checkpoint or receipt does not verify.
func evidenceError(err error) string {
	switch {
	case errors.Is(err, ErrCheckpointKey):
		return fmt.Sprintf("not signed by this appliance's key — another appliance's, or this log's key was replaced (%v)", err)
	case errors.Is(err, ErrCheckpointSignature):
		return fmt.Sprintf("its signature does not verify: forged or altered (%v)", err)
	case errors.Is(err, ErrCheckpointFormat):
		return fmt.Sprintf("not a signed checkpoint of this appliance (%v)", err)
	case errors.Is(err, ErrProof):
		return fmt.Sprintf("its inclusion proof does not verify: altered, or not from this log (%v)", err)
	case errors.Is(err, ErrProofFormat):
		return fmt.Sprintf("not a valid inclusion proof (%v)", err)
	}
	return err.Error()
}

// missing handles positions first to last, where no entry is stored:
// a hole between entries, or the tail up to the recorded size.
func (w *verifier) missing(first, last, size int64, tail bool) {
	switch {
	case tail:
		w.report.add(ProblemTruncated, first, last, "",
			"%s missing at the end: the log records %d entries but they stop at %d (truncated)", span(first, last), size, first)
	case first >= size:
		// Past the recorded size, where nothing was meant to be.
	default:
		w.report.add(ProblemRemoved, first, last, "", "%s missing (removed)", span(first, last))
	}
	for range last - first + 1 {
		w.position(nil, false, size)
	}
}

// position handles the next position: the entry stored there (have), or
// its absence.
func (w *verifier) position(encoded []byte, have bool, size int64) {
	n := w.next
	w.next++
	r := w.report
	if have && n >= size {
		if w.extraFirst < 0 {
			w.extraFirst = n
		}
		w.extraLast = n
	}

	// The stored hashes of this position, checked against each other.
	block, blockErr := w.readBlock(n)
	if blockErr != nil && !w.storedBroken {
		w.storedBroken = true
		r.add(ProblemStoredHashes, n, n, "", "stored hashes of entry %d cannot be read (%v): the stored tree is not checked from there on", n, blockErr)
	}
	if blockErr == nil && !w.storedBroken {
		w.checkStored(n, block)
	}

	// The leaf, from the entry itself where there is one.
	var leaf tlog.Hash
	known := true
	switch {
	case have:
		leaf = tlog.RecordHash(encoded)
		e, err := DecodeEntry(encoded)
		switch {
		case err != nil:
			r.add(ProblemEdited, n, n, "", "entry %d cannot be decoded (edited or damaged): %v", n, err)
		case e.Index != n:
			w.reorder(n, e.Index)
		case blockErr == nil && block[0] != leaf:
			r.add(ProblemEdited, n, n, "", "entry %d does not match its stored leaf hash (edited)", n)
		}
	case blockErr == nil:
		// The entry is gone; its stored leaf hash stands in for it, so
		// the tree can still be checked against the evidence.
		leaf = block[0]
	default:
		known = false
	}
	if !known && w.brokenAt < 0 {
		w.brokenAt = n
	}
	if w.brokenAt < 0 {
		w.scratch = w.computed.push(leaf, w.scratch[:0])
	}

	// Receipts whose entry is at n.
	for _, c := range w.claims {
		if c.index != n {
			continue
		}
		switch {
		case !have:
			r.add(ProblemReceiptEntry, n, n, c.source, "%s: its delivery entry %d is missing from the log", c.source, n)
		case leaf != c.leaf:
			r.add(ProblemReceiptEntry, n, n, c.source, "%s: entry %d in the log is not its delivery entry (edited, removed or moved)", c.source, n)
		}
	}
	// Evidence about the first n+1 entries.
	w.checkAnchors(n + 1)
}

// reorder reports that position n holds entry claimed. A run of
// positions shifted by the same offset is one problem; two entries that
// trade places are one problem, a swap.
func (w *verifier) reorder(n, claimed int64) {
	w.reordered[n] = claimed
	r := w.report
	if other, ok := w.reordered[claimed]; ok && other == n {
		for i := range r.Problems {
			p := &r.Problems[i]
			if p.Kind == ProblemReordered && p.First == claimed && p.Last == claimed {
				p.Last = n
				p.Text = fmt.Sprintf("entries %d and %d are swapped (reordered)", claimed, n)
				return
			}
		}
	}
	if k := len(r.Problems) - 1; k >= 0 && r.Problems[k].Kind == ProblemReordered && r.Problems[k].Last == n-1 &&
		w.reordered[n-1] == claimed-1 && w.reordered[r.Problems[k].First]-r.Problems[k].First == claimed-n {
		p := &r.Problems[k]
		p.Last = n
		p.Text = fmt.Sprintf("positions %d–%d hold entries %d–%d (moved: entries removed or reordered before them)",
			p.First, n, w.reordered[p.First], claimed)
		return
	}
	r.add(ProblemReordered, n, n, "", "position %d holds entry %d (moved: entries removed or reordered)", n, claimed)
}

// readBlock reads the stored hashes appending entry n wrote: its leaf
// hash and those of the subtrees it completed, contiguous from
// tlog.StoredHashIndex(0, n).
func (w *verifier) readBlock(n int64) ([]tlog.Hash, error) {
	m := bits.TrailingZeros64(uint64(n + 1))
	start := tlog.StoredHashIndex(0, n)
	w.indexes = w.indexes[:0]
	for i := range m + 1 {
		w.indexes = append(w.indexes, start+int64(i))
	}
	hashes, err := w.log.ReadHashes(w.indexes)
	if err != nil {
		return nil, err
	}
	if len(hashes) != m+1 {
		return nil, fmt.Errorf("read %d hashes, got %d: %w", m+1, len(hashes), ErrStorage)
	}
	return hashes, nil
}

// checkStored checks that the stored hashes of position n are each the
// node hash of their two stored children.
func (w *verifier) checkStored(n int64, block []tlog.Hash) {
	var want []tlog.Hash
	want = w.stored.push(block[0], want)
	for i := 1; i < len(block); i++ {
		if block[i] != want[i] {
			w.report.add(ProblemStoredHashes, n, n, "",
				"stored hash at level %d above entry %d does not match its children (stored hashes altered)", i, n)
			// Go on from what is stored, so one bad hash is one problem.
			w.stored.hashes[len(w.stored.hashes)-1] = block[len(block)-1]
			return
		}
	}
}

// checkAnchors checks the evidence about the log's first size entries.
func (w *verifier) checkAnchors(size int64) {
	i, _ := slices.BinarySearchFunc(w.anchors, size, func(a anchor, s int64) int { return cmpInt(a.size, s) })
	for ; i < len(w.anchors) && w.anchors[i].size == size; i++ {
		a := w.anchors[i]
		w.verified[i] = true // looked at; counted below if it matched
		if w.brokenAt >= 0 {
			w.report.add(ProblemUncheckable, w.brokenAt, size-1, a.source,
				"%s (size %d) cannot be checked: entry %d is missing with its stored hash", a.source, size, w.brokenAt)
			continue
		}
		if got := w.computed.root(); got != a.root {
			w.report.add(ProblemRewritten, 0, size-1, a.source,
				"%s: the root of the log's first %d entries is %s, it states %s: entries before %d were changed after it was made (history rewritten)",
				a.source, size, got, a.root, size)
			continue
		}
		w.count(a)
	}
}

func (w *verifier) count(a anchor) {
	if strings.HasPrefix(a.source, "checkpoint ") {
		w.report.Checkpoints++
	} else {
		w.report.Receipts++
	}
}

// finishEvidence reports the evidence about more entries than the log has.
func (w *verifier) finishEvidence() {
	for i, a := range w.anchors {
		if w.verified[i] {
			continue
		}
		if a.size == 0 {
			if a.root == sha256.Sum256(nil) {
				w.count(a)
			} else {
				w.report.add(ProblemEvidence, -1, -1, a.source, "%s: an empty log with a root that is not empty's", a.source)
			}
			continue
		}
		w.report.add(ProblemRolledBack, w.next, a.size-1, a.source,
			"%s is of a log of %d entries, this one has %d: entries %d–%d are gone (truncated, or rolled back to an older copy)",
			a.source, a.size, w.next, w.next, a.size-1)
	}
}
