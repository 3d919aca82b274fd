package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/internal/testsupport/oidctest"
)

// TestEID: in every language, at a phone's width, a resident with no
// mailbox signs in with eID at a real OpenID provider (oidctest, in
// Chromium, across origins), creates the mailbox there by choosing a
// password, sees the recovery key, signs out, and signs in again with eID
// and then the password; the appliance's pages on the way pass axe-core,
// fit the width and are in the language chosen, and the eID button and
// the forms' buttons are reached with the keyboard.
func TestEID(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	for _, lang := range languages {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			testEID(t, src, lang, 375)
		})
	}
}

// eidNID is the number of the resident who makes a mailbox with eID: valid, with
// no mailbox in the seeded appliance.
const eidNID = "0303903456"

func testEID(t *testing.T, src, lang string, width int64) {
	p := oidctest.New(t)
	rp, err := eid.New(eid.Config{Issuer: p.Issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		Scopes: []string{"profile"}, Claim: oidctest.Claim, Name: "MitID"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAppliance(t, applianceOptions{eid: rp})
	p.Register(t, a.url+"/eid/callback")
	p.AddUser(oidctest.User{Username: "nina", Password: "provider-pw", NationalID: eidNID, First: "Nina", Last: "Nørgaard"})
	tb := newTab(t, "eid-"+lang)
	tb.viewport(width)

	// At the provider: its own sign-in form, then back to the appliance.
	provider := func() {
		t.Helper()
		tb.do(chromedp.WaitVisible(chromedp.ID("username")))
		if !strings.HasPrefix(tb.location(), p.Issuer) {
			t.Fatalf("not at the provider: %s", tb.location())
		}
		tb.do(chromedp.SendKeys(chromedp.ID("username"), "nina"),
			chromedp.SendKeys(chromedp.ID("password"), "provider-pw\n"),
			chromedp.WaitVisible(chromedp.CSS("main h1")))
		if !strings.HasPrefix(tb.location(), a.url+"/eid") {
			t.Fatalf("back at %s", tb.location())
		}
	}
	signInWithEID := func(page string) {
		t.Helper()
		tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
		tb.checkPage(src, lang, width, page)
		// By keyboard: Tab to the eID button, Enter.
		tb.tabUntil("MitID")
		tb.do(chromedp.KeyEvent("\r"))
		provider()
	}

	signInWithEID("sign-in with the eID button")
	tb.do(chromedp.WaitVisible(chromedp.ID("passwordConfirm")))
	tb.checkPage(src, lang, width, "eID, create the mailbox")
	if txt := tb.text(); !strings.Contains(txt, "Nina Nørgaard") {
		t.Errorf("the page does not name the resident the provider vouched for:\n%s", txt)
	}
	// Two passwords that differ: the error beside the form.
	tb.do(chromedp.SendKeys(chromedp.ID("password"), annaPassword),
		chromedp.SendKeys(chromedp.ID("passwordConfirm"), annaPassword+"x\n"),
		chromedp.WaitVisible(chromedp.ID("eid-error")))
	tb.checkPage(src, lang, width, "eID, create the mailbox, an error")
	tb.do(chromedp.SendKeys(chromedp.ID("password"), annaPassword),
		chromedp.SendKeys(chromedp.ID("passwordConfirm"), annaPassword))
	// By keyboard: one Tab from the second field is the button.
	if f := tb.tabThrough(1)[0]; f.Tag != "button" || !f.Ring || !f.InView {
		t.Errorf("Tab from the password goes to %s (ring %v, in view %v), not the button", f, f.Ring, f.InView)
	}
	tb.do(chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(".recovery-key")))
	tb.checkPage(src, lang, width, "eID, the recovery key")
	tb.do(chromedp.Click(chromedp.CSS(".activated a.button")), chromedp.WaitVisible(chromedp.CSS("main .inbox")))

	// Sign out; in again with eID, then the password.
	tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
	signInWithEID("sign-in again")
	tb.do(chromedp.WaitVisible(chromedp.ID("password")))
	tb.checkPage(src, lang, width, "eID, the password")
	tb.do(chromedp.SendKeys(chromedp.ID("password"), annaPassword+"\n"), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	if got := eval[string](tb, `document.documentElement.lang`); got != lang {
		t.Errorf("the inbox after eID is in %q, want %q", got, lang)
	}
	if n := tb.dialogCount(); n != 0 {
		t.Errorf("%d JavaScript dialogs", n)
	}
}
