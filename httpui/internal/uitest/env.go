package uitest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// Options are the store's settings in an Env.
type Options struct {
	Limits     store.Limits
	StoreClock func() time.Time // the store's clock (sessions); nil = real time
	Retention  store.RetentionPolicy
	// Seed, when set, is a gzipped database file the store starts from
	// (an older schema, residents made before an upgrade).
	Seed string
}

// Server is what an Env serves: the appliance's handler, and the TLS
// configuration of its HTTPS listener (httpui.TLSConfig, which this
// package cannot import: httpui's own tests use it).
type Server struct {
	Handler   http.Handler
	TLSConfig func(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), senderCAs *x509.CertPool) *tls.Config
}

// Env is a real appliance on loopback: a bbolt store in a temporary
// folder, the server on an HTTP and an HTTPS listener, and a sender CA.
type Env struct {
	T        testing.TB
	Store    *store.Store
	CA       *crypto.CA
	Clock    *testsupport.Clock // the server's clock
	Logs     *SyncBuffer        // the server's log
	Handler  http.Handler
	HTTPURL  string
	HTTPSURL string
}

// NewEnv opens the store, starts the server that start builds over it
// (with the Env's Store, Clock and Logs, which start reads) and serves it
// until the test ends. When the test ends the listeners close, then the
// store is checked and closed.
func NewEnv(t testing.TB, opts Options, start func(e *Env) (Server, error)) *Env {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "postkasse.db")
	if opts.Seed != "" {
		gunzipFile(t, opts.Seed, dbPath)
	}
	st, err := store.Open(dbPath, store.Options{
		KDF:       crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1},
		Limits:    opts.Limits,
		Clock:     opts.StoreClock,
		Retention: opts.Retention,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the listeners close first, then the
	// store is checked and closed.
	t.Cleanup(func() {
		if err := st.Check(context.Background()); err != nil {
			t.Errorf("store check: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	e := &Env{T: t, Store: st, Clock: testsupport.NewClock(), Logs: &SyncBuffer{}, CA: testsupport.NewCA(t)}
	srv, err := start(e)
	if err != nil {
		t.Fatal(err)
	}
	e.Handler = srv.Handler
	e.HTTPURL = "http://" + Serve(t, srv.Handler, nil)
	e.HTTPSURL = "https://" + Serve(t, srv.Handler, srv.TLSConfig(e.ServerCert(), e.CA.Pool()))
	return e
}

// Logger is a logger that writes to e.Logs, for the server.
func (e *Env) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(e.Logs, nil)) }

// SyncBuffer collects the server's log lines, for tests that check what
// is (not) logged.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
