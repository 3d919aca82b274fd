package guard

import (
	"errors"
	"io"
	"sync"
)

// ErrBytesInFlight is a request body that would take the server over its bytes in
// flight (BytesInFlight): the request is refused, nothing of it stored,
// and the client tries again later.
var ErrBytesInFlight = errors.New("too many request bytes in flight; try again later")

// BytesInFlight bounds the request-body bytes that the server's
// deliveries read at once, for the whole process, so that a burst of
// large letters is refused rather than taking the machine's memory: a
// delivery holds its document in memory, sealed and committed, until its
// answer. It never waits: a body that does not fit is ErrBytesInFlight at once.
type BytesInFlight struct {
	max int64

	mu   sync.Mutex
	used int64
}

// NewBytesInFlight returns a bound of max bytes.
func NewBytesInFlight(max int64) *BytesInFlight { return &BytesInFlight{max: max} }

// Max is the bound in bytes.
func (b *BytesInFlight) Max() int64 { return b.max }

// InUse is how many bytes are held now.
func (b *BytesInFlight) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *BytesInFlight) reserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.max-b.used {
		return false
	}
	b.used += n
	return true
}

func (b *BytesInFlight) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// bodyChunk is how much a body of unknown length reserves at a time.
const bodyChunk = 1 << 20

// Body holds body's bytes against the bound while they are read. A body
// of a declared length (length ≥ 0: its Content-Length, which the server
// makes sure it does not exceed) reserves it all at once, or none: ErrBytesInFlight
// before a byte is read. One of unknown length (-1: chunked) reserves a
// chunk at a time as it is read, and its Read fails with ErrBytesInFlight when the
// next does not fit. At most limit bytes are reserved: the request is
// refused beyond its own size limit anyway. The caller calls Release when
// the request is done with the bytes (after its answer), whatever
// happened.
func (b *BytesInFlight) Body(body io.ReadCloser, length, limit int64) (*HeldBody, error) {
	h := &HeldBody{b: b, r: body, limit: limit}
	if length >= 0 {
		n := min(length, limit)
		if !b.reserve(n) {
			return nil, ErrBytesInFlight
		}
		h.held, h.fixed = n, true
	}
	return h, nil
}

// HeldBody is a request body whose bytes are held against a
// BytesInFlight.
type HeldBody struct {
	b     *BytesInFlight
	r     io.ReadCloser
	limit int64
	fixed bool // the declared length is held

	mu   sync.Mutex
	read int64
	held int64
}

// Read reads from the body, reserving more first when it has none left
// (unknown length only).
func (h *HeldBody) Read(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.fixed {
		if h.read >= h.held && h.held < h.limit {
			n := min(bodyChunk, h.limit-h.held)
			if !h.b.reserve(n) {
				return 0, ErrBytesInFlight
			}
			h.held += n
		}
		if room := h.held - h.read; room > 0 && int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := h.r.Read(p)
	h.read += int64(n)
	return n, err
}

// Close closes the body; the bytes stay held until Release.
func (h *HeldBody) Close() error { return h.r.Close() }

// Release gives the held bytes back; a second call does nothing.
func (h *HeldBody) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.b.release(h.held)
	h.held = 0
	h.limit = 0 // no more
}
