package guard

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimitConnsPerAddress: 2,000 clients from one address that open a
// connection and send nothing hold no more than the cap of the server's
// connections (and their goroutines): the others are closed at once.
// Another address is served meanwhile, and a place that comes free is
// taken again. Real sockets on loopback (127.0.0.2 is another address).
func TestLimitConnsPerAddress(t *testing.T) {
	const (
		clients = 2000
		cap     = 64
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: time.Minute,
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}
	go srv.Serve(LimitConnsPerAddress(ln, cap))
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	get := func(from string) error {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}

	runtime.GC()
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, clients)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", addr); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	// A connection over the cap is closed at once (EOF); one within it
	// waits for the request the client never sends (a time-out here).
	var closed, held atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err := c.Read(make([]byte, 1))
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				held.Add(1)
			case err != nil:
				closed.Add(1)
			}
		})
	}
	wg.Wait()
	if held.Load() != cap || closed.Load() != clients-cap {
		t.Fatalf("%d connections held and %d closed, want %d and %d", held.Load(), closed.Load(), cap, clients-cap)
	}
	if n := open.Load(); n != cap {
		t.Errorf("the server has %d connections open, want %d", n, cap)
	}
	if n := runtime.NumGoroutine() - before; n > cap+16 {
		t.Errorf("%d more goroutines with %d clients, want about %d", n, clients, cap)
	}
	if err := get("127.0.0.2"); err != nil {
		t.Errorf("another address while the first holds its cap: %v", err)
	}
	// A place that comes free is taken again.
	for _, c := range conns {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := get("127.0.0.1")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first address after closing its connections: %v", err)
		}
		runtime.Gosched()
	}
}
