package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// FuzzParseDelivery: the parser of untrusted delivery requests never
// panics, and what it returns is either a Delivery with a message and
// documents within the limits or an error the API maps to a 4xx problem.
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
	f.Add("", []byte{})

	limits := store.DefaultLimits()
	limits.MaxDocuments = 4
	limits.MaxDocumentSize = 1 << 10
	limits.MaxLetterSize = 2 << 10
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/messages", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		d, err := parseDelivery(req, limits)
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
		var total int64
		for _, doc := range d.Documents {
			if int64(len(doc.Content)) > limits.MaxDocumentSize {
				t.Fatalf("document of %d bytes accepted", len(doc.Content))
			}
			total += int64(len(doc.Content))
		}
		if total > limits.MaxLetterSize {
			t.Fatalf("letter of %d bytes accepted", total)
		}
	})
}
