package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/postkasse/postkasse/store"
)

// messageJSON is the "message" part of a delivery (API.md). Unknown fields
// are ignored, so senders may send fields of later versions.
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
	// Sensitive: the resident's notifications leave out the sender's
	// name (our extension; a notification never has the subject).
	Sensitive bool `json:"sensitive"`
	// The fields of a structured letter (form_structured.go).
	OpeningReceipt bool           `json:"openingReceipt"`
	Invoice        *store.Invoice `json:"invoice"`
	Actions        []store.Action `json:"actions"`
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
// letter") into a store.Delivery. It only parses; the store checks the
// rules. It reads the body as a stream and stops as soon as a limit is
// passed, so an oversized document is never held in memory whole. Errors
// are *store.InvalidError (with the field at fault) or wrap
// store.ErrDocumentTooLarge, store.ErrInvalidNationalID or the body
// reader's error (*http.MaxBytesError).
func parseDelivery(r *http.Request, l store.Limits) (store.Delivery, error) {
	var d store.Delivery
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return d, invalidf("body", "must be multipart/form-data with a boundary")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var msg *messageJSON
	var total int64
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return d, bodyError(err, "body", "malformed multipart: %v", err)
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
			i := len(d.Documents)
			content, err := l.ReadDocument(part, i, total)
			var invalid *store.InvalidError
			switch {
			case errors.Is(err, store.ErrDocumentTooLarge), errors.As(err, &invalid):
				return d, err
			case err != nil:
				return d, bodyError(err, fmt.Sprintf("document[%d]", i), "reading: %v", err)
			}
			total += int64(len(content))
			d.Documents = append(d.Documents, store.DocumentInput{
				Name:        part.FileName(),
				ContentType: part.Header.Get("Content-Type"),
				Content:     content,
			})
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
	if len(d.Documents) == 0 {
		return d, invalidf("document", "a letter needs at least one document")
	}
	d.Subject, d.Body, d.SenderReference = msg.Subject, msg.Body, msg.SenderReference
	d.Type, d.DueDate, d.ReplyAllowed = store.LetterType(msg.Type), msg.DueDate, msg.ReplyAllowed
	d.Sensitive = msg.Sensitive
	structuredFields(&d, msg)
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
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/plain") {
			return nil, invalidf("message", "content type %q; want application/json", ct)
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
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&msg); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" && typeErr.Type != nil {
			return nil, invalidf(typeErr.Field, "must be a JSON %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return nil, invalidf("message", "not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, invalidf("message", "more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidf("message", "more than one JSON value")
	}
	return &msg, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct":
		return "object"
	}
	return goKind
}

// bodyError keeps the body reader's size limit as it is (it maps to 413)
// and makes anything else an invalid request about field.
func bodyError(err error, field, format string, args ...any) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return invalidf(field, format, args...)
}

func invalidf(field, format string, args ...any) error {
	return &store.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
