package resident_test

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// postMessage posts the messages page's form with c.
func postMessage(e *uitest.Env, c *http.Client, sender, text string, files []uitest.Part, header http.Header) *uitest.Response {
	e.T.Helper()
	parts := append([]uitest.Part{{Name: "sender", Body: []byte(sender)}, {Name: "text", Body: []byte(text)}}, files...)
	ct, body := uitest.MultipartBody(parts...)
	req, err := http.NewRequest(http.MethodPost, e.HTTPURL+"/messages", bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

// TestMessagePages: with no sender accepting messages, the page says so
// and the senders page has no link; once one does, the senders page links
// to the page, whose labelled form sends a message (listed with its file,
// which downloads); a sender that accepts none is refused with the reason
// and nothing is sent; another resident, a signed-out browser and a
// cross-site form send nothing and see nothing.
func TestMessagePages(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Nordlys Energi A/S", "12345674")
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if p := e.Get(anna, e.HTTPURL+"/messages"); p.StatusCode != http.StatusOK || !strings.Contains(p.Text, "No sender accepts messages here") || strings.Contains(p.Text, `name="sender"`) {
		t.Errorf("messages page without senders: %d\n%s", p.StatusCode, p.Text)
	}
	if p := e.Get(anna, e.HTTPURL+"/settings/senders"); strings.Contains(p.Text, `href="/messages"`) {
		t.Error("the senders page links to messages while no sender accepts them")
	}
	e.AddReplyKey(s)
	if err := e.Store.SetSenderAcceptsMessages(context.Background(), s.ID, true); err != nil {
		t.Fatal(err)
	}
	if p := e.Get(anna, e.HTTPURL+"/settings/senders"); !strings.Contains(p.Text, `href="/messages"`) {
		t.Error("the senders page does not link to messages")
	}
	page := e.Get(anna, e.HTTPURL+"/messages")
	for _, want := range []string{`<label for="message-sender">To</label>`, `<option value="` + s.ID + `">Aarhus Kommune</option>`,
		`<label for="message-text">Your message</label>`, `<label for="message-files">Attach files (optional)</label>`} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("the messages page lacks %q", want)
		}
	}
	if strings.Contains(page.Text, other.ID) {
		t.Error("a sender that accepts no messages is offered")
	}

	if r := postMessage(e, anna, other.ID, "Hej", nil, nil); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "This sender does not accept messages.") {
		t.Errorf("to a sender that accepts none: %d\n%s", r.StatusCode, r.Text)
	}
	if r := postMessage(e, anna, s.ID, " ", nil, nil); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "Write a message or attach a file.") {
		t.Errorf("an empty message: %d", r.StatusCode)
	}
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	signedOut := e.Browser()
	if r := postMessage(e, signedOut, s.ID, "Planted", nil, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("a signed-out message: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := postMessage(e, anna, s.ID, "Planted", nil, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site message: %d", r.StatusCode)
	}
	if n := e.AuditCount("message"); n != 0 {
		t.Fatalf("%d messages stored by refusals", n)
	}

	r := postMessage(e, anna, s.ID, "Hvornår tømmes min skraldespand?", []uitest.Part{filePart("foto.txt", "text/plain", []byte("spanden"))}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/messages?done=sent" {
		t.Fatalf("send: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	page = e.Get(anna, e.HTTPURL+"/messages?done=sent")
	for _, want := range []string{"Your message has been sent.", "To Aarhus Kommune", "Hvornår tømmes min skraldespand?", "foto.txt"} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("the messages page lacks %q", want)
		}
	}
	m := regexp.MustCompile(`href="(/replies/[0-9a-f]{32}/attachments/0)"`).FindStringSubmatch(page.Text)
	if m == nil {
		t.Fatal("no attachment link")
	}
	if a := e.Get(anna, e.HTTPURL+m[1]); a.StatusCode != http.StatusOK || a.Text != "spanden" {
		t.Errorf("the attachment: %d %q", a.StatusCode, a.Text)
	}
	if a := e.Get(bjorn, e.HTTPURL+m[1]); a.StatusCode != http.StatusNotFound {
		t.Errorf("another resident's attachment: %d", a.StatusCode)
	}
	if p := e.Get(bjorn, e.HTTPURL+"/messages"); strings.Contains(p.Text, "skraldespand") {
		t.Error("another resident sees the message")
	}
	if n := e.AuditCount("message"); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}
