package httpui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// crossSite are the headers a browser sends with a form that another
// site's page submits.
var crossSite = http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}

// publishTerms publishes a version of the terms effective at the start of
// date (UTC).
func (e *testEnv) publishTerms(text, date string) store.Terms {
	e.t.Helper()
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		e.t.Fatal(err)
	}
	terms, err := e.store.PublishTerms(context.Background(), text, day)
	if err != nil {
		e.t.Fatal(err)
	}
	return terms
}

// wantRedirect checks a response is a 303 to location.
func wantRedirect(t *testing.T, what string, r *response, location string) {
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
	storeClock := newFakeClock() // 22 November 2026
	e := newEnv(t, envOptions{storeClock: storeClock.Now})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	s := e.addSender("Aarhus Kommune", "55133018")
	r := e.deliver(s.client, validDelivery("gate")...)
	letterID := decodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	b := e.browser()
	e.login(b, e.httpURL, uitest.NIDAnna)

	// Published, not yet in force: the mailbox is open; the terms page
	// has nothing to show yet.
	const text1 = "§1 The mailbox is yours.\n\n§2 <script>alert('terms')</script> & the rest.\n"
	e.publishTerms(text1, "2027-01-01")
	if r := e.get(b, e.httpURL+"/"); r.StatusCode != http.StatusOK {
		t.Fatalf("inbox before the terms take effect: %d", r.StatusCode)
	}
	if r := e.get(b, e.httpURL+"/terms"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "No terms of use are in force yet") {
		t.Fatalf("terms page before any is in force: %d\n%s", r.StatusCode, r.body)
	}

	// In force: every mailbox route leads to the terms, and changes
	// nothing on the way.
	storeClock.Advance(41 * 24 * time.Hour) // 2 January 2027
	e.login(b, e.httpURL, uitest.NIDAnna)   // the old session is long idle
	css, err := e.server.staticURL("style.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/letters/" + letterID, "/letters/" + letterID + "/documents/0", "/settings"} {
		wantRedirect(t, "GET "+path, e.get(b, e.httpURL+path), "/terms")
	}
	wantRedirect(t, "POST /settings/notifications",
		e.postForm(b, e.httpURL+"/settings/notifications", url.Values{"email": {"anna@example.dk"}, "emailOn": {"on"}}, nil), "/terms")
	if r := e.auditCount("read") + e.auditCount("set-notifications"); r != 0 {
		t.Fatalf("the gate let %d changes through", r)
	}
	for _, path := range []string{"/terms", "/settings/delete", css} {
		if r := e.get(b, e.httpURL+path); r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s with terms pending: %d", path, r.StatusCode)
		}
	}
	page := e.get(b, e.httpURL+"/terms")
	for _, want := range []string{
		"<title>New terms of use — Postkasse</title>", "<h1>New terms of use</h1>",
		"§1 The mailbox is yours.", "&lt;script&gt;alert(&#39;terms&#39;)&lt;/script&gt; &amp; the rest.",
		`<time datetime="2027-01-01">1 January 2027</time>`,
		`<form method="post" action="/terms/accept"`, `<input type="hidden" name="version" value="1">`, "I accept",
		`<a href="/settings/delete">Delete your mailbox instead</a>`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("terms page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "<script>") || strings.Count(page.body, "<h1") != 1 {
		t.Fatal("terms page: unescaped markup or not exactly one h1")
	}

	// Cross-site acceptance is refused.
	if r := e.postForm(b, e.httpURL+"/terms/accept", url.Values{"version": {"1"}}, crossSite); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site accept: %d", r.StatusCode)
	}
	wantRedirect(t, "inbox after the cross-site accept", e.get(b, e.httpURL+"/"), "/terms")

	// Version 2 takes effect while the form of version 1 is open.
	const text2 = "§1 The mailbox is yours.\n§3 Notifications by SMS.\n"
	e.publishTerms(text2, "2027-02-15")
	storeClock.Advance(45 * 24 * time.Hour) // 16 February 2027
	e.login(b, e.httpURL, uitest.NIDAnna)
	for _, version := range []string{"1", "banana", ""} {
		r := e.postForm(b, e.httpURL+"/terms/accept", url.Values{"version": {version}}, nil)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "The terms changed again") ||
			!strings.Contains(r.body, "§3 Notifications by SMS.") || !strings.Contains(r.body, `name="version" value="2"`) {
			t.Fatalf("accepting version %q after version 2 took effect: %d\n%s", version, r.StatusCode, r.body)
		}
	}
	if v, _, err := e.store.TermsAccepted(context.Background(), e.residentID(uitest.NIDAnna)); err != nil || v != 0 {
		t.Fatalf("accepted version %d (%v) after refusals", v, err)
	}

	// Accepting the version in force opens the mailbox.
	wantRedirect(t, "accept version 2", e.postForm(b, e.httpURL+"/terms/accept", url.Values{"version": {"2"}}, nil), "/")
	for _, path := range []string{"/", "/letters/" + letterID, "/settings"} {
		if r := e.get(b, e.httpURL+path); r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s after accepting: %d", path, r.StatusCode)
		}
	}
	page = e.get(b, e.httpURL+"/terms")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "<h1>Terms of use</h1>") || !strings.Contains(page.body, "You accepted") ||
		strings.Contains(page.body, "/terms/accept") {
		t.Fatalf("terms page after accepting: %d\n%s", page.StatusCode, page.body)
	}
	// Accepting again, or an old form, lands in the inbox.
	wantRedirect(t, "accept again", e.postForm(b, e.httpURL+"/terms/accept", url.Values{"version": {"2"}}, nil), "/")
	wantRedirect(t, "an old form", e.postForm(b, e.httpURL+"/terms/accept", url.Values{"version": {"1"}}, nil), "/")
	if n := e.auditCount("accept-terms"); n != 1 {
		t.Fatalf("%d accept-terms audit entries, want 1", n)
	}

	// Without a session, the terms pages go to the login like the others.
	wantRedirect(t, "terms without a session", e.get(e.browser(), e.httpURL+"/terms"), "/login")
}

// residentID returns the id of the resident with the national identity
// number.
func (e *testEnv) residentID(nid string) string {
	e.t.Helper()
	residents, err := e.store.Residents(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range residents {
		if r.NationalID.Number == nid {
			return r.ID
		}
	}
	e.t.Fatalf("no resident %s", nid)
	return ""
}
