package store

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/internal/readerr"
)

// sniffLen is how many leading bytes the type checks of PDF, PNG and JPEG
// look at: http.DetectContentType considers at most 512 bytes (WHATWG
// MIME Sniffing §7), and a PDF's "%PDF-" is within them.
const sniffLen = 512

// errTypeMismatch stops reading a document whose content has shown it is
// not of its declared type.
var errTypeMismatch = errors.New("content is not of the declared type")

// typeCheck checks a document's content against its declared type as the
// content streams through it (Write). Its rules are documentTypes'.
type typeCheck struct {
	ct   string
	head []byte    // the first sniffLen bytes
	text textCheck // for the text types
	bad  bool
}

// newTypeCheck returns the check of one document's content against its
// type, for the content types a sender may deliver
// (SupportedDocumentTypes); false for another type.
func newTypeCheck(ct string) (*typeCheck, bool) {
	switch ct {
	case "application/pdf", "image/png", "image/jpeg", "text/plain", "text/html", "application/xml":
		return &typeCheck{ct: ct}, true
	}
	return nil, false
}

// Write takes the next bytes. It fails with errTypeMismatch as soon as the
// content cannot be of the type: the first bytes of a PDF, PNG or JPEG,
// a byte that is not UTF-8 text in a text type.
func (c *typeCheck) Write(p []byte) (int, error) {
	if c.bad {
		return 0, errTypeMismatch
	}
	if len(c.head) < sniffLen {
		c.head = append(c.head, p[:min(len(p), sniffLen-len(c.head))]...)
	}
	switch c.ct {
	case "text/plain", "text/html", "application/xml":
		if !c.text.write(p) {
			c.bad = true
		}
	default:
		if len(c.head) == sniffLen && !c.headMatches() {
			c.bad = true
		}
	}
	if c.bad {
		return 0, errTypeMismatch
	}
	return len(p), nil
}

func (c *typeCheck) headMatches() bool {
	switch c.ct {
	case "application/pdf":
		return bytes.HasPrefix(c.head, []byte("%PDF-"))
	case "image/png", "image/jpeg":
		return http.DetectContentType(c.head) == c.ct
	}
	return true
}

// ok reports, once the whole content has been written, whether it is of
// the type (for XML, with the result of wellFormedXML on the same bytes).
func (c *typeCheck) ok() bool {
	if c.bad {
		return false
	}
	switch c.ct {
	case "text/plain", "text/html", "application/xml":
		return c.text.end()
	}
	return c.headMatches()
}

// detected names what the content looks like, for the refusal.
func (c *typeCheck) detected() string { return http.DetectContentType(c.head) }

// checkContentType reads r to its end (or until the content shows it is
// not of type ct) and reports whether it is of that type; r's own error
// is returned as it is. An XML document is parsed by an xml.Decoder fed
// from the same stream (wellFormedXML), so no document is held whole.
func checkContentType(c *typeCheck, r io.Reader) (bool, error) {
	src := &readerr.Reader{R: r}
	tee := io.TeeReader(src, c)
	if c.ct == "application/xml" {
		wellFormed := wellFormedXML(tee)
		if src.Err != nil {
			return false, src.Err
		}
		if !wellFormed || c.bad {
			return false, nil
		}
	}
	if _, err := io.Copy(io.Discard, tee); src.Err != nil {
		return false, src.Err
	} else if errors.Is(err, errTypeMismatch) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return c.ok(), nil
}

// wellFormedXML reports whether r is well-formed XML with one root
// element: a technical document of a MeMo message (data for the
// resident's own systems). It is never shown in place, only downloaded
// (httpui/resident), so nothing in it is interpreted; the check keeps out
// what only claims to be XML. (That it is UTF-8 text is typeCheck's.)
func wellFormedXML(r io.Reader) bool {
	d := xml.NewDecoder(r)
	d.Strict = true
	depth, roots := 0, 0
	for {
		t, err := d.Token()
		if err == io.EOF {
			return roots == 1 && depth == 0
		}
		if err != nil {
			return false
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return false // text outside the one root element
			}
		}
	}
}

// textCheck checks UTF-8 text without control characters other than
// tab, line feed, form feed and carriage return, as it streams in: a
// character cut between two writes is carried to the next.
type textCheck struct {
	carry [utf8.UTFMax]byte
	n     int // bytes in carry
}

// write takes the next bytes and reports whether they may still be text.
func (t *textCheck) write(p []byte) bool {
	for len(p) > 0 {
		var r rune
		var size int
		if t.n > 0 {
			// Complete the carried character with what comes now.
			k := min(len(p), utf8.UTFMax-t.n)
			buf := append(t.carry[:t.n:t.n], p[:k]...)
			if !utf8.FullRune(buf) {
				t.n = copy(t.carry[:], buf)
				return true
			}
			r, size = utf8.DecodeRune(buf)
			if size <= t.n {
				return false // the carried bytes are no character
			}
			p = p[size-t.n:]
			t.n = 0
		} else {
			if !utf8.FullRune(p) {
				t.n = copy(t.carry[:], p)
				return true
			}
			r, size = utf8.DecodeRune(p)
			p = p[size:]
		}
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' && r != '\f' {
			return false
		}
	}
	return true
}

// end reports whether the text ended on a whole character.
func (t *textCheck) end() bool { return t.n == 0 }

// isText reports whether b is UTF-8 text without control characters other
// than tab, line feed, form feed and carriage return.
func isText(b []byte) bool {
	var t textCheck
	return t.write(b) && t.end()
}

// matchesType reports whether b is a document of type ct, one of
// SupportedDocumentTypes (false for another).
func matchesType(ct string, b []byte) bool {
	c, ok := newTypeCheck(ct)
	if !ok {
		return false
	}
	ok, err := checkContentType(c, bytes.NewReader(b))
	return ok && err == nil
}
