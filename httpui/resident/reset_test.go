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

// TestReset: "Forgot your password?" links to /reset; the page says in
// plain words that every letter will be deleted before the resident
// confirms; with the operator's reset code and a new password the
// mailbox is reset, the resident signed in and shown the new recovery
// key once; the letters, the old password and every other session are
// gone; the code works once and is never in the log.
func TestReset(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	if r := e.Deliver(s.Client, uitest.ValidDelivery("ref-1")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	other := e.Browser()
	e.Login(other, e.HTTPURL, uitest.NIDAnna)
	b := e.Browser()
	if r := e.Get(b, e.HTTPURL+"/recover"); !strings.Contains(r.Text, `<a class="button button-secondary" href="/reset">I have a reset code</a>`) {
		t.Fatalf("the recover page does not link to /reset:\n%s", r.Text)
	}
	page := e.Get(b, e.HTTPURL+"/reset")
	if page.StatusCode != http.StatusOK || page.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /reset: %d, Cache-Control %q", page.StatusCode, page.Header.Get("Cache-Control"))
	}
	for _, want := range []string{
		"<title>Start again with a reset code — Postkasse</title>", "<h1>Start again with an empty mailbox</h1>",
		"All your letters will be deleted", "Nobody can bring them back",
		`<form method="post" action="/reset" class="form" novalidate>`, `<label for="code">Reset code</label>`,
		`<label for="confirm">I understand that all my letters will be deleted</label>`,
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("the reset page lacks %q", want)
		}
	}
	code := e.ResetCode(uitest.NIDAnna)
	const next = "a brand new passphrase"
	// Not confirmed: nothing happens.
	form := uitest.Reset(uitest.NIDAnna, code, next)
	form.Del("confirm")
	if r := e.PostForm(b, e.HTTPURL+"/reset", form, nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "Tick the box") {
		t.Fatalf("unconfirmed: %d\n%s", r.StatusCode, r.Text)
	}
	// The mailbox is as it was (a sign-in would void the code: a
	// resident who can sign in has not lost their keys).
	if r := e.Get(other, e.HTTPURL+"/"); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "/letters/") {
		t.Fatalf("the other session after an unconfirmed reset: %d", r.StatusCode)
	}

	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	r := e.PostForm(b, e.HTTPURL+"/reset", uitest.Reset(uitest.NIDAnna, typed, next), nil)
	if r.StatusCode != http.StatusOK || !recoveryKeyPattern.MatchString(r.Text) || !strings.Contains(r.Text, "Your mailbox has been reset") ||
		r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reset: %d %q\n%s", r.StatusCode, r.Header.Get("Cache-Control"), r.Text)
	}
	if strings.Contains(r.Text, next) || strings.Contains(r.Text, code) {
		t.Error("the page shows the password or the reset code")
	}
	if logs := e.Logs.String(); strings.Contains(logs, code) || strings.Contains(logs, recoveryKeyPattern.FindStringSubmatch(r.Text)[1]) {
		t.Error("the reset code or the recovery key is in the log")
	}
	inbox := e.Get(b, e.HTTPURL+"/")
	if inbox.StatusCode != http.StatusOK || strings.Contains(inbox.Text, "/letters/") {
		t.Fatalf("inbox after the reset: %d\n%s", inbox.StatusCode, inbox.Text)
	}
	if r := e.Get(other, e.HTTPURL+"/"); r.StatusCode == http.StatusOK {
		t.Errorf("the other session still opens the inbox after the reset")
	}
	if r := e.PostForm(e.Browser(), e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old password after the reset: %d", r.StatusCode)
	}
	if r := e.PostForm(e.Browser(), e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {next}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new password after the reset: %d", r.StatusCode)
	}
	if n := e.AuditCount("reset-code (1 letters deleted)"); n != 1 {
		t.Errorf("%d reset-code entries", n)
	}
	// The code works once, and a used one answers like a wrong one.
	r = e.PostForm(e.Browser(), e.HTTPURL+"/reset", uitest.Reset(uitest.NIDAnna, code, "yet another passphrase"), nil)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, uitest.English.T("reset.error.bad")) || recoveryKeyPattern.MatchString(r.Text) {
		t.Fatalf("second reset: %d\n%s", r.StatusCode, r.Text)
	}
}

// TestResetRefused: another resident's, a wrong and a malformed code, an
// unknown number all get one message and keep what the resident typed
// (not the passwords); missing fields and a weak password are errors
// beside their fields; a pending mailbox's activation code points to the
// activation; a form from another site is refused. Nothing is reset.
func TestResetRefused(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 100, AddressFailures: 100}})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	code := e.ResetCode(uitest.NIDAnna)
	bjorn := e.ResetCode(uitest.NIDBjorn)
	activation := e.Enrol(testNIDFree, "Per Pending")
	wrong := "AAAA" + code[4:]
	if strings.HasPrefix(code, "AAAA") {
		wrong = "BBBB" + code[4:]
	}
	const next = "a brand new passphrase"
	bad := uitest.English.T("reset.error.bad")
	blank := uitest.Reset("", "", "")
	blank.Del("confirm")
	for _, tc := range []struct {
		name   string
		form   url.Values
		header http.Header
		status int
		want   []string
	}{
		{"wrong code", uitest.Reset(uitest.NIDAnna, wrong, next), nil, http.StatusUnauthorized, []string{bad, `value="` + wrong + `"`}},
		{"another resident's code", uitest.Reset(uitest.NIDAnna, bjorn, next), nil, http.StatusUnauthorized, []string{bad}},
		{"malformed code", uitest.Reset(uitest.NIDAnna, "<b>nope</b>", next), nil, http.StatusUnauthorized, []string{bad, "&lt;b&gt;nope&lt;/b&gt;"}},
		{"unknown number", uitest.Reset(testNIDFree[:9]+"9", code, next), nil, http.StatusUnauthorized, []string{bad}},
		{"activation code of a pending mailbox", uitest.Reset(testNIDFree, activation, next), nil, http.StatusConflict,
			[]string{uitest.English.T("reset.pending.text"), `<a class="button" href="/activate">Activate my mailbox</a>`}},
		{"nothing filled in", blank, nil, http.StatusBadRequest, []string{
			uitest.English.T("activate.error.nationalId"), uitest.English.T("reset.error.code"), uitest.English.T("oidc.reset.error.confirm")}},
		{"weak password", uitest.Reset(uitest.NIDAnna, code, "password123"), nil, http.StatusBadRequest, []string{`aria-invalid="true"`, `id="password-error"`}},
		{"cross-site form", uitest.Reset(uitest.NIDAnna, code, next), crossSite, http.StatusForbidden, []string{"Request refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.PostForm(e.Browser(), e.HTTPURL+"/reset", tc.form, tc.header)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", r.StatusCode, tc.status, r.Text)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.Text, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			if pw := tc.form.Get("password"); pw != "" && strings.Contains(r.Text, pw) {
				t.Error("a password is echoed")
			}
			if recoveryKeyPattern.MatchString(r.Text) || len(r.Cookies()) != 0 {
				t.Error("a refusal shows a recovery key, or sets a cookie")
			}
		})
	}
	if n := e.AuditCount("reset-code (0 letters deleted)"); n != 0 {
		t.Fatalf("%d resets after the refusals", n)
	}
	// The right code still works, from this site.
	if r := e.PostForm(e.Browser(), e.HTTPURL+"/reset", uitest.Reset(uitest.NIDAnna, code, next), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("reset after the refusals: %d\n%s", r.StatusCode, r.Text)
	}
}

// TestResetThrottle: wrong reset codes count against the login throttle
// of the account; over the limit even the right code waits.
func TestResetThrottle(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 3, AddressFailures: 100, Window: 15 * time.Minute}})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	code := e.ResetCode(uitest.NIDAnna)
	wrong := "AAAA" + code[4:]
	if strings.HasPrefix(code, "AAAA") {
		wrong = "BBBB" + code[4:]
	}
	const next = "a brand new passphrase"
	b := e.Browser()
	for i := range 2 {
		if r := e.PostForm(b, e.HTTPURL+"/reset", uitest.Reset(uitest.NIDAnna, wrong, next), nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i, r.StatusCode)
		}
	}
	// A wrong password counts in the same limit.
	if r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {"not the password at all"}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	r := e.PostForm(b, e.HTTPURL+"/reset", uitest.Reset(uitest.NIDAnna, code, next), nil)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "900" ||
		!strings.Contains(r.Text, "Too many failed attempts. Wait 15 minutes before you try again.") {
		t.Fatalf("over the limit: %d %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.Text)
	}
	e.Clock.Advance(15 * time.Minute)
	if r := e.PostForm(b, e.HTTPURL+"/reset", uitest.Reset(uitest.NIDAnna, code, next), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d\n%s", r.StatusCode, r.Text)
	}
}
