package api_test

import (
	"bytes"
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

// printDetails returns a message's print details (API.md, "More message
// fields"), fresh for each use.
func printDetails() map[string]any {
	return map[string]any{"address": map[string]any{
		"name": "Bo Berg", "lines": []any{"Søndergade 12, 2. th."}, "postalCode": "8000", "city": "Aarhus C", "country": "DK"}}
}

// TestPrintAPI: a letter with print details to someone without a mailbox
// answers 201 queued-for-print with no receipt and no deliveredAt; its
// status says so to its sender only; a letter with print details to a
// digital resident is delivered as usual; bad print details, and a
// document that is not a PDF, are a 400 naming the field, with nothing
// stored (no event, no status); without a certificate it is a 401. With
// when unread-after, a digital resident's letter is delivered as usual.
func TestPrintAPI(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Nordlys Energi A/S", "12345674")
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	pdf := uitest.DocumentPart("afgoerelse.pdf", "application/pdf", testsupport.PDF("Afgørelse"))
	// Without the operator's print key, a letter to print is refused as
	// one without print details.
	noKey := uitest.LetterMessage(uitest.NIDNobody, "Afgørelse", "no-key")
	noKey["print"] = printDetails()
	if r := e.Deliver(s.Client, uitest.MessagePart(noKey), pdf); !strings.Contains(r.Text, "not queued for print") {
		t.Errorf("without a print key: %d %s", r.StatusCode, r.Text)
	} else {
		uitest.WantProblem(t, r, http.StatusNotFound, "UNKNOWN_RECIPIENT")
	}
	if _, err := e.Store.NewPrintKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	letter := func(nid, ref string, edit func(p map[string]any), doc uitest.Part) []uitest.Part {
		msg := uitest.LetterMessage(nid, "Afgørelse om boligstøtte", ref)
		p := printDetails()
		if edit != nil {
			edit(p)
		}
		msg["print"] = p
		return []uitest.Part{uitest.MessagePart(msg), doc}
	}
	type answer struct {
		ID, Status, DeliveredAt string
		Receipt                 any
	}

	r := e.Deliver(s.Client, letter(uitest.NIDNobody, "print-1", nil, pdf)...)
	a := uitest.DecodeJSON[answer](t, r)
	if r.StatusCode != http.StatusCreated || a.Status != "queued-for-print" || a.Receipt != nil || a.DeliveredAt != "" {
		t.Fatalf("deliver to print: %d %s", r.StatusCode, r.Text)
	}
	statusURL := e.HTTPSURL + "/api/v1/messages/" + a.ID
	if st := e.Get(s.Client, statusURL); st.StatusCode != http.StatusOK || !strings.Contains(st.Text, `"queued-for-print"`) {
		t.Errorf("status: %d %s", st.StatusCode, st.Text)
	}
	if st := e.Get(other.Client, statusURL); st.StatusCode != http.StatusNotFound {
		t.Errorf("another sender's status: %d", st.StatusCode)
	}
	if st := e.Get(anonymous, statusURL); st.StatusCode != http.StatusUnauthorized {
		t.Errorf("status without a certificate: %d", st.StatusCode)
	}
	if r := e.Deliver(anonymous, letter(uitest.NIDNobody, "print-anon", nil, pdf)...); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("deliver to print without a certificate: %d", r.StatusCode)
	}
	// A browser's cross-site form (with the sender's certificate even) is
	// refused before it reaches the API, and stores nothing.
	ct, body := uitest.MultipartBody(letter(uitest.NIDNobody, "print-cross-site", nil, pdf)...)
	req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/messages", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	uitest.WantProblem(t, e.Do(s.Client, req), http.StatusForbidden, "FORBIDDEN")
	// Another sender's reference is its own: the same one is a new letter.
	if r := e.Deliver(other.Client, letter(uitest.NIDNobody, "print-1", nil, pdf)...); r.StatusCode != http.StatusCreated {
		t.Errorf("another sender, same reference: %d %s", r.StatusCode, r.Text)
	}
	if r := e.Deliver(s.Client, letter(uitest.NIDAnna, "print-2", nil, pdf)...); r.StatusCode != http.StatusCreated ||
		!strings.Contains(r.Text, `"delivered"`) || !strings.Contains(r.Text, `"receipt"`) {
		t.Errorf("deliver with print details to a digital resident: %d %s", r.StatusCode, r.Text)
	}
	later := func(p map[string]any) {
		p["when"], p["unreadAfter"] = "unread-after", time.Now().Add(14*24*time.Hour).UTC().Format(time.RFC3339)
	}
	if r := e.Deliver(s.Client, letter(uitest.NIDAnna, "print-3", later, pdf)...); r.StatusCode != http.StatusCreated ||
		!strings.Contains(r.Text, `"delivered"`) || !strings.Contains(r.Text, `"receipt"`) {
		t.Errorf("deliver unread-after to a digital resident: %d %s", r.StatusCode, r.Text)
	}
	// Scheduled for print: 201 scheduled, no receipt, no event; its
	// sender may withdraw it, another sender may not.
	scheduled := letter(uitest.NIDNobody, "print-scheduled", nil, pdf)
	notBefore := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	msg := uitest.LetterMessage(uitest.NIDNobody, "Afgørelse om boligstøtte", "print-scheduled")
	msg["print"], msg["notBefore"] = printDetails(), notBefore.Format(time.RFC3339)
	scheduled[0] = uitest.MessagePart(msg)
	r = e.Deliver(s.Client, scheduled...)
	a = uitest.DecodeJSON[answer](t, r)
	if r.StatusCode != http.StatusCreated || a.Status != "scheduled" || a.Receipt != nil || a.DeliveredAt != notBefore.Format(time.RFC3339) {
		t.Errorf("deliver to print, scheduled: %d %s", r.StatusCode, r.Text)
	}
	scheduledURL := e.HTTPSURL + "/api/v1/messages/" + a.ID
	withdraw := func(c *http.Client) *uitest.Response {
		req, err := http.NewRequest(http.MethodDelete, scheduledURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e.Do(c, req)
	}
	if st := e.Get(s.Client, scheduledURL); st.StatusCode != http.StatusOK || !strings.Contains(st.Text, `"scheduled"`) {
		t.Errorf("status of the scheduled letter to print: %d %s", st.StatusCode, st.Text)
	}
	if r := withdraw(other.Client); r.StatusCode != http.StatusNotFound {
		t.Errorf("another sender withdraws: %d %s", r.StatusCode, r.Text)
	}
	if r := withdraw(s.Client); r.StatusCode != http.StatusNoContent {
		t.Errorf("withdraw: %d %s", r.StatusCode, r.Text)
	}
	if st := e.Get(s.Client, scheduledURL); st.StatusCode != http.StatusNotFound {
		t.Errorf("status after withdrawal: %d %s", st.StatusCode, st.Text)
	}

	for _, tt := range []struct {
		name, field string
		edit        func(p map[string]any)
		doc         uitest.Part
	}{
		{"no postal code", "print.address.postalCode", func(p map[string]any) { delete(p["address"].(map[string]any), "postalCode") }, pdf},
		{"a Danish postal code of five digits", "print.address.postalCode", func(p map[string]any) { p["address"].(map[string]any)["postalCode"] = "80000" }, pdf},
		{"no address lines", "print.address.lines", func(p map[string]any) { p["address"].(map[string]any)["lines"] = []any{} }, pdf},
		{"a country name", "print.address.country", func(p map[string]any) { p["address"].(map[string]any)["country"] = "Danmark" }, pdf},
		{"an unknown member", "print.address.street", func(p map[string]any) { p["address"].(map[string]any)["street"] = "x" }, pdf},
		{"unread-after without its time", "print.unreadAfter", func(p map[string]any) { p["when"] = "unread-after" }, pdf},
		{"unread-after in the past", "print.unreadAfter", func(p map[string]any) {
			p["when"], p["unreadAfter"] = "unread-after", "2020-01-01T00:00:00Z"
		}, pdf},
		{"another when", "print.when", func(p map[string]any) { p["when"] = "always" }, pdf},
		{"a text document", "document[0]", nil, uitest.DocumentPart("brev.txt", "text/plain", uitest.TextDoc)},
	} {
		r := e.Deliver(s.Client, letter(uitest.NIDNobody, "refused", tt.edit, tt.doc)...)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "INVALID_REQUEST") || !strings.Contains(r.Text, tt.field) {
			t.Errorf("%s: %d %s", tt.name, r.StatusCode, r.Text)
		}
	}
	// Nothing of the refusals is stored: the events are the three letters'.
	ev := e.Get(s.Client, e.HTTPSURL+"/api/v1/events?limit=100")
	if ev.StatusCode != http.StatusOK || strings.Count(ev.Text, `"type"`) != 3 || strings.Contains(ev.Text, "refused") ||
		!strings.Contains(ev.Text, `"queued-for-print"`) {
		t.Errorf("events: %d %s", ev.StatusCode, ev.Text)
	}
}
