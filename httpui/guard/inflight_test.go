package guard

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestBytesInFlight: a body of a declared length holds it all or is
// refused before a byte is read; one of unknown length holds a chunk at
// a time and fails its read when the next does not fit; Release gives
// everything back, once.
func TestBytesInFlight(t *testing.T) {
	t.Parallel()
	b := NewBytesInFlight(3 * bodyChunk)
	body := func(n int) io.ReadCloser { return io.NopCloser(bytes.NewReader(make([]byte, n))) }

	first, err := b.Body(body(2*bodyChunk), 2*bodyChunk, 10*bodyChunk)
	if err != nil || b.InUse() != 2*bodyChunk {
		t.Fatalf("declared 2 chunks: %v, %d in use", err, b.InUse())
	}
	if _, err := b.Body(body(2*bodyChunk), 2*bodyChunk, 10*bodyChunk); !errors.Is(err, ErrBytesInFlight) || b.InUse() != 2*bodyChunk {
		t.Fatalf("declared 2 more of 1 left: %v, %d in use", err, b.InUse())
	}
	// A declared length over the request's own limit holds only the
	// limit: the request is refused beyond it anyway.
	capped, err := b.Body(body(5*bodyChunk), 5*bodyChunk, bodyChunk)
	if err != nil || b.InUse() != 3*bodyChunk {
		t.Fatalf("declared 5 chunks, limit 1: %v, %d in use", err, b.InUse())
	}
	capped.Release()

	// Unknown length: the first chunk fits, the second does not.
	chunked, err := b.Body(body(2*bodyChunk), -1, 10*bodyChunk)
	if err != nil || b.InUse() != 2*bodyChunk {
		t.Fatalf("unknown length: %v, %d in use before reading", err, b.InUse())
	}
	n, err := io.Copy(io.Discard, chunked)
	if !errors.Is(err, ErrBytesInFlight) || n != bodyChunk {
		t.Fatalf("unknown length read %d bytes, %v; want one chunk, then ErrBytesInFlight", n, err)
	}
	first.Release()
	first.Release() // a second time gives nothing more back
	if b.InUse() != bodyChunk {
		t.Fatalf("%d in use after releasing the first", b.InUse())
	}
	if n, err := io.Copy(io.Discard, chunked); err != nil || n != bodyChunk {
		t.Fatalf("the rest once room came free: %d, %v", n, err)
	}
	chunked.Release()
	if b.InUse() != 0 {
		t.Fatalf("%d in use after releasing everything", b.InUse())
	}
}
