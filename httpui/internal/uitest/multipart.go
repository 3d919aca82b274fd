package uitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"

	"github.com/postkasse/postkasse/internal/testsupport"
)

// Valid Danish CPR numbers (10 digits, a real date; the 7th digit 0–3
// puts the year in the 1900s).
const (
	NIDAnna   = "0101701234"
	NIDBjorn  = "0202802345"
	NIDNobody = "0303903456" // valid, but has no mailbox
	Password  = testsupport.Password
)

// Documents of each type, as small as content sniffing allows.
var (
	PDFDoc  = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	TextDoc = []byte("Dear resident,\n\nyour application is granted.\n")
	// PNGDoc is the PNG signature and an IHDR chunk, which is what
	// content sniffing looks at.
	PNGDoc = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")
)

// Part is one part of a multipart delivery.
type Part struct {
	Name, Filename, ContentType string
	Body                        []byte
}

// MessagePart is the "message" part with msg as JSON.
func MessagePart(msg map[string]any) Part {
	b, err := json.Marshal(msg)
	if err != nil {
		panic(err)
	}
	return Part{Name: "message", ContentType: "application/json", Body: b}
}

// DocumentPart is a "document" part.
func DocumentPart(filename, contentType string, body []byte) Part {
	return Part{Name: "document", Filename: filename, ContentType: contentType, Body: body}
}

// MultipartBody encodes parts as multipart/form-data.
func MultipartBody(parts ...Part) (contentType string, body []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.Name)
		if p.Filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.Filename)
		}
		h.Set("Content-Disposition", cd)
		if p.ContentType != "" {
			h.Set("Content-Type", p.ContentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			panic(err)
		}
		pw.Write(p.Body)
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// LetterMessage is a valid message part for recipient.
func LetterMessage(recipient, subject, ref string) map[string]any {
	return map[string]any{
		"recipient":       map[string]any{"nationalId": recipient},
		"subject":         subject,
		"senderReference": ref,
		"type":            "decision",
		"dueDate":         "2027-01-31",
		"replyAllowed":    false,
	}
}

// ValidDelivery is a complete delivery to Anna.
func ValidDelivery(ref string) []Part {
	return []Part{
		MessagePart(LetterMessage(NIDAnna, "Your tax assessment", ref)),
		DocumentPart("assessment.pdf", "application/pdf", PDFDoc),
	}
}

// RawNameMultipart is a delivery whose document's file name is written as
// raw UTF-8 in the part header, as curl -F sends it (MultipartBody
// quotes it with Go escapes).
func RawNameMultipart(msg map[string]any, name, contentType string, content []byte) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, _ := w.CreatePart(h)
	json.NewEncoder(pw).Encode(msg)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="document"; filename="`+name+`"`)
	h.Set("Content-Type", contentType)
	pw, _ = w.CreatePart(h)
	pw.Write(content)
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// InvoiceMessage is a valid message part of a structured letter for
// recipient: an invoice of 1,249.50 kroner due 2027-02-15 with its
// account and payment reference, a payment link and an appointment.
func InvoiceMessage(recipient, subject, ref string) map[string]any {
	return map[string]any{
		"recipient":       map[string]any{"nationalId": recipient},
		"subject":         subject,
		"senderReference": ref,
		"type":            "invoice",
		"invoice": map[string]any{
			"amount": "1249.50", "currency": "DKK", "account": "5479 0001234567",
			"paymentReference": "+71<000000012345678+87654321<", "dueDate": "2027-02-15",
		},
		"actions": []any{
			map[string]any{"type": "pay", "label": "Betal regningen", "url": "https://betal.example.dk/faktura/7"},
			map[string]any{"type": "appointment", "label": "Tandlægetid", "at": "2027-02-03T09:30:00+01:00"},
		},
	}
}
