package resident_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// postReply posts a letter page's reply form with c: the text and files,
// as the browser sends them.
func postReply(e *uitest.Env, c *http.Client, letterID, text string, files []uitest.Part, header http.Header) *uitest.Response {
	e.T.Helper()
	parts := append([]uitest.Part{{Name: "text", Body: []byte(text)}}, files...)
	ct, body := uitest.MultipartBody(parts...)
	req, err := http.NewRequest(http.MethodPost, e.HTTPURL+"/letters/"+letterID+"/reply", bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

// deliverLetter delivers a letter to Anna and returns its id.
func deliverLetter(t *testing.T, e *uitest.Env, s *uitest.Sender, ref string, replyAllowed bool) string {
	t.Helper()
	msg := uitest.LetterMessage(uitest.NIDAnna, "Partshøring "+ref, ref)
	msg["replyAllowed"] = replyAllowed
	r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	return uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
}

// TestReplyPages: a letter that takes replies has a labelled reply form;
// a reply sent from it shows in the letter's thread with its attachment,
// which downloads, and the sender's answer shows there too; a refused
// reply says why, keeps the text and sends nothing; a letter that takes
// no replies has no form and refuses a posted one.
func TestReplyPages(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	e.AddReplyKey(s)
	letter := deliverLetter(t, e, s, "hoering-1", true)
	plain := deliverLetter(t, e, s, "plain-1", false)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	page := e.Get(b, e.HTTPURL+"/letters/"+letter)
	for _, want := range []string{`action="/letters/` + letter + `/reply" enctype="multipart/form-data"`, `<label for="reply-text">Your message</label>`,
		`<textarea id="reply-text" name="text"`, `<label for="reply-files">Attach files (optional)</label>`, `name="file" accept="application/pdf`,
		"At most 5 files"} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("the letter page lacks %q", want)
		}
	}
	if p := e.Get(b, e.HTTPURL+"/letters/"+plain); strings.Contains(p.Text, "/reply") {
		t.Error("a letter that takes no replies offers the form")
	}

	// Refusals: nothing is sent.
	six := make([]uitest.Part, 6)
	for i := range six {
		six[i] = filePart("a.txt", "text/plain", []byte("a"))
	}
	for _, c := range []struct {
		name, text string
		files      []uitest.Part
		status     int
		says       string
	}{
		{"empty", "  ", nil, http.StatusUnprocessableEntity, "Write a message or attach a file."},
		{"six files", "Hej", six, http.StatusUnprocessableEntity, "You can attach at most 5 files."},
		{"a program", "Hej med bilag", []uitest.Part{filePart("x.exe", "application/x-msdownload", []byte("MZ"))}, http.StatusUnsupportedMediaType, "cannot be attached"},
		{"a bidi control", "Hej \u202e", nil, http.StatusUnprocessableEntity, "hidden control characters"},
	} {
		r := postReply(e, b, letter, c.text, c.files, nil)
		if r.StatusCode != c.status || !strings.Contains(r.Text, c.says) || !strings.Contains(r.Text, `aria-invalid="true"`) {
			t.Errorf("%s: %d\n%s", c.name, r.StatusCode, r.Text)
		}
		if c.name == "a program" && !strings.Contains(r.Text, "Hej med bilag</textarea>") {
			t.Errorf("%s: the text written is not kept", c.name)
		}
	}
	if r := postReply(e, b, plain, "Hej", nil, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("a reply to a letter without replyAllowed: %d", r.StatusCode)
	}
	if n := e.AuditCount("reply"); n != 0 {
		t.Fatalf("%d replies stored by refusals", n)
	}

	r := postReply(e, b, letter, "Jeg er uenig i afgørelsen.\r\nMvh Anna", []uitest.Part{filePart("indsigelse.txt", "text/plain", []byte("Min indsigelse"))}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/letters/"+letter+"?saved=replied#thread" {
		t.Fatalf("reply: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	page = e.Get(b, e.HTTPURL+"/letters/"+letter+"?saved=replied")
	for _, want := range []string{"Your reply has been sent.", "Jeg er uenig i afgørelsen.\nMvh Anna", "indsigelse.txt"} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("the thread lacks %q:\n%s", want, page.Text)
		}
	}
	m := regexp.MustCompile(`href="(/replies/[0-9a-f]{32}/attachments/0)"`).FindStringSubmatch(page.Text)
	if m == nil {
		t.Fatal("no attachment link")
	}
	att := e.Get(b, e.HTTPURL+m[1])
	if att.StatusCode != http.StatusOK || att.Text != "Min indsigelse" || !strings.HasPrefix(att.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the attachment: %d %q %s", att.StatusCode, att.Text, att.Header.Get("Content-Disposition"))
	}
	replyID := strings.Split(m[1], "/")[2]

	// The sender answers; the answer shows in the thread.
	ans := uitest.LetterMessage(uitest.NIDAnna, "Svar på din indsigelse", "answer-1")
	ans["inReplyTo"] = replyID
	e.Deliver(s.Client, uitest.MessagePart(ans), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	page = e.Get(b, e.HTTPURL+"/letters/"+letter)
	if !strings.Contains(page.Text, "Answer from Aarhus Kommune") || !strings.Contains(page.Text, "Svar på din indsigelse") {
		t.Errorf("the thread lacks the answer:\n%s", page.Text)
	}
}

// TestReplyAuthorization: another resident, a signed-out browser and a
// cross-site form can neither reply to a resident's letter nor see its
// replies; nothing is stored.
func TestReplyAuthorization(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	e.AddReplyKey(s)
	letter := deliverLetter(t, e, s, "hoering-1", true)
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if r := postReply(e, anna, letter, "Annas svar", []uitest.Part{filePart("privat.txt", "text/plain", []byte("privat"))}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply: %d\n%s", r.StatusCode, r.Text)
	}
	m := regexp.MustCompile(`href="(/replies/[0-9a-f]{32}/attachments/0)"`).FindStringSubmatch(e.Get(anna, e.HTTPURL+"/letters/"+letter).Text)
	if m == nil {
		t.Fatal("no attachment link")
	}
	replies := e.AuditCount("reply")

	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	signedOut := e.Browser()
	if r := postReply(e, bjorn, letter, "Planted", nil, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("another resident's reply: %d", r.StatusCode)
	}
	if r := postReply(e, signedOut, letter, "Planted", nil, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("a signed-out reply: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := postReply(e, anna, letter, "Planted", nil, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site reply: %d", r.StatusCode)
	}
	for _, path := range []string{"/letters/" + letter, m[1]} {
		if r := e.Get(bjorn, e.HTTPURL+path); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "Annas svar") || strings.Contains(r.Text, "privat") {
			t.Errorf("another resident GET %s: %d", path, r.StatusCode)
		}
		if r := e.Get(signedOut, e.HTTPURL+path); r.StatusCode != http.StatusSeeOther {
			t.Errorf("signed-out GET %s: %d", path, r.StatusCode)
		}
	}
	if n := e.AuditCount("reply"); n != replies {
		t.Errorf("%d replies after the refusals, want %d", n, replies)
	}
}

// postMultipart posts a reply form (the text and files) to the URL u, as
// the browser sends it.
func postMultipart(e *uitest.Env, c *http.Client, u, text string, files []uitest.Part) *uitest.Response {
	e.T.Helper()
	parts := append([]uitest.Part{{Name: "text", Body: []byte(text)}}, files...)
	ct, body := uitest.MultipartBody(parts...)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return e.Do(c, req)
}
