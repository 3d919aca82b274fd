package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/jobs/internal/testservers"
	"github.com/postkasse/postkasse/jobs/notify"
)

func mailerFor(t *testing.T, srv *testservers.SMTP, edit func(*notify.SMTPConfig)) *notify.Mailer {
	t.Helper()
	cfg := notify.SMTPConfig{
		Host: srv.Host, Port: srv.Port, Username: srv.Username, Password: srv.Password,
		From: "Postkasse <noreply@post.example.dk>", RootCAs: srv.RootCAs,
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := notify.NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMailerSTARTTLSAndAuth sends two messages over one connection to a
// real SMTP server that requires STARTTLS and AUTH PLAIN.
func TestMailerSTARTTLSAndAuth(t *testing.T) {
	srv := testservers.StartSMTP(t)
	m := mailerFor(t, srv, nil)
	sess, err := m.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []notify.Message{
		{ID: "n1", To: "anna@example.dk", Subject: "New letter", Text: "You have mail from Aarhus Kommune. Læs den på https://post.example.dk/"},
		{ID: "n2", To: "bo@example.dk", Subject: "New letter", Text: "You have mail."},
	} {
		if err := sess.Send(msg); err != nil {
			t.Fatalf("Send(%s): %v", msg.ID, err)
		}
	}
	if err := sess.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	mails := srv.Mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails arrived", len(mails))
	}
	got := mails[0]
	if !got.TLS || got.AuthUser != srv.Username || got.From != "noreply@post.example.dk" || len(got.To) != 1 || got.To[0] != "anna@example.dk" {
		t.Errorf("envelope: TLS %v, user %q, from %q, to %v", got.TLS, got.AuthUser, got.From, got.To)
	}
	if id := testservers.Header(got.Data, "Message-ID"); id != "<n1@post.example.dk>" {
		t.Errorf("Message-ID %q", id)
	}
	if h := testservers.Header(got.Data, "Auto-Submitted"); h != "auto-generated" {
		t.Errorf("Auto-Submitted %q", h)
	}
	if h := testservers.Header(got.Data, "Subject"); h != "New letter" {
		t.Errorf("Subject %q", h)
	}
	body, err := testservers.Body(got.Data)
	if err != nil || !strings.Contains(body, "Læs den på https://post.example.dk/") {
		t.Errorf("body %q, %v", body, err)
	}
}

func TestMailerFailures(t *testing.T) {
	srv := testservers.StartSMTP(t)
	srv.Reject("gone@example.dk", 550)
	srv.Reject("full@example.dk", 452)
	m := mailerFor(t, srv, nil)
	sess, err := m.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Send(notify.Message{ID: "a", To: "gone@example.dk", Text: "x"}); err == nil || !notify.IsPermanent(err) {
		t.Errorf("550 for the recipient: %v, want a permanent error", err)
	}
	if err := sess.Send(notify.Message{ID: "b", To: "full@example.dk", Text: "x"}); err == nil || notify.IsPermanent(err) {
		t.Errorf("452 for the recipient: %v, want a temporary error", err)
	}
	// The session goes on after refusals.
	if err := sess.Send(notify.Message{ID: "c", To: "anna@example.dk", Text: "x"}); err != nil {
		t.Errorf("after refusals: %v", err)
	}

	wrong := mailerFor(t, srv, func(c *notify.SMTPConfig) { c.Password = "wrong" })
	if _, err := wrong.Open(context.Background()); err == nil || notify.IsPermanent(err) {
		t.Errorf("wrong password: %v, want a temporary error (the operator fixes the configuration)", err)
	}
	untrusted := mailerFor(t, srv, func(c *notify.SMTPConfig) { c.RootCAs = nil })
	if _, err := untrusted.Open(context.Background()); err == nil {
		t.Error("a server with an untrusted certificate was accepted")
	}
	if len(srv.Mails()) != 1 {
		t.Errorf("%d mails arrived, want 1", len(srv.Mails()))
	}
	for _, bad := range []notify.SMTPConfig{
		{From: "a@b.dk"},
		{Host: "h", From: "not an address"},
		{Host: "h", From: "a@b.dk", Security: "ssl3"},
		{Host: "h", From: "a@b.dk", Port: 70000},
	} {
		if _, err := notify.NewMailer(bad); err == nil {
			t.Errorf("NewMailer(%+v) accepted", bad)
		}
	}
}

// TestSMSGateway checks the request the gateway gets: method, auth
// header, content type, idempotency key and the templated body.
func TestSMSGateway(t *testing.T) {
	gw := testservers.StartGateway(t)
	g, err := notify.NewSMSGateway(notify.SMSConfig{URL: gw.URL + "/v1/sms", AuthHeader: "Authorization: Bearer t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	msg := notify.Message{ID: "abc", To: "+4512345678", Text: `New letter from "Aarhus Kommune" – log in`}
	if err := g.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	reqs := gw.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/sms" || r.Header.Get("Authorization") != "Bearer t0ken" ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Idempotency-Key") != `"abc"` {
		t.Errorf("request %s %s %v", r.Method, r.Path, r.Header)
	}
	var body struct{ To, Text, Reference string }
	if err := json.Unmarshal(r.Body, &body); err != nil || body.To != msg.To || body.Text != msg.Text || body.Reference != "abc" {
		t.Errorf("body %s: %+v, %v", r.Body, body, err)
	}

	// A GET gateway with the message in the query.
	g2, err := notify.NewSMSGateway(notify.SMSConfig{Method: "get", URL: gw.URL + "/send?to={{urlquery .To}}&msg={{urlquery .Text}}", AuthHeader: "X-API-Key: k"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Send(context.Background(), notify.Message{ID: "q", To: "+4798765432", Text: "hej & velkommen"}); err != nil {
		t.Fatal(err)
	}
	r = gw.Requests()[1]
	if r.Method != http.MethodGet || r.Query != "to=%2B4798765432&msg=hej+%26+velkommen" || r.Header.Get("X-API-Key") != "k" || len(r.Body) != 0 {
		t.Errorf("GET request %s ?%s %v %q", r.Method, r.Query, r.Header, r.Body)
	}
}

func TestSMSGatewayFailures(t *testing.T) {
	gw := testservers.StartGateway(t)
	g, err := notify.NewSMSGateway(notify.SMSConfig{URL: gw.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code      int
		permanent bool
	}{
		{http.StatusServiceUnavailable, false},
		{http.StatusInternalServerError, false},
		{http.StatusTooManyRequests, false},
		{http.StatusRequestTimeout, false},
		{http.StatusBadRequest, true},
		{http.StatusUnauthorized, true},
		{http.StatusUnprocessableEntity, true},
	} {
		gw.Answer(tc.code)
		err := g.Send(context.Background(), notify.Message{ID: "x", To: "+4512345678", Text: "t"})
		if err == nil || notify.IsPermanent(err) != tc.permanent {
			t.Errorf("status %d: %v, want permanent=%v", tc.code, err, tc.permanent)
		}
	}
	closed, err := notify.NewSMSGateway(notify.SMSConfig{URL: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Send(context.Background(), notify.Message{ID: "x", To: "+4512345678", Text: "t"}); err == nil || notify.IsPermanent(err) {
		t.Errorf("connection refused: %v, want a temporary error", err)
	}
	for _, bad := range []notify.SMSConfig{
		{URL: ""},
		{URL: "ftp://x/"},
		{URL: "https://x/{{.Nope}}"},
		{URL: "https://x/", BodyTemplate: "{{"},
		{URL: "https://x/", AuthHeader: "no colon"},
		{URL: "https://x/", AuthHeader: "X-Key: a\r\nEvil: b"},
	} {
		if _, err := notify.NewSMSGateway(bad); err == nil {
			t.Errorf("NewSMSGateway(%+v) accepted", bad)
		}
	}
}
