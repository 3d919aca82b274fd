package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/postkasse/postkasse/store"
)

// TestResetWithCode: in every language, at a phone's and a desktop's
// width, a resident who lost password and recovery key goes from
// "Forgot your password?" by keyboard to the reset page, reads there that
// every letter will be deleted, is stopped until they tick the
// confirmation, then resets the mailbox with the municipality's reset
// code and a new password, sees the new recovery key and an empty inbox.
// Every page on the way passes axe-core, fits the width and is in the
// language chosen.
func TestResetWithCode(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	cat := catalogue(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		l := cat.Lang(lang)
		a := newAppliance(t, applianceOptions{})
		nid, err := store.ParseNationalID(annaNID)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := a.store.IssueResetCode(context.Background(), nid)
		if err != nil {
			t.Fatal(err)
		}
		tb := newTab(t, "reset-"+lang+"-"+itoa(width))
		tb.viewport(width)
		tb.do(chromedp.Navigate(a.url + "/recover?lang=" + lang))
		tb.checkPage(src, lang, width, "forgot your password")
		tb.tabUntil("/reset")
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("reset-warning")))
		tb.checkPage(src, lang, width, "reset")
		text := tb.text()
		for _, want := range []string{l.T("oidc.reset.warning.title"), l.T("oidc.reset.warning.letters"), l.T("reset.intro")} {
			if !strings.Contains(text, want) {
				t.Errorf("the reset page does not say %q:\n%s", want, text)
			}
		}
		const next = "a brand new passphrase"
		// Not confirmed: the error says to tick the box, and nothing is
		// deleted.
		tb.do(chromedp.SendKeys(chromedp.ID("nationalId"), annaNID),
			chromedp.SendKeys(chromedp.ID("code"), strings.ToLower(rc.Code)),
			chromedp.SendKeys(chromedp.ID("password"), next),
			chromedp.SendKeys(chromedp.ID("passwordConfirm"), next+"\n"),
			chromedp.WaitVisible(chromedp.ID("reset-error")))
		tb.checkPage(src, lang, width, "reset, not confirmed")
		if text := tb.text(); !strings.Contains(text, l.T("oidc.reset.error.confirm")) {
			t.Errorf("the error does not ask for the tick:\n%s", text)
		}
		if _, err := a.store.Login(context.Background(), annaNID, annaPassword); err != nil {
			t.Fatalf("the old password after an unconfirmed reset: %v", err)
		}
		// The number and the code stay; the passwords are typed again,
		// the box ticked with the keyboard, and the button reached.
		tb.do(chromedp.SendKeys(chromedp.ID("password"), next),
			chromedp.SendKeys(chromedp.ID("passwordConfirm"), next))
		if f := tb.tabThrough(1)[0]; f.ID != "confirm" || !f.Ring || !f.InView {
			t.Errorf("Tab from the password goes to %s (ring %v, in view %v), not the confirmation", f, f.Ring, f.InView)
		}
		tb.do(chromedp.KeyEvent(" "))
		if f := tb.tabThrough(1)[0]; f.Tag != "button" || !f.Ring || !f.InView {
			t.Errorf("Tab from the confirmation goes to %s (ring %v, in view %v), not the button", f, f.Ring, f.InView)
		}
		tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".recovery-key")))
		tb.checkPage(src, lang, width, "reset, the recovery key")
		if text := tb.text(); !strings.Contains(text, l.T("oidc.reset.why")) {
			t.Errorf("the recovery key's page does not say the mailbox was reset:\n%s", text)
		}
		tb.do(chromedp.Click(chromedp.CSS(".activated a.button")), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
		if lines := tb.inboxLines(); len(lines) != 0 {
			t.Errorf("the inbox after the reset lists %d letters", len(lines))
		}
		if got := eval[string](tb, `document.documentElement.lang`); got != lang {
			t.Errorf("the inbox after the reset is in %q, want %q", got, lang)
		}
		if n := tb.dialogCount(); n != 0 {
			t.Errorf("%d JavaScript dialogs", n)
		}
	})
}
