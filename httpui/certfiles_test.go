package httpui

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
)

// writeCertificate issues a certificate for hosts, valid from now for
// validity, and writes it and its key to dir/node.crt and dir/node.key.
func writeCertificate(t *testing.T, ca *crypto.CA, dir string, hosts []string, now time.Time, validity time.Duration) *x509.Certificate {
	t.Helper()
	cert, err := ca.IssueServer(rand.Reader, hosts, now, validity)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"node.crt": {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		"node.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// TestCertificateFiles: a certificate of the operator's own is loaded
// when it is for the domain and valid now, read again when its files
// change, and kept when a replacement does not load.
func TestCertificateFiles(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ca, err := crypto.NewCA(rand.Reader, "Test CA", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")

	// Refused: another domain, not yet valid, expired, no files.
	writeCertificate(t, ca, dir, []string{"other.example.dk"}, now, time.Hour)
	if _, err := LoadCertificateFiles(crt, key, "post.example.dk", clock); err == nil || !strings.Contains(err.Error(), "not for the domain post.example.dk") {
		t.Errorf("a certificate for another domain: %v", err)
	}
	writeCertificate(t, ca, dir, []string{"post.example.dk"}, now.Add(-2*time.Hour), time.Hour)
	if _, err := LoadCertificateFiles(crt, key, "post.example.dk", clock); err == nil || !strings.Contains(err.Error(), "not now") {
		t.Errorf("an expired certificate: %v", err)
	}
	if _, err := LoadCertificateFiles(filepath.Join(dir, "missing.crt"), key, "post.example.dk", clock); err == nil || !strings.Contains(err.Error(), "missing.crt") {
		t.Errorf("a missing file: %v", err)
	}

	first := writeCertificate(t, ca, dir, []string{"post.example.dk"}, now, 24*time.Hour)
	files, err := LoadCertificateFiles(crt, key, "post.example.dk", clock)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	files.Log = slog.New(slog.NewTextHandler(&logs, nil))
	serial := func() string {
		t.Helper()
		c, err := files.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber.String()
	}
	if got := serial(); got != first.SerialNumber.String() {
		t.Fatalf("serial %s, want %s", got, first.SerialNumber)
	}
	// Replaced: taken once the next look at the files is due.
	second := writeCertificate(t, ca, dir, []string{"post.example.dk"}, now, 48*time.Hour)
	if got := serial(); got != first.SerialNumber.String() {
		t.Errorf("replaced files read before the next look was due")
	}
	now = now.Add(certFilesCheck)
	if got := serial(); got != second.SerialNumber.String() || files.Err() != nil {
		t.Errorf("after the replacement: serial %s, want %s (%v)", got, second.SerialNumber, files.Err())
	}
	// A broken replacement (half written): the certificate in use stays.
	if err := os.WriteFile(crt, []byte("-----BEGIN CERTIFICATE-----\nMIIB"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(certFilesCheck)
	if got := serial(); got != second.SerialNumber.String() || files.Err() == nil {
		t.Errorf("after a broken replacement: serial %s, want %s still, and Err set (%v)", got, second.SerialNumber, files.Err())
	}
	// Said once in the log, not at every look; and the certificate in use
	// expires within two weeks: warned of, once a day.
	now = now.Add(certFilesCheck)
	serial()
	out := logs.String()
	if n := strings.Count(out, "level=ERROR msg=\"tls: the replaced certificate files are not taken"); n != 1 {
		t.Errorf("%d ERROR lines for one refused version of the files, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "level=WARN msg=\"tls: the certificate expires soon"); n != 1 {
		t.Errorf("%d WARN lines about the expiry within a day, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "level=INFO msg=\"tls: the certificate files were replaced and taken") {
		t.Errorf("the replacement taken is not in the log:\n%s", out)
	}
}

// TestRedirectHTTPS: every request to the HTTP listener goes to the same
// path on the configured domain, never on the request's Host.
func TestRedirectHTTPS(t *testing.T) {
	for _, tc := range []struct {
		port int
		want string
	}{{443, "https://post.example.dk/letters?x=1"}, {8443, "https://post.example.dk:8443/letters?x=1"}} {
		req := httptest.NewRequest(http.MethodPost, "http://evil.example/letters?x=1", nil)
		rec := httptest.NewRecorder()
		RedirectHTTPS("post.example.dk", tc.port).ServeHTTP(rec, req)
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != tc.want {
			t.Errorf("port %d: %d to %q, want 308 to %q", tc.port, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}
