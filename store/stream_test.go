package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// referenceIsText is the rule of isText as it was written for whole
// content: UTF-8, no control characters but tab, LF, FF and CR.
func referenceIsText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' && r != '\f' {
			return false
		}
	}
	return true
}

// TestTextCheckAcrossWrites: the streaming text check gives the whole
// content's answer however the content is cut into writes, a character
// cut anywhere among them.
func TestTextCheckAcrossWrites(t *testing.T) {
	t.Parallel()
	cases := []string{
		"", "plain", "Æble, øl og år", "€ and 𝄞 and \uFFFD", "tab\tline\nff\fcr\r",
		"nul\x00", "esc\x1b", "del\x7f", "c1\u0085", "bad\xff", "cut\xe2\x82", "\xe2\x82\xac\xe2",
		"\xf0\x9d\x84", "surrogate\xed\xa0\x80", "overlong\xc0\xaf", "\xf4\x90\x80\x80", "ok€",
	}
	for _, c := range cases {
		b := []byte(c)
		want := referenceIsText(b)
		if got := isText(b); got != want {
			t.Errorf("isText(%q) = %v, want %v", c, got, want)
		}
		for step := 1; step <= 3; step++ {
			for first := 0; first <= len(b); first++ {
				var tc textCheck
				ok := tc.write(b[:first])
				for rest := b[first:]; ok && len(rest) > 0; {
					k := min(step, len(rest))
					ok = tc.write(rest[:k])
					rest = rest[k:]
				}
				if got := ok && tc.end(); got != want {
					t.Errorf("%q cut at %d then in writes of %d: %v, want %v", c, first, step, got, want)
				}
			}
		}
	}
}

// TestContentTypeStreamed: the type checks on a stream, read a byte at a
// time, answer as on the whole content, and a reader's error is its own.
func TestContentTypeStreamed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ct      string
		content string
		want    bool
	}{
		{"application/pdf", "%PDF-1.7\n", true},
		{"application/pdf", "%PD", false},
		{"application/pdf", "GIF89a", false},
		{"image/png", "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 600), true},
		{"image/png", "%PDF-1.7", false},
		{"image/jpeg", "\xff\xd8\xff" + strings.Repeat("\x00", 10), true},
		{"text/plain", strings.Repeat("å", 40000), true},
		{"text/plain", strings.Repeat("å", 40000) + "\x00", false},
		{"text/html", "<p>Hej</p>", true},
		{"application/xml", `<?xml version="1.0"?><a><b>ø</b></a>`, true},
		{"application/xml", `<a></a><b></b>`, false},
		{"application/xml", `<a>` + strings.Repeat("<b>x</b>", 20000), false},
		{"application/xml", `<a>` + strings.Repeat("<b>x</b>", 20000) + `</a>`, true},
		{"application/xml", "<a>\x01</a>", false},
		{"application/xml", "text", false},
	}
	for _, c := range cases {
		if got := matchesType(c.ct, []byte(c.content)); got != c.want {
			t.Errorf("%s %.20q whole: %v, want %v", c.ct, c.content, got, c.want)
		}
		check, _ := newTypeCheck(c.ct)
		got, err := checkContentType(check, iotest.OneByteReader(strings.NewReader(c.content)))
		if err != nil || got != c.want {
			t.Errorf("%s %.20q a byte at a time: %v, %v; want %v", c.ct, c.content, got, err, c.want)
		}
	}
	gone := errors.New("client gone")
	check, _ := newTypeCheck("application/xml")
	if _, err := checkContentType(check, io.MultiReader(strings.NewReader("<a>"), iotest.ErrReader(gone))); !errors.Is(err, gone) {
		t.Errorf("XML cut by the reader's error: %v, want %v", err, gone)
	}
}

// blobLog is an engine that records the blobs written and discarded, and
// fails the Write numbered failWrite (from 1; 0 never).
type blobLog struct {
	storage.Engine
	mu        sync.Mutex
	writes    int
	failWrite int
	written   []string
	discarded []string
}

func (e *blobLog) Blobs() storage.Blobs { return blobLogBlobs{e.Engine.Blobs(), e} }

type blobLogBlobs struct {
	storage.Blobs
	e *blobLog
}

var errBlobWrite = errors.New("object store down")

func (b blobLogBlobs) Write(ctx context.Context, letterID string, index int, content io.Reader) (storage.Blob, error) {
	b.e.mu.Lock()
	b.e.writes++
	fail := b.e.writes == b.e.failWrite
	b.e.mu.Unlock()
	if fail {
		return nil, errBlobWrite
	}
	blob, err := b.Blobs.Write(ctx, letterID, index, content)
	if err == nil {
		b.e.mu.Lock()
		b.e.written = append(b.e.written, blob.Key())
		b.e.mu.Unlock()
	}
	return blob, err
}

func (b blobLogBlobs) Discard(ctx context.Context, blobs []storage.Blob) {
	b.e.mu.Lock()
	for _, bl := range blobs {
		b.e.discarded = append(b.e.discarded, bl.Key())
	}
	b.e.mu.Unlock()
	b.Blobs.Discard(ctx, blobs)
}

// unattached returns the blobs written but neither discarded nor in kept.
func (e *blobLog) unattached(kept ...string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	gone := map[string]bool{}
	for _, k := range append(e.discarded, kept...) {
		gone[k] = true
	}
	var out []string
	for _, k := range e.written {
		if !gone[k] {
			out = append(out, k)
		}
	}
	return out
}

// streamFixture is a fixture with small limits whose engine logs blobs.
func streamFixture(t *testing.T) (*fixture, *blobLog) {
	f := newFixtureWith(t, func(o *Options) {
		o.Limits = DefaultLimits()
		o.Limits.MaxDocumentSize = 300 << 10
		o.Limits.MaxLetterSize = 500 << 10
		o.Limits.MaxDocuments = 3
	})
	eng := &blobLog{Engine: f.s.eng}
	f.s.eng = eng
	t.Cleanup(func() { f.s.eng = eng.Engine })
	return f, eng
}

// streamedPDF is a PDF-looking document of n bytes.
func streamedPDF(n int) []byte {
	b := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	copy(b, "%PDF-1.7\n")
	return b
}

// deliverStreamed delivers d with its documents given as readers that
// answer a few bytes at a time, through NewDocuments, Add and
// DeliverDocuments.
func deliverStreamed(f *fixture, d Delivery) (DeliveryResult, error) {
	ds, err := f.s.NewDocuments()
	if err != nil {
		return DeliveryResult{}, err
	}
	for _, doc := range d.Documents {
		doc.Reader, doc.Content = iotest.HalfReader(bytes.NewReader(doc.Content)), nil
		if err := ds.Add(context.Background(), doc); err != nil {
			return DeliveryResult{}, err
		}
	}
	d.Documents = nil
	return f.s.DeliverDocuments(context.Background(), f.sender.ID, d, ds)
}

// TestDeliverStreamed: documents given as readers, of sizes around the
// sealing's chunks, are stored as sent, with the content hash of the same
// letter given whole (the receipt states the same hash), on both engines.
func TestDeliverStreamed(t *testing.T) {
	t.Parallel()
	f, eng := streamFixture(t)
	sizes := []int{9, crypto.ChunkSize, 2*crypto.ChunkSize + 1}
	d := testDelivery(f.nid, "streamed")
	d.Documents = nil
	for i, n := range sizes {
		d.Documents = append(d.Documents, DocumentInput{Name: fmt.Sprintf("d%d.pdf", i), ContentType: "application/pdf", Content: streamedPDF(n)})
	}
	want := ContentHash(&d)
	res, err := deliverStreamed(f, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Receipt.Payload), want) {
		t.Errorf("receipt %s does not state %s (the hash of the whole documents)", res.Receipt.Payload, want)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	for i, n := range sizes {
		doc, err := mb.Document(context.Background(), res.Letter.ID, i)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc.Content, streamedPDF(n)) || doc.Name != fmt.Sprintf("d%d.pdf", i) {
			t.Errorf("document %d: %d bytes named %q, want %d", i, len(doc.Content), doc.Name, n)
		}
	}
	if left := eng.unattached(eng.written...); len(left) > 0 {
		t.Errorf("blobs discarded of a stored letter")
	}
	if len(eng.discarded) > 0 {
		t.Errorf("blobs of a stored letter discarded: %v", eng.discarded)
	}
}

// failingReader answers content and then fails, as a client gone.
func failingReader(content []byte, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(content), iotest.ErrReader(err))
}

// TestStreamedRefusalsStoreNothing: a delivery refused while its
// documents stream in (too large, the letter too large, the wrong type
// mid-stream, the client gone, the blob store failing, the fields
// refused after the documents) stores nothing: every blob written is
// discarded, no record is left, and the same senderReference is then
// delivered as new. On both engines.
func TestStreamedRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	gone := errors.New("client gone")
	good := DocumentInput{Name: "a.pdf", ContentType: "application/pdf", Content: streamedPDF(200 << 10)}
	cases := []struct {
		name      string
		docs      []DocumentInput
		subject   string
		failWrite int
		want      func(error) bool
	}{
		{"document too large", []DocumentInput{good, {Name: "b.pdf", ContentType: "application/pdf", Content: streamedPDF(301 << 10)}}, "", 0,
			func(err error) bool {
				return errors.Is(err, ErrDocumentTooLarge) && strings.Contains(err.Error(), "document[1]")
			}},
		{"letter too large", []DocumentInput{good, good, good}, "", 0,
			func(err error) bool {
				return errors.Is(err, ErrDocumentTooLarge) && strings.Contains(err.Error(), "together")
			}},
		{"wrong type mid-stream", []DocumentInput{good, {Name: "b.txt", ContentType: "text/plain", Content: append(bytes.Repeat([]byte("å"), 100<<10), 0)}}, "", 0,
			func(err error) bool { return errors.Is(err, ErrUnsupportedDocumentType) }},
		{"XML not closed", []DocumentInput{good, {Name: "b.xml", ContentType: "application/xml", Content: []byte("<a>" + strings.Repeat("<b/>", 30000))}}, "", 0,
			func(err error) bool { return errors.Is(err, ErrUnsupportedDocumentType) }},
		{"client gone", []DocumentInput{good, {Name: "b.pdf", ContentType: "application/pdf", Reader: failingReader(streamedPDF(100<<10), gone)}}, "", 0,
			func(err error) bool { return errors.Is(err, gone) }},
		{"blob store failing", []DocumentInput{good, good}, "", 2,
			func(err error) bool { return errors.Is(err, errBlobWrite) }},
		{"fields refused after the documents", []DocumentInput{good, good}, "two\nlines", 0,
			func(err error) bool { var inv *InvalidError; return errors.As(err, &inv) && inv.Field == "subject" }},
		{"too many documents", []DocumentInput{good, good, good, good}, "", 0,
			func(err error) bool { var inv *InvalidError; return errors.As(err, &inv) && inv.Field == "document" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, eng := streamFixture(t)
			if c.name == "too many documents" {
				f.s.limits.MaxLetterSize = 1 << 20
			}
			eng.failWrite = c.failWrite
			// countKeys reads the engine itself, not the log around it.
			counts := func() string {
				f.s.eng = eng.Engine
				defer func() { f.s.eng = eng }()
				return fmt.Sprint(countKeys(t, f.s))
			}
			before := counts()
			d := testDelivery(f.nid, "refused")
			if c.subject != "" {
				d.Subject = c.subject
			}
			ds, err := f.s.NewDocuments()
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range c.docs {
				if doc.Reader == nil {
					doc.Reader, doc.Content = iotest.HalfReader(bytes.NewReader(doc.Content)), nil
				}
				if err = ds.Add(context.Background(), doc); err != nil {
					break
				}
			}
			if err == nil {
				d.Documents = nil
				_, err = f.s.DeliverDocuments(context.Background(), f.sender.ID, d, ds)
			}
			if !c.want(err) {
				t.Fatalf("error %v", err)
			}
			if err := ds.Add(context.Background(), good); !errors.Is(err, errDocumentsEnded) {
				t.Errorf("Add after the refusal: %v, want errDocumentsEnded", err)
			}
			if left := eng.unattached(); len(left) > 0 {
				t.Errorf("blobs left: %v", left)
			}
			if after := counts(); after != before {
				t.Errorf("records changed: %v, before %v", after, before)
			}
			eng.failWrite = 0
			res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "refused"))
			if err != nil || res.Repeated {
				t.Errorf("the reference again: repeated %v, %v; want delivered as new", res.Repeated, err)
			}
		})
	}
}

// TestStreamedRepeat: the same letter streamed again answers the original
// result, and the second copy's blobs are discarded; other content under
// the same senderReference is a conflict, its blobs discarded too.
func TestStreamedRepeat(t *testing.T) {
	t.Parallel()
	f, eng := streamFixture(t)
	d := testDelivery(f.nid, "again")
	d.Documents = []DocumentInput{{Name: "a.pdf", ContentType: "application/pdf", Content: streamedPDF(150 << 10)}}
	first, err := deliverStreamed(f, d)
	if err != nil {
		t.Fatal(err)
	}
	kept := append([]string(nil), eng.written...)
	again, err := deliverStreamed(f, d)
	if err != nil || !again.Repeated || again.Letter.ID != first.Letter.ID || !bytes.Equal(again.Receipt.Payload, first.Receipt.Payload) {
		t.Fatalf("again: %+v, %v; want the original %s repeated", again, err, first.Letter.ID)
	}
	other := d
	other.Documents = []DocumentInput{{Name: "a.pdf", ContentType: "application/pdf", Content: streamedPDF(150<<10 + 1)}}
	if _, err := deliverStreamed(f, other); !errors.Is(err, ErrDuplicateReference) {
		t.Fatalf("other content: %v, want ErrDuplicateReference", err)
	}
	if left := eng.unattached(kept...); len(left) > 0 {
		t.Errorf("blobs of the repeat and the conflict left: %v", left)
	}
	for _, k := range kept {
		for _, g := range eng.discarded {
			if g == k {
				t.Errorf("the original's blob %s discarded", k)
			}
		}
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if doc, err := mb.Document(context.Background(), first.Letter.ID, 0); err != nil || len(doc.Content) != 150<<10 {
		t.Errorf("the original: %d bytes, %v", len(doc.Content), err)
	}
}

// TestSealedWriter: what is written comes out whole and in order, from
// the first buffer alone or across blocks.
func TestSealedWriter(t *testing.T) {
	t.Parallel()
	for _, first := range []int{0, 10, 4 * maxSealedBlock} {
		for _, n := range []int{0, 5, firstSealedBlock, firstSealedBlock + 1, 3*maxSealedBlock + 3} {
			want := streamedPDF(n)
			w := &sealedWriter{b: make([]byte, 0, first)}
			for rest := want; len(rest) > 0; {
				k := min(len(rest), 70001)
				w.Write(rest[:k])
				rest = rest[k:]
			}
			if got := w.bytes(); !bytes.Equal(got, want) {
				t.Errorf("%d bytes after a first buffer of %d: got %d bytes, not as written", n, first, len(got))
			}
		}
	}
}

// FuzzTextCheck: the streaming text check, fed in two writes cut
// anywhere, answers as the rule on the whole content does.
func FuzzTextCheck(f *testing.F) {
	f.Add([]byte("Kære borger, €𝄞"), uint16(3))
	f.Add([]byte("bad\xe2\x82"), uint16(4))
	f.Add([]byte("nul\x00"), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		at := int(cut) % (len(b) + 1)
		var tc textCheck
		got := tc.write(b[:at]) && tc.write(b[at:]) && tc.end()
		if want := referenceIsText(b); got != want {
			t.Fatalf("%q cut at %d: %v, want %v", b, at, got, want)
		}
	})
}
