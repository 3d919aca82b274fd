package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeClean fails the test for every serious or critical axe-core
// violation on the tab's page, and for a page that scrolls sideways.
func (tb *tab) axeClean(src, page string) {
	tb.t.Helper()
	version, violations := tb.axe(src)
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.t.Errorf("%s: axe-core %s: %s", page, version, v)
		} else {
			tb.t.Logf("%s: axe-core %s (not failing): %s", page, version, v)
		}
	}
	if l := tb.layout(); l.ScrollWidth > l.ClientWidth {
		tb.t.Errorf("%s scrolls sideways: %v px of content in %v px; too wide: %q", page, l.ScrollWidth, l.ClientWidth, l.Overflowing)
	}
}

// tabUntil presses Tab until the focus is on the link or button whose text
// or href contains what, and fails when it never is.
func (tb *tab) tabUntil(what string) focusStop {
	tb.t.Helper()
	for range 60 {
		f := tb.tabThrough(1)[0]
		if strings.Contains(f.Href, what) || strings.Contains(f.Text, what) {
			if !f.Ring || !f.InView {
				tb.t.Errorf("focus on %s is not shown", f)
			}
			return f
		}
	}
	tb.t.Fatalf("Tab never reached %q", what)
	return focusStop{}
}

// senderOf returns the id of the sender that delivered a letter, from
// the delivery's audit entry.
func (a *appliance) senderOf(letterID string) string {
	a.t.Helper()
	entries, err := a.store.AuditLog(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == "deliver" && e.Object == "letter:"+letterID {
			return strings.TrimPrefix(e.Actor, "sender:")
		}
	}
	a.t.Fatalf("no delivery of letter %s in the audit log", letterID)
	return ""
}

// TestDeleteLetterJourney: in Danish on a phone, with the keyboard alone,
// a resident opens a letter, chooses Delete, reads on the confirmation
// that the letter goes for good and the sender will see it, confirms,
// and is back in the inbox, which says the letter was deleted and no
// longer lists it; the sender's status says deleted. Then two letters
// chosen together with the inbox's boxes are listed on the confirmation
// and deleted. Every page passes
// axe-core and fits 375 px.
func TestDeleteLetterJourney(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	l := catalogue(t).Lang("da")
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "delete-da-375")
	tb.viewport(375)
	tb.do(chromedp.Navigate(a.url + "/login?lang=da"))
	tb.login(annaNID, annaPassword)
	school := a.letter(letterSchool)
	tb.do(chromedp.Navigate(a.url + "/letters/" + school.ID))

	// Delete, by keyboard, from the letter page.
	tb.tabUntil("/letters/" + school.ID + "/delete")
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("delete-warning")))
	if got := eval[string](tb, `document.documentElement.lang`); got != "da" {
		t.Errorf("the confirmation is in %q", got)
	}
	text := tb.text()
	for _, want := range []string{
		l.T("deleteLetters.heading", "Count", 1), l.T("deleteLetters.warning"), l.T("deleteLetters.warning.text", "Count", 1),
		l.T("deleteLetters.sender", "Count", 1), school.Delivery.Subject,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the confirmation does not say %q:\n%s", want, text)
		}
	}
	tb.axeClean(src, "confirmation of one letter")
	if st, err := a.store.LetterStatus(context.Background(), a.senderOf(school.ID), school.ID); err != nil || st.Status == "deleted" {
		t.Fatalf("after the confirmation page: %+v, %v", st, err)
	}
	tb.tabUntil(l.T("deleteLetters.submit", "Count", 1))
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	if got := run(tb, chromedp.Text(chromedp.CSS(`.alert[role="status"]`))); got != l.T("deleteLetters.done", "Count", 1) {
		t.Errorf("the inbox says %q after deleting", got)
	}
	for _, line := range tb.inboxLines() {
		if line.Subject == school.Delivery.Subject {
			t.Error("the inbox still lists the deleted letter")
		}
	}
	tb.axeClean(src, "inbox after deleting")
	sender := a.senderOf(school.ID)
	if st, err := a.store.LetterStatus(context.Background(), sender, school.ID); err != nil || st.Status != "deleted" {
		t.Errorf("the sender's status: %+v, %v", st, err)
	}

	// Two letters at once, chosen with the inbox's boxes by the keyboard
	// (Space), then its Delete button.
	waste, tax := a.letter(letterWaste), a.letter(letterTax)
	for _, id := range []string{waste.ID, tax.ID} {
		tb.do(chromedp.Focus(chromedp.ID("select-"+id)), chromedp.KeyEvent(" "))
	}
	tb.tabUntil(l.T("inbox.action.delete"))
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("delete-warning")))
	text = tb.text()
	for _, want := range []string{l.T("deleteLetters.heading", "Count", 2), waste.Delivery.Subject, tax.Delivery.Subject, l.T("deleteLetters.sender", "Count", 2)} {
		if !strings.Contains(text, want) {
			t.Errorf("the bulk confirmation does not say %q:\n%s", want, text)
		}
	}
	tb.axeClean(src, "confirmation of two letters")
	tb.tabUntil(l.T("deleteLetters.submit", "Count", 2))
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	if got := run(tb, chromedp.Text(chromedp.CSS(`.alert[role="status"]`))); got != l.T("deleteLetters.done", "Count", 2) {
		t.Errorf("the inbox says %q after deleting two", got)
	}
	for _, s := range []seeded{waste, tax} {
		if st, err := a.store.LetterStatus(context.Background(), a.senderOf(s.ID), s.ID); err != nil || st.Status != "deleted" {
			t.Errorf("the sender's status of %q: %+v, %v", s.Delivery.Subject, st, err)
		}
	}
}
