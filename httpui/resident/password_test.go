package resident_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestChangePassword: the resident changes the password on the settings
// page. Refusals (the new ones differ or are short, the current one is
// wrong, a cross-site form) change nothing; wrong current passwords count
// against the login throttle. Changed, the old password no longer signs
// in and the new one does; the other sessions end unless kept; the
// session that changed it goes on.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 3}})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	b, other := e.Browser(), e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	e.Login(other, e.HTTPURL, uitest.NIDAnna)

	if r := e.Get(b, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/password">Change your password</a>`) {
		t.Errorf("the settings page does not link to the password page")
	}
	page := e.Get(b, e.HTTPURL+"/settings/password")
	for _, want := range []string{"<h1>Change your password</h1>", `autocomplete="current-password"`, `autocomplete="new-password"`,
		`<label for="keep">Keep me signed in on my other devices</label>`} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("password page lacks %q", want)
		}
	}
	const next = "a new and longer passphrase"
	post := func(c *http.Client, current, newPw, confirm string, keep bool, header http.Header) *uitest.Response {
		form := url.Values{"current": {current}, "new": {newPw}, "confirm": {confirm}}
		if keep {
			form.Set("keep", "on")
		}
		return e.PostForm(c, e.HTTPURL+"/settings/password", form, header)
	}
	loginStatus := func(pw string) int {
		return e.PostForm(e.Browser(), e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {pw}}, nil).StatusCode
	}
	for _, tc := range []struct {
		name                  string
		current, new, confirm string
		header                http.Header
		status                int
		text                  string
	}{
		{"differ", password, next, next + "!", nil, http.StatusBadRequest, "The two new passwords are not the same."},
		{"short", password, "kort", "kort", nil, http.StatusBadRequest, "at least 10 characters"},
		{"cross-site", password, next, next, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, ""},
		{"wrong current", "wrong password!", next, next, nil, http.StatusUnauthorized, "The current password is wrong."},
	} {
		r := post(b, tc.current, tc.new, tc.confirm, false, tc.header)
		if r.StatusCode != tc.status || !strings.Contains(r.Text, tc.text) {
			t.Errorf("%s: %d, want %d with %q", tc.name, r.StatusCode, tc.status, tc.text)
		}
	}
	// Two more wrong current passwords reach the throttle's three.
	post(b, "wrong password!", next, next, false, nil)
	post(b, "wrong password!", next, next, false, nil)
	if r := post(b, password, next, next, false, nil); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("over the throttle: %d", r.StatusCode)
	}
	e.Clock.Advance(16 * time.Minute) // the window passes
	if s := loginStatus(password); s != http.StatusSeeOther {
		t.Fatalf("after the refusals the password no longer signs in: %d", s)
	}

	r := post(b, password, next, next, false, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Your password is changed") || !strings.Contains(r.Text, "everywhere else you have been signed out") {
		t.Fatalf("change: %d %s", r.StatusCode, r.Text)
	}
	if s := loginStatus(password); s != http.StatusUnauthorized {
		t.Errorf("the old password signs in: %d", s)
	}
	if s := loginStatus(next); s != http.StatusSeeOther {
		t.Errorf("the new password: %d", s)
	}
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Errorf("the session that changed it: %d", r.StatusCode)
	}
	if r := e.Get(other, e.HTTPURL+"/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("another session after the change: %d, want a redirect to the login", r.StatusCode)
	}
	// Kept: the other sessions go on.
	third := e.Browser()
	if r := e.PostForm(third, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {next}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatal(r.StatusCode)
	}
	if r := post(b, next, password, password, true, nil); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "on your other devices") {
		t.Fatalf("change keeping the others: %d", r.StatusCode)
	}
	if r := e.Get(third, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Errorf("a kept session: %d", r.StatusCode)
	}
	if n := e.AuditCount("change-password"); n != 2 {
		t.Errorf("%d password changes audited, want 2", n)
	}
}
