package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// FuzzParseDelivery: the parser of untrusted delivery requests never
// panics, and what it returns is either a Delivery with a message and
// documents within the limits or an error the API maps to a 4xx problem.
// What it accepts has texts of valid UTF-8, and encoding/json (which
// takes the last of duplicate names, matches names in any case and
// replaces bad UTF-8) reads the same message from it: no message means
// one thing to the API and another to a gateway in front of it.
func FuzzParseDelivery(f *testing.F) {
	ct, body := uitest.MultipartBody(
		uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Subject", "ref")),
		uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc),
		uitest.DocumentPart("b.txt", "text/plain", uitest.TextDoc),
	)
	f.Add(ct, body)
	ct2, body2 := uitest.MultipartBody(
		uitest.Part{Name: "message", Body: []byte(`{"recipient":{"nationalId":5},"subject":null,"extra":[1,2]}`)},
		uitest.Part{Name: "document", Filename: "../../x", Body: nil},
	)
	f.Add(ct2, body2)
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n{}\r\n--x--\r\n"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\n\r\n--x--"))
	f.Add("application/json", []byte(`{}`))
	// Strict JSON (decodeStrict): duplicates, case, UTF-8, surrogates.
	for _, msg := range []string{
		`{"recipient":{"nationalId":"0101701234"},"recipient":{"nationalId":"0202802345"},"subject":"S","senderReference":"r"}`,
		`{"recipient":{"NATIONALID":"0101701234"},"subject":"S","senderReference":"r"}`,
		"{\"recipient\":{\"nationalId\":\"0101701234\"},\"subject\":\"S\xff\",\"senderReference\":\"r\"}",
		`{"recipient":{"nationalId":"0101701234"},"subject":"S\ud800","senderReference":"r"}`,
		`{"recipient":{"nationalId":"0101701234"},"subject":"S\ud83d\udcec","senderReference":"r"}`,
	} {
		ct, body := uitest.MultipartBody(uitest.Part{Name: "message", ContentType: "application/json", Body: []byte(msg)},
			uitest.DocumentPart("a.txt", "text/plain", uitest.TextDoc))
		f.Add(ct, body)
	}
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.txt\"\r\n"+
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nK=C3=A6re=\r\n\r\n--x--\r\n"))
	f.Add("", []byte{})

	limits := store.DefaultLimits()
	limits.MaxDocuments = 4
	limits.MaxDocumentSize = 1 << 10
	limits.MaxLetterSize = 2 << 10
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/messages", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		// The store's Documents.Add checks the limits; here the documents
		// are read under them as the resident's uploads are.
		var docs []store.DocumentInput
		var total int64
		d, err := parseDelivery(req, limits, func(doc store.DocumentInput) error {
			content, err := limits.ReadDocument(doc.Reader, len(docs), total)
			if err != nil {
				return err
			}
			total += int64(len(content))
			doc.Reader, doc.Content = nil, content
			docs = append(docs, doc)
			return nil
		})
		d.Documents = docs
		if err != nil {
			var invalid *store.InvalidError
			if !errors.As(err, &invalid) && !errors.Is(err, store.ErrDocumentTooLarge) {
				t.Fatalf("error %v is neither invalid nor too large", err)
			}
			if invalid != nil && invalid.Field == "" {
				t.Fatalf("invalid error without a field: %v", err)
			}
			return
		}
		if d.Recipient.IsZero() || len(d.Documents) == 0 || len(d.Documents) > limits.MaxDocuments {
			t.Fatalf("accepted %+v", d)
		}
		total = 0
		for _, doc := range d.Documents {
			if int64(len(doc.Content)) > limits.MaxDocumentSize {
				t.Fatalf("document of %d bytes accepted", len(doc.Content))
			}
			total += int64(len(doc.Content))
		}
		if total > limits.MaxLetterSize {
			t.Fatalf("letter of %d bytes accepted", total)
		}
		for _, text := range []string{d.Subject, d.Body, d.SenderReference, d.DueDate, string(d.Type)} {
			if !utf8.ValidString(text) {
				t.Fatalf("accepted text %q is not UTF-8", text)
			}
		}
		var lenient messageJSON
		if err := json.Unmarshal(messagePartOf(t, contentType, body), &lenient); err != nil {
			t.Fatalf("accepted a message encoding/json refuses: %v", err)
		}
		if nid, err := store.ParseNationalID(lenient.Recipient.NationalID); err != nil || nid != d.Recipient {
			t.Fatalf("encoding/json reads the recipient %q from a message the API read as to %v", lenient.Recipient.NationalID, d.Recipient)
		}
		if lenient.Subject != d.Subject || lenient.Body != d.Body ||
			lenient.SenderReference != d.SenderReference || lenient.Type != string(d.Type) {
			t.Fatalf("encoding/json reads %+v from a message the API read as %+v", lenient, d)
		}
	})
}

// messagePartOf is the raw "message" part of an accepted delivery.
func messagePartOf(t *testing.T, contentType string, body []byte) []byte {
	t.Helper()
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("no message part in an accepted delivery: %v", err)
		}
		if part.FormName() == "message" {
			raw, err := io.ReadAll(part)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
	}
}
