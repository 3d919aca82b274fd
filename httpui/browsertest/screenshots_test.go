package browsertest

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

var update = flag.Bool("update", false, "write the screenshots to docs/screenshots (go test -run TestScreenshots -update)")

// screenshotDir is where -update writes: the repository's docs/screenshots,
// two folders above this package.
const screenshotDir = "../../docs/screenshots"

// widths are the viewports every page is shown and checked at: a phone
// and a laptop, in CSS pixels.
var widths = []int64{375, 1280}

// languages are the languages every page is checked in (i18n.Languages).
var languages = i18n.Languages

// catalogue is the message catalogue, for tests that look a text up in a
// language rather than repeat it.
func catalogue(t *testing.T) *i18n.Catalogue {
	t.Helper()
	c, err := i18n.Load(assets.FS(), "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestScreenshots takes a full-page screenshot of each page at each width.
// With -update they replace docs/screenshots/*.png (the README's tour);
// without, they go to a temporary folder and are only checked to be
// whole images of the right width.
func TestScreenshots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if *update {
		dir = screenshotDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, width := range widths {
		// A new mailbox for each width: opening a letter marks it read.
		a := newAppliance(t, applianceOptions{})
		tb := newTab(t, "screenshots-"+itoa(width))
		tb.viewport(width)
		shoot := func(name string) {
			t.Helper()
			// Screenshots show the page as a resident sees it, not with
			// the pointer or the focus on something.
			tb.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
			img := run(tb, chromedp.FullScreenshot(100))
			cfg, err := png.DecodeConfig(bytes.NewReader(img))
			if err != nil || int64(cfg.Width) != width {
				t.Fatalf("%s at %d px: not a PNG of that width (%v, %d px)", name, width, err, cfg.Width)
			}
			file := filepath.Join(dir, name+"-"+itoa(width)+".png")
			if err := os.WriteFile(file, img, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s (%dx%d)", file, cfg.Width, cfg.Height)
		}
		tb.do(chromedp.Navigate(a.url + "/login"))
		shoot("login")
		tb.login(annaNID, annaPassword)
		shoot("inbox")
		tb.do(chromedp.Navigate(a.url + "/due"))
		shoot("due")
		tb.do(chromedp.Navigate(a.url + "/folders"))
		shoot("folders")
		tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterSchool).ID))
		shoot("letter")
		tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterWaste).ID))
		shoot("letter-html")
		// The login and the inbox in Danish and Norwegian too.
		for _, lang := range languages[1:] {
			tb.do(chromedp.Navigate(a.url + "/?lang=" + lang))
			shoot("inbox-" + lang)
			tb.do(chromedp.Navigate(a.url + "/settings"))
			shoot("settings-" + lang)
		}
		tb.do(chromedp.Navigate(a.url + "/?lang=en"))
		shootConversations(t, a, tb, shoot)
		tb.do(chromedp.Submit(chromedp.CSS(".logout-form")), chromedp.WaitVisible(chromedp.ID("nationalId")))
		for _, lang := range languages[1:] {
			tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
			shoot("login-" + lang)
		}
	}
}

// shootConversations shows what a resident does beyond reading: a letter
// with its conversation (Anna's reply and the municipality's answer), a
// letter that asks for a signature, the access page with a grant from Bo
// that Anna accepted, and Bo's mailbox as Anna sees it, switched to from
// the header.
func shootConversations(t *testing.T, a *appliance, tb *tab, shoot func(string)) {
	t.Helper()
	ctx := context.Background()
	a.addReplyKey("Eksempelby Kommune")
	hearing := a.deliverToAnna(store.Delivery{Subject: "Hearing before a decision on housing benefit", SenderReference: "tour-hearing",
		Body: "We intend to reduce your housing benefit from 1 February. You can comment before we decide.", ReplyAllowed: true,
		Documents: []store.DocumentInput{document(t, "property-tax-2027-1.pdf")}})
	var replyID string
	a.withMailbox(annaNID, func(mb *store.Mailbox) {
		var err error
		if replyID, err = mb.Reply(ctx, hearing.Letter.ID, store.ReplyInput{Text: "My rent went up in November, so I have less to live on than your calculation assumes."}); err != nil {
			t.Fatal(err)
		}
	})
	a.deliverToAnna(store.Delivery{Subject: "Re: hearing — we have your comments", SenderReference: "tour-answer", InReplyTo: replyID,
		Body:      "Thank you. We will take the new rent into account and send you our decision within 14 days.",
		Documents: []store.DocumentInput{document(t, "decision-building-permit.pdf")}})
	tb.do(chromedp.Navigate(a.url+"/letters/"+hearing.Letter.ID), chromedp.WaitVisible(chromedp.ID("reply-text")))
	shoot("conversation")
	lease := a.deliverToAnna(store.Delivery{Subject: "Lease of allotment garden no. 14", SenderReference: "tour-lease",
		SignatureRequest: &store.SignatureRequest{Deadline: now.AddDate(0, 0, 14).Format("2006-01-02"), Description: "Lease of allotment garden no. 14, from 1 March"},
		Documents:        []store.DocumentInput{document(t, "enrolment-form.pdf")}})
	tb.do(chromedp.Navigate(a.url+"/letters/"+lease.Letter.ID), chromedp.WaitVisible(chromedp.ID("signature")))
	shoot("signature")
	grant, boNID := a.addBo(store.AccessAct, store.ScopePublic)
	if _, err := a.store.Deliver(ctx, a.senderID("Eksempelby Kommune"), store.Delivery{Recipient: boNID,
		Subject: "Your home care visits from January", SenderReference: "tour-bo", Type: store.TypeNotice,
		Body:      "From 5 January your home carer comes on Mondays and Thursdays.",
		Documents: []store.DocumentInput{document(t, "enrolment-letter.pdf")}}); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url + "/settings/access"))
	shoot("access")
	tb.do(chromedp.Navigate(a.url+"/mailboxes/"+grant.ID), chromedp.WaitVisible(chromedp.ID("delegated-banner")))
	shoot("mailbox-of-another")
}
