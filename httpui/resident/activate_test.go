package resident_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// recoveryKeyPattern is how the page shows a recovery key.
var recoveryKeyPattern = regexp.MustCompile(`<code>((?:[0-9a-f]{8}-){7}[0-9a-f]{8})</code>`)

// TestActivate: the login page links to /activate; the resident activates
// the pending mailbox with the code and a password of their own, sees the
// recovery key once on a page that is never cached, and then signs in;
// senders see the mailbox as digital only from then on.
func TestActivate(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	code := e.Enrol(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	b := e.Browser()

	login := e.Get(b, e.HTTPURL+"/login")
	if !strings.Contains(login.Text, `<a href="/activate">Activate your mailbox</a>`) {
		t.Errorf("the login page does not link to the activation:\n%s", login.Text)
	}
	page := e.Get(b, e.HTTPURL+"/activate")
	if page.StatusCode != http.StatusOK || page.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /activate: %d, Cache-Control %q", page.StatusCode, page.Header.Get("Cache-Control"))
	}
	for _, want := range []string{
		"<title>Activate your mailbox — Postkasse</title>", "<h1>Activate your mailbox</h1>",
		`<form method="post" action="/activate" class="form" novalidate>`,
		`<label for="nationalId">National identity number</label>`, `<label for="code">Activation code</label>`,
		`<label for="password">Choose a password</label>`, `<label for="passwordConfirm">Type the password again</label>`,
		`autocomplete="one-time-code"`, `autocomplete="new-password" minlength="10"`,
		`aria-describedby="code-hint"`, `<a href="/login">Sign in</a>`,
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("activation page lacks %q", want)
		}
	}
	lookup := func() bool {
		t.Helper()
		return uitest.DecodeJSON[struct {
			Digital bool `json:"digital"`
		}](t, e.Get(s.Client, e.HTTPSURL+"/api/v1/recipients/"+uitest.NIDAnna)).Digital
	}
	if lookup() {
		t.Fatal("a pending mailbox looks digital to senders")
	}
	if r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login before activation: %d", r.StatusCode)
	}

	// Typed as a person might: lower case, with spaces.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation("010170-1234", typed, password, password), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("POST /activate: %d\n%s", r.StatusCode, r.Text)
	}
	m := recoveryKeyPattern.FindStringSubmatch(r.Text)
	if m == nil {
		t.Fatalf("no recovery key on the page:\n%s", r.Text)
	}
	for _, want := range []string{
		"<title>Your mailbox is activated — Postkasse</title>", "<h1>Your mailbox is activated</h1>",
		"Write this down and keep it safe.", "It is the only way to reach your letters if you forget your password. We cannot show it again.",
		`<a class="button" href="/login">Sign in to your mailbox</a>`,
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("the activated page lacks %q", want)
		}
	}
	if r.Header.Get("Cache-Control") != "no-store" || len(r.Cookies()) != 0 {
		t.Errorf("the recovery key's page: Cache-Control %q, cookies %v", r.Header.Get("Cache-Control"), r.Cookies())
	}
	if strings.Contains(r.Text, password) || strings.Contains(r.Text, strings.ToUpper(typed)) || strings.Contains(r.Text, code) {
		t.Error("the page shows the password or the activation code")
	}
	if strings.Contains(e.Logs.String(), m[1]) || strings.Contains(e.Logs.String(), code) {
		t.Error("the recovery key or the code is in the log")
	}
	if n := e.AuditCount("activate"); n != 1 {
		t.Fatalf("%d activate audit entries", n)
	}
	if !lookup() {
		t.Error("the activated mailbox is not digital")
	}
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	// The code works once.
	r = e.PostForm(e.Browser(), e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, code, "another long password", "another long password"), nil)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, uitest.English.T("activate.error.bad")) || recoveryKeyPattern.MatchString(r.Text) {
		t.Fatalf("second activation: %d\n%s", r.StatusCode, r.Text)
	}
}

// TestActivateRefused: wrong codes say so in one message and keep what the
// resident typed (not the passwords); missing fields, a short password and
// two different passwords are errors beside their fields; nothing is
// activated.
func TestActivateRefused(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 100, AddressFailures: 100}})
	code := e.Enrol(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	wrong := "AAAA" + code[4:]
	if strings.HasPrefix(code, "AAAA") {
		wrong = "BBBB" + code[4:]
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   []string
	}{
		{"wrong code", uitest.Activation(uitest.NIDAnna, wrong, password, password), 401,
			[]string{uitest.English.T("activate.error.bad"), `role="alert"`, `aria-describedby="activate-error"`, `value="` + uitest.NIDAnna + `"`, `value="` + wrong + `"`}},
		{"unknown person", uitest.Activation(uitest.NIDNobody, code, password, password), 401, []string{uitest.English.T("activate.error.bad")}},
		{"active resident", uitest.Activation(uitest.NIDBjorn, code, password, password), 401, []string{uitest.English.T("activate.error.bad")}},
		{"invalid number", uitest.Activation("not a number", code, password, password), 401, []string{uitest.English.T("activate.error.bad")}},
		{"missing fields", uitest.Activation("", "", "", ""), 400, []string{
			`<a href="#nationalId">Enter your national identity number.</a>`,
			`<a href="#code">Enter the activation code from your letter.</a>`,
			`<a href="#password">Choose a password of at least 10 characters.</a>`,
			`aria-describedby="nationalId-hint nationalId-error" aria-invalid="true"`,
			`aria-describedby="code-hint code-error" aria-invalid="true"`,
			`aria-describedby="password-hint password-error" aria-invalid="true"`,
		}},
		{"different passwords", uitest.Activation(uitest.NIDAnna, code, password, password+"!"), 400, []string{
			`<p class="field-error" id="passwordConfirm-error"><span class="visually-hidden">Error: </span>` + uitest.English.T("activate.error.passwordsDiffer") + `</p>`,
			`aria-invalid="true" aria-describedby="passwordConfirm-error"`, `value="` + code + `"`,
		}},
		{"short password", uitest.Activation(uitest.NIDAnna, code, "too short", "too short"), 400, []string{
			`<p class="field-error" id="password-error"><span class="visually-hidden">Error: </span>Choose a password of at least 10 characters.</p>`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.PostForm(e.Browser(), e.HTTPURL+"/activate", tc.form, nil)
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
			if recoveryKeyPattern.MatchString(r.Text) || r.Header.Get("Cache-Control") != "no-store" {
				t.Error("a refusal shows a recovery key, or is cacheable")
			}
		})
	}
	anna, err := store.ParseNationalID(uitest.NIDAnna)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := e.Store.ResidentByNationalID(context.Background(), anna); err != nil || r.Status != store.ResidentPending {
		t.Fatalf("after the refusals: %+v, %v; want still pending", r, err)
	}
	// The right code still works.
	if r := e.PostForm(e.Browser(), e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, code, password, password), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("activation after the refusals: %d\n%s", r.StatusCode, r.Text)
	}
}

// TestActivateThrottle: wrong codes count against the login throttle of
// the account; over the limit even the right code waits, and a wrong code
// and a wrong password share the limit.
func TestActivateThrottle(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 3, AddressFailures: 100, Window: 15 * time.Minute}})
	code := e.Enrol(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	wrong := "AAAA" + code[4:]
	if strings.HasPrefix(code, "AAAA") {
		wrong = "BBBB" + code[4:]
	}
	for i := range 2 {
		if r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, wrong, password, password), nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i, r.StatusCode)
		}
	}
	if r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login of the pending account: %d", r.StatusCode)
	}
	r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, code, password, password), nil)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "900" ||
		!strings.Contains(r.Text, "Too many failed attempts. Wait 15 minutes before you try again.") {
		t.Fatalf("over the limit: %d %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.Text)
	}
	if n := e.AuditCount("activate"); n != 0 {
		t.Fatal("a throttled activation was tried")
	}
	e.Clock.Advance(15 * time.Minute)
	if r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, code, password, password), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after the window: %d\n%s", r.StatusCode, r.Text)
	}
}

// TestActivateCrossSite: another site's page cannot submit the form (with
// or without Sec-Fetch-Site): refused with an explanation, nothing
// activated, and the code still works from this site.
func TestActivateCrossSite(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	code := e.Enrol(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	for _, h := range []http.Header{crossSite, {"Origin": {"https://evil.example"}}} {
		r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, code, password, password), h)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Text, "Request refused") || recoveryKeyPattern.MatchString(r.Text) {
			t.Fatalf("cross-site POST with %v: %d\n%s", h, r.StatusCode, r.Text)
		}
	}
	if n := e.AuditCount("activate"); n != 0 {
		t.Fatalf("%d activations after cross-site posts", n)
	}
	sameSite := http.Header{"Origin": {e.HTTPURL}, "Sec-Fetch-Site": {"same-origin"}}
	if r := e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, code, password, password), sameSite); r.StatusCode != http.StatusOK {
		t.Fatalf("same-origin POST: %d\n%s", r.StatusCode, r.Text)
	}
}
