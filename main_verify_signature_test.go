package main

import (
	"bytes"
	cryptorand "crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto/signing"
)

// TestVerifySignature: `postkasse verify SIGNED.pdf` and `postkasse
// verify FILE --signature FILE.p7s` check a resident's signature offline,
// against the CA given with --ca or the one the signature carries; a
// changed byte, or another CA, fails.
func TestVerifySignature(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	a, err := signing.NewAuthority(cryptorand.Reader, "Postkasse signing CA", now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.NewAuthority(cryptorand.Reader, "Another signing CA", now)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signing.NewKey(cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := a.Certify(cryptorand.Reader, key, "Anna Jensen", "PK-0001", now)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("crypto/signing/testdata/letter.pdf")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := a.Sign(doc, true, key, cert, now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pdf, p7s, orig := write("signed.pdf", sig.PDF), write("letter.p7s", sig.CMS), write("letter.pdf", doc)
	ca, otherCA := write("ca.pem", a.CertPEM()), write("other.pem", other.CertPEM())
	changed := bytes.Clone(sig.PDF)
	changed[len(doc)/3] ^= 1
	bad := write("changed.pdf", changed)
	badDoc := bytes.Clone(doc)
	badDoc[100] ^= 1
	badOrig := write("changed-letter.pdf", badDoc)

	for _, tc := range []struct {
		args []string
		ok   bool
		want string
	}{
		{[]string{pdf}, true, "signed by: Anna Jensen (PK-0001)"},
		{[]string{pdf, "--ca", ca}, true, "OK: the signature verifies"},
		{[]string{orig, "--signature", p7s}, true, "time-stamp (the appliance's, RFC 3161)"},
		{[]string{"--ca", ca, orig, "--signature", p7s}, true, "OK: the signature verifies"},
		{[]string{bad}, false, ""},
		{[]string{bad, "--ca", ca}, false, ""},
		{[]string{badOrig, "--signature", p7s}, false, ""},
		{[]string{pdf, "--ca", otherCA}, false, ""},
		{[]string{orig, "--signature", p7s, "--ca", otherCA}, false, ""},
		{[]string{orig}, false, ""}, // an unsigned PDF
	} {
		var out bytes.Buffer
		err := runVerify(tc.args, &out)
		if tc.ok && (err != nil || !strings.Contains(out.String(), tc.want)) {
			t.Errorf("verify %v: %v\n%s", tc.args, err, out.String())
		}
		if !tc.ok && err == nil {
			t.Errorf("verify %v succeeded:\n%s", tc.args, out.String())
		}
	}
}
