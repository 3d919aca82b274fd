package httpui

import (
	"bytes"
	"compress/gzip"
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"

	"github.com/postkasse/postkasse/internal/testsupport"
)

// password is every test resident's password.
const password = uitest.Password

// fakeClock is a clock the tests move by hand.
type fakeClock = testsupport.Clock

func newFakeClock() *fakeClock { return testsupport.NewClock() }

type envOptions struct {
	limits     store.Limits
	throttle   ThrottleConfig
	apiRate    float64
	apiBurst   int
	storeClock func() time.Time // the store's clock (sessions); nil = real time
	retention  store.RetentionPolicy
	// maxPasswordChecks is Config.MaxPasswordChecks.
	maxPasswordChecks int
	// adjust, when set, changes the server's unexported settings before
	// it serves (test hooks).
	adjust func(*Server)
	// seed, when set, is a gzipped database file the store starts from
	// (an older schema, residents made before an upgrade).
	seed string
	// defaultLanguage is Config.DefaultLanguage.
	defaultLanguage string
}

// testEnv is a real appliance on loopback: a bbolt store in a temporary
// folder, the server on an HTTP and an HTTPS listener, and a sender CA.
type testEnv struct {
	t        *testing.T
	store    *store.Store
	server   *Server
	ca       *crypto.CA
	clock    *fakeClock
	httpURL  string
	httpsURL string
	logs     *syncBuffer
}

// syncBuffer collects the server's log lines, for tests that check what
// is (not) logged.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t *testing.T, opts envOptions) *testEnv {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "postkasse.db")
	if opts.seed != "" {
		gunzipFile(t, opts.seed, dbPath)
	}
	st, err := store.Open(dbPath, store.Options{
		KDF:       crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1},
		Limits:    opts.limits,
		Clock:     opts.storeClock,
		Retention: opts.retention,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the listeners close first, then the
	// store is checked and closed.
	t.Cleanup(func() {
		if err := st.Check(context.Background()); err != nil {
			t.Errorf("store check: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	clock := newFakeClock()
	logs := &syncBuffer{}
	srv, err := New(Config{
		Store:    st,
		Clock:    clock.Now,
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
		Throttle: opts.throttle,
		APIRate:  opts.apiRate,
		APIBurst: opts.apiBurst,

		MaxPasswordChecks: opts.maxPasswordChecks,
		DefaultLanguage:   opts.defaultLanguage,
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.adjust != nil {
		opts.adjust(srv)
	}
	ca := testsupport.NewCA(t)
	e := &testEnv{t: t, store: st, server: srv, ca: ca, clock: clock, logs: logs}
	e.httpURL = "http://" + serve(t, srv.Handler(), nil)
	e.httpsURL = "https://" + serve(t, srv.Handler(), TLSConfig(e.serverCert(), ca.Pool()))
	return e
}

// serverCert issues the HTTPS listener's certificate for 127.0.0.1.
func (e *testEnv) serverCert() func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := e.ca.IssueServer(cryptorand.Reader, []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
}

// serve runs h on a new loopback listener (with TLS when cfg is set) until
// the test ends, and returns its address.
func serve(t *testing.T, h http.Handler, cfg *tls.Config) string {
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

// addResident enrols a resident with the test password.
func (e *testEnv) addResident(nid, name string) store.Resident {
	e.t.Helper()
	n, err := store.ParseNationalID(nid)
	if err != nil {
		e.t.Fatal(err)
	}
	r, _, err := e.store.AddResident(context.Background(), n, name, password)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// testSender is a registered sender with an HTTPS client that presents its
// client certificate.
type testSender struct {
	store.Sender
	client *http.Client
	cert   *x509.Certificate
}

// addSender registers a sender and binds a client certificate issued by
// the environment's CA.
func (e *testEnv) addSender(name, org string) *testSender {
	e.t.Helper()
	s, err := e.store.AddSender(context.Background(), name, org, store.SenderPublic)
	if err != nil {
		e.t.Fatal(err)
	}
	client, cert := e.certClient(e.ca, name, org)
	if err := e.store.BindCertificate(context.Background(), s.ID, cert); err != nil {
		e.t.Fatal(err)
	}
	return &testSender{Sender: s, client: client, cert: cert}
}

// certClient returns an HTTPS client that trusts the environment's CA and
// presents a client certificate issued by ca (issueClient, for an hour).
func (e *testEnv) certClient(ca *crypto.CA, name, org string) (*http.Client, *x509.Certificate) {
	e.t.Helper()
	certPEM, keyPEM, cert := e.issueClient(ca, name, org, time.Hour)
	return e.pairClient(certPEM, keyPEM), cert
}

// issueClient issues a client certificate from ca that is valid both at
// the real time, which the TLS handshake checks, and at the server's
// clock (e.clock, a fixed day), which the API checks on every request:
// from the earlier of the two until validity after the later.
func (e *testEnv) issueClient(ca *crypto.CA, name, org string, validity time.Duration) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	e.t.Helper()
	from, to := time.Now(), e.clock.Now()
	if to.Before(from) {
		from, to = to, from
	}
	certPEM, keyPEM, cert, err := ca.IssueClient(cryptorand.Reader, name, org, from, to.Sub(from)+validity)
	if err != nil {
		e.t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

// pairClient returns an HTTPS client that trusts the environment's CA and
// presents the client certificate certPEM with its key.
func (e *testEnv) pairClient(certPEM, keyPEM []byte) *http.Client {
	e.t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		e.t.Fatal(err)
	}
	// Present the certificate whatever CAs the server asks for, as curl
	// and most TLS stacks do. (Go's client, given Certificates, would
	// quietly send none that the server's CA list does not name.)
	return e.client(&tls.Config{
		RootCAs:              e.ca.Pool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil },
	})
}

// client returns an HTTP client with its own connections and no redirects
// followed.
func (e *testEnv) client(cfg *tls.Config) *http.Client {
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// browser returns a client with a cookie jar that trusts the HTTPS
// listener and presents no client certificate, like a resident's browser.
func (e *testEnv) browser() *http.Client {
	c := e.client(&tls.Config{RootCAs: e.ca.Pool()})
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c.Jar = jar
	return c
}

// login signs a resident in with c at base (the HTTP or HTTPS URL).
func (e *testEnv) login(c *http.Client, base, nid string) {
	e.t.Helper()
	resp := e.postForm(c, base+"/login", url.Values{"nationalId": {nid}, "password": {password}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		e.t.Fatalf("login %s: %d %s; want 303 to /", nid, resp.StatusCode, resp.body)
	}
}

// response is an HTTP response with its body read.
type response struct {
	*http.Response
	body string
}

func (e *testEnv) do(c *http.Client, req *http.Request) *response {
	e.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{Response: resp, body: string(b)}
}

func (e *testEnv) get(c *http.Client, u string) *response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(c, req)
}

func (e *testEnv) postForm(c *http.Client, u string, form url.Values, header http.Header) *response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return e.do(c, req)
}

// deliver posts a multipart delivery with c.
func (e *testEnv) deliver(c *http.Client, parts ...uitest.Part) *response {
	e.t.Helper()
	ct, body := uitest.MultipartBody(parts...)
	return e.deliverRaw(c, ct, body)
}

func (e *testEnv) deliverRaw(c *http.Client, contentType string, body []byte) *response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.httpsURL+"/api/v1/messages", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return e.do(c, req)
}

// deliveries counts the letters the store holds, from its audit log: every
// delivery appends one "deliver" entry in its own transaction.
func (e *testEnv) deliveries() int {
	e.t.Helper()
	entries, err := e.store.AuditLog(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, a := range entries {
		if a.Action == "deliver" {
			n++
		}
	}
	return n
}

// auditCount counts audit entries with the given action.
func (e *testEnv) auditCount(action string) int {
	e.t.Helper()
	entries, err := e.store.AuditLog(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, a := range entries {
		if a.Action == action {
			n++
		}
	}
	return n
}

// problemOf decodes a problem response and checks its media type and
// members.
func problemOf(t *testing.T, r *response) web.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.body)
	}
	var p web.Problem
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("problem %q: %v", r.body, err)
	}
	if p.Type != "about:blank" || p.Status != r.StatusCode || p.Title == "" || p.Code == "" {
		t.Fatalf("problem %+v with status %d: missing members", p, r.StatusCode)
	}
	return p
}

// wantProblem checks a response is the problem with status and code.
func wantProblem(t *testing.T, r *response, status int, code string) web.Problem {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", r.StatusCode, status, r.body)
	}
	p := problemOf(t, r)
	if p.Code != code {
		t.Fatalf("code %q, want %q (detail %q)", p.Code, code, p.Detail)
	}
	return p
}

// decodeJSON decodes a JSON response body.
func decodeJSON[T any](t *testing.T, r *response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

// english is the catalogue in English, the language of the tests' pages
// when they ask for none, for tests that look a message up rather than
// repeat it.
var english = func() *i18n.Lang {
	c, err := i18n.Load(assets.FS(), "")
	if err != nil {
		panic(err)
	}
	return c.Lang("en")
}()

// gunzipFile writes the gzipped file src, uncompressed, to dst.
func gunzipFile(t *testing.T, src, dst string) {
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
