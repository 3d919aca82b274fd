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
	"github.com/postkasse/postkasse/store"
)

type eventsPage struct {
	Events []struct {
		Cursor          string    `json:"cursor"`
		Type            string    `json:"type"`
		LetterID        string    `json:"letterId"`
		SenderReference string    `json:"senderReference"`
		At              time.Time `json:"at"`
	} `json:"events"`
	Next string `json:"next"`
}

// TestAPIEvents: a sender's feed has its own letters' events only, oldest
// first, a page at a time by cursor; a first reading by the resident of a
// letter with an opening receipt is the next event (of one without, none);
// a bad cursor or limit is 400; without a certificate 401.
func TestAPIEvents(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Region Midtjylland", "29190925")
	var ids []string
	for _, ref := range []string{"ref-1", "ref-2", "ref-3"} {
		msg := uitest.LetterMessage(uitest.NIDAnna, "Your tax assessment", ref)
		msg["openingReceipt"] = ref == "ref-2"
		r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("assessment.pdf", "application/pdf", uitest.PDFDoc))
		ids = append(ids, uitest.DecodeJSON[struct {
			ID string `json:"id"`
		}](t, r).ID)
	}
	e.Deliver(other.Client, uitest.ValidDelivery("other-1")...)

	events := func(c *http.Client, query string) eventsPage {
		t.Helper()
		r := e.Get(c, e.HTTPSURL+"/api/v1/events"+query)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("events%s: %d %s", query, r.StatusCode, r.Text)
		}
		return uitest.DecodeJSON[eventsPage](t, r)
	}
	all := events(s.Client, "")
	if len(all.Events) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(all.Events), all)
	}
	for i, ev := range all.Events {
		if ev.Type != "delivered" || ev.LetterID != ids[i] || ev.SenderReference != []string{"ref-1", "ref-2", "ref-3"}[i] || ev.At.IsZero() {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if all.Next != all.Events[2].Cursor {
		t.Errorf("next %q, want the last event's cursor %q", all.Next, all.Events[2].Cursor)
	}
	// A page at a time.
	first := events(s.Client, "?limit=2")
	rest := events(s.Client, "?limit=2&after="+first.Next)
	if len(first.Events) != 2 || len(rest.Events) != 1 || rest.Events[0].LetterID != ids[2] {
		t.Errorf("pages of 2: %+v then %+v", first, rest)
	}
	// Nothing new: an empty page and the same cursor.
	if empty := events(s.Client, "?after="+all.Next); len(empty.Events) != 0 || empty.Next != all.Next || !strings.Contains(e.Get(s.Client, e.HTTPSURL+"/api/v1/events?after="+all.Next).Text, `"events":[]`) {
		t.Errorf("after the last: %+v", empty)
	}
	// The other sender sees its own letter only.
	o := events(other.Client, "")
	if len(o.Events) != 1 || o.Events[0].SenderReference != "other-1" {
		t.Errorf("the other sender's feed: %+v", o)
	}
	// The resident opens the letters: a read event follows for the one
	// with an opening receipt only.
	c := e.Browser()
	e.Login(c, e.HTTPURL, uitest.NIDAnna)
	for _, id := range ids[:2] {
		if r := e.Get(c, e.HTTPURL+"/letters/"+id); r.StatusCode != http.StatusOK {
			t.Fatalf("open the letter: %d", r.StatusCode)
		}
	}
	read := events(s.Client, "?after="+all.Next)
	if len(read.Events) != 1 || read.Events[0].Type != "read" || read.Events[0].LetterID != ids[1] {
		t.Errorf("after reading: %+v", read)
	}
	if o := events(other.Client, "?after="+o.Next); len(o.Events) != 0 {
		t.Errorf("the other sender sees another's read event: %+v", o)
	}

	for _, q := range []string{"?after=abc", "?after=-1", "?limit=0", "?limit=1001", "?limit=ten"} {
		uitest.WantProblem(t, e.Get(s.Client, e.HTTPSURL+"/api/v1/events"+q), http.StatusBadRequest, "INVALID_REQUEST")
	}
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	uitest.WantProblem(t, e.Get(anonymous, e.HTTPSURL+"/api/v1/events"), http.StatusUnauthorized, "UNAUTHENTICATED")
}

// TestAPIBlockedSender: once a resident's block of a private sender takes
// effect, that sender's lookup says not digital and its letters are 422
// SENDER_BLOCKED with nothing stored; a public sender is not affected.
func TestAPIBlockedSender(t *testing.T) {
	t.Parallel()
	clock := testsupport.NewClock()
	e := apptest.NewEnv(t, apptest.Options{StoreClock: clock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	public := e.AddSender("Aarhus Kommune", "55133018")
	shop, err := e.Store.AddSender(context.Background(), "Boghandlen ApS", "12345674", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	client, cert := e.CertClient(e.CA, "Boghandlen ApS", "12345674")
	if err := e.Store.BindCertificate(context.Background(), shop.ID, cert); err != nil {
		t.Fatal(err)
	}
	if r := e.Deliver(client, uitest.ValidDelivery("nyhed-1")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("first letter: %d %s", r.StatusCode, r.Text)
	}
	lookup := func(c *http.Client) bool {
		t.Helper()
		r := e.Get(c, e.HTTPSURL+"/api/v1/recipients/"+uitest.NIDAnna)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("lookup: %d %s", r.StatusCode, r.Text)
		}
		return uitest.DecodeJSON[struct {
			Digital bool `json:"digital"`
		}](t, r).Digital
	}
	nid, _ := store.ParseNationalID(uitest.NIDAnna)
	sess, err := e.Store.Login(context.Background(), nid.String(), uitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.Store.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	block, err := mb.BlockSender(context.Background(), shop.ID)
	mb.Close()
	if err != nil {
		t.Fatal(err)
	}
	// During the notice the sender may still deliver.
	if !lookup(client) {
		t.Error("blocked before the notice ran out")
	}
	clock.Advance(block.Effective.Sub(clock.Now()) + time.Minute)
	if lookup(client) {
		t.Error("the blocked sender's lookup says digital")
	}
	if !lookup(public.Client) {
		t.Error("a public sender's lookup says not digital")
	}
	before := e.Deliveries()
	uitest.WantProblem(t, e.Deliver(client, uitest.ValidDelivery("nyhed-2")...), http.StatusUnprocessableEntity, "SENDER_BLOCKED")
	if e.Deliveries() != before {
		t.Error("a refused letter was stored")
	}
	if r := e.Deliver(public.Client, uitest.ValidDelivery("skat-1")...); r.StatusCode != http.StatusCreated {
		t.Errorf("the public sender's letter: %d %s", r.StatusCode, r.Text)
	}
}
