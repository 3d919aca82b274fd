package uitest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// ServerCert issues the HTTPS listener's certificate for 127.0.0.1.
func (e *Env) ServerCert() func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := e.CA.IssueServer(rand.Reader, []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		e.T.Fatal(err)
	}
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
}

// Serve runs h on a new loopback listener (with TLS when cfg is set) until
// the test ends, and returns its address.
func Serve(t testing.TB, h http.Handler, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Refused handshakes are expected in some tests.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		var err error
		if cfg != nil {
			srv.TLSConfig = cfg
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// AddResident enrols a resident with the test password.
func (e *Env) AddResident(nid, name string) store.Resident {
	e.T.Helper()
	n, err := store.ParseNationalID(nid)
	if err != nil {
		e.T.Fatal(err)
	}
	r, _, err := e.Store.AddResident(context.Background(), n, name, Password)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// Sender is a registered sender with an HTTPS client that presents its
// Client certificate.
type Sender struct {
	store.Sender
	Client *http.Client
	Cert   *x509.Certificate
}

// AddSender registers a sender and binds a client certificate issued by
// the environment's CA.
func (e *Env) AddSender(name, org string) *Sender {
	e.T.Helper()
	s, err := e.Store.AddSender(context.Background(), name, org, store.SenderPublic)
	if err != nil {
		e.T.Fatal(err)
	}
	client, cert := e.CertClient(e.CA, name, org)
	if err := e.Store.BindCertificate(context.Background(), s.ID, cert); err != nil {
		e.T.Fatal(err)
	}
	return &Sender{Sender: s, Client: client, Cert: cert}
}

// AddReplyKey registers a fresh X25519 reply key for the sender (as the
// operator would), so that its letters may allow replies, and returns its
// private key, which opens the sender's replies.
func (e *Env) AddReplyKey(s *Sender) *crypto.PrivateKey {
	e.T.Helper()
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		e.T.Fatal(err)
	}
	priv, err := crypto.NewReplyPrivateKey(k.RawX25519())
	if err != nil {
		e.T.Fatal(err)
	}
	pub := priv.Public()
	if err := e.Store.SetSenderReplyKey(context.Background(), s.ID, pub[:], false); err != nil {
		e.T.Fatal(err)
	}
	return priv
}

// CertClient returns an HTTPS client that trusts the environment's CA and
// presents a client certificate issued by ca (issueClient, for an hour).
func (e *Env) CertClient(ca *crypto.CA, name, org string) (*http.Client, *x509.Certificate) {
	e.T.Helper()
	certPEM, keyPEM, cert := e.IssueClient(ca, name, org, time.Hour)
	return e.PairClient(certPEM, keyPEM), cert
}

// IssueClient issues a client certificate from ca that is valid both at
// the real time, which the TLS handshake checks, and at the server's
// clock (e.Clock, a fixed day), which the API checks on every request:
// from the earlier of the two until validity after the later.
func (e *Env) IssueClient(ca *crypto.CA, name, org string, validity time.Duration) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	e.T.Helper()
	from, to := time.Now(), e.Clock.Now()
	if to.Before(from) {
		from, to = to, from
	}
	certPEM, keyPEM, cert, err := ca.IssueClient(rand.Reader, name, org, from, to.Sub(from)+validity)
	if err != nil {
		e.T.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

// PairClient returns an HTTPS client that trusts the environment's CA and
// presents the client certificate certPEM with its key.
func (e *Env) PairClient(certPEM, keyPEM []byte) *http.Client {
	e.T.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		e.T.Fatal(err)
	}
	// Present the certificate whatever CAs the server asks for, as curl
	// and most TLS stacks do. (Go's client, given Certificates, would
	// quietly send none that the server's CA list does not name.)
	return e.Client(&tls.Config{
		RootCAs:              e.CA.Pool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil },
	})
}

// Client returns an HTTP client with its own connections and no redirects
// followed.
func (e *Env) Client(cfg *tls.Config) *http.Client {
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	e.T.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Browser returns a client with a cookie jar that trusts the HTTPS
// listener and presents no client certificate, like a resident's browser.
func (e *Env) Browser() *http.Client {
	c := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.T.Fatal(err)
	}
	c.Jar = jar
	return c
}

// Login signs a resident in with c at base (the HTTP or HTTPS URL).
func (e *Env) Login(c *http.Client, base, nid string) {
	e.T.Helper()
	resp := e.PostForm(c, base+"/login", url.Values{"nationalId": {nid}, "password": {Password}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		e.T.Fatalf("login %s: %d %s; want 303 to /", nid, resp.StatusCode, resp.Text)
	}
}

// Response is an HTTP response with its body read.
type Response struct {
	*http.Response
	Text string // the body
}

// Do sends req with c and reads the whole answer.
func (e *Env) Do(c *http.Client, req *http.Request) *Response {
	e.T.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Response{Response: resp, Text: string(b)}
}

// Get fetches u with c.
func (e *Env) Get(c *http.Client, u string) *Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.T.Fatal(err)
	}
	return e.Do(c, req)
}

// PostForm posts form to u with c, with the extra header.
func (e *Env) PostForm(c *http.Client, u string, form url.Values, header http.Header) *Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

// Deliver posts a multipart delivery with c.
func (e *Env) Deliver(c *http.Client, parts ...Part) *Response {
	e.T.Helper()
	ct, body := MultipartBody(parts...)
	return e.DeliverRaw(c, ct, body)
}

// DeliverRaw posts body as a delivery of contentType with c.
func (e *Env) DeliverRaw(c *http.Client, contentType string, body []byte) *Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/messages", bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return e.Do(c, req)
}

// Deliveries counts the letters the store holds, from its audit log: every
// delivery appends one "deliver" entry in its own transaction.
func (e *Env) Deliveries() int {
	e.T.Helper()
	entries, err := e.Store.AuditLog(context.Background())
	if err != nil {
		e.T.Fatal(err)
	}
	n := 0
	for _, a := range entries {
		if a.Action == "deliver" {
			n++
		}
	}
	return n
}

// AuditCount counts audit entries with the given action.
func (e *Env) AuditCount(action string) int {
	e.T.Helper()
	entries, err := e.Store.AuditLog(context.Background())
	if err != nil {
		e.T.Fatal(err)
	}
	n := 0
	for _, a := range entries {
		if a.Action == action {
			n++
		}
	}
	return n
}

// ProblemOf decodes a problem response and checks its media type and
// members.
func ProblemOf(t *testing.T, r *Response) web.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.Text)
	}
	var p web.Problem
	if err := json.Unmarshal([]byte(r.Text), &p); err != nil {
		t.Fatalf("problem %q: %v", r.Text, err)
	}
	if p.Type != "about:blank" || p.Status != r.StatusCode || p.Title == "" || p.Code == "" {
		t.Fatalf("problem %+v with status %d: missing members", p, r.StatusCode)
	}
	return p
}

// WantProblem checks a response is the problem with status and code.
func WantProblem(t *testing.T, r *Response, status int, code string) web.Problem {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", r.StatusCode, status, r.Text)
	}
	p := ProblemOf(t, r)
	if p.Code != code {
		t.Fatalf("code %q, want %q (detail %q)", p.Code, code, p.Detail)
	}
	return p
}

// DecodeJSON decodes a JSON response body.
func DecodeJSON[T any](t *testing.T, r *Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Text), &v); err != nil {
		t.Fatalf("decode %q: %v", r.Text, err)
	}
	return v
}

// Catalogue is the message catalogue, for tests that look a message up
// rather than repeat it.
var Catalogue = func() *i18n.Catalogue {
	c, err := i18n.Load(assets.FS(), "")
	if err != nil {
		panic(err)
	}
	return c
}()

// English is the catalogue in English, the language of the tests' pages
// when they ask for none, for tests that look a message up rather than
// repeat it.
var English = Catalogue.Lang("en")

// gunzipFile writes the gzipped file src, uncompressed, to dst.
func gunzipFile(t testing.TB, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Enrol enrols a resident the operator's way (pending, no keys) and
// returns the activation code.
func (e *Env) Enrol(nid, name string) string {
	e.T.Helper()
	n, err := store.ParseNationalID(nid)
	if err != nil {
		e.T.Fatal(err)
	}
	_, code, err := e.Store.EnrolResident(context.Background(), n, name)
	if err != nil {
		e.T.Fatal(err)
	}
	return code
}

// ResetCode issues a reset code for an active resident the operator's
// way (`postkasse resident reset-code`) and returns it.
func (e *Env) ResetCode(nid string) string {
	e.T.Helper()
	n, err := store.ParseNationalID(nid)
	if err != nil {
		e.T.Fatal(err)
	}
	rc, err := e.Store.IssueResetCode(context.Background(), n)
	if err != nil {
		e.T.Fatal(err)
	}
	return rc.Code
}

// Reset is the form of /reset, confirmed.
func Reset(nid, code, pw string) url.Values {
	return url.Values{"nationalId": {nid}, "code": {code}, "password": {pw}, "passwordConfirm": {pw}, "confirm": {"yes"}}
}

// Activation is the form of /activate.
func Activation(nid, code, pw, confirm string) url.Values {
	return url.Values{"nationalId": {nid}, "code": {code}, "password": {pw}, "passwordConfirm": {confirm}}
}

// StaticURL is the URL of a static file (its name and content hash), as
// the pages link it: read from the login page's <link>.
func (e *Env) StaticURL(name string) string {
	e.T.Helper()
	page := e.Get(e.Client(nil), e.HTTPURL+"/login")
	m := regexp.MustCompile(`href="(/static/[0-9a-f]+/` + regexp.QuoteMeta(name) + `)"`).FindStringSubmatch(page.Text)
	if m == nil {
		e.T.Fatalf("the login page links no %s", name)
	}
	return m[1]
}
