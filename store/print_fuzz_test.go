package store

import (
	"testing"

	"github.com/postkasse/postkasse/internal/testsupport"
)

// FuzzPDFPages: counting the pages of a sender's PDF (untrusted bytes,
// read by github.com/ledongthuc/pdf) gives a count of at least one or an
// error, never a panic.
func FuzzPDFPages(f *testing.F) {
	f.Add(testsupport.PDF("Afgørelse", "Side 1"))
	f.Add([]byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
	f.Add([]byte("%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer << /Size 1 >>\nstartxref\n9\n%%EOF\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := pdfPages(b)
		if (err == nil) != (n >= 1) {
			t.Fatalf("pdfPages = %d, %v", n, err)
		}
	})
}
