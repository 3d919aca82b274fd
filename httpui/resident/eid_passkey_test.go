package resident_test

import (
	"context"
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
	// Back with eID: the password step points to the passkey, which is
	// what opens this mailbox.
	if again := e.proved(t, e.Browser(), base, "sign-in", "nobody"); !strings.Contains(again.Text, `<a href="/login/passkey">`+uitest.English.T("oidc.password.passkey")+`</a>`) {
		t.Errorf("the password step after eID does not lead to the passkey:\n%s", again.Text)
	}
	if n := e.AuditCount("activate-eid-passkey"); n != 1 {
		t.Errorf("%d activate-eid-passkey entries", n)
	}
}
