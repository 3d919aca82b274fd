package resident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// deliverTo delivers a letter with the subject to nid through the sender
// API and returns the answer as the sender got it.
func deliverTo(t *testing.T, e *uitest.Env, s *uitest.Sender, nid, subject, ref string) (id string, answer []byte) {
	t.Helper()
	r := e.Deliver(s.Client, uitest.MessagePart(uitest.LetterMessage(nid, subject, ref)),
		uitest.DocumentPart("brev.pdf", "application/pdf", uitest.PDFDoc))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery %s: %d %s", ref, r.StatusCode, r.Text)
	}
	var res struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.Text), &res); err != nil || res.ID == "" {
		t.Fatalf("delivery answer %s: %v", r.Text, err)
	}
	return res.ID, []byte(r.Text)
}

// senderStatus is the letter's status as its sender sees it.
func senderStatus(t *testing.T, e *uitest.Env, s *uitest.Sender, id string) string {
	t.Helper()
	r := e.Get(s.Client, e.HTTPSURL+"/api/v1/messages/"+id)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status of %s: %d %s", id, r.StatusCode, r.Text)
	}
	return uitest.DecodeJSON[struct {
		Status string `json:"status"`
	}](t, r).Status
}

// TestDeleteLetters: the letter page leads to a confirmation that says
// the letter goes for good and the sender will see it; confirming deletes
// it and the inbox says so; the sender's status says deleted. The bulk
// form lists the letters chosen before deleting them all. Another
// resident, a signed-out browser and a cross-site form get nothing and
// change nothing; a foreign id among the chosen deletes nothing.
func TestDeleteLetters(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	one, _ := deliverTo(t, e, s, uitest.NIDAnna, "Afgørelse om boligstøtte", "one")
	two, _ := deliverTo(t, e, s, uitest.NIDAnna, "Indkaldelse til møde", "two")
	three, _ := deliverTo(t, e, s, uitest.NIDAnna, "Årsopgørelse 2026", "three")
	bjorns, _ := deliverTo(t, e, s, uitest.NIDBjorn, "Brev til Bjørn", "bjorn")
	held, _ := deliverTo(t, e, s, uitest.NIDAnna, "Beslaglagt brev", "held")
	if _, err := e.Store.MakeInaccessible(context.Background(), held, "Retskendelse om beslaglæggelse", "Københavns Byret"); err != nil {
		t.Fatal(err)
	}
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	nobody := e.Browser()

	// The letter page's Delete leads to the confirmation, which opens
	// nothing and marks nothing read.
	confirm := e.Get(anna, e.HTTPURL+"/letters/"+one+"/delete")
	if confirm.StatusCode != http.StatusOK {
		t.Fatalf("confirmation: %d\n%s", confirm.StatusCode, confirm.Text)
	}
	for _, want := range []string{
		"<title>Delete this letter? — Postkasse</title>", "<h1>Delete this letter?</h1>", "This cannot be undone",
		"The letter and its documents are deleted for good. Neither you nor anyone else can restore it.",
		"The sender will be able to see that you deleted the letter.", "<strong>Afgørelse om boligstøtte</strong>",
		`<form method="post" action="/letters/delete"`, `<input type="hidden" name="id" value="` + one + `">`,
		`<input type="hidden" name="confirm" value="1">`, `aria-describedby="delete-warning">Delete the letter for good</button>`,
		`<a href="/letters/` + one + `">Cancel, delete nothing</a>`,
	} {
		if !strings.Contains(confirm.Text, want) {
			t.Errorf("confirmation lacks %q", want)
		}
	}
	if st := senderStatus(t, e, s, one); st != "delivered" {
		t.Errorf("the confirmation changed the status to %q", st)
	}
	letterPage := e.Get(anna, e.HTTPURL+"/letters/"+one)
	if !strings.Contains(letterPage.Text, `href="/letters/`+one+`/delete">Delete<span class="visually-hidden"> Afgørelse om boligstøtte</span></a>`) {
		t.Errorf("the letter page has no Delete:\n%s", letterPage.Text)
	}

	unchanged := func(what string) {
		t.Helper()
		for _, id := range []string{one, two, three} {
			if r := e.Get(anna, e.HTTPURL+"/letters/"+id+"/delete"); r.StatusCode != http.StatusOK {
				t.Errorf("%s: Anna's letter %s is gone (%d)", what, id, r.StatusCode)
			}
		}
		if r := e.Get(bjorn, e.HTTPURL+"/letters/"+bjorns); r.StatusCode != http.StatusOK {
			t.Errorf("%s: Bjørn's letter is gone (%d)", what, r.StatusCode)
		}
		if n := e.AuditCount("delete-letter"); n != 0 {
			t.Errorf("%s: %d delete-letter audit entries", what, n)
		}
	}
	// Another resident: nothing to see, nothing deleted.
	if r := e.Get(bjorn, e.HTTPURL+"/letters/"+one+"/delete"); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "Afgørelse") {
		t.Errorf("Bjørn's view of Anna's confirmation: %d", r.StatusCode)
	}
	for _, form := range []url.Values{{"id": {one}, "confirm": {"1"}}, {"id": {one}}} {
		if r := e.PostForm(bjorn, e.HTTPURL+"/letters/delete", form, nil); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "Afgørelse") {
			t.Errorf("Bjørn posting %v: %d", form, r.StatusCode)
		}
	}
	// A foreign id among Anna's own: nothing deleted.
	if r := e.PostForm(anna, e.HTTPURL+"/letters/delete", url.Values{"id": {one, bjorns}, "confirm": {"1"}}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("Anna deleting with Bjørn's letter among hers: %d", r.StatusCode)
	}
	// Signed out: to the login page.
	wantRedirect(t, "signed-out confirmation", e.Get(nobody, e.HTTPURL+"/letters/"+one+"/delete"), "/login")
	wantRedirect(t, "signed-out delete", e.PostForm(nobody, e.HTTPURL+"/letters/delete", url.Values{"id": {one}, "confirm": {"1"}}, nil), "/login")
	// Cross-site, with Anna's cookie: refused.
	if r := e.PostForm(anna, e.HTTPURL+"/letters/delete", url.Values{"id": {one}, "confirm": {"1"}}, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site delete: %d", r.StatusCode)
	}
	unchanged("after the refused requests")
	// No letter chosen: said so, nothing deleted.
	if r := e.PostForm(anna, e.HTTPURL+"/letters/delete", url.Values{"confirm": {"1"}}, nil); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Text, "You did not choose any letters.") || !strings.Contains(r.Text, `role="alert"`) {
		t.Errorf("deleting nothing: %d\n%s", r.StatusCode, r.Text)
	}
	unchanged("after choosing nothing")
	// A letter made inaccessible: not deleted, and the page says why.
	for what, r := range map[string]*uitest.Response{
		"confirmation": e.Get(anna, e.HTTPURL+"/letters/"+held+"/delete"),
		"delete":       e.PostForm(anna, e.HTTPURL+"/letters/delete", url.Values{"id": {two, held}, "confirm": {"1"}}, nil),
	} {
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.Text, "made inaccessible under a legal obligation") || strings.Contains(r.Text, "Beslaglagt") {
			t.Errorf("%s of a held letter: %d\n%s", what, r.StatusCode, r.Text)
		}
	}
	unchanged("after trying a held letter")

	// Confirmed: deleted, and the inbox says so.
	r := e.PostForm(anna, e.HTTPURL+"/letters/delete", url.Values{"id": {one}, "confirm": {"1"}}, nil)
	wantRedirect(t, "delete", r, "/?deleted=1")
	inbox := e.Get(anna, e.HTTPURL+"/?deleted=1")
	if !strings.Contains(inbox.Text, `<div class="alert alert-success" role="status">`) || !strings.Contains(inbox.Text, "The letter has been deleted for good.") ||
		strings.Contains(inbox.Text, "Afgørelse om boligstøtte") {
		t.Errorf("inbox after deleting:\n%s", inbox.Text)
	}
	if r := e.Get(anna, e.HTTPURL+"/letters/"+one); r.StatusCode != http.StatusNotFound {
		t.Errorf("the deleted letter's page: %d", r.StatusCode)
	}
	if st := senderStatus(t, e, s, one); st != "deleted" {
		t.Errorf("the sender's status of the deleted letter: %q", st)
	}

	// Several at once: the confirmation lists them, then they go.
	bulk := e.PostForm(anna, e.HTTPURL+"/letters/delete", url.Values{"id": {two, three}, "action": {"delete"}}, nil)
	if bulk.StatusCode != http.StatusOK {
		t.Fatalf("bulk confirmation: %d\n%s", bulk.StatusCode, bulk.Text)
	}
	for _, want := range []string{
		"<h1>Delete 2 letters?</h1>", "<strong>Indkaldelse til møde</strong>", "<strong>Årsopgørelse 2026</strong>",
		"The senders will be able to see that you deleted the letters.",
		`<input type="hidden" name="id" value="` + two + `">`, `<input type="hidden" name="id" value="` + three + `">`,
		"Delete 2 letters for good</button>", `<a href="/">Cancel, delete nothing</a>`,
	} {
		if !strings.Contains(bulk.Text, want) {
			t.Errorf("bulk confirmation lacks %q", want)
		}
	}
	if n := e.AuditCount("delete-letter"); n != 1 {
		t.Errorf("the bulk confirmation deleted something: %d entries", n)
	}
	// The confirmation's own form, as the browser would send it.
	ids := regexp.MustCompile(`name="id" value="([0-9a-f]{32})"`).FindAllStringSubmatch(bulk.Text, -1)
	form := url.Values{"confirm": {"1"}}
	for _, m := range ids {
		form.Add("id", m[1])
	}
	wantRedirect(t, "bulk delete", e.PostForm(anna, e.HTTPURL+"/letters/delete", form, nil), "/?deleted=2")
	if inbox := e.Get(anna, e.HTTPURL+"/?deleted=2"); !strings.Contains(inbox.Text, "2 letters have been deleted for good.") {
		t.Errorf("inbox after the bulk delete:\n%s", inbox.Text)
	}
	for _, id := range []string{two, three} {
		if st := senderStatus(t, e, s, id); st != "deleted" {
			t.Errorf("status of %s: %q", id, st)
		}
	}
	if n := e.AuditCount("delete-letter"); n != 3 {
		t.Errorf("%d delete-letter audit entries, want 3", n)
	}
	if r := e.Get(bjorn, e.HTTPURL+"/letters/"+bjorns); r.StatusCode != http.StatusOK {
		t.Errorf("Bjørn's letter after Anna's deletions: %d", r.StatusCode)
	}
}

// TestLetterReceipt: the letter page offers the receipt as a file, the
// very bytes of the receipt object the sender got from the API, and shows
// its time in the appliance's zone like the other dates on the page;
// downloading it opens nothing. Another resident gets 404, a signed-out
// browser the login page.
func TestLetterReceipt(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	id, answer := deliverTo(t, e, s, uitest.NIDAnna, "Afgørelse om boligstøtte", "receipt")
	var sent struct {
		Receipt json.RawMessage `json:"receipt"`
	}
	if err := json.Unmarshal(answer, &sent); err != nil || len(sent.Receipt) == 0 {
		t.Fatalf("the delivery's answer has no receipt: %s", answer)
	}
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)

	r := e.Get(anna, e.HTTPURL+"/letters/"+id+"/receipt")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="receipt-`+id+`.json"` {
		t.Fatalf("receipt: %d %v", r.StatusCode, r.Header)
	}
	if got := bytes.TrimSuffix([]byte(r.Text), []byte("\n")); !bytes.Equal(got, sent.Receipt) {
		t.Errorf("the receipt file differs from the sender's:\n%s\n%s", got, sent.Receipt)
	}
	if st := senderStatus(t, e, s, id); st != "delivered" {
		t.Errorf("downloading the receipt changed the status to %q", st)
	}
	if r := e.Get(e.Browser(), e.HTTPURL+"/letters/"+id+"/receipt"); r.StatusCode != http.StatusOK {
		wantRedirect(t, "signed-out receipt", r, "/login")
	} else {
		t.Error("a signed-out browser got the receipt")
	}
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	if r := e.Get(bjorn, e.HTTPURL+"/letters/"+id+"/receipt"); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "signature") {
		t.Errorf("Bjørn's download of Anna's receipt: %d", r.StatusCode)
	}

	page := e.Get(anna, e.HTTPURL+"/letters/"+id)
	if !strings.Contains(page.Text, `<a class="button button-secondary" href="/letters/`+id+`/receipt" download>Download the receipt</a>`) {
		t.Errorf("the letter page offers no receipt:\n%s", page.Text)
	}
	// The received date and the receipt's time: the same instant, shown
	// alike in the appliance's zone, not as UTC ISO.
	times := regexp.MustCompile(`<time datetime="([^"]+)">([^<]+)</time>`).FindAllStringSubmatch(page.Text, -1)
	if len(times) != 2 || times[0][1] != times[1][1] || times[0][2] != times[1][2] || strings.Contains(times[1][2], "T") {
		t.Errorf("the letter page's times: %q", times)
	}
}
