package guard

import (
	"net"
	"sync"
)

// LimitConnsPerAddress returns ln with at most max connections open at
// once from one client address (the peer's IP), so that one client, or
// many behind one address, cannot hold the server's connections and the
// goroutine and buffers of each: a connection over the cap is closed as
// soon as it is accepted, before a byte is read. max ≤ 0 is no cap (a
// server behind a reverse proxy, where every client has the proxy's
// address). Wrap the TCP listener, under TLS, so a refused connection
// costs no handshake.
func LimitConnsPerAddress(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &connsPerAddress{Listener: ln, max: max, open: map[string]int{}}
}

type connsPerAddress struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[string]int // by IP
}

// Accept returns the next connection within the cap, closing those over
// it.
func (l *connsPerAddress) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := c.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		l.mu.Lock()
		if l.open[ip] >= l.max {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &countedConn{Conn: c, done: sync.OnceFunc(func() { l.closed(ip) })}, nil
	}
}

func (l *connsPerAddress) closed(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// countedConn gives its place back when closed (once, however often it
// is closed).
type countedConn struct {
	net.Conn
	done func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.done()
	return err
}
