package httpui

import (
	"crypto/tls"
	"crypto/x509"
)

// TLSConfig returns the HTTPS listener's config: TLS 1.2 or later, the
// server certificate from getCert, and client certificates requested
// (tls.VerifyClientCertIfGiven) and verified against senderCAs in the
// handshake. A browser without a certificate gets the web UI; a sender's
// certificate that does not chain to senderCAs (or has expired) fails the
// handshake; the API refuses any request without a verified chain. It
// offers HTTP/2 ("h2" in ALPN, RFC 9113 §3.2) and HTTP/1.1, so every TLS
// listener of the appliance serves both: http.Server.Serve takes h2 on a
// TLS connection that negotiated it.
func TLSConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), senderCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCert,
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      senderCAs,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
