package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// docFormats are the sealed document formats: v1, still read (and sealed
// for replies), and v2, sealed for every new document.
var docFormats = []struct {
	name string
	v    byte
}{{"v1", formatV1}, {"v2", formatV2}}

// sealDoc seals doc in format v under label with randomness from r.
func sealDoc(t testing.TB, dk *DataKey, r io.Reader, v byte, label string, doc []byte) []byte {
	t.Helper()
	sealed, err := dk.appendSealedDocument(nil, r, v, label, doc)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// sealFlagged seals doc in format v as appendSealedDocument does but
// flags chunk i of n as last when lastAt(i, n) says so: what an attacker
// without the key cannot make, to show that only the true flags open.
func sealFlagged(t testing.TB, dk *DataKey, v byte, doc []byte, lastAt func(i, n int) bool) []byte {
	t.Helper()
	out := make([]byte, docHeaderSize)
	c, err := dk.startDocument(rand.Reader, v, "document/0", out)
	if err != nil {
		t.Fatal(err)
	}
	n := max(1, (len(doc)+ChunkSize-1)/ChunkSize)
	for i := range n {
		chunk := doc[i*ChunkSize : min(len(doc), (i+1)*ChunkSize)]
		if out, err = c.seal(out, chunk, lastAt(i, n)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t)
	for _, f := range docFormats {
		for _, n := range []int{0, 1, 100, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2 * ChunkSize, 3 * ChunkSize, 3*ChunkSize + 7} {
			doc := testDocument(n)
			sealed := sealDoc(t, dk, rand.Reader, f.v, "document/0", doc)
			if sealed[0] != f.v {
				t.Errorf("%s, %d bytes: version byte %d", f.name, n, sealed[0])
			}
			if len(sealed) != SealedDocumentSize(n) {
				t.Errorf("%s, %d bytes: sealed %d bytes, SealedDocumentSize says %d", f.name, n, len(sealed), SealedDocumentSize(n))
			}
			got, err := dk.OpenDocument("document/0", sealed)
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", f.name, n, err)
			}
			if !bytes.Equal(got, doc) {
				t.Errorf("%s, %d bytes: opened another document", f.name, n)
			}
		}
	}
	// New documents are v2.
	if sealed, err := dk.SealDocument(rand.Reader, "document/0", []byte("x")); err != nil || sealed[0] != formatV2 {
		t.Errorf("SealDocument: %v, version byte %d; want 2", err, sealed[0])
	}
}

func TestSealedDocumentSize(t *testing.T) {
	t.Parallel()
	const o = 16
	tests := []struct{ n, want int }{
		{0, 17 + o},                             // one empty last chunk
		{1, 17 + 1 + o},                         // one chunk
		{ChunkSize - 1, 17 + ChunkSize - 1 + o}, // one chunk
		{ChunkSize, 17 + ChunkSize + o},         // one full last chunk, no empty chunk after it
		{ChunkSize + 1, 17 + ChunkSize + 1 + 2*o},
		{3 * ChunkSize, 17 + 3*ChunkSize + 3*o},
	}
	for _, tt := range tests {
		if got := SealedDocumentSize(tt.n); got != tt.want {
			t.Errorf("SealedDocumentSize(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

// TestDocumentCiphers: both formats' chunks carry a 16-byte tag, so that
// SealedDocumentSize is one function, and v2's nonce is GCM's standard 12
// bytes (NIST SP 800-38D §7.1, step 2: a 96-bit IV is used as is, not
// hashed).
func TestDocumentCiphers(t *testing.T) {
	t.Parallel()
	block, err := aes.NewCipher(make([]byte, keySize))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	if gcm.Overhead() != docTagSize || secretbox.Overhead != docTagSize {
		t.Errorf("tags: AES-GCM %d, secretbox %d bytes; docTagSize %d", gcm.Overhead(), secretbox.Overhead, docTagSize)
	}
	if gcm.NonceSize() != gcmNonceSize {
		t.Errorf("AES-GCM nonce is %d bytes, want %d", gcm.NonceSize(), gcmNonceSize)
	}
}

// TestDocumentNonces: each chunk's nonce is laid out as doc.go says, in
// both formats, up to the largest counter, and a document past maxChunks
// is refused rather than wrapping the counter.
func TestDocumentNonces(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t)
	random := bytes.Repeat([]byte{0xaa}, docRandSize)
	tests := []struct {
		v       byte
		counter uint64
		last    bool
		want    string // the nonce, hex
	}{
		{formatV1, 0, false, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "00000000000000" + "00"},
		{formatV1, 1, true, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "00000000000001" + "01"},
		{formatV1, 1<<56 - 2, true, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "fffffffffffffe" + "01"},
		{formatV2, 0, false, "0000000000000000000000" + "00"},
		{formatV2, 1, true, "0000000000000000000001" + "01"},
		{formatV2, 0x01020304, false, "0000000000000001020304" + "00"},
		{formatV2, 1<<32 - 1, true, "00000000000000ffffffff" + "01"},
	}
	for _, tt := range tests {
		c, err := dk.newDocCipher(tt.v, random, "document/0")
		if err != nil {
			t.Fatal(err)
		}
		c.counter = tt.counter
		if err := c.next(tt.last); err != nil {
			t.Fatalf("v%d counter %d: %v", tt.v, tt.counter, err)
		}
		size := nonceSize
		if tt.v == formatV2 {
			size = gcmNonceSize
		}
		if got := fmt.Sprintf("%x", c.nonce[:size]); got != tt.want {
			t.Errorf("v%d counter %d last %v: nonce %s, want %s", tt.v, tt.counter, tt.last, got, tt.want)
		}
		if c.counter != tt.counter+1 {
			t.Errorf("v%d: counter %d after chunk %d", tt.v, c.counter, tt.counter)
		}
	}
	for _, f := range docFormats {
		c, err := dk.newDocCipher(f.v, random, "document/0")
		if err != nil {
			t.Fatal(err)
		}
		c.counter = maxChunks(f.v)
		if _, err := c.seal(nil, []byte("x"), true); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: chunk %d sealed: %v, want ErrFormat", f.name, c.counter, err)
		}
		if _, err := c.open(nil, make([]byte, 17), true); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: chunk %d opened: %v, want ErrFormat", f.name, c.counter, err)
		}
	}
	if _, err := dk.newDocCipher(3, random, "document/0"); !errors.Is(err, ErrFormat) {
		t.Errorf("format 3: %v, want ErrFormat", err)
	}
}

// chunks splits a sealed document into its header and sealed chunks.
func chunks(sealed []byte) (header []byte, cs [][]byte) {
	header, body := sealed[:docHeaderSize], sealed[docHeaderSize:]
	for len(body) > 0 {
		n := min(len(body), sealedChunkSize)
		cs = append(cs, body[:n])
		body = body[n:]
	}
	return header, cs
}

func join(header []byte, cs ...[]byte) []byte {
	out := bytes.Clone(header)
	for _, c := range cs {
		out = append(out, c...)
	}
	return out
}

// AppendSealedDocument appends exactly SealDocument's bytes (for the same
// randomness) after what dst holds, into dst's memory when it is large
// enough, and the result opens.
func TestAppendSealedDocument(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t)
	for _, n := range []int{0, 10, ChunkSize, 2*ChunkSize + 7} {
		doc := testDocument(n)
		seed := bytes.Repeat([]byte{byte(n)}, 64)
		want, err := dk.SealDocument(bytes.NewReader(seed), "document/0", doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, dst := range [][]byte{nil, []byte("kept"), make([]byte, 3, 3+SealedDocumentSize(n)+100)} {
			kept := bytes.Clone(dst)
			got, err := dk.AppendSealedDocument(dst, bytes.NewReader(seed), "document/0", doc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:len(kept)], kept) || !bytes.Equal(got[len(kept):], want) {
				t.Fatalf("%d bytes after %q: not SealDocument's bytes", n, kept)
			}
			if cap(dst)-len(dst) >= SealedDocumentSize(n) && &got[0] != &dst[0] {
				t.Errorf("%d bytes: a large enough dst was not reused", n)
			}
			if open, err := dk.OpenDocument("document/0", got[len(kept):]); err != nil || !bytes.Equal(open, doc) {
				t.Errorf("%d bytes: does not open: %v", n, err)
			}
		}
	}
}

// TestDocumentAllocations: a document's cipher is made once, not once per
// chunk. Sealing into a large enough buffer, and opening, allocate about
// as much for a document of 16 chunks as for one of one chunk: fewer than
// one allocation more for every two more chunks (opening a megabyte
// counts a collection's allocation now and then).
func TestDocumentAllocations(t *testing.T) {
	dk := mustDataKey(t)
	for _, f := range docFormats {
		allocs := func(n int) (seal, open float64) {
			doc := testDocument(n)
			buf := make([]byte, 0, SealedDocumentSize(n))
			var sealed []byte
			seal = testing.AllocsPerRun(20, func() {
				var err error
				if sealed, err = dk.appendSealedDocument(buf, rand.Reader, f.v, "document/0", doc); err != nil {
					t.Fatal(err)
				}
			})
			open = testing.AllocsPerRun(20, func() {
				if _, err := dk.OpenDocument("document/0", sealed); err != nil {
					t.Fatal(err)
				}
			})
			return seal, open
		}
		seal1, open1 := allocs(100)
		seal16, open16 := allocs(16 * ChunkSize)
		if seal16-seal1 >= 7 || open16-open1 >= 7 {
			t.Errorf("%s: allocations of 1 chunk / 16 chunks: seal %v / %v, open %v / %v", f.name, seal1, seal16, open1, open16)
		}
	}
}

func TestDocumentTampering(t *testing.T) {
	t.Parallel()
	for _, f := range docFormats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			testDocumentTampering(t, f.v)
		})
	}
}

func testDocumentTampering(t *testing.T, v byte) {
	dk := mustDataKey(t)
	other := mustDataKey(t)
	seal := func(n int) []byte { return sealDoc(t, dk, rand.Reader, v, "document/0", testDocument(n)) }
	three := seal(3 * ChunkSize) // three full chunks, the last one marked last
	h, c := chunks(three)
	threePlus := seal(3*ChunkSize + 10) // three full chunks and a short last one
	hp, cp := chunks(threePlus)
	exact := seal(2 * ChunkSize) // two full chunks
	he, ce := chunks(exact)
	one := seal(10)
	empty := seal(0)
	// A chunk sealed for another document under the same key and label.
	_, foreign := chunks(seal(3 * ChunkSize))
	// Documents no sealer makes: no chunk flagged last, or a middle one.
	unflagged := sealFlagged(t, dk, v, testDocument(2*ChunkSize+10), func(int, int) bool { return false })
	earlyFlag := sealFlagged(t, dk, v, testDocument(2*ChunkSize+10), func(i, n int) bool { return i >= n-2 })
	// The other format's version byte: a downgrade (or upgrade) of the
	// document opens under neither key.
	otherFormat := bytes.Clone(three)
	otherFormat[0] = formatV1 + formatV2 - v

	tests := []struct {
		name  string
		dk    *DataKey
		label string
		b     []byte
	}{
		{"another label", dk, "document/1", three},
		{"another letter's data key", other, "document/0", three},
		{"two chunks swapped", dk, "document/0", join(h, c[1], c[0], c[2])},
		{"middle chunk dropped", dk, "document/0", join(h, c[0], c[2])},
		{"last chunk dropped", dk, "document/0", join(h, c[0], c[1])},
		{"last short chunk dropped", dk, "document/0", join(hp, cp[0], cp[1], cp[2])},
		{"first chunk dropped", dk, "document/0", join(h, c[1], c[2])},
		{"last chunk repeated", dk, "document/0", join(h, c[0], c[1], c[2], c[2])},
		{"chunk appended after a full last chunk", dk, "document/0", join(he, ce[0], ce[1], ce[0])},
		{"chunk appended after a short last chunk", dk, "document/0", join(hp, cp[0], cp[1], cp[2], cp[3], cp[0])},
		{"empty chunk appended after a full last chunk", dk, "document/0", join(he, ce[0], ce[1], make([]byte, docTagSize))},
		{"chunk from another document", dk, "document/0", join(h, c[0], foreign[1], c[2])},
		{"other document's header", dk, "document/0", join(hp, c[0], c[1], c[2])},
		{"last byte cut", dk, "document/0", three[:len(three)-1]},
		{"last 16 bytes cut", dk, "document/0", three[:len(three)-16]},
		{"cut inside the last chunk's tag", dk, "document/0", threePlus[:len(threePlus)-20]},
		{"cut to an empty last chunk", dk, "document/0", threePlus[:len(threePlus)-10]},
		{"byte appended", dk, "document/0", append(bytes.Clone(three), 0)},
		{"bit flipped in the random bytes", dk, "document/0", flip(three, 5)},
		{"bit flipped in the first chunk", dk, "document/0", flip(three, docHeaderSize+100)},
		{"bit flipped in the second chunk", dk, "document/0", flip(three, docHeaderSize+sealedChunkSize+7)},
		{"bit flipped in the last chunk", dk, "document/0", flip(three, docHeaderSize+2*sealedChunkSize+7)},
		{"bit flipped in the first tag", dk, "document/0", flip(three, docHeaderSize+sealedChunkSize-1)},
		{"bit flipped in the last tag", dk, "document/0", flip(three, len(three)-1)},
		{"bit flipped in one-chunk document", dk, "document/0", flip(one, len(one)-3)},
		{"empty document opened with another label", dk, "document/1", empty},
		{"empty document's tag flipped", dk, "document/0", flip(empty, len(empty)-1)},
		{"one chunk cut to empty", dk, "document/0", one[:len(one)-10]},
		{"no chunk flagged last", dk, "document/0", unflagged},
		{"a middle chunk flagged last", dk, "document/0", earlyFlag},
		{"the other format's version byte", dk, "document/0", otherFormat},
	}
	for _, tt := range tests {
		if got, err := tt.dk.OpenDocument(tt.label, tt.b); !errors.Is(err, ErrOpen) || got != nil {
			t.Errorf("%s: err = %v, %d bytes; want ErrOpen and nothing", tt.name, err, len(got))
		}
	}
	for name, b := range map[string][]byte{
		"nil":            nil,
		"header only":    three[:docHeaderSize],
		"header+15":      three[:docHeaderSize+docTagSize-1],
		"version 3":      append([]byte{3}, three[1:]...),
		"version 0":      append([]byte{0}, empty[1:]...),
		"version 0xff":   append([]byte{0xff}, one[1:]...),
		"short by a tag": empty[:len(empty)-1],
	} {
		if got, err := dk.OpenDocument("document/0", b); !errors.Is(err, ErrFormat) || got != nil {
			t.Errorf("%s: err = %v, %d bytes; want ErrFormat and nothing", name, err, len(got))
		}
	}
	// The flags sealFlagged sets when it is told the truth open: the
	// refusals above come from the flags alone.
	if got, err := dk.OpenDocument("document/0", sealFlagged(t, dk, v, testDocument(2*ChunkSize+10), func(i, n int) bool { return i == n-1 })); err != nil || !bytes.Equal(got, testDocument(2*ChunkSize+10)) {
		t.Errorf("a document with the true flags: %v", err)
	}
}

// BenchmarkDocument measures sealing and opening a 100 KB document (two
// chunks, as a typical letter) in each format, with the process's CPU
// time per operation ("cpu-ns/op") and MB/s. The v2 cases then run v2 and
// v1 alternately, in the same run, and report v1's CPU time over v2's
// ("speedup"):
//
//	go test ./crypto -run '^$' -bench Document -count 5
func BenchmarkDocument(b *testing.B) {
	dk := mustDataKey(b)
	doc := randomBytes(b, 100_000)
	buf := make([]byte, 0, SealedDocumentSize(len(doc)))
	seal := func(v byte) func() {
		return func() {
			if _, err := dk.appendSealedDocument(buf[:0], rand.Reader, v, "document/0", doc); err != nil {
				b.Fatal(err)
			}
		}
	}
	sealed := map[byte][]byte{}
	for _, f := range docFormats {
		sealed[f.v] = sealDoc(b, dk, rand.Reader, f.v, "document/0", doc)
	}
	open := func(v byte) func() {
		s := sealed[v]
		return func() {
			if _, err := dk.OpenDocument("document/0", s); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, op := range []struct {
		name string
		fn   func(v byte) func()
	}{{"seal", seal}, {"open", open}} {
		for _, f := range docFormats {
			b.Run(op.name+"/"+f.name, func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				benchCPU(b, op.fn(f.v))
				if f.v == formatV2 {
					own, base := alternateCPU(b, op.fn(formatV2), op.fn(formatV1))
					b.ReportMetric(base.Seconds()/own.Seconds(), "speedup")
				}
			})
		}
	}
}
