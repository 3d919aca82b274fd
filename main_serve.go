package main

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/internal/durable"
)

// listener is one server of the appliance on one address.
type listener struct {
	name string // "http", "https"
	ln   net.Listener
	srv  *http.Server
}

// listen opens addr, wrapping it in TLS when cfg is not nil.
func listen(name, addr string, h http.Handler, cfg *tls.Config, log *slog.Logger) (listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return listener{}, fmt.Errorf("--%s %q: want host:port: %w", name, addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return listener{}, fmt.Errorf("listen on %s for %s: %w", addr, name, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return newListener(name, ln, h, log), nil
}

// maxStreamsPerConnection caps the requests one HTTP/2 connection has in
// flight: a bulk sender that wants more opens another connection (Go's
// client does so by itself), which server.connections_per_address counts.
const maxStreamsPerConnection = 32

// newListener returns the server of h on an open listener.
func newListener(name string, ln net.Listener, h http.Handler, log *slog.Logger) listener {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       httpui.ReadTimeout, // uploads of large letters
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// One HTTP/2 connection carries at most this many requests at
		// once (Go's default is 250): with server.connections_per_address
		// it bounds what one client address holds open.
		HTTP2:    &http.HTTP2Config{MaxConcurrentStreams: maxStreamsPerConnection},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return listener{name: name, ln: ln, srv: srv}
}

// serve runs the listeners until ctx is done or one fails, then shuts all
// down gracefully: requests in flight (deliveries among them) finish, new
// ones are refused. It waits 30 seconds for them at most.
func serve(ctx context.Context, log *slog.Logger, ls ...listener) error {
	return serveUntil(ctx, log, 30*time.Second, ls...)
}

// serveUntil is serve with the time it waits for requests in flight.
func serveUntil(ctx context.Context, log *slog.Logger, grace time.Duration, ls ...listener) error {
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func() {
			err := l.srv.Serve(l.ln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// All listeners stop accepting at once; then each waits for its
	// requests in flight.
	serr := make(chan error, len(ls))
	for _, l := range ls {
		go func() {
			if e := l.srv.Shutdown(shutdownCtx); e != nil {
				serr <- fmt.Errorf("shut down %s: %w", l.name, e)
				return
			}
			serr <- nil
		}()
	}
	for range ls {
		if e := <-serr; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// loadOrCreateCA loads the sender CA from dir (ca.crt, ca.key) or makes a
// new one there.
func loadOrCreateCA(dir, name string) (*crypto.CA, error) {
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		ca, err := crypto.LoadCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("sender CA in %s: %w", dir, err)
		}
		return ca, nil
	case !errors.Is(certErr, os.ErrNotExist) || !errors.Is(keyErr, os.ErrNotExist):
		return nil, fmt.Errorf("sender CA in %s: need both ca.crt and ca.key: %w", dir, errors.Join(certErr, keyErr))
	}
	ca, err := crypto.NewCA(cryptorand.Reader, name, time.Now())
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err = ca.PEM()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// writeFileAtomic writes data to path through a synced temporary file and
// a rename, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(path))
}
