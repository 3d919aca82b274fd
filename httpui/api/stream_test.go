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

// messageLast returns parts with the "message" parts moved after the
// others, in their order; moved is false when they were last already.
func messageLast(parts []uitest.Part) (last []uitest.Part, moved bool) {
	var docs, msgs []uitest.Part
	for _, p := range parts {
		if p.Name == "message" {
			msgs = append(msgs, p)
		} else {
			moved = moved || len(msgs) > 0
			docs = append(docs, p)
		}
	}
	return append(docs, msgs...), moved
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
