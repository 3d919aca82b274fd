package resident_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// crossSite are the headers a browser sends with a form that another
// site's page submits.
var crossSite = http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}

// publishTerms publishes a version of the terms effective at the start of
// date (UTC).
func publishTerms(e *uitest.Env, text, date string) store.Terms {
	e.T.Helper()
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		e.T.Fatal(err)
	}
	terms, err := e.Store.PublishTerms(context.Background(), text, day)
	if err != nil {
		e.T.Fatal(err)
	}
	return terms
}

// wantRedirect checks a response is a 303 to location.
func wantRedirect(t *testing.T, what string, r *uitest.Response, location string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != location {
		t.Fatalf("%s: %d to %q, want 303 to %s", what, r.StatusCode, r.Header.Get("Location"), location)
	}
}

// TestTermsGate: once terms are in force that the resident has not
// accepted, every page of the mailbox sends them to the terms, which show
// the text in full (escaped) with the choice of accepting or deleting the
// mailbox; after accepting, the mailbox opens. A form for a version that
// is no longer in force shows the newer one. Cross-site acceptance is
// refused.
func TestTermsGate(t *testing.T) {
	t.Parallel()
	storeClock := testsupport.NewClock() // 22 November 2026
	e := apptest.NewEnv(t, apptest.Options{StoreClock: storeClock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	r := e.Deliver(s.Client, uitest.ValidDelivery("gate")...)
	letterID := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	// Published, not yet in force: the mailbox is open; the terms page
	// has nothing to show yet.
	const text1 = "§1 The mailbox is yours.\n\n§2 <script>alert('terms')</script> & the rest.\n"
	publishTerms(e, text1, "2027-01-01")
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Fatalf("inbox before the terms take effect: %d", r.StatusCode)
	}
	if r := e.Get(b, e.HTTPURL+"/terms"); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "No terms of use are in force yet") {
		t.Fatalf("terms page before any is in force: %d\n%s", r.StatusCode, r.Text)
	}

	// In force: every mailbox route leads to the terms, and changes
	// nothing on the way.
	storeClock.Advance(41 * 24 * time.Hour) // 2 January 2027
	e.Login(b, e.HTTPURL, uitest.NIDAnna)   // the old session is long idle
	css := e.StaticURL("style.css")
	for _, path := range []string{"/", "/letters/" + letterID, "/letters/" + letterID + "/documents/0", "/settings"} {
		wantRedirect(t, "GET "+path, e.Get(b, e.HTTPURL+path), "/terms")
	}
	wantRedirect(t, "POST /settings/notifications",
		e.PostForm(b, e.HTTPURL+"/settings/notifications", url.Values{"email": {"anna@example.dk"}, "emailOn": {"on"}}, nil), "/terms")
	if r := e.AuditCount("read") + e.AuditCount("set-notifications"); r != 0 {
		t.Fatalf("the gate let %d changes through", r)
	}
	for _, path := range []string{"/terms", "/settings/delete", css} {
		if r := e.Get(b, e.HTTPURL+path); r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s with terms pending: %d", path, r.StatusCode)
		}
	}
	page := e.Get(b, e.HTTPURL+"/terms")
	for _, want := range []string{
		"<title>New terms of use — Postkasse</title>", "<h1>New terms of use</h1>",
		"§1 The mailbox is yours.", "&lt;script&gt;alert(&#39;terms&#39;)&lt;/script&gt; &amp; the rest.",
		`<time datetime="2027-01-01">1 January 2027</time>`,
		`<form method="post" action="/terms/accept"`, `<input type="hidden" name="version" value="1">`, "I accept",
		`<a href="/settings/delete">Delete your mailbox instead</a>`,
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("terms page lacks %q", want)
		}
	}
	if strings.Contains(page.Text, "<script>") || strings.Count(page.Text, "<h1") != 1 {
		t.Fatal("terms page: unescaped markup or not exactly one h1")
	}

	// Cross-site acceptance is refused.
	if r := e.PostForm(b, e.HTTPURL+"/terms/accept", url.Values{"version": {"1"}}, crossSite); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site accept: %d", r.StatusCode)
	}
	wantRedirect(t, "inbox after the cross-site accept", e.Get(b, e.HTTPURL+"/"), "/terms")

	// Version 2 takes effect while the form of version 1 is open.
	const text2 = "§1 The mailbox is yours.\n§3 Notifications by SMS.\n"
	publishTerms(e, text2, "2027-02-15")
	storeClock.Advance(45 * 24 * time.Hour) // 16 February 2027
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	for _, version := range []string{"1", "banana", ""} {
		r := e.PostForm(b, e.HTTPURL+"/terms/accept", url.Values{"version": {version}}, nil)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.Text, "The terms changed again") ||
			!strings.Contains(r.Text, "§3 Notifications by SMS.") || !strings.Contains(r.Text, `name="version" value="2"`) {
			t.Fatalf("accepting version %q after version 2 took effect: %d\n%s", version, r.StatusCode, r.Text)
		}
	}
	if v, _, err := e.Store.TermsAccepted(context.Background(), residentID(e, uitest.NIDAnna)); err != nil || v != 0 {
		t.Fatalf("accepted version %d (%v) after refusals", v, err)
	}

	// Accepting the version in force opens the mailbox.
	wantRedirect(t, "accept version 2", e.PostForm(b, e.HTTPURL+"/terms/accept", url.Values{"version": {"2"}}, nil), "/")
	for _, path := range []string{"/", "/letters/" + letterID, "/settings"} {
		if r := e.Get(b, e.HTTPURL+path); r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s after accepting: %d", path, r.StatusCode)
		}
	}
	page = e.Get(b, e.HTTPURL+"/terms")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, "<h1>Terms of use</h1>") || !strings.Contains(page.Text, "You accepted") ||
		strings.Contains(page.Text, "/terms/accept") {
		t.Fatalf("terms page after accepting: %d\n%s", page.StatusCode, page.Text)
	}
	// Accepting again, or an old form, lands in the inbox.
	wantRedirect(t, "accept again", e.PostForm(b, e.HTTPURL+"/terms/accept", url.Values{"version": {"2"}}, nil), "/")
	wantRedirect(t, "an old form", e.PostForm(b, e.HTTPURL+"/terms/accept", url.Values{"version": {"1"}}, nil), "/")
	if n := e.AuditCount("accept-terms"); n != 1 {
		t.Fatalf("%d accept-terms audit entries, want 1", n)
	}

	// Without a session, /terms shows the terms in force to anyone (every
	// page's footer links it), with nothing to accept; accepting goes to
	// the login like every other page.
	visitor := e.Browser()
	page = e.Get(visitor, e.HTTPURL+"/terms")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, "<h1>Terms of use</h1>") || !strings.Contains(page.Text, "§3 Notifications by SMS.") ||
		strings.Contains(page.Text, "/terms/accept") || strings.Contains(page.Text, "You accepted") || !strings.Contains(page.Text, `href="/login"`) {
		t.Fatalf("terms without a session: %d\n%s", page.StatusCode, page.Text)
	}
	wantRedirect(t, "accepting without a session", e.PostForm(visitor, e.HTTPURL+"/terms/accept", url.Values{"version": {"2"}}, nil), "/login")
	if login := e.Get(visitor, e.HTTPURL+"/login"); !strings.Contains(login.Text, `<a href="/terms">Terms of use</a>`) {
		t.Errorf("the login page's footer does not link the terms:\n%s", login.Text)
	}
}

// residentID returns the id of the resident with the national identity
// number.
func residentID(e *uitest.Env, nid string) string {
	e.T.Helper()
	residents, err := e.Store.Residents(context.Background())
	if err != nil {
		e.T.Fatal(err)
	}
	for _, r := range residents {
		if r.NationalID.Number == nid {
			return r.ID
		}
	}
	e.T.Fatalf("no resident %s", nid)
	return ""
}
