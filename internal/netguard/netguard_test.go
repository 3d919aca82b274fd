package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2a00:1450:4001:80e::200e": true, "8.8.8.8": true,
		"127.0.0.1": false, "127.8.9.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false,
		"172.31.255.255": false, "192.168.1.1": false, "169.254.169.254": false, "fe80::1": false,
		"fc00::1": false, "fd12:3456::1": false, "0.0.0.0": false, "::": false, "224.0.0.1": false,
		"ff02::1": false, "100.64.0.1": false, "255.255.255.255": false, "::ffff:127.0.0.1": false,
		"::ffff:10.0.0.1": false, "64:ff9b::a00:1": false, "2002:a00:1::": false, "0.1.2.3": false,
		"198.18.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestCheckHost: literals and names resolving to loopback are refused
// unless private addresses are allowed.
func TestCheckHost(t *testing.T) {
	ctx := context.Background()
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "10.0.0.7", "169.254.169.254"} {
		if err := (Guard{}).CheckHost(ctx, host); !errors.Is(err, ErrNotPublic) {
			t.Errorf("CheckHost(%s) = %v, want ErrNotPublic", host, err)
		}
		if err := (Guard{AllowPrivate: true}).CheckHost(ctx, host); err != nil {
			t.Errorf("CheckHost(%s) allowing private = %v", host, err)
		}
	}
	if err := (Guard{}).CheckHost(ctx, "93.184.216.34"); err != nil {
		t.Errorf("CheckHost(public literal) = %v", err)
	}
}

// TestControlRefusesAtConnection: a client dialling through the guard
// cannot reach a loopback server, whatever the URL's host, and can with
// private addresses allowed.
func TestControlRefusesAtConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	client := func(g Guard) *http.Client {
		d := &net.Dialer{Timeout: 2 * time.Second, Control: g.Control}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/"} {
		resp, err := client(Guard{}).Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s through the guard: no error", u)
		} else if !errors.Is(err, ErrNotPublic) {
			t.Errorf("GET %s: %v, want ErrNotPublic", u, err)
		}
	}
	resp, err := client(Guard{AllowPrivate: true}).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowing private: %v", err)
	}
	resp.Body.Close()
}
