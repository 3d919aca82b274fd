package resident_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestSupportPage: a resident asks for help from the settings page; the
// request reaches the operator and is listed for the resident; one with a
// national identity number in its text is deleted at once and the
// resident is told why, in the resident's language, without the text
// echoed; a bad field says which; another resident sees none of it.
func TestSupportPage(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	if r := e.Get(b, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/support">Ask for help</a>`) {
		t.Errorf("the settings page does not link to the help page")
	}
	page := e.Get(b, e.HTTPURL+"/support")
	for _, want := range []string{"<h1>Ask for help</h1>", `<option value="sign-in">Signing in</option>`, `name="subject"`,
		`name="description"`, `<label for="nationalId">National identity number (optional)</label>`} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("help page lacks %q", want)
		}
	}
	send := func(c *http.Client, category, subject, description, nid string) *uitest.Response {
		return e.PostForm(c, e.HTTPURL+"/support", url.Values{"category": {category}, "subject": {subject},
			"description": {description}, "nationalId": {nid}}, nil)
	}
	requests := func() []store.SupportRequest {
		t.Helper()
		reqs, err := e.Store.SupportRequests(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		return reqs
	}

	r := send(b, "notifications", "No SMS when letters arrive", "I chose SMS in the settings, but nothing comes.", "")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Your request has been sent") || !strings.Contains(r.Text, "No SMS when letters arrive") ||
		!strings.Contains(r.Text, "Waiting for an answer") {
		t.Fatalf("sending a request: %d\n%s", r.StatusCode, r.Text)
	}
	if reqs := requests(); len(reqs) != 1 || reqs[0].Category != "notifications" || reqs[0].NationalID != "" {
		t.Fatalf("requests after one: %+v", reqs)
	}

	// A CPR number in the description: deleted at once, said plainly,
	// nothing of it kept or shown again.
	const secret = "My son's number is 120386-1234 and he cannot sign in."
	r = send(b, "sign-in", "My son", secret, "")
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "Your request was deleted") ||
		!strings.Contains(r.Text, "contained a national identity number") || strings.Contains(r.Text, "120386") || strings.Contains(r.Text, "My son") {
		t.Fatalf("a request with a number in it: %d\n%s", r.StatusCode, r.Text)
	}
	if reqs := requests(); len(reqs) != 1 {
		t.Fatalf("a refused request was kept: %+v", reqs)
	}
	if n := e.AuditCount("refuse-support-request"); n != 1 {
		t.Errorf("%d refuse-support-request entries, want 1", n)
	}
	// The number in its own field is fine.
	if r := send(b, "sign-in", "My son cannot sign in", "He gets an error after the password.", "1203861234"); r.StatusCode != http.StatusOK {
		t.Fatalf("a number in its field: %d\n%s", r.StatusCode, r.Text)
	}
	// Bad fields say which, and keep what was written.
	for _, tc := range []struct{ category, subject, nid, want string }{
		{"gossip", "Hello", "", "Choose what your request is about."},
		{"other", "   ", "", "Write a subject of at most 200 characters."},
		{"other", "Hello", "12345", "That is not a valid national identity number."},
	} {
		r := send(b, tc.category, tc.subject, "kept text", tc.nid)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, tc.want) || !strings.Contains(r.Text, "kept text") ||
			!strings.Contains(r.Text, `aria-invalid="true"`) {
			t.Errorf("%+v: %d\n%s", tc, r.StatusCode, r.Text)
		}
	}
	if reqs := requests(); len(reqs) != 2 {
		t.Fatalf("requests: %d, want 2", len(reqs))
	}

	// In Danish; and Bjørn sees none of Anna's.
	da := e.Browser()
	e.Login(da, e.HTTPURL, uitest.NIDBjorn)
	req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/support", nil)
	req.Header.Set("Accept-Language", "da")
	if r := e.Do(da, req); !strings.Contains(r.Text, "<h1>Bed om hjælp</h1>") || strings.Contains(r.Text, "No SMS") || strings.Contains(r.Text, "My son") {
		t.Errorf("Bjørn's help page, in Danish:\n%s", r.Text)
	}
}
