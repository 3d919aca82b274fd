package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/acme/acmetest"
	"github.com/postkasse/postkasse/store"
)

// lockedBuffer collects a child's output for the test's log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProcess is a running `postkasse serve` child process.
type serveProcess struct {
	t         *testing.T
	cmd       *exec.Cmd
	exited    chan error
	stdout    lockedBuffer
	stderr    lockedBuffer
	certReady chan struct{} // closed when the log says the certificate is ready
}

// startServe runs `BIN serve --data DIR ARGS…` (BIN is a test binary,
// which is postkasse itself under POSTKASSE_TEST_MAIN=1) and returns once
// it printed that it is serving.
func startServe(t *testing.T, bin, dir string, args ...string) *serveProcess {
	t.Helper()
	p, err := launchServe(t, nil, bin, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchServe is startServe that returns the error of a server that did
// not start; env is added to the child's environment.
func launchServe(t *testing.T, env []string, bin, dir string, args ...string) (*serveProcess, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--data", dir}, args...)...)
	cmd.Env = append(append(os.Environ(), "POSTKASSE_TEST_MAIN=1"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serveProcess{t: t, cmd: cmd, exited: make(chan error, 1), certReady: make(chan struct{})}
	serving := make(chan bool, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			p.stdout.WriteString(sc.Text() + "\n")
			if !signalled && strings.HasPrefix(sc.Text(), servingLine) {
				serving <- true
				signalled = true
			}
		}
		if !signalled {
			serving <- false
		}
	})
	wg.Go(func() {
		sc := bufio.NewScanner(stderr)
		ready := false
		for sc.Scan() {
			p.stderr.WriteString(sc.Text() + "\n")
			if !ready && strings.Contains(sc.Text(), "certificate ready") {
				close(p.certReady)
				ready = true
			}
		}
	})
	go func() {
		wg.Wait() // the pipes are read to the end before Wait closes them
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("serve %s output:\n%s%s", dir, p.stdout.String(), p.stderr.String())
		}
	})
	if !<-serving {
		err := <-p.exited
		return nil, fmt.Errorf("serve did not start: %v\n%s", err, p.stderr.String())
	}
	return p, nil
}

// waitCertificate waits until the server logs that its certificate is
// ready.
func (p *serveProcess) waitCertificate() {
	p.t.Helper()
	select {
	case <-p.certReady:
	case err := <-p.exited:
		p.exited <- err
		p.t.Fatalf("serve exited before its certificate was ready: %v", err)
	case <-time.After(2 * time.Minute):
		p.t.Fatal("no certificate within 2 minutes")
	}
}

// stop sends SIGTERM and checks that the server exits cleanly.
func (p *serveProcess) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		p.t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, p.stderr.String())
	}
}

// httpsClient connects every URL to addr, verifies the server against
// roots and presents cert when it is not nil. It keeps cookies.
func httpsClient(t *testing.T, addr string, roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	t.Helper()
	return dialingClient(t, func(string) string { return addr }, roots, cert, true)
}

// dialingClient is an HTTPS client that connects a URL's host:port to
// to(host:port), verifies the server against roots, presents cert when it
// is not nil, and keeps cookies (for every port of a host, as browsers
// do). Without keepAlive it opens a connection per request, so a server
// killed between requests costs one request, not a stale connection.
func dialingClient(t *testing.T, to func(hostPort string) string, roots *x509.CertPool, cert *tls.Certificate, keepAlive bool) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		Jar:     jar,
		Transport: &http.Transport{
			TLSClientConfig:   cfg,
			DisableKeepAlives: !keepAlive,
			DialContext: func(ctx context.Context, network, hostPort string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, to(hostPort))
			},
		},
	}
}

// productionFolder makes a data folder with `postkasse init` for domain,
// served on the given loopback ports, with pebble as its ACME CA.
func productionFolder(t *testing.T, dir, domain string, httpPort, httpsPort int, p *acmetest.Pebble) {
	t.Helper()
	var out bytes.Buffer
	err := run([]string{"init", "--data", dir, "--domain", domain, "--email", "it@eksempelby.dk",
		"--acme-ca", p.Directory, "--acme-root", p.ListenerRootFile,
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--https", fmt.Sprintf("127.0.0.1:%d", httpsPort)}, &out)
	if err != nil {
		t.Fatalf("init: %v", err)
	}
}

// cli runs a postkasse command line in this process and returns what it
// printed.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		t.Fatalf("postkasse %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// enrol adds a resident and two senders through the command line and
// returns the resident's activation code and the senders' client
// certificates.
func enrol(t *testing.T, dir, nationalID string) (code string, public, private tls.Certificate) {
	t.Helper()
	code = activationCode(t, cli(t, "resident", "add", "--data", dir, "--national-id", nationalID, "--name", "Anna Jensen"))
	out := t.TempDir()
	cli(t, "sender", "add", "--data", dir, "--name", "Eksempelby Kommune", "--org", "29189846", "--kind", "public", "--out", out)
	cli(t, "sender", "add", "--data", dir, "--name", "Forsyning Øst A/S", "--org", "12345674", "--kind", "private", "--out", out)
	load := func(base string) tls.Certificate {
		cert, err := tls.LoadX509KeyPair(filepath.Join(out, base+".crt"), filepath.Join(out, base+".key"))
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	return code, load("eksempelby-kommune"), load("forsyning-oest-a-s")
}

// activationCode returns the activation code that `resident add` printed.
func activationCode(t *testing.T, printed string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  activation code  ((?:[A-Z2-7]{4}-){7}[A-Z2-7]{4})$`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("resident add printed no activation code:\n%s", printed)
	}
	return m[1]
}

// activate activates a mailbox the way the resident does: the form at
// /activate, in the browser c.
func activate(t *testing.T, c *http.Client, base, nationalID, code, password string) {
	t.Helper()
	resp, err := c.PostForm(base+"/activate", url.Values{
		"nationalId": {nationalID}, "code": {code}, "password": {password}, "passwordConfirm": {password},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "recovery key") {
		t.Fatalf("POST /activate: %s\n%s", resp.Status, body)
	}
}

// TestServeWithACME runs `postkasse serve` as its own process on a folder
// made by `postkasse init`, with pebble as the ACME CA: it obtains its
// certificate and serves the web UI verified against pebble's root, with
// HSTS, and redirects HTTP; the operator enrols a resident and two senders
// through the control socket; a letter is delivered with a client
// certificate on the same port; a sender revoked through the socket is
// refused on its next request (401) without a restart. Then SIGTERM
// arrives while eight senders deliver: the server exits cleanly, every
// acknowledged letter is stored and opens with its content, nothing else
// is stored, and bbolt's check is clean.
func TestServeWithACME(t *testing.T) {
	const domain = "post.postkasse.test"
	const nid, password = "1203861234", "a long test password"
	httpPort, httpsPort := acmetest.FreePort(t), acmetest.FreePort(t)
	p := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort, TLSPort: httpsPort})
	dir := filepath.Join(t.TempDir(), "data")
	productionFolder(t, dir, domain, httpPort, httpsPort, p)
	// A retention policy of its own, which the settings page must show.
	tomlPath := filepath.Join(dir, configFileName)
	toml, err := os.ReadFile(tomlPath)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(toml), `inactivity = "P5Y"`, `inactivity = "P3Y"`, 1)
	if changed == string(toml) {
		t.Fatalf("no jobs.inactivity in %s", tomlPath)
	}
	// The operator's metrics on a listener of their own.
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", acmetest.FreePort(t))
	if !strings.Contains(changed, `metrics_listen = ""`) {
		t.Fatalf("no server.metrics_listen in %s", tomlPath)
	}
	changed = strings.Replace(changed, `metrics_listen = ""`, `metrics_listen = "`+metricsAddr+`"`, 1)
	if err := os.WriteFile(tomlPath, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	srv := startServe(t, os.Args[0], dir)
	srv.waitCertificate()
	t.Logf("serve started and obtained its certificate in %v", time.Since(began).Round(time.Millisecond))

	httpsAddr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	base := "https://" + net.JoinHostPort(domain, strconv.Itoa(httpsPort))
	browser := httpsClient(t, httpsAddr, p.Roots, nil)
	resp, err := browser.Get(base + "/login")
	if err != nil {
		t.Fatalf("GET /login verified against pebble's root: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("GET /login: %s, HSTS %q", resp.Status, resp.Header.Get("Strict-Transport-Security"))
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/login", httpPort), nil)
	req.Host = domain
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != base+"/login" {
		t.Fatalf("HTTP: %s to %q", resp.Status, resp.Header.Get("Location"))
	}

	// The operator's commands go through the socket: the server holds the
	// database, so they could not open it themselves.
	code, public, private := enrol(t, dir, nid)
	if out := cli(t, "sender", "list", "--data", dir); !strings.Contains(out, "Forsyning Øst A/S") {
		t.Fatalf("sender list:\n%s", out)
	}
	// The resident activates the mailbox over HTTPS before letters can
	// reach it.
	activate(t, browser, base, nid, code, password)

	privateClient := httpsClient(t, httpsAddr, p.Roots, &private)
	status, answer, err := deliver(privateClient, base, nid, "Your electricity bill", "bill-1", crashPDF("bill-1"))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("delivery with a client certificate: %d %+v %v", status, answer, err)
	}
	// The delivery is counted by its route and code; the metrics name no
	// resident, and the appliance is ready (store writable, certificate).
	mresp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(mbody), `postkasse_http_requests_total{code="201",method="POST",route="api-deliver"} 1`) || strings.Contains(string(mbody), nid) {
		t.Errorf("/metrics after one delivery:\n%s", mbody)
	}
	if rresp, err := http.Get("http://" + metricsAddr + "/readyz"); err != nil || rresp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %v %v", rresp, err)
	} else {
		rresp.Body.Close()
	}
	cli(t, "sender", "revoke", "--data", dir, "--org", "12345674")
	status, answer, err = deliver(privateClient, base, nid, "Another bill", "bill-2", crashPDF("bill-2"))
	if err != nil || status != http.StatusUnauthorized || answer.Code != "UNAUTHENTICATED" {
		t.Fatalf("delivery after the revocation, without a restart: %d %+v %v", status, answer, err)
	}

	// The scheduled work's commands go through the socket too, to the
	// server's own scheduler; the resident's settings show the policy of
	// postkasse.toml.
	if out := cli(t, "jobs", "status", "--data", dir); !strings.Contains(out, "terms-notices") || !strings.Contains(out, "retention") {
		t.Fatalf("jobs status:\n%s", out)
	}
	if out := cli(t, "terms", "list", "--data", dir); !strings.Contains(out, "VERSION") {
		t.Fatalf("terms list:\n%s", out)
	}
	resp, err = browser.PostForm(base+"/login", url.Values{"nationalId": {nid}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = browser.Get(base + "/settings")
	if err != nil {
		t.Fatal(err)
	}
	settings, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(settings), "a mailbox without a login for 3 years is deleted") {
		t.Fatalf("settings page: %s\n%s", resp.Status, settings)
	}

	// SIGTERM during deliveries.
	acked := terminateDuringDeliveries(t, srv, httpsClient(t, httpsAddr, p.Roots, &public), base, nid)

	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(context.Background()); err != nil {
		t.Fatalf("bbolt check after SIGTERM: %v", err)
	}
	// The operator's commands through the socket are audited under the
	// caller's user, which the server learnt from the kernel; the
	// revocation names the certificate it revoked.
	entries, err := st.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	operator := fmt.Sprintf("operator:uid=%d", os.Getuid())
	var added, revoked bool
	for _, e := range entries {
		switch e.Action {
		case "add-sender":
			added = added || e.Actor == operator
		case "revoke-sender":
			revoked = e.Actor == operator && strings.HasPrefix(e.Detail, "certificates ") && len(e.Detail) == len("certificates ")+64
		}
	}
	if !added || !revoked {
		t.Errorf("audit log: add-sender by %s %v, revoke-sender by it with the certificate's fingerprint %v", operator, added, revoked)
	}
	sess, err := st.Login(context.Background(), nid, password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	inbox, err := mb.Inbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{} // letter id → reference
	for _, l := range inbox {
		if ref, ok := strings.CutPrefix(l.Subject, "Crash test letter "); ok {
			stored[l.ID] = ref
			doc, err := mb.Document(context.Background(), l.ID, 0)
			if err != nil || !bytes.Equal(doc.Content, crashPDF(ref)) {
				t.Fatalf("letter %s (%s) does not open whole: %v", l.ID, ref, err)
			}
		}
	}
	for id, ref := range acked {
		if stored[id] != ref {
			t.Errorf("acknowledged letter %s (%s) is not stored", id, ref)
		}
	}
	for id, ref := range stored {
		if _, ok := acked[id]; !ok {
			t.Errorf("letter %s (%s) is stored but was never acknowledged", id, ref)
		}
	}
	t.Logf("SIGTERM during deliveries: %d letters acknowledged, all stored, nothing else", len(acked))
}

// terminateDuringDeliveries has eight senders deliver until the server
// goes away, sends SIGTERM once 40 letters are acknowledged, checks the
// server exits cleanly, and returns the acknowledged letters (id →
// reference).
func terminateDuringDeliveries(t *testing.T, srv *serveProcess, c *http.Client, base, nid string) map[string]string {
	t.Helper()
	const workers, before = 8, 40
	var (
		mu     sync.Mutex
		acked  = map[string]string{}
		failed []string
	)
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				ref := fmt.Sprintf("term-%d-%d", w, i)
				status, answer, err := deliver(c, base, nid, "Crash test letter "+ref, ref, crashPDF(ref))
				if err != nil {
					return // the server is gone: a clean refusal
				}
				mu.Lock()
				switch status {
				case http.StatusCreated:
					acked[answer.ID] = ref
					if len(acked) >= before {
						once.Do(func() { close(enough) })
					}
				case http.StatusServiceUnavailable:
					// Refused cleanly while closing: nothing stored.
				default:
					failed = append(failed, fmt.Sprintf("%s: %d %s", ref, status, answer.Code))
				}
				mu.Unlock()
				if status != http.StatusCreated {
					return
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(2 * time.Minute):
		t.Fatal("40 deliveries took more than 2 minutes")
	}
	srv.stop()
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("deliveries failed during the shutdown: %v", failed)
	}
	return acked
}

// TestServeErrors checks the one-line errors of serve on bad folders and
// flags.
func TestServeErrors(t *testing.T) {
	dir := t.TempDir()
	initialised := filepath.Join(dir, "ok")
	if err := run([]string{"init", "--data", initialised, "--domain", "post.example.dk"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt")
	if err := os.Mkdir(corrupt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, configFileName), []byte("domain = \"post.example.dk\"\n[listen]\nhttps = 443\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// jobs.municipality naming no sender: refused at start.
	muni := filepath.Join(dir, "muni")
	if err := run([]string{"init", "--data", muni, "--domain", "post.example.dk"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	setConfigKeys(t, muni, map[string]string{"municipality": "29189846"})
	// A folder whose control socket's path would be too long for a Unix
	// socket: init makes nothing.
	long := filepath.Join(dir, strings.Repeat("lang-sti-", 12))
	if err := run([]string{"init", "--data", long, "--domain", "post.example.dk"}, io.Discard); err == nil || !strings.Contains(err.Error(), "use a data folder with a shorter path") {
		t.Errorf("init on a folder of %d bytes: %v", len(long), err)
	}
	if _, err := os.Stat(long); !os.IsNotExist(err) {
		t.Errorf("init made the folder with the too long path: %v", err)
	}
	demo := filepath.Join(dir, "demo")
	if err := os.Mkdir(demo, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(demo, "demo.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	noCA := filepath.Join(dir, "noca")
	if err := os.Mkdir(noCA, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noCA, configFileName), []byte("domain = \"post.example.dk\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--data", filepath.Join(dir, "missing")}, "does not exist"},
		{[]string{"serve", "--data", dir}, "has no postkasse.toml"},
		{[]string{"serve", "--data", corrupt}, "postkasse.toml: line 3"},
		{[]string{"serve", "--data", noCA}, "was " + noCA + " made with `postkasse init`?"},
		{[]string{"serve", "--data", initialised, "--https", "443"}, `listen.https "443": want host:port`},
		{[]string{"serve", "--data", initialised, "--acme-ca", "http://ca.example/dir"}, "want an https:// URL"},
		{[]string{"serve", "--data", initialised, "--acme-root", filepath.Join(dir, "none.pem")}, "acme.trusted_root"},
		{[]string{"serve", "--data", initialised, "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"serve", "stray"}, `unexpected argument "stray"`},
		{[]string{"serve", "--data", demo}, "is a demo's folder: run it with `postkasse demo --data " + demo + "`"},
		{[]string{"serve", "--data", muni}, `jobs.municipality in ` + filepath.Join(muni, configFileName) + `: municipality sender "29189846": sender with organisation number 29189846: not found`},
	}
	for _, tt := range tests {
		err := run(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("run(%q): the error is not one line: %q", tt.args, err)
		}
	}
}

// TestPebblePinned checks that the test script (./test, which CI runs)
// installs the pebble version the tests expect.
func TestPebblePinned(t *testing.T) {
	ci, err := os.ReadFile("test")
	if err != nil {
		t.Fatal(err)
	}
	want := "go install " + acmetest.PebbleModule + "/cmd/pebble@" + acmetest.PebbleVersion
	if !strings.Contains(string(ci), want) {
		t.Fatalf("./test does not run %q", want)
	}
}

// loginAndRead signs in over HTTPS and returns the inbox page and the
// first document of letter id.
func loginAndRead(t *testing.T, c *http.Client, base, nid, password, id string) (inbox string, doc []byte) {
	t.Helper()
	resp, err := c.PostForm(base+"/login", url.Values{"nationalId": {nid}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("login: %s at %s", resp.Status, resp.Request.URL)
	}
	resp, err = c.Get(base + "/letters/" + id + "/documents/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("document: %s", resp.Status)
	}
	return string(page), doc
}

// TestMemoryLimit: serve sets the runtime's memory limit from
// server.bytes_in_flight_mib, three times it and 64 MiB, unless the
// operator set GOMEMLIMIT.
func TestMemoryLimit(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMEMLIMIT" {
				return v
			}
			return ""
		}
	}
	if limit, ok := memoryLimit(defaultConfig().Server, env("")); !ok || limit != (3*128+64)<<20 {
		t.Errorf("default: %d %v, want 448 MiB", limit, ok)
	}
	if limit, ok := memoryLimit(ServerConfig{BytesInFlightMiB: 1024}, env("")); !ok || limit != (3*1024+64)<<20 {
		t.Errorf("1024 MiB in flight: %d %v", limit, ok)
	}
	if _, ok := memoryLimit(defaultConfig().Server, env("2GiB")); ok {
		t.Error("GOMEMLIMIT set by the operator was overridden")
	}
}
