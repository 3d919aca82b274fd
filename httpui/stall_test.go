package httpui

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBoundStalls: on a real socket, a body that stops sending fails its
// read after the stall time and the connection is closed after the
// answer; a body read whole leaves the request's context alone however
// long the handler then works (the server's background read has the
// request's deadline again, not the stall's).
func TestBoundStalls(t *testing.T) {
	t.Parallel()
	const stall = 200 * time.Millisecond
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "canceled", http.StatusInternalServerError)
		case <-time.After(3 * stall): // a handler at work after the body
			io.WriteString(w, "ok")
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: boundStalls(h, stall), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: ReadTimeout}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	send := func(body string, length int) (*http.Response, string, *bufio.Reader) {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", length, body)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		return resp, string(text), br
	}

	resp, text, br := send("half", 8)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "sent nothing for 200ms") {
		t.Errorf("stalled body: %d %q", resp.StatusCode, text)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the connection of a stalled body stays open: %v", err)
	}
	if resp, text, _ := send("whole", 5); resp.StatusCode != http.StatusOK || text != "ok" {
		t.Errorf("a handler at work after its whole body: %d %q", resp.StatusCode, text)
	}
}
