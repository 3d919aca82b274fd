package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/postkasse/postkasse/store"
)

// TestReplyKeyboard: in every language, at a phone's width and a
// laptop's, a resident replies to a letter that takes replies with the
// keyboard alone: the form's fields are labelled, an empty reply is
// refused with the reason, a written one shows in the letter's thread.
// Every page has no serious or critical axe-core violation and fits the
// width.
func TestReplyKeyboard(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testReply(t, src, lang, width)
	})
}

func testReply(t *testing.T, src, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	ctx := context.Background()
	kommune := a.senderID("Eksempelby Kommune")
	a.addReplyKey("Eksempelby Kommune")
	res := a.deliverToAnna(store.Delivery{
		Subject: "Hearing before a decision on housing benefit", SenderReference: "reply-1", ReplyAllowed: true,
		Documents: []store.DocumentInput{document(t, "property-tax-2027-1.pdf")},
	})
	tb := newTab(t, "reply-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	tb.login(annaNID, annaPassword)
	tb.do(chromedp.Navigate(a.url+"/letters/"+res.Letter.ID), chromedp.WaitVisible(chromedp.ID("reply-text")))
	tb.checkPage(src, lang, width, "letter with the reply form")

	// An empty reply: refused, with the reason at the form.
	tb.tabTo(l.T("reply.submit"), 200)
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("reply-error")))
	if msg := run(tb, chromedp.Text(chromedp.ID("reply-error"))); msg != l.T("reply.error.empty") {
		t.Errorf("an empty reply: %q", msg)
	}
	tb.checkPage(src, lang, width, "reply refused")

	// Written: Tab to the text, type, on past the file field to the button.
	var stops []focusStop
	for range 200 {
		stops = append(stops, tb.tabThrough(1)...)
		if stops[len(stops)-1].ID == "reply-text" {
			break
		}
	}
	if stops[len(stops)-1].ID != "reply-text" {
		t.Fatalf("Tab never reached the reply's text: %v", stops)
	}
	tb.do(chromedp.KeyEvent("Jeg er uenig i afgørelsen."))
	after := tb.tabThrough(2)
	if after[0].ID != "reply-files" || after[1].Text != l.T("reply.submit") {
		t.Fatalf("after the text: %v, want the file field and the button", after)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".thread .alert-success")))
	if text := tb.text(); !strings.Contains(text, "Jeg er uenig i afgørelsen.") || !strings.Contains(text, l.T("reply.thread.yours")) {
		t.Errorf("the thread lacks the reply:\n%s", text)
	}
	tb.checkPage(src, lang, width, "letter with its thread")

	// The messages page, once the sender accepts messages: a message by
	// keyboard, then the list.
	if err := a.store.SetSenderAcceptsMessages(ctx, kommune, true); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url+"/messages"), chromedp.WaitVisible(chromedp.ID("message-text")))
	tb.checkPage(src, lang, width, "messages page")
	tb.do(chromedp.Focus(chromedp.ID("message-text")), chromedp.KeyEvent("Hvornår tømmes min skraldespand?"))
	after = tb.tabThrough(2)
	if after[0].ID != "message-files" || after[1].Text != l.T("messages.submit") {
		t.Fatalf("after the text: %v, want the file field and the button", after)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("messages-done")))
	if text := tb.text(); !strings.Contains(text, "Hvornår tømmes min skraldespand?") || !strings.Contains(text, l.T("messages.to", "Sender", "Eksempelby Kommune")) {
		t.Errorf("the messages page lacks the message:\n%s", text)
	}
	tb.checkPage(src, lang, width, "messages page with a message")
}
