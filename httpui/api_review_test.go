package httpui

import (
	cryptorand "crypto/rand"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// TestReviewExpiredCertificateOnOpenConnection (security review): a
// sender certificate's validity is checked only in the TLS handshake.
// withSender checks revocation on every request (SenderByCertificate) but
// not NotAfter, so a client that keeps its connection busy (HTTP/1.1
// keep-alive, or one HTTP/2 connection) goes on delivering as that sender
// after its certificate has expired, for as long as it likes. API.md: an
// expired certificate is 401 UNAUTHENTICATED.
func TestReviewExpiredCertificateOnOpenConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addResident(nidAnna, "Anna Jensen")
	const validity = 2 * time.Second
	certPEM, keyPEM, cert, err := e.ca.IssueClient(cryptorand.Reader, "Short Lived", "12121212", time.Now(), validity)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := e.store.AddSender("Short Lived", "12121212", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.BindCertificate(snd.ID, cert); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(&tls.Config{RootCAs: e.ca.Pool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }})

	if r := e.deliver(c, validDelivery("before-expiry")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery while valid: %d %s", r.StatusCode, r.body)
	}
	time.Sleep(time.Until(cert.NotAfter) + time.Second)
	// The server's clock (Config.Clock) is past the expiry too, whichever
	// clock a fix checks against.
	e.clock.Advance(time.Since(e.clock.Now()) + time.Minute)
	// The same client, on the connection it keeps open.
	r := e.deliver(c, validDelivery("after-expiry")...)
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("delivery with a certificate that expired at %s: %d, want 401", cert.NotAfter.Format(time.RFC3339), r.StatusCode)
	}
}
