package browsertest

import (
	"strings"
	"testing"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/internal/testsupport/oidctest"
)

// TestEIDPasskey: a resident with no mailbox signs in with eID at a real
// OpenID provider and, on the create page, chooses a passkey instead of a
// password, made by Chromium's DevTools virtual authenticator. With the
// PRF extension the mailbox is made, the recovery key shown, and after
// signing out the passkey alone opens the inbox; the password page then
// chooses a first password, confirmed with the passkey; signed out again, eID and the passkey
// (instead of the password) open it. Without the PRF the page
// says in plain words that the passkey cannot unlock a mailbox and the
// password form makes it instead. Every page passes axe-core, fits a
// phone's width and is in the language chosen; no script fails.
func TestEIDPasskey(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	for _, c := range []struct {
		lang string
		prf  bool
	}{{"en", true}, {"da", false}, {"nb", true}, {"nb", false}} {
		name := c.lang + map[bool]string{true: "-prf", false: "-no-prf"}[c.prf]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testEIDPasskey(t, src, c.lang, c.prf, 375)
		})
	}
}

func testEIDPasskey(t *testing.T, src, lang string, prf bool, width int64) {
	l := catalogue(t).Lang(lang)
	p := oidctest.New(t)
	rp, err := eid.New(eid.Config{Issuer: p.Issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		Scopes: []string{"profile"}, Claim: oidctest.Claim, Name: "MitID"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAppliance(t, applianceOptions{eid: rp})
	// An IP address cannot be a WebAuthn relying party: the appliance by
	// its name.
	base := strings.Replace(a.url, "//127.0.0.1:", "//localhost:", 1)
	p.Register(t, base+"/eid/callback")
	p.AddUser(oidctest.User{Username: "nina", Password: "provider-pw", NationalID: eidNID, First: "Nina", Last: "Nørgaard"})
	tb := newTab(t, "eid-passkey-"+lang+map[bool]string{true: "-prf", false: "-no-prf"}[prf])
	tb.viewport(width)
	cdpCall(tb, cdpwebauthn.Enable, cdpwebauthn.EnableParams{})
	cdpCall(tb, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
		Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
		Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true,
		HasUserVerification: true, IsUserVerified: true, HasPrf: prf,
		AutomaticPresenceSimulation: true,
	}})
	check := func(page string) {
		t.Helper()
		tb.checkPage(src, lang, width, page)
	}

	tb.do(chromedp.Navigate(base + "/login?lang=" + lang))
	tb.tabUntil("MitID")
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("username")))
	tb.do(chromedp.SendKeys(chromedp.ID("username"), "nina"),
		chromedp.SendKeys(chromedp.ID("password"), "provider-pw\n"),
		chromedp.WaitVisible(chromedp.ID("eid-passkey-form")))
	check("eID, create the mailbox, with a passkey offered")
	if text := tb.text(); !strings.Contains(text, l.T("oidc.passkey.heading")) {
		t.Errorf("the create page does not offer a passkey:\n%s", text)
	}
	// By keyboard: the passkey's name, Tab to the button, Enter.
	tb.do(chromedp.Focus(chromedp.ID("passkey-name")), chromedp.KeyEvent("Min telefon"))
	if f := tb.tabThrough(1)[0]; f.ID != "eid-passkey" || !f.Ring || !f.InView {
		t.Errorf("Tab from the name goes to %s (ring %v, in view %v), not the passkey button", f, f.Ring, f.InView)
	}
	if prf {
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".recovery-key")))
		check("eID with a passkey, the recovery key")
		if text := tb.text(); !strings.Contains(text, l.T("oidc.created.why")) {
			t.Errorf("the recovery key's page does not say the mailbox was made:\n%s", text)
		}
		tb.do(chromedp.Click(chromedp.CSS(".activated a.button")), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
		// Out, and in with the passkey alone.
		tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
		tb.do(chromedp.Navigate(base+"/login/passkey?lang="+lang), chromedp.WaitVisible(chromedp.ID("passkey-login")))
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
		if !strings.Contains(tb.text(), "Nina") {
			t.Errorf("the inbox after the passkey alone:\n%s", tb.text())
		}
		// The mailbox has no password: the settings say so, and the
		// password page chooses one with the recovery key.
		tb.do(chromedp.Navigate(base+"/settings/password"), chromedp.WaitVisible(chromedp.ID("password-none")))
		check("a mailbox without a password, choose one")
		if text := tb.text(); !strings.Contains(text, l.T("password.none.heading")) {
			t.Errorf("the password page of a mailbox without one:\n%s", text)
		}
		tb.do(chromedp.SendKeys(chromedp.ID("pk-new"), annaPassword), chromedp.SendKeys(chromedp.ID("pk-confirm"), annaPassword),
			chromedp.Click(chromedp.ID("password-passkey")), chromedp.WaitVisible(chromedp.ID("password-changed")))
		check("a password chosen with the passkey")
		if text := tb.text(); !strings.Contains(text, l.T("password.none.chosen")) {
			t.Errorf("the page after choosing a password with the passkey:\n%s", text)
		}
		// Out, and in with eID, then the passkey instead of the password.
		tb.do(chromedp.Navigate(base+"/?lang="+lang), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
		tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
		tb.tabUntil("MitID")
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#username, #eid-passkey-form")))
		if eval[bool](tb, `document.getElementById("username") !== null`) {
			tb.do(chromedp.SendKeys(chromedp.ID("username"), "nina"),
				chromedp.SendKeys(chromedp.ID("password"), "provider-pw\n"),
				chromedp.WaitVisible(chromedp.ID("eid-passkey-form")))
		}
		check("eID, the password step with the resident's passkey offered")
		if text := tb.text(); !strings.Contains(text, l.T("oidc.password.passkey.heading")) {
			t.Errorf("the password step does not offer the passkey:\n%s", text)
		}
		tb.do(chromedp.Click(chromedp.ID("eid-passkey-unlock")), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
		if !strings.Contains(tb.text(), "Nina") {
			t.Errorf("the inbox after eID and the passkey:\n%s", tb.text())
		}
	} else {
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("eid-error")))
		check("eID with a passkey that cannot unlock")
		if text := tb.text(); !strings.Contains(text, l.T("oidc.passkey.noUnlock")) {
			t.Errorf("the page does not say the passkey cannot unlock:\n%s", text)
		}
		tb.do(chromedp.SendKeys(chromedp.ID("password"), annaPassword),
			chromedp.SendKeys(chromedp.ID("passwordConfirm"), annaPassword+"\n"),
			chromedp.WaitVisible(chromedp.CSS(".recovery-key")))
		check("eID with a password after the passkey, the recovery key")
		tb.do(chromedp.Click(chromedp.CSS(".activated a.button")), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	}
	if got := eval[string](tb, `document.documentElement.lang`); got != lang {
		t.Errorf("the inbox is in %q, want %q", got, lang)
	}
	if n := tb.dialogCount(); n != 0 {
		t.Errorf("%d JavaScript dialogs", n)
	}
	if log := tb.consoleLog(); strings.Contains(log, "exception") {
		t.Errorf("the page's script failed:\n%s", log)
	}
}
