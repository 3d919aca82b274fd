package main

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/store"
)

// TestHTTPSListenerServesHTTP2: the HTTPS listener as the appliance opens
// it (listen, with httpui.TLSConfig) answers the sender API over HTTP/2
// when the client offers it, and over HTTP/1.1 when it does not.
func TestHTTPSListenerServesHTTP2(t *testing.T) {
	dir := initFolder(t)
	cfg, err := loadResolved(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildAppliance(cfg, buildOptions{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ui, err := httpui.New(httpui.Config{Store: a.store})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	l := serveHTTPS(t, a.ca, ui.Handler())

	sender, err := a.store.AddSender(context.Background(), "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, cert, err := a.ca.IssueClient(cryptorand.Reader, sender.Name, sender.OrgNumber, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.BindCertificate(context.Background(), sender.ID, cert); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{ForceAttemptHTTP2: h2,
			TLSClientConfig: &tls.Config{RootCAs: a.ca.Pool(), Certificates: []tls.Certificate{pair}}}
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		resp, err := c.Get("https://" + l.ln.Addr().String() + "/api/v1/receipt-key")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		want := 1
		if h2 {
			want = 2
		}
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != want {
			t.Errorf("client offering h2 %v: %d over %s, want 200 over HTTP/%d", h2, resp.StatusCode, resp.Proto, want)
		}
	}
}

// TestHTTP2StreamsCapped: the HTTPS listener tells an HTTP/2 client in its
// first SETTINGS frame that a connection carries at most
// maxStreamsPerConnection requests at once, so one client address holds at
// most that many per connection it may open.
func TestHTTP2StreamsCapped(t *testing.T) {
	ca, err := crypto.NewCA(cryptorand.Reader, "Test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l := serveHTTPS(t, ca, http.NotFoundHandler())

	conn, err := tls.Dial("tcp", l.ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("first frame %v, want SETTINGS", f)
	}
	v, ok := sf.Value(http2.SettingMaxConcurrentStreams)
	if !ok || v != maxStreamsPerConnection {
		t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS %d (sent %v), want %d", v, ok, maxStreamsPerConnection)
	}
}

// serveHTTPS serves h on an HTTPS listener on loopback as the appliance
// opens it (listen, with httpui.TLSConfig and a server certificate from
// ca), until the test ends.
func serveHTTPS(t *testing.T, ca *crypto.CA, h http.Handler) listener {
	t.Helper()
	serverCert, err := ca.IssueServer(cryptorand.Reader, []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := listen("https", "127.0.0.1:0", h,
		httpui.TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &serverCert, nil }, ca.Pool()), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, log, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return l
}
