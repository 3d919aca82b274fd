package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// The fuzz targets cover every decoder of bytes that come from outside the
// appliance's control: stored entries (the database may be tampered
// with), checkpoint files, and receipts' proofs. Each checks that a
// decoder never panics or hangs, fails only with its sentinel error, and
// that whatever it accepts is exactly what the encoder makes of it. `go
// test` runs every target on its seeds; `go test -fuzz FuzzName` explores.

func FuzzEntryDecode(f *testing.F) {
	for n := range int64(8) {
		e := testEntry(n)
		e.Index = n
		b, err := e.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("postkasse/v1/audit-entry\nindex 0\ntime 2026-01-02T03:04:05Z\nactor a\naction b\nobject c\ndetail d\n"))
	f.Add([]byte("postkasse/v1/audit-entry\nindex 00\ntime 2026-01-02T03:04:05+00:00\nactor a\naction b\nobject c\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			if !errors.Is(err, ErrEntryFormat) {
				t.Fatalf("DecodeEntry: %v, not ErrEntryFormat", err)
			}
			return
		}
		again, err := e.Encode()
		if err != nil {
			t.Fatalf("a decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded %q, encodes as %q", b, again)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	s, v := testNote(f, "appliance")
	other, _ := testNote(f, "another appliance")
	for _, size := range []int64{0, 1, 50, MaxTreeSize} {
		b, err := SignCheckpoint(s, size, tlog.RecordHash([]byte{byte(size)}))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(append(append(b, '\n'), b...)) // a file of two
	}
	b, _ := SignCheckpoint(other, 3, tlog.Hash{})
	f.Add(b)
	f.Add([]byte("postkasse.test/audit\n1\nAAAA\n\n— postkasse.test/audit AAAAAAAA\n"))
	f.Add([]byte("\n\n— \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parsed := 0
		clean := func(err error) bool {
			return errors.Is(err, ErrCheckpointFormat) || errors.Is(err, ErrCheckpointKey) || errors.Is(err, ErrCheckpointSignature)
		}
		c, err := ParseCheckpoint(v, b)
		if err != nil {
			if !clean(err) {
				t.Fatalf("ParseCheckpoint: %v, not one of its errors", err)
			}
		} else {
			parsed++
			// Only our key signs, and it signs only what it is asked
			// to: what parses is exactly a checkpoint we made.
			if !bytes.HasPrefix(b, []byte(c.text()+"\n")) || c.Origin != testOrigin || c.Size < 0 || c.Size > MaxTreeSize {
				t.Fatalf("accepted %q as %+v", b, c)
			}
		}
		inFile := 0
		for _, fc := range ParseCheckpointFile(v, b) {
			if fc.Err != nil && !clean(fc.Err) {
				t.Fatalf("ParseCheckpointFile: %v, not one of its errors", fc.Err)
			}
			if fc.Line < 1 {
				t.Fatalf("checkpoint at line %d", fc.Line)
			}
			if fc.Err == nil {
				inFile++
			}
		}
		// A checkpoint that parses on its own parses as a file of one.
		if parsed > 0 && inFile == 0 {
			t.Fatalf("%q parses as a checkpoint, not as a checkpoint file", b)
		}
	})
}

func FuzzReceiptProofJSON(f *testing.F) {
	s, v := testNote(f, "appliance")
	m := newMemLog()
	var a Appender
	var leaves []tlog.Hash
	for n := range int64(13) {
		e := testEntry(n)
		e.Index = n
		leaf, err := a.Append(m, e)
		if err != nil {
			f.Fatal(err)
		}
		leaves = append(leaves, leaf)
	}
	for _, c := range [][2]int64{{0, 1}, {5, 13}, {12, 13}} {
		p, err := Prove(c[0], c[1], m)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(p)
		f.Add(b)
		p.Checkpoint, _ = SignCheckpoint(s, p.TreeSize, p.RootHash)
		b, _ = json.Marshal(p)
		f.Add(b)
	}
	f.Add([]byte(`{"treeSize":4611686018427387905,"leafIndex":0,"rootHash":"","proof":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p ReceiptProof
		if err := p.UnmarshalJSON(b); err != nil {
			if !errors.Is(err, ErrProofFormat) {
				t.Fatalf("UnmarshalJSON: %v, not ErrProofFormat", err)
			}
			return
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("a decoded proof does not encode: %v", err)
		}
		var q ReceiptProof
		if err := q.UnmarshalJSON(again); err != nil {
			t.Fatalf("re-encoded proof %s does not decode: %v", again, err)
		}
		if again2, _ := json.Marshal(q); !bytes.Equal(again, again2) {
			t.Fatalf("proof changes through JSON: %s, then %s", again, again2)
		}
		// Checking any decoded proof ends, and with a known error.
		leaf := leaves[int(p.LeafIndex)%len(leaves)]
		err = VerifyReceiptProof(leaf, p, v)
		if err != nil && !errors.Is(err, ErrProof) && !errors.Is(err, ErrProofFormat) &&
			!errors.Is(err, ErrCheckpointFormat) && !errors.Is(err, ErrCheckpointKey) && !errors.Is(err, ErrCheckpointSignature) {
			t.Fatalf("VerifyReceiptProof: %v", err)
		}
	})
}
