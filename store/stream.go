package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Documents are the documents of a letter being delivered, each checked,
// hashed and sealed as it streams in (Add), before the letter's other
// fields are known: the sender API seals the parts of a request as they
// arrive, whether its "message" part comes first or last. The letter's id
// and data key are made first; the data key is sealed to the recipient
// when the letter is delivered (DeliverDocuments). No document's
// plaintext is held whole: only a chunk at a time (crypto.DocumentSealer)
// and, until the commit, the sealed document, which the embedded engine
// writes in the same bbolt transaction as the letter. HTML is the
// exception: it is sanitised whole (at most Limits.MaxDocumentSize).
//
// Deliver takes its documents the same way (one path), so every rule on
// a document's name, type, content and size has one home: Add.
type Documents struct {
	s     *Store
	id    string          // the letter's id
	dk    *crypto.DataKey // the letter's data key
	docs  []streamedDocument
	total int64          // content bytes as sent, for MaxLetterSize
	blobs []storage.Blob // the sealed documents, written ahead
	bufs  [][]byte       // their buffers (the pool's; see release)
	size  int            // of the sealed documents
	ended bool           // delivered or discarded
}

// streamedDocument is one document of Documents.
type streamedDocument struct {
	sent        HashedDocument // as the sender sent it, for ContentHash
	name        string         // as kept: the base name
	contentType string         // as kept: without parameters
	size        int64          // of the content as kept
	sealedName  []byte
	sealedSent  []byte // sealSentDocument's, nil when kept as sent
}

// errDocumentsEnded is the error of Documents used after they were
// delivered or discarded: a bug in the caller.
var errDocumentsEnded = errors.New("documents already delivered or discarded")

// NewDocuments starts a letter's documents for DeliverDocuments. The
// caller calls Discard if it does not deliver them.
func (s *Store) NewDocuments() (*Documents, error) {
	id, err := s.newLetterID()
	if err != nil {
		return nil, err
	}
	dk, err := crypto.NewDataKey(s.rand)
	if err != nil {
		return nil, err
	}
	return &Documents{s: s, id: id, dk: dk}, nil
}

// Len returns how many documents were added.
func (ds *Documents) Len() int { return len(ds.docs) }

// Add reads the next document from doc.Reader (or doc.Content when Reader
// is nil) to its end, checks it under the store's limits (at most
// MaxDocuments, each at most MaxDocumentSize, together at most
// MaxLetterSize, a file name, a supported type the content matches),
// hashes it and seals it into the engine's blobs, holding at most a chunk
// of plaintext. On any error nothing of the letter stays stored: the
// documents added so far are discarded and ds may not be used again. The
// error then wraps ErrDocumentTooLarge or ErrUnsupportedDocumentType, or
// is an InvalidError of the field "document" or "document[i]", or is the
// reader's own error as it is (the size limit of an HTTP body,
// *http.MaxBytesError, a client gone). A document over a limit is read no
// further than the limit; one refused for its name or type is read up to
// the limit all the same, so a document both too large and refused
// answers as too large, whatever its order.
func (ds *Documents) Add(ctx context.Context, doc DocumentInput) error {
	if ds.ended {
		return errDocumentsEnded
	}
	s := ds.s
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		ds.Discard()
		return ErrClosed
	}
	s.inflight.Add(1)
	s.mu.RUnlock()
	defer s.inflight.Done()
	if err := ds.add(ctx, doc); err != nil {
		ds.Discard()
		return err
	}
	return nil
}

func (ds *Documents) add(ctx context.Context, doc DocumentInput) error {
	s, l, i := ds.s, ds.s.limits, len(ds.docs)
	if i >= l.MaxDocuments {
		return invalid("document", "at most %d documents", l.MaxDocuments)
	}
	field := fmt.Sprintf("document[%d]", i)
	name, ct, refusal := s.checkDocumentHeader(field, doc)
	var check *typeCheck
	if refusal == nil {
		check, _ = newTypeCheck(ct)
	}
	r := doc.Reader
	if r == nil {
		r = bytes.NewReader(doc.Content)
	}
	limit := min(l.MaxDocumentSize, l.MaxLetterSize-ds.total)
	src := &countReader{r: io.LimitReader(r, limit+1)}
	tooLarge := func() error {
		if src.n > l.MaxDocumentSize {
			return fmt.Errorf("%s is over %d bytes: %w", field, l.MaxDocumentSize, ErrDocumentTooLarge)
		}
		return fmt.Errorf("the documents together are over %d bytes: %w", l.MaxLetterSize, ErrDocumentTooLarge)
	}
	// drain reads a refused document on to its end or the limit.
	drain := func(refused error) error {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return err
		}
		if src.n > limit {
			return tooLarge()
		}
		return refused
	}
	if refusal != nil {
		return drain(refusal)
	}

	sum := sha256.New()
	// A document given whole is sealed into a buffer of its sealed size
	// (from the pool when one is large enough); a stream's size is known
	// only at its end: it is sealed into a buffer of the pool, if any, and
	// blocks after it (sealedWriter).
	hint := 0
	if doc.Reader == nil {
		hint = len(doc.Content)
	}
	var buf *sealedWriter
	if hint > 0 {
		buf = &sealedWriter{b: s.sealedBuffer(hint)}
	} else if b, ok := s.sealed.Get().(*[]byte); ok {
		buf = &sealedWriter{b: (*b)[:0]}
	} else {
		buf = &sealedWriter{}
	}
	var sealer *crypto.DocumentSealer
	var html bytes.Buffer
	sink := io.Writer(&html) // HTML is sanitised whole
	if ct != "text/html" {
		var err error
		if sealer, err = ds.dk.NewDocumentSealer(s.rand, fmt.Sprintf("document/%d", i), buf); err != nil {
			return err
		}
		sink = sealer
	}
	ok, err := checkContentType(check, io.TeeReader(src, io.MultiWriter(sum, sink)))
	switch {
	case err != nil:
		return err
	case src.n > limit:
		return tooLarge()
	case !ok:
		return drain(fmt.Errorf("%s: declared %s but the content is %s: %w", field, ct, check.detected(), ErrUnsupportedDocumentType))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	size := src.n
	var keptSum [sha256.Size]byte
	if sealer == nil {
		kept := s.html.SanitizeBytes(html.Bytes())
		size, keptSum = int64(len(kept)), sha256.Sum256(kept)
		if sealer, err = ds.dk.NewDocumentSealer(s.rand, fmt.Sprintf("document/%d", i), buf); err != nil {
			return err
		}
		if _, err := sealer.Write(kept); err != nil {
			return err
		}
	}
	if err := sealer.Close(); err != nil {
		return err
	}
	d := streamedDocument{name: name, contentType: ct, size: size}
	d.sent = HashedDocument{Name: doc.Name, ContentType: doc.ContentType}
	sum.Sum(d.sent.SHA256[:0])
	if ct != "text/html" {
		keptSum = d.sent.SHA256
	}
	if d.sealedName, err = ds.dk.SealField(s.rand, fmt.Sprintf("document/%d/name", i), []byte(name)); err != nil {
		return err
	}
	if d.sealedSent, err = sealSentDocument(s.rand, ds.dk, i, d.sent, name, ct, keptSum); err != nil {
		return err
	}
	sealed := buf.bytes()
	ds.bufs = append(ds.bufs, sealed)
	ds.size += len(sealed)
	blob, err := s.eng.Blobs().Write(ctx, ds.id, i, bytes.NewBuffer(sealed))
	if err != nil {
		return fmt.Errorf("write document %d: %w", i, err)
	}
	ds.blobs = append(ds.blobs, blob)
	ds.docs = append(ds.docs, d)
	ds.total += src.n
	return nil
}

// checkDocumentHeader checks a document's file name and declared type and
// returns them as kept (the base name; the type without parameters,
// text/xml as application/xml), or the refusal.
func (s *Store) checkDocumentHeader(field string, doc DocumentInput) (name, ct string, err error) {
	name = path.Base(strings.ReplaceAll(doc.Name, `\`, "/"))
	switch {
	case doc.Name == "" || name == "." || name == "/":
		return "", "", invalid(field, "missing file name")
	case len(name) > s.limits.MaxFileName:
		return "", "", invalid(field, "file name longer than %d bytes", s.limits.MaxFileName)
	case !isText([]byte(name)) || strings.ContainsAny(name, "\t\n\r\f"):
		return "", "", invalid(field, "file name must be one line of UTF-8 text")
	}
	if r, ok := formatChar(name); ok {
		return "", "", invalid(field, "file name must not contain Unicode format characters such as bidirectional controls (found U+%04X)", r)
	}
	ct, _, err = mime.ParseMediaType(doc.ContentType)
	if err != nil {
		return "", "", fmt.Errorf("%s: content type %q: %w", field, doc.ContentType, ErrUnsupportedDocumentType)
	}
	if ct == "text/xml" {
		ct = "application/xml" // the same type (RFC 7303); one name is kept
	}
	if _, ok := newTypeCheck(ct); !ok {
		return "", "", fmt.Errorf("%s: %s is not supported (supported: %s): %w", field, ct,
			strings.Join(SupportedDocumentTypes(), ", "), ErrUnsupportedDocumentType)
	}
	return name, ct, nil
}

// Discard deletes what was stored of the documents and forgets the data
// key. It may be called more than once, and after DeliverDocuments (which
// then keeps what it delivered).
func (ds *Documents) Discard() {
	if ds.ended {
		return
	}
	ds.ended = true
	ds.dk.Zero()
	if len(ds.blobs) > 0 {
		ds.s.eng.Blobs().Discard(context.Background(), ds.blobs)
	}
	ds.putBuffers()
}

// putBuffers returns the sealed documents' buffers to the pool.
func (ds *Documents) putBuffers() {
	for _, b := range ds.bufs {
		if cap(b) <= maxPooledSealed {
			ds.s.sealed.Put(&b)
		}
	}
	ds.bufs, ds.blobs = nil, nil
}

// hashed returns the documents as ContentHash covers them.
func (ds *Documents) hashed() []HashedDocument {
	out := make([]HashedDocument, len(ds.docs))
	for i, d := range ds.docs {
		out[i] = d.sent
	}
	return out
}

// plaintext opens the sealed documents again, as kept (base name, type
// without parameters, HTML sanitised): for the checks and the sealed
// print copy of letters with print details or a signature request, which
// need the whole documents (the buffered path; see docs/PERFORMANCE.md).
func (ds *Documents) plaintext() ([]DocumentInput, error) {
	out := make([]DocumentInput, len(ds.docs))
	for i, d := range ds.docs {
		content, err := ds.dk.OpenDocument(fmt.Sprintf("document/%d", i), ds.bufs[i])
		if err != nil {
			return nil, fmt.Errorf("open document %d again: %w", i, err)
		}
		out[i] = DocumentInput{Name: d.name, ContentType: d.contentType, Content: content}
	}
	return out, nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// sealedWriter collects a sealed document: into b while it has room (a
// buffer from the pool, of the document's sealed size when that is known),
// then into blocks of growing size (firstSealedBlock, doubling up to
// maxSealedBlock), joined once at the end (bytes), or kept as it is when
// one block holds it all. Growing one buffer by append instead allocated
// about five times a large document's sealed size on the way (each step
// copies what came before).
type sealedWriter struct {
	b    []byte
	more [][]byte
	size int
}

const (
	firstSealedBlock = 128 << 10
	maxSealedBlock   = 1 << 20
)

func (w *sealedWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.size += n
	if len(w.more) == 0 {
		k := min(len(p), cap(w.b)-len(w.b))
		w.b, p = append(w.b, p[:k]...), p[k:]
	}
	for len(p) > 0 {
		if len(w.more) == 0 {
			w.more = append(w.more, make([]byte, 0, firstSealedBlock))
		} else if last := w.more[len(w.more)-1]; len(last) == cap(last) {
			w.more = append(w.more, make([]byte, 0, min(2*cap(last), maxSealedBlock)))
		}
		last := &w.more[len(w.more)-1]
		k := min(len(p), cap(*last)-len(*last))
		*last, p = append(*last, p[:k]...), p[k:]
	}
	return n, nil
}

// bytes returns the sealed document in one buffer.
func (w *sealedWriter) bytes() []byte {
	switch {
	case len(w.more) == 0:
		return w.b
	case len(w.b) == 0 && len(w.more) == 1:
		w.b, w.more = w.more[0], nil
		return w.b
	}
	out := make([]byte, 0, w.size)
	out = append(out, w.b...)
	for _, m := range w.more {
		out = append(out, m...)
	}
	w.b, w.more = out, nil
	return out
}
