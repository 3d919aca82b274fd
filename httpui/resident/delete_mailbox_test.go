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
	"github.com/postkasse/postkasse/httpui/resident"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/internal/testsupport"
)

// TestDeleteMailbox: the resident deletes their mailbox with their
// password. A wrong password, a cross-site form or too many attempts
// delete nothing; the right one deletes the account at once, ends the
// session and clears the cookie; after that the login fails and senders
// are told the number is not digital.
func TestDeleteMailbox(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 3}})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	if r := e.Deliver(s.Client, uitest.ValidDelivery("keep-or-delete")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery: %d %s", r.StatusCode, r.Text)
	}
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	page := e.Get(b, e.HTTPURL+"/settings/delete")
	for _, want := range []string{
		"<title>Delete your mailbox — Postkasse</title>", "<h1>Delete your mailbox</h1>",
		"Deleted letters cannot be restored. Your mailbox and all letters in it are deleted at once.",
		`<form method="post" action="/settings/delete"`, `<label for="password">Your password</label>`,
		`autocomplete="current-password"`, `aria-describedby="delete-warning"`, `<a href="/settings">Cancel, keep my mailbox</a>`,
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("delete page lacks %q", want)
		}
	}

	alive := func(what string) {
		t.Helper()
		if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Your tax assessment") {
			t.Fatalf("%s: the inbox is %d", what, r.StatusCode)
		}
	}
	// Cross-site, even with the right password: refused.
	if r := e.PostForm(b, e.HTTPURL+"/settings/delete", url.Values{"password": {password}}, crossSite); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site delete: %d", r.StatusCode)
	}
	alive("after a cross-site delete")

	// Wrong passwords: refused with a message tied to the field, and
	// counted; over the limit even the right one waits.
	for i := range 3 {
		r := e.PostForm(b, e.HTTPURL+"/settings/delete", url.Values{"password": {"not the password"}}, nil)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, "Wrong password. Your mailbox was not deleted.") ||
			!strings.Contains(r.Text, `aria-describedby="password-hint delete-error" aria-invalid="true"`) || !strings.Contains(r.Text, `role="alert"`) {
			t.Fatalf("wrong password %d: %d\n%s", i, r.StatusCode, r.Text)
		}
		alive("after a wrong password")
	}
	r := e.PostForm(b, e.HTTPURL+"/settings/delete", url.Values{"password": {password}}, nil)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Text, "Too many wrong passwords") {
		t.Fatalf("delete over the Throttle: %d\n%s", r.StatusCode, r.Text)
	}
	alive("after the throttle")
	e.Clock.Advance(16 * time.Minute) // past the window

	// The right password: deleted, signed out, told so.
	u, _ := url.Parse(e.HTTPURL)
	oldCookies := b.Jar.Cookies(u)
	r = e.PostForm(b, e.HTTPURL+"/settings/delete", url.Values{"password": {password}}, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "<h1>Your mailbox is deleted</h1>") || strings.Contains(r.Text, "Anna Jensen") {
		t.Fatalf("delete: %d\n%s", r.StatusCode, r.Text)
	}
	cleared := false
	for _, c := range r.Cookies() {
		cleared = cleared || (c.Name == resident.CookieHTTP && c.MaxAge < 0)
	}
	if !cleared {
		t.Fatalf("the session cookie was not cleared: %v", r.Header["Set-Cookie"])
	}
	if n := e.AuditCount("delete-account-resident"); n != 1 {
		t.Fatalf("%d delete-account-resident audit entries", n)
	}
	wantRedirect(t, "inbox after deleting", e.Get(b, e.HTTPURL+"/"), "/login")
	// A copy of the old cookie opens nothing; the password neither.
	copied := e.Browser()
	copied.Jar.SetCookies(u, oldCookies)
	// The session cookie and the device cookie (which opens nothing).
	if len(oldCookies) != 2 || oldCookies[0].Name != resident.CookieHTTP && oldCookies[1].Name != resident.CookieHTTP {
		t.Fatalf("cookies before deleting: %v", oldCookies)
	}
	wantRedirect(t, "the old cookie", e.Get(copied, e.HTTPURL+"/"), "/login")
	if r := e.PostForm(e.Browser(), e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login after deleting: %d", r.StatusCode)
	}
	lookup := uitest.DecodeJSON[struct {
		Digital bool `json:"digital"`
	}](t, e.Get(s.Client, e.HTTPSURL+"/api/v1/recipients/"+uitest.NIDAnna))
	if lookup.Digital {
		t.Fatal("the API still says the deleted mailbox is digital")
	}
	if r := e.Deliver(s.Client, uitest.ValidDelivery("after-deleting")...); r.StatusCode == http.StatusCreated {
		t.Fatal("a letter was delivered to the deleted mailbox")
	}

	// Bjørn's mailbox is untouched.
	other := e.Browser()
	e.Login(other, e.HTTPURL, uitest.NIDBjorn)
	if r := e.Get(other, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Fatalf("the other resident's inbox: %d", r.StatusCode)
	}
}

// TestResidentPagesHeaders: the terms and settings pages, their redirects
// and refusals carry the security headers and are never cached; a
// cross-site POST to each of their forms is refused; methods they do not
// take are 405 with Allow.
func TestResidentPagesHeaders(t *testing.T) {
	t.Parallel()
	storeClock := testsupport.NewClock()
	e := apptest.NewEnv(t, apptest.Options{StoreClock: storeClock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	bs := e.Browser()
	e.Login(bs, e.HTTPSURL, uitest.NIDAnna)

	check := func(t *testing.T, r *uitest.Response, status int) {
		t.Helper()
		if r.StatusCode != status {
			t.Fatalf("status %d, want %d", r.StatusCode, status)
		}
		for k, v := range map[string]string{
			"Content-Security-Policy":      web.CSPPage,
			"X-Content-Type-Options":       "nosniff",
			"Referrer-Policy":              "no-referrer",
			"X-Frame-Options":              "DENY",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Resource-Policy": "same-origin",
			"Cache-Control":                "no-store",
		} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		if r.Header.Get("Permissions-Policy") == "" {
			t.Error("no Permissions-Policy")
		}
	}
	for _, tc := range []struct {
		name   string
		c      *http.Client
		url    string
		status int
	}{
		{"terms", b, e.HTTPURL + "/terms", 200},
		{"settings", b, e.HTTPURL + "/settings", 200},
		{"settings over HTTPS", bs, e.HTTPSURL + "/settings", 200},
		{"delete", b, e.HTTPURL + "/settings/delete", 200},
		{"settings without a session", e.Browser(), e.HTTPURL + "/settings", 303},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, e.Get(tc.c, tc.url), tc.status) })
	}
	t.Run("refused settings", func(t *testing.T) {
		check(t, e.PostForm(b, e.HTTPURL+"/settings/notifications", url.Values{"email": {"x"}}, nil), 422)
	})
	t.Run("refused delete", func(t *testing.T) {
		check(t, e.PostForm(b, e.HTTPURL+"/settings/delete", url.Values{"password": {"x"}}, nil), 401)
	})

	// Every new form refuses a cross-site POST, with or without
	// Sec-Fetch-Site, and changes nothing.
	publishTerms(e, "§1\n", "2027-01-01")
	for _, path := range []string{"/terms/accept", "/settings/notifications", "/settings/delete"} {
		for _, h := range []http.Header{crossSite, {"Origin": {"https://evil.example"}}} {
			r := e.PostForm(b, e.HTTPURL+path, url.Values{"version": {"1"}, "password": {password}, "email": {"a@example.dk"}}, h)
			check(t, r, http.StatusForbidden)
			if !strings.Contains(r.Text, "Request refused") {
				t.Errorf("cross-site POST %s: no explanation", path)
			}
		}
	}
	for _, action := range []string{"accept-terms", "set-notifications", "delete-account-resident"} {
		if n := e.AuditCount(action); n != 0 {
			t.Errorf("%d %s after cross-site posts", n, action)
		}
	}

	// The gate's redirect carries the headers too.
	storeClock.Advance(41 * 24 * time.Hour)
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	r := e.Get(b, e.HTTPURL+"/settings")
	check(t, r, http.StatusSeeOther)

	// The confirmation of the deletion.
	other := e.Browser()
	e.Login(other, e.HTTPURL, uitest.NIDBjorn)
	check(t, e.PostForm(other, e.HTTPURL+"/settings/delete", url.Values{"password": {password}}, nil), 200)

	for _, tc := range []struct{ path, allow string }{
		{"/terms", "GET, HEAD"}, {"/terms/accept", "POST"}, {"/settings", "GET, HEAD"},
		{"/settings/notifications", "POST"}, {"/settings/delete", "GET, HEAD, POST"},
	} {
		req, _ := http.NewRequest(http.MethodPut, e.HTTPURL+tc.path, nil)
		if r := e.Do(b, req); r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != tc.allow {
			t.Errorf("PUT %s: %d Allow %q, want %q", tc.path, r.StatusCode, r.Header.Get("Allow"), tc.allow)
		}
	}
}
