package resident_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/resident"
	"github.com/postkasse/postkasse/internal/testsupport"
)

var (
	// shownSecret is the TOTP secret as the set-up page writes it.
	shownSecret = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7 ]+)</code>`)
	// shownBackupCode is a backup code as the page lists it.
	shownBackupCode = regexp.MustCompile(`<li><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code></li>`)
)

// totpEnv is an appliance whose store runs on a clock the test moves
// (codes are computed from it), with a resident signed in.
type totpEnv struct {
	*uitest.Env
	clock *testsupport.Clock
}

func newTOTPEnv(t *testing.T, throttle httpui.ThrottleConfig) *totpEnv {
	clock := testsupport.NewClock()
	e := apptest.NewEnv(t, apptest.Options{StoreClock: clock.Now, Throttle: throttle})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	return &totpEnv{Env: e, clock: clock}
}

// code is the code of secret (as shown, with spaces) at the store's time
// plus d.
func (e *totpEnv) code(secret string, d time.Duration) string {
	e.T.Helper()
	c, err := totp.GenerateCodeCustom(strings.ReplaceAll(secret, " ", ""), e.clock.Now().Add(d),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

// turnOn sets up two-step verification from the settings page with b,
// signed in, and returns the secret and the backup codes.
func (e *totpEnv) turnOn(b *http.Client) (string, []string) {
	e.T.Helper()
	page := e.Get(b, e.HTTPURL+"/settings/two-step")
	m := shownSecret.FindStringSubmatch(page.Text)
	if page.StatusCode != http.StatusOK || m == nil || !strings.Contains(page.Text, `src="data:image/png;base64,`) {
		e.T.Fatalf("the set-up page: %d\n%s", page.StatusCode, page.Text)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	r := e.PostForm(b, e.HTTPURL+"/settings/two-step/on", url.Values{"secret": {secret}, "code": {e.code(secret, 0)}, "password": {password}}, nil)
	codes := shownBackupCode.FindAllStringSubmatch(r.Text, -1)
	if r.StatusCode != http.StatusOK || len(codes) != 10 || r.Header.Get("Cache-Control") != "no-store" {
		e.T.Fatalf("turn on: %d, %d codes\n%s", r.StatusCode, len(codes), r.Text)
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	return secret, out
}

// firstStep signs in with the password and wants the page that asks for
// the code.
func (e *totpEnv) firstStep(b *http.Client) {
	e.T.Helper()
	r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login/code" {
		e.T.Fatalf("password with two-step verification on: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// stepCookieOrNil is b's first-step cookie, or nil.
func (e *totpEnv) stepCookieOrNil(b *http.Client) *http.Cookie {
	u, err := url.Parse(e.HTTPURL)
	if err != nil {
		e.T.Fatal(err)
	}
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == resident.StepCookieHTTP {
			return c
		}
	}
	return nil
}

// stepCookie is b's first-step cookie.
func (e *totpEnv) stepCookie(b *http.Client) *http.Cookie {
	e.T.Helper()
	c := e.stepCookieOrNil(b)
	if c == nil {
		e.T.Fatal("no first-step cookie")
	}
	return c
}

// signedIn reports whether b's cookies open the inbox.
func (e *totpEnv) signedIn(b *http.Client) bool {
	e.T.Helper()
	return e.Get(b, e.HTTPURL+"/").StatusCode == http.StatusOK
}

// TestTOTPSignIn: turned on from the settings, two-step verification
// makes the password alone give no session, only the page that asks for
// the code; a wrong, reused or stale code is one answer (the same page and
// status); the right one signs in; the first step is used once and works
// only in the browser that gave the password.
func TestTOTPSignIn(t *testing.T) {
	t.Parallel()
	e := newTOTPEnv(t, httpui.ThrottleConfig{AccountFailures: 20, AddressFailures: 50})
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if r := e.Get(b, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/two-step">`) {
		t.Error("the settings page does not link to two-step verification")
	}
	secret, _ := e.turnOn(b)
	if n := e.AuditCount("totp-on"); n != 1 {
		t.Errorf("%d totp-on audit entries", n)
	}
	setupCode := e.code(secret, 0)
	if r := e.Get(b, e.HTTPURL+"/settings/two-step"); !strings.Contains(r.Text, "Two-step verification is on.") || shownSecret.MatchString(r.Text) {
		t.Errorf("the page once it is on:\n%s", r.Text)
	}
	if r := e.PostForm(b, e.HTTPURL+"/logout", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}

	e.firstStep(b)
	if e.signedIn(b) {
		t.Fatal("signed in with the password alone")
	}
	if r := e.Get(b, e.HTTPURL+"/login/code"); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, `autocomplete="one-time-code"`) {
		t.Fatalf("the code page: %d\n%s", r.StatusCode, r.Text)
	}
	post := func(c *http.Client, code string) *uitest.Response {
		return e.PostForm(c, e.HTTPURL+"/login/code", url.Values{"code": {code}}, nil)
	}
	// The set-up code is used; a wrong code; a code of a minute ago; a
	// code that is no code: one answer.
	e.clock.Advance(10 * time.Second)
	var first *uitest.Response
	for _, c := range []string{setupCode, "000000", e.code(secret, -time.Minute), "not a code", ""} {
		if c == e.code(secret, 0) && c != setupCode {
			continue // a wrong code that happens to be right
		}
		r := post(b, c)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, "The code is wrong or has already been used.") {
			t.Fatalf("code %q: %d\n%s", c, r.StatusCode, r.Text)
		}
		if first == nil {
			first = r
		} else if r.Text != first.Text {
			t.Errorf("code %q is answered otherwise than the used code", c)
		}
	}
	if e.signedIn(b) {
		t.Fatal("signed in after wrong codes")
	}
	// Another browser, without the first step's cookie, gets nowhere.
	other := e.Browser()
	e.clock.Advance(30 * time.Second)
	good := e.code(secret, 0)
	if r := post(other, good); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, "The sign-in took too long") || e.signedIn(other) {
		t.Fatalf("the code from another browser: %d\n%s", r.StatusCode, r.Text)
	}
	u, _ := url.Parse(e.HTTPURL)
	step := e.stepCookie(b)
	if r := post(b, good); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || !e.signedIn(b) {
		t.Fatalf("the right code: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// The first step is used: replaying its cookie gets nothing, even
	// with the next code.
	replay := e.Browser()
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: step.Name, Value: step.Value, Path: "/"}})
	e.clock.Advance(30 * time.Second)
	if r := post(replay, e.code(secret, 0)); r.StatusCode != http.StatusUnauthorized || e.signedIn(replay) {
		t.Fatalf("a replayed first step: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.Get(replay, e.HTTPURL+"/login/code"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("the code page without a live first step: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// A first step expires.
	b2 := e.Browser()
	e.firstStep(b2)
	e.clock.Advance(5 * time.Minute)
	if r := post(b2, e.code(secret, 0)); r.StatusCode != http.StatusUnauthorized || e.signedIn(b2) {
		t.Fatalf("an expired first step: %d", r.StatusCode)
	}
	// Cancelling (the code page's button posts to /logout) ends the
	// first step: its cookie, replayed, gets nothing.
	b3 := e.Browser()
	e.firstStep(b3)
	step3 := e.stepCookie(b3)
	if r := e.PostForm(b3, e.HTTPURL+"/logout", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.StatusCode)
	}
	if c := e.stepCookieOrNil(b3); c != nil {
		t.Errorf("the first-step cookie stays after cancelling")
	}
	replay3 := e.Browser()
	replay3.Jar.SetCookies(u, []*http.Cookie{{Name: step3.Name, Value: step3.Value, Path: "/"}})
	e.clock.Advance(30 * time.Second)
	if r := post(replay3, e.code(secret, 0)); r.StatusCode != http.StatusUnauthorized || e.signedIn(replay3) {
		t.Fatalf("a cancelled first step: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("login"); n != 2 {
		t.Errorf("%d login audit entries, want 2", n)
	}
}

// TestTOTPCodesThrottled: guessing codes counts against the login
// throttle like wrong passwords; once it refuses, the right code is not
// tried either, and giving the password again does not reset the count.
func TestTOTPCodesThrottled(t *testing.T) {
	t.Parallel()
	e := newTOTPEnv(t, httpui.ThrottleConfig{AccountFailures: 3, AddressFailures: 50})
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	secret, codes := e.turnOn(b)
	e.PostForm(b, e.HTTPURL+"/logout", nil, nil)
	e.clock.Advance(30 * time.Second)
	e.firstStep(b)
	post := func(code string) *uitest.Response {
		return e.PostForm(b, e.HTTPURL+"/login/code", url.Values{"code": {code}}, nil)
	}
	wrong := "000000"
	if wrong == e.code(secret, 0) {
		wrong = "111111"
	}
	for i := range 2 {
		if r := post(wrong); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i, r.StatusCode)
		}
	}
	// The password again: a first step, but the count of wrong codes
	// stays (were it reset, the right code below would pass).
	e.firstStep(b)
	if r := post(wrong); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("third wrong code: %d", r.StatusCode)
	}
	for _, c := range []string{e.code(secret, 0), codes[0]} {
		r := post(c)
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Text, "Too many attempts") {
			t.Fatalf("a right code while throttled: %d\n%s", r.StatusCode, r.Text)
		}
	}
	if e.signedIn(b) {
		t.Fatal("signed in while throttled")
	}
	if r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the password while the codes are throttled: %d", r.StatusCode)
	}
	if !strings.Contains(e.Logs.String(), "password check throttled") {
		t.Error("the throttled code is not logged for fail2ban")
	}
	// After the window, a backup code works, once.
	e.Clock.Advance(15 * time.Minute)
	e.clock.Advance(15 * time.Minute)
	e.firstStep(b)
	if r := post(codes[0]); r.StatusCode != http.StatusSeeOther || !e.signedIn(b) {
		t.Fatalf("a backup code after the window: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("backup-code-used"); n != 1 {
		t.Errorf("%d backup-code-used audit entries", n)
	}
	e.PostForm(b, e.HTTPURL+"/logout", nil, nil)
	e.firstStep(b)
	if r := post(codes[0]); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a backup code used twice: %d", r.StatusCode)
	}
}

// TestTOTPSettings: turning off takes the password and a code, new backup
// codes take the password; wrong ones change nothing and say so.
func TestTOTPSettings(t *testing.T) {
	t.Parallel()
	e := newTOTPEnv(t, httpui.ThrottleConfig{AccountFailures: 20, AddressFailures: 50})
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	// A wrong code or password at set-up: nothing on, the same secret
	// shown again to try once more.
	page := e.Get(b, e.HTTPURL+"/settings/two-step")
	secret := strings.ReplaceAll(shownSecret.FindStringSubmatch(page.Text)[1], " ", "")
	r := e.PostForm(b, e.HTTPURL+"/settings/two-step/on", url.Values{"secret": {secret}, "code": {e.code(secret, 0)}, "password": {"not the password"}}, nil)
	if m := shownSecret.FindStringSubmatch(r.Text); r.StatusCode != http.StatusUnauthorized || m == nil || strings.ReplaceAll(m[1], " ", "") != secret ||
		!strings.Contains(r.Text, "The password or the code is wrong.") {
		t.Fatalf("a wrong password at set-up: %d\n%s", r.StatusCode, r.Text)
	}
	r = e.PostForm(b, e.HTTPURL+"/settings/two-step/on", url.Values{"secret": {"NOT BASE32 !"}, "code": {"123456"}, "password": {password}}, nil)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "The key could not be read.") {
		t.Fatalf("a damaged secret: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("totp-on"); n != 0 {
		t.Fatalf("turned on by wrong attempts")
	}
	secret, old := e.turnOn(b)

	r = e.PostForm(b, e.HTTPURL+"/settings/two-step/backup-codes", url.Values{"password": {"not the password"}}, nil)
	if r.StatusCode != http.StatusUnauthorized || shownBackupCode.MatchString(r.Text) {
		t.Fatalf("new codes with a wrong password: %d", r.StatusCode)
	}
	r = e.PostForm(b, e.HTTPURL+"/settings/two-step/backup-codes", url.Values{"password": {password}}, nil)
	fresh := shownBackupCode.FindAllStringSubmatch(r.Text, -1)
	if r.StatusCode != http.StatusOK || len(fresh) != 10 || fresh[0][1] == old[0] || r.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(r.Text, "You have ten new backup codes.") {
		t.Fatalf("new codes: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("new-backup-codes"); n != 1 {
		t.Errorf("%d new-backup-codes audit entries", n)
	}
	e.clock.Advance(30 * time.Second)
	off := func(pw, code string) *uitest.Response {
		return e.PostForm(b, e.HTTPURL+"/settings/two-step/off", url.Values{"password": {pw}, "code": {code}}, nil)
	}
	if r := off(password, old[1]); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, "The password or the code is wrong.") {
		t.Errorf("turn off with an old backup code: %d", r.StatusCode)
	}
	if r := off("not the password", e.code(secret, 0)); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("turn off with a wrong password: %d", r.StatusCode)
	}
	if r := off(password, e.code(secret, 0)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("turn off: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.Get(b, e.HTTPURL+"/settings/two-step?saved=off"); !strings.Contains(r.Text, "Two-step verification is now off.") {
		t.Error("no word that it is off")
	}
	if n := e.AuditCount("totp-off"); n != 1 {
		t.Errorf("%d totp-off audit entries", n)
	}
	e.PostForm(b, e.HTTPURL+"/logout", nil, nil)
	e.Login(b, e.HTTPURL, uitest.NIDAnna) // the password alone again
}

// TestTOTPAuthorization: signed out, the pages and forms give nothing and
// change nothing; a cross-site form is refused; another resident's forms
// act on their own mailbox only.
func TestTOTPAuthorization(t *testing.T) {
	t.Parallel()
	e := newTOTPEnv(t, httpui.ThrottleConfig{AccountFailures: 20, AddressFailures: 50})
	e.AddResident(uitest.NIDBjorn, "Bjørn Berg")
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	secret, codes := e.turnOn(anna)
	e.clock.Advance(30 * time.Second)

	out := e.Browser()
	if r := e.Get(out, e.HTTPURL+"/settings/two-step"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("signed out, the page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	forms := map[string]url.Values{
		"/settings/two-step/off":          {"password": {password}, "code": {e.code(secret, 0)}},
		"/settings/two-step/backup-codes": {"password": {password}},
		"/settings/two-step/on":           {"secret": {secret}, "code": {e.code(secret, 0)}, "password": {password}},
	}
	for path, form := range forms {
		if r := e.PostForm(out, e.HTTPURL+path, form, nil); r.StatusCode != http.StatusSeeOther || shownBackupCode.MatchString(r.Text) {
			t.Errorf("signed out, POST %s: %d", path, r.StatusCode)
		}
		if r := e.PostForm(anna, e.HTTPURL+path, form, crossSite); r.StatusCode != http.StatusForbidden || shownBackupCode.MatchString(r.Text) {
			t.Errorf("cross-site POST %s: %d", path, r.StatusCode)
		}
	}
	// Bjørn, signed in, with Anna's password and code: his own mailbox
	// has it off, so there is nothing to turn off; Anna's stays on.
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	if r := e.PostForm(bjorn, e.HTTPURL+"/settings/two-step/off", forms["/settings/two-step/off"], nil); r.StatusCode != http.StatusSeeOther ||
		r.Header.Get("Location") != "/settings/two-step" {
		t.Errorf("Bjørn turning off: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.PostForm(bjorn, e.HTTPURL+"/login/code", url.Values{"code": {codes[0]}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("Bjørn's browser at Anna's second step: %d", r.StatusCode)
	}
	for _, action := range []string{"totp-off", "new-backup-codes", "backup-code-used"} {
		if n := e.AuditCount(action); n != 0 {
			t.Errorf("%d %s audit entries", n, action)
		}
	}
	if r := e.Get(anna, e.HTTPURL+"/settings/two-step"); !strings.Contains(r.Text, "Two-step verification is on.") ||
		!strings.Contains(r.Text, "You have 10 unused backup codes.") {
		t.Errorf("Anna's two-step verification changed:\n%s", r.Text)
	}
	// A cross-site post of a code to the second step starts no session.
	e.firstStep(out)
	if r := e.PostForm(out, e.HTTPURL+"/login/code", url.Values{"code": {e.code(secret, 0)}}, crossSite); r.StatusCode != http.StatusForbidden || e.signedIn(out) {
		t.Errorf("a cross-site second step: %d", r.StatusCode)
	}
}

// TestTOTPSignInRemembersDevice: a browser that signs in with the second
// step is given the device cookie, as one that signs in with the password
// alone is: its own sign-ins are then not locked out by others' wrong
// passwords.
func TestTOTPSignInRemembersDevice(t *testing.T) {
	t.Parallel()
	e := newTOTPEnv(t, httpui.ThrottleConfig{AccountFailures: 3, AddressFailures: 100})
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	secret, _ := e.turnOn(b)
	fresh := e.Browser()
	e.clock.Advance(30 * time.Second)
	e.firstStep(fresh)
	if r := e.PostForm(fresh, e.HTTPURL+"/login/code", url.Values{"code": {e.code(secret, 0)}}, nil); r.StatusCode != http.StatusSeeOther || !e.signedIn(fresh) {
		t.Fatalf("the second step: %d\n%s", r.StatusCode, r.Text)
	}
	u, _ := url.Parse(e.HTTPURL)
	found := false
	for _, k := range fresh.Jar.Cookies(u) {
		found = found || k.Name == resident.DeviceCookieHTTP
	}
	if !found {
		t.Fatal("no device cookie after signing in with two-step verification")
	}
	// Others' wrong passwords lock the account, not this browser.
	thief := e.Browser()
	for range 3 {
		e.PostForm(thief, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {"not the password at all"}}, nil)
	}
	e.PostForm(fresh, e.HTTPURL+"/logout", nil, nil)
	e.firstStep(fresh)
}
