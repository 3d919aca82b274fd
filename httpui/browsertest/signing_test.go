package browsertest

import (
	"context"
	"strings"
	"testing"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/postkasse/postkasse/store"
)

// TestSigningInBrowser: a letter that asks for a signature, in every
// language and at both widths: the signature box has no axe violation
// and no sideways scrolling; the resident ticks the box, gives the
// password and signs, and the page then says so (again without a
// violation).
func TestSigningInBrowser(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testSigning(t, src, lang, width)
	})
}

func testSigning(t *testing.T, src, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	a.addReplyKey("Eksempelby Kommune")
	res := a.deliverToAnna(store.Delivery{
		Subject: "Tenancy agreement", SenderReference: "signing-1",
		SignatureRequest: &store.SignatureRequest{Deadline: now.AddDate(0, 0, 14).Format("2006-01-02"),
			Description: "Tenancy agreement for Vestergade 12, 1st floor"},
		Documents: []store.DocumentInput{document(t, "enrolment-form.pdf")},
	})
	tb := newTab(t, "signing-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(a.url+"/letters/"+res.Letter.ID), chromedp.WaitVisible(chromedp.ID("signature")))
	tb.checkPage(src, lang, width, "letter with a signature request")
	tb.do(
		chromedp.Click(chromedp.ID("sign-confirm")),
		chromedp.SendKeys(chromedp.ID("sign-password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("signature-answer")),
	)
	if text := tb.text(); !strings.Contains(text, l.T("signing.done.signed")) {
		t.Errorf("after signing the page lacks %q:\n%s", l.T("signing.done.signed"), text)
	}
	tb.checkPage(src, lang, width, "letter signed")
}

// TestSigningWithPasskeyInBrowser: in real Chromium with its DevTools
// virtual authenticator (user verification on), a resident adds a passkey,
// then confirms a signature with it from the letter page's script: the
// page (under the script policy) has no axe violation and fits a phone's
// width. The assertion that signed, sent again, signs nothing more. (An
// assertion without user verification, or to another challenge, is
// refused by the server: TestLetterSigningWithPasskey,
// TestSignWithPasskey.)
func TestSigningWithPasskeyInBrowser(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	for _, lang := range []string{"en", "da", "nb"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			testSigningWithPasskey(t, src, lang, 375)
		})
	}
}

func testSigningWithPasskey(t *testing.T, src, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	a.addReplyKey("Eksempelby Kommune")
	var ids []string
	for _, ref := range []string{"passkey-1", "passkey-2"} {
		res := a.deliverToAnna(store.Delivery{
			Subject: "Tenancy agreement", SenderReference: ref,
			SignatureRequest: &store.SignatureRequest{Deadline: now.AddDate(0, 0, 14).Format("2006-01-02"),
				Description: "Tenancy agreement for Vestergade 12, 1st floor"},
			Documents: []store.DocumentInput{document(t, "enrolment-form.pdf")},
		})
		ids = append(ids, res.Letter.ID)
	}
	base := strings.Replace(a.url, "//127.0.0.1:", "//localhost:", 1)
	tb := newTab(t, "signing-passkey-"+lang)
	tb.viewport(width)
	cdpCall(tb, cdpwebauthn.Enable, cdpwebauthn.EnableParams{})
	cdpCall(tb, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
		Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
		Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true,
		HasUserVerification: true, IsUserVerified: true, HasPrf: true,
		AutomaticPresenceSimulation: true,
	}})
	tb.do(chromedp.Navigate(base + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(base+"/settings/passkeys"), chromedp.WaitVisible(chromedp.ID("add-name")))
	tb.do(chromedp.SendKeys(chromedp.ID("add-name"), "Telefon"), chromedp.SendKeys(chromedp.ID("add-password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("passkeys-saved")))
	signs := func() int {
		entries, err := a.store.AuditLog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Action == "sign" {
				n++
			}
		}
		return n
	}

	tb.do(chromedp.Navigate(base+"/letters/"+ids[0]), chromedp.WaitVisible(chromedp.ID("sign-passkey-form")))
	tb.checkPage(src, lang, width, "letter with a signature request and a passkey")

	// Signed. The form's answer is kept to send it again.
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const orig = HTMLFormElement.prototype.submit;
		HTMLFormElement.prototype.submit = function () {
			sessionStorage.setItem('signed-form', new URLSearchParams(new FormData(this)).toString());
			return orig.call(this); }; })()`))
	tb.do(chromedp.Click(chromedp.ID("sign-passkey-confirm")), chromedp.Click(chromedp.ID("sign-passkey")),
		chromedp.WaitVisible(chromedp.ID("signature-answer")))
	if text := tb.text(); !strings.Contains(text, l.T("signing.done.signed")) || signs() != 1 {
		t.Fatalf("after signing with a passkey: %d signed, the page:\n%s", signs(), text)
	}
	tb.checkPage(src, lang, width, "letter signed with a passkey")

	// The same answer again: refused (used), nothing more signed.
	if kept := eval[string](tb, `sessionStorage.getItem('signed-form') || ''`); !strings.Contains(kept, "state=") || !strings.Contains(kept, "response=%7B") {
		t.Fatalf("the form's answer was not kept: %q", kept)
	}
	tb.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement('form');
		f.method = 'post'; f.action = location.pathname + '/sign';
		for (const [k, v] of new URLSearchParams(sessionStorage.getItem('signed-form'))) {
			const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
		document.body.appendChild(f); f.submit(); })()`),
		chromedp.WaitVisible(chromedp.ID("signature-answer")))
	if n := signs(); n != 1 {
		t.Errorf("the assertion replayed signed again: %d", n)
	}
	if n := tb.dialogCount(); n != 0 {
		t.Errorf("%d JavaScript dialogs", n)
	}
	if log := tb.consoleLog(); strings.Contains(log, "exception") {
		t.Errorf("the page's script failed:\n%s", log)
	}
}
