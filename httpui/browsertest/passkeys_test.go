package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPasskeys: in every language, at a phone's width and by keyboard, a
// resident adds a passkey in real Chromium, whose DevTools virtual
// authenticator (the WebAuthn domain: CTAP2.1, internal, resident keys,
// user verification) answers the page's script; signs out; signs in with
// the password and then the passkey (the second step's button has the
// focus, Enter uses it); signs out; and signs in with the passkey alone,
// then renames and removes it by keyboard.
// With the PRF extension the passkey alone opens the inbox; without it
// (the authenticator has no PRF) the page says to sign in with the
// password. Every page passes axe-core and fits the width; no dialog
// opens and no script fails.
func TestPasskeys(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	for _, c := range []struct {
		lang string
		prf  bool
	}{{"en", true}, {"da", true}, {"nb", true}, {"en", false}, {"da", false}} {
		name := c.lang + "-prf"
		if !c.prf {
			name = c.lang + "-no-prf"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testPasskeys(t, src, c.lang, c.prf, 375)
		})
	}
}

func testPasskeys(t *testing.T, src, lang string, prf bool, width int64) {
	a := newAppliance(t, applianceOptions{})
	// An IP address cannot be a WebAuthn relying party: the appliance by
	// its name.
	base := strings.Replace(a.url, "//127.0.0.1:", "//localhost:", 1)
	tb := newTab(t, "passkeys-"+lang+"-"+map[bool]string{true: "prf", false: "no-prf"}[prf])
	tb.viewport(width)
	cdpCall(tb, cdpwebauthn.Enable, cdpwebauthn.EnableParams{})
	auth := cdpCall(tb, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
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
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(base+"/settings/passkeys"), chromedp.WaitVisible(chromedp.ID("add-name")))
	check("passkeys, none yet")
	// By keyboard: the name, Tab, the password, Enter.
	tb.do(chromedp.Focus(chromedp.ID("add-name")), chromedp.KeyEvent("Min telefon"), chromedp.KeyEvent(kb.Tab))
	if f := tb.focused(); f.ID != "add-password" {
		t.Fatalf("Tab from the name went to %+v", f)
	}
	tb.do(chromedp.KeyEvent(annaPassword+"\n"), chromedp.WaitVisible(chromedp.ID("passkeys-saved")))
	want := "saved=added"
	if prf {
		want = "saved=added-unlocks"
	}
	if loc := tb.location(); !strings.HasSuffix(loc, want) {
		t.Fatalf("after adding: %s, want …%s\n%s", loc, want, tb.consoleLog())
	}
	check("passkeys, one added")
	creds := cdpCall(tb, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams(auth)).Credentials
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %d credentials: %+v", len(creds), creds)
	}
	if n := eval[int](tb, `document.querySelectorAll('.passkey').length`); n != 1 {
		t.Fatalf("%d passkeys listed", n)
	}

	// Out, and in with the password: the passkey is the second step.
	tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
	tb.do(chromedp.SendKeys(chromedp.ID("nationalId"), annaNID),
		chromedp.SendKeys(chromedp.ID("password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("passkey-step")))
	if !strings.HasSuffix(tb.location(), "/login/code") {
		t.Fatalf("after the password: %s", tb.location())
	}
	if n := eval[int](tb, `document.querySelectorAll('input[name=code]').length`); n != 0 {
		t.Errorf("a code field without two-step codes")
	}
	check("sign-in, the passkey as second step")
	if f := tb.focused(); f.ID != "passkey-step" {
		t.Fatalf("the focus is on %+v, not the passkey button", f)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("main .inbox")))

	// Out, and in with the passkey alone.
	tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
	tb.do(chromedp.Navigate(base+"/login/passkey?lang="+lang), chromedp.WaitVisible(chromedp.ID("passkey-login")))
	check("sign-in with a passkey")
	if f := tb.focused(); f.ID != "passkey-login" {
		t.Fatalf("the focus is on %+v, not the passkey button", f)
	}
	if prf {
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
		if !strings.Contains(tb.text(), "Anna") {
			t.Errorf("the inbox after a passkey alone:\n%s", tb.text())
		}
		// Rename by keyboard (the name field, a new name, Enter), then
		// remove (Tab to its button, Enter).
		tb.do(chromedp.Navigate(base+"/settings/passkeys"), chromedp.WaitVisible(chromedp.CSS(".passkey input[name=name]")))
		tb.do(chromedp.Focus(chromedp.CSS(".passkey input[name=name]")),
			chromedp.Evaluate[chromedp.Void](`document.activeElement.select()`),
			chromedp.KeyEvent("Nøglering\n"), chromedp.WaitVisible(chromedp.ID("passkeys-saved")))
		if got := eval[string](tb, `document.querySelector('.passkey h3').textContent`); got != "Nøglering" || !strings.HasSuffix(tb.location(), "saved=renamed") {
			t.Errorf("after renaming: %q at %s", got, tb.location())
		}
		check("passkeys, renamed")
		tb.do(chromedp.Focus(chromedp.CSS(".passkey input[name=name]")), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
		if f := tb.focused(); f.Tag != "button" || !strings.Contains(f.Text, "Nøglering") {
			t.Fatalf("two Tabs from the name went to %+v, not the remove button", f)
		}
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("passkeys-none")))
		check("passkeys, removed")
	} else {
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("passkey-error")))
		check("sign-in with a passkey that cannot unlock")
		if n := eval[int](tb, `document.querySelectorAll('#passkey-error a[href="/login"]').length`); n != 1 {
			t.Errorf("the refusal does not lead to the password")
		}
	}
	if n := tb.dialogCount(); n != 0 {
		t.Errorf("%d JavaScript dialogs", n)
	}
	if log := tb.consoleLog(); strings.Contains(log, "exception") {
		t.Errorf("the page's script failed:\n%s", log)
	}
}

// cdpCall sends one DevTools command to the tab, failing the test on
// error.
func cdpCall[P, R any](tb *tab, cmd cdp.Command[P, R], params P) R {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	r, err := chromedp.Call(ctx, cmd, params)
	if err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, cmd.Method, err)
	}
	return r
}
