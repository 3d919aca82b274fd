package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/postkasse/postkasse/store"
)

// inboxLine is one line of the inbox as the browser shows it.
type inboxLine struct {
	Subject string   `json:"subject"`
	Sender  string   `json:"sender"`
	Href    string   `json:"href"`
	Unread  bool     `json:"unread"`
	Badges  []string `json:"badges"`
}

// inboxLines reads the inbox the way a sighted resident does: the text
// that is rendered, not the HTML.
func (tb *tab) inboxLines() []inboxLine {
	tb.t.Helper()
	return eval[[]inboxLine](tb, `[...document.querySelectorAll('.letters > li')].map(li => ({
		subject: li.querySelector('.letter-subject').innerText,
		sender: li.querySelector('.letter-sender').innerText,
		href: li.querySelector('.letter-subject a').getAttribute('href'),
		unread: li.classList.contains('is-unread'),
		badges: [...li.querySelectorAll('.badge')].map(b => b.innerText.trim()),
	}))`)
}

func findLine(t *testing.T, lines []inboxLine, subject string) inboxLine {
	t.Helper()
	for _, l := range lines {
		if l.Subject == subject {
			return l
		}
	}
	t.Fatalf("no inbox line with subject %q in %+v", subject, lines)
	return inboxLine{}
}

// header returns a response header by name, whatever its case.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// sessionCookie returns the browser's session cookie for the appliance,
// or nil.
func (tb *tab) sessionCookie(a *appliance) *network.Cookie {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{a.url + "/"}})
	if err != nil {
		tb.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "postkasse" || c.Name == "__Host-postkasse" {
			return c
		}
	}
	return nil
}

// TestJourney: a resident signs in, reads the inbox, opens letters and
// documents, downloads one and signs out; afterwards nothing of the mail
// can be seen again with the back button, and the session is dead.
func TestJourney(t *testing.T) {
	t.Parallel()
	journey(t, newAppliance(t, applianceOptions{}))
}

// TestJourneyCluster is the journey on two nodes of a cluster, which
// serve its requests in turn: the session, the letters and their read
// state live in the shared database, not in a node.
func TestJourneyCluster(t *testing.T) {
	t.Parallel()
	a := newAppliance(t, applianceOptions{nodes: 2})
	journey(t, a)
	for i := range a.served {
		if n := a.served[i].Load(); n < 10 {
			t.Errorf("node %d served %d requests of the journey", i, n)
		}
	}
	t.Logf("requests served by the nodes: %d and %d", a.served[0].Load(), a.served[1].Load())
}

// journey is the resident's journey through the appliance a.
func journey(t *testing.T, a *appliance) {
	tb := newTab(t, "resident")
	tb.viewport(1280)

	// Not signed in: the inbox sends the browser to the login page.
	tb.do(chromedp.Navigate(a.url + "/"))
	if loc, title := tb.location(), run(tb, chromedp.Title()); loc != a.url+"/login" || title != "Sign in — Postkasse" {
		t.Fatalf("not signed in, / shows %s %q", loc, title)
	}
	tb.login(annaNID, annaPassword)
	if loc, title := tb.location(), run(tb, chromedp.Title()); loc != a.url+"/" || title != "Inbox — Postkasse" {
		t.Fatalf("after login: %s %q", loc, title)
	}
	if c := tb.sessionCookie(a); c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", c)
	}

	// The inbox: newest first, unread and due dates in words.
	if s := run(tb, chromedp.Text(chromedp.CSS(".summary"))); s != "8 letters, 5 unread" {
		t.Errorf("summary %q", s)
	}
	lines := tb.inboxLines()
	if len(lines) != 8 || lines[0].Subject != "Appointment at the citizens' service centre" || lines[7].Subject != "Your annual account statement" {
		t.Fatalf("inbox lines %+v", lines)
	}
	october := a.letter(letterOctober)
	for _, tc := range []struct {
		subject string
		unread  bool
		badges  []string
	}{
		{october.Delivery.Subject, true, []string{"Unread", "Invoice", "Due 27 Nov 2026 · in 5 days"}},
		{a.letter(letterTax).Delivery.Subject, true, []string{"Unread", "Invoice", "Due 31 Jan 2027"}},
		{a.letter(letterSeptember).Delivery.Subject, false, []string{"Invoice", "Due 19 Nov 2026 · overdue"}},
		{a.letter(letterDecision).Delivery.Subject, false, []string{"Decision"}},
	} {
		l := findLine(t, lines, tc.subject)
		if l.Unread != tc.unread || !slices.Equal(l.Badges, tc.badges) {
			t.Errorf("%q: unread %v badges %q, want %v %q", tc.subject, l.Unread, l.Badges, tc.unread, tc.badges)
		}
	}

	// Open the unread invoice: it shows, and is read from now on.
	link := chromedp.CSS(`.letters a[href="/letters/` + october.ID + `"]`)
	tb.do(chromedp.Click(link), chromedp.WaitVisible(chromedp.CSS("article.letter-page h1")))
	if h1 := run(tb, chromedp.Text(chromedp.CSS("h1"))); h1 != october.Delivery.Subject {
		t.Errorf("letter heading %q", h1)
	}
	if title := run(tb, chromedp.Title()); title != october.Delivery.Subject+" — Postkasse" {
		t.Errorf("letter title %q", title)
	}
	if d := run(tb, chromedp.Text(chromedp.CSS(".facts .badge-due"))); d != "Due 27 Nov 2026 · in 5 days" {
		t.Errorf("due date on the letter %q", d)
	}
	tb.do(chromedp.Click(chromedp.CSS(".back a")), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	if l := findLine(t, tb.inboxLines(), october.Delivery.Subject); l.Unread || slices.Contains(l.Badges, "Unread") {
		t.Errorf("the opened letter is still unread: %+v", l)
	}
	if s := run(tb, chromedp.Text(chromedp.CSS(".summary"))); s != "8 letters, 4 unread" {
		t.Errorf("summary after reading %q", s)
	}

	// A letter with several documents; open its PDF.
	school := a.letter(letterSchool)
	letterURL := a.url + "/letters/" + school.ID
	tb.do(chromedp.Click(chromedp.CSS(`.letters a[href="/letters/`+school.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS(".document-list")))
	names := eval[[]string](tb, `[...document.querySelectorAll('.document-name')].map(e => e.innerText)`)
	if want := []string{"enrolment-letter.pdf", "enrolment-form.pdf", "school-district-map.png", "opening-hours.txt"}; !slices.Equal(names, want) {
		t.Fatalf("documents %q, want %q", names, want)
	}
	pdf := school.Delivery.Documents[0]
	docPath := "/letters/" + school.ID + "/documents/0"
	resp, body := tb.interceptBody(a.url+docPath, chromedp.Click(chromedp.CSS(`a[href="`+docPath+`"]`)))
	if resp.Status != http.StatusOK || resp.MimeType != "application/pdf" ||
		header(resp.Headers, "Content-Disposition") != "inline; filename=enrolment-letter.pdf" ||
		header(resp.Headers, "Cache-Control") != "no-store" {
		t.Fatalf("opening the PDF: %d %s %v", resp.Status, resp.MimeType, resp.Headers)
	}
	if !bytes.Equal(body, pdf.Content) {
		t.Fatalf("the PDF the browser got (%d bytes) is not the one delivered (%d bytes)", len(body), len(pdf.Content))
	}
	// Headless Chromium has no PDF viewer: the tab now holds the viewer's
	// empty shell, at the document's address.
	if loc := tb.location(); loc != a.url+docPath {
		t.Errorf("after opening the PDF the tab is at %s", loc)
	}

	// Download it from the letter page.
	tb.do(chromedp.Navigate(letterURL))
	name, content := tb.download(a, chromedp.Click(chromedp.CSS(`a[href="`+docPath+`?download=1"]`)))
	if name != pdf.Name || !bytes.Equal(content, pdf.Content) {
		t.Fatalf("downloaded %q (%d bytes), want %q (%d bytes)", name, len(content), pdf.Name, len(pdf.Content))
	}

	// Sign out.
	token := tb.sessionCookie(a).Value
	tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
	if loc := tb.location(); loc != a.url+"/login" {
		t.Fatalf("after sign-out: %s", loc)
	}
	if c := tb.sessionCookie(a); c != nil {
		t.Errorf("the session cookie is still in the browser: %+v", c)
	}
	// The session is dead on the server, not only forgotten by the
	// browser: the old cookie opens nothing.
	if mb, err := a.store.OpenSession(context.Background(), token); !errors.Is(err, store.ErrSessionExpired) {
		if mb != nil {
			mb.Close()
		}
		t.Fatalf("the session after sign-out: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, letterURL, nil)
	req.AddCookie(&http.Cookie{Name: "postkasse", Value: token})
	replay, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	replay.Body.Close()
	if replay.StatusCode != http.StatusSeeOther || replay.Header.Get("Location") != "/login" {
		t.Fatalf("the old cookie replayed: %d %s", replay.StatusCode, replay.Header.Get("Location"))
	}

	// The back button: every page was no-store, so going back asks the
	// server again, which has no session and shows the login page. No
	// subject of any letter may appear on the way.
	for i := range 3 {
		tb.do(chromedp.NavigateBack())
		loc, text := tb.location(), tb.text()
		if loc != a.url+"/login" {
			t.Errorf("back %d: %s, want the login page", i+1, loc)
		}
		for _, l := range lines {
			if strings.Contains(text, l.Subject) {
				t.Errorf("back %d shows the letter %q after sign-out", i+1, l.Subject)
			}
		}
	}
}

// runResponse runs a step that navigates and returns the main response.
func runResponse(tb *tab, step chromedp.Action[chromedp.Void]) *network.Response {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, step)
	if err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
	return resp
}

// interceptBody runs a step that navigates to url and returns the main
// response and its body exactly as the browser received it. The body is
// taken at the Fetch domain's response stage, before the browser hands
// it on: for a PDF, what the page then holds is Chromium's viewer shell,
// not the document.
func (tb *tab) interceptBody(url string, step chromedp.Action[chromedp.Void]) (*network.Response, []byte) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: url, RequestStage: fetch.RequestStageResponse},
	}}); err != nil {
		tb.t.Fatalf("intercept %s: %v", url, err)
	}
	defer chromedp.Call(ctx, fetch.Disable, cdp.Empty{})
	type result struct {
		resp *network.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := chromedp.RunResponse(ctx, step)
		done <- result{resp, err}
	}()
	var body []byte
	for ev, err := range paused {
		if err != nil {
			tb.t.Fatalf("waiting for %s: %v", url, err)
		}
		// Decoded by hand: cdproto's []byte would base64-decode a body
		// that the browser sent as text.
		var res struct {
			Body          string `json:"body"`
			Base64Encoded bool   `json:"base64Encoded"`
		}
		target := chromedp.FromContext(tb.ctx).Target
		if err := target.Call(ctx, fetch.CommandGetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID}, &res); err != nil {
			tb.t.Fatalf("body of %s: %v", url, err)
		}
		body = []byte(res.Body)
		if res.Base64Encoded {
			if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
				tb.t.Fatalf("body of %s: %v", url, err)
			}
		}
		if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID}); err != nil {
			tb.t.Fatalf("continue %s: %v", url, err)
		}
		break
	}
	r := <-done
	if r.err != nil {
		tb.t.Fatalf("%s: %v", url, r.err)
	}
	return r.resp, body
}

// download runs a step that starts a download from the appliance, waits
// until the browser has saved the file, and returns its name and content.
func (tb *tab) download(a *appliance, step chromedp.Action[chromedp.Void]) (string, []byte) {
	tb.t.Helper()
	dir := tb.t.TempDir()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorAllow,
		BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
		DownloadPath:     dir,
		EventsEnabled:    new(true),
	})
	if err != nil {
		tb.t.Fatalf("allow downloads: %v", err)
	}
	// Subscribe before the click, so no event is missed.
	begun := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	tb.do(step)
	var guid, name string
	for ev, err := range begun {
		if err != nil {
			tb.t.Fatalf("waiting for the download to begin: %v", err)
		}
		if strings.HasPrefix(ev.URL, a.url+"/") {
			guid, name = ev.GUID, ev.SuggestedFilename
			break
		}
	}
	for ev, err := range progress {
		if err != nil {
			tb.t.Fatalf("waiting for the download of %s: %v", name, err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			tb.t.Fatalf("the download of %s was cancelled", name)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	content, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.t.Fatalf("the downloaded file: %v", err)
	}
	return name, content
}

// TestHTTPSSession: over HTTPS the browser keeps the session in a
// __Host- cookie (Secure, HttpOnly, SameSite=Lax, Path=/, this host only)
// that is a session cookie to the browser too (no expiry: closing the
// browser forgets it), and signing out there ends it on the server as
// well.
func TestHTTPSSession(t *testing.T) {
	t.Parallel()
	a := newAppliance(t, applianceOptions{https: true})
	tb := newTab(t, "https")
	tb.do(chromedp.Navigate(a.url + "/login"))
	tb.login(annaNID, annaPassword)
	c := tb.sessionCookie(a)
	if c == nil || c.Name != "__Host-postkasse" || !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax ||
		c.Path != "/" || c.Domain != "127.0.0.1" || !c.Session || c.Expires != -1 {
		t.Fatalf("session cookie over HTTPS: %+v", c)
	}
	if secure := eval[bool](tb, `window.isSecureContext`); !secure {
		t.Error("the HTTPS page is not a secure context")
	}
	backAfterSignOut(t, a, tb, c)
}

// TestBackAfterSignOut: over plain HTTP, where the README sends
// evaluators, Back after "Sign out" must not show the mailbox again
// from the browser's back/forward cache either.
func TestBackAfterSignOut(t *testing.T) {
	t.Parallel()
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "http-back")
	tb.do(chromedp.Navigate(a.url + "/login"))
	tb.login(annaNID, annaPassword)
	backAfterSignOut(t, a, tb, tb.sessionCookie(a))
}

// backAfterSignOut opens a letter, signs out and goes Back: the browser
// shows the sign-in page, not the letter it had shown.
func backAfterSignOut(t *testing.T, a *appliance, tb *tab, c *network.Cookie) {
	t.Helper()
	decision := a.letter(letterDecision)
	tb.do(chromedp.Click(chromedp.CSS(`.letters a[href="/letters/`+decision.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS("article.letter-page h1")))
	tb.do(chromedp.Click(chromedp.CSS(".logout-form button")), chromedp.WaitVisible(chromedp.ID("nationalId")))
	if mb, err := a.store.OpenSession(context.Background(), c.Value); !errors.Is(err, store.ErrSessionExpired) {
		if mb != nil {
			mb.Close()
		}
		t.Fatalf("the session after sign-out: %v", err)
	}
	tb.do(chromedp.NavigateBack())
	if loc, text := tb.location(), tb.text(); loc != a.url+"/login" || strings.Contains(text, decision.Delivery.Subject) {
		t.Fatalf("back after sign-out: %s shows %q", loc, text)
	}
}
