package resident_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/internal/testsupport/webauthntest"
	"github.com/postkasse/postkasse/store"
)

// TestEIDCreateWithPasskey: a resident who makes the mailbox with eID is
// offered a passkey instead of a password (at the appliance's name; at
// an IP address, where no passkey works, only the password). A passkey
// without the PRF makes nothing and the page says to choose a password,
// with the password form; a passkey with the PRF makes the mailbox, shows
// the recovery key and signs in. A form from another site and one with no
// proof are refused.
func TestEIDCreateWithPasskey(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	base := strings.Replace(e.HTTPURL, "//127.0.0.1:", "//localhost:", 1)
	e.op.Register(t, e.HTTPURL+"/eid/callback", e.HTTPSURL+"/eid/callback", base+"/eid/callback")

	// At an address: the password alone.
	if page := e.proved(t, e.Browser(), e.HTTPURL, "sign-in", "nobody"); page.StatusCode != http.StatusOK ||
		strings.Contains(page.Text, "eid-passkey") || page.Header.Get("Content-Security-Policy") == web.CSPScriptPage {
		t.Fatalf("the create page at an IP address offers a passkey: %d\n%s", page.StatusCode, page.Text)
	}

	b := e.Browser()
	page := e.proved(t, b, base, "sign-in", "nobody")
	if page.StatusCode != http.StatusOK || page.Header.Get("Content-Security-Policy") != web.CSPScriptPage {
		t.Fatalf("the create page: %d, CSP %q\n%s", page.StatusCode, page.Header.Get("Content-Security-Policy"), page.Text)
	}
	for _, want := range []string{"Or use a passkey instead of a password", `action="/eid/create/passkey"`, `action="/eid/create"`, `data-passkey="create"`} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("the create page lacks %q", want)
		}
	}
	nid, err := store.ParseNationalID(uitest.NIDNobody)
	if err != nil {
		t.Fatal(err)
	}
	post := func(b *http.Client, page *uitest.Response, a *webauthntest.Authenticator, h http.Header) *uitest.Response {
		t.Helper()
		options, unlock, state := ceremonyOf(t, page)
		creation, c, err := a.Create(options)
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"state": {state}, "name": {"Min telefon"}, "response": {creation}}
		if a.PRF && !a.PRFAtCreate {
			u, err := a.Assert(c, unlock)
			if err != nil {
				t.Fatal(err)
			}
			form.Set("unlock", u)
		}
		return e.PostForm(b, base+"/eid/create/passkey", form, h)
	}

	// Without the PRF: nothing made; the page says so and offers the
	// password.
	r := post(b, page, &webauthntest.Authenticator{Origin: base}, nil)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, uitest.English.T("oidc.passkey.noUnlock")) ||
		!strings.Contains(r.Text, `action="/eid/create"`) || recoveryKeyPattern.MatchString(r.Text) {
		t.Fatalf("a passkey without the PRF: %d\n%s", r.StatusCode, r.Text)
	}
	if _, err := e.Store.ResidentByNationalID(context.Background(), nid); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a passkey without the PRF made a mailbox: %v", err)
	}
	// From another site, or from a browser with no proof: refused.
	if r := post(b, r, &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}, crossSite); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: %d\n%s", r.StatusCode, r.Text)
	}
	if r := post(e.Browser(), page, &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}, nil); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Text, uitest.English.T("oidc.error.expired")) {
		t.Fatalf("no proof: %d\n%s", r.StatusCode, r.Text)
	}
	// With the PRF (by the assertion after the creation): made.
	page = e.Get(b, base+"/eid")
	r = post(b, page, &webauthntest.Authenticator{Origin: base, PRF: true}, nil)
	if r.StatusCode != http.StatusOK || !recoveryKeyPattern.MatchString(r.Text) || !strings.Contains(r.Text, uitest.English.T("oidc.created.why")) {
		t.Fatalf("a passkey with the PRF: %d\n%s", r.StatusCode, r.Text)
	}
	if inbox := e.Get(b, base+"/"); inbox.StatusCode != http.StatusOK {
		t.Fatalf("the inbox after: %d", inbox.StatusCode)
	}
	if res, err := e.Store.ResidentByNationalID(context.Background(), nid); err != nil || res.Status != store.ResidentActive {
		t.Fatalf("the mailbox: %+v, %v", res, err)
	}
	// Back with eID: the password step offers the passkey, which is
	// what opens this mailbox.
	if again := e.proved(t, e.Browser(), base, "sign-in", "nobody"); !strings.Contains(again.Text, `action="/eid/password/passkey"`) {
		t.Errorf("the password step after eID does not offer the passkey:\n%s", again.Text)
	}
	if n := e.AuditCount("activate-eid-passkey"); n != 1 {
		t.Errorf("%d activate-eid-passkey entries", n)
	}
}

// passkeyMailbox makes the mailbox of the provider's user with eID and a
// PRF passkey (of a) at base, and returns the browser signed in to it
// and the recovery key it was shown.
func (e *eidEnv) passkeyMailbox(t *testing.T, base, user string, a *webauthntest.Authenticator) (*http.Client, string) {
	t.Helper()
	b := e.Browser()
	page := e.proved(t, b, base, "sign-in", user)
	options, _, state := ceremonyOf(t, page)
	creation, _, err := a.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	r := e.PostForm(b, base+"/eid/create/passkey", url.Values{"state": {state}, "name": {"Min telefon"}, "response": {creation}}, nil)
	m := recoveryKeyPattern.FindStringSubmatch(r.Text)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("making the mailbox with a passkey: %d\n%s", r.StatusCode, r.Text)
	}
	return b, m[1]
}

// TestChoosePassword: a mailbox made with a passkey has no password; the
// settings say so, and the password page chooses one, confirmed with the
// recovery key; the pages that ask for the password (a new recovery key,
// a passkey, two-step verification) point there instead. A wrong recovery
// key, another resident's, a form from another site or a signed-out
// browser choose nothing; chosen, the password signs in.
func TestChoosePassword(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	base := strings.Replace(e.HTTPURL, "//127.0.0.1:", "//localhost:", 1)
	e.AddResident(uitest.NIDBjorn, "Bjørn Olsen")
	bjorn := e.Browser()
	e.Login(bjorn, base, uitest.NIDBjorn)
	e.op.Register(t, base+"/eid/callback")
	b, rk := e.passkeyMailbox(t, base, "nobody", &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true})
	l := uitest.English

	if r := e.Get(b, base+"/settings"); !strings.Contains(r.Text, l.T("settings.password.none.text")) || !strings.Contains(r.Text, l.T("settings.password.none.link")) {
		t.Errorf("the settings do not say there is no password:\n%s", r.Text)
	}
	r := e.Get(b, base+"/settings/password")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, l.T("password.none.intro")) || !strings.Contains(r.Text, `name="recoveryKey"`) || strings.Contains(r.Text, `name="current"`) {
		t.Fatalf("the password page of a mailbox without one: %d\n%s", r.StatusCode, r.Text)
	}
	for _, path := range []string{"/settings/recovery-key", "/settings/passkeys", "/settings/two-step"} {
		r := e.Get(b, base+path)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, l.T("password.none.first")) || strings.Contains(r.Text, `name="password"`) {
			t.Errorf("%s does not point to choosing a password: %d\n%s", path, r.StatusCode, r.Text)
		}
	}

	const pw = "a long password of my own"
	choose := func(b *http.Client, key string, h http.Header) *uitest.Response {
		t.Helper()
		return e.PostForm(b, base+"/settings/password", url.Values{"recoveryKey": {key}, "new": {pw}, "confirm": {pw}}, h)
	}
	wrong := "0" + rk[1:]
	if wrong == rk {
		wrong = "1" + rk[1:]
	}
	if r := choose(b, wrong, nil); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, l.T("password.error.recoveryKey")) {
		t.Errorf("a wrong recovery key: %d\n%s", r.StatusCode, r.Text)
	}
	if r := choose(b, "not a key", nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, l.T("password.error.recoveryKey")) {
		t.Errorf("no recovery key: %d\n%s", r.StatusCode, r.Text)
	}
	if r := choose(b, rk, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d\n%s", r.StatusCode, r.Text)
	}
	if r := choose(e.Browser(), rk, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d\n%s", r.StatusCode, r.Text)
	}
	// Another resident, who has a password, with this recovery key:
	// nothing chosen for either.
	if r := choose(bjorn, rk, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("another resident with this recovery key: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("choose-password"); n != 0 {
		t.Fatalf("%d choose-password entries before the right one", n)
	}
	if r := choose(b, rk, nil); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, l.T("password.none.chosen")) {
		t.Fatalf("choosing: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.Get(b, base+"/settings/password"); !strings.Contains(r.Text, `name="current"`) {
		t.Errorf("the password page after the choice:\n%s", r.Text)
	}
	if r := e.Get(b, base+"/settings/recovery-key"); strings.Contains(r.Text, l.T("password.none.first")) {
		t.Errorf("the recovery key page after the choice:\n%s", r.Text)
	}
	if r := e.PostForm(e.Browser(), base+"/login", url.Values{"nationalId": {uitest.NIDNobody}, "password": {pw}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the chosen password does not sign in: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("choose-password"); n != 1 {
		t.Errorf("%d choose-password entries", n)
	}
}

// TestEIDPasswordStepPasskey: after eID, the password step offers the
// resident's own passkeys that unlock the mailbox; one opens it. Another
// resident's passkey, a response that does not read, a form from another
// site or a browser without the proof open nothing, and the proof stays.
func TestEIDPasswordStepPasskey(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	base := strings.Replace(e.HTTPURL, "//127.0.0.1:", "//localhost:", 1)
	e.op.Register(t, base+"/eid/callback")
	mine := &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}
	theirs := &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}
	e.passkeyMailbox(t, base, "nobody", mine)
	bjorn, _ := e.passkeyMailbox(t, base, "bjorn", theirs)
	// A mailbox with a password alone is offered no passkey.
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	if page := e.proved(t, e.Browser(), base, "sign-in", "anna"); strings.Contains(page.Text, "eid-passkey-form") || page.Header.Get("Content-Security-Policy") == web.CSPScriptPage {
		t.Errorf("a mailbox without a passkey is offered one:\n%s", page.Text)
	}

	b := e.Browser()
	page := e.proved(t, b, base, "sign-in", "nobody")
	if !strings.Contains(page.Text, `action="/eid/password/passkey"`) || page.Header.Get("Content-Security-Policy") != web.CSPScriptPage {
		t.Fatalf("the password step offers no passkey: CSP %q\n%s", page.Header.Get("Content-Security-Policy"), page.Text)
	}
	options, _, state := ceremonyOf(t, page)
	post := func(c *http.Client, response string, h http.Header) *uitest.Response {
		t.Helper()
		return e.PostForm(c, base+"/eid/password/passkey", url.Values{"state": {state}, "response": {response}}, h)
	}
	// Bjørn's passkey answers the challenge, past the list of Nina's.
	var o map[string]any
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		t.Fatal(err)
	}
	delete(o, "allowCredentials")
	anyOptions, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := theirs.Get(string(anyOptions))
	if err != nil {
		t.Fatal(err)
	}
	if r := post(b, forged, nil); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, uitest.English.T("oidc.password.passkey.failed")) {
		t.Errorf("another resident's passkey: %d\n%s", r.StatusCode, r.Text)
	}
	if r := post(b, "not json", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a response that does not read: %d\n%s", r.StatusCode, r.Text)
	}
	resp, err := mine.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	if r := post(b, resp, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d\n%s", r.StatusCode, r.Text)
	}
	if r := post(e.Browser(), resp, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("signed out, no proof: %d\n%s", r.StatusCode, r.Text)
	}
	if r := post(bjorn, resp, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("another resident's browser, no proof: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("login-eid-passkey"); n != 0 {
		t.Fatalf("%d login-eid-passkey entries before the right passkey", n)
	}
	if r := post(b, resp, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("the resident's passkey: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	if inbox := e.Get(b, base+"/"); inbox.StatusCode != http.StatusOK {
		t.Errorf("the inbox after eID and the passkey: %d", inbox.StatusCode)
	}
	if n := e.AuditCount("login-eid-passkey"); n != 1 {
		t.Errorf("%d login-eid-passkey entries", n)
	}
}

// stripAllowList is assertion options with no list of allowed
// credentials, so that any passkey answers them, as a forged browser's
// would.
func stripAllowList(t *testing.T, options string) string {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		t.Fatal(err)
	}
	delete(o, "allowCredentials")
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChoosePasswordWithPasskey: on the password page of a mailbox
// without a password, the resident's own passkey confirms the first
// password. Another resident's passkey, this answer in another
// resident's session, a cross-site form or a signed-out browser choose
// nothing.
func TestChoosePasswordWithPasskey(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	base := strings.Replace(e.HTTPURL, "//127.0.0.1:", "//localhost:", 1)
	e.op.Register(t, base+"/eid/callback")
	mine := &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}
	theirs := &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}
	b, _ := e.passkeyMailbox(t, base, "nobody", mine)
	bjorn, _ := e.passkeyMailbox(t, base, "bjorn", theirs)
	l := uitest.English

	page := e.Get(b, base+"/settings/password")
	if !strings.Contains(page.Text, `id="password-passkey-form"`) || page.Header.Get("Content-Security-Policy") != web.CSPScriptPage {
		t.Fatalf("the password page offers no passkey: CSP %q\n%s", page.Header.Get("Content-Security-Policy"), page.Text)
	}
	options, _, state := ceremonyOf(t, page)
	const pw = "a long password of my own"
	post := func(c *http.Client, response string, h http.Header) *uitest.Response {
		t.Helper()
		return e.PostForm(c, base+"/settings/password", url.Values{"state": {state}, "response": {response}, "new": {pw}, "confirm": {pw}}, h)
	}
	forged, err := theirs.Get(stripAllowList(t, options))
	if err != nil {
		t.Fatal(err)
	}
	if r := post(b, forged, nil); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, l.T("password.error.passkey")) {
		t.Errorf("another resident's passkey: %d\n%s", r.StatusCode, r.Text)
	}
	resp, err := mine.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	if r := post(b, resp, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d\n%s", r.StatusCode, r.Text)
	}
	if r := post(e.Browser(), resp, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d\n%s", r.StatusCode, r.Text)
	}
	if r := post(bjorn, resp, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("this answer in another resident's session: %d\n%s", r.StatusCode, r.Text)
	}
	if n := e.AuditCount("choose-password"); n != 0 {
		t.Fatalf("%d choose-password entries before the right passkey", n)
	}
	if r := post(b, resp, nil); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, l.T("password.none.chosen")) {
		t.Fatalf("choosing with the passkey: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.PostForm(e.Browser(), base+"/login", url.Values{"nationalId": {uitest.NIDNobody}, "password": {pw}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the chosen password does not sign in: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.Get(bjorn, base+"/settings/password"); !strings.Contains(r.Text, l.T("password.none.intro")) {
		t.Errorf("the other resident has a password now:\n%s", r.Text)
	}
	if n := e.AuditCount("choose-password"); n != 1 {
		t.Errorf("%d choose-password entries", n)
	}
}
