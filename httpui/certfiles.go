package httpui

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// certFilesCheck is how often CertificateFiles looks whether its files
// changed: a handshake at most this long after the operator replaced them
// gets the old certificate.
const certFilesCheck = 10 * time.Second

// CertificateFiles serves a certificate the operator keeps in two PEM
// files ([tls] in postkasse.toml) instead of one from ACME, and reads them
// again when either changes. A replacement that does not load (a chain
// without its key, half written) is not taken: the certificate loaded
// before stays in use and Err says why.
type CertificateFiles struct {
	certPath, keyPath, domain string
	clock                     func() time.Time
	// Log, when set, gets an ERROR line for each version of the files
	// that is not taken, and a WARN line a day while the certificate in
	// use expires within two weeks.
	Log *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // the files' sizes and times when cert was loaded
	checked time.Time // when the files were last looked at
	err     error     // why the files on disk were not taken, or nil
	// refused is the stamp of the files last refused, so each version
	// is logged once; warned is when the expiry was last warned of.
	refused string
	warned  time.Time
}

// expiryWarning is how long before its end the certificate in use is
// warned of.
const expiryWarning = 14 * 24 * time.Hour

// LoadCertificateFiles loads the certificate chain in certPath and its key
// in keyPath, which must be valid now and for domain.
func LoadCertificateFiles(certPath, keyPath, domain string, clock func() time.Time) (*CertificateFiles, error) {
	if clock == nil {
		clock = time.Now
	}
	c := &CertificateFiles{certPath: certPath, keyPath: keyPath, domain: domain, clock: clock}
	stamp, err := c.stampNow()
	if err != nil {
		return nil, err
	}
	cert, err := c.load()
	if err != nil {
		return nil, err
	}
	c.cert, c.stamp, c.checked = cert, stamp, clock()
	return c, nil
}

// stampNow describes the files as they are on disk.
func (c *CertificateFiles) stampNow() (string, error) {
	var stamp string
	for _, p := range []string{c.certPath, c.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
		stamp += strconv.FormatInt(fi.Size(), 10) + "@" + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + " "
	}
	return stamp, nil
}

// load reads and checks the files.
func (c *CertificateFiles) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return nil, fmt.Errorf("tls: %s and %s: %w", c.certPath, c.keyPath, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		return nil, fmt.Errorf("tls: %s: no certificate", c.certPath)
	}
	if err := leaf.VerifyHostname(c.domain); err != nil {
		return nil, fmt.Errorf("tls: %s is not for the domain %s: %w", c.certPath, c.domain, err)
	}
	now := c.clock()
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("tls: %s is valid from %s to %s, not now", c.certPath,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

// GetCertificate is tls.Config's GetCertificate: the certificate, read
// again first when the files changed.
func (c *CertificateFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock()
	if now.Sub(c.checked) < certFilesCheck {
		return c.cert, nil
	}
	c.checked = now
	if left := c.cert.Leaf.NotAfter.Sub(now); left < expiryWarning && now.Sub(c.warned) > 24*time.Hour && c.Log != nil {
		c.warned = now
		c.Log.Warn("tls: the certificate expires soon; replace the files", "file", c.certPath,
			"expires", c.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	stamp, err := c.stampNow()
	if err == nil && stamp == c.stamp {
		return c.cert, nil
	}
	var cert *tls.Certificate
	if err == nil {
		cert, err = c.load()
	}
	if err != nil {
		c.err = err
		if stamp != c.refused && c.Log != nil {
			c.refused = stamp
			c.Log.Error("tls: the replaced certificate files are not taken; the one loaded before is served", "err", err,
				"expires", c.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		return c.cert, nil
	}
	c.cert, c.stamp, c.err = cert, stamp, nil
	if c.Log != nil {
		c.Log.Info("tls: the certificate files were replaced and taken", "file", c.certPath,
			"expires", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return c.cert, nil
}

// Err says why the files on disk were last not taken; nil when the
// certificate in use is theirs.
func (c *CertificateFiles) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// RedirectHTTPS is the HTTP listener's handler when no ACME challenge is
// answered there: every request is redirected to the same path on
// https://DOMAIN (with the HTTPS port unless it is 443). The redirect
// always names the configured domain, never the request's Host, so the
// HTTP listener cannot be made to redirect elsewhere.
func RedirectHTTPS(domain string, httpsPort int) http.Handler {
	host := domain
	if httpsPort != 443 {
		host = net.JoinHostPort(domain, strconv.Itoa(httpsPort))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := "https://" + host + r.URL.RequestURI()
		w.Header().Set("Connection", "close")
		// 308 keeps the method and body (RFC 9110 §15.4.9), so a
		// sender's POST to http:// is not turned into a GET.
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}
