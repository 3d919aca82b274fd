package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/postkasse/postkasse/store"
)

// TestStructuredLetterKeyboard: a letter with an invoice and actions, in
// every language and at both widths: no axe violation, no sideways
// scrolling; the amount is written in the language; with the keyboard
// alone the resident reaches the payment button, which opens only https
// with rel="noopener noreferrer" and says it leaves Postkasse, and the
// calendar file's download link.
func TestStructuredLetterKeyboard(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testStructuredLetter(t, src, lang, width)
	})
}

func testStructuredLetter(t *testing.T, src, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	res := a.deliverToAnna(store.Delivery{
		Subject: "Invoice for dental care", SenderReference: "structured-1",
		Invoice: &store.Invoice{Amount: "1249.50", Currency: "DKK", Account: "5479 0001234567",
			PaymentReference: "+71<000000012345678+87654321<", DueDate: now.AddDate(0, 0, 20).Format("2006-01-02")},
		Actions: []store.Action{
			{Type: store.ActionPay, Label: "Pay the invoice", URL: "https://pay.example.dk/invoice/42"},
			{Type: store.ActionAppointment, Label: "Check-up at the dental clinic", At: "2027-03-03T09:30:00+01:00"},
		},
		Documents: []store.DocumentInput{document(t, "property-tax-2027-1.pdf")},
	})
	tb := newTab(t, "structured-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(a.url+"/letters/"+res.Letter.ID), chromedp.WaitVisible(chromedp.ID("invoice")))
	tb.checkPage(src, lang, width, "structured letter")

	text := tb.text()
	for _, want := range []string{l.Money("1249.50", "DKK"), "5479 0001234567", "+71<000000012345678+87654321<",
		l.T("structured.actions.external"), l.T("structured.actions.goesTo", "Host", "pay.example.dk")} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q:\n%s", want, text)
		}
	}

	stops := tb.tabToHref("https://pay.example.dk/invoice/42", 60)
	checkOrder(t, "structured letter", stops[len(stops)-3:])
	link := eval[map[string]string](tb, `(() => { const a = document.activeElement;
		return {text: a.innerText, rel: a.rel, target: a.target, described: document.getElementById(a.getAttribute('aria-describedby')).innerText}; })()`)
	if !strings.Contains(link["text"], "Pay the invoice") || !strings.Contains(link["text"], l.T("structured.actions.opens", "Host", "pay.example.dk")) ||
		link["rel"] != "noopener noreferrer" || link["described"] != l.T("structured.actions.external") {
		t.Errorf("the payment button: %v", link)
	}
	stops = tb.tabToHref("/letters/"+res.Letter.ID+"/appointments/1.ics", 10)
	checkOrder(t, "structured letter, actions", stops)
	if text := eval[string](tb, `document.activeElement.innerText`); !strings.Contains(text, l.T("structured.actions.calendar")) || !strings.Contains(text, "Check-up at the dental clinic") {
		t.Errorf("the calendar link says %q", text)
	}
	// The calendar file itself (text/calendar, a VEVENT) is checked in
	// httpui/resident's TestLetterAppointmentICS; the page's CSP lets no
	// script fetch it here.
	if dl := eval[bool](tb, `document.activeElement.hasAttribute('download')`); !dl {
		t.Error("the calendar link is not a download")
	}
}

// tabToHref presses Tab until the focus is on a link whose href
// attribute is href, at most max times, and returns where the focus went
// on the way (the link last).
func (tb *tab) tabToHref(href string, max int) []focusStop {
	tb.t.Helper()
	var stops []focusStop
	for range max {
		stops = append(stops, tb.tabThrough(1)...)
		if stops[len(stops)-1].Href == href {
			return stops
		}
	}
	tb.t.Fatalf("%d Tabs never reached the link to %s; went through %v", max, href, stops)
	return nil
}
