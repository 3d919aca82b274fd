package browsertest

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/postkasse/postkasse/store"
)

// axeDefault is where ./test installs axe-core (pinned by
// .ci/axe/package-lock.json), relative to this package.
const axeDefault = "../../.ci/cache/axe/node_modules/axe-core/axe.min.js"

// axeSource reads axe-core's browser build: POSTKASSE_AXE_JS, or where
// ./test installs it. Without it the test fails and says how to get it.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("POSTKASSE_AXE_JS")
	if path == "" {
		path = axeDefault
	}
	b, err := os.ReadFile(path)
	if err != nil {
		abs, _ := filepath.Abs(axeDefault)
		t.Fatalf("the accessibility checks need axe-core from the npm registry: %v\n"+
			"install it with ./test, or by hand from the repository's root:\n"+
			"\tmkdir -p .ci/cache/axe && cp .ci/axe/package*.json .ci/cache/axe/ && npm ci --prefix .ci/cache/axe\n"+
			"(or set POSTKASSE_AXE_JS to an axe.min.js; expected at %s)", err, abs)
	}
	return string(b)
}

// axeViolation is one rule axe-core found broken, with the elements.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  []string `json:"target"`
		HTML    string   `json:"html"`
		Summary string   `json:"failureSummary"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n\t\t%s %s\n\t\t\t%s", strings.Join(n.Target, " "), n.HTML, strings.ReplaceAll(n.Summary, "\n", "; "))
	}
	return b.String()
}

// axe injects axe-core into the page and runs all its rules on the
// document, awaiting the promise. It returns the version and the
// violations.
func (tb *tab) axe(src string) (string, []axeViolation) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](src))
	version := eval[string](tb, `axe.version`)
	violations := eval[[]axeViolation](tb, `axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, failureSummary: n.failureSummary || ''}))})))`)
	return version, violations
}

// layout is what a page's geometry says about its fit and its type.
type layout struct {
	ScrollWidth float64  `json:"scrollWidth"`
	ClientWidth float64  `json:"clientWidth"`
	BodyFont    float64  `json:"bodyFont"`
	Overflowing []string `json:"overflowing"`
}

func (tb *tab) layout() layout {
	tb.t.Helper()
	return eval[layout](tb, `(() => {
		const w = document.documentElement.clientWidth;
		return {
			scrollWidth: document.documentElement.scrollWidth,
			clientWidth: w,
			bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
			overflowing: [...document.querySelectorAll('body *')]
				.filter(e => e.getBoundingClientRect().right > w + 0.5)
				.map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '')).slice(0, 8),
		};
	})()`)
}

// TestAccessibility: in every language, at a phone's width and a
// laptop's, the login page (with and without an error), the inbox, two
// letter pages, the confirmation of deleting a letter and the inbox after
// it, the settings pages (among them the senders page, with a block asked
// for, and what is deleted when) and the activation pages (the form, with
// an error, the recovery key) have no serious or critical axe-core
// violation, fit the
// width without horizontal scrolling, set body text at 16 px or more, and
// say their language in <html lang>.
func TestAccessibility(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testAccessibility(t, src, lang, width)
	})
}

func testAccessibility(t *testing.T, src, lang string, width int64) {
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "a11y-"+lang+"-"+itoa(width))
	tb.viewport(width)
	check := func(page string) {
		t.Helper()
		tb.checkPage(src, lang, width, page)
	}
	tb.do(chromedp.Navigate(a.url + "/recover?lang=" + lang))
	check("forgotten password")
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))
	check("login")
	tb.do(chromedp.SendKeys(chromedp.ID("nationalId"), annaNID),
		chromedp.SendKeys(chromedp.ID("password"), "not the password\n"),
		chromedp.WaitVisible(chromedp.ID("login-error")))
	check("login with an error")
	tb.do(chromedp.SendKeys(chromedp.ID("password"), annaPassword+"\n"), chromedp.WaitVisible(chromedp.CSS("main .inbox")))
	check("inbox")
	// Folders: the archive with a letter, an own folder, the page that
	// manages them, with a name refused.
	tb.do(chromedp.Click(chromedp.CSS(".letters input[type=checkbox]")), chromedp.Click(chromedp.CSS(`button[value="archive"]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert-success")))
	check("inbox, a letter archived")
	tb.do(chromedp.Navigate(a.url + "/folders/archive"))
	check("archive")
	tb.do(chromedp.Navigate(a.url + "/due"))
	check("due dates")
	tb.do(chromedp.Navigate(a.url + "/folders"))
	check("folders")
	tb.do(chromedp.SendKeys(chromedp.ID("name"), "Skat og bolig\n"), chromedp.WaitVisible(chromedp.CSS(".alert-success")))
	check("folders, one made")
	tb.do(chromedp.SendKeys(chromedp.ID("name"), "skat og bolig\n"), chromedp.WaitVisible(chromedp.ID("folders-error")))
	check("folders, a name refused")
	tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterSchool).ID))
	check("letter with documents")
	tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterWaste).ID))
	check("letter with an HTML document")
	tb.do(chromedp.Navigate(a.url + "/letters/" + strings.Repeat("0", 32)))
	check("page not found")
	tb.do(chromedp.Navigate(a.url + "/settings"))
	check("settings")
	tb.do(chromedp.Navigate(a.url + "/settings/password"))
	check("change password")
	tb.do(chromedp.SendKeys(chromedp.ID("current"), annaPassword),
		chromedp.SendKeys(chromedp.ID("new"), "a new and longer passphrase"),
		chromedp.SendKeys(chromedp.ID("confirm"), "something else entirely\n"),
		chromedp.WaitVisible(chromedp.ID("password-error")))
	check("change password with an error")
	tb.do(chromedp.Navigate(a.url + "/support"))
	check("help")
	tb.do(chromedp.SendKeys(chromedp.ID("subject"), "My son"),
		chromedp.SendKeys(chromedp.ID("description"), "His number is 120386-1234."),
		chromedp.Submit(chromedp.ID("subject")),
		chromedp.WaitVisible(chromedp.ID("support-error")))
	check("help, a request refused")
	tb.do(chromedp.Navigate(a.url + "/settings/senders"))
	check("senders")
	tb.do(chromedp.Click(chromedp.CSS(`form[action="/settings/senders/block"] button`)), chromedp.WaitVisible(chromedp.ID("senders-done")))
	check("senders, a block asked for")
	tb.do(chromedp.Navigate(a.url + "/settings/retention"))
	check("what is deleted, and when")
	// Access for others: the page, a grant refused, and a grant from
	// Bo that Anna accepts, then Bo's mailbox seen through it.
	tb.do(chromedp.Navigate(a.url + "/settings/access"))
	check("access for others")
	tb.do(chromedp.SendKeys(chromedp.ID("nationalId"), annaNID), chromedp.Submit(chromedp.ID("nationalId")),
		chromedp.WaitVisible(chromedp.ID("access-error")))
	check("access for others, a grant refused")
	boNID, err := store.ParseNationalID("0202802345")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.store.AddResident(context.Background(), boNID, "Bo Berg", annaPassword); err != nil {
		t.Fatal(err)
	}
	bo, err := a.store.Login(context.Background(), boNID.String(), annaPassword)
	if err != nil {
		t.Fatal(err)
	}
	boMailbox, err := a.store.OpenSession(context.Background(), bo.Token)
	if err != nil {
		t.Fatal(err)
	}
	grant, err := boMailbox.GrantAccess(context.Background(), store.GrantRequest{DelegateNationalID: annaNID, Access: store.AccessAct, Scope: store.ScopeAll})
	boMailbox.Close()
	if err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url + "/settings/access"))
	check("access for others, a grant to accept")
	tb.do(chromedp.Click(chromedp.CSS(`form[action="/settings/access/`+grant.ID+`/accept"] button`)), chromedp.WaitVisible(chromedp.ID("access-done")))
	check("access for others, a grant accepted")
	tb.do(chromedp.Navigate(a.url + "/mailboxes/" + grant.ID))
	check("another's mailbox")
	// A signature request in Bo's mailbox, answered on his behalf.
	a.addReplyKey("Eksempelby Kommune")
	lease, err := a.store.Deliver(context.Background(), a.senderID("Eksempelby Kommune"), store.Delivery{Recipient: boNID,
		Subject: "Lease", SenderReference: "a11y-lease",
		SignatureRequest: &store.SignatureRequest{Deadline: now.AddDate(0, 0, 14).Format("2006-01-02"), Description: "Lease of allotment garden no. 14"},
		Documents:        []store.DocumentInput{document(t, "enrolment-form.pdf")}})
	if err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url+"/mailboxes/"+grant.ID+"/letters/"+lease.Letter.ID), chromedp.WaitVisible(chromedp.ID("delegated-signature-link")))
	check("another's letter that asks for a signature")
	tb.do(chromedp.Click(chromedp.CSS("#delegated-signature-link a")), chromedp.WaitVisible(chromedp.ID("signature")))
	check("signing on another's behalf")
	tb.do(chromedp.Click(chromedp.ID("sign-confirm")), chromedp.SendKeys(chromedp.ID("sign-password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("signature-answer")))
	check("signed on another's behalf")
	// Deleting a letter: the confirmation, and the inbox that says it
	// was deleted.
	tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterDecision).ID + "/delete"))
	check("confirmation of deleting a letter")
	tb.do(chromedp.Click(chromedp.CSS(`form[action="/letters/delete"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("main .inbox .alert")))
	check("inbox after deleting a letter")
	// The sessions page, with another device to sign out.
	if _, err := a.store.Login(store.WithDevice(context.Background(), store.Device{
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		Address:   "2001:db8:4006:812::200e"}), annaNID, annaPassword); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url + "/settings/sessions"))
	check("sessions")
	tb.do(chromedp.Click(chromedp.CSS(`form[action="/settings/sessions/end"] button`)), chromedp.WaitVisible(chromedp.ID("sessions-status")))
	check("sessions, a device signed out")

	// Activation: the form, with errors beside its fields, and the
	// page with the recovery key.
	nid, err := store.ParseNationalID("0303903456")
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := a.store.EnrolResident(context.Background(), nid, "Carl Carlsen")
	if err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Navigate(a.url + "/activate"))
	check("activation")
	tb.do(chromedp.SendKeys(chromedp.ID("nationalId"), nid.String()),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.SendKeys(chromedp.ID("password"), "a long enough password"),
		chromedp.SendKeys(chromedp.ID("passwordConfirm"), "another password\n"),
		chromedp.WaitVisible(chromedp.ID("passwordConfirm-error")))
	check("activation with an error")
	tb.do(chromedp.SendKeys(chromedp.ID("password"), "a long enough password"),
		chromedp.SendKeys(chromedp.ID("passwordConfirm"), "a long enough password\n"),
		chromedp.WaitVisible(chromedp.CSS(".recovery-key")))
	check("recovery key")
}

// checkPage checks the page the tab shows: in language lang, no serious
// or critical axe-core violation, no sideways scrolling at width, body
// text of 16 px or more.
func (tb *tab) checkPage(src, lang string, width int64, page string) {
	t := tb.t
	t.Helper()
	if got := eval[string](tb, `document.documentElement.lang`); got != lang {
		t.Errorf("%s at %d px: <html lang=%q>, want %q", page, width, got, lang)
	}
	version, violations := tb.axe(src)
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s at %d px: axe-core %s: %s", page, width, version, v)
		} else {
			t.Logf("%s at %d px: axe-core %s (not failing): %s", page, width, version, v)
		}
	}
	l := tb.layout()
	if l.ScrollWidth > l.ClientWidth {
		t.Errorf("%s at %d px scrolls sideways: %v px of content in %v px; too wide: %q",
			page, width, l.ScrollWidth, l.ClientWidth, l.Overflowing)
	}
	if l.BodyFont < 16 {
		t.Errorf("%s at %d px: body text is %v px, want at least 16", page, width, l.BodyFont)
	}
}

// focusStop is the element that has the keyboard focus.
type focusStop struct {
	Tag    string  `json:"tag"`
	ID     string  `json:"id"`
	Text   string  `json:"text"`
	Href   string  `json:"href"`
	Top    float64 `json:"top"`
	Left   float64 `json:"left"`
	Ring   bool    `json:"ring"`   // an outline or a focus shadow shows it
	InView bool    `json:"inView"` // wholly inside the viewport
}

func (f focusStop) String() string {
	s := f.Tag
	if f.ID != "" {
		s += "#" + f.ID
	}
	if f.Text != "" {
		s += fmt.Sprintf(" %q", f.Text)
	}
	return s
}

// focused describes document.activeElement. The inbox's subject links
// show their focus on the whole line (li.letter), so a ring there counts.
func (tb *tab) focused() focusStop {
	tb.t.Helper()
	return eval[focusStop](tb, `(() => {
		const el = document.activeElement;
		const ring = e => {
			if (!e) return false;
			const s = getComputedStyle(e);
			return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
		};
		const r = el.getBoundingClientRect();
		return {
			tag: el.tagName.toLowerCase(), id: el.id || '',
			text: (el.innerText || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 60),
			href: el.getAttribute('href') || '',
			top: r.top + scrollY, left: r.left + scrollX,
			ring: ring(el) || ring(el.closest('.letter')),
			// Within a pixel: the browser scrolls to fractional positions.
			inView: r.top >= -1 && r.left >= -1 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1,
		};
	})()`)
}

// tabThrough presses Tab n times and returns where the focus went.
func (tb *tab) tabThrough(n int) []focusStop {
	tb.t.Helper()
	var stops []focusStop
	for range n {
		tb.do(chromedp.KeyEvent(kb.Tab))
		stops = append(stops, tb.focused())
	}
	return stops
}

// checkOrder fails when a focus stop is not visibly marked, or comes
// before the previous one in reading order (top to bottom, left to right
// within a line).
func checkOrder(t *testing.T, page string, stops []focusStop) {
	t.Helper()
	for i, s := range stops {
		if !s.Ring {
			t.Errorf("%s: focus on %s is not visible (no outline, no focus ring)", page, s)
		}
		if !s.InView {
			t.Errorf("%s: focus on %s is outside the viewport", page, s)
		}
		if i == 0 {
			continue
		}
		p := stops[i-1]
		sameLine := math.Abs(s.Top-p.Top) < 24
		if (!sameLine && s.Top < p.Top) || (sameLine && s.Left < p.Left && s.Top < p.Top+2) {
			t.Errorf("%s: focus goes back up the page from %s (%.0f,%.0f) to %s (%.0f,%.0f)",
				page, p, p.Left, p.Top, s, s.Left, s.Top)
		}
	}
}

// TestKeyboard: a resident who uses only the keyboard can skip to the
// content, sign in, move through the inbox in reading order with the
// focus always visible, open a letter and its receipt, and choose another
// language in the footer; at both widths, in every language.
func TestKeyboard(t *testing.T) {
	t.Parallel()
	inEachLanguageAndWidth(t, func(t *testing.T, lang string, width int64) {
		testKeyboard(t, lang, width)
	})
}

func testKeyboard(t *testing.T, lang string, width int64) {
	l := catalogue(t).Lang(lang)
	a := newAppliance(t, applianceOptions{})
	tb := newTab(t, "keyboard-"+lang+"-"+itoa(width))
	tb.viewport(width)
	tb.do(chromedp.Navigate(a.url + "/login?lang=" + lang))

	// The first Tab shows the skip link; Enter moves to the content.
	first := tb.tabThrough(1)[0]
	if first.Text != l.T("layout.skip") || !first.Ring || !first.InView {
		t.Fatalf("first Tab: %+v, want the visible skip link", first)
	}
	tb.do(chromedp.KeyEvent(kb.Enter))
	if f := tb.focused(); f.ID != "main" {
		t.Fatalf("the skip link moved the focus to %s, want main", f)
	}
	// Sign in with the keyboard alone.
	stops := tb.tabThrough(1)
	if stops[0].ID != "nationalId" {
		t.Fatalf("after the skip link, Tab goes to %s, want the national identity number", stops[0])
	}
	tb.do(chromedp.KeyEvent(annaNID))
	stops = append(stops, tb.tabThrough(2)...)
	if stops[1].ID != "password" || stops[2].Text != l.T("login.submit") {
		t.Fatalf("login form order: %v", stops)
	}
	checkOrder(t, "login", stops)
	tb.do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	if f := tb.focused(); f.ID != "password" {
		t.Fatalf("Shift+Tab from the button went to %s", f)
	}
	tb.do(chromedp.KeyEvent(annaPassword+kb.Enter), chromedp.WaitVisible(chromedp.CSS("main .inbox")))

	// The inbox: skip link, the site's name, the navigation, Sign
	// out; the folders and the link to manage them; the buttons for
	// the letters chosen; then each letter's box and subject from the
	// newest down.
	want := []string{l.T("layout.skip"), l.T("layout.brand"), l.T("layout.inbox"), l.T("search.nav"), l.T("layout.settings"), l.T("layout.signOut")}
	wantFolders := []string{l.T("folders.inbox"), l.T("folders.archive"), l.T("due.title"), l.T("folders.manage")}
	wantTools := []string{l.T("inbox.action.read"), l.T("inbox.action.unread"), l.T("inbox.action.archive"), "", l.T("inbox.action.move"),
		l.T("inbox.action.delete")}
	lines := tb.inboxLines()
	stops = tb.tabThrough(len(want) + len(wantFolders) + len(wantTools) + 2*len(lines))
	for i, w := range want {
		if stops[i].Text != w {
			t.Errorf("inbox Tab %d: %s, want %q", i+1, stops[i], w)
		}
	}
	for i, w := range wantFolders {
		if s := stops[len(want)+i]; !strings.HasPrefix(s.Text, w) {
			t.Errorf("inbox Tab %d: %s, want the folder link %q", len(want)+1+i, s, w)
		}
	}
	for i, w := range wantTools {
		s := stops[len(want)+len(wantFolders)+i]
		if (w == "" && s.Tag != "select") || (w != "" && s.Text != w) {
			t.Errorf("inbox Tab %d: %s, want the tool %q", len(want)+len(wantFolders)+1+i, s, w)
		}
	}
	firstLine := len(want) + len(wantFolders) + len(wantTools)
	for i, l := range lines {
		if box, link := stops[firstLine+2*i], stops[firstLine+2*i+1]; box.Tag != "input" || !box.Ring || link.Href != l.Href {
			t.Errorf("inbox Tabs %d, %d: %s, %s; want the box (shown focused) and the letter %q", firstLine+2*i+1, firstLine+2*i+2, box, link, l.Subject)
		}
	}
	// Reading order within each column: the header and the folders (on
	// the left on a wide screen), then the tools and the letters (the
	// column beside it, which starts higher up than the folders end).
	// The skip link sits over the header.
	checkOrder(t, "inbox", stops[1:len(want)+len(wantFolders)])
	checkOrder(t, "inbox", stops[len(want)+len(wantFolders):])
	// Back up to the third letter and open it with Enter.
	for range 2 * (len(lines) - 3) {
		tb.do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	if f := tb.focused(); f.Href != lines[2].Href {
		t.Fatalf("Shift+Tab went to %s, want the third letter", f)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("article.letter-page h1")))
	if h1 := run(tb, chromedp.Text(chromedp.CSS("h1"))); h1 != lines[2].Subject {
		t.Fatalf("Enter opened %q, want %q", h1, lines[2].Subject)
	}

	// The letter page, in order, down to the receipt, which opens
	// with Enter.
	tb.do(chromedp.Navigate(a.url + "/letters/" + a.letter(letterSchool).ID))
	stops = tb.tabThrough(len(want) + 1 + 2*4 + 1)
	if stops[len(want)].Text != l.T("letter.backTo", "Folder", l.T("folders.inbox")) || stops[len(stops)-1].Text != l.T("receipt.summary") {
		t.Errorf("letter page stops: %v", stops)
	}
	checkOrder(t, "letter", stops[1:])
	tb.do(chromedp.KeyEvent(kb.Enter))
	if open := eval[bool](tb, `document.querySelector('details.receipt').open`); !open {
		t.Error("Enter on the receipt's summary did not open it")
	}

	// The footer's language switch: Tab reaches each language
	// with a visible focus, and Enter on another one shows the
	// page in it.
	other := languages[(slices.Index(languages, lang)+1)%len(languages)]
	name := catalogue(t).Lang(other).T("language." + other)
	var found bool
	for range 40 {
		f := tb.tabThrough(1)[0]
		if f.Text == name {
			if !f.Ring || !f.InView {
				t.Errorf("language link %s: focus not shown", f)
			}
			found = true
			break
		}
	}
	if !found {
		t.Fatalf("Tab never reached the language %q", name)
	}
	tb.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("html[lang=\""+other+"\"] article.letter-page")))
}

// TestAxeFindsViolations: the harness is not vacuous. On a page with known
// faults, served under the same Content-Security-Policy as Postkasse's
// pages (no scripts allowed), axe-core runs and reports them.
func TestAxeFindsViolations(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>Faulty</title></head><body>`+
			`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">`+
			`<form><input type="text" name="q"></form></body></html>`)
	}))
	tb := newTab(t, "axe-control")
	tb.do(chromedp.Navigate("http://" + addr + "/"))
	_, violations := tb.axe(src)
	found := map[string]string{}
	for _, v := range violations {
		found[v.ID] = v.Impact
	}
	for id, impact := range map[string]string{"html-has-lang": "serious", "image-alt": "critical", "label": "critical"} {
		if found[id] != impact {
			t.Errorf("axe-core did not report %s (%s); it reported %v", id, impact, found)
		}
	}
}

// inEachLanguageAndWidth runs test as parallel subtests, one for each
// language at each width ("da/375px").
func inEachLanguageAndWidth(t *testing.T, test func(t *testing.T, lang string, width int64)) {
	t.Helper()
	for _, lang := range languages {
		for _, width := range widths {
			t.Run(lang+"/"+itoa(width)+"px", func(t *testing.T) {
				t.Parallel()
				test(t, lang, width)
			})
		}
	}
}
