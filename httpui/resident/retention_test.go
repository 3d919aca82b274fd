package resident_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestRetentionPage: the settings page links to the retention page, which
// says when the mailbox would be deleted for inactivity and with how many
// letters, when the warnings go out and whether they can reach the
// resident, how long letters are kept after death by the kind of sender
// with the resident's own counts, and that letters have no expiry of
// their own; in the resident's language. (That the dates are the ones the
// retention job keeps: store.TestRetentionPreviewInactivity.)
func TestRetentionPage(t *testing.T) {
	t.Parallel()
	e := newSendersEnv(t) // Anna: 1 letter from a public, 2 from a private sender
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	deleteAt := e.clock.Now().AddDate(5, 0, 0).In(time.Local)
	if r := e.Get(b, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/retention">See what will be deleted, and when</a>`) {
		t.Fatal("the settings page does not link to the retention page")
	}
	en := uitest.English
	page := e.Get(b, e.HTTPURL+"/settings/retention")
	text := html.UnescapeString(page.Text)
	for _, want := range []string{
		"<h1>What is deleted, and when</h1>",
		"Your mailbox and everything in it (3 letters today) will be deleted on <strong>" + en.Date(deleteAt) + "</strong> unless you sign in before then.",
		"a mailbox without a sign-in for 5 years is deleted. You last signed in on " + en.Date(e.clock.Now().In(time.Local)),
		"on " + en.Date(deleteAt.AddDate(0, 0, -30)) + ", 30 days before",
		"on " + en.Date(deleteAt.AddDate(0, 0, -7)) + ", 7 days before",
		"You have chosen neither e-mail nor SMS, so the warnings cannot reach you.",
		"Letters from public authorities are then kept for 5 years after the date of death, and letters from companies and other private senders for 15 months.",
		"Your mailbox holds 1 letter from a public authority and 2 letters from companies or other private senders today.",
		"Your letters have no expiry date of their own.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the retention page lacks %q", want)
		}
	}
	// With a channel chosen, the warnings reach the resident.
	if r := e.PostForm(b, e.HTTPURL+"/settings/notifications", url.Values{"emailOn": {"on"}, "email": {"anna@example.dk"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("notifications: %d", r.StatusCode)
	}
	if r := e.Get(b, e.HTTPURL+"/settings/retention"); strings.Contains(r.Text, "cannot reach you") {
		t.Error("the page says the warnings cannot reach a resident who chose e-mail")
	}
	// In Danish and Norwegian.
	for _, tc := range []struct{ lang, want string }{
		{"da", "bliver slettet den <strong>" + uitest.Catalogue.Lang("da").Date(deleteAt) + "</strong>"},
		{"nb", "blir slettet <strong>" + uitest.Catalogue.Lang("nb").Date(deleteAt) + "</strong>"},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/settings/retention", nil)
		req.Header.Set("Accept-Language", tc.lang)
		if r := e.Do(b, req); !strings.Contains(r.Text, tc.want) {
			t.Errorf("%s: the page lacks %q:\n%s", tc.lang, tc.want, r.Text)
		}
	}
}

// TestRetentionAuthorization: another resident sees their own mailbox's
// plan, not Anna's; a signed-out browser is sent to the login page; the
// page takes no POST, cross-site or not.
func TestRetentionAuthorization(t *testing.T) {
	t.Parallel()
	e := newSendersEnv(t)
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	page := html.UnescapeString(e.Get(bjorn, e.HTTPURL+"/settings/retention").Text)
	if !strings.Contains(page, "(1 letter today)") || !strings.Contains(page, "1 letter from a public authority and 0 letters from companies") || strings.Contains(page, "3 letters") {
		t.Errorf("Bjørn's retention page:\n%s", page)
	}
	out := e.Browser()
	if r := e.Get(out, e.HTTPURL+"/settings/retention"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" || strings.Contains(r.Text, "letters today") {
		t.Errorf("signed out: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	for _, h := range []http.Header{nil, crossSite} {
		if r := e.PostForm(bjorn, e.HTTPURL+"/settings/retention", url.Values{}, h); r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusForbidden || strings.Contains(r.Text, "letters today") {
			t.Errorf("POST %v: %d", h, r.StatusCode)
		}
	}
}
