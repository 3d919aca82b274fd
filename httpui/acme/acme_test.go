package acme_test

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/acme"
	"github.com/postkasse/postkasse/httpui/acme/acmetest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/teststore"
	"github.com/postkasse/postkasse/store"
)

// The tests' domain names resolve to 127.0.0.1 through acmetest's DNS
// server; each test has its own, so they may run in parallel.
const (
	residentNID = "1203861234"
	senderOrg   = "29189846"
)

// appliance is the HTTP side of a Postkasse on loopback: a store with one
// resident and one sender, the httpui server, and the two listeners.
type appliance struct {
	t          *testing.T
	dir        string
	st         *store.Store
	ca         *crypto.CA
	ui         http.Handler
	senderCert tls.Certificate
}

func newAppliance(t *testing.T) *appliance {
	t.Helper()
	dir := t.TempDir()
	st := teststore.Open(t, store.Options{})
	nid, err := store.ParseNationalID(residentNID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddResident(context.Background(), nid, "Anna Jensen", "a long test password"); err != nil {
		t.Fatal(err)
	}
	sender, err := st.AddSender(context.Background(), "Eksempelby Kommune", senderOrg, store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	ca := testsupport.NewCA(t)
	certPEM, keyPEM, cert, err := ca.IssueClient(cryptorand.Reader, sender.Name, sender.OrgNumber, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.BindCertificate(context.Background(), sender.ID, cert); err != nil {
		t.Fatal(err)
	}
	senderCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ui, err := httpui.New(httpui.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return &appliance{t: t, dir: dir, st: st, ca: ca, ui: ui.Handler(), senderCert: senderCert}
}

// running is one start of the appliance's listeners with a Manager.
type running struct {
	m                   *acme.Manager
	httpAddr, httpsAddr string
	servers             []*http.Server
	wg                  sync.WaitGroup
	events              chan string
}

// listenLoopback opens the two listeners on free loopback ports.
func listenLoopback(t *testing.T) (httpLn, httpsLn net.Listener) {
	t.Helper()
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpsLn, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		httpLn.Close()
		t.Fatal(err)
	}
	return httpLn, httpsLn
}

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// start builds a Manager for domain on the listeners and serves on them;
// it does not wait for a certificate.
func (a *appliance) start(domain string, httpLn, httpsLn net.Listener, cfg acme.Config) *running {
	t := a.t
	t.Helper()
	r := &running{httpAddr: httpLn.Addr().String(), httpsAddr: httpsLn.Addr().String(), events: make(chan string, 100)}
	cfg.Domain = domain
	cfg.ListenHost = "127.0.0.1"
	cfg.HTTPPort, cfg.HTTPSPort = port(httpLn), port(httpsLn)
	cfg.StorageDir = filepath.Join(a.dir, "certs")
	cfg.OnEvent = func(event string, data map[string]any) {
		if event == "cert_obtained" || event == "cert_failed" {
			select {
			case r.events <- event:
			default:
			}
		}
	}
	m, err := acme.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
	// Handshakes that end early (pebble's validations, the test's TLS 1.1
	// attempt) are not worth a log line.
	quiet := log.New(io.Discard, "", 0)
	httpSrv := &http.Server{Handler: m.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	httpsSrv := &http.Server{Handler: a.ui, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	r.servers = []*http.Server{httpSrv, httpsSrv}
	r.wg.Go(func() { httpSrv.Serve(httpLn) })
	r.wg.Go(func() { httpsSrv.Serve(tls.NewListener(httpsLn, m.TLSConfig(a.ca.Pool()))) })
	if err := m.Start(); err != nil {
		r.stop()
		t.Fatal(err)
	}
	return r
}

// stop shuts the servers and the Manager down.
func (r *running) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range r.servers {
		s.Shutdown(ctx)
	}
	r.wg.Wait()
	r.m.Stop()
}

// waitReady waits for the first certificate.
func (r *running) waitReady(t *testing.T, p *acmetest.Pebble) {
	t.Helper()
	select {
	case <-r.m.Ready():
	case <-time.After(2 * time.Minute):
		if p != nil {
			t.Logf("pebble:\n%s", p.Output())
		}
		t.Fatal("no certificate within 2 minutes")
	}
}

// client returns an HTTPS client that connects every name to addr and
// verifies the server against roots, presenting cert if it is not nil.
func client(addr string, roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   cfg,
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// servedCertificate makes a TLS handshake with domain at addr, verifying
// against roots, and returns the leaf.
func servedCertificate(addr, domain string, roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{ServerName: domain, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// deliver posts a letter with the sender certificate and returns the status.
func deliver(c *http.Client, base, ref string) (int, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	msg, _ := json.Marshal(map[string]any{
		"recipient":       map[string]string{"nationalId": residentNID},
		"subject":         "Letter " + ref,
		"senderReference": ref,
		"type":            "letter",
	})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	w, _ := mw.CreatePart(h)
	w.Write(msg)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="document"; filename="letter.txt"`)
	h.Set("Content-Type", "text/plain")
	w, _ = mw.CreatePart(h)
	io.WriteString(w, "Dear Anna, this is letter "+ref+".\n")
	mw.Close()
	resp, err := c.Post(base+"/api/v1/messages", mw.FormDataContentType(), &buf)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// TestObtainAndServe obtains a certificate from pebble with each challenge
// type alone (the other disabled), on loopback ports, with pebble's nonce
// rejection on. Then, on the one HTTPS port: a page verifies against
// pebble's root, with HSTS, over TLS 1.2+; a letter is delivered with a
// sender's client certificate, and the API refuses a request without one;
// the HTTP port redirects to HTTPS. Then everything stops, pebble too, and
// a restart on new ports serves the stored certificate without the CA.
func TestObtainAndServe(t *testing.T) {
	for _, tc := range []struct {
		name      string
		http, alp bool
	}{
		{"http-01", true, false},
		{"tls-alpn-01", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAppliance(t)
			domain := strings.ReplaceAll(tc.name, "-", "") + ".postkasse.test"
			httpLn, httpsLn := listenLoopback(t)
			p := acmetest.Start(t, acmetest.Options{HTTPPort: port(httpLn), TLSPort: port(httpsLn)})
			began := time.Now()
			r := a.start(domain, httpLn, httpsLn, acme.Config{
				CA: p.Directory, TrustedRoots: p.ListenerRoots,
				HTTPChallenge: tc.http, TLSALPNChallenge: tc.alp,
			})
			r.waitReady(t, p)
			t.Logf("certificate over %s in %v", tc.name, time.Since(began).Round(time.Millisecond))
			if !strings.Contains(p.Output(), "reject 5% of good nonces") {
				t.Errorf("pebble's nonce rejection is not at its default:\n%s", p.Output())
			}

			leaf, err := servedCertificate(r.httpsAddr, domain, p.Roots)
			if err != nil {
				t.Fatalf("handshake verified against pebble's root: %v", err)
			}
			if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != domain {
				t.Fatalf("certificate for %v, want [%s]", leaf.DNSNames, domain)
			}

			base := "https://" + net.JoinHostPort(domain, strconv.Itoa(port(httpsLn)))
			browser := client(r.httpsAddr, p.Roots, nil)
			resp, err := browser.Get(base + "/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /login: %s", resp.Status)
			}
			if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
				t.Fatalf("no HSTS over HTTPS: %q", hsts)
			}
			if resp.TLS.Version < tls.VersionTLS12 {
				t.Fatalf("TLS version %x", resp.TLS.Version)
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2", resp.Proto)
			}

			// Old TLS is refused.
			if _, err := tls.Dial("tcp", r.httpsAddr, &tls.Config{ServerName: domain, RootCAs: p.Roots, MaxVersion: tls.VersionTLS11}); err == nil {
				t.Fatal("a TLS 1.1 handshake succeeded")
			}

			// The sender API on the same port: with the client certificate a
			// letter is delivered; without one, 401.
			status, body, err := deliver(client(r.httpsAddr, p.Roots, &a.senderCert), base, "acme-"+tc.name)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("delivery with a client certificate: %d %s %v", status, body, err)
			}
			resp, err = browser.Get(base + "/api/v1/receipt-key")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("API without a client certificate: %s, want 401", resp.Status)
			}

			// The HTTP port redirects everything but challenges to HTTPS.
			req, _ := http.NewRequest(http.MethodGet, "http://"+r.httpAddr+"/letters?x=1", nil)
			req.Host = domain
			resp, err = client(r.httpAddr, nil, nil).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if want := base + "/letters?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
				t.Fatalf("HTTP answered %s to %q, want 308 to %q", resp.Status, resp.Header.Get("Location"), want)
			}
			if resp.Header.Get("Strict-Transport-Security") != "" {
				t.Fatal("HSTS over plain HTTP")
			}

			// Stop all, the CA too; start again on other ports: the stored
			// certificate is served at once.
			r.stop()
			p.Stop()
			httpLn2, httpsLn2 := listenLoopback(t)
			r2 := a.start(domain, httpLn2, httpsLn2, acme.Config{
				CA: p.Directory, TrustedRoots: p.ListenerRoots,
				HTTPChallenge: tc.http, TLSALPNChallenge: tc.alp,
			})
			defer r2.stop()
			// Loading from storage happens in the background right after
			// Start; with the CA down, only storage can make it ready.
			r2.waitReady(t, nil)
			leaf2, err := servedCertificate(r2.httpsAddr, domain, p.Roots)
			if err != nil {
				t.Fatalf("restart without the CA: %v", err)
			}
			if leaf2.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
				t.Fatalf("restart serves serial %x, stored was %x", leaf2.SerialNumber, leaf.SerialNumber)
			}
			base2 := "https://" + net.JoinHostPort(domain, strconv.Itoa(port(httpsLn2)))
			status, body, err = deliver(client(r2.httpsAddr, p.Roots, &a.senderCert), base2, "acme-"+tc.name+"-after-restart")
			if err != nil || status != http.StatusCreated {
				t.Fatalf("delivery after the restart: %d %s %v", status, body, err)
			}
		})
	}
}

// TestRenewal has pebble issue certificates valid for 20 seconds and lets
// the Manager renew when half the lifetime is left: the HTTPS port then
// serves the new certificate without a restart.
func TestRenewal(t *testing.T) {
	t.Parallel()
	a := newAppliance(t)
	const domain = "renew.postkasse.test"
	httpLn, httpsLn := listenLoopback(t)
	p := acmetest.Start(t, acmetest.Options{HTTPPort: port(httpLn), TLSPort: port(httpsLn), Validity: 20 * time.Second})
	r := a.start(domain, httpLn, httpsLn, acme.Config{
		CA: p.Directory, TrustedRoots: p.ListenerRoots, HTTPChallenge: true, TLSALPNChallenge: true,
		RenewCheckInterval: 250 * time.Millisecond, RenewalWindowRatio: 0.5,
	})
	defer r.stop()
	r.waitReady(t, p)
	first, err := servedCertificate(r.httpsAddr, domain, p.Roots)
	if err != nil {
		t.Fatal(err)
	}
	// The first cert_obtained is the first certificate; the second is the
	// renewal. A failed attempt in between (cert_failed) is retried.
	began := time.Now()
	for obtained := 0; obtained < 2; {
		select {
		case ev := <-r.events:
			if ev == "cert_obtained" {
				obtained++
			}
		case <-time.After(time.Until(first.NotAfter)):
			t.Fatal("the certificate expired without being renewed")
		}
	}
	// The renewed certificate replaces the old one in memory right after
	// the event: poll the handshake until it does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaf, err := servedCertificate(r.httpsAddr, domain, p.Roots)
		if err == nil && leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
			t.Logf("renewed %v after the first certificate; served without a restart", time.Since(began).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate is not served: %v", errors.Join(err, fmt.Errorf("serial still %x", first.SerialNumber)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	base := acme.Config{Domain: "a.example", CA: "https://ca.example/dir", StorageDir: t.TempDir(),
		HTTPChallenge: true, TLSALPNChallenge: true, HTTPPort: 80, HTTPSPort: 443}
	for _, tc := range []struct {
		name string
		edit func(*acme.Config)
	}{
		{"no domain", func(c *acme.Config) { c.Domain = "" }},
		{"no CA", func(c *acme.Config) { c.CA = "" }},
		{"no storage", func(c *acme.Config) { c.StorageDir = "" }},
		{"no challenge", func(c *acme.Config) { c.HTTPChallenge, c.TLSALPNChallenge = false, false }},
		{"no https port", func(c *acme.Config) { c.HTTPSPort = 0 }},
	} {
		cfg := base
		tc.edit(&cfg)
		if m, err := acme.New(cfg); err == nil {
			m.Stop()
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
}
