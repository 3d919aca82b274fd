package browsertest

import (
	"strings"
	"testing"

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
