package signing

import (
	"os"
	"testing"
	"time"
)

// FuzzCheckPDF: a sender's PDF (untrusted) is accepted or refused with
// ErrBadPDF, never a crash.
func FuzzCheckPDF(f *testing.F) {
	doc, err := os.ReadFile("testdata/letter.pdf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add(doc[:len(doc)/2])
	f.Add([]byte("%PDF-1.7\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = CheckPDF(b)
	})
}

// FuzzVerifyPDF: postkasse verify reads a signed PDF (untrusted): a
// changed one fails to verify, never crashes, and never verifies under
// a CA that did not sign it.
func FuzzVerifyPDF(f *testing.F) {
	now := time.Now().UTC()
	fx := fuzzFixture(f, now)
	doc, err := os.ReadFile("testdata/letter.pdf")
	if err != nil {
		f.Fatal(err)
	}
	sig, err := fx.a.Sign(doc, true, fx.key, fx.cert, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig.PDF)
	f.Add(sig.PDF[len(doc):])
	f.Add([]byte("/ByteRange [0 1 2 3] /Contents <3000>"))
	other := fuzzFixture(f, now)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = VerifyPDF(b, fx.a.Cert)
		_ = PDFCACertificates(b)
		if _, err := VerifyPDF(b, other.a.Cert); err == nil {
			t.Fatal("verified under a CA that signed nothing")
		}
	})
}

// FuzzVerifyCMS: a detached signature (untrusted) fails or verifies,
// never crashes.
func FuzzVerifyCMS(f *testing.F) {
	now := time.Now().UTC()
	fx := fuzzFixture(f, now)
	doc := []byte("Aftale\n")
	sig, err := fx.a.Sign(doc, false, fx.key, fx.cert, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig.CMS)
	f.Add(sig.CMS[:len(sig.CMS)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = VerifyCMS(doc, b, fx.a.Cert)
		_ = CACertificates(b)
	})
}

type fuzzFx struct {
	a         *Authority
	key, cert []byte
}

func fuzzFixture(f *testing.F, now time.Time) fuzzFx {
	f.Helper()
	a, err := NewAuthority(randReader{}, "Fuzz CA", now)
	if err != nil {
		f.Fatal(err)
	}
	key, err := NewKey(randReader{})
	if err != nil {
		f.Fatal(err)
	}
	cert, err := a.Certify(randReader{}, key, "Anna", "PK-1", now)
	if err != nil {
		f.Fatal(err)
	}
	return fuzzFx{a, key, cert}
}
