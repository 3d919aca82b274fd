package store

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ledongthuc/pdf"
	"golang.org/x/net/html"
)

// The text of a document, for the search index. Text and HTML documents
// are read whole (HTML without its tags, scripts and styles); a PDF's
// text is read with github.com/ledongthuc/pdf, a maintained descendant of
// rsc.io/pdf that decodes the fonts' encodings and ToUnicode maps into
// text. What it misses: text that is an image (a scanned letter: there is
// no OCR), encrypted PDFs, fonts without a usable encoding (some
// embedded CID fonts without ToUnicode give no or wrong letters), and
// word boundaries that a PDF marks only by position (two words may run
// together, so the second is found only through the first). A document
// whose text cannot be read adds nothing; the rest of the letter is
// still indexed.

// maxDocumentText bounds the text taken from one document, and
// maxPDFPages the pages read of one PDF: a search index is for finding a
// letter, and a very long document is found by its first pages.
const (
	maxDocumentText = 256 << 10
	maxPDFPages     = 100
)

// documentText returns the text of a document of the given content type;
// "" for a type without text (images).
func documentText(contentType string, content []byte) (string, error) {
	var text string
	var err error
	switch contentType {
	case "text/plain":
		text = string(content)
	case "text/html":
		text = htmlText(content)
	case "application/pdf":
		text, err = pdfText(content)
	}
	if len(text) > maxDocumentText {
		text = text[:maxDocumentText]
	}
	return text, err
}

// htmlText returns the text of an HTML document, without its tags and
// the contents of script and style elements.
func htmlText(content []byte) string {
	z := html.NewTokenizer(bytes.NewReader(content))
	var b strings.Builder
	skip := 0
	for b.Len() < maxDocumentText {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.StartTagToken:
			if name, _ := z.TagName(); string(name) == "script" || string(name) == "style" {
				skip++
			}
			b.WriteByte(' ')
		case html.EndTagToken:
			if name, _ := z.TagName(); (string(name) == "script" || string(name) == "style") && skip > 0 {
				skip--
			}
			b.WriteByte(' ')
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
	return b.String()
}

// pdfText returns the text of a PDF's first maxPDFPages pages. The
// library panics on some malformed files; a document comes from a
// sender, so a panic is turned into an error here.
func pdfText(content []byte) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("read the PDF's text: %v", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return "", fmt.Errorf("read the PDF: %w", err)
	}
	var b strings.Builder
	for i := 1; i <= min(r.NumPage(), maxPDFPages) && b.Len() < maxDocumentText; i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		// Fonts are looked up by the page's own names (nil): two pages
		// may give one name to different fonts.
		t, err := p.GetPlainText(nil)
		if err != nil {
			return b.String(), fmt.Errorf("read the text of page %d: %w", i, err)
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	return b.String(), nil
}
