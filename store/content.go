package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
)

// formatChar returns the first Unicode format character (general category
// Cf) in s: the bidirectional controls (U+202A–U+202E, U+2066–U+2069,
// U+200E, U+200F, U+061C), zero-width characters, the byte order mark.
// They make text show otherwise than it reads: a file name
// "Faktura\u202Efdp.bat" shows as "Fakturatab.pdf". They are refused in
// the fields of a delivery that a resident reads as plain text.
func formatChar(s string) (rune, bool) {
	for _, r := range s {
		if unicode.Is(unicode.Cf, r) {
			return r, true
		}
	}
	return 0, false
}

// checkNoFormatChar refuses a field with a Unicode format character.
func checkNoFormatChar(field, s string) error {
	if r, ok := formatChar(s); ok {
		return invalid(field, "must not contain Unicode format characters such as bidirectional controls (found U+%04X)", r)
	}
	return nil
}

// SupportedDocumentTypes lists the content types a sender may deliver.
func SupportedDocumentTypes() []string {
	return []string{"application/pdf", "text/plain", "text/html", "image/png", "image/jpeg", "application/xml"}
}

// htmlPolicy sanitises HTML documents: bluemonday's policy for user
// generated content (formatting, links, tables, images; no scripts,
// styles, forms, frames or event handlers), links with rel=noreferrer.
// Remote images survive sanitising but never load: documents are served
// with a CSP that allows only data: images. Building the policy compiles
// its regular expressions (about half a millisecond), so Open builds it
// once; a built policy is safe for concurrent use.
func htmlPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// checkFields validates the fields of d other than its documents
// against the limits (checkLetterDocuments checks what needs them).
func (s *Store) checkFields(d *Delivery) error {
	l := s.limits
	if d.Recipient.IsZero() {
		return invalid("recipient.nationalId", "missing")
	}
	switch {
	case strings.TrimSpace(d.Subject) == "":
		return invalid("subject", "missing")
	case len(d.Subject) > l.MaxSubject:
		return invalid("subject", "longer than %d bytes", l.MaxSubject)
	case !isText([]byte(d.Subject)) || strings.ContainsAny(d.Subject, "\r\n"):
		return invalid("subject", "must be one line of UTF-8 text")
	case len(d.Body) > l.MaxBody:
		return invalid("body", "longer than %d bytes", l.MaxBody)
	case !isText([]byte(d.Body)):
		return invalid("body", "must be UTF-8 text")
	case d.SenderReference == "":
		return invalid("senderReference", "missing")
	case len(d.SenderReference) > l.MaxReference:
		return invalid("senderReference", "longer than %d bytes", l.MaxReference)
	case !isText([]byte(d.SenderReference)):
		return invalid("senderReference", "must be UTF-8 text")
	}
	for _, f := range []struct{ field, value string }{
		{"subject", d.Subject}, {"body", d.Body}, {"senderReference", d.SenderReference},
	} {
		if err := checkNoFormatChar(f.field, f.value); err != nil {
			return err
		}
	}
	if err := checkStructured(d); err != nil {
		return err
	}
	switch d.Type {
	case TypeLetter, TypeDecision, TypeInvoice, TypeNotice:
	case "":
		d.Type = TypeLetter
	default:
		return invalid("type", "%q is not one of letter, decision, invoice, notice", d.Type)
	}
	if err := checkDueDate(d.DueDate); err != nil {
		return err
	}
	return checkNotBefore(d.NotBefore, s.now())
}

// checkLetterDocuments checks what of a delivery depends on its documents,
// added to ds: there is one, the signature request and the print details.
// Those two need the whole documents: they are opened again (as kept) and
// returned; otherwise it returns nil.
func (s *Store) checkLetterDocuments(d *Delivery, ds *Documents) ([]DocumentInput, error) {
	if ds.Len() == 0 {
		return nil, invalid("document", "a letter needs at least one document")
	}
	if d.SignatureRequest == nil && d.Print == nil {
		return nil, nil
	}
	docs, err := ds.plaintext()
	if err != nil {
		return nil, err
	}
	d.Documents = docs
	if err := checkSignatureRequest(d, s.now().In(s.loc)); err != nil {
		return nil, err
	}
	if d.Print == nil {
		return docs, nil
	}
	if d.printPages, err = checkPrint(d.Print, docs, s.now()); err != nil {
		return nil, err
	}
	if d.Print.When == PrintUnreadAfter && !d.NotBefore.IsZero() && !d.Print.UnreadAfter.After(d.NotBefore) {
		return nil, invalid("print.unreadAfter", "%s is not after notBefore (%s): the letter must reach the mailbox before it can be unread",
			d.Print.UnreadAfter.UTC().Format(time.RFC3339), d.NotBefore.UTC().Format(time.RFC3339))
	}
	return docs, nil
}

// checkDocuments checks the documents of a letter or of an own document
// (Mailbox.Upload) against the limits and the content checks, and returns
// them as they will be stored (checkDocument): one rule for both.
func (s *Store) checkDocuments(docs []DocumentInput) ([]DocumentInput, error) {
	l := s.limits
	if len(docs) == 0 {
		return nil, invalid("document", "a letter needs at least one document")
	}
	if len(docs) > l.MaxDocuments {
		return nil, invalid("document", "at most %d documents", l.MaxDocuments)
	}
	out := make([]DocumentInput, len(docs))
	var total int64
	for i, doc := range docs {
		checked, err := s.checkDocument(i, doc)
		if err != nil {
			return nil, err
		}
		total += int64(len(doc.Content))
		if total > l.MaxLetterSize {
			return nil, fmt.Errorf("the documents together are over %d bytes: %w", l.MaxLetterSize, ErrDocumentTooLarge)
		}
		out[i] = checked
	}
	return out, nil
}

// ReadDocument reads, under the limits l, document i of a letter or an upload from r as it
// streams in, after documents of total bytes, and stops as soon as the
// limits are passed (a document over MaxDocumentSize, the documents
// together over MaxLetterSize, more than MaxDocuments): an oversized
// upload is never held in memory whole. The error then wraps
// ErrDocumentTooLarge, or is an InvalidError of the field "document";
// r's own error is returned as it is (the size limit of an HTTP body,
// *http.MaxBytesError, among them). The resident's uploads read their
// files with it; the sender API streams its documents into
// Documents.Add instead, which keeps the same limits and errors.
func (l Limits) ReadDocument(r io.Reader, i int, total int64) ([]byte, error) {
	if i >= l.MaxDocuments {
		return nil, invalid("document", "at most %d documents", l.MaxDocuments)
	}
	content, err := io.ReadAll(io.LimitReader(r, l.MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(content)) > l.MaxDocumentSize {
		return nil, fmt.Errorf("document[%d] is over %d bytes: %w", i, l.MaxDocumentSize, ErrDocumentTooLarge)
	}
	if total+int64(len(content)) > l.MaxLetterSize {
		return nil, fmt.Errorf("the documents together are over %d bytes: %w", l.MaxLetterSize, ErrDocumentTooLarge)
	}
	return content, nil
}

func (s *Store) checkDocument(i int, doc DocumentInput) (DocumentInput, error) {
	field := fmt.Sprintf("document[%d]", i)
	// The file name first, then the size, then the type, as always.
	name, ct, err := s.checkDocumentHeader(field, doc)
	if invalidName := (*InvalidError)(nil); errors.As(err, &invalidName) {
		return doc, err
	}
	if int64(len(doc.Content)) > s.limits.MaxDocumentSize {
		return doc, fmt.Errorf("%s is over %d bytes: %w", field, s.limits.MaxDocumentSize, ErrDocumentTooLarge)
	}
	if err != nil {
		return doc, err
	}
	if !matchesType(ct, doc.Content) {
		return doc, fmt.Errorf("%s: declared %s but the content is %s: %w", field, ct,
			http.DetectContentType(doc.Content), ErrUnsupportedDocumentType)
	}
	content := doc.Content
	if ct == "text/html" {
		content = s.html.SanitizeBytes(content)
	}
	return DocumentInput{Name: name, ContentType: ct, Content: content}, nil
}

// ContentHash returns the hash a receipt states: SHA-256 over the letter as
// the sender sent it, before sanitising, in this encoding (lp(x) is x's
// length as a big-endian uint32 followed by x):
//
//	"postkasse/v1/content" | lp(recipient) | lp(subject) | lp(body) | lp(type) |
//	lp(dueDate) | replyAllowed (one byte, 0 or 1) | sensitive (one byte, 0 or 1) |
//	for each document: lp(file name) | lp(content type) | SHA-256(content)
//
// A structured letter (an invoice, actions or an opening receipt asked
// for) is hashed as version 2, which covers those too and is otherwise
// the same, so the hashes of letters without them never changed:
//
//	"postkasse/v2/content" | … sensitive | openingReceipt (one byte, 0 or 1) |
//	lp(structured) | for each document: …
//
// where structured is the JSON {"invoice": {…}, "actions": [{…}]} of the
// fields as sent, without spaces, keys in the order of API.md, empty
// fields and an empty list left out, and <, > and & written \u003c,
// \u003e and \u0026 (Go's encoding/json); "" when there are none.
//
// A letter that answers a resident's reply (inReplyTo) is hashed as
// version 3, which is version 2 with the reply's id after the structured
// part, so the receipt also states which reply the letter answers:
//
//	"postkasse/v3/content" | … openingReceipt | lp(structured) |
//	lp(inReplyTo) | for each document: …
//
// It is "sha256:" followed by the hash in lowercase hex. The same
// senderReference with the same hash is a repeat; with another, a conflict.
func ContentHash(d *Delivery) string {
	docs := make([]HashedDocument, len(d.Documents))
	for i, doc := range d.Documents {
		docs[i] = HashedDocument{Name: doc.Name, ContentType: doc.ContentType, SHA256: sha256.Sum256(doc.Content)}
	}
	return contentHashOf(d, docs)
}

// HashedDocument is a document as ContentHash covers it: its file name
// and content type as sent, and the SHA-256 of its content as sent.
type HashedDocument struct {
	Name        string
	ContentType string
	SHA256      [sha256.Size]byte
}

// contentHashOf is ContentHash of d's fields with the documents given
// by their hashes (d.Documents is not read): an export's reader checks a
// receipt against a letter without holding its documents.
func contentHashOf(d *Delivery, docs []HashedDocument) string {
	h := sha256.New()
	lp := func(s string) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	structured := structuredData{Invoice: d.Invoice, Actions: d.Actions, SignatureRequest: d.SignatureRequest}
	v3 := d.InReplyTo != ""
	v2 := v3 || !structured.empty() || d.OpeningReceipt
	switch {
	case v3:
		h.Write([]byte("postkasse/v3/content"))
	case v2:
		h.Write([]byte("postkasse/v2/content"))
	default:
		h.Write([]byte("postkasse/v1/content"))
	}
	lp(d.Recipient.Number)
	lp(d.Subject)
	lp(d.Body)
	lp(string(d.Type))
	lp(d.DueDate)
	flag := func(b bool) {
		if b {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	}
	flag(d.ReplyAllowed)
	flag(d.Sensitive)
	if v2 {
		flag(d.OpeningReceipt)
		lp(structured.encode())
	}
	if v3 {
		lp(d.InReplyTo)
	}
	for _, doc := range docs {
		lp(doc.Name)
		lp(doc.ContentType)
		h.Write(doc.SHA256[:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// checkNotBefore checks a letter's notBefore: none, a time that has come
// (the letter is delivered at once), or a time at most a year after now
// (API.md: "more than a year ahead → 400").
func checkNotBefore(t, now time.Time) error {
	if !t.IsZero() && t.After(now.AddDate(1, 0, 0)) {
		return invalid("notBefore", "%s is more than a year ahead", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkDueDate checks a letter's due date: none, or a real date written
// YYYY-MM-DD (what the due dates' index and its cursors take).
func checkDueDate(date string) error {
	if date == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return invalid("dueDate", "%q is not a date of the form YYYY-MM-DD", date)
	}
	return nil
}
