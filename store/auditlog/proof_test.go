package auditlog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestReceiptProof proves every entry of every tree up to 33 entries,
// through JSON and back, with and without a checkpoint, and checks that a
// proof proves nothing else.
func TestReceiptProof(t *testing.T) {
	t.Parallel()
	s, v := testNote(t, "appliance")
	other, _ := testNote(t, "another appliance")
	m := newMemLog()
	var a Appender
	var leaves []tlog.Hash
	for size := int64(1); size <= 33; size++ {
		e := testEntry(size - 1)
		e.Index = size - 1
		leaf, err := a.Append(m, e)
		if err != nil {
			t.Fatal(err)
		}
		m.size++
		leaves = append(leaves, leaf)
		root, _ := TreeHash(size, m)
		cp, err := SignCheckpoint(s, size, root)
		if err != nil {
			t.Fatal(err)
		}
		for index := range size {
			p, err := Prove(index, size, m)
			if err != nil {
				t.Fatal(err)
			}
			if p.RootHash != root || p.TreeSize != size || p.LeafIndex != index {
				t.Fatalf("Prove(%d, %d) = %+v", index, size, p)
			}
			p.Checkpoint = cp
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var back ReceiptProof
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if err := VerifyReceiptProof(leaves[index], back, v); err != nil {
				t.Fatalf("entry %d of %d: %v", index, size, err)
			}
			withoutCheckpoint := back
			withoutCheckpoint.Checkpoint = nil
			if err := VerifyReceiptProof(leaves[index], withoutCheckpoint, nil); err != nil {
				t.Fatalf("entry %d of %d without checkpoint: %v", index, size, err)
			}
			// Another entry's leaf, or the proof moved to another index.
			if size > 1 {
				if err := VerifyReceiptProof(leaves[(index+1)%size], back, v); !errors.Is(err, ErrProof) {
					t.Fatalf("entry %d of %d proves another leaf: %v", index, size, err)
				}
				moved := back
				moved.LeafIndex = (index + 1) % size
				if err := VerifyReceiptProof(leaves[index], moved, v); !errors.Is(err, ErrProof) {
					t.Fatalf("entry %d of %d proves it at index %d: %v", index, size, moved.LeafIndex, err)
				}
			}
		}
	}

	p, _ := Prove(3, 20, m)
	root20, _ := TreeHash(20, m)
	root21, _ := TreeHash(21, m)
	cp21, _ := SignCheckpoint(s, 21, root21)
	cpOther, _ := SignCheckpoint(other, 20, root20)
	altered := p
	altered.Proof = append(tlog.RecordProof(nil), p.Proof...)
	altered.Proof[1][0] ^= 1
	tests := []struct {
		name string
		edit func(*ReceiptProof)
		v    bool
		want error
	}{
		{"a hash of the path altered", func(q *ReceiptProof) { *q = altered }, true, ErrProof},
		{"a hash too many", func(q *ReceiptProof) { q.Proof = append(q.Proof, tlog.Hash{}) }, true, ErrProof},
		{"another root", func(q *ReceiptProof) { q.RootHash = root21 }, true, ErrProof},
		{"a checkpoint of another size", func(q *ReceiptProof) { q.Checkpoint = cp21 }, true, ErrProof},
		{"another appliance's checkpoint", func(q *ReceiptProof) { q.Checkpoint = cpOther }, true, ErrCheckpointKey},
		{"a forged checkpoint", func(q *ReceiptProof) {
			q.Checkpoint = []byte(strings.Replace(string(cp21), "\n21\n", "\n20\n", 1))
		}, true, ErrCheckpointSignature},
		{"a checkpoint but no verifier", func(q *ReceiptProof) { q.Checkpoint = cp21 }, false, nil},
		{"index past the size", func(q *ReceiptProof) { q.LeafIndex = 20 }, true, ErrProofFormat},
		{"size 0", func(q *ReceiptProof) { q.TreeSize = 0 }, true, ErrProofFormat},
		{"size too big", func(q *ReceiptProof) { q.TreeSize = 1 << 62 }, true, ErrProofFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := p
			tt.edit(&q)
			vv := v
			if !tt.v {
				vv = nil
			}
			err := VerifyReceiptProof(leaves[3], q, vv)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("VerifyReceiptProof: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReceiptProofJSON(t *testing.T) {
	t.Parallel()
	h := func(b byte) tlog.Hash { return tlog.Hash{b} }
	p := ReceiptProof{TreeSize: 5, LeafIndex: 2, RootHash: h(1), Proof: tlog.RecordProof{h(2), h(3), h(4)}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	const zeros = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // 32 zero bytes
	want := `{"treeSize":5,"leafIndex":2,"rootHash":"AQ` + zeros[2:] + `","proof":["Ag` + zeros[2:] + `","Aw` + zeros[2:] + `","BA` + zeros[2:] + `"]}`
	if string(b) != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", b, want)
	}
	p.Checkpoint = []byte("a checkpoint\n")
	if b, _ = json.Marshal(p); !strings.HasSuffix(string(b), `,"checkpoint":"a checkpoint\n"}`) {
		t.Errorf("JSON with checkpoint: %s", b)
	}
	if _, err := json.Marshal(ReceiptProof{TreeSize: 1, LeafIndex: 1}); !errors.Is(err, ErrProofFormat) {
		t.Errorf("marshal an impossible proof: %v", err)
	}

	good := `{"treeSize":5,"leafIndex":2,"rootHash":"AQ` + zeros[2:] + `","proof":["Ag` + zeros[2:] + `"]}`
	var ok ReceiptProof
	if err := json.Unmarshal([]byte(good), &ok); err != nil {
		t.Fatalf("the good proof: %v", err)
	}
	bad := []struct{ name, in string }{
		{"not an object", `[1]`},
		{"unknown field", strings.Replace(good, `"treeSize"`, `"size":1,"treeSize"`, 1)},
		{"no path", `{"treeSize":5,"leafIndex":2,"rootHash":"AQ` + zeros[2:] + `"}`},
		{"no root", `{"treeSize":5,"leafIndex":2,"proof":[]}`},
		{"short root", strings.Replace(good, `"AQ`+zeros[2:]+`"`, `"AQ=="`, 1)},
		{"root in URL base64", strings.Replace(good, `"AQ`+zeros[2:]+`"`, `"_w`+zeros[2:]+`"`, 1)},
		{"root non-canonical", strings.Replace(good, `"AQ`+zeros[2:]+`"`, `"AQ`+zeros[2:42]+`B="`, 1)},
		{"path hash not base64", strings.Replace(good, `"Ag`+zeros[2:]+`"`, `"!!"`, 1)},
		{"size as a string", strings.Replace(good, `"treeSize":5`, `"treeSize":"5"`, 1)},
		{"size fractional", strings.Replace(good, `"treeSize":5`, `"treeSize":5.5`, 1)},
		{"size 0", strings.Replace(good, `"treeSize":5`, `"treeSize":0`, 1)},
		{"size huge", strings.Replace(good, `"treeSize":5`, `"treeSize":4611686018427387905`, 1)},
		{"negative index", strings.Replace(good, `"leafIndex":2`, `"leafIndex":-1`, 1)},
		{"index past the size", strings.Replace(good, `"leafIndex":2`, `"leafIndex":5`, 1)},
		{"trailing data", good + `{}`},
		{"path too long", strings.Replace(good, `"proof":[`, `"proof":[`+strings.Repeat(`"Ag`+zeros[2:]+`",`, maxProofHashes), 1)},
		{"too big", `{"checkpoint":"` + strings.Repeat("x", MaxProofJSONSize) + `"}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Called directly: json.Unmarshal would refuse some of these
			// itself before asking ReceiptProof.
			var q ReceiptProof
			if err := q.UnmarshalJSON([]byte(tt.in)); !errors.Is(err, ErrProofFormat) {
				t.Errorf("Unmarshal(%.80s…) = %+v, %v; want ErrProofFormat", tt.in, q, err)
			}
		})
	}
}
