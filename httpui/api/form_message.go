package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/internal/readerr"
	"github.com/postkasse/postkasse/store"
)

// messageJSON is the "message" part of a delivery (API.md). It is decoded
// strictly (decodeStrict): a field it does not name is refused, so a
// sender never believes a field of a later version was taken.
type messageJSON struct {
	Recipient struct {
		NationalID string `json:"nationalId"`
	} `json:"recipient"`
	Subject         string `json:"subject"`
	Body            string `json:"body"` // our extension: a short text above the documents
	SenderReference string `json:"senderReference"`
	Type            string `json:"type"`
	DueDate         string `json:"dueDate"`
	ReplyAllowed    bool   `json:"replyAllowed"`
	// InReplyTo names the resident's reply this letter answers (a reply
	// to this sender from this recipient; store/replies.go).
	InReplyTo string `json:"inReplyTo"`
	// Sensitive: the resident's notifications leave out the sender's
	// name (our extension; a notification never has the subject).
	Sensitive bool `json:"sensitive"`
	// The fields of a structured letter (form_structured.go).
	OpeningReceipt bool           `json:"openingReceipt"`
	Invoice        *store.Invoice `json:"invoice"`
	Actions        []store.Action `json:"actions"`
	// SignatureRequest asks the resident to sign the main document.
	SignatureRequest *store.SignatureRequest `json:"signatureRequest"`
	// NotBefore (RFC 3339) schedules the letter (API.md, "More message
	// fields").
	NotBefore string `json:"notBefore"`
	// Print has the letter printed and posted when its recipient takes
	// no digital post (API.md, "More message fields"; store/print.go).
	Print *printJSON `json:"print"`
}

// printJSON is a message's print details.
type printJSON struct {
	Address     store.PrintAddress `json:"address"`
	When        string             `json:"when"`
	UnreadAfter string             `json:"unreadAfter"`
}

// maxMessagePart bounds the JSON part: the text limits with room for JSON
// escapes (\u0000 is six bytes for one) and other fields.
func maxMessagePart(l store.Limits) int64 {
	return int64(l.MaxSubject+l.MaxBody+l.MaxReference)*6 + 16<<10 + maxStructuredPart
}

// maxRequestSize bounds a whole delivery request: the documents and 1 MiB
// for the message part and the multipart framing.
func maxRequestSize(l store.Limits) int64 { return l.MaxLetterSize + 1<<20 }

// parseDelivery reads a multipart/form-data delivery (API.md, "Deliver a
// letter") into a store.Delivery, the message part under the limits l.
// It only parses: each "document" part is
// handed to add as it streams in (DocumentInput.Reader is the part, to be
// read within the call), whether the "message" part comes before or
// after it; the store checks the rules and seals the documents
// (store.Documents.Add), and stops as soon as a limit is passed, so no
// document is ever held in memory whole. The Delivery returned has no
// Documents. Errors are *store.InvalidError (with the field at fault) or
// add's error, which wraps store.ErrDocumentTooLarge or
// store.ErrUnsupportedDocumentType, or is the body reader's error
// (*http.MaxBytesError, guard.ErrBytesInFlight; any other read error is
// an invalid request about the document), or the store's.
func parseDelivery(r *http.Request, l store.Limits, add func(store.DocumentInput) error) (store.Delivery, error) {
	var d store.Delivery
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return d, invalidf("body", "must be multipart/form-data with a boundary")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var msg *messageJSON
	documents := 0
	for {
		// NextRawPart: NextPart would decode a quoted-printable part
		// silently; checkTransferEncoding refuses it instead.
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return d, bodyError(err, "body", "malformed multipart: %v", err)
		}
		if err := checkTransferEncoding(part, documents); err != nil {
			return d, err
		}
		switch name := part.FormName(); name {
		case "message":
			if msg != nil {
				return d, invalidf("message", "given more than once")
			}
			if msg, err = parseMessagePart(part, l); err != nil {
				return d, err
			}
		case "document":
			src := &readerr.Reader{R: part}
			err := add(store.DocumentInput{
				Name:        part.FileName(),
				ContentType: part.Header.Get("Content-Type"),
				Reader:      src,
			})
			if err != nil && src.Err != nil && errors.Is(err, src.Err) {
				return d, bodyError(err, fmt.Sprintf("document[%d]", documents), "reading: %v", err)
			} else if err != nil {
				return d, err
			}
			documents++
		case "":
			return d, invalidf("body", "a part without a form-data name")
		default:
			return d, invalidf(name, "unknown part; the parts are \"message\" and \"document\"")
		}
		part.Close()
	}
	if msg == nil {
		return d, invalidf("message", "missing")
	}
	if documents == 0 {
		return d, invalidf("document", "a letter needs at least one document")
	}
	d.Subject, d.Body, d.SenderReference = msg.Subject, msg.Body, msg.SenderReference
	d.Type, d.DueDate, d.ReplyAllowed, d.InReplyTo = store.LetterType(msg.Type), msg.DueDate, msg.ReplyAllowed, msg.InReplyTo
	d.Sensitive = msg.Sensitive
	structuredFields(&d, msg)
	if msg.NotBefore != "" {
		// RFC 3339 §5.6 date-time, with its offset (time.RFC3339 takes
		// fractions of a second too).
		if d.NotBefore, err = time.Parse(time.RFC3339, msg.NotBefore); err != nil {
			return d, invalidf("notBefore", "%q is not an RFC 3339 time such as 2027-01-31T08:00:00+01:00", msg.NotBefore)
		}
	}
	if msg.Print != nil {
		d.Print = &store.PrintRequest{Address: msg.Print.Address, When: msg.Print.When}
		if msg.Print.UnreadAfter != "" {
			if d.Print.UnreadAfter, err = time.Parse(time.RFC3339, msg.Print.UnreadAfter); err != nil {
				return d, invalidf("print.unreadAfter", "%q is not an RFC 3339 time such as 2027-01-31T08:00:00+01:00", msg.Print.UnreadAfter)
			}
		}
	}
	if msg.Recipient.NationalID == "" {
		return d, invalidf("recipient.nationalId", "missing")
	}
	if d.Recipient, err = store.ParseNationalID(msg.Recipient.NationalID); err != nil {
		return d, &store.InvalidError{Field: "recipient.nationalId", Reason: err.Error()}
	}
	return d, nil
}

// parseMessagePart decodes the JSON of the "message" part.
func parseMessagePart(part *multipart.Part, l store.Limits) (*messageJSON, error) {
	switch ct := part.Header.Get("Content-Type"); ct {
	case "":
		// curl -F 'message=…' sends none.
	default:
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/plain") {
			return nil, invalidf("message", "content type %q; want application/json", ct)
		}
		// JSON is UTF-8 (RFC 8259 §8.1): another charset would be read
		// as UTF-8 and the text would not be what the sender meant.
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			return nil, invalidf("message", "charset %q; JSON is UTF-8", cs)
		}
	}
	max := maxMessagePart(l)
	raw, err := io.ReadAll(io.LimitReader(part, max+1))
	if err != nil {
		return nil, bodyError(err, "message", "reading: %v", err)
	}
	if int64(len(raw)) > max {
		return nil, invalidf("message", "over %d bytes", max)
	}
	var msg messageJSON
	if err := decodeStrict(raw, &msg, "message"); err != nil {
		return nil, err
	}
	return &msg, nil
}

// checkTransferEncoding refuses a part with a Content-Transfer-Encoding
// other than the identity ones. RFC 7578 §4.7 deprecates the header in
// multipart/form-data; the API takes every part as the bytes sent, so a
// quoted-printable or base64 part would otherwise be stored encoded (or,
// with mime/multipart's NextPart, decoded without the sender knowing).
// documents is how many documents came before this part, to name it.
func checkTransferEncoding(part *multipart.Part, documents int) error {
	cte := part.Header.Get("Content-Transfer-Encoding")
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "binary", "8bit", "7bit":
		return nil
	}
	field := part.FormName()
	if field == "document" {
		field = fmt.Sprintf("document[%d]", documents)
	} else if field == "" {
		field = "body"
	}
	return invalidf(field, "Content-Transfer-Encoding %q is not supported; send the part as it is (binary)", cte)
}

// bodyError keeps the body reader's size limit (it maps to 413) and the
// server's bytes in flight (503) as they are and makes anything else an
// invalid request about field.
func bodyError(err error, field, format string, args ...any) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, guard.ErrBytesInFlight) {
		return err
	}
	return invalidf(field, format, args...)
}

func invalidf(field, format string, args ...any) error {
	return &store.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
