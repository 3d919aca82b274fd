package crypto

import (
	"errors"
	"io"
)

// DocumentSealer seals a document as it is written, in the format of
// SealDocument, byte for byte: 0x02 | a 16-byte salt from rand | chunks of
// ChunkSize bytes of plaintext, each sealed with AES-256-GCM under the
// nonce counter | last flag (document.go). It holds at most one chunk of
// plaintext and one sealed chunk, whatever the document's size.
//
// A full chunk is sealed only when the next byte arrives, because the last
// chunk must carry the last flag (a document of exactly ChunkSize bytes is
// one chunk, flagged last, as in SealDocument); Close seals what is left
// (nothing, for an empty document: one empty chunk, flagged last).
type DocumentSealer struct {
	w   io.Writer
	c   *docCipher
	buf []byte // plaintext of the current chunk, at most ChunkSize
	out []byte // the sealed chunk being written
	err error  // the first error; every later call returns it
}

// errSealerClosed is the error of a write after Close.
var errSealerClosed = errors.New("document sealer closed")

// NewDocumentSealer returns a sealer that writes the document sealed under
// label ("document/0") to w. It writes the format byte and the salt at
// once. The caller must Close it to write the last chunk; a sealer
// abandoned after an error needs no Close (Close drops the key, which is
// best effort anyway).
func (dk *DataKey) NewDocumentSealer(rand io.Reader, label string, w io.Writer) (*DocumentSealer, error) {
	var head [docHeaderSize]byte
	c, err := dk.startDocument(rand, documentFormat, label, head[:])
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(head[:]); err != nil {
		c.zero()
		return nil, err
	}
	return &DocumentSealer{w: w, c: c, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedChunkSize)}, nil
}

// Write seals p as it fills chunks. It never keeps p.
func (s *DocumentSealer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for len(p) > 0 {
		if len(s.buf) == ChunkSize {
			// More follows: the full chunk is not the last.
			if err := s.flush(false); err != nil {
				return n, err
			}
		}
		k := min(len(p), ChunkSize-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p, n = p[k:], n+k
	}
	return n, nil
}

// flush seals the chunk in buf and writes it.
func (s *DocumentSealer) flush(last bool) error {
	out, err := s.c.seal(s.out[:0], s.buf, last)
	if err != nil {
		s.err = err
		return err
	}
	s.out = out
	clear(s.buf)
	s.buf = s.buf[:0]
	if _, err := s.w.Write(s.out); err != nil {
		s.err = err
		return err
	}
	return nil
}

// Close seals and writes the last chunk and drops the key. It does not
// close the underlying writer.
func (s *DocumentSealer) Close() error {
	if s.err != nil {
		s.c.zero()
		return s.err
	}
	err := s.flush(true)
	s.c.zero()
	if err == nil {
		s.err = errSealerClosed
	}
	return err
}
