// Package testservers runs the real servers the notification tests talk
// to: an SMTP server (github.com/emersion/go-smtp) that requires STARTTLS
// with a certificate from the appliance's own CA code and AUTH PLAIN, and
// an HTTP SMS gateway (httptest.Server). Both record what arrives. Only
// tests import this package.
package testservers

import (
	"bytes"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/postkasse/postkasse/crypto"
)

// Mail is a message the SMTP server accepted.
type Mail struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool   // the message came over TLS (after STARTTLS)
	AuthUser string // who authenticated
}

// SMTP is a running SMTP server on 127.0.0.1.
type SMTP struct {
	Host     string // "127.0.0.1"
	Port     int
	RootCAs  *x509.CertPool // trusts the server's certificate
	Username string
	Password string

	mu     sync.Mutex
	mails  []Mail
	reject map[string]int // recipient → SMTP code to refuse it with
	down   bool
}

// StartSMTP starts an SMTP server that offers STARTTLS and AUTH PLAIN and
// accepts mail only from an authenticated client over TLS. It stops at
// the end of the test.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	now := time.Now()
	ca, err := crypto.NewCA(cryptorand.Reader, "Test SMTP CA", now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer(cryptorand.Reader, []string{"127.0.0.1", "localhost"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTP{Host: "127.0.0.1", RootCAs: ca.Pool(), Username: "postkasse", Password: "s3cret-relay", reject: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.AllowInsecureAuth = false // AUTH only after STARTTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// Addr returns host:port.
func (s *SMTP) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Mails returns the messages accepted so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Reject makes the server refuse a recipient with the given code (550 for
// "no such user", 450 for "try later").
func (s *SMTP) Reject(rcpt string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject[rcpt] = code
}

// SetDown makes the server answer every MAIL FROM with 421 (service not
// available) while down is true.
func (s *SMTP) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

type session struct {
	s    *SMTP
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != se.s.Username || password != se.s.Password {
			return smtp.ErrAuthFailed
		}
		se.user = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.user == "" {
		return smtp.ErrAuthRequired
	}
	se.s.mu.Lock()
	down := se.s.down
	se.s.mu.Unlock()
	if down {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "service not available"}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	code := se.s.reject[to]
	se.s.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "recipient refused"}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	se.s.mails = append(se.s.mails, Mail{From: se.from, To: se.to, Data: data, TLS: isTLS, AuthUser: se.user})
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

// SMSRequest is a request the gateway received.
type SMSRequest struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Gateway is a running HTTP SMS gateway that records requests and
// answers with a status the test sets.
type Gateway struct {
	URL string

	mu       sync.Mutex
	requests []SMSRequest
	status   []int // answers to give, in order; the last one repeats
}

// StartGateway starts the gateway; it answers 202 until told otherwise.
func StartGateway(t testing.TB) *Gateway {
	t.Helper()
	g := &Gateway{status: []int{http.StatusAccepted}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.requests = append(g.requests, SMSRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		code := g.status[0]
		if len(g.status) > 1 {
			g.status = g.status[1:]
		}
		g.mu.Unlock()
		w.WriteHeader(code)
		io.WriteString(w, `{"status":"`+http.StatusText(code)+`"}`)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// Answer sets the status codes of the next answers; the last one repeats.
func (g *Gateway) Answer(codes ...int) {
	if len(codes) == 0 {
		panic(errors.New("Answer needs a status"))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status = codes
}

// Requests returns the requests received so far.
func (g *Gateway) Requests() []SMSRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]SMSRequest(nil), g.requests...)
}

// Header returns a mail's header field (the first), unfolded.
func Header(data []byte, name string) string {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	for i, l := range lines {
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			continue
		}
		out := string(bytes.TrimSpace(v))
		for _, cont := range lines[i+1:] {
			if len(cont) == 0 || (cont[0] != ' ' && cont[0] != '\t') {
				break
			}
			out += " " + string(bytes.TrimSpace(cont))
		}
		return out
	}
	return ""
}

// Body returns a single-part mail's body, decoded from its
// Content-Transfer-Encoding (quoted-printable, base64 or none).
func Body(data []byte) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	var r io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}
