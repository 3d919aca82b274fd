package signing

import (
	"os"
	"testing"
	"time"
)

// BenchmarkSign: a resident's signature of a 22 KB PDF (the detached CMS
// and the PDF signature, each with a time-stamp, the PDF's over the
// loopback TSA) against the detached CMS of the same bytes alone.
func BenchmarkSign(b *testing.B) {
	doc, err := os.ReadFile("testdata/letter.pdf")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	a, err := NewAuthority(randReader{}, "Bench CA", now)
	if err != nil {
		b.Fatal(err)
	}
	key, err := NewKey(randReader{})
	if err != nil {
		b.Fatal(err)
	}
	cert, err := a.Certify(randReader{}, key, "Anna", "PK-1", now)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		isPDF bool
	}{{"cms-only", false}, {"cms-and-pades", true}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Sign(doc, tc.isPDF, key, cert, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
