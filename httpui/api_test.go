package httpui

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
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// validDelivery is a complete delivery to Anna.
func validDelivery(ref string) []uitest.Part {
	return []uitest.Part{
		uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Your tax assessment", ref)),
		uitest.DocumentPart("assessment.pdf", "application/pdf", uitest.PDFDoc),
	}
}

// TestAPIAuthentication: every way of not being an active sender with a
// certificate from the sender CA is 401, and stores nothing.
func TestAPIAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	good := e.addSender("Skatteforvaltningen", "19552101")

	// A certificate from the right CA that no sender is bound to.
	unbound, _ := e.certClient(e.ca, "Nobody", "12345678")
	// No client certificate at all.
	anonymous := e.client(&tls.Config{RootCAs: e.ca.Pool()})
	// A sender whose certificate is bound and then revoked.
	revoked := e.addSender("Old Utility", "87654321")
	if r := e.deliver(revoked.client, validDelivery("before-revocation")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery before revocation: %d %s", r.StatusCode, r.body)
	}
	if err := e.store.RevokeSender(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	before := e.deliveries()

	for _, tc := range []struct {
		name   string
		client *http.Client
		base   string
	}{
		{"no certificate", anonymous, e.httpsURL},
		{"plain HTTP", e.client(nil), e.httpURL},
		{"unbound certificate", unbound, e.httpsURL},
		{"revoked sender", revoked.client, e.httpsURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := uitest.MultipartBody(validDelivery("auth-" + tc.name)...)
			req, _ := http.NewRequest(http.MethodPost, tc.base+"/api/v1/messages", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			wantProblem(t, e.do(tc.client, req), http.StatusUnauthorized, "UNAUTHENTICATED")
			for _, path := range []string{"/api/v1/recipients/" + uitest.NIDAnna, "/api/v1/receipt-key", "/api/v1/messages/00000000000000000000000000000000"} {
				wantProblem(t, e.get(tc.client, tc.base+path), http.StatusUnauthorized, "UNAUTHENTICATED")
			}
		})
	}

	// A certificate from another CA fails the TLS handshake.
	otherCA, err := crypto.NewCA(cryptorand.Reader, "Some other CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	foreign, foreignCert := e.certClient(otherCA, "Impostor", "11223344")
	if resp, err := foreign.Get(e.httpsURL + "/api/v1/receipt-key"); err == nil {
		resp.Body.Close()
		t.Fatalf("a certificate from another CA was accepted: %d", resp.StatusCode)
	}
	// An expired certificate from the right CA, bound to a sender, fails
	// the handshake as well.
	certPEM, keyPEM, expiredCert, err := e.ca.IssueClient(cryptorand.Reader, "Expired", "55667788", time.Now().Add(-3*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expiredSender, err := e.store.AddSender(context.Background(), "Expired", "55667788", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.BindCertificate(context.Background(), expiredSender.ID, expiredCert); err != nil {
		t.Fatal(err)
	}
	expiredPair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	expired := e.client(&tls.Config{RootCAs: e.ca.Pool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &expiredPair, nil }})
	if resp, err := expired.Get(e.httpsURL + "/api/v1/receipt-key"); err == nil {
		resp.Body.Close()
		t.Fatalf("an expired certificate was accepted: %d", resp.StatusCode)
	}

	// A client that sends a certificate only when it chains to a CA the
	// server names (Go's, given Certificates) sends none: 401.
	certPEM, keyPEM, _, err = otherCA.IssueClient(cryptorand.Reader, "Impostor", "11223344", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	picky := e.client(&tls.Config{RootCAs: e.ca.Pool(), Certificates: []tls.Certificate{pair}})
	wantProblem(t, e.get(picky, e.httpsURL+"/api/v1/receipt-key"), http.StatusUnauthorized, "UNAUTHENTICATED")

	// And if a listener does not verify client certificates (not the
	// TLSConfig of this package), a foreign certificate — even one bound
	// to a sender — has no verified chain and is refused by the handler.
	impostor, err := e.store.AddSender(context.Background(), "Impostor", "11223344", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.BindCertificate(context.Background(), impostor.ID, foreignCert); err != nil {
		t.Fatal(err)
	}
	lax := TLSConfig(e.serverCert(), nil)
	lax.ClientAuth = tls.RequireAnyClientCert
	laxURL := "https://" + serve(t, e.server.Handler(), lax)
	ct, body := uitest.MultipartBody(validDelivery("foreign")...)
	req, _ := http.NewRequest(http.MethodPost, laxURL+"/api/v1/messages", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	wantProblem(t, e.do(foreign, req), http.StatusUnauthorized, "UNAUTHENTICATED")

	if n := e.deliveries(); n != before {
		t.Fatalf("%d letters stored by refused requests", n-before)
	}
	// The good sender still delivers.
	if r := e.deliver(good.client, validDelivery("good")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("good sender: %d %s", r.StatusCode, r.body)
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
	e := newEnv(t, envOptions{limits: limits})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	s := e.addSender("Aarhus Kommune", "55133018")

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
			var r *response
			if tc.body != nil {
				r = e.deliverRaw(s.client, tc.contentType, tc.body)
			} else {
				r = e.deliver(s.client, tc.parts...)
			}
			p := wantProblem(t, r, tc.status, tc.code)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not name %q", p.Detail, tc.detail)
			}
		})
	}
	if n := e.deliveries(); n != 0 {
		t.Fatalf("%d letters stored by refused deliveries", n)
	}
	// The valid request itself is taken.
	if r := e.deliverRaw(s.client, validCT, validBody); r.StatusCode != http.StatusCreated {
		t.Fatalf("valid delivery: %d %s", r.StatusCode, r.body)
	}
}

// TestDeliverIdempotent: the senderReference is the idempotency key.
func TestDeliverIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	s := e.addSender("Aarhus Kommune", "55133018")
	other := e.addSender("Region Midtjylland", "29190925")

	first := e.deliver(s.client, validDelivery("ref-42")...)
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("first: %d %s", first.StatusCode, first.body)
	}
	again := e.deliver(s.client, validDelivery("ref-42")...)
	if again.StatusCode != http.StatusOK || again.body != first.body {
		t.Fatalf("repeat: %d %s\nfirst: %s", again.StatusCode, again.body, first.body)
	}
	if again.Header.Get("Location") != first.Header.Get("Location") {
		t.Errorf("repeat Location %q, first %q", again.Header.Get("Location"), first.Header.Get("Location"))
	}
	changed := []uitest.Part{
		uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Your tax assessment (corrected)", "ref-42")),
		uitest.DocumentPart("assessment.pdf", "application/pdf", uitest.PDFDoc),
	}
	p := wantProblem(t, e.deliver(s.client, changed...), http.StatusConflict, "DUPLICATE_REFERENCE")
	if !strings.Contains(p.Detail, "ref-42") {
		t.Errorf("detail %q", p.Detail)
	}
	// Another sender may use the same reference.
	if r := e.deliver(other.client, validDelivery("ref-42")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("other sender: %d %s", r.StatusCode, r.body)
	}
	if n := e.deliveries(); n != 2 {
		t.Fatalf("%d letters stored, want 2", n)
	}
}

// TestAPIStatus: a sender sees its own letters only.
func TestAPIStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	s := e.addSender("Aarhus Kommune", "55133018")
	other := e.addSender("Region Midtjylland", "29190925")
	r := e.deliver(s.client, validDelivery("ref-1")...)
	id := decodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID

	own := e.get(s.client, e.httpsURL+"/api/v1/messages/"+id)
	if own.StatusCode != http.StatusOK || !strings.Contains(own.body, `"id":"`+id+`"`) || !strings.Contains(own.body, `"readAt":null`) {
		t.Fatalf("own status: %d %s", own.StatusCode, own.body)
	}
	for _, tc := range []struct {
		name string
		c    *http.Client
		id   string
	}{
		{"another sender's letter", other.client, id},
		{"no such letter", s.client, strings.Repeat("0", 32)},
		{"not an id", s.client, "not-an-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, e.get(tc.c, e.httpsURL+"/api/v1/messages/"+tc.id), http.StatusNotFound, "NOT_FOUND")
		})
	}
}

// TestAPIRecipient: the lookup says whether a person takes digital post.
func TestAPIRecipient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	s := e.addSender("Aarhus Kommune", "55133018")
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
			r := e.get(s.client, e.httpsURL+"/api/v1/recipients/"+tc.nid)
			if tc.code != "" {
				p := wantProblem(t, r, tc.status, tc.code)
				if !strings.Contains(p.Detail, "nationalId") {
					t.Errorf("detail %q", p.Detail)
				}
				return
			}
			if r.StatusCode != tc.status || strings.TrimSpace(r.body) != tc.body {
				t.Fatalf("%d %s, want %s", r.StatusCode, r.body, tc.body)
			}
		})
	}
}

// TestAPIRoutes: unknown API routes and methods are problems, not pages.
func TestAPIRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	s := e.addSender("Aarhus Kommune", "55133018")
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/nothing", 404, "NOT_FOUND"},
		{"GET", "/api/v2/messages", 404, "NOT_FOUND"},
		{"GET", "/api/v1/messages", 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", "/api/v1/messages/" + strings.Repeat("a", 32), 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/api/v1/receipt-key", 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/api/v1/events", 405, "METHOD_NOT_ALLOWED"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.httpsURL+tc.path, nil)
			wantProblem(t, e.do(s.client, req), tc.status, tc.code)
		})
	}
}

// TestAPIRateLimit: a sender over its token bucket gets 429 with
// Retry-After, and is served again when the bucket refills.
func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{apiRate: 1, apiBurst: 2})
	s := e.addSender("Aarhus Kommune", "55133018")
	other := e.addSender("Region Midtjylland", "29190925")
	u := e.httpsURL + "/api/v1/receipt-key"
	for i := range 2 {
		if r := e.get(s.client, u); r.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	r := e.get(s.client, u)
	wantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	if ra := r.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q", ra)
	}
	// Each sender has its own bucket.
	if r := e.get(other.client, u); r.StatusCode != http.StatusOK {
		t.Fatalf("other sender: %d", r.StatusCode)
	}
	e.clock.Advance(time.Second)
	if r := e.get(s.client, u); r.StatusCode != http.StatusOK {
		t.Fatalf("after a second: %d", r.StatusCode)
	}
}

// TestAPIRateDefaults: zero in Config is the documented default bucket.
func TestAPIRateDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	if l := e.server.apiLimit; l.Rate() != DefaultAPIRate || l.Burst() != DefaultAPIBurst {
		t.Fatalf("default bucket %v/s burst %v, want %v/s burst %v", l.Rate(), l.Burst(), DefaultAPIRate, DefaultAPIBurst)
	}
}
