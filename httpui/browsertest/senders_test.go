package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/postkasse/postkasse/store"
)

// tabTo presses Tab until the focus is on the element whose text is text,
// at most max times, and returns where the focus went on the way (the
// element last).
func (tb *tab) tabTo(text string, max int) []focusStop {
	tb.t.Helper()
	var stops []focusStop
	for range max {
		stops = append(stops, tb.tabThrough(1)...)
		if stops[len(stops)-1].Text == text {
			return stops
		}
	}
	tb.t.Fatalf("%d Tabs never reached %q; went through %v", max, text, stops)
	return nil
}

// TestSendersAndRetentionKeyboard: with the keyboard alone, in every
// language and at both widths, a resident goes from the settings to the
// senders page, blocks a private sender (the page then says in the
// language from when the block takes effect), withdraws the block, and
// reads what is deleted when; the focus is always visible and follows the
// reading order, and the public sender offers no button.
func TestSendersAndRetentionKeyboard(t *testing.T) {
	t.Parallel()
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testSendersKeyboard(t, lang, width)
	})
}

func testSendersKeyboard(t *testing.T, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "senders-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)

	// From the settings to the senders page.
	tb.do(chromedp.Navigate(a.url + "/settings"))
	stops := tb.tabTo(l.T("settings.senders.link"), 40)
	checkOrder(t, "settings", stops[1:])
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".senders h1")))
	if h1 := run(tb, chromedp.Text(chromedp.CSS("h1"))); h1 != l.T("senders.heading") {
		t.Fatalf("Enter on the link opened %q", h1)
	}
	if n := eval[int](tb, `document.querySelectorAll('.sender').length`); n != 3 {
		t.Errorf("%d senders listed, want 3", n)
	}
	if text := tb.text(); !strings.Contains(text, l.T("senders.publicLine")) {
		t.Errorf("the page does not say why the public sender cannot be blocked:\n%s", text)
	}
	if forms := eval[[]int](tb, `[...document.querySelectorAll('.sender')].filter(e => e.querySelector('h2').innerText === 'Eksempelby Kommune').map(e => e.querySelectorAll('form').length)`); len(forms) != 1 || forms[0] != 0 {
		t.Errorf("the public sender's forms: %v, want one line without any", forms)
	}

	// Block Fjordbanken with Enter: the notice gives the date and time in
	// the language.
	stops = tb.tabTo(l.T("senders.block", "Name", "Fjordbanken"), 40)
	checkOrder(t, "senders", stops[1:])
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("senders-done")))
	when := l.DateTime(now.Add(store.SenderBlockNotice).In(time.Local))
	if done := run(tb, chromedp.Text(chromedp.ID("senders-done"))); done != l.T("senders.done.blocked", "Name", "Fjordbanken", "Date", when) {
		t.Errorf("after blocking: %q", done)
	}
	if text := tb.text(); !strings.Contains(text, l.T("senders.pending", "Date", when)) {
		t.Errorf("the sender's line does not say from when it is blocked:\n%s", text)
	}
	if n := blocks(t, a); n != 1 {
		t.Fatalf("%d blocks stored, want 1", n)
	}
	// And withdraw it.
	stops = tb.tabTo(l.T("senders.withdraw", "Name", "Fjordbanken"), 40)
	checkOrder(t, "senders, blocked", stops[1:])
	// The page before has a notice too: wait for the withdrawing form to
	// go with it.
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitNotPresent(chromedp.CSS(`form[action="/settings/senders/unblock"]`)),
		chromedp.WaitVisible(chromedp.ID("senders-done")))
	if done := run(tb, chromedp.Text(chromedp.ID("senders-done"))); done != l.T("senders.done.unblocked", "Name", "Fjordbanken") {
		t.Errorf("after withdrawing: %q", done)
	}
	if n := blocks(t, a); n != 0 {
		t.Fatalf("%d blocks stored after withdrawing, want 0", n)
	}

	// What is deleted when: reached from the settings, read to the end.
	tb.do(chromedp.Navigate(a.url + "/settings"))
	tb.tabTo(l.T("settings.retention.link"), 40)
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".retention h1")))
	if text := tb.text(); !strings.Contains(text, l.Date(now.AddDate(5, 0, 0).In(time.Local))) {
		t.Errorf("the retention page does not give the date of deletion:\n%s", text)
	}
	stops = tb.tabTo(l.T("retention.back"), 30)
	checkOrder(t, "retention", stops[1:])
}

// blocks counts Anna's blocks of senders, from the store.
func blocks(t *testing.T, a *appliance) int {
	t.Helper()
	sess, err := a.store.Login(context.Background(), annaNID, annaPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Logout(context.Background(), sess.Token)
	mb, err := a.store.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	senders, err := mb.Senders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range senders {
		if s.Block != nil {
			n++
		}
	}
	return n
}
