package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// pageState is what injected code would change if it ran.
type pageState struct {
	Title      string `json:"title"`
	Pwned      bool   `json:"pwned"`      // window.pwned was set
	Images     int    `json:"images"`     // <img> elements (Postkasse's pages have none)
	Scripts    int    `json:"scripts"`    // <script> elements
	BoldInMain int    `json:"boldInMain"` // <b> elements in main (the sender's markup)
}

func (tb *tab) pageState() pageState {
	tb.t.Helper()
	return eval[pageState](tb, `({title: document.title, pwned: window.pwned !== undefined,
		images: document.images.length, scripts: document.scripts.length,
		boldInMain: document.querySelectorAll('main b').length})`)
}

// TestHostileLetter: a sender's subject, body, file name and HTML document
// that carry script and markup are shown as text, and nothing in them
// runs: no dialog opens, no element is made, the title stays ours, and the
// HTML document is served sanitised, in a sandbox, without its scripts,
// handlers, frames or forms.
func TestHostileLetter(t *testing.T) {
	t.Parallel()
	a := newAppliance(t, applianceOptions{hostile: true})
	hostile := a.letter(letterHostile)
	tb := newTab(t, "hostile")
	tb.viewport(1280)
	tb.do(chromedp.Navigate(a.url + "/login"))
	tb.login(annaNID, annaPassword)

	// The inbox shows the subject as the sender wrote it, as text.
	line := findLine(t, tb.inboxLines(), hostileSubject)
	if line.Href != "/letters/"+hostile.ID {
		t.Fatalf("hostile line %+v", line)
	}
	if got, want := tb.pageState(), (pageState{Title: "Inbox — Postkasse"}); got != want {
		t.Errorf("inbox after rendering the hostile subject: %+v, want %+v", got, want)
	}

	// The letter page: subject, body and file name are text; the HTML
	// document is in a frame sandboxed without any allowance.
	tb.do(chromedp.Click(chromedp.CSS(`.letters a[href="/letters/`+hostile.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("article.letter-page h1")),
		chromedp.WaitReady(chromedp.CSS("iframe.document-frame")))
	shown := eval[map[string]string](tb, `({
		h1: document.querySelector('h1').innerText,
		body: document.querySelector('.letter-body').innerText,
		name: document.querySelector('.document-name').innerText,
		sandbox: document.querySelector('iframe.document-frame').getAttribute('sandbox'),
	})`)
	for k, want := range map[string]string{
		"h1": hostileSubject, "body": hostileBody, "name": `notice"><img src=x onerror=alert(5)>.html`, "sandbox": "",
	} {
		if shown[k] != want {
			t.Errorf("letter page %s: %q, want %q", k, shown[k], want)
		}
	}
	if got, want := tb.pageState(), (pageState{Title: hostileSubject + " — Postkasse"}); got != want {
		t.Errorf("letter page: %+v, want %+v", got, want)
	}

	// The document on its own: sanitised, and under a CSP sandbox.
	doc := a.url + "/letters/" + hostile.ID + "/documents/0"
	resp := runResponse(tb, chromedp.Navigate(doc))
	if csp := header(resp.Headers, "Content-Security-Policy"); resp.Status != http.StatusOK || !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the HTML document: %d, CSP %q", resp.Status, csp)
	}
	left := eval[[]string](tb, `[...document.querySelectorAll('script, iframe, form, input, object, embed, [onclick], [onerror], [onmouseover], a[href^="javascript:"]')].map(e => e.outerHTML)`)
	if len(left) > 0 {
		t.Errorf("the served HTML document keeps active content: %q", left)
	}
	if text := tb.text(); !strings.Contains(text, "Parking notice") || !strings.Contains(text, "The fine is DKK 510.") {
		t.Errorf("the sanitised document lost its text: %q", text)
	}
	if n := tb.dialogCount(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened: injected code ran", n)
	}
}
