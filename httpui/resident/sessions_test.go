package resident_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

const (
	firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	safariIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	edgeWindows  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)

// sessionHandles are the handles of the sessions a sessions page offers to
// sign out, in order.
var sessionHandles = regexp.MustCompile(`name="session" value="([0-9a-f]{32})"`)

// signInFrom signs nid in with a new browser that sends userAgent.
func signInFrom(e *uitest.Env, nid, userAgent string) *http.Client {
	e.T.Helper()
	b := e.Browser()
	r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {nid}, "password": {uitest.Password}}, http.Header{"User-Agent": {userAgent}})
	if r.StatusCode != http.StatusSeeOther {
		e.T.Fatalf("login %s: %d\n%s", nid, r.StatusCode, r.Text)
	}
	return b
}

// signedIn reports whether b's session still opens the inbox.
func signedIn(e *uitest.Env, b *http.Client) bool {
	e.T.Helper()
	r := e.Get(b, e.HTTPURL+"/")
	switch {
	case r.StatusCode == http.StatusOK:
		return true
	case r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/login":
		return false
	}
	e.T.Fatalf("GET / : %d %s", r.StatusCode, r.Header.Get("Location"))
	return false
}

// TestSessionsPage: the settings link the sessions page, which lists the
// resident's own sessions with the browser and system in words, the
// address, when each started and was last used, this device marked; one
// is signed out from another, and the other devices all at once, while
// this one stays signed in. In Danish too.
func TestSessionsPage(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	laptop := signInFrom(e, uitest.NIDAnna, firefoxLinux)
	phone := signInFrom(e, uitest.NIDAnna, safariIPhone)
	signInFrom(e, uitest.NIDBjorn, edgeWindows)

	if r := e.Get(laptop, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/sessions">See your sessions</a>`) {
		t.Errorf("the settings page does not link to the sessions page:\n%s", r.Text)
	}
	page := e.Get(laptop, e.HTTPURL+"/settings/sessions")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("sessions page: %d\n%s", page.StatusCode, page.Text)
	}
	for _, want := range []string{"<h1>Where you are signed in</h1>", "Firefox on Linux", "This device", "Safari on iOS",
		"<dd>127.0.0.1</dd>", "Sign out everywhere else", `action="/logout"`} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("sessions page lacks %q", want)
		}
	}
	if strings.Contains(page.Text, "Edge") || strings.Contains(page.Text, "Windows") {
		t.Error("Anna's sessions page shows Bjørn's session")
	}
	if strings.Index(page.Text, "Firefox on Linux") > strings.Index(page.Text, "Safari on iOS") {
		t.Error("this device is not listed first")
	}
	handles := sessionHandles.FindAllStringSubmatch(page.Text, -1)
	if len(handles) != 1 {
		t.Fatalf("%d sessions to sign out, want the phone's alone", len(handles))
	}
	phoneHandle := handles[0][1]

	r := e.PostForm(laptop, e.HTTPURL+"/settings/sessions/end", url.Values{"session": {phoneHandle}}, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "The device has been signed out") || strings.Contains(r.Text, "Safari on iOS") {
		t.Fatalf("signing the phone out: %d\n%s", r.StatusCode, r.Text)
	}
	if signedIn(e, phone) || !signedIn(e, laptop) {
		t.Fatal("after signing the phone out: want the phone signed out, the laptop in")
	}
	if n := e.AuditCount("end-session"); n != 1 {
		t.Errorf("%d end-session entries, want 1", n)
	}
	if r := e.PostForm(laptop, e.HTTPURL+"/settings/sessions/end", url.Values{"session": {phoneHandle}}, nil); r.StatusCode != http.StatusNotFound ||
		!strings.Contains(r.Text, "That session had already ended") {
		t.Errorf("signing it out again: %d\n%s", r.StatusCode, r.Text)
	}

	// Two more devices, then everywhere else at once.
	tablet, desktop := signInFrom(e, uitest.NIDAnna, safariIPhone), signInFrom(e, uitest.NIDAnna, edgeWindows)
	r = e.PostForm(laptop, e.HTTPURL+"/settings/sessions/end-others", nil, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "2 other devices have been signed out.") || strings.Contains(r.Text, "Sign out everywhere else") {
		t.Fatalf("signing out everywhere else: %d\n%s", r.StatusCode, r.Text)
	}
	if signedIn(e, tablet) || signedIn(e, desktop) || !signedIn(e, laptop) {
		t.Fatal("after signing out everywhere else: want the laptop alone signed in")
	}
	if r := e.PostForm(laptop, e.HTTPURL+"/settings/sessions/end-others", nil, nil); !strings.Contains(r.Text, "You were not signed in anywhere else.") {
		t.Errorf("with no others: %d\n%s", r.StatusCode, r.Text)
	}

	// In Danish.
	req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/settings/sessions", nil)
	req.Header.Set("Accept-Language", "da")
	if r := e.Do(laptop, req); !strings.Contains(r.Text, "<h1>Hvor du er logget ind</h1>") || !strings.Contains(r.Text, "Firefox på Linux") ||
		!strings.Contains(r.Text, "Denne enhed") {
		t.Errorf("the sessions page in Danish:\n%s", r.Text)
	}
}

// TestSessionsPageRefuses: another resident cannot sign out Anna's
// session (the answer is the one for a session ended already, and
// nothing changes); a browser that is not signed in, and a post from
// another site, change nothing either.
func TestSessionsPageRefuses(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	laptop := signInFrom(e, uitest.NIDAnna, firefoxLinux)
	phone := signInFrom(e, uitest.NIDAnna, safariIPhone)
	bjorn := signInFrom(e, uitest.NIDBjorn, edgeWindows)
	handles := sessionHandles.FindAllStringSubmatch(e.Get(laptop, e.HTTPURL+"/settings/sessions").Text, -1)
	if len(handles) != 1 {
		t.Fatalf("%d handles on Anna's page", len(handles))
	}
	phoneHandle := url.Values{"session": {handles[0][1]}}

	r := e.PostForm(bjorn, e.HTTPURL+"/settings/sessions/end", phoneHandle, nil)
	if r.StatusCode != http.StatusNotFound || !strings.Contains(r.Text, "That session had already ended") || strings.Contains(r.Text, "Safari") {
		t.Errorf("Bjørn signs out Anna's phone: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.PostForm(bjorn, e.HTTPURL+"/settings/sessions/end-others", nil, nil); !strings.Contains(r.Text, "You were not signed in anywhere else.") {
		t.Errorf("Bjørn signs out everywhere else: %d\n%s", r.StatusCode, r.Text)
	}
	stranger := e.Browser()
	for _, path := range []string{"/settings/sessions/end", "/settings/sessions/end-others"} {
		if r := e.PostForm(stranger, e.HTTPURL+path, phoneHandle, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("signed out, POST %s: %d %s", path, r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.PostForm(laptop, e.HTTPURL+path, phoneHandle, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d", path, r.StatusCode)
		}
	}
	if r := e.Get(stranger, e.HTTPURL+"/settings/sessions"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("signed out, the sessions page: %d", r.StatusCode)
	}
	if !signedIn(e, laptop) || !signedIn(e, phone) || !signedIn(e, bjorn) {
		t.Error("a refused request signed someone out")
	}
	if n := e.AuditCount("end-session") + e.AuditCount("end-other-sessions"); n != 0 {
		t.Errorf("%d entries of ended sessions after refusals", n)
	}
}

// TestLoginBlocked: a resident whose access the operator blocked is told
// so, with the reason and the date, after giving the right password; a
// wrong password learns nothing of the block.
func TestLoginBlocked(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	nid, err := store.ParseNationalID(uitest.NIDAnna)
	if err != nil {
		t.Fatal(err)
	}
	laptop := signInFrom(e, uitest.NIDAnna, firefoxLinux)
	if _, err := e.Store.BlockResident(context.Background(), nid, "Suspected misuse reported by the police"); err != nil {
		t.Fatal(err)
	}
	if signedIn(e, laptop) {
		t.Error("the block left a session signed in")
	}
	b := e.Browser()
	r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {uitest.Password}}, nil)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Text, "Access to your mailbox is blocked") ||
		!strings.Contains(r.Text, "Suspected misuse reported by the police") || !strings.Contains(r.Text, "Contact the municipality") {
		t.Fatalf("signing in while blocked: %d\n%s", r.StatusCode, r.Text)
	}
	r = e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {"wrong password"}}, nil)
	if r.StatusCode != http.StatusUnauthorized || strings.Contains(r.Text, "blocked") || strings.Contains(r.Text, "misuse") {
		t.Fatalf("a wrong password while blocked: %d\n%s", r.StatusCode, r.Text)
	}
	req, _ := http.NewRequest(http.MethodPost, e.HTTPURL+"/login", strings.NewReader(url.Values{"nationalId": {uitest.NIDAnna}, "password": {uitest.Password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "nb")
	if r := e.Do(b, req); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Text, "Tilgangen til postkassen din er sperret") {
		t.Errorf("blocked, in Norwegian: %d\n%s", r.StatusCode, r.Text)
	}
}
