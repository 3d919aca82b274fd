package signing

import (
	"bytes"
	cryptorand "crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// need returns the path of an outside program the tests run, failing
// with its install command when it is missing.
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatalf("%s is needed: apt-get install %s (or ./test --install)", prog, pkg)
	}
	return p
}

type fixture struct {
	a      *Authority
	key    []byte
	cert   []byte
	now    time.Time
	caFile string
	dir    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	// Near the real time: OpenSSL and pdfsig check certificates at the
	// time they run.
	now := time.Now().UTC().Truncate(time.Second)
	a, err := NewAuthority(cryptorand.Reader, "Postkasse signing CA for test.example", now)
	if err != nil {
		t.Fatal(err)
	}
	key, err := NewKey(cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := a.Certify(cryptorand.Reader, key, "Karen Jensen", "PK-r123", now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, a.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &fixture{a: a, key: key, cert: cert, now: now, caFile: caFile, dir: dir}
}

func (f *fixture) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0x01
	return c
}

func TestAuthorityRoundTrip(t *testing.T) {
	f := newFixture(t)
	b, err := f.a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	a2, err := UnmarshalAuthority(b)
	if err != nil {
		t.Fatal(err)
	}
	if !a2.Cert.Equal(f.a.Cert) || !a2.TSACert.Equal(f.a.TSACert) {
		t.Fatal("certificates differ after a round trip")
	}
	if _, err := UnmarshalAuthority(b[:len(b)/2]); err == nil {
		t.Fatal("half an authority was accepted")
	}
}

func TestResidentCertificateHasNoNationalID(t *testing.T) {
	f := newFixture(t)
	sig, err := f.a.Sign([]byte("x"), false, f.key, f.cert, f.now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyCMS([]byte("x"), sig.CMS, f.a.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer.Subject.CommonName != "Karen Jensen" || v.Signer.Subject.SerialNumber != "PK-r123" {
		t.Fatalf("subject %v", v.Signer.Subject)
	}
}

func TestCMSVerifiesWithOpenSSL(t *testing.T) {
	openssl := need(t, "openssl", "openssl")
	f := newFixture(t)
	doc := []byte("Lejekontrakt for Vestergade 12, 1. tv.\nUnderskrives senest 31. januar.\n")
	sig, err := f.a.Sign(doc, false, f.key, f.cert, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if sig.PDF != nil {
		t.Fatal("a PDF signature of a text")
	}
	v, err := VerifyCMS(doc, sig.CMS, f.a.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Timestamp.Equal(f.now) {
		t.Fatalf("time-stamp %v, want %v", v.Timestamp, f.now)
	}
	docFile, p7s := f.write(t, "doc.txt", doc), f.write(t, "doc.p7s", sig.CMS)
	run := func(content string) error {
		out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", content, "-inform", "DER",
			"-in", p7s, "-CAfile", f.caFile, "-out", os.DevNull).CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := run(docFile); err != nil {
		t.Fatalf("openssl cms -verify: %s", err)
	}
	// A changed byte fails every verifier.
	bad := flip(doc, 10)
	if err := run(f.write(t, "bad.txt", bad)); err == nil {
		t.Fatal("openssl verified a changed document")
	}
	if _, err := VerifyCMS(bad, sig.CMS, f.a.Cert); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("VerifyCMS of a changed document: %v", err)
	}
	// Another CA's certificate is not trusted.
	other := newFixture(t)
	if _, err := VerifyCMS(doc, sig.CMS, other.a.Cert); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("VerifyCMS under another CA: %v", err)
	}
	// The time-stamp token is an RFC 3161 token OpenSSL reads.
	out, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", p7s).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -print: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "id-smime-aa-timeStampToken") && !strings.Contains(string(out), "1.2.840.113549.1.9.16.2.14") {
		t.Fatalf("no time-stamp token attribute in:\n%s", out)
	}
}

func TestPAdESVerifiesWithPdfsig(t *testing.T) {
	pdfsig := need(t, "pdfsig", "poppler-utils")
	f := newFixture(t)
	doc, err := os.ReadFile("testdata/letter.pdf")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := f.a.Sign(doc, true, f.key, f.cert, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sig.PDF, doc) {
		t.Fatal("the signed PDF is no incremental update of the document")
	}
	if _, err := VerifyCMS(doc, sig.CMS, f.a.Cert); err != nil {
		t.Fatalf("detached CMS of the PDF: %v", err)
	}
	vs, err := VerifyPDF(sig.PDF, f.a.Cert)
	if err != nil || len(vs) != 1 || vs[0].Signer.Subject.CommonName != "Karen Jensen" {
		t.Fatalf("VerifyPDF: %v %v", vs, err)
	}
	// Baseline B-T: the appliance's time-stamp token is in the PDF's
	// signature too.
	if !vs[0].Timestamp.Equal(f.now) {
		t.Errorf("the PDF signature's time-stamp %v, want %v", vs[0].Timestamp, f.now)
	}
	// pdfsig trusts the CA from an NSS database made for the test.
	nssDir := filepath.Join(f.dir, "nss")
	certutil := need(t, "certutil", "libnss3-tools")
	if err := os.Mkdir(nssDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + nssDir, "--empty-password"},
		{"-A", "-d", "sql:" + nssDir, "-n", "postkasse-signing-ca", "-t", "CT,C,C", "-i", f.caFile},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	check := func(name string, b []byte) string {
		out, _ := exec.Command(pdfsig, "-nssdir", "sql:"+nssDir, f.write(t, name, b)).CombinedOutput()
		return string(out)
	}
	out := check("signed.pdf", sig.PDF)
	if !strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Certificate is Trusted") ||
		!strings.Contains(out, "Karen Jensen") || !strings.Contains(out, "Total document signed") {
		t.Fatalf("pdfsig:\n%s", out)
	}
	// A changed byte of the document's part fails both.
	bad := flip(sig.PDF, len(doc)/2)
	if out := check("bad.pdf", bad); strings.Contains(out, "Signature is Valid") {
		t.Fatalf("pdfsig accepted a changed PDF:\n%s", out)
	}
	if _, err := VerifyPDF(bad, f.a.Cert); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("VerifyPDF of a changed PDF: %v", err)
	}
}

func TestSignBrokenPDF(t *testing.T) {
	f := newFixture(t)
	for _, doc := range [][]byte{[]byte("%PDF-1.7\nnot really"), nil, []byte("hello")} {
		if _, err := f.a.Sign(doc, true, f.key, f.cert, f.now); !errors.Is(err, ErrBadPDF) {
			t.Fatalf("Sign(%q): %v, want ErrBadPDF", doc, err)
		}
	}
}

func TestParseCertificatePEM(t *testing.T) {
	f := newFixture(t)
	c, err := ParseCertificatePEM(f.a.CertPEM())
	if err != nil || !c.Equal(f.a.Cert) {
		t.Fatal(err)
	}
	if _, err := ParseCertificatePEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})); err == nil {
		t.Fatal("a key was taken for a certificate")
	}
}

// randReader is crypto/rand's reader, for fixtures that take one.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return cryptorand.Read(p) }
