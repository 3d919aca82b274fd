// Package acmetest runs pebble, Let's Encrypt's ACME test server, for the
// tests of the appliance's automatic TLS: a real ACME server that really
// validates HTTP-01 and TLS-ALPN-01 challenges by connecting back to the
// server under test on loopback.
//
// Pebble is an outside program, installed with
//
//	go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1
//
// (./test does). A test that needs it fails, never skips, when it is
// missing: a skipped certificate test would hide a broken TLS setup.
//
// Names: pebble is started with -dnsserver pointing at a tiny DNS server
// of this package (TCP, github.com/miekg/dns) that answers 127.0.0.1 for
// every A question and nothing for AAAA, so tests may use any DNS name
// (post.postkasse.test …) and pebble validates it on loopback, without
// touching /etc/hosts or the system resolver.
//
// Pebble runs with PEBBLE_VA_NOSLEEP=1 (no random pause before each
// validation) and with its default nonce rejection (5% of nonces are
// refused with badNonce), which the ACME client must survive.
package acmetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/buildinfo"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Pebble's module and the version the project pins (./test installs the
// same; a test in package main checks that the two agree).
const (
	PebbleModule  = "github.com/letsencrypt/pebble/v2"
	PebbleVersion = "v2.10.1"
	installHint   = "go install " + PebbleModule + "/cmd/pebble@" + PebbleVersion
)

// Options configure a pebble.
type Options struct {
	// HTTPPort and TLSPort are the ports on which pebble validates HTTP-01
	// and TLS-ALPN-01 challenges: those of the server under test.
	HTTPPort, TLSPort int
	// Validity is the lifetime of the certificates pebble issues; zero is
	// pebble's default (90 days).
	Validity time.Duration
}

// Pebble is a running pebble.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// ListenerRootFile is a PEM file with the root of pebble's own HTTPS
	// certificate, for the ACME client (acme.trusted_root).
	ListenerRootFile string
	// ListenerRoots holds the same root.
	ListenerRoots *x509.CertPool
	// RootPEM is pebble's issuing root, which clients of the server under
	// test verify its certificate against; Roots holds it.
	RootPEM []byte
	Roots   *x509.CertPool

	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	once   sync.Once
}

// Binary returns the path of the pebble program, or fails the test with
// how to install it.
func Binary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("pebble")
	if err != nil {
		for _, dir := range goBinDirs() {
			p := filepath.Join(dir, "pebble")
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				path = p
				break
			}
		}
	}
	if path == "" {
		ci := ""
		if os.Getenv("CI") != "" {
			ci = " (./test installs it: run ./test, or see it)"
		}
		t.Fatalf("pebble, a real ACME server, is needed for this test and was not found in PATH or GOPATH/bin%s; install it with\n\t%s", ci, installHint)
	}
	if info, err := buildinfo.ReadFile(path); err == nil && info.Main.Path == PebbleModule && info.Main.Version != PebbleVersion && info.Main.Version != "(devel)" {
		t.Fatalf("%s is pebble %s; the project pins %s: %s", path, info.Main.Version, PebbleVersion, installHint)
	}
	return path
}

func goBinDirs() []string {
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for p := range strings.SplitSeq(gopath, string(os.PathListSeparator)) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// tests use it only where a program must be told its port in advance
// (pebble's own ports; a child server whose ports pebble must know).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs pebble and returns once its ACME directory answers. It is
// stopped when the test ends, or earlier with Stop.
func Start(t testing.TB, opts Options) *Pebble {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	dnsAddr := startDNS(t)

	certFile, keyFile := filepath.Join(dir, "pebble.crt"), filepath.Join(dir, "pebble.key")
	rootFile := filepath.Join(dir, "pebble-listener-root.pem")
	listenerRoots := writeListenerCert(t, certFile, keyFile, rootFile)

	var lastErr error
	// Pebble's own ports are picked free beforehand; if another process
	// takes one in between, pebble exits and is started again.
	for range 3 {
		p, err := startOnce(t, bin, dir, dnsAddr, certFile, keyFile, listenerRoots, opts)
		if err == nil {
			p.ListenerRootFile = rootFile
			p.ListenerRoots = listenerRoots
			t.Cleanup(func() {
				p.Stop()
				if t.Failed() {
					t.Logf("pebble's output:\n%s", p.out.String())
				}
			})
			return p
		}
		lastErr = err
	}
	t.Fatalf("start pebble: %v", lastErr)
	return nil
}

func startOnce(t testing.TB, bin, dir, dnsAddr, certFile, keyFile string, listenerRoots *x509.CertPool, opts Options) (*Pebble, error) {
	listen := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	management := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	var cfg struct {
		Pebble map[string]any `json:"pebble"`
	}
	cfg.Pebble = map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": management,
		"certificate":             certFile,
		"privateKey":              keyFile,
		"httpPort":                opts.HTTPPort,
		"tlsPort":                 opts.TLSPort,
		"ocspResponderURL":        "",
		"keyAlgorithm":            "ecdsa",
		// No Retry-After on authorizations and orders: the client polls
		// at its own pace.
		"retryAfter": map[string]int{"authz": 0, "order": 0},
	}
	if opts.Validity > 0 {
		cfg.Pebble["profiles"] = map[string]any{
			"default": map[string]any{"description": "test profile", "validityPeriod": int(opts.Validity / time.Second)},
		}
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	configFile := filepath.Join(dir, "pebble-config.json")
	if err := os.WriteFile(configFile, data, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-config", configFile, "-dnsserver", dnsAddr)
	cmd.Env = append(withoutEnv(os.Environ(), "PEBBLE_"), "PEBBLE_VA_NOSLEEP=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	p := &Pebble{Directory: "https://" + listen + "/dir", cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()

	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: listenerRoots}},
	}
	defer client.CloseIdleConnections()
	// Pebble says nothing when its listeners are up: poll, with a deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("pebble exited: %s", out.String())
		default:
		}
		root, err := get(client, "https://"+management+"/roots/0")
		if err == nil {
			_, err = get(client, p.Directory)
		}
		if err == nil {
			p.RootPEM = root
			p.Roots = x509.NewCertPool()
			if !p.Roots.AppendCertsFromPEM(root) {
				p.Stop()
				return nil, fmt.Errorf("pebble's root is not PEM: %q", root)
			}
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("pebble did not answer within 30s: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// Stop ends pebble (the ACME CA is then down) and waits for it to exit.
func (p *Pebble) Stop() {
	p.once.Do(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
}

// Output returns what pebble printed so far.
func (p *Pebble) Output() string { return p.out.String() }

// withoutEnv drops the variables starting with prefix, so that the
// caller's environment cannot change pebble's behaviour (such as turning
// nonce rejection off).
func withoutEnv(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

// writeListenerCert makes a root and a certificate for 127.0.0.1 and
// localhost signed by it for pebble's own HTTPS listeners.
func writeListenerCert(t testing.TB, certFile, keyFile, rootFile string) *x509.CertPool {
	t.Helper()
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble listener test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootDER, err := x509.CreateCertificate(cryptorand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(cryptorand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "PRIVATE KEY", keyDER)
	write(rootFile, "CERTIFICATE", rootDER)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool
}

// startDNS runs a DNS server over TCP on loopback that answers 127.0.0.1
// to every A question and no records to any other, and returns its
// address. Pebble asks it (pebble's DNS client uses TCP).
func startDNS(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{
		Listener: ln,
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = true
			for _, q := range req.Question {
				if q.Qtype == dns.TypeA {
					m.Answer = append(m.Answer, &dns.A{
						Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
						A:   net.IPv4(127, 0, 0, 1),
					})
				}
			}
			w.WriteMsg(m)
		}),
	}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	served := make(chan error, 1)
	go func() { served <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-served:
		t.Fatalf("dns server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.ShutdownContext(ctx)
	})
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
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
