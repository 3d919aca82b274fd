package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/postkasse/postkasse/store"
)

// TestMailboxSwitcherKeyboard: in every language, at a phone's width and
// a laptop's, a resident given access to Bo's mailbox switches to it from
// the switcher in the header with the keyboard alone (the disclosure
// opens with Enter, no script needed), sees the banner that says whose
// mailbox it is, replies to Bo's letter on his behalf, and switches back
// to their own. The current mailbox is marked for screen readers; every
// page has no serious or critical axe-core violation and fits the width.
func TestMailboxSwitcherKeyboard(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testMailboxSwitcher(t, src, lang, width)
	})
}

func testMailboxSwitcher(t *testing.T, src, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	ctx := context.Background()
	grant, boNID := a.addBo(store.AccessAct, store.ScopeAll)
	a.addReplyKey("Eksempelby Kommune")
	kommune := a.senderID("Eksempelby Kommune")
	res, err := a.store.Deliver(ctx, kommune, store.Delivery{
		Recipient: boNID, Subject: "Hearing before a decision on home help", SenderReference: "bo-1", ReplyAllowed: true,
		Documents: []store.DocumentInput{document(t, "property-tax-2027-1.pdf")},
	})
	if err != nil {
		t.Fatal(err)
	}
	own, bo := l.T("delegated.own"), l.T("delegate2.switcher.current", "Name", "Bo Berg")

	tb := newTab(t, "switcher-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.ID("mailbox-switcher")))
	if got := strings.TrimSpace(run(tb, chromedp.Text(chromedp.CSS(`#mailbox-switcher summary`)))); got != own {
		t.Errorf("the switcher on the inbox says %q, want %q", got, own)
	}
	tb.checkPage(src, lang, width, "inbox with the mailbox switcher")

	// To Bo's mailbox: Tab to the switcher, open it, Tab to Bo, Enter.
	tb.tabTo(own, 60)
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#mailbox-switcher a[href="/mailboxes/`+grant.ID+`"]`)))
	tb.checkPage(src, lang, width, "the mailbox switcher opened")
	if f := tb.tabThrough(1)[0]; f.Href != "/" || !f.Ring || !f.InView {
		t.Errorf("after the switcher: %s, want the own mailbox, focus shown", f)
	}
	if f := tb.tabThrough(1)[0]; !strings.HasSuffix(f.Href, "/mailboxes/"+grant.ID) || f.Text != "Bo Berg" || !f.Ring || !f.InView {
		t.Fatalf("then: %s, want Bo's mailbox, focus shown", f)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("delegated-banner")))
	if loc := tb.location(); !strings.HasSuffix(loc, "/mailboxes/"+grant.ID) {
		t.Fatalf("after switching: at %s", loc)
	}
	if text := tb.text(); !strings.Contains(text, l.T("delegated.banner", "Name", "Bo Berg")) {
		t.Errorf("Bo's mailbox lacks the banner:\n%s", text)
	}
	if got := strings.TrimSpace(run(tb, chromedp.Text(chromedp.CSS(`#mailbox-switcher summary`)))); got != bo {
		t.Errorf("the switcher in Bo's mailbox says %q, want %q", got, bo)
	}
	if got := eval[string](tb, `document.querySelector('#mailbox-switcher a[href="/mailboxes/`+grant.ID+`"]').getAttribute("aria-current")`); got != "page" {
		t.Errorf("Bo's mailbox is aria-current=%q, want page", got)
	}
	tb.checkPage(src, lang, width, "another's mailbox with the switcher")

	// Bo's letter: a reply on his behalf, by keyboard.
	tb.do(chromedp.Navigate(a.url+"/mailboxes/"+grant.ID+"/letters/"+res.Letter.ID), chromedp.WaitVisible(chromedp.ID("reply-text")))
	tb.checkPage(src, lang, width, "another's letter with the reply form")
	tb.do(chromedp.Focus(chromedp.ID("reply-text")), chromedp.KeyEvent("Bo er enig."))
	if after := tb.tabThrough(2); after[0].ID != "reply-files" || after[1].Text != l.T("reply.submit") {
		t.Fatalf("after the text: %v, want the file field and the button", after)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("reply-sent")))
	if text := tb.text(); !strings.Contains(text, "Bo er enig.") || !strings.Contains(text, l.T("delegate2.reply.yours", "Name", "Bo Berg")) {
		t.Errorf("the thread lacks the reply:\n%s", text)
	}
	tb.checkPage(src, lang, width, "another's letter with a reply on their behalf")

	// And back to the own mailbox.
	tb.tabTo(bo, 60)
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#mailbox-switcher a[href="/"]`)))
	tb.tabTo(own, 5)
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitNotPresent(chromedp.ID("delegated-banner")))
	if loc := tb.location(); !strings.HasSuffix(loc, "/") {
		t.Fatalf("after switching back: at %s", loc)
	}
	if got := eval[string](tb, `document.querySelector('#mailbox-switcher a[href="/"]').getAttribute("aria-current")`); got != "page" {
		t.Errorf("the own mailbox is aria-current=%q, want page", got)
	}
	tb.checkPage(src, lang, width, "inbox after switching back")
}
