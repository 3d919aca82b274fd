package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestReplies: a sender registers its reply key; a letter with
// replyAllowed needs one; the resident's reply is a "reply" event naming
// it; GET /replies/{id} gives the sealed reply to that sender only, which
// opens with its private key; an answer names the reply (inReplyTo), and
// only a reply to this sender from this recipient. Every answer matches
// the OpenAPI document.
func TestReplies(t *testing.T) {
	t.Parallel()
	v := openAPIValidator(t)
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Nordlys Energi A/S", "12345674")
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})

	check := func(name string, c *http.Client, method, path string, body []byte, status int) *uitest.Response {
		t.Helper()
		req, err := http.NewRequest(method, e.HTTPSURL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		r := e.Do(c, req)
		if r.StatusCode != status {
			t.Errorf("%s: %d, want %d\n%s", name, r.StatusCode, status, r.Text)
		}
		vreq, _ := http.NewRequest(method, e.HTTPSURL+path, bytes.NewReader(body))
		if body != nil {
			vreq.Header.Set("Content-Type", "application/json")
		}
		resp := &http.Response{StatusCode: r.StatusCode, Header: r.Header.Clone(), Body: io.NopCloser(strings.NewReader(r.Text)), Request: vreq}
		if ok, errs := v.ValidateHttpResponse(vreq, resp); !ok {
			for _, err := range errs {
				t.Errorf("%s: the answer (%d) does not match the OpenAPI document: %s: %s", name, r.StatusCode, err.Message, err.Reason)
			}
		}
		return r
	}

	// No key yet: a letter that allows replies is refused, naming the field.
	check("GET the reply key before one is set", s.Client, http.MethodGet, "/api/v1/reply-key", nil, http.StatusNotFound)
	msg := uitest.LetterMessage(uitest.NIDAnna, "Høring", "reply-1")
	msg["replyAllowed"] = true
	ct, body := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	r := post(t, e, s.Client, "/api/v1/messages", ct, body)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "replyAllowed") {
		t.Fatalf("replyAllowed without a reply key: %d %s", r.StatusCode, r.Text)
	}

	// Register a key: bad ones are refused.
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := crypto.NewReplyPrivateKey(k.RawX25519())
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public()
	b64 := base64.StdEncoding.EncodeToString(pub[:])
	check("PUT a short key", s.Client, http.MethodPut, "/api/v1/reply-key", []byte(`{"publicKey":"AAAA"}`), http.StatusBadRequest)
	check("PUT a low-order key", s.Client, http.MethodPut, "/api/v1/reply-key", []byte(`{"publicKey":"`+base64.StdEncoding.EncodeToString(make([]byte, 32))+`"}`), http.StatusBadRequest)
	check("PUT not base64", s.Client, http.MethodPut, "/api/v1/reply-key", []byte(`{"publicKey":"!!"}`), http.StatusBadRequest)
	check("PUT an unknown field", s.Client, http.MethodPut, "/api/v1/reply-key", []byte(`{"publicKey":"`+b64+`","x":1}`), http.StatusBadRequest)
	check("PUT without a certificate", anonymous, http.MethodPut, "/api/v1/reply-key", []byte(`{"publicKey":"`+b64+`"}`), http.StatusUnauthorized)
	got := check("PUT the key", s.Client, http.MethodPut, "/api/v1/reply-key", []byte(`{"publicKey":"`+b64+`"}`), http.StatusOK)
	if !strings.Contains(got.Text, b64) {
		t.Errorf("PUT answered %s", got.Text)
	}
	check("GET the key", s.Client, http.MethodGet, "/api/v1/reply-key", nil, http.StatusOK)
	check("another sender's key is its own", other.Client, http.MethodGet, "/api/v1/reply-key", nil, http.StatusNotFound)

	r = post(t, e, s.Client, "/api/v1/messages", ct, body)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	letterID := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID

	// The resident replies.
	nid, _ := store.ParseNationalID(uitest.NIDAnna)
	sess, err := e.Store.Login(context.Background(), nid.String(), uitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.Store.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	replyID, err := mb.Reply(context.Background(), letterID, store.ReplyInput{Text: "Jeg er uenig.",
		Attachments: []store.DocumentInput{{Name: "bilag.txt", ContentType: "text/plain", Content: []byte("bilag")}}})
	mb.Close()
	if err != nil {
		t.Fatal(err)
	}

	evs := check("events", s.Client, http.MethodGet, "/api/v1/events", nil, http.StatusOK)
	var feed struct {
		Events []struct {
			Type, LetterID, ReplyID string
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(evs.Text), &feed); err != nil {
		t.Fatal(err)
	}
	last := feed.Events[len(feed.Events)-1]
	if last.Type != "reply" || last.ReplyID != replyID || last.LetterID != letterID {
		t.Errorf("the last event %+v", last)
	}

	got = check("GET the reply", s.Client, http.MethodGet, "/api/v1/replies/"+replyID, nil, http.StatusOK)
	var rep struct {
		ID, LetterID, SenderID, ResidentID, Format, Sealed string
		Attachments                                        int
	}
	if err := json.Unmarshal([]byte(got.Text), &rep); err != nil {
		t.Fatal(err)
	}
	sealed, err := base64.StdEncoding.DecodeString(rep.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := priv.OpenReply(sealed, crypto.ReplyBinding{ReplyID: rep.ID, SenderID: rep.SenderID, ResidentID: rep.ResidentID})
	if err != nil || opened.Text != "Jeg er uenig." || rep.Attachments != 1 || string(opened.Attachments[0].Content) != "bilag" || rep.LetterID != letterID {
		t.Fatalf("the reply %+v opens to %+v, %v", rep, opened, err)
	}
	check("GET another sender's reply", other.Client, http.MethodGet, "/api/v1/replies/"+replyID, nil, http.StatusNotFound)
	check("GET an unknown reply", s.Client, http.MethodGet, "/api/v1/replies/nope", nil, http.StatusNotFound)
	check("GET a reply without a certificate", anonymous, http.MethodGet, "/api/v1/replies/"+replyID, nil, http.StatusUnauthorized)

	// Answers: only to this sender's reply from this recipient.
	for _, c := range []struct {
		name   string
		client *http.Client
		nid    string
		status int
	}{
		{"an answer from another sender", other.Client, uitest.NIDAnna, http.StatusBadRequest},
		{"an answer to another resident", s.Client, uitest.NIDBjorn, http.StatusBadRequest},
		{"the answer", s.Client, uitest.NIDAnna, http.StatusCreated},
	} {
		m := uitest.LetterMessage(c.nid, "Svar", "answer-"+c.name)
		m["inReplyTo"] = replyID
		ct, body := uitest.MultipartBody(uitest.MessagePart(m), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
		if r := post(t, e, c.client, "/api/v1/messages", ct, body); r.StatusCode != c.status || c.status == http.StatusBadRequest && !strings.Contains(r.Text, "inReplyTo") {
			t.Errorf("%s: %d %s", c.name, r.StatusCode, r.Text)
		}
	}
}

func post(t *testing.T, e *uitest.Env, c *http.Client, path, ct string, body []byte) *uitest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return e.Do(c, req)
}
