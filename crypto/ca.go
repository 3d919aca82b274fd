package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"
)

// CA is the appliance's sender CA: it issues senders' TLS client
// certificates (and, for the demo and tests, server certificates).
//
// The CA is a self-signed root with an ECDSA P-256 key (FIPS 186-5),
// valid for 10 years, that may sign certificates and CRLs and nothing else,
// and whose path length is zero, so a certificate it issues can never act
// as a CA in turn (RFC 5280 §4.2.1.9). Leaf certificates carry one extended
// key usage each (clientAuth or serverAuth, RFC 5280 §4.2.1.12), so a
// sender's client certificate is refused as a server certificate and the
// other way round. Serial numbers are 128 random bits (RFC 5280 §4.1.2.2
// allows up to 20 octets; CA/Browser Forum Baseline Requirements §7.1 ask
// for at least 64 random bits).
//
// On disk (DATA/ca/) the CA is two PEM files: the certificate as a
// "CERTIFICATE" block and the key as a PKCS#8 "PRIVATE KEY" block (RFC
// 5958). The key is not encrypted: whoever can read it can issue sender
// certificates, so the data folder's permissions protect it.
//
// The rand arguments give serial numbers. Key generation and ECDSA
// signatures use the operating system's randomness whatever rand is: since
// Go 1.26 the standard library ignores a caller's reader there (unless
// GODEBUG cryptocustomrand=1), so a weak reader cannot weaken keys.
type CA struct {
	// Cert is the CA's self-signed certificate.
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

const (
	caValidityYears = 10
	// clockSkew backdates NotBefore, so that a peer whose clock is a few
	// minutes behind still accepts a certificate issued just now.
	clockSkew = 5 * time.Minute
)

// NewCA returns a new self-signed sender CA named name, valid from now for
// 10 years.
func NewCA(rand io.Reader, name string, now time.Time) (*CA, error) {
	if name == "" {
		return nil, errors.New("new ca: empty name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("new ca: generate key: %w", err)
	}
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.AddDate(caValidityYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// RFC 5280 §4.2.1.9: no intermediate CA below this one.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("new ca: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new ca: parse certificate: %w", err)
	}
	return &CA{Cert: cert, key: key}, nil
}

// LoadCA returns the CA stored as PEM by PEM. It checks that the
// certificate is a CA certificate that may sign certificates, that it is
// self-signed, and that the key is its ECDSA P-256 key.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	certDER, err := onePEMBlock(certPEM, "CERTIFICATE")
	if err != nil {
		return nil, fmt.Errorf("load ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("load ca certificate: %w", err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("load ca certificate: not a CA certificate")
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("load ca certificate: not self-signed: %w", err)
	}
	keyDER, err := onePEMBlock(keyPEM, "PRIVATE KEY")
	if err != nil {
		return nil, fmt.Errorf("load ca key: %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(keyDER)
	clear(keyDER)
	if err != nil {
		return nil, fmt.Errorf("load ca key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("load ca key: %T is not an ECDSA P-256 key", parsed)
	}
	// A key that does not belong to the certificate would issue
	// certificates that no peer trusting the certificate accepts.
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("load ca: the key does not match the certificate")
	}
	return &CA{Cert: cert, key: key}, nil
}

// onePEMBlock returns the bytes of the one PEM block of the given type in
// data; anything but white space around it is an error.
func onePEMBlock(data []byte, typ string) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != typ {
		return nil, fmt.Errorf("PEM block %q, want %q", block.Type, typ)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("data after the %s PEM block", typ)
	}
	return block.Bytes, nil
}

// PEM returns the CA's certificate and its key (PKCS#8, "PRIVATE KEY") in
// PEM, for storing in DATA/ca/. The key is secret.
func (ca *CA) PEM() (certPEM, keyPEM []byte, err error) {
	return encodePEM(ca.Cert.Raw, ca.key)
}

func encodePEM(certDER []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	defer clear(keyDER)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// Pool returns a certificate pool holding only the CA's certificate, for
// tls.Config.ClientCAs (the server checking senders) or RootCAs (a client
// of the demo server).
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// IssueClient issues a sender's TLS client certificate: a fresh ECDSA P-256
// key, Subject CN=commonName (the sender's name) and serialNumber=orgNumber
// (the sender's organisation number, X.520 serialNumber attribute, left out
// when empty), valid from now (backdated 5 minutes for clock skew) for
// validity. It returns the certificate and key as PEM (the key as PKCS#8
// "PRIVATE KEY"), which go to the sender, and the parsed certificate, whose
// Fingerprint the appliance records to recognise the sender.
func (ca *CA) IssueClient(rand io.Reader, commonName, orgNumber string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, cert *x509.Certificate, err error) {
	if commonName == "" {
		return nil, nil, nil, errors.New("issue client certificate: empty common name")
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{CommonName: commonName, SerialNumber: orgNumber},
		// Only client authentication: a sender's certificate must not
		// serve as a TLS server certificate that the appliance's other
		// clients would trust.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, key, err := ca.issue(rand, tmpl, now, validity)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate for %q: %w", commonName, err)
	}
	certPEM, keyPEM, err = encodePEM(cert.Raw, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate for %q: %w", commonName, err)
	}
	return certPEM, keyPEM, cert, nil
}

// IssueServer issues a TLS server certificate for hosts (DNS names or IP
// addresses) with a fresh ECDSA P-256 key, valid from now (backdated 5
// minutes) for validity. It is for the demo and tests; production serves
// certificates from ACME.
func (ca *CA) IssueServer(rand io.Reader, hosts []string, now time.Time, validity time.Duration) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("issue server certificate: no hosts")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		} else {
			return tls.Certificate{}, errors.New("issue server certificate: empty host")
		}
	}
	cert, key, err := ca.issue(rand, tmpl, now, validity)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate for %v: %w", hosts, err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

// issue completes tmpl as an end-entity certificate with a fresh key and
// signs it.
func (ca *CA) issue(rand io.Reader, tmpl *x509.Certificate, now time.Time, validity time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if validity <= 0 {
		return nil, nil, fmt.Errorf("validity %v is not positive", validity)
	}
	tmpl.NotBefore = now.Add(-clockSkew)
	tmpl.NotAfter = now.Add(validity)
	// A certificate that outlives its CA would stop verifying early
	// without saying so; refuse it instead.
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("validity until %s is after the CA's end %s", tmpl.NotAfter.UTC().Format(time.RFC3339), ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	// ECDSA keys only sign (RFC 5480 §3); an end entity is never a CA.
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, key, nil
}

// randomSerial returns a random serial number in [1, 2^128]: positive, as
// RFC 5280 §4.1.2.2 requires, and at most 17 octets in DER.
func randomSerial(rand io.Reader) (*big.Int, error) {
	n, err := cryptorand.Int(rand, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("read serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// Fingerprint returns the lowercase hex SHA-256 of the certificate's DER
// bytes, the name under which the appliance records a sender's certificate.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}
