package embedded

import (
	"bytes"
	"testing"
)

// TestSplitParts: a small document or a letter's big field is cut into
// the fewest parts of at most documentPartMax bytes, all of one size but
// for a shorter last, which joined are the content; empty content is one
// empty part.
func TestSplitParts(t *testing.T) {
	for _, n := range []int{0, 1, documentPartMax - 1, documentPartMax, documentPartMax + 1, 2 * documentPartMax, 2100,
		3 * documentPartMax, smallDocumentMax, 5000} {
		content := make([]byte, n)
		for i := range content {
			content[i] = byte(i)
		}
		parts := splitParts(content)
		if want := max(1, (n+documentPartMax-1)/documentPartMax); len(parts) != want {
			t.Errorf("%d bytes: %d parts, want %d", n, len(parts), want)
		}
		for i, p := range parts {
			if len(p) > documentPartMax || (i < len(parts)-1 && len(p) != len(parts[0])) || len(p) > len(parts[0]) {
				t.Errorf("%d bytes: part %d of %d bytes (the first %d)", n, i, len(p), len(parts[0]))
			}
		}
		if joined := bytes.Join(parts, nil); !bytes.Equal(joined, content) {
			t.Errorf("%d bytes: the parts joined differ", n)
		}
	}
}

// FuzzSplitParts: whatever the content, its parts are at most
// documentPartMax bytes and joined are the content.
func FuzzSplitParts(f *testing.F) {
	for _, n := range []int{0, 1, documentPartMax, documentPartMax + 1, 5000} {
		f.Add(bytes.Repeat([]byte{7}, n))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		parts := splitParts(content)
		for i, p := range parts {
			if len(p) > documentPartMax {
				t.Fatalf("part %d of %d bytes", i, len(p))
			}
		}
		if !bytes.Equal(bytes.Join(parts, nil), content) {
			t.Fatal("the parts joined differ")
		}
	})
}
