package store

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// This file is the search index itself: how words are folded, how an
// index is kept in memory and queried, and its byte format (sealed by
// search.go before it is stored).
//
// Words are folded so that the spellings a Danish or Norwegian resident
// types find each other: case is folded (Unicode full case folding, so
// "ß" is "ss"); æ, ø and å are written as their two-letter spellings ae,
// oe and aa (as the names Aabenraa and Ærø are written both ways), and so
// are ä and ö, their Swedish and German forms; every other diacritic is
// dropped (é is e, ü is u). A query word matches every indexed word it
// is a prefix of, after both are folded.

// Fields of a letter a word was found in, as a bit set.
const (
	FieldSubject  = 1 << iota // the subject
	FieldSender               // the sender's name
	FieldBody                 // the body
	FieldFileName             // a document's file name
	FieldDocument             // the text of a document (text, HTML, PDF)
	// FieldReply: the resident's reply to the letter. Replies are not in
	// the index: a search reads them (search_replies.go).
	FieldReply
)

// maxTermBytes bounds an indexed word: a longer one is cut (a query word
// longer than that still finds it, cut the same way).
const maxTermBytes = 40

// folder folds words; a transform.Transformer keeps state, so each use
// makes its own.
func newFolder() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// scandinavian spells the letters that have a two-letter spelling.
var scandinavian = strings.NewReplacer("æ", "ae", "ø", "oe", "å", "aa", "ä", "ae", "ö", "oe")

// foldWord returns a word as it is indexed and searched: see above.
// Words of ASCII and the Scandinavian letters (nearly all of a Danish or
// Norwegian letter) are folded here; others go through x/text's full
// case folding and decomposition, which is slower.
func foldWord(w string) string {
	b := make([]byte, 0, len(w)+4)
	for _, r := range w {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b = append(b, byte(r))
		case r == 'æ' || r == 'Æ' || r == 'ä' || r == 'Ä':
			b = append(b, "ae"...)
		case r == 'ø' || r == 'Ø' || r == 'ö' || r == 'Ö':
			b = append(b, "oe"...)
		case r == 'å' || r == 'Å':
			b = append(b, "aa"...)
		default:
			return cutTerm(foldWordSlow(w))
		}
	}
	return cutTerm(string(b))
}

// foldWordSlow folds any word: full case folding, the Scandinavian
// letters spelt out, the other diacritics dropped.
func foldWordSlow(w string) string {
	w = scandinavian.Replace(cases.Fold().String(w))
	if s, _, err := transform.String(newFolder(), w); err == nil {
		w = s
	}
	return w
}

// cutTerm cuts a folded word to maxTermBytes, at a character's start.
func cutTerm(w string) string {
	if len(w) > maxTermBytes {
		w = w[:maxTermBytes]
		for !utf8.ValidString(w) {
			w = w[:len(w)-1]
		}
	}
	return w
}

// isWordRune says whether r is part of a word: letters, digits and the
// combining marks that belong to a letter.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// wordSpan is a word of a text, by its byte offsets.
type wordSpan struct{ start, end int }

// words returns the spans of the words of s.
func words(s string) []wordSpan {
	var out []wordSpan
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			out = append(out, wordSpan{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, wordSpan{start, len(s)})
	}
	return out
}

// indexDoc is one letter of an index.
type indexDoc struct {
	ID       string
	SenderID string
	At       int64 // DeliveredAt, Unix ns
	// Gone: the letter was found deleted; its postings are dropped when
	// the index is next encoded.
	Gone bool
}

// posting is one letter a word is in, and in which fields.
type posting struct {
	doc    uint32
	fields uint8
}

// searchIndex is a resident's index, opened. Its zero value is not
// usable: newSearchIndex.
type searchIndex struct {
	// Watermark is the DeliveredAt of the newest letter indexed.
	Watermark time.Time
	docs      []indexDoc
	byID      map[string]uint32
	postings  map[string][]posting
	// terms is the sorted list of the keys of postings, made again when
	// a letter was added since (dirty).
	terms []string
	dirty bool
	// order is newestFirst's answer, made again when a letter was added.
	order []uint32
	// memBytes is memSize's estimate; 0 when a letter was added since.
	memBytes int
}

func newSearchIndex() *searchIndex {
	return &searchIndex{byID: map[string]uint32{}, postings: map[string][]posting{}}
}

// has says whether a letter is in the index (gone or not).
func (ix *searchIndex) has(id string) bool {
	_, ok := ix.byID[id]
	return ok
}

// live returns the number of letters in the index that are not gone.
func (ix *searchIndex) live() int {
	n := 0
	for _, d := range ix.docs {
		if !d.Gone {
			n++
		}
	}
	return n
}

// letterText is what a letter's entry in the index is made from.
type letterText struct {
	ID, SenderID string
	At           time.Time
	// Fields by field bit; a field may have several texts (file names,
	// documents).
	Texts []fieldText
}

type fieldText struct {
	field uint8
	text  string
}

// add indexes a letter; one already in the index is left as it is, so
// adding is idempotent.
func (ix *searchIndex) add(l letterText) {
	if ix.has(l.ID) {
		return
	}
	doc := uint32(len(ix.docs))
	ix.docs = append(ix.docs, indexDoc{ID: l.ID, SenderID: l.SenderID, At: l.At.UnixNano()})
	ix.byID[l.ID] = doc
	if l.At.After(ix.Watermark) {
		ix.Watermark = l.At
	}
	seen := map[string]uint8{}
	for _, f := range l.Texts {
		for _, w := range words(f.text) {
			t := foldWord(f.text[w.start:w.end])
			if utf8.RuneCountInString(t) < 2 && !isDigits(t) {
				continue // a single letter finds everything and says nothing
			}
			seen[t] |= f.field
		}
	}
	for t, fields := range seen {
		ix.postings[t] = append(ix.postings[t], posting{doc, fields})
	}
	ix.dirty, ix.memBytes = true, 0
}

func isDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// markGone marks letters deleted: they are no longer found, and are
// dropped from the index when it is next encoded.
func (ix *searchIndex) markGone(ids ...string) {
	for _, id := range ids {
		if d, ok := ix.byID[id]; ok {
			ix.docs[d].Gone = true
		}
	}
}

// sortedTerms returns the index's words in order.
func (ix *searchIndex) sortedTerms() []string {
	if ix.dirty || ix.terms == nil {
		ix.terms = make([]string, 0, len(ix.postings))
		for t := range ix.postings {
			ix.terms = append(ix.terms, t)
		}
		slices.Sort(ix.terms)
		ix.dirty = false
	}
	return ix.terms
}

// queryWords splits and folds a query into its words, without repeats.
func queryWords(q string) []string {
	var out []string
	for _, w := range words(q) {
		t := foldWord(q[w.start:w.end])
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// match returns, for each letter of the index (by its place in docs),
// the fields where every query word was found as a prefix of a word of
// the letter; 0 for a letter that lacks one of them, or is gone. No
// words match nothing (nil).
func (ix *searchIndex) match(qwords []string) []uint8 {
	return ix.matchAlso(qwords, nil)
}

// matchAlso is match, with also (when not nil) adding to cur, for each
// query word q, the fields of the letters where q was found outside the
// index (the texts of a letter's replies, matchWithReplies).
func (ix *searchIndex) matchAlso(qwords []string, also func(q string, cur []uint8)) []uint8 {
	if len(qwords) == 0 {
		return nil
	}
	terms := ix.sortedTerms()
	out := make([]uint8, len(ix.docs))
	cur := make([]uint8, len(ix.docs))
	for i, q := range qwords {
		clear(cur)
		for j := sort.SearchStrings(terms, q); j < len(terms) && strings.HasPrefix(terms[j], q); j++ {
			for _, p := range ix.postings[terms[j]] {
				cur[p.doc] |= p.fields
			}
		}
		if also != nil {
			also(q, cur)
		}
		any := false
		for d, f := range cur {
			switch {
			case i == 0:
				out[d] = f
			case f == 0 || out[d] == 0:
				out[d] = 0
			default:
				out[d] |= f
			}
			any = any || out[d] != 0
		}
		if !any {
			return nil
		}
	}
	for d := range out {
		if ix.docs[d].Gone {
			out[d] = 0
		}
	}
	return out
}

// newestFirst returns the places of the index's letters in docs, the
// most recently delivered first (by id among those delivered at once).
func (ix *searchIndex) newestFirst() []uint32 {
	if len(ix.order) != len(ix.docs) {
		ix.order = make([]uint32, len(ix.docs))
		for i := range ix.order {
			ix.order[i] = uint32(i)
		}
		slices.SortFunc(ix.order, func(a, b uint32) int {
			da, db := ix.docs[a], ix.docs[b]
			if da.At != db.At {
				return cmpInt64(db.At, da.At)
			}
			return strings.Compare(db.ID, da.ID)
		})
	}
	return ix.order
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The byte format of an index (before it is compressed with DEFLATE and
// sealed), every number an unsigned varint unless said:
//
//	"pkix" | format version (1 byte, 1) | watermark (Unix ns, signed varint) |
//	number of letters | each letter: lp(id) | lp(sender id) | delivered (Unix ns, signed varint) |
//	number of words | each word, in order: bytes shared with the word before | lp(the rest) |
//	  number of letters | each: letter number minus the one before (the first: itself) | fields (1 byte)
//
// where lp(x) is x's length followed by x. Letters marked gone are left
// out, and the letters renumbered.
var indexMagic = []byte("pkix\x01")

// maxIndexLetters and maxIndexTerms bound what a decoder accepts, far
// above any mailbox, so that a damaged index cannot make it allocate
// without end.
const (
	maxIndexLetters = 1 << 22
	maxIndexTerms   = 1 << 24
)

// errIndexFormat: the index's bytes are not an index of this format.
var errIndexFormat = errors.New("search index: bad format")

// encode returns the index's bytes, compressed.
func (ix *searchIndex) encode() ([]byte, error) {
	var raw []byte
	raw = append(raw, indexMagic...)
	raw = binary.AppendVarint(raw, ix.Watermark.UnixNano())
	renum := make([]int64, len(ix.docs))
	n := 0
	for i, d := range ix.docs {
		renum[i] = -1
		if !d.Gone {
			renum[i] = int64(n)
			n++
		}
	}
	raw = binary.AppendUvarint(raw, uint64(n))
	for _, d := range ix.docs {
		if d.Gone {
			continue
		}
		raw = appendLP(raw, d.ID)
		raw = appendLP(raw, d.SenderID)
		raw = binary.AppendVarint(raw, d.At)
	}
	terms := ix.sortedTerms()
	// Postings are in the order of their letters already (letters are
	// added, and decoded, in that order). Words only in gone letters are
	// left out.
	kept := func(ps []posting) int {
		n := 0
		for _, p := range ps {
			if renum[p.doc] >= 0 {
				n++
			}
		}
		return n
	}
	nterms, npostings := 0, 0
	for _, t := range terms {
		if n := kept(ix.postings[t]); n > 0 {
			nterms++
			npostings += n
		}
	}
	raw = slices.Grow(raw, nterms*12+npostings*3)
	raw = binary.AppendUvarint(raw, uint64(nterms))
	prev := ""
	for _, t := range terms {
		ps := ix.postings[t]
		n := kept(ps)
		if n == 0 {
			continue
		}
		shared := commonPrefix(prev, t)
		raw = binary.AppendUvarint(raw, uint64(shared))
		raw = appendLP(raw, t[shared:])
		prev = t
		raw = binary.AppendUvarint(raw, uint64(n))
		last := int64(0)
		for _, p := range ps {
			r := renum[p.doc]
			if r < 0 {
				continue
			}
			raw = binary.AppendUvarint(raw, uint64(r-last))
			raw = append(raw, p.fields)
			last = r
		}
	}
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func appendLP(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// maxIndexBytes bounds the decompressed size of an index a decoder reads.
const maxIndexBytes = 1 << 30

// decodeSearchIndex reads what encode wrote. Anything else is
// errIndexFormat, never a panic: the bytes come from the database.
func decodeSearchIndex(compressed []byte) (*searchIndex, error) {
	zr := flate.NewReader(bytes.NewReader(compressed))
	var buf bytes.Buffer
	buf.Grow(min(len(compressed)*4, maxIndexBytes))
	if _, err := buf.ReadFrom(io.LimitReader(zr, maxIndexBytes+1)); err != nil {
		return nil, fmt.Errorf("%w: %v", errIndexFormat, err)
	}
	raw := buf.Bytes()
	if len(raw) > maxIndexBytes {
		return nil, fmt.Errorf("%w: over %d bytes", errIndexFormat, maxIndexBytes)
	}
	d := indexDecoder{b: raw}
	if !bytes.HasPrefix(raw, indexMagic) {
		return nil, fmt.Errorf("%w: no header", errIndexFormat)
	}
	d.b = d.b[len(indexMagic):]
	ix := newSearchIndex()
	ix.Watermark = time.Unix(0, d.varint()).UTC()
	n := d.count(maxIndexLetters)
	ix.docs = make([]indexDoc, 0, min(n, len(d.b)/3))
	for i := range n {
		doc := indexDoc{ID: d.lp(), SenderID: d.lp(), At: d.varint()}
		if d.err != nil {
			break
		}
		if ix.has(doc.ID) {
			return nil, fmt.Errorf("%w: letter %s twice", errIndexFormat, doc.ID)
		}
		ix.docs = append(ix.docs, doc)
		ix.byID[doc.ID] = uint32(i)
	}
	nterms := d.count(maxIndexTerms)
	ix.terms = make([]string, 0, min(nterms, len(d.b)/3))
	prev := ""
	for range nterms {
		shared := d.count(len(prev))
		t := prev[:shared] + d.lp()
		np := d.count(n)
		if d.err != nil {
			break
		}
		if t <= prev && len(ix.terms) > 0 {
			return nil, fmt.Errorf("%w: words out of order", errIndexFormat)
		}
		ps := make([]posting, 0, min(np, len(d.b)/2))
		doc := uint64(0)
		for j := range np {
			delta := d.uvarint()
			if j > 0 && delta == 0 {
				d.fail("a letter twice in a word")
			}
			doc += delta
			if doc >= uint64(n) {
				d.fail("a letter number out of range")
			}
			f := d.byte()
			if d.err != nil {
				break
			}
			ps = append(ps, posting{uint32(doc), f})
		}
		if d.err != nil {
			break
		}
		ix.postings[t] = ps
		ix.terms = append(ix.terms, t)
		prev = t
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("bytes after the end")
	}
	if d.err != nil {
		return nil, d.err
	}
	return ix, nil
}

// indexDecoder reads an index's fields; the first problem sticks.
type indexDecoder struct {
	b   []byte
	err error
}

func (d *indexDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errIndexFormat, what)
	}
	d.b = nil
}

func (d *indexDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("cut short")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *indexDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("cut short")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of at most max.
func (d *indexDecoder) count(max int) int {
	v := d.uvarint()
	if v > uint64(max) {
		d.fail("a count out of range")
		return 0
	}
	return int(v)
}

func (d *indexDecoder) lp() string {
	v := d.uvarint()
	if d.err != nil {
		return ""
	}
	if v > uint64(len(d.b)) {
		d.fail("a length past the end")
		return ""
	}
	n := int(v)
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *indexDecoder) byte() uint8 {
	if len(d.b) == 0 {
		d.fail("cut short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
