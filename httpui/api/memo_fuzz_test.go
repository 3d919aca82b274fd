package api

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store"
)

// FuzzParseMemo: the request path of POST /api/v1/memo, from the body to
// the delivery (package memo's parser, then the mapping), never panics;
// it refuses with an invalid request naming a MeMo element or a size over
// a limit, or returns a delivery within the limits: a Danish recipient, a
// reference, documents and texts in UTF-8, actions of the API's types.
// The seeds are the MeMo messages of the tests.
func FuzzParseMemo(f *testing.F) {
	for _, pattern := range []string{"../memo/testdata/*.xml", "testdata/memo/*.xml"} {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			f.Fatalf("no seeds %s: %v", pattern, err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	limits := store.DefaultLimits()
	limits.MaxDocuments = 4
	limits.MaxDocumentSize = 1 << 10
	limits.MaxLetterSize = 2 << 10
	f.Fuzz(func(t *testing.T, body []byte) {
		d, senderID, err := parseMemo(strings.NewReader(string(body)), limits)
		if err != nil {
			var invalid *store.InvalidError
			switch {
			case errors.As(err, &invalid):
				if !strings.HasPrefix(invalid.Field, "MeMo ") {
					t.Fatalf("invalid error not naming a MeMo element: %v", err)
				}
			case !errors.Is(err, store.ErrDocumentTooLarge):
				t.Fatalf("error %v is neither invalid nor too large", err)
			}
			return
		}
		if d.Recipient.Country != "DK" || d.SenderReference == "" || senderID == "" ||
			len(d.Documents) == 0 || len(d.Documents) > limits.MaxDocuments || len(d.Actions) > store.MaxActions {
			t.Fatalf("accepted %+v from %q", d, senderID)
		}
		for _, doc := range d.Documents {
			if int64(len(doc.Content)) > limits.MaxDocumentSize || !utf8.ValidString(doc.Name) || !utf8.ValidString(doc.ContentType) {
				t.Fatalf("accepted document %q %q of %d bytes", doc.Name, doc.ContentType, len(doc.Content))
			}
		}
		for _, text := range []string{d.Subject, d.SenderReference, senderID} {
			if !utf8.ValidString(text) {
				t.Fatalf("accepted text %q is not UTF-8", text)
			}
		}
		for _, a := range d.Actions {
			switch a.Type {
			case "link", "pay", "sign", "appointment":
			default:
				t.Fatalf("accepted action %+v", a)
			}
		}
	})
}
