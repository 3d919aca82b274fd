package auditlog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestVerifyTampering is the table: one case per kind of
// tampering, each done both naively (bytes changed in place) and by
// someone who covers their tracks with this code (everything recomputed),
// and an untouched log. Each case lists every problem Verify must report
// (kind, entries, evidence) and the words that must say what happened. A
// tampering counts as detected when the report is not OK.
func TestVerifyTampering(t *testing.T) {
	t.Parallel()
	allCheckpoints := []int64{20, 35, 50}
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *fixture) *memLog
		// checkpoints and receipts given as evidence; nil means all.
		checkpoints []int64
		receipts    []int
		noEvidence  bool
		want        []string // problemLines
		words       []string // in the report's text
	}{
		{
			name:   "untouched",
			tamper: func(t *testing.T, f *fixture) *memLog { return f.log },
		},
		{
			name:       "untouched, no evidence",
			tamper:     func(t *testing.T, f *fixture) *memLog { return f.log },
			noEvidence: true,
		},
		{
			name: "edited in place",
			tamper: func(t *testing.T, f *fixture) *memLog {
				f.log.editEntry(t, 17, func(e *Entry) { e.Actor = "operator" })
				return f.log
			},
			want: []string{
				"edited 17–17 ",
				"rewritten 0–19 checkpoint checkpoints, checkpoint 1 (line 1)",
				"rewritten 0–33 receipt for letter 33",
				"rewritten 0–34 checkpoint checkpoints, checkpoint 2 (line 7)",
				"rewritten 0–49 checkpoint checkpoints, checkpoint 3 (line 13)",
				"rewritten 0–49 receipt for letter 45",
			},
			words: []string{"entry 17 does not match its stored leaf hash (edited)", "history rewritten"},
		},
		{
			name: "edited, hashes recomputed",
			tamper: func(t *testing.T, f *fixture) *memLog {
				f.log.editEntry(t, 17, func(e *Entry) { e.Actor = "operator" })
				f.log.rebuild(t)
				return f.log
			},
			want: []string{
				"rewritten 0–19 checkpoint checkpoints, checkpoint 1 (line 1)",
				"rewritten 0–33 receipt for letter 33",
				"rewritten 0–34 checkpoint checkpoints, checkpoint 2 (line 7)",
				"rewritten 0–49 checkpoint checkpoints, checkpoint 3 (line 13)",
				"rewritten 0–49 receipt for letter 45",
			},
			words: []string{"the root of the log's first 20 entries is", "entries before 20 were changed after it was made"},
		},
		{
			name: "edited into bytes that do not decode",
			tamper: func(t *testing.T, f *fixture) *memLog {
				f.log.entries[17] = append(f.log.entries[17], "x"...)
				return f.log
			},
			checkpoints: []int64{},
			receipts:    []int{},
			want:        []string{"edited 17–17 "},
			words:       []string{"entry 17 cannot be decoded (edited or damaged)"},
		},
		{
			name: "removed",
			tamper: func(t *testing.T, f *fixture) *memLog {
				delete(f.log.entries, 33)
				delete(f.log.entries, 34)
				return f.log
			},
			want: []string{
				"removed 33–34 ",
				"receipt-entry 33–33 receipt for letter 33",
			},
			words: []string{"entries 33–34 missing (removed)", "receipt for letter 33: its delivery entry 33 is missing from the log"},
		},
		{
			name: "removed, the rest moved up and hashes recomputed",
			tamper: func(t *testing.T, f *fixture) *memLog {
				delete(f.log.entries, 33)
				f.log.rebuild(t)
				return f.log
			},
			want: []string{
				"receipt-entry 33–33 receipt for letter 33",
				"rewritten 0–33 receipt for letter 33",
				"rewritten 0–34 checkpoint checkpoints, checkpoint 2 (line 7)",
				"receipt-entry 45–45 receipt for letter 45",
				"rolled-back 49–49 checkpoint checkpoints, checkpoint 3 (line 13)",
				"rolled-back 49–49 receipt for letter 45",
			},
			words: []string{"entry 33 in the log is not its delivery entry", "is of a log of 50 entries, this one has 49"},
		},
		{
			name: "removed and moved up, entries not renumbered",
			tamper: func(t *testing.T, f *fixture) *memLog {
				for k := int64(33); k < fixtureSize-1; k++ {
					f.log.entries[k] = f.log.entries[k+1]
				}
				delete(f.log.entries, fixtureSize-1)
				return f.log
			},
			checkpoints: []int64{},
			receipts:    []int{},
			want:        []string{"reordered 33–48 ", "truncated 49–49 "},
			words:       []string{"positions 33–48 hold entries 34–49 (moved", "entry 49 missing at the end"},
		},
		{
			name: "swapped",
			tamper: func(t *testing.T, f *fixture) *memLog {
				f.log.entries[10], f.log.entries[11] = f.log.entries[11], f.log.entries[10]
				return f.log
			},
			want: []string{
				"reordered 10–11 ",
				"receipt-entry 10–10 receipt for letter 10",
				"rewritten 0–10 receipt for letter 10",
				"rewritten 0–19 checkpoint checkpoints, checkpoint 1 (line 1)",
				"rewritten 0–33 receipt for letter 33",
				"rewritten 0–34 checkpoint checkpoints, checkpoint 2 (line 7)",
				"rewritten 0–49 checkpoint checkpoints, checkpoint 3 (line 13)",
				"rewritten 0–49 receipt for letter 45",
			},
			words: []string{"entries 10 and 11 are swapped"},
		},
		{
			name: "swapped, renumbered and hashes recomputed",
			tamper: func(t *testing.T, f *fixture) *memLog {
				f.log.entries[10], f.log.entries[11] = f.log.entries[11], f.log.entries[10]
				f.log.rebuild(t)
				return f.log
			},
			checkpoints: []int64{50},
			receipts:    []int{},
			want:        []string{"rewritten 0–49 checkpoint checkpoints"},
			words:       []string{"history rewritten"},
		},
		{
			name: "truncated",
			tamper: func(t *testing.T, f *fixture) *memLog {
				for k := int64(45); k < fixtureSize; k++ {
					delete(f.log.entries, k)
				}
				return f.log
			},
			want: []string{
				"truncated 45–49 ",
				"receipt-entry 45–45 receipt for letter 45",
			},
			words: []string{"entries 45–49 missing at the end: the log records 50 entries but they stop at 45 (truncated)"},
		},
		{
			name: "truncated with its recorded size",
			tamper: func(t *testing.T, f *fixture) *memLog {
				for k := int64(45); k < fixtureSize; k++ {
					delete(f.log.entries, k)
				}
				f.log.size = 45
				return f.log
			},
			checkpoints: []int64{},
			receipts:    []int{},
			want:        []string{"truncated 45–45 "},
			words:       []string{"stored hashes go on past the last entry 44"},
		},
		{
			name: "rolled back, caught by a checkpoint",
			tamper: func(t *testing.T, f *fixture) *memLog {
				return f.at30
			},
			checkpoints: []int64{20, 35},
			receipts:    []int{},
			want:        []string{"rolled-back 30–34 checkpoint checkpoints, checkpoint 2 (line 7)"},
			words:       []string{"is of a log of 35 entries, this one has 30: entries 30–34 are gone (truncated, or rolled back to an older copy)"},
		},
		{
			name: "rolled back, caught by a receipt",
			tamper: func(t *testing.T, f *fixture) *memLog {
				return f.at30
			},
			checkpoints: []int64{},
			receipts:    []int{1},
			want:        []string{"rolled-back 30–33 receipt for letter 33"},
			words:       []string{"receipt for letter 33 is of a log of 34 entries, this one has 30"},
		},
		{
			// The documented limit: an older copy, self-consistent, with
			// no evidence from after it, is an older log. Verify cannot
			// know, and says OK.
			name: "rolled back, no evidence from after it",
			tamper: func(t *testing.T, f *fixture) *memLog {
				return f.at30
			},
			checkpoints: []int64{20},
			receipts:    []int{0},
		},
		{
			name: "a stored interior hash altered",
			tamper: func(t *testing.T, f *fixture) *memLog {
				// Entry 7 completes subtrees at levels 1, 2 and 3; alter
				// the level-2 one.
				i := storedIndex(2, 1)
				h := f.log.hashes[i]
				h[0] ^= 1
				f.log.hashes[i] = h
				return f.log
			},
			want:  []string{"stored-hashes 7–7 "},
			words: []string{"stored hash at level 2 above entry 7 does not match its children (stored hashes altered)"},
		},
		{
			name: "entries appended outside the log",
			tamper: func(t *testing.T, f *fixture) *memLog {
				e := testEntry(50)
				e.Index = 50
				f.log.entries[50], _ = e.Encode()
				f.log.entries[51], _ = e.Encode()
				return f.log
			},
			checkpoints: []int64{},
			receipts:    []int{},
			want:        []string{"stored-hashes 50–50 ", "reordered 51–51 ", "extra 50–51 "},
			words:       []string{"entries 50–51 beyond the recorded size 50"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			log := tt.tamper(t, f)
			var ev Evidence
			if !tt.noEvidence {
				cps := tt.checkpoints
				if cps == nil {
					cps = allCheckpoints
				}
				if len(cps) > 0 {
					ev.Checkpoints = []File{f.checkpointFile(cps...)}
				}
				if tt.receipts == nil {
					ev.Receipts = f.receipts
				}
				for _, i := range tt.receipts {
					ev.Receipts = append(ev.Receipts, f.receipts[i])
				}
			}
			r, err := Verify(log, f.verifier, ev)
			if err != nil {
				t.Fatal(err)
			}
			got := problemLines(r)
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s\nreport:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), r)
			}
			if r.OK() != (len(tt.want) == 0) {
				t.Errorf("OK() = %v with %d problems", r.OK(), len(tt.want))
			}
			text := r.String()
			for _, w := range tt.words {
				if !strings.Contains(text, w) {
					t.Errorf("report does not say %q:\n%s", w, text)
				}
			}
			if len(tt.want) == 0 {
				wantCps := len(ev.Checkpoints)
				if wantCps > 0 {
					wantCps = len(ParseCheckpointFile(f.verifier, ev.Checkpoints[0].Data))
				}
				if r.Checkpoints != wantCps || r.Receipts != len(ev.Receipts) {
					t.Errorf("matched %d checkpoints and %d receipts, want %d and %d", r.Checkpoints, r.Receipts, wantCps, len(ev.Receipts))
				}
				if !strings.Contains(text, "OK: no problem found") {
					t.Errorf("report of a sound log:\n%s", text)
				}
			}
		})
	}
}

func storedIndex(level int, n int64) int64 {
	return tlogStoredHashIndex(level, n)
}

// TestVerifyBadEvidence: a wrong checkpoint file, another appliance's
// checkpoint or receipt, a forged signature: each is a clear problem of
// the evidence, the sound log itself is not blamed, and nothing panics.
func TestVerifyBadEvidence(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other, _ := testNote(t, "another appliance")
	root50, _ := TreeHash(50, f.log)
	fromOther, _ := SignCheckpoint(other, 50, root50)
	forged := strings.Replace(string(f.checkpoints[35]), "\n35\n", "\n45\n", 1)
	empty, _ := SignCheckpoint(f.signer, 0, sha256Empty())

	otherReceipt := f.receipts[2]
	otherReceipt.Name = "receipt from elsewhere"
	otherReceipt.Proof.Checkpoint = fromOther
	alteredReceipt := f.receipts[1]
	alteredReceipt.Name = "altered receipt"
	alteredReceipt.Proof.Proof = slices.Clone(alteredReceipt.Proof.Proof)
	alteredReceipt.Proof.Proof[0][3] ^= 8
	movedReceipt := f.receipts[1]
	movedReceipt.Name = "moved receipt"
	movedReceipt.Entry.Index = 32
	badEntry := f.receipts[0]
	badEntry.Name = "receipt with a bad entry"
	badEntry.Entry.Object = ""

	ev := Evidence{
		Checkpoints: []File{
			{Name: "notes.txt", Data: []byte("hello\n")},
			{Name: "empty.txt", Data: nil},
			{Name: "other.ckpt", Data: fromOther},
			{Name: "forged.ckpt", Data: []byte(forged)},
			{Name: "empty-log.ckpt", Data: empty},
			f.checkpointFile(20, 35, 50),
		},
		Receipts: []ReceiptClaim{otherReceipt, alteredReceipt, movedReceipt, badEntry, f.receipts[0]},
	}
	r, err := Verify(f.log, f.verifier, ev)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ source, words string }{
		{"notes.txt", "notes.txt: not a signed checkpoint of this appliance"},
		{"empty.txt", "empty.txt: no checkpoint in the file"},
		{"other.ckpt", "other.ckpt: not signed by this appliance's key — another appliance's, or this log's key was replaced"},
		{"forged.ckpt", "forged.ckpt: its signature does not verify: forged or altered"},
		{"receipt from elsewhere", "receipt from elsewhere: not signed by this appliance's key"},
		{"altered receipt", "altered receipt: its inclusion proof does not verify: altered, or not from this log"},
		{"moved receipt", "moved receipt: its entry says index 32, its proof 33"},
		{"receipt with a bad entry", "receipt with a bad entry: its delivery entry cannot be encoded"},
	}
	if len(r.Problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(r.Problems), len(want), r)
	}
	for i, w := range want {
		p := r.Problems[i]
		if p.Kind != ProblemEvidence || p.Source != w.source || !strings.HasPrefix(p.Text, w.words) {
			t.Errorf("problem %d: %s %q %q; want %s %q %q", i, p.Kind, p.Source, p.Text, ProblemEvidence, w.source, w.words)
		}
	}
	// The good evidence still counts: 3 checkpoints and the empty log's,
	// one receipt.
	if r.Checkpoints != 4 || r.Receipts != 1 {
		t.Errorf("matched %d checkpoints, %d receipts; want 4, 1", r.Checkpoints, r.Receipts)
	}
}

// brokenLog fails to read.
type brokenLog struct {
	*memLog
	sizeErr, entriesErr error
}

func (b brokenLog) Size() (int64, error) {
	if b.sizeErr != nil {
		return 0, b.sizeErr
	}
	return b.memLog.Size()
}

func (b brokenLog) Entries(fn func(int64, []byte) error) error {
	if b.entriesErr != nil {
		return b.entriesErr
	}
	return b.memLog.Entries(fn)
}

func TestVerifyUnreadableLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	io := errors.New("input/output error")
	for _, b := range []brokenLog{{memLog: f.log, sizeErr: io}, {memLog: f.log, entriesErr: io}} {
		if r, err := Verify(b, f.verifier, Evidence{}); !errors.Is(err, io) {
			t.Errorf("Verify = %v, %v; want the read error", r, err)
		}
	}
}

// TestVerifyFarKey: an entry stored under an absurd index is reported, not
// walked to.
func TestVerifyFarKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, k := range []int64{fixtureSize + maxGap + 1, MaxTreeSize, 1<<63 - 1} {
		log := f.log.clone()
		log.entries[k] = log.entries[0]
		r, err := Verify(log, f.verifier, Evidence{})
		if err != nil {
			t.Fatal(err)
		}
		if got := problemLines(r); !slices.Equal(got, []string{fmt.Sprintf("extra %d–%d ", k, k)}) {
			t.Errorf("key %d: %q", k, got)
		}
	}
}

// TestVerifyProblemLimit: a log edited everywhere gives a bounded report.
func TestVerifyProblemLimit(t *testing.T) {
	t.Parallel()
	m := newMemLog()
	var a Appender
	for n := range int64(maxProblems + 10) {
		m.add(t, &a, testEntry(n))
	}
	for k := range m.entries {
		m.editEntry(t, k, func(e *Entry) { e.Detail = "edited" })
	}
	_, v := testNote(t, "appliance")
	r, err := Verify(m, v, Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != maxProblems || r.Omitted != 10 || r.OK() {
		t.Errorf("%d problems, %d omitted", len(r.Problems), r.Omitted)
	}
	if !strings.Contains(r.String(), "… and 10 more problems") {
		t.Error("the report does not say problems were left out")
	}
}
