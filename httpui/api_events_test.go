package httpui

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
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
// first, a page at a time by cursor; a first reading by the resident is
// the next event; a bad cursor or limit is 400; without a certificate 401.
func TestAPIEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	s := e.addSender("Aarhus Kommune", "55133018")
	other := e.addSender("Region Midtjylland", "29190925")
	var ids []string
	for _, ref := range []string{"ref-1", "ref-2", "ref-3"} {
		r := e.deliver(s.client, validDelivery(ref)...)
		ids = append(ids, decodeJSON[struct {
			ID string `json:"id"`
		}](t, r).ID)
	}
	e.deliver(other.client, validDelivery("other-1")...)

	events := func(c *http.Client, query string) eventsPage {
		t.Helper()
		r := e.get(c, e.httpsURL+"/api/v1/events"+query)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("events%s: %d %s", query, r.StatusCode, r.body)
		}
		return decodeJSON[eventsPage](t, r)
	}
	all := events(s.client, "")
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
	first := events(s.client, "?limit=2")
	rest := events(s.client, "?limit=2&after="+first.Next)
	if len(first.Events) != 2 || len(rest.Events) != 1 || rest.Events[0].LetterID != ids[2] {
		t.Errorf("pages of 2: %+v then %+v", first, rest)
	}
	// Nothing new: an empty page and the same cursor.
	if empty := events(s.client, "?after="+all.Next); len(empty.Events) != 0 || empty.Next != all.Next || !strings.Contains(e.get(s.client, e.httpsURL+"/api/v1/events?after="+all.Next).body, `"events":[]`) {
		t.Errorf("after the last: %+v", empty)
	}
	// The other sender sees its own letter only.
	o := events(other.client, "")
	if len(o.Events) != 1 || o.Events[0].SenderReference != "other-1" {
		t.Errorf("the other sender's feed: %+v", o)
	}
	// The resident opens a letter: a read event follows.
	c := e.browser()
	e.login(c, e.httpURL, uitest.NIDAnna)
	if r := e.get(c, e.httpURL+"/letters/"+ids[1]); r.StatusCode != http.StatusOK {
		t.Fatalf("open the letter: %d", r.StatusCode)
	}
	read := events(s.client, "?after="+all.Next)
	if len(read.Events) != 1 || read.Events[0].Type != "read" || read.Events[0].LetterID != ids[1] {
		t.Errorf("after reading: %+v", read)
	}
	if o := events(other.client, "?after="+o.Next); len(o.Events) != 0 {
		t.Errorf("the other sender sees another's read event: %+v", o)
	}

	for _, q := range []string{"?after=abc", "?after=-1", "?limit=0", "?limit=1001", "?limit=ten"} {
		wantProblem(t, e.get(s.client, e.httpsURL+"/api/v1/events"+q), http.StatusBadRequest, "INVALID_REQUEST")
	}
	anonymous := e.client(&tls.Config{RootCAs: e.ca.Pool()})
	wantProblem(t, e.get(anonymous, e.httpsURL+"/api/v1/events"), http.StatusUnauthorized, "UNAUTHENTICATED")
}

// TestAPIBlockedSender: once a resident's block of a private sender takes
// effect, that sender's lookup says not digital and its letters are 422
// SENDER_BLOCKED with nothing stored; a public sender is not affected.
func TestAPIBlockedSender(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, envOptions{storeClock: clock.Now})
	e.addResident(uitest.NIDAnna, "Anna Jensen")
	public := e.addSender("Aarhus Kommune", "55133018")
	shop, err := e.store.AddSender(context.Background(), "Boghandlen ApS", "12345678", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	client, cert := e.certClient(e.ca, "Boghandlen ApS", "12345678")
	if err := e.store.BindCertificate(context.Background(), shop.ID, cert); err != nil {
		t.Fatal(err)
	}
	if r := e.deliver(client, validDelivery("nyhed-1")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("first letter: %d %s", r.StatusCode, r.body)
	}
	lookup := func(c *http.Client) bool {
		t.Helper()
		r := e.get(c, e.httpsURL+"/api/v1/recipients/"+uitest.NIDAnna)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("lookup: %d %s", r.StatusCode, r.body)
		}
		return decodeJSON[struct {
			Digital bool `json:"digital"`
		}](t, r).Digital
	}
	nid, _ := store.ParseNationalID(uitest.NIDAnna)
	sess, err := e.store.Login(context.Background(), nid.String(), password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.store.OpenSession(context.Background(), sess.Token)
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
	if !lookup(public.client) {
		t.Error("a public sender's lookup says not digital")
	}
	before := e.deliveries()
	wantProblem(t, e.deliver(client, validDelivery("nyhed-2")...), http.StatusUnprocessableEntity, "SENDER_BLOCKED")
	if e.deliveries() != before {
		t.Error("a refused letter was stored")
	}
	if r := e.deliver(public.client, validDelivery("skat-1")...); r.StatusCode != http.StatusCreated {
		t.Errorf("the public sender's letter: %d %s", r.StatusCode, r.body)
	}
}
