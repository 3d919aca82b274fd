package api_test

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestAPIAuthentication: every way of not being an active sender with a
// certificate from the sender CA is 401, and stores nothing.
func TestAPIAuthentication(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	good := e.AddSender("Skatteforvaltningen", "19552101")

	// A certificate from the right CA that no sender is bound to.
	unbound, _ := e.CertClient(e.CA, "Nobody", "12345674")
	// No client certificate at all.
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	// A sender whose certificate is bound and then revoked.
	revoked := e.AddSender("Old Utility", "87654303")
	if r := e.Deliver(revoked.Client, uitest.ValidDelivery("before-revocation")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery before revocation: %d %s", r.StatusCode, r.Text)
	}
	if err := e.Store.RevokeSender(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	before := e.Deliveries()

	for _, tc := range []struct {
		name   string
		client *http.Client
		base   string
	}{
		{"no certificate", anonymous, e.HTTPSURL},
		{"plain HTTP", e.Client(nil), e.HTTPURL},
		{"unbound certificate", unbound, e.HTTPSURL},
		{"revoked sender", revoked.Client, e.HTTPSURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := uitest.MultipartBody(uitest.ValidDelivery("auth-" + tc.name)...)
			req, _ := http.NewRequest(http.MethodPost, tc.base+"/api/v1/messages", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			uitest.WantProblem(t, e.Do(tc.client, req), http.StatusUnauthorized, "UNAUTHENTICATED")
			for _, path := range []string{"/api/v1/recipients/" + uitest.NIDAnna, "/api/v1/receipt-key", "/api/v1/messages/00000000000000000000000000000000"} {
				uitest.WantProblem(t, e.Get(tc.client, tc.base+path), http.StatusUnauthorized, "UNAUTHENTICATED")
			}
		})
	}

	// A certificate from another CA fails the TLS handshake.
	otherCA, err := crypto.NewCA(cryptorand.Reader, "Some other CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	foreign, foreignCert := e.CertClient(otherCA, "Impostor", "11223346")
	if resp, err := foreign.Get(e.HTTPSURL + "/api/v1/receipt-key"); err == nil {
		resp.Body.Close()
		t.Fatalf("a certificate from another CA was accepted: %d", resp.StatusCode)
	}
	// An expired certificate from the right CA, bound to a sender, fails
	// the handshake as well.
	certPEM, keyPEM, expiredCert, err := e.CA.IssueClient(cryptorand.Reader, "Expired", "55667799", time.Now().Add(-3*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expiredSender, err := e.Store.AddSender(context.Background(), "Expired", "55667799", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.BindCertificate(context.Background(), expiredSender.ID, expiredCert); err != nil {
		t.Fatal(err)
	}
	expiredPair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	expired := e.Client(&tls.Config{RootCAs: e.CA.Pool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &expiredPair, nil }})
	if resp, err := expired.Get(e.HTTPSURL + "/api/v1/receipt-key"); err == nil {
		resp.Body.Close()
		t.Fatalf("an expired certificate was accepted: %d", resp.StatusCode)
	}

	// A client that sends a certificate only when it chains to a CA the
	// server names (Go's, given Certificates) sends none: 401.
	certPEM, keyPEM, _, err = otherCA.IssueClient(cryptorand.Reader, "Impostor", "11223346", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	picky := e.Client(&tls.Config{RootCAs: e.CA.Pool(), Certificates: []tls.Certificate{pair}})
	uitest.WantProblem(t, e.Get(picky, e.HTTPSURL+"/api/v1/receipt-key"), http.StatusUnauthorized, "UNAUTHENTICATED")

	// And if a listener does not verify client certificates (not the
	// TLSConfig of package httpui), a foreign certificate — even one bound
	// to a sender — has no verified chain and is refused by the handler.
	impostor, err := e.Store.AddSender(context.Background(), "Impostor", "11223346", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.BindCertificate(context.Background(), impostor.ID, foreignCert); err != nil {
		t.Fatal(err)
	}
	lax := httpui.TLSConfig(e.ServerCert(), nil)
	lax.ClientAuth = tls.RequireAnyClientCert
	laxURL := "https://" + uitest.Serve(t, e.Handler, lax)
	ct, body := uitest.MultipartBody(uitest.ValidDelivery("foreign")...)
	req, _ := http.NewRequest(http.MethodPost, laxURL+"/api/v1/messages", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	uitest.WantProblem(t, e.Do(foreign, req), http.StatusUnauthorized, "UNAUTHENTICATED")

	if n := e.Deliveries(); n != before {
		t.Fatalf("%d letters stored by refused requests", n-before)
	}
	// The good sender still delivers.
	if r := e.Deliver(good.Client, uitest.ValidDelivery("good")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("good sender: %d %s", r.StatusCode, r.Text)
	}
}

// TestDeliverRefused: malformed and refused deliveries give the right
// problem, and nothing is stored.
func TestDeliverRefused(t *testing.T) {
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
	big := append(append([]byte{}, uitest.PDFDoc...), bytes.Repeat([]byte("x"), 4<<10)...)
	third := append(append([]byte{}, uitest.PDFDoc...), bytes.Repeat([]byte("x"), 3<<10)...)
	validCT, validBody := uitest.MultipartBody(msg(nil), pdf)

	tests := []struct {
		name        string
		contentType string // with body: a raw request
		body        []byte
		parts       []uitest.Part
		status      int
		code        string
		detail      string // in the problem's detail
	}{
		{name: "not multipart", contentType: "application/json", body: []byte(`{"subject":"x"}`),
			status: 400, code: "INVALID_REQUEST", detail: "multipart/form-data"},
		{name: "no boundary", contentType: "multipart/form-data", body: validBody,
			status: 400, code: "INVALID_REQUEST", detail: "boundary"},
		{name: "wrong boundary", contentType: "multipart/form-data; boundary=nope", body: validBody,
			status: 400, code: "INVALID_REQUEST", detail: "body"},
		{name: "truncated multipart", contentType: validCT, body: validBody[:len(validBody)-20],
			status: 400, code: "INVALID_REQUEST", detail: "document[0]"},
		{name: "missing message", parts: []uitest.Part{pdf},
			status: 400, code: "INVALID_REQUEST", detail: "message"},
		{name: "two messages", parts: []uitest.Part{msg(nil), msg(nil), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "message"},
		{name: "bad JSON", parts: []uitest.Part{{Name: "message", ContentType: "application/json", Body: []byte(`{"subject": `)}, pdf},
			status: 400, code: "INVALID_REQUEST", detail: "message"},
		{name: "two JSON values", parts: []uitest.Part{{Name: "message", ContentType: "application/json", Body: []byte(`{} {}`)}, pdf},
			status: 400, code: "INVALID_REQUEST", detail: "message"},
		{name: "wrong JSON type", parts: []uitest.Part{msg(func(m map[string]any) { m["subject"] = 42 }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "subject"},
		{name: "wrong nested type", parts: []uitest.Part{msg(func(m map[string]any) { m["recipient"] = map[string]any{"nationalId": 101701234} }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "recipient.nationalId"},
		{name: "message not JSON", parts: []uitest.Part{{Name: "message", ContentType: "application/xml", Body: []byte(`<x/>`)}, pdf},
			status: 400, code: "INVALID_REQUEST", detail: "message"},
		{name: "unknown part", parts: []uitest.Part{msg(nil), pdf, {Name: "attachment", Filename: "x.pdf", Body: uitest.PDFDoc}},
			status: 400, code: "INVALID_REQUEST", detail: "attachment"},
		{name: "no documents", parts: []uitest.Part{msg(nil)},
			status: 400, code: "INVALID_REQUEST", detail: "document"},
		{name: "too many documents", parts: []uitest.Part{msg(nil), pdf, pdf, pdf, pdf},
			status: 400, code: "INVALID_REQUEST", detail: "at most 3 documents"},
		{name: "missing subject", parts: []uitest.Part{msg(func(m map[string]any) { delete(m, "subject") }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "subject"},
		{name: "missing reference", parts: []uitest.Part{msg(func(m map[string]any) { m["senderReference"] = "" }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "senderReference"},
		{name: "bad type", parts: []uitest.Part{msg(func(m map[string]any) { m["type"] = "advert" }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "type"},
		{name: "bad due date", parts: []uitest.Part{msg(func(m map[string]any) { m["dueDate"] = "31/01/2027" }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "dueDate"},
		{name: "missing file name", parts: []uitest.Part{msg(nil), {Name: "document", ContentType: "application/pdf", Body: uitest.PDFDoc}},
			status: 400, code: "INVALID_REQUEST", detail: "document[0]"},
		{name: "invalid national id", parts: []uitest.Part{msg(func(m map[string]any) { m["recipient"] = map[string]any{"nationalId": "3213701234"} }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "recipient.nationalId"},
		{name: "missing national id", parts: []uitest.Part{msg(func(m map[string]any) { delete(m, "recipient") }), pdf},
			status: 400, code: "INVALID_REQUEST", detail: "recipient.nationalId"},
		{name: "unknown recipient", parts: []uitest.Part{msg(func(m map[string]any) { m["recipient"] = map[string]any{"nationalId": uitest.NIDNobody} }), pdf},
			status: 404, code: "UNKNOWN_RECIPIENT"},
		{name: "document over the limit", parts: []uitest.Part{msg(nil), uitest.DocumentPart("big.pdf", "application/pdf", big)},
			status: 413, code: "DOCUMENT_TOO_LARGE", detail: "document[0]"},
		{name: "letter over the limit", parts: []uitest.Part{msg(nil), uitest.DocumentPart("1.pdf", "application/pdf", third),
			uitest.DocumentPart("2.pdf", "application/pdf", third), uitest.DocumentPart("3.pdf", "application/pdf", third)},
			status: 413, code: "DOCUMENT_TOO_LARGE", detail: "together"},
		{name: "declared PDF, content PNG", parts: []uitest.Part{msg(nil), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PNGDoc)},
			status: 415, code: "UNSUPPORTED_DOCUMENT_TYPE", detail: "image/png"},
		{name: "declared PDF, content text", parts: []uitest.Part{msg(nil), uitest.DocumentPart("a.pdf", "application/pdf", uitest.TextDoc)},
			status: 415, code: "UNSUPPORTED_DOCUMENT_TYPE", detail: "text/plain"},
		{name: "declared PNG, content PDF", parts: []uitest.Part{msg(nil), uitest.DocumentPart("a.png", "image/png", uitest.PDFDoc)},
			status: 415, code: "UNSUPPORTED_DOCUMENT_TYPE", detail: "document[0]"},
		{name: "unsupported type", parts: []uitest.Part{msg(nil), uitest.DocumentPart("a.zip", "application/zip", []byte("PK\x03\x04"))},
			status: 415, code: "UNSUPPORTED_DOCUMENT_TYPE", detail: "application/zip"},
		{name: "no content type", parts: []uitest.Part{msg(nil), uitest.DocumentPart("a.pdf", "", uitest.PDFDoc)},
			status: 415, code: "UNSUPPORTED_DOCUMENT_TYPE"},
		{name: "second document bad", parts: []uitest.Part{msg(nil), pdf, uitest.DocumentPart("b.txt", "text/plain", []byte("\x00\x01binary"))},
			status: 415, code: "UNSUPPORTED_DOCUMENT_TYPE", detail: "document[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *uitest.Response
			if tc.body != nil {
				r = e.DeliverRaw(s.Client, tc.contentType, tc.body)
			} else {
				r = e.Deliver(s.Client, tc.parts...)
			}
			p := uitest.WantProblem(t, r, tc.status, tc.code)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not name %q", p.Detail, tc.detail)
			}
			// The message part may come after the documents (they are
			// sealed as they arrive): the same refusal.
			if last, moved := messageLast(tc.parts); moved {
				p := uitest.WantProblem(t, e.Deliver(s.Client, last...), tc.status, tc.code)
				if !strings.Contains(p.Detail, tc.detail) {
					t.Errorf("message last: detail %q does not name %q", p.Detail, tc.detail)
				}
			}
		})
	}
	if n := e.Deliveries(); n != 0 {
		t.Fatalf("%d letters stored by refused deliveries", n)
	}
	// The valid request itself is taken.
	if r := e.DeliverRaw(s.Client, validCT, validBody); r.StatusCode != http.StatusCreated {
		t.Fatalf("valid delivery: %d %s", r.StatusCode, r.Text)
	}
}

// TestDeliverIdempotent: the senderReference is the idempotency key.
func TestDeliverIdempotent(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Region Midtjylland", "29190925")

	first := e.Deliver(s.Client, uitest.ValidDelivery("ref-42")...)
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("first: %d %s", first.StatusCode, first.Text)
	}
	again := e.Deliver(s.Client, uitest.ValidDelivery("ref-42")...)
	if again.StatusCode != http.StatusOK || again.Text != first.Text {
		t.Fatalf("repeat: %d %s\nfirst: %s", again.StatusCode, again.Text, first.Text)
	}
	if again.Header.Get("Location") != first.Header.Get("Location") {
		t.Errorf("repeat Location %q, first %q", again.Header.Get("Location"), first.Header.Get("Location"))
	}
	changed := []uitest.Part{
		uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Your tax assessment (corrected)", "ref-42")),
		uitest.DocumentPart("assessment.pdf", "application/pdf", uitest.PDFDoc),
	}
	p := uitest.WantProblem(t, e.Deliver(s.Client, changed...), http.StatusConflict, "DUPLICATE_REFERENCE")
	if !strings.Contains(p.Detail, "ref-42") {
		t.Errorf("detail %q", p.Detail)
	}
	// Another sender may use the same reference.
	if r := e.Deliver(other.Client, uitest.ValidDelivery("ref-42")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("other sender: %d %s", r.StatusCode, r.Text)
	}
	if n := e.Deliveries(); n != 2 {
		t.Fatalf("%d letters stored, want 2", n)
	}
}

// TestAPIStatus: a sender sees its own letters only.
func TestAPIStatus(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Region Midtjylland", "29190925")
	r := e.Deliver(s.Client, uitest.ValidDelivery("ref-1")...)
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID

	own := e.Get(s.Client, e.HTTPSURL+"/api/v1/messages/"+id)
	if own.StatusCode != http.StatusOK || !strings.Contains(own.Text, `"id":"`+id+`"`) || !strings.Contains(own.Text, `"readAt":null`) {
		t.Fatalf("own status: %d %s", own.StatusCode, own.Text)
	}
	for _, tc := range []struct {
		name string
		c    *http.Client
		id   string
	}{
		{"another sender's letter", other.Client, id},
		{"no such letter", s.Client, strings.Repeat("0", 32)},
		{"not an id", s.Client, "not-an-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uitest.WantProblem(t, e.Get(tc.c, e.HTTPSURL+"/api/v1/messages/"+tc.id), http.StatusNotFound, "NOT_FOUND")
		})
	}
}

// TestAPIRecipient: the lookup says whether a person takes digital post.
func TestAPIRecipient(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	for _, tc := range []struct {
		nid    string
		status int
		body   string
		code   string
	}{
		{uitest.NIDAnna, 200, `{"nationalId":"0101701234","digital":true}`, ""},
		{"010170-1234", 200, `{"nationalId":"0101701234","digital":true}`, ""},
		{uitest.NIDNobody, 200, `{"nationalId":"0303903456","digital":false}`, ""},
		{"3213701234", 400, "", "INVALID_REQUEST"},
		{"12345", 400, "", "INVALID_REQUEST"},
		{"0101701234x", 400, "", "INVALID_REQUEST"},
	} {
		t.Run(tc.nid, func(t *testing.T) {
			r := e.Get(s.Client, e.HTTPSURL+"/api/v1/recipients/"+tc.nid)
			if tc.code != "" {
				p := uitest.WantProblem(t, r, tc.status, tc.code)
				if !strings.Contains(p.Detail, "nationalId") {
					t.Errorf("detail %q", p.Detail)
				}
				return
			}
			if r.StatusCode != tc.status || strings.TrimSpace(r.Text) != tc.body {
				t.Fatalf("%d %s, want %s", r.StatusCode, r.Text, tc.body)
			}
		})
	}
}

// TestAPIRoutes: unknown API routes and methods are problems, not pages.
func TestAPIRoutes(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	s := e.AddSender("Aarhus Kommune", "55133018")
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/nothing", 404, "NOT_FOUND"},
		{"GET", "/api/v2/messages", 404, "NOT_FOUND"},
		{"GET", "/api/v1/messages", 405, "METHOD_NOT_ALLOWED"},
		{"PUT", "/api/v1/messages/" + strings.Repeat("a", 32), 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", "/api/v1/messages/" + strings.Repeat("a", 32), 404, "NOT_FOUND"},
		{"POST", "/api/v1/receipt-key", 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/api/v1/events", 405, "METHOD_NOT_ALLOWED"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.HTTPSURL+tc.path, nil)
			uitest.WantProblem(t, e.Do(s.Client, req), tc.status, tc.code)
		})
	}
}

// TestAPIRateLimit: a sender over its token bucket gets 429 with
// Retry-After, and is served again when the bucket refills.
func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{APIRate: 1, APIBurst: 2})
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Region Midtjylland", "29190925")
	u := e.HTTPSURL + "/api/v1/receipt-key"
	for i := range 2 {
		if r := e.Get(s.Client, u); r.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	r := e.Get(s.Client, u)
	uitest.WantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	if ra := r.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q", ra)
	}
	// Each sender has its own bucket.
	if r := e.Get(other.Client, u); r.StatusCode != http.StatusOK {
		t.Fatalf("other sender: %d", r.StatusCode)
	}
	e.Clock.Advance(time.Second)
	if r := e.Get(s.Client, u); r.StatusCode != http.StatusOK {
		t.Fatalf("after a second: %d", r.StatusCode)
	}
}

// TestSenderOwnRate: a sender's own rate (store.SetSenderRate) is its
// bucket from its next request on, whatever the default; another
// sender keeps the default; going back to the default gives the default
// bucket again.
func TestSenderOwnRate(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{APIRate: 1, APIBurst: 2})
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Region Midtjylland", "29190925")
	ctx := context.Background()
	if _, err := e.Store.SetSenderRate(ctx, s.ID, 1, 5); err != nil {
		t.Fatal(err)
	}
	u := e.HTTPSURL + "/api/v1/receipt-key"
	// served asks n times, all answered, then once more, refused.
	served := func(c *http.Client, n int, what string) {
		t.Helper()
		for i := range n {
			if r := e.Get(c, u); r.StatusCode != http.StatusOK {
				t.Fatalf("%s: request %d: %d", what, i, r.StatusCode)
			}
		}
		uitest.WantProblem(t, e.Get(c, u), http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	}
	served(s.Client, 5, "within its own burst of 5")
	// The other sender has the default burst of 2, not the first one's.
	served(other.Client, 2, "other sender's request")

	// A sustained rate of its own: 10 a second refills 10 in a second.
	if _, err := e.Store.SetSenderRate(ctx, s.ID, 10, 10); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Second)
	served(s.Client, 10, "at 10 a second")

	// Back to the default: 1 a second, at most 2.
	if _, err := e.Store.SetSenderRate(ctx, s.ID, 0, 0); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(10 * time.Second)
	served(s.Client, 2, "at the default")
}
