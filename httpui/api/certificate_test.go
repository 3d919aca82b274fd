package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
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
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	certPEM, keyPEM, cert := e.IssueClient(e.CA, "Short Lived", "12121229", time.Hour)
	snd, err := e.Store.AddSender(context.Background(), "Short Lived", "12121229", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.BindCertificate(context.Background(), snd.ID, cert); err != nil {
		t.Fatal(err)
	}
	c := e.PairClient(certPEM, keyPEM)

	if r := e.Deliver(c, uitest.ValidDelivery("before-expiry")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery while valid: %d %s", r.StatusCode, r.Text)
	}
	// The last moment of the validity period still counts (RFC 5280
	// §4.1.2.5).
	e.Clock.Advance(cert.NotAfter.Sub(e.Clock.Now()))
	if r := e.Deliver(c, uitest.ValidDelivery("at-expiry")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery at the certificate's last moment: %d %s", r.StatusCode, r.Text)
	}
	// The same client, on the connection it keeps open.
	e.Clock.Advance(time.Second)
	r := e.Deliver(c, uitest.ValidDelivery("after-expiry")...)
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("delivery with a certificate that expired at %s: %d, want 401", cert.NotAfter.Format(time.RFC3339), r.StatusCode)
	}
	if p := uitest.WantProblem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED"); p.Detail != "the client certificate has expired or is not yet valid" {
		t.Errorf("detail %q", p.Detail)
	}
	// A server clock before the certificate's start (a clock set back):
	// refused too.
	e.Clock.Advance(cert.NotBefore.Sub(e.Clock.Now()) - time.Second)
	r = e.Deliver(c, uitest.ValidDelivery("before-start")...)
	uitest.WantProblem(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
	if n := e.Deliveries(); n != 2 {
		t.Errorf("%d letters delivered, want 2", n)
	}
}
