package api_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
)

// TestScheduledLetterAPI: a delivery with notBefore answers 201 with
// status "scheduled", the time it will be delivered at and no receipt yet;
// its status says scheduled. Until then the resident's inbox does not list
// it and a direct URL to it, its document or its receipt is 404; another
// sender can neither see nor withdraw it, and a request without a
// certificate or from another site changes nothing. After the release the
// status is delivered as of notBefore, the resident sees it, and repeating
// the delivery answers 200 with the receipt. A withdrawal of a delivered
// letter is 409 NOT_SCHEDULED; of a scheduled one 204, after which it is
// gone. A notBefore that is not RFC 3339, or more than a year ahead, is a
// 400 naming it.
func TestScheduledLetterAPI(t *testing.T) {
	t.Parallel()
	clock := testsupport.NewClock()
	e := apptest.NewEnv(t, apptest.Options{StoreClock: clock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Nordlys Energi A/S", "12345674")
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	at := clock.Now().Add(2 * time.Hour).UTC().Truncate(time.Minute)
	scheduled := func(ref string, notBefore string) []uitest.Part {
		msg := uitest.LetterMessage(uitest.NIDAnna, "Your tax assessment", ref)
		msg["notBefore"] = notBefore
		return []uitest.Part{uitest.MessagePart(msg), uitest.DocumentPart("assessment.pdf", "application/pdf", uitest.PDFDoc)}
	}
	type answer struct {
		ID, Status  string
		DeliveredAt time.Time
		Receipt     *struct{ Payload string }
	}
	r := e.Deliver(s.Client, scheduled("tax-2026", at.In(time.FixedZone("CET", 3600)).Format(time.RFC3339))...)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("schedule: %d %s", r.StatusCode, r.Text)
	}
	if strings.Contains(r.Text, "receipt") {
		t.Errorf("a scheduled letter's answer has a receipt: %s", r.Text)
	}
	a := uitest.DecodeJSON[answer](t, r)
	if a.Status != "scheduled" || !a.DeliveredAt.Equal(at) {
		t.Fatalf("schedule: %+v, want scheduled at %s", a, at)
	}
	statusURL := e.HTTPSURL + "/api/v1/messages/" + a.ID
	status := func(c *http.Client) (int, answer) {
		t.Helper()
		r := e.Get(c, statusURL)
		if r.StatusCode != http.StatusOK {
			return r.StatusCode, answer{}
		}
		return r.StatusCode, uitest.DecodeJSON[answer](t, r)
	}
	if code, st := status(s.Client); code != http.StatusOK || st.Status != "scheduled" || !st.DeliveredAt.Equal(at) {
		t.Errorf("status: %d %+v", code, st)
	}

	// Authorization: nobody but the sender sees or withdraws it.
	if code, _ := status(other.Client); code != http.StatusNotFound {
		t.Errorf("another sender's status: %d, want 404", code)
	}
	del := func(c *http.Client, header http.Header) *uitest.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodDelete, statusURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		return e.Do(c, req)
	}
	uitest.WantProblem(t, del(other.Client, nil), http.StatusNotFound, "NOT_FOUND")
	uitest.WantProblem(t, del(anonymous, nil), http.StatusUnauthorized, "UNAUTHENTICATED")
	// A browser's cross-site request (with the sender's certificate even)
	// is refused before it reaches the API.
	uitest.WantProblem(t, del(s.Client, http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}),
		http.StatusForbidden, "FORBIDDEN")
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	for _, path := range []string{"/letters/" + a.ID, "/letters/" + a.ID + "/documents/0", "/letters/" + a.ID + "/receipt", "/letters/" + a.ID + "/delete"} {
		if r := e.Get(anna, e.HTTPURL+path); r.StatusCode != http.StatusNotFound {
			t.Errorf("the resident's %s before the release: %d, want 404", path, r.StatusCode)
		}
	}
	if inbox := e.Get(anna, e.HTTPURL+"/"); inbox.StatusCode != http.StatusOK || strings.Contains(inbox.Text, a.ID) || strings.Contains(inbox.Text, "Your tax assessment") {
		t.Errorf("the inbox before the release: %d, lists the letter: %v", inbox.StatusCode, strings.Contains(inbox.Text, a.ID))
	}
	if code, st := status(s.Client); code != http.StatusOK || st.Status != "scheduled" {
		t.Fatalf("after the refused requests: %d %+v, want still scheduled", code, st)
	}

	// Bad notBefore.
	for _, tc := range []struct{ value, detail string }{
		{"2027-01-31", `invalid notBefore: "2027-01-31" is not an RFC 3339 time such as 2027-01-31T08:00:00+01:00`},
		{"tomorrow", `invalid notBefore: "tomorrow" is not an RFC 3339 time such as 2027-01-31T08:00:00+01:00`},
		{clock.Now().AddDate(1, 0, 1).UTC().Format(time.RFC3339), "invalid notBefore: " + clock.Now().AddDate(1, 0, 1).UTC().Format(time.RFC3339) + " is more than a year ahead"},
	} {
		p := uitest.WantProblem(t, e.Deliver(s.Client, scheduled("bad-"+tc.value, tc.value)...), http.StatusBadRequest, "INVALID_REQUEST")
		if p.Detail != tc.detail {
			t.Errorf("notBefore %q: detail %q, want %q", tc.value, p.Detail, tc.detail)
		}
	}

	// The release.
	clock.Set(at)
	if n, err := e.Store.ReleaseScheduled(context.Background()); err != nil || n != 1 {
		t.Fatalf("release: %d, %v", n, err)
	}
	if code, st := status(s.Client); code != http.StatusOK || st.Status != "delivered" || !st.DeliveredAt.Equal(at) {
		t.Errorf("status after the release: %d %+v", code, st)
	}
	anna = e.Browser() // the session of two hours ago has expired
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if r := e.Get(anna, e.HTTPURL+"/letters/"+a.ID); r.StatusCode != http.StatusOK {
		t.Errorf("the resident's letter after the release: %d", r.StatusCode)
	}
	r = e.Deliver(s.Client, scheduled("tax-2026", at.In(time.FixedZone("CET", 3600)).Format(time.RFC3339))...)
	again := uitest.DecodeJSON[answer](t, r)
	if r.StatusCode != http.StatusOK || again.ID != a.ID || again.Status != "read" || again.Receipt == nil || again.Receipt.Payload == "" {
		t.Errorf("repeat after the release (and the reading): %d %s, want 200 read with the receipt", r.StatusCode, r.Text)
	}
	if !strings.Contains(r.Text, `"deliveredAt":"`+at.Format(time.RFC3339)+`"`) {
		t.Errorf("deliveredAt not in UTC as notBefore: %s", r.Text)
	}
	uitest.WantProblem(t, del(s.Client, nil), http.StatusConflict, "NOT_SCHEDULED")

	// A withdrawal.
	r = e.Deliver(s.Client, scheduled("withdrawn", at.Add(time.Hour).Format(time.RFC3339))...)
	w := uitest.DecodeJSON[answer](t, r)
	statusURL = e.HTTPSURL + "/api/v1/messages/" + w.ID
	if r := del(s.Client, nil); r.StatusCode != http.StatusNoContent || r.Text != "" {
		t.Fatalf("withdraw: %d %s", r.StatusCode, r.Text)
	}
	if code, _ := status(s.Client); code != http.StatusNotFound {
		t.Errorf("status of the withdrawn letter: %d, want 404", code)
	}
	uitest.WantProblem(t, del(s.Client, nil), http.StatusNotFound, "NOT_FOUND")
	if n := e.AuditCount("withdraw"); n != 1 {
		t.Errorf("%d withdraw audit entries, want 1", n)
	}
}
