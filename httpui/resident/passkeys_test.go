package resident_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/internal/testsupport/webauthntest"
)

var (
	formOptions = regexp.MustCompile(`data-options="([^"]*)"`)
	formUnlock  = regexp.MustCompile(`data-unlock="([^"]*)"`)
	formState   = regexp.MustCompile(`name="state" value="([^"]*)"`)
	renameForm  = regexp.MustCompile(`action="/settings/passkeys/([A-Za-z0-9_-]+)/rename"`)
)

// ceremonyOf reads a passkey form's options and state from a page, as the
// page's script does.
func ceremonyOf(t *testing.T, r *uitest.Response) (options, unlock, state string) {
	t.Helper()
	o, s := formOptions.FindStringSubmatch(r.Text), formState.FindStringSubmatch(r.Text)
	if o == nil || s == nil {
		t.Fatalf("no passkey form on the page: %d\n%s", r.StatusCode, r.Text)
	}
	if u := formUnlock.FindStringSubmatch(r.Text); u != nil {
		unlock = html.UnescapeString(u[1])
	}
	return html.UnescapeString(o[1]), unlock, html.UnescapeString(s[1])
}

// passkeyEnv is an appliance reached by its name, localhost: an IP
// address cannot be a WebAuthn relying party (TestPasskeysAtAnAddress).
type passkeyEnv struct {
	*uitest.Env
	url  string // http://localhost:port
	auth *webauthntest.Authenticator
}

func newPasskeyEnv(t *testing.T) *passkeyEnv {
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 50, AddressFailures: 100}})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Berg")
	base := strings.Replace(e.HTTPURL, "//127.0.0.1:", "//localhost:", 1)
	return &passkeyEnv{Env: e, url: base, auth: &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}}
}

// add registers a passkey of e.auth from the settings page with b.
func (e *passkeyEnv) add(b *http.Client, name string) *uitest.Response {
	e.T.Helper()
	page := e.Get(b, e.url+"/settings/passkeys")
	if page.StatusCode != http.StatusOK || page.Header.Get("Content-Security-Policy") != web.CSPScriptPage {
		e.T.Fatalf("the passkeys page: %d, CSP %q\n%s", page.StatusCode, page.Header.Get("Content-Security-Policy"), e.Logs.String())
	}
	options, _, state := ceremonyOf(e.T.(*testing.T), page)
	resp, _, err := e.auth.Create(options)
	if err != nil {
		e.T.Fatal(err)
	}
	return e.PostForm(b, e.url+"/settings/passkeys", url.Values{"state": {state}, "response": {resp}, "name": {name}, "password": {password}}, nil)
}

// TestPasskeysSettings: a resident adds passkeys, renames and removes
// them; a wrong password, a malformed or stale browser answer are pages
// that say so (never a 500) and store nothing.
func TestPasskeysSettings(t *testing.T) {
	t.Parallel()
	e := newPasskeyEnv(t)
	anna := e.Browser()
	e.Login(anna, e.url, uitest.NIDAnna)
	if r := e.Get(anna, e.url+"/settings"); !strings.Contains(r.Text, `<a href="/settings/passkeys">`) {
		t.Error("the settings page does not link to the passkeys")
	}
	if r := e.Get(anna, e.url+"/settings/passkeys"); !strings.Contains(r.Text, "You have no passkeys yet.") ||
		!strings.Contains(r.Text, `<script src="/static/`) {
		t.Fatalf("the empty page:\n%s", r.Text)
	}
	r := e.add(anna, "Min telefon")
	wantRedirect(t, "add", r, "/settings/passkeys?saved=added-unlocks")
	page := e.Get(anna, e.url+r.Header.Get("Location"))
	if !strings.Contains(page.Text, "Min telefon") || !strings.Contains(page.Text, "Signs you in on its own and opens your mailbox.") {
		t.Fatalf("after adding:\n%s", page.Text)
	}
	// Without the PRF: a second step only.
	e.auth.PRF = false
	wantRedirect(t, "add without PRF", e.add(anna, "Nøgle"), "/settings/passkeys?saved=added")
	e.auth.PRF = true
	if n := e.AuditCount("passkey-add-unlock") + e.AuditCount("passkey-add"); n != 2 {
		t.Errorf("%d passkey-add audit entries", n)
	}

	page = e.Get(anna, e.url+"/settings/passkeys")
	options, _, state := ceremonyOf(t, page)
	resp, _, err := e.auth.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"wrong password", url.Values{"state": {state}, "response": {resp}, "name": {"x"}, "password": {"wrong"}}, 401, "The password is wrong"},
		{"malformed answer", url.Values{"state": {state}, "response": {`{"id":"AA","response":{"attestationObject":"%%%"}}`}, "name": {"x"}, "password": {password}}, 400, "could not be read"},
		{"no answer", url.Values{"state": {state}, "name": {"x"}, "password": {password}}, 400, "could not be read"},
		{"forged state", url.Values{"state": {state + "A"}, "response": {resp}, "name": {"x"}, "password": {password}}, 400, "The page was open too long."},
		{"no name", url.Values{"state": {state}, "response": {resp}, "name": {" "}, "password": {password}}, 400, "at most 60 characters"},
	} {
		r := e.PostForm(anna, e.url+"/settings/passkeys", c.form, nil)
		if r.StatusCode != c.status || !strings.Contains(r.Text, c.text) || !strings.Contains(r.Text, `role="alert"`) {
			t.Errorf("%s: %d\n%s", c.name, r.StatusCode, r.Text)
		}
	}
	if n := len(renameForm.FindAllString(e.Get(anna, e.url+"/settings/passkeys").Text, -1)); n != 2 {
		t.Fatalf("%d passkeys after refused additions", n)
	}
	ids := renameForm.FindAllStringSubmatch(page.Text, -1)
	wantRedirect(t, "rename", e.PostForm(anna, e.url+"/settings/passkeys/"+ids[0][1]+"/rename", url.Values{"name": {"Telefon"}}, nil), "/settings/passkeys?saved=renamed")
	if r := e.PostForm(anna, e.url+"/settings/passkeys/"+ids[0][1]+"/rename", url.Values{"name": {""}}, nil); r.StatusCode != 400 || !strings.Contains(r.Text, `aria-invalid="true"`) {
		t.Errorf("rename to nothing: %d", r.StatusCode)
	}
	wantRedirect(t, "remove", e.PostForm(anna, e.url+"/settings/passkeys/"+ids[1][1]+"/remove", nil, nil), "/settings/passkeys?saved=removed")
	page = e.Get(anna, e.url+"/settings/passkeys")
	if !strings.Contains(page.Text, "Telefon") || strings.Contains(page.Text, "Nøgle<") {
		t.Errorf("after rename and remove:\n%s", page.Text)
	}
}

// TestPasskeysAuthorization: another resident, a signed-out browser and a
// cross-site form get nothing from the passkey routes and change nothing.
func TestPasskeysAuthorization(t *testing.T) {
	t.Parallel()
	e := newPasskeyEnv(t)
	anna, bjorn, nobody := e.Browser(), e.Browser(), e.Browser()
	e.Login(anna, e.url, uitest.NIDAnna)
	e.Login(bjorn, e.url, uitest.NIDBjorn)
	wantRedirect(t, "add", e.add(anna, "Telefon"), "/settings/passkeys?saved=added-unlocks")
	annas := e.Get(anna, e.url+"/settings/passkeys")
	m := renameForm.FindStringSubmatch(annas.Text)
	if m == nil {
		t.Fatalf("no passkey on Anna's page:\n%s", e.Logs.String())
	}
	id := m[1]
	options, _, state := ceremonyOf(t, annas)
	resp, _, err := e.auth.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		page := e.Get(anna, e.url+"/settings/passkeys")
		if n := len(renameForm.FindAllString(page.Text, -1)); n != 1 || !strings.Contains(page.Text, ">Telefon<") {
			t.Fatalf("%s: Anna's passkeys changed (%d)\n%s", what, n, page.Text)
		}
		if r := e.Get(bjorn, e.url+"/settings/passkeys"); !strings.Contains(r.Text, "You have no passkeys yet.") || strings.Contains(r.Text, id) {
			t.Fatalf("%s: Bjørn's page shows a passkey", what)
		}
	}
	// Bjørn: Anna's passkey is none of his; her ceremony is not his.
	for _, path := range []string{"/rename", "/remove"} {
		if r := e.PostForm(bjorn, e.url+"/settings/passkeys/"+id+path, url.Values{"name": {"Mine"}}, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("Bjørn %s: %d", path, r.StatusCode)
		}
	}
	if r := e.PostForm(bjorn, e.url+"/settings/passkeys", url.Values{"state": {state}, "response": {resp}, "name": {"x"}, "password": {password}}, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("Bjørn with Anna's ceremony: %d", r.StatusCode)
	}
	unchanged("another resident")
	// Signed out: to the login page.
	wantRedirect(t, "signed-out page", e.Get(nobody, e.url+"/settings/passkeys"), "/login")
	wantRedirect(t, "signed-out add", e.PostForm(nobody, e.url+"/settings/passkeys", url.Values{"state": {state}, "response": {resp}, "name": {"x"}, "password": {password}}, nil), "/login")
	for _, path := range []string{"/rename", "/remove"} {
		wantRedirect(t, "signed-out "+path, e.PostForm(nobody, e.url+"/settings/passkeys/"+id+path, url.Values{"name": {"x"}}, nil), "/login")
	}
	// Signed out, the second step needs a first step.
	if r := e.PostForm(nobody, e.url+"/login/code/passkey", url.Values{"state": {state}, "response": {resp}}, nil); r.StatusCode != http.StatusUnauthorized || e.Get(nobody, e.url+"/").StatusCode == http.StatusOK {
		t.Errorf("second step without a first: %d", r.StatusCode)
	}
	unchanged("signed out")
	// Cross-site, with Anna's cookie: refused.
	for _, path := range []string{"", "/" + id + "/rename", "/" + id + "/remove"} {
		if r := e.PostForm(anna, e.url+"/settings/passkeys"+path, url.Values{"state": {state}, "response": {resp}, "name": {"Evil"}, "password": {password}}, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %q: %d", path, r.StatusCode)
		}
	}
	for _, path := range []string{"/login/passkey", "/login/code/passkey"} {
		if r := e.PostForm(nobody, e.url+path, url.Values{"state": {state}, "response": {resp}}, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %s: %d", path, r.StatusCode)
		}
	}
	unchanged("cross-site")
}

// TestPasskeySignInPages: with a passkey, the password leads to the page
// of the second step, which offers the passkey (and no code field when
// codes are off); the passkey's answer signs in. A PRF passkey signs in
// alone from /login/passkey; one without the PRF is told to use the
// password; malformed answers are pages that say so, never a 500.
func TestPasskeySignInPages(t *testing.T) {
	t.Parallel()
	e := newPasskeyEnv(t)
	anna := e.Browser()
	e.Login(anna, e.url, uitest.NIDAnna)
	wantRedirect(t, "add", e.add(anna, "Telefon"), "/settings/passkeys?saved=added-unlocks")
	e.PostForm(anna, e.url+"/logout", nil, nil)

	// Second step.
	b := e.Browser()
	r := e.PostForm(b, e.url+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil)
	wantRedirect(t, "password", r, "/login/code")
	if e.Get(b, e.url+"/").StatusCode == http.StatusOK {
		t.Fatal("signed in with the password alone")
	}
	page := e.Get(b, e.url+"/login/code")
	if page.StatusCode != 200 || strings.Contains(page.Text, `name="code"`) || page.Header.Get("Content-Security-Policy") != web.CSPScriptPage {
		t.Fatalf("the second step's page: %d\n%s", page.StatusCode, page.Text)
	}
	options, _, state := ceremonyOf(t, page)
	for _, bad := range []string{"", "{", `{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"AA","authenticatorData":"AA","signature":"AA"}}`} {
		r := e.PostForm(b, e.url+"/login/code/passkey", url.Values{"state": {state}, "response": {bad}}, nil)
		if r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, `role="alert"`) {
			t.Errorf("malformed %q: %d\n%s", bad, r.StatusCode, r.Text)
		}
	}
	resp, err := e.auth.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, "second step", e.PostForm(b, e.url+"/login/code/passkey", url.Values{"state": {state}, "response": {resp}}, nil), "/")
	if e.Get(b, e.url+"/").StatusCode != http.StatusOK {
		t.Fatal("not signed in after the passkey")
	}

	// Alone.
	c := e.Browser()
	if r := e.Get(c, e.url+"/login"); !strings.Contains(r.Text, `href="/login/passkey"`) || r.Header.Get("Content-Security-Policy") != web.CSPPage {
		t.Error("the login page does not link to signing in with a passkey, or runs script")
	}
	page = e.Get(c, e.url+"/login/passkey")
	if page.Header.Get("Content-Security-Policy") != web.CSPScriptPage {
		t.Errorf("CSP %q", page.Header.Get("Content-Security-Policy"))
	}
	options, _, state = ceremonyOf(t, page)
	if r := e.PostForm(c, e.url+"/login/passkey", url.Values{"state": {state}, "response": {"not json"}}, nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "could not be read") {
		t.Errorf("malformed: %d\n%s", r.StatusCode, r.Text)
	}
	resp, err = e.auth.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, "passkey alone", e.PostForm(c, e.url+"/login/passkey", url.Values{"state": {state}, "response": {resp}}, nil), "/")
	if r := e.Get(c, e.url+"/"); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Anna Jensen") {
		t.Fatalf("inbox after a passkey alone: %d", r.StatusCode)
	}
	if n := e.AuditCount("login-passkey"); n != 1 {
		t.Errorf("%d login-passkey audit entries", n)
	}
	// Replayed: refused.
	d := e.Browser()
	if r := e.PostForm(d, e.url+"/login/passkey", url.Values{"state": {state}, "response": {resp}}, nil); r.StatusCode == http.StatusSeeOther || e.Get(d, e.url+"/").StatusCode == http.StatusOK {
		t.Errorf("replayed: %d", r.StatusCode)
	}
	// A passkey without the PRF: said so.
	e.auth = &webauthntest.Authenticator{Origin: e.url}
	wantRedirect(t, "add without PRF", e.add(c, "Nøgle"), "/settings/passkeys?saved=added")
	options, _, state = ceremonyOf(t, e.Get(d, e.url+"/login/passkey"))
	resp, err = e.auth.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.PostForm(d, e.url+"/login/passkey", url.Values{"state": {state}, "response": {resp}}, nil); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, "cannot open your mailbox on its own") {
		t.Errorf("passkey without PRF alone: %d\n%s", r.StatusCode, r.Text)
	}
}

// TestPasskeysAtAnAddress: reached at an IP address, where WebAuthn allows
// no passkey, the pages say how to reach it instead of failing.
func TestPasskeysAtAnAddress(t *testing.T) {
	t.Parallel()
	e := newPasskeyEnv(t)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	for _, u := range []string{e.HTTPURL + "/settings/passkeys", e.HTTPURL + "/login/passkey"} {
		if r := e.Get(b, u); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, `id="passkeys-unavailable"`) || strings.Contains(r.Text, "data-options") {
			t.Errorf("%s: %d\n%s", u, r.StatusCode, r.Text)
		}
	}
}
