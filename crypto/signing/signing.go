// Package signing owns the residents' electronic signatures (DESIGN.md,
// "Signing"): the appliance's signing CA, the residents' signing
// certificates, the appliance's time-stamping key, and the two signature
// formats a resident's signature is made in:
//
//   - a detached CMS SignedData (RFC 5652 §5) over the document, SHA-256
//     with ECDSA P-256, with the signed attributes content-type,
//     message-digest, signing-time (RFC 5652 §11) and
//     signing-certificate-v2 (RFC 5035), and the appliance's signed time
//     as an unsigned attribute id-aa-timeStampToken (RFC 3161 Appendix A,
//     OID 1.2.840.113549.1.9.16.2.14): a time-stamp token of the
//     appliance's own time-stamping key over the signature value. This is
//     the CAdES-T shape (ETSI EN 319 122-1 §5.3).
//   - for a PDF, a signature embedded in the PDF by an incremental update
//     (ISO 32000-1 §12.8, written by github.com/digitorus/pdfsign) with
//     the content of PAdES baseline B-T (ETSI EN 319 142-1 §6.3): the
//     signing certificate bound by signing-certificate-v2, the claimed
//     time in the signature dictionary (/M), and the appliance's
//     time-stamp token over the signature value. Two things the library
//     writes keep it from being PAdES-BASELINE to a strict ETSI validator:
//     SubFilter adbe.pkcs7.detached (PAdES asks for ETSI.CAdES.detached)
//     and a CMS signing-time attribute (PAdES leaves it out). PDF readers
//     and pdfsig verify it as a detached PKCS #7 signature with a
//     time-stamp.
//
// Certificates: the signing CA is a self-signed ECDSA P-256 root, its own
// from the sender CA (crypto.CA), so that a leaked sender CA cannot forge
// a resident's signature and the other way round. A resident's
// certificate names the resident (CN) and carries a pseudonymous serial
// number attribute (X.520 serialNumber, "PK-" and the resident's random
// id), never the national identity number. The time-stamping certificate
// is issued by the signing CA with the critical extended key usage
// id-kp-timeStamping (RFC 3161 §2.3).
//
// Threat model: whoever holds the signing CA key can issue a certificate
// in any resident's name; it lives in the appliance's database like the
// receipt key. A resident's private signing key is sealed by package store
// with a key derived from the resident's mailbox key, so it signs only
// while the resident is signed in, and dies with the mailbox.
package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// Errors.
var (
	// ErrBadPDF: the document is not a PDF the signer can read (broken,
	// encrypted, or of a structure it does not know).
	ErrBadPDF = errors.New("not a PDF that can be signed")
	// ErrBadSignature: a signature does not verify.
	ErrBadSignature = errors.New("signature does not verify")
)

// Validity periods.
const (
	caValidity       = 20 * 365 * 24 * time.Hour
	residentValidity = 5 * 365 * 24 * time.Hour
)

// OIDs.
var (
	// oidTimeStampToken is id-aa-timeStampToken (RFC 3161 Appendix A).
	oidTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	// oidTSAPolicy is the policy the appliance's time-stamps are made
	// under: an OID of the arc for examples and private use (RFC 7229's
	// id-TEST arc 1.3.6.1.5.5.7.13), as the appliance has no registered one.
	oidTSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 13, 1}
	// oidSigningCertificateV2 is id-aa-signingCertificateV2 (RFC 5035 §3).
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

// Authority is the appliance's signing CA with its time-stamping key.
type Authority struct {
	Cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	TSACert *x509.Certificate
	tsaKey  *ecdsa.PrivateKey
}

// NewAuthority makes a signing CA named name and its time-stamping key.
func NewAuthority(rand io.Reader, name string, now time.Time) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("signing CA key: %w", err)
	}
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("signing CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	a := &Authority{Cert: cert, key: key}
	if a.tsaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand); err != nil {
		return nil, fmt.Errorf("time-stamping key: %w", err)
	}
	if serial, err = randomSerial(rand); err != nil {
		return nil, err
	}
	tsa := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name + " time-stamping"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(caValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		// RFC 3161 §2.3: the one extended key usage, critical.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}
	if der, err = x509.CreateCertificate(rand, tsa, cert, &a.tsaKey.PublicKey, key); err != nil {
		return nil, fmt.Errorf("time-stamping certificate: %w", err)
	}
	if a.TSACert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	return a, nil
}

// Marshal encodes the authority as four PEM blocks (the CA certificate,
// its key, the time-stamping certificate, its key) for storing. Secret.
func (a *Authority) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	for _, k := range []struct {
		cert *x509.Certificate
		key  *ecdsa.PrivateKey
	}{{a.Cert, a.key}, {a.TSACert, a.tsaKey}} {
		der, err := x509.MarshalPKCS8PrivateKey(k.key)
		if err != nil {
			return nil, err
		}
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw})
		pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	return buf.Bytes(), nil
}

// UnmarshalAuthority decodes what Marshal encoded and checks that each key
// is its certificate's and that the time-stamping certificate is the CA's.
func UnmarshalAuthority(b []byte) (*Authority, error) {
	var blocks []*pem.Block
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		blocks = append(blocks, blk)
	}
	if len(blocks) != 4 {
		return nil, fmt.Errorf("signing authority: %d PEM blocks, want 4", len(blocks))
	}
	parse := func(c, k *pem.Block) (*x509.Certificate, *ecdsa.PrivateKey, error) {
		cert, err := x509.ParseCertificate(c.Bytes)
		if err != nil {
			return nil, nil, err
		}
		key, err := x509.ParsePKCS8PrivateKey(k.Bytes)
		if err != nil {
			return nil, nil, err
		}
		ek, ok := key.(*ecdsa.PrivateKey)
		if !ok || !ek.PublicKey.Equal(cert.PublicKey) {
			return nil, nil, errors.New("key is not the certificate's")
		}
		return cert, ek, nil
	}
	a := &Authority{}
	var err error
	if a.Cert, a.key, err = parse(blocks[0], blocks[1]); err != nil {
		return nil, fmt.Errorf("signing CA: %w", err)
	}
	if a.TSACert, a.tsaKey, err = parse(blocks[2], blocks[3]); err != nil {
		return nil, fmt.Errorf("time-stamping key: %w", err)
	}
	if err := a.TSACert.CheckSignatureFrom(a.Cert); err != nil {
		return nil, fmt.Errorf("time-stamping certificate: %w", err)
	}
	return a, nil
}

// CertPEM returns the CA certificate in PEM, what a verifier trusts.
func (a *Authority) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Cert.Raw})
}

// NewKey makes a resident's signing key: ECDSA P-256 (FIPS 186-5). It
// returns the key in PKCS #8 DER, for sealing.
func NewKey(rand io.Reader) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return x509.MarshalPKCS8PrivateKey(key)
}

// parseKey parses what NewKey returned.
func parseKey(der []byte) (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("signing key: not ECDSA P-256")
	}
	return ek, nil
}

// Certify issues a resident's signing certificate for the key (PKCS #8
// DER from NewKey): subject CN name and serialNumber pseudonym, key usage
// digitalSignature and nonRepudiation (contentCommitment), extended key
// usages document signing (RFC 9336) and e-mail protection (what OpenSSL's
// cms -verify accepts by default for S/MIME purpose checks).
func (a *Authority) Certify(rand io.Reader, keyDER []byte, name, pseudonym string, now time.Time) ([]byte, error) {
	key, err := parseKey(keyDER)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, SerialNumber: pseudonym},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(residentValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		// RFC 9336 id-kp-documentSigning.
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 36}},
	}
	der, err := x509.CreateCertificate(rand, tmpl, a.Cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	return der, nil
}

// Signature is a resident's signature of a document.
type Signature struct {
	// CMS is the detached CMS SignedData (DER) over the document, with
	// the appliance's time-stamp token.
	CMS []byte
	// PDF is the signed PDF (the document with the PAdES signature
	// appended), nil when the document is no PDF.
	PDF []byte
}

// Sign signs doc with the resident's key (PKCS #8 DER) and certificate
// (DER) at now: always a detached CMS, and for a PDF (isPDF) also a PAdES
// signature. A PDF the signer cannot read is ErrBadPDF.
func (a *Authority) Sign(doc []byte, isPDF bool, keyDER, certDER []byte, now time.Time) (*Signature, error) {
	key, err := parseKey(keyDER)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	out := &Signature{}
	if out.CMS, err = a.signCMS(doc, key, cert, now); err != nil {
		return nil, err
	}
	if isPDF {
		if out.PDF, err = a.signPDF(doc, key, cert, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (a *Authority) signCMS(doc []byte, key *ecdsa.PrivateKey, cert *x509.Certificate, now time.Time) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(doc)
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	scv2, err := signingCertificateV2(cert)
	if err != nil {
		return nil, err
	}
	cfg := pkcs7.SignerInfoConfig{
		ExtraSignedAttributes: []pkcs7.Attribute{{Type: oidSigningCertificateV2, Value: asn1.RawValue{FullBytes: scv2}}},
	}
	// RFC 5652 §11.3 signing-time: the library adds it from the system
	// clock (time.Now), which it does not let a caller set; the
	// appliance's time of record is the time-stamp token's, from now.
	if err := sd.AddSignerChain(cert, key, []*x509.Certificate{a.Cert}, cfg); err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	sd.Detach()
	si := sd.GetSignedData().SignerInfos
	if len(si) != 1 {
		return nil, errors.New("cms: want one signer")
	}
	token, err := a.timestamp(si[0].EncryptedDigest, now)
	if err != nil {
		return nil, err
	}
	if err := si[0].SetUnauthenticatedAttributes([]pkcs7.Attribute{{Type: oidTimeStampToken, Value: asn1.RawValue{FullBytes: token}}}); err != nil {
		return nil, fmt.Errorf("cms: time-stamp attribute: %w", err)
	}
	return sd.Finish()
}

// timestamp makes an RFC 3161 TimeStampToken over data at now with the
// appliance's time-stamping key (RFC 3161 §2.4.2).
func (a *Authority) timestamp(data []byte, now time.Time) ([]byte, error) {
	h := sha256.Sum256(data)
	resp, err := a.timestampResponse(crypto.SHA256, h[:], nil, now)
	if err != nil {
		return nil, err
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("time-stamp: %w", err)
	}
	return parsed.RawToken, nil
}

// timestampResponse is the TimeStampResp (RFC 3161 §2.4.2) granting a
// time-stamp of the hashed message at now.
func (a *Authority) timestampResponse(h crypto.Hash, hashed []byte, nonce *big.Int, now time.Time) ([]byte, error) {
	if h != crypto.SHA256 && h != crypto.SHA384 && h != crypto.SHA512 {
		return nil, fmt.Errorf("time-stamp: hash %v not accepted", h)
	}
	if len(hashed) != h.Size() {
		return nil, errors.New("time-stamp: the hashed message has the wrong length")
	}
	ts := &timestamp.Timestamp{
		HashAlgorithm:     h,
		HashedMessage:     hashed,
		Time:              now.UTC(),
		Nonce:             nonce,
		Policy:            oidTSAPolicy,
		Accuracy:          time.Second,
		AddTSACertificate: true,
	}
	resp, err := ts.CreateResponseWithOpts(a.TSACert, a.tsaKey, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("time-stamp: %w", err)
	}
	return resp, nil
}

// loopbackTSA serves the appliance's time-stamps at now over HTTP on a
// loopback port for as long as one PDF is signed, and returns its URL.
// Why: pdfsign adds a time-stamp token to a PAdES signature (baseline
// B-T) only by asking an RFC 3161 TSA over HTTP (RFC 3161 §3.4), with a
// client of its own; this answers it in-process, with the time given,
// and answers nothing but time-stamp queries, and one of them only: a
// process of the machine that finds the port in the moment learns no
// more than one time-stamp at the true time (what a public TSA gives
// anyone), and takes the place of the signature's, which then fails.
// Loopback addresses are never proxied by Go's HTTP client.
func (a *Authority) loopbackTSA(now time.Time) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("time-stamp server: %w", err)
	}
	var once sync.Once
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			first := false
			once.Do(func() { first = true })
			if !first {
				http.Error(w, "one time-stamp only", http.StatusForbidden)
				return
			}
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
				http.Error(w, "time-stamp queries only", http.StatusBadRequest)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			req, err := timestamp.ParseRequest(body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			resp, err := a.timestampResponse(req.HashAlgorithm, req.HashedMessage, req.Nonce, now)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/timestamp-reply")
			w.Write(resp)
		}),
	}
	go srv.Serve(l)
	return "http://" + l.Addr().String() + "/", func() { srv.Close() }, nil
}

// signingCertificateV2 is the attribute value of RFC 5035 §3 for cert
// (SHA-256, the default hash, so no algorithm identifier).
func signingCertificateV2(cert *x509.Certificate) ([]byte, error) {
	h := sha256.Sum256(cert.Raw)
	type essCertIDv2 struct{ CertHash []byte }
	type signingCertificate struct{ Certs []essCertIDv2 }
	return asn1.Marshal(signingCertificate{Certs: []essCertIDv2{{CertHash: h[:]}}})
}

func (a *Authority) signPDF(doc []byte, key *ecdsa.PrivateKey, cert *x509.Certificate, now time.Time) (out []byte, err error) {
	// The PDF parser panics on some broken input: a broken PDF is
	// ErrBadPDF, never a crash.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %v", ErrBadPDF, r)
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPDF, err)
	}
	tsaURL, stop, err := a.loopbackTSA(now)
	if err != nil {
		return nil, err
	}
	defer stop()
	var buf bytes.Buffer
	err = sign.Sign(bytes.NewReader(doc), &buf, rdr, int64(len(doc)), sign.SignData{
		Signature: sign.SignDataSignature{
			Info: sign.SignDataSignatureInfo{
				Name: cert.Subject.CommonName,
				Date: now.UTC(),
			},
			CertType:   sign.ApprovalSignature,
			DocMDPPerm: sign.AllowFillingExistingFormFieldsAndSignaturesPerms,
		},
		Signer:            key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       cert,
		CertificateChains: [][]*x509.Certificate{{cert, a.Cert}},
		TSA:               sign.TSA{URL: tsaURL},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPDF, err)
	}
	return buf.Bytes(), nil
}

// Verified is what a good signature says.
type Verified struct {
	Signer *x509.Certificate
	// SigningTime is the signed attribute signing-time (the signer's
	// claim).
	SigningTime time.Time
	// Timestamp is the appliance's signed time, zero when the signature
	// has no time-stamp token.
	Timestamp time.Time
}

// VerifyCMS checks a detached CMS signature p7s over doc against the CA
// certificate root: the signature, the message digest, the chain to
// root at the signing time, and the time-stamp token's signature, imprint
// and chain.
func VerifyCMS(doc, p7s []byte, root *x509.Certificate) (*Verified, error) {
	p7, err := pkcs7.Parse(p7s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	p7.Content = doc
	return verifyP7(p7, root)
}

func verifyP7(p7 *pkcs7.PKCS7, root *x509.Certificate) (*Verified, error) {
	if len(p7.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers, want 1", ErrBadSignature, len(p7.Signers))
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	var st time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &st); err != nil {
		return nil, fmt.Errorf("%w: no signing time: %v", ErrBadSignature, err)
	}
	if err := p7.VerifyWithOpts(x509.VerifyOptions{Roots: pool, CurrentTime: st, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	v := &Verified{Signer: p7.GetOnlySigner(), SigningTime: st}
	for _, attr := range p7.Signers[0].UnauthenticatedAttributes {
		if !attr.Type.Equal(oidTimeStampToken) {
			continue
		}
		ts, err := timestamp.Parse(attr.Value.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: time-stamp: %v", ErrBadSignature, err)
		}
		h := sha256.Sum256(p7.Signers[0].EncryptedDigest)
		if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, h[:]) {
			return nil, fmt.Errorf("%w: the time-stamp is not of this signature", ErrBadSignature)
		}
		tp7, err := pkcs7.Parse(attr.Value.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: time-stamp: %v", ErrBadSignature, err)
		}
		if err := tp7.VerifyWithOpts(x509.VerifyOptions{Roots: pool, CurrentTime: ts.Time, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
			return nil, fmt.Errorf("%w: time-stamp: %v", ErrBadSignature, err)
		}
		v.Timestamp = ts.Time
	}
	return v, nil
}

// VerifyPDF checks every signature embedded in a PDF against the CA
// certificate root: each covers the whole file up to its own end (a
// later change outside a signed revision fails), its CMS verifies over
// its byte range, and the signer chains to root.
func VerifyPDF(doc []byte, root *x509.Certificate) ([]*Verified, error) {
	var out []*Verified
	rest := doc
	for {
		i := bytes.Index(rest, []byte("/ByteRange"))
		if i < 0 {
			break
		}
		rest = rest[i+len("/ByteRange"):]
		var r [4]int64
		open := bytes.IndexByte(rest, '[')
		end := bytes.IndexByte(rest, ']')
		if open < 0 || end < open {
			return nil, fmt.Errorf("%w: a malformed /ByteRange", ErrBadSignature)
		}
		if _, err := fmt.Sscan(string(rest[open+1:end]), &r[0], &r[1], &r[2], &r[3]); err != nil {
			return nil, fmt.Errorf("%w: a malformed /ByteRange: %v", ErrBadSignature, err)
		}
		n := int64(len(doc))
		if r[0] != 0 || r[1] < 2 || r[2] <= r[1]+1 || r[3] < 0 || r[2]+r[3] > n || r[2] > n {
			return nil, fmt.Errorf("%w: a /ByteRange outside the file", ErrBadSignature)
		}
		hexContents := doc[r[1]:r[2]]
		if len(hexContents) < 2 || hexContents[0] != '<' || hexContents[len(hexContents)-1] != '>' {
			return nil, fmt.Errorf("%w: the byte range does not leave out exactly /Contents", ErrBadSignature)
		}
		der, err := decodeHex(hexContents[1 : len(hexContents)-1])
		if err != nil {
			return nil, fmt.Errorf("%w: /Contents: %v", ErrBadSignature, err)
		}
		p7, err := pkcs7.Parse(der)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		signed := append(bytes.Clone(doc[:r[1]]), doc[r[2]:r[2]+r[3]]...)
		p7.Content = signed
		v, err := verifyP7(p7, root)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		// The last signature must cover the file to its end (an
		// incremental update after it is a change the signer did not
		// sign; a trailing newline is allowed).
		if tail := bytes.TrimRight(doc[r[2]+r[3]:], "\r\n"); len(tail) > 0 && !bytes.Contains(rest, []byte("/ByteRange")) {
			return nil, fmt.Errorf("%w: %d bytes after the signed part", ErrBadSignature, len(tail))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the PDF has no signature", ErrBadSignature)
	}
	return out, nil
}

// decodeHex decodes a PDF hex string's content, ignoring the zero padding
// after the DER (the placeholder is longer than the signature).
func decodeHex(h []byte) ([]byte, error) {
	out := make([]byte, hex.DecodedLen(len(h)))
	if _, err := hex.Decode(out, h); err != nil {
		return nil, err
	}
	// DER is self-delimiting: trim to the outer element's length.
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(out, &raw)
	if err != nil {
		return nil, err
	}
	return out[:len(out)-len(rest)], nil
}

// ParseCertificatePEM parses one PEM certificate, for a verifier given
// the CA's file.
func ParseCertificatePEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// CACertificates returns the certificates a signature carries that are
// CAs (self-signed roots), for a verifier that was given no CA file: it
// then trusts the embedded root and says whose it is.
func CACertificates(p7s []byte) []*x509.Certificate {
	p7, err := pkcs7.Parse(p7s)
	if err != nil {
		return nil
	}
	var out []*x509.Certificate
	for _, c := range p7.Certificates {
		if c.IsCA && bytes.Equal(c.RawIssuer, c.RawSubject) {
			out = append(out, c)
		}
	}
	return out
}

// randomSerial is a positive random serial number of 128 bits (RFC 5280
// §4.1.2.2).
func randomSerial(rand io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40
	return new(big.Int).SetBytes(b), nil
}

// CheckPDF reports whether doc is a PDF the signer can read: ErrBadPDF
// when not.
func CheckPDF(doc []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrBadPDF, r)
		}
	}()
	if _, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc))); err != nil {
		return fmt.Errorf("%w: %v", ErrBadPDF, err)
	}
	return nil
}

// PDFCACertificates returns the self-signed CA certificates that the
// signatures embedded in a PDF carry (CACertificates of each).
func PDFCACertificates(doc []byte) []*x509.Certificate {
	var out []*x509.Certificate
	rest := doc
	for {
		i := bytes.Index(rest, []byte("/Contents"))
		if i < 0 {
			return out
		}
		rest = rest[i+len("/Contents"):]
		j := bytes.IndexByte(rest, '<')
		k := bytes.IndexByte(rest, '>')
		if j < 0 || k < j || len(bytes.TrimSpace(rest[:j])) > 0 {
			continue
		}
		der, err := decodeHex(rest[j+1 : k])
		if err != nil {
			continue
		}
		out = append(out, CACertificates(der)...)
	}
}
