package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestDeliverMessageLast: the "message" part may come after the
// documents; they are sealed as they arrive and stored as sent, the same
// letter as with the message first (a repeat of it, 200).
func TestDeliverMessageLast(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	big := append(bytes.Clone(uitest.PDFDoc), bytes.Repeat([]byte("0123456789"), 20000)...) // over three chunks
	docs := []uitest.Part{
		uitest.DocumentPart("assessment.pdf", "application/pdf", big),
		uitest.DocumentPart("note.txt", "text/plain; charset=utf-8", []byte(strings.Repeat("Kære borger, æøå. ", 9000))),
	}
	msg := uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Your tax assessment", "last-1"))
	r := e.Deliver(s.Client, append(docs, msg)...)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("message last: %d %s", r.StatusCode, r.Text)
	}
	var out struct{ ID string }
	if err := json.Unmarshal([]byte(r.Text), &out); err != nil {
		t.Fatal(err)
	}
	again := e.Deliver(s.Client, append([]uitest.Part{msg}, docs...)...)
	if again.StatusCode != http.StatusOK || again.Text != r.Text {
		t.Fatalf("message first, same letter: %d %s; want 200 and the original", again.StatusCode, again.Text)
	}
	mb, err := e.Store.Login(context.Background(), uitest.NIDAnna, uitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	mailbox, err := e.Store.OpenSession(context.Background(), mb.Token)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range docs {
		doc, err := mailbox.Document(context.Background(), out.ID, i)
		if err != nil || !bytes.Equal(doc.Content, p.Body) {
			t.Errorf("document %d: %d bytes, %v; want as sent (%d)", i, len(doc.Content), err, len(p.Body))
		}
	}
	if n := e.Deliveries(); n != 1 {
		t.Errorf("%d letters stored, want 1", n)
	}
}

// TestDeliverRefusedMessageLast: with the message after the documents,
// every refusal is the one with the message first, and nothing is stored.
func TestDeliverRefusedMessageLast(t *testing.T) {
	t.Parallel()
	limits := store.DefaultLimits()
	limits.MaxDocuments = 3
	limits.MaxDocumentSize = 4 << 10
	limits.MaxLetterSize = 8 << 10
	e := apptest.NewEnv(t, apptest.Options{Limits: limits})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	msg := func(mod func(m map[string]any)) uitest.Part {
		m := uitest.LetterMessage(uitest.NIDAnna, "Subject", "ref-1")
		if mod != nil {
			mod(m)
		}
		return uitest.MessagePart(m)
	}
	pdf := uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc)
	big := append(bytes.Clone(uitest.PDFDoc), bytes.Repeat([]byte("x"), 4<<10)...)
	tests := []struct {
		name   string
		parts  []uitest.Part
		status int
		code   string
		detail string
	}{
		{"document over the limit", []uitest.Part{uitest.DocumentPart("big.pdf", "application/pdf", big), msg(nil)}, 413, "DOCUMENT_TOO_LARGE", "document[0]"},
		{"second document bad", []uitest.Part{pdf, uitest.DocumentPart("b.txt", "text/plain", []byte("ok\x00")), msg(nil)}, 415, "UNSUPPORTED_DOCUMENT_TYPE", "document[1]"},
		{"missing subject", []uitest.Part{pdf, msg(func(m map[string]any) { delete(m, "subject") })}, 400, "INVALID_REQUEST", "subject"},
		{"unknown recipient", []uitest.Part{pdf, msg(func(m map[string]any) { m["recipient"] = map[string]any{"nationalId": uitest.NIDNobody} })}, 404, "UNKNOWN_RECIPIENT", ""},
		{"missing message", []uitest.Part{pdf, pdf}, 400, "INVALID_REQUEST", "message"},
		{"bad JSON", []uitest.Part{pdf, {Name: "message", ContentType: "application/json", Body: []byte(`{"subject": `)}}, 400, "INVALID_REQUEST", "message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := uitest.WantProblem(t, e.Deliver(s.Client, tc.parts...), tc.status, tc.code)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not name %q", p.Detail, tc.detail)
			}
		})
	}
	if n := e.Deliveries(); n != 0 {
		t.Fatalf("%d letters stored by refused deliveries", n)
	}
	if r := e.Deliver(s.Client, pdf, msg(nil)); r.StatusCode != http.StatusCreated {
		t.Fatalf("the reference then: %d %s; want 201, a new letter", r.StatusCode, r.Text)
	}
}

// TestDeliverClientGoneMidDocument: a client that stops in the middle of
// a document stores nothing; the same senderReference is then a new
// letter (201), not a repeat.
func TestDeliverClientGoneMidDocument(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	doc := append(bytes.Clone(uitest.PDFDoc), bytes.Repeat([]byte("y"), 300<<10)...)
	ct, body := uitest.MultipartBody(append(uitest.ValidDelivery("gone-1")[:1], uitest.DocumentPart("a.pdf", "application/pdf", doc))...)
	gone := errors.New("client gone")
	req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/messages",
		io.MultiReader(bytes.NewReader(body[:len(body)/2]), iotest.ErrReader(gone)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", ct)
	if resp, err := s.Client.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("half a request answered %d", resp.StatusCode)
		}
	}
	r := e.Deliver(s.Client, uitest.ValidDelivery("gone-1")...)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("the reference after the client went: %d %s; want 201", r.StatusCode, r.Text)
	}
	if n := e.Deliveries(); n != 1 {
		t.Errorf("%d letters stored, want 1", n)
	}
}
