package crypto

import (
	"bytes"
	"errors"
	"testing"
)

// TestDocumentSealer: the streaming sealer writes exactly SealDocument's
// bytes for the same key and randomness, however the plaintext is cut
// into writes, and the result opens.
func TestDocumentSealer(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t)
	for _, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2 * ChunkSize, 1<<20 + 7} {
		doc := testDocument(n)
		seed := bytes.Repeat([]byte{byte(n), 7}, 32)
		want, err := dk.SealDocument(bytes.NewReader(seed), "document/0", doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []int{1, 1000, ChunkSize - 1, ChunkSize, ChunkSize + 1, 1 << 21} {
			if step == 1 && n > 2*ChunkSize {
				continue // byte by byte over a megabyte says nothing more
			}
			var got bytes.Buffer
			s, err := dk.NewDocumentSealer(bytes.NewReader(seed), "document/0", &got)
			if err != nil {
				t.Fatal(err)
			}
			for rest := doc; len(rest) > 0; {
				k := min(step, len(rest))
				if w, err := s.Write(rest[:k]); err != nil || w != k {
					t.Fatalf("%d bytes in writes of %d: wrote %d, %v", n, step, w, err)
				}
				rest = rest[k:]
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("%d bytes in writes of %d: not SealDocument's bytes", n, step)
			}
			if got.Len() != SealedDocumentSize(n) {
				t.Errorf("%d bytes: sealed %d, SealedDocumentSize %d", n, got.Len(), SealedDocumentSize(n))
			}
			if open, err := dk.OpenDocument("document/0", got.Bytes()); err != nil || !bytes.Equal(open, doc) {
				t.Errorf("%d bytes in writes of %d: does not open: %v", n, step, err)
			}
		}
	}
}

// TestDocumentSealerErrors: a failing writer or randomness fails the
// sealer and every later call; a write after Close fails.
func TestDocumentSealerErrors(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t)
	if _, err := dk.NewDocumentSealer(bytes.NewReader(nil), "document/0", &bytes.Buffer{}); err == nil {
		t.Error("sealer without randomness: no error")
	}
	broken := errors.New("disk gone")
	w := &failAfter{n: docHeaderSize + ChunkSize, err: broken}
	s, err := dk.NewDocumentSealer(bytes.NewReader(make([]byte, 64)), "document/0", w)
	if err != nil {
		t.Fatal(err)
	}
	doc := testDocument(3 * ChunkSize)
	if _, err := s.Write(doc); !errors.Is(err, broken) {
		t.Errorf("write to a failing writer: %v, want %v", err, broken)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, broken) {
		t.Errorf("write after a failure: %v", err)
	}
	if err := s.Close(); !errors.Is(err, broken) {
		t.Errorf("close after a failure: %v", err)
	}
	s, err = dk.NewDocumentSealer(bytes.NewReader(make([]byte, 64)), "document/0", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Error("write after Close: no error")
	}
}

// failAfter is a writer that takes n bytes and then fails with err.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, f.err
	}
	f.n -= len(p)
	return len(p), nil
}
