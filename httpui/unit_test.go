package httpui

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/postkasse/postkasse/assets"
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
		d := due(english, tc.date, at(tc.now), time.Local)
		if d == nil || d.Text != tc.text || d.Note != tc.note || d.Soon != tc.soon || d.Overdue != tc.overdue {
			t.Errorf("due(%s, %s) = %+v, want %q %q soon=%v overdue=%v", tc.date, tc.now, d, tc.text, tc.note, tc.soon, tc.overdue)
		}
	}
	if due(english, "", time.Now(), time.UTC) != nil {
		t.Error("no due date gave a view")
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 999: "999 bytes", 1000: "1 KB", 12_345: "12 KB", 999_499: "999 KB", 1_000_000: "1.0 MB", 10_485_760: "10.5 MB"} {
		if got := formatSize(english, n); got != want {
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
		if got := waitText(english, d); got != want {
			t.Errorf("waitText(%v) = %q, want %q", d, got, want)
		}
	}
}

// failThrottled records a failed password check for account from address.
func failThrottled(t *testing.T, th *throttle, account, address string) {
	t.Helper()
	ok, _, done := th.reserve(account, address)
	if !ok {
		t.Fatalf("%s from %s refused", account, address)
	}
	done(true)
}

// blockedThrottled reports whether a check for account from address would
// be refused now, and the wait; a reservation it gets is given back.
func blockedThrottled(th *throttle, account, address string) (bool, time.Duration) {
	ok, wait, done := th.reserve(account, address)
	if ok {
		done(false)
	}
	return !ok, wait
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	th := newThrottle(c.Now, 10*time.Minute, 2, 3)
	if blocked, _ := blockedThrottled(th, "a", "ip"); blocked {
		t.Fatal("blocked before any failure")
	}
	failThrottled(t, th, "a", "ip")
	c.Advance(time.Minute)
	failThrottled(t, th, "a", "ip")
	blocked, wait := blockedThrottled(th, "a", "ip")
	if !blocked || wait != 9*time.Minute {
		t.Fatalf("after 2 failures: %v %v", blocked, wait)
	}
	if blocked, _ := blockedThrottled(th, "b", "ip2"); blocked {
		t.Fatal("another account and address blocked")
	}
	failThrottled(t, th, "b", "ip") // the address's third failure
	if blocked, wait := blockedThrottled(th, "c", "ip"); !blocked || wait != 9*time.Minute {
		t.Fatalf("address over the limit: %v %v", blocked, wait)
	}
	th.succeed("a")
	if blocked, _ := blockedThrottled(th, "a", "ip3"); blocked {
		t.Fatal("success did not reset the account")
	}
	c.Advance(9 * time.Minute)
	if blocked, _ := blockedThrottled(th, "c", "ip"); blocked {
		t.Fatal("still blocked after the window")
	}
	// Old entries are swept.
	c.Advance(time.Hour)
	failThrottled(t, th, "d", "ip4")
	th.mu.Lock()
	n := len(th.accounts) + len(th.addresses)
	pending := len(th.pendingAccounts) + len(th.pendingAddresses)
	th.mu.Unlock()
	if n != 2 || pending != 0 {
		t.Fatalf("%d keys after the sweep, want 2; %d keys of checks under way, want 0", n, pending)
	}
}

// TestThrottleReservation: checks under way count against the limit like
// failures, so attempts at the same time cannot all pass before the first
// failure is counted; a check that settles without a failure frees its
// place.
func TestThrottleReservation(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	th := newThrottle(c.Now, 10*time.Minute, 2, 3)

	ok1, _, done1 := th.reserve("a", "ip1")
	ok2, _, done2 := th.reserve("a", "ip2")
	if !ok1 || !ok2 {
		t.Fatalf("first two checks of a: %v %v", ok1, ok2)
	}
	// Two under way is a's limit, whatever the address.
	if ok, wait, _ := th.reserve("a", "ip3"); ok || wait != 10*time.Minute {
		t.Fatalf("third check while two are under way: %v %v", ok, wait)
	}
	done1(false) // right password, or no check after all
	done1(true)  // a second call changes nothing
	ok3, _, done3 := th.reserve("a", "ip3")
	if !ok3 {
		t.Fatal("a check settled without a failure still holds its place")
	}
	c.Advance(time.Minute)
	done2(true)
	done3(true)
	if blocked, wait := blockedThrottled(th, "a", "ip4"); !blocked || wait != 10*time.Minute {
		t.Fatalf("after two failures: %v %v", blocked, wait)
	}

	// The address's limit (3) counts checks under way of every account:
	// one failure (ip2's, a minute ago) and two under way.
	c.Advance(time.Minute)
	okB, _, doneB := th.reserve("b", "ip2")
	okC, _, doneC := th.reserve("c", "ip2")
	if !okB || !okC {
		t.Fatalf("checks of b and c from ip2: %v %v", okB, okC)
	}
	if ok, wait, _ := th.reserve("d", "ip2"); ok || wait != 9*time.Minute {
		// Counting the two under way as failures now, the window must
		// slide past ip2's failure a minute ago.
		t.Fatalf("a fourth check from ip2: %v %v", ok, wait)
	}
	doneB(false)
	doneC(false)
	th.mu.Lock()
	pending := len(th.pendingAccounts) + len(th.pendingAddresses)
	th.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d keys of checks under way after all settled, want 0", pending)
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

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	l := newRateLimiter(c.Now, 2, 3)
	for i := range 3 {
		if ok, _ := l.allow("s"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, wait := l.allow("s")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v %v", ok, wait)
	}
	c.Advance(500 * time.Millisecond)
	if ok, _ := l.allow("s"); !ok {
		t.Fatal("refused after refilling")
	}
	c.Advance(time.Hour)
	for i := range 3 {
		if ok, _ := l.allow("s"); !ok {
			t.Fatalf("burst %d after an hour refused", i)
		}
	}
	if ok, _ := l.allow("s"); ok {
		t.Fatal("the bucket holds more than its burst")
	}
}

// TestTemplates: New parses every page; a missing or broken template
// fails at start-up.
func TestTemplates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	good := fstest.MapFS{}
	err := fs.WalkDir(assets.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets.FS(), p)
		good[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.server.parseTemplates(good); err != nil {
		t.Fatalf("the embedded templates: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(m fstest.MapFS)
		want   string
	}{
		{"missing page", func(m fstest.MapFS) { delete(m, "templates/letter.html") }, "letter"},
		{"missing layout", func(m fstest.MapFS) { delete(m, "templates/layout.html") }, "layout"},
		{"broken page", func(m fstest.MapFS) {
			m["templates/inbox.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.Nope`)}
		}, "inbox"},
		{"unknown function", func(m fstest.MapFS) {
			m["templates/error.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{nope}}{{end}}`)}
		}, "error"},
		{"no content", func(m fstest.MapFS) { m["templates/login.html"] = &fstest.MapFile{Data: []byte(`hello`)} }, "login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fstest.MapFS{}
			for k, v := range good {
				m[k] = v
			}
			tc.change(m)
			_, err := e.server.parseTemplates(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one about %s", err, tc.want)
			}
		})
	}
	if _, err := loadStatic(fstest.MapFS{}); err == nil {
		t.Fatal("no style sheet, no error")
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
	if d := due(english, "2026-11-26", now, cph); !d.Overdue {
		t.Errorf("in Copenhagen: %+v, want overdue", d)
	}
	if d := due(english, "2026-11-26", now, time.UTC); d.Overdue || d.Note != "today" {
		t.Errorf("in UTC: %+v, want due today", d)
	}
}
