// Package acme gives the appliance its TLS certificate automatically: it
// obtains the certificate for the appliance's one DNS name from an ACME CA
// (RFC 8555) with certmagic, keeps it and the ACME account in the data
// folder (DATA/certs), renews it in the background, and serves it.
//
// Everything is built from a certmagic.Config of this package's own: no
// certmagic.Default, no package-level helpers, so two Managers in one
// process (as in the tests) do not share settings or storage.
//
// Challenges are answered on the appliance's own listeners, never on
// listeners certmagic would open itself:
//
//   - HTTP-01 (RFC 8555 §8.3) on the HTTP listener: HTTPHandler answers
//     /.well-known/acme-challenge/ and redirects everything else to HTTPS.
//   - TLS-ALPN-01 (RFC 8737) on the HTTPS listener: TLSConfig offers the
//     "acme-tls/1" protocol next to h2 and http/1.1, and certmagic's
//     GetCertificate answers a handshake for it with the challenge
//     certificate.
//
// The ports of those listeners are given to certmagic as its "alternate"
// challenge ports, so when it tries to listen there itself it finds the
// address in use and relies on ours.
//
// The HTTPS listener's TLS configuration also asks for a client
// certificate (verified against the sender CA if one is given, never
// required in the handshake): the sender API on the same port checks it
// per request (package httpui), the web UI does not need it.
//
// When the ACME CA cannot be reached, a certificate already in DATA/certs
// keeps being served, and renewal is retried with back-off by certmagic.
package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"go.uber.org/zap"

	"github.com/postkasse/postkasse/httpui"
)

// Config is what a Manager needs; main builds it from postkasse.toml.
type Config struct {
	// Domain is the appliance's DNS name, the certificate's one subject.
	Domain string
	// CA is the ACME directory URL.
	CA string
	// Email is the ACME account's contact address; may be empty.
	Email string
	// TrustedRoots are roots trusted for the ACME CA's own HTTPS besides
	// the system's (a private ACME CA); nil for the system's only.
	TrustedRoots *x509.CertPool
	// HTTPChallenge and TLSALPNChallenge allow the two challenge types.
	HTTPChallenge, TLSALPNChallenge bool
	// ListenHost, HTTPPort and HTTPSPort are the host and ports of the
	// appliance's listeners, on which the challenges are answered.
	ListenHost          string
	HTTPPort, HTTPSPort int
	// StorageDir is where certificates and the ACME account are kept
	// (DATA/certs).
	StorageDir string
	// Logger receives certmagic's log; nil discards it.
	Logger *zap.Logger

	// RenewCheckInterval is how often certificates are checked for
	// renewal; zero is certmagic's default (10 minutes).
	RenewCheckInterval time.Duration
	// RenewalWindowRatio is the part of a certificate's lifetime left when
	// it is renewed; zero is certmagic's default (1/3).
	RenewalWindowRatio float64
	// OnEvent, if not nil, is told of certmagic's events (cert_obtained,
	// cert_failed, cached_managed_cert …); for logs and tests.
	OnEvent func(event string, data map[string]any)
}

// Manager obtains, renews and serves the appliance's certificate.
type Manager struct {
	domain    string
	httpsPort int
	cache     *certmagic.Cache
	magic     *certmagic.Config
	issuer    *certmagic.ACMEIssuer
	log       *zap.Logger

	readyOnce sync.Once
	ready     chan struct{}
	stopOnce  sync.Once
	cancel    context.CancelFunc
	ctx       context.Context
}

// New builds a Manager. It does not contact the CA; Start does.
func New(cfg Config) (*Manager, error) {
	if cfg.Domain == "" {
		return nil, errors.New("acme: no domain")
	}
	if cfg.CA == "" {
		return nil, errors.New("acme: no ACME directory URL")
	}
	if cfg.StorageDir == "" {
		return nil, errors.New("acme: no storage folder")
	}
	if !cfg.HTTPChallenge && !cfg.TLSALPNChallenge {
		return nil, errors.New("acme: both challenge types are disabled")
	}
	if (cfg.HTTPChallenge && cfg.HTTPPort <= 0) || cfg.HTTPSPort <= 0 {
		return nil, fmt.Errorf("acme: listener ports http %d https %d", cfg.HTTPPort, cfg.HTTPSPort)
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		domain:    cfg.Domain,
		httpsPort: cfg.HTTPSPort,
		log:       log,
		ready:     make(chan struct{}),
		ctx:       ctx,
		cancel:    cancel,
	}
	// The cache needs the config and the config the cache: the cache asks
	// for the config of a certificate through this closure.
	var magic *certmagic.Config
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		RenewCheckInterval: cfg.RenewCheckInterval,
		Logger:             log,
	})
	magic = certmagic.New(m.cache, certmagic.Config{
		RenewalWindowRatio: cfg.RenewalWindowRatio,
		Storage:            &certmagic.FileStorage{Path: cfg.StorageDir},
		KeySource:          certmagic.StandardKeyGenerator{KeyType: certmagic.P256},
		// A client that sends no SNI (a health check by IP address)
		// still gets the appliance's certificate.
		DefaultServerName: cfg.Domain,
		Logger:            log,
		OnEvent: func(ctx context.Context, event string, data map[string]any) error {
			if event == "cached_managed_cert" && m.covers(data) {
				m.readyOnce.Do(func() { close(m.ready) })
			}
			if cfg.OnEvent != nil {
				cfg.OnEvent(event, data)
			}
			return nil
		},
	})
	httpPort := cfg.HTTPPort
	if !cfg.HTTPChallenge {
		httpPort = 0
	}
	m.issuer = certmagic.NewACMEIssuer(magic, certmagic.ACMEIssuer{
		// TestCA is left to certmagic: with Let's Encrypt's production CA,
		// a retry after a failure is first tried against its staging CA,
		// which spares the production rate limits; with any other CA
		// there is no test CA.
		CA:    cfg.CA,
		Email: cfg.Email,
		// Running the appliance with this CA configured is agreeing to
		// its terms; docs/OPERATORS.md says so.
		Agreed:                  true,
		DisableHTTPChallenge:    !cfg.HTTPChallenge,
		DisableTLSALPNChallenge: !cfg.TLSALPNChallenge,
		ListenHost:              cfg.ListenHost,
		AltHTTPPort:             httpPort,
		AltTLSALPNPort:          cfg.HTTPSPort,
		TrustedRoots:            cfg.TrustedRoots,
		Logger:                  log,
	})
	magic.Issuers = []certmagic.Issuer{m.issuer}
	m.magic = magic
	return m, nil
}

// covers reports whether a cached_managed_cert event is about our domain.
func (m *Manager) covers(data map[string]any) bool {
	sans, _ := data["sans"].([]string)
	return slices.Contains(sans, m.domain)
}

// Start manages the certificate: one already in storage is loaded into
// memory before Start returns (so it is served even when the CA is
// unreachable); a missing or expiring one is obtained or renewed in the
// background, retried with back-off until it succeeds or Stop is called.
func (m *Manager) Start() error {
	if err := m.magic.ManageAsync(m.ctx, []string{m.domain}); err != nil {
		return fmt.Errorf("acme: manage %s: %w", m.domain, err)
	}
	return nil
}

// Ready is closed once a certificate for the domain is in memory, ready to
// be served: at once after Start when storage had one, or after the first
// one is obtained.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Stop ends renewals and background attempts. The certificate stays in
// storage for the next start.
func (m *Manager) Stop() {
	m.stopOnce.Do(func() {
		m.cancel()
		m.cache.Stop()
	})
}

// TLSConfig returns the HTTPS listener's TLS configuration: the managed
// certificate, TLS 1.2 or later, h2, http/1.1 and acme-tls/1 (RFC 8737 §6)
// as application protocols, and, from httpui.TLSConfig, a client
// certificate requested and verified against senderCAs if one is sent.
func (m *Manager) TLSConfig(senderCAs *x509.CertPool) *tls.Config {
	cfg := httpui.TLSConfig(m.magic.GetCertificate, senderCAs)
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	for _, p := range []string{"h2", "http/1.1", acmez.ACMETLS1Protocol} {
		if !slices.Contains(cfg.NextProtos, p) {
			cfg.NextProtos = append(cfg.NextProtos, p)
		}
	}
	return cfg
}

// HTTPHandler returns the HTTP listener's handler: ACME HTTP-01 challenges
// are answered, every other request is redirected to the same path on
// https://DOMAIN (httpui.RedirectHTTPS).
func (m *Manager) HTTPHandler() http.Handler {
	return m.issuer.HTTPChallengeHandler(httpui.RedirectHTTPS(m.domain, m.httpsPort))
}
