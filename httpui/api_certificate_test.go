package httpui

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestAPICertificateExpiresOnOpenConnection: a sender's certificate is
// refused (401 UNAUTHENTICATED, API.md) once the server's clock is past
// its end, or before its start, also on a connection whose handshake saw
// it valid. (Found by the security review: the validity was checked only
// in the TLS handshake, so a client that kept its connection busy —
// HTTP/1.1 keep-alive, or one HTTP/2 connection — went on delivering as
// that sender after its certificate had expired, for as long as it
// liked.) The server's clock is Config.Clock, moved by hand: no waiting.
func TestAPICertificateExpiresOnOpenConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	certPEM, keyPEM, cert := e.issueClient(e.ca, "Short Lived", "12121212", time.Hour)
	snd, err := e.store.AddSender(context.Background(), "Short Lived", "12121212", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.BindCertificate(context.Background(), snd.ID, cert); err != nil {
		t.Fatal(err)
	}
	c := e.pairClient(certPEM, keyPEM)

	if r := e.deliver(c, validDelivery("before-expiry")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery while valid: %d %s", r.StatusCode, r.body)
	}
	// The last moment of the validity period still counts (RFC 5280
	// §4.1.2.5).
	e.clock.Advance(cert.NotAfter.Sub(e.clock.Now()))
	if r := e.deliver(c, validDelivery("at-expiry")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery at the certificate's last moment: %d %s", r.StatusCode, r.body)
	}
	// The same client, on the connection it keeps open.
	e.clock.Advance(time.Second)
	r := e.deliver(c, validDelivery("after-expiry")...)
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("delivery with a certificate that expired at %s: %d, want 401", cert.NotAfter.Format(time.RFC3339), r.StatusCode)
	}
	if p := wantProblem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED"); p.Detail != "the client certificate has expired or is not yet valid" {
		t.Errorf("detail %q", p.Detail)
	}
	// A server clock before the certificate's start (a clock set back):
	// refused too.
	e.clock.Advance(cert.NotBefore.Sub(e.clock.Now()) - time.Second)
	r = e.deliver(c, validDelivery("before-start")...)
	wantProblem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
	if n := e.deliveries(); n != 2 {
		t.Errorf("%d letters delivered, want 2", n)
	}
}
