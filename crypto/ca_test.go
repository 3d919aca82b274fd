package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

var caNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func mustCA(t testing.TB, name string) *CA {
	t.Helper()
	ca, err := NewCA(rand.Reader, name, caNow)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "Postkasse sender CA")
	c := ca.Cert
	if c.Subject.CommonName != "Postkasse sender CA" {
		t.Errorf("subject %s", c.Subject)
	}
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("basic constraints: IsCA %v valid %v MaxPathLen %d zero %v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("key usage %b", c.KeyUsage)
	}
	if !c.NotBefore.Equal(caNow.Add(-5*time.Minute)) || !c.NotAfter.Equal(caNow.AddDate(10, 0, 0)) {
		t.Errorf("validity %s to %s", c.NotBefore, c.NotAfter)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 129 {
		t.Errorf("serial number %v", c.SerialNumber)
	}
	if other := mustCA(t, "Postkasse sender CA"); other.Cert.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two CAs with one serial number")
	}
	if _, err := NewCA(rand.Reader, "", caNow); err == nil {
		t.Error("NewCA with an empty name succeeded")
	}
}

func TestIssueClient(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "sender CA")
	other := mustCA(t, "another CA")
	certPEM, keyPEM, cert, err := ca.IssueClient(rand.Reader, "Aarhus Kommune", "55133018", caNow, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "Aarhus Kommune" || cert.Subject.SerialNumber != "55133018" {
		t.Errorf("subject %s", cert.Subject)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("extended key usage %v, want clientAuth only", cert.ExtKeyUsage)
	}
	if cert.IsCA || !cert.BasicConstraintsValid {
		t.Error("a client certificate may act as a CA")
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %b", cert.KeyUsage)
	}
	if !cert.NotBefore.Equal(caNow.Add(-5*time.Minute)) || !cert.NotAfter.Equal(caNow.Add(365*24*time.Hour)) {
		t.Errorf("validity %s to %s", cert.NotBefore, cert.NotAfter)
	}
	// The PEM is what was parsed, and the key belongs to it.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pair.Certificate[0], cert.Raw) {
		t.Error("certificate PEM differs from the returned certificate")
	}
	if block, _ := pem.Decode(keyPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Error("key is not a PKCS#8 PRIVATE KEY block")
	}

	tests := []struct {
		name  string
		pool  *x509.CertPool
		usage x509.ExtKeyUsage
		at    time.Time
		ok    bool
	}{
		{"client auth", ca.Pool(), x509.ExtKeyUsageClientAuth, caNow, true},
		{"client auth, 5 minutes early (clock skew)", ca.Pool(), x509.ExtKeyUsageClientAuth, caNow.Add(-4 * time.Minute), true},
		{"server auth", ca.Pool(), x509.ExtKeyUsageServerAuth, caNow, false},
		{"another CA's pool", other.Pool(), x509.ExtKeyUsageClientAuth, caNow, false},
		{"expired", ca.Pool(), x509.ExtKeyUsageClientAuth, caNow.Add(366 * 24 * time.Hour), false},
		{"not yet valid", ca.Pool(), x509.ExtKeyUsageClientAuth, caNow.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		_, err := cert.Verify(x509.VerifyOptions{Roots: tt.pool, KeyUsages: []x509.ExtKeyUsage{tt.usage}, CurrentTime: tt.at})
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify err = %v, want ok %v", tt.name, err, tt.ok)
		}
	}

	// A certificate from another CA does not verify against this one.
	_, _, foreign, err := other.IssueClient(rand.Reader, "Aarhus Kommune", "55133018", caNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := foreign.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: caNow}); err == nil {
		t.Error("another CA's certificate verifies")
	}

	// Each certificate has its own serial number and fingerprint.
	_, _, again, err := ca.IssueClient(rand.Reader, "Aarhus Kommune", "55133018", caNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if again.SerialNumber.Cmp(cert.SerialNumber) == 0 || Fingerprint(again) == Fingerprint(cert) {
		t.Error("two certificates share a serial number or fingerprint")
	}
}

func TestIssueErrors(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "sender CA")
	tests := []struct {
		name string
		fn   func() error
	}{
		{"empty common name", func() error {
			_, _, _, err := ca.IssueClient(rand.Reader, "", "1", caNow, time.Hour)
			return err
		}},
		{"zero validity", func() error {
			_, _, _, err := ca.IssueClient(rand.Reader, "s", "1", caNow, 0)
			return err
		}},
		{"negative validity", func() error {
			_, _, _, err := ca.IssueClient(rand.Reader, "s", "1", caNow, -time.Hour)
			return err
		}},
		{"outlives the CA", func() error {
			_, _, _, err := ca.IssueClient(rand.Reader, "s", "1", caNow, 11*365*24*time.Hour)
			return err
		}},
		{"no hosts", func() error {
			_, err := ca.IssueServer(rand.Reader, nil, caNow, time.Hour)
			return err
		}},
		{"empty host", func() error {
			_, err := ca.IssueServer(rand.Reader, []string{"localhost", ""}, caNow, time.Hour)
			return err
		}},
		{"server certificate outlives the CA", func() error {
			_, err := ca.IssueServer(rand.Reader, []string{"localhost"}, caNow.AddDate(10, 0, 0), time.Hour)
			return err
		}},
		{"broken random serial", func() error {
			_, _, _, err := ca.IssueClient(io.LimitReader(rand.Reader, 0), "s", "1", caNow, time.Hour)
			return err
		}},
	}
	for _, tt := range tests {
		if err := tt.fn(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestIssueServer(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "sender CA")
	tc, err := ca.IssueServer(rand.Reader, []string{"localhost", "127.0.0.1", "::1", "postkasse.example"}, caNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := tc.Leaf
	if len(cert.DNSNames) != 2 || cert.DNSNames[0] != "localhost" || cert.DNSNames[1] != "postkasse.example" {
		t.Errorf("DNS names %v", cert.DNSNames)
	}
	if len(cert.IPAddresses) != 2 || !cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !cert.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IP addresses %v", cert.IPAddresses)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("extended key usage %v, want serverAuth only", cert.ExtKeyUsage)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "postkasse.example"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host, CurrentTime: caNow}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "evil.example", CurrentTime: caNow}); err == nil {
		t.Error("verifies for a host it was not issued for")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: caNow}); err == nil {
		t.Error("a server certificate verifies for client auth")
	}
}

func TestLoadCA(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "sender CA")
	certPEM, keyPEM, err := ca.PEM()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.Cert.Raw, ca.Cert.Raw) || !loaded.key.Equal(ca.key) {
		t.Error("loaded another CA")
	}
	// The loaded CA issues certificates that the original's pool trusts.
	_, _, cert, err := loaded.IssueClient(rand.Reader, "s", "1", caNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: caNow}); err != nil {
		t.Error(err)
	}
	// PEM is stable: saving a loaded CA writes the same files.
	c2, k2, err := loaded.PEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c2, certPEM) || !bytes.Equal(k2, keyPEM) {
		t.Error("PEM of a loaded CA differs")
	}
}

func TestLoadCAErrors(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "sender CA")
	certPEM, keyPEM, err := ca.PEM()
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeyPEM, err := mustCA(t, "another CA").PEM()
	if err != nil {
		t.Fatal(err)
	}
	// A client certificate with its own key: a matching pair, but no CA.
	leafPEM, leafKeyPEM, _, err := ca.IssueClient(rand.Reader, "s", "1", caNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	edPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER})
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	p384PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER})
	keyBlock, _ := pem.Decode(keyPEM)
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyBlock.Bytes})

	tests := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"mismatched key", certPEM, otherKeyPEM, "does not match"},
		{"leaf certificate", leafPEM, leafKeyPEM, "not a CA"},
		{"Ed25519 key", certPEM, edPEM, "not an ECDSA P-256 key"},
		{"P-384 key", certPEM, p384PEM, "not an ECDSA P-256 key"},
		{"key in the wrong block type", certPEM, sec1, "want \"PRIVATE KEY\""},
		{"key and certificate swapped", keyPEM, certPEM, "want \"CERTIFICATE\""},
		{"no certificate", nil, keyPEM, "no PEM block"},
		{"no key", certPEM, nil, "no PEM block"},
		{"garbage", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), keyPEM, "load ca certificate"},
		{"two certificates", append(bytes.Clone(certPEM), leafPEM...), keyPEM, "data after"},
		{"two keys", certPEM, append(bytes.Clone(keyPEM), otherKeyPEM...), "data after"},
	}
	for _, tt := range tests {
		_, err := LoadCA(tt.cert, tt.key)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one that says %q", tt.name, err, tt.want)
		}
	}
	// White space around the blocks is fine.
	if _, err := LoadCA(append([]byte("\n"), certPEM...), append(bytes.Clone(keyPEM), "\n\n"...)); err != nil {
		t.Errorf("white space: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "sender CA")
	sum := sha256.Sum256(ca.Cert.Raw)
	if got := Fingerprint(ca.Cert); got != hex.EncodeToString(sum[:]) || len(got) != 64 || got != strings.ToLower(got) {
		t.Errorf("Fingerprint = %s", got)
	}
}

// TestTLSClientAuth runs real TLS handshakes over loopback: a server with
// an IssueServer certificate that requires client certificates from the
// CA, and clients with various certificates.
func TestTLSClientAuth(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca, err := NewCA(rand.Reader, "sender CA", now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA(rand.Reader, "another CA", now)
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer(rand.Reader, []string{"localhost", "127.0.0.1"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clientPair := func(ca *CA) tls.Certificate {
		certPEM, keyPEM, _, err := ca.IssueClient(rand.Reader, "Aarhus Kommune", "55133018", now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}
	// A server certificate from the right CA must not pass as a client's.
	wrongUsage, err := ca.IssueServer(rand.Reader, []string{"sender.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		certs  []tls.Certificate
		wantOK bool
	}{
		{"client certificate from the CA", []tls.Certificate{clientPair(ca)}, true},
		{"client certificate from another CA", []tls.Certificate{clientPair(other)}, false},
		{"server certificate from the CA", []tls.Certificate{wrongUsage}, false},
		{"no client certificate", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type result struct {
				cn  string
				err error
			}
			done := make(chan result, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- result{err: err}
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				conn := tls.Server(c, &tls.Config{
					Certificates: []tls.Certificate{serverCert},
					ClientAuth:   tls.RequireAndVerifyClientCert,
					ClientCAs:    ca.Pool(),
					MinVersion:   tls.VersionTLS12,
				})
				if err := conn.Handshake(); err != nil {
					done <- result{err: err}
					return
				}
				peer := conn.ConnectionState().PeerCertificates[0]
				_, err = conn.Write([]byte("ok"))
				done <- result{cn: peer.Subject.CommonName, err: err}
			}()

			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			conn := tls.Client(c, &tls.Config{
				// Send the certificate even when its issuer is not one the
				// server asks for (Go's client would otherwise send none), so
				// that the server's own check is what is tested.
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					if len(tt.certs) == 0 {
						return &tls.Certificate{}, nil
					}
					return &tt.certs[0], nil
				},
				RootCAs:    ca.Pool(),
				ServerName: "localhost",
				MinVersion: tls.VersionTLS12,
			})
			// In TLS 1.3 the client's handshake ends before the server has
			// checked the client's certificate; the server's verdict shows
			// on the first read.
			clientErr := conn.Handshake()
			if clientErr == nil {
				buf := make([]byte, 2)
				_, clientErr = io.ReadFull(conn, buf)
			}
			res := <-done
			if tt.wantOK {
				if clientErr != nil || res.err != nil {
					t.Fatalf("client: %v; server: %v", clientErr, res.err)
				}
				if res.cn != "Aarhus Kommune" {
					t.Errorf("server saw client %q", res.cn)
				}
				return
			}
			if res.err == nil {
				t.Error("server accepted the client")
			}
			if clientErr == nil {
				t.Error("client saw no failure")
			}
			var certErr *tls.CertificateVerificationError
			if tt.certs != nil && !errors.As(res.err, &certErr) {
				t.Errorf("server error %v is not a certificate verification error", res.err)
			}
		})
	}

	// And the client refuses a server whose certificate is from another CA.
	t.Run("server from another CA", func(t *testing.T) {
		t.Parallel()
		otherServer, err := other.IssueServer(rand.Reader, []string{"localhost"}, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{otherServer}}).Handshake()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		err = tls.Client(c, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}).Handshake()
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("client handshake: err = %v, want an unknown authority error", err)
		}
	})
}
