package resident_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestDigitalPostOptOut: a resident opts out of digital post on the
// settings page: senders' lookups then say not digital and their letters
// are refused with 422 RECIPIENT_NOT_DIGITAL over the real mTLS API, with
// nothing stored; the resident still signs in and reads what they have;
// then opts back in.
func TestDigitalPostOptOut(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	if r := e.Deliver(s.Client, uitest.ValidDelivery("before")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery: %d", r.StatusCode)
	}
	digital := func() bool {
		t.Helper()
		r := e.Get(s.Client, e.HTTPSURL+"/api/v1/recipients/"+uitest.NIDAnna)
		return strings.Contains(r.Text, `"digital":true`)
	}
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if r := e.Get(b, e.HTTPURL+"/settings"); !strings.Contains(r.Text, "Opt out of digital post") {
		t.Fatal("the settings page offers no opt-out")
	}
	r := e.PostForm(b, e.HTTPURL+"/settings/digital-post", url.Values{"digital": {"out"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings?saved=digital" {
		t.Fatalf("opt out: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	page := e.Get(b, e.HTTPURL+"/settings?saved=digital")
	if !strings.Contains(page.Text, "You have opted out of digital post. From now on, senders send your letters on paper.") || !strings.Contains(page.Text, "Receive digital post again") {
		t.Errorf("settings after opting out:\n%s", page.Text)
	}
	if digital() {
		t.Error("the lookup says digital after the opt-out")
	}
	uitest.WantProblem(t, e.Deliver(s.Client, uitest.ValidDelivery("after")...), http.StatusUnprocessableEntity, "RECIPIENT_NOT_DIGITAL")
	if n := e.Deliveries(); n != 1 {
		t.Errorf("%d letters stored, want only the one before the opt-out", n)
	}
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Your tax assessment") {
		t.Errorf("the inbox after the opt-out: %d", r.StatusCode)
	}
	// A cross-site form changes nothing.
	if r := e.PostForm(b, e.HTTPURL+"/settings/digital-post", url.Values{"digital": {"in"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); r.StatusCode != http.StatusForbidden || digital() {
		t.Errorf("a cross-site opt-in: %d", r.StatusCode)
	}
	e.PostForm(b, e.HTTPURL+"/settings/digital-post", url.Values{"digital": {"in"}}, nil)
	if !digital() {
		t.Error("the lookup says not digital after opting back in")
	}
	if n := e.AuditCount("reserve"); n != 1 {
		t.Errorf("%d opt-outs audited", n)
	}
}
