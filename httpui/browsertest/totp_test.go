package browsertest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TestTOTP: in every language, at a phone's width, a resident turns on
// two-step verification in a real browser by keyboard (the test reads the
// key from the page's text, as a resident types it into an app, and
// computes the app's code), keeps the backup codes, signs out, and signs
// in again with the password and then the code, typed into the field
// that has the focus; a wrong code first is refused on the page. Every page on the way passes axe-core, fits the
// width, and runs no script.
func TestTOTP(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	for _, lang := range languages {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			testTOTP(t, src, lang, 375)
		})
	}
}

// backupCodeText is a backup code as the page shows it.
var backupCodeText = regexp.MustCompile(`^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$`)

func testTOTP(t *testing.T, src, lang string, width int64) {
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "totp-"+lang)
	tb.viewport(width)
	check := func(page string) {
		t.Helper()
		version, violations := tb.axe(src)
		for _, v := range violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s (%s): axe-core %s: %s", page, lang, version, v)
			} else {
				t.Logf("%s (%s): axe-core %s (not failing): %s", page, lang, version, v)
			}
		}
		if l := tb.layout(); l.ScrollWidth > l.ClientWidth {
			t.Errorf("%s (%s) at %d px scrolls sideways: %q", page, lang, width, l.Overflowing)
		}
		if got := eval[string](tb, `document.documentElement.lang`); got != lang {
			t.Errorf("%s: <html lang=%q>, want %q", page, got, lang)
		}
	}
	code := func(secret string) string {
		t.Helper()
		c, err := totp.GenerateCodeCustom(secret, a.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(a.url + "/settings"))
	tb.do(chromedp.Click(chromedp.CSS(`a[href="/settings/two-step"]`)), chromedp.WaitVisible(chromedp.ID("totp-secret")))
	check("two-step verification, set up")
	if n := eval[int](tb, `document.querySelector('img.qr-code').naturalWidth`); n != 240 {
		t.Errorf("the QR code did not load: %d px wide", n)
	}
	secret := strings.ReplaceAll(eval[string](tb, `document.getElementById('totp-secret').textContent`), " ", "")
	if len(secret) != 32 {
		t.Fatalf("the key on the page: %q", secret)
	}
	// A wrong code first: refused beside the form.
	tb.do(chromedp.SendKeys(chromedp.ID("on-code"), "000000"),
		chromedp.SendKeys(chromedp.ID("on-password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("totp-error")))
	check("two-step verification, set up with an error")
	if code(secret) == "000000" {
		a.clock.Advance(30 * time.Second)
	}
	tb.do(chromedp.SendKeys(chromedp.ID("on-code"), code(secret)),
		chromedp.SendKeys(chromedp.ID("on-password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.CSS(".backup-codes")))
	check("backup codes")
	codes := eval[[]string](tb, `[...document.querySelectorAll('.backup-codes code')].map(c => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("%d backup codes on the page", len(codes))
	}
	for _, c := range codes {
		if !backupCodeText.MatchString(c) {
			t.Errorf("backup code %q", c)
		}
	}
	tb.do(chromedp.Click(chromedp.CSS(`.activated a.button`)), chromedp.WaitVisible(chromedp.ID("off-code")))
	check("two-step verification, on")

	// Sign out, and in with the password: the page that asks for the
	// code, not the inbox.
	tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
	a.clock.Advance(30 * time.Second)
	tb.do(chromedp.SendKeys(chromedp.ID("nationalId"), annaNID),
		chromedp.SendKeys(chromedp.ID("password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("code")))
	if !strings.HasSuffix(tb.location(), "/login/code") {
		t.Fatalf("after the password: %s", tb.location())
	}
	check("sign-in, the code")
	wrong := "000000"
	if wrong == code(secret) {
		wrong = "111111"
	}
	// By keyboard alone: the code field has the focus, Enter sends it.
	typeCode := func(c string) {
		t.Helper()
		if id := eval[string](tb, `document.activeElement.id`); id != "code" {
			t.Fatalf("the focus is on %q, not the code field", id)
		}
		tb.do(chromedp.KeyEvent(c + "\n"))
	}
	typeCode(wrong)
	tb.do(chromedp.WaitVisible(chromedp.ID("code-error")))
	check("sign-in, a wrong code")
	typeCode(code(secret))
	tb.do(chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	if n := tb.dialogCount(); n != 0 {
		t.Errorf("%d JavaScript dialogs", n)
	}
}
