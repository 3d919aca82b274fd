package resident

import (
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

func TestDue(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02 15:04", s, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		date          string
		now           string
		text, note    string
		soon, overdue bool
	}{
		{"2027-01-31", "2026-11-22 10:00", "Due 31 Jan 2027", "", false, false},
		{"2027-01-31", "2027-01-23 10:00", "Due 31 Jan 2027", "", false, false},
		{"2027-01-31", "2027-01-24 00:00", "Due 31 Jan 2027", "in 7 days", true, false},
		{"2027-01-31", "2027-01-26 18:00", "Due 31 Jan 2027", "in 5 days", true, false},
		{"2027-01-31", "2027-01-30 23:59", "Due 31 Jan 2027", "tomorrow", true, false},
		{"2027-01-31", "2027-01-31 00:00", "Due 31 Jan 2027", "today", true, false},
		{"2027-01-31", "2027-01-31 23:59", "Due 31 Jan 2027", "today", true, false},
		{"2027-01-31", "2027-02-01 00:00", "Due 31 Jan 2027", "overdue", false, true},
		{"2027-01-31", "2030-01-01 00:00", "Due 31 Jan 2027", "overdue", false, true},
		{"2027-03-30", "2027-03-25 12:00", "Due 30 Mar 2027", "in 5 days", true, false},
		{"31/01/2027", "2026-11-22 10:00", "Due 31/01/2027", "", false, false},
	} {
		d := due(uitest.English, tc.date, at(tc.now), time.Local)
		if d == nil || d.Text != tc.text || d.Note != tc.note || d.Soon != tc.soon || d.Overdue != tc.overdue {
			t.Errorf("due(%s, %s) = %+v, want %q %q soon=%v overdue=%v", tc.date, tc.now, d, tc.text, tc.note, tc.soon, tc.overdue)
		}
	}
	if due(uitest.English, "", time.Now(), time.UTC) != nil {
		t.Error("no due date gave a view")
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 999: "999 bytes", 1000: "1 KB", 12_345: "12 KB", 999_499: "999 KB", 1_000_000: "1.0 MB", 10_485_760: "10.5 MB"} {
		if got := formatSize(uitest.English, n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWaitText(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "1 second", 500 * time.Millisecond: "1 second", 10 * time.Second: "10 seconds",
		time.Minute: "1 minute", 61 * time.Second: "2 minutes", 15 * time.Minute: "15 minutes",
	} {
		if got := waitText(uitest.English, d); got != want {
			t.Errorf("waitText(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDocumentFileName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, contentType, want string }{
		{"decision.pdf", "application/pdf", "decision.pdf"},
		{"Afgørelse – bilag.PDF", "application/pdf", "Afgørelse – bilag.PDF"},
		{"note.txt", "text/plain", "note.txt"},
		{"page.htm", "text/html", "page.htm"},
		{"page.html", "text/html", "page.html"},
		{"kort.png", "image/png", "kort.png"},
		{"photo.jpeg", "image/jpeg", "photo.jpeg"},
		{"photo.JPG", "image/jpeg", "photo.JPG"},
		// The sender's extension gives way to the type's.
		{"Faktura-2026.hta", "text/plain", "Faktura-2026.txt"},
		{"kvittering.html", "text/plain", "kvittering.txt"},
		{"brev.html", "application/pdf", "brev.pdf"},
		{"photo.png", "image/jpeg", "photo.jpg"},
		{"page.txt", "text/html", "page.html"},
		{"report", "application/pdf", "report.pdf"},
		{"report.", "application/pdf", "report.pdf"},
		{"Letter from Dr. Smith", "text/plain", "Letter from Dr. Smith.txt"},
		{"archive.tar.gz", "application/pdf", "archive.tar.pdf"},
		// Format and control characters go.
		{"Faktura\u202Efdp.bat", "text/plain", "Fakturafdp.txt"},
		{"a\u2066b\u200Fc\u00ADd.pdf", "application/pdf", "abcd.pdf"},
		{"a\x7fb\u0085c.pdf", "application/pdf", "abc.pdf"},
		// Nothing left of the name, or a hidden file.
		{".hta", "text/plain", "document.txt"},
		{"\u202E.pdf", "application/pdf", "document.pdf"},
		{"..bashrc", "text/plain", "document.txt"},
		{"..hidden.pdf", "application/pdf", "hidden.pdf"},
		{" . ", "text/plain", "document.txt"},
		// A type the store does not accept.
		{"run.exe", "application/x-msdownload", "run.bin"},
	} {
		if got := documentFileName(tc.name, tc.contentType); got != tc.want {
			t.Errorf("documentFileName(%q, %s) = %q, want %q", tc.name, tc.contentType, got, tc.want)
		}
	}
}

// Due dates are days in the appliance's zone: at 23:30 UTC on 26 November
// it is already 27 November in Copenhagen, so a letter due on the 26th is
// overdue there, while in UTC it is due today.
func TestDueInApplianceZone(t *testing.T) {
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC)
	if d := due(uitest.English, "2026-11-26", now, cph); !d.Overdue {
		t.Errorf("in Copenhagen: %+v, want overdue", d)
	}
	if d := due(uitest.English, "2026-11-26", now, time.UTC); d.Overdue || d.Note != "today" {
		t.Errorf("in UTC: %+v, want due today", d)
	}
}

func TestPeriodText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    string
		want string
	}{
		{"P5Y", "5 years"}, {"P1Y", "1 year"}, {"P15M", "15 months"}, {"P1M", "1 month"},
		{"P30D", "30 days"}, {"P1D", "1 day"}, {"P2W", "14 days"}, {"P1Y6M", "1 year and 6 months"},
		{"P2Y1M3D", "2 years, 1 month and 3 days"}, {"P0D", "no time"},
	} {
		if got := periodText(uitest.English, store.MustParsePeriod(tc.p)); got != tc.want {
			t.Errorf("periodText(%s) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
