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

// deliverText delivers a letter with one text document to a resident.
func deliverText(t *testing.T, e *uitest.Env, senderID, nid, ref, subject, body string) string {
	t.Helper()
	n, err := store.ParseNationalID(nid)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Store.Deliver(context.Background(), senderID, store.Delivery{Recipient: n, Subject: subject, Body: body,
		SenderReference: ref, Documents: []store.DocumentInput{{Name: "bilag.txt", ContentType: "text/plain", Content: []byte("Bilag til " + subject)}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Letter.ID
}

// TestSearchPage: the navigation leads to the search page; a search finds
// the resident's letters with the words matched marked and everything
// the letter says escaped; filters narrow it; bad fields say which; the
// page is in the resident's language.
func TestSearchPage(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	snd := e.AddSender("Aarhus Kommune", "55133018")
	skat := e.AddSender("Skattestyrelsen", "19552101")
	deliverText(t, e, snd.ID, uitest.NIDAnna, "r1", "Årsopgørelse 2026", "Din opgørelse er klar.")
	deliverText(t, e, skat.ID, uitest.NIDAnna, "r2", `<script>alert("x")</script> Aarsopgoerelse & restskat`, "Betal <b>restskat</b>.")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	if r := e.Get(b, e.HTTPURL+"/"); !strings.Contains(r.Text, `<a href="/search">Search</a>`) {
		t.Errorf("the navigation does not link to the search page")
	}
	page := e.Get(b, e.HTTPURL+"/search")
	for _, want := range []string{"<h1>Search your mail</h1>", `role="search"`, `<label for="search-q">Search for</label>`,
		`<option value="` + skat.ID + `">Skattestyrelsen</option>`, `<option value="archive">Archive</option>`, `aria-current="page">Search</a>`} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("the search page lacks %q", want)
		}
	}
	if strings.Contains(page.Text, "Results") {
		t.Error("an empty form shows results")
	}

	r := e.Get(b, e.HTTPURL+"/search?q="+url.QueryEscape("årsop"))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("search: %d\n%s", r.StatusCode, r.Text)
	}
	for _, want := range []string{"<mark>Årsopgørelse</mark> 2026", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; <mark>Aarsopgoerelse</mark> &amp; restskat",
		"Betal &lt;b&gt;restskat&lt;/b&gt;.", `value="årsop"`} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("results lack %q\n%s", want, r.Text)
		}
	}
	if strings.Contains(r.Text, "<script>") || strings.Contains(r.Text, "<b>") {
		t.Error("a letter's text is not escaped")
	}
	// Filters: by sender, and words in a document only.
	r = e.Get(b, e.HTTPURL+"/search?q=aarsop&sender="+skat.ID)
	if strings.Contains(r.Text, "<mark>Årsopgørelse</mark> 2026") || !strings.Contains(r.Text, "restskat") {
		t.Errorf("sender filter:\n%s", r.Text)
	}
	r = e.Get(b, e.HTTPURL+"/search?q=bilag+til&folder=archive")
	if !strings.Contains(r.Text, "No letters match your search.") {
		t.Errorf("folder filter: %s", r.Text)
	}
	r = e.Get(b, e.HTTPURL+"/search?q=bilag+til&folder=inbox&unread=1")
	if strings.Count(r.Text, "Found in an attached document.") != 0 || strings.Count(r.Text, "<mark>bilag</mark>.txt") != 2 || !strings.Contains(r.Text, `id="search-unread" name="unread" type="checkbox" value="1" checked`) {
		t.Errorf("document text, inbox, unread:\n%s", r.Text)
	}
	// Bad fields.
	for _, tc := range []struct{ query, want string }{
		{"q=&sender=" + skat.ID, "Write one or more words to search for"},
		{"q=skat&from=31-01-2026", "The start date is not a valid date."},
		{"q=skat&from=2026-02-01&to=2026-01-01", "The end date is not a valid date, or it is before the start date."},
		{"q=skat&after=nonsense", "The link to more results is no longer valid."},
		{"q=" + strings.Repeat("x", 201), "Write one or more words to search for"},
	} {
		r := e.Get(b, e.HTTPURL+"/search?"+tc.query)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, tc.want) ||
			!strings.Contains(tc.query, "after=") && !strings.Contains(r.Text, `aria-invalid="true"`) {
			t.Errorf("%s: %d, lacks %q", tc.query, r.StatusCode, tc.want)
		}
	}
	// In Danish and Norwegian.
	for lang, want := range map[string]string{"da": "Søg i din post", "nb": "Søk i posten din"} {
		r := e.Get(b, e.HTTPURL+"/search?q=ingenting&lang="+lang)
		if !strings.Contains(r.Text, want) || !strings.Contains(r.Text, uitest.Catalogue.Lang(lang).T("search.none")) {
			t.Errorf("%s: lacks %q", lang, want)
		}
	}
}

// TestSearchPages: results come a page at a time, linked by a cursor
// that keeps the filters.
func TestSearchPages(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	snd := e.AddSender("Aarhus Kommune", "55133018")
	for i := range 25 {
		deliverText(t, e, snd.ID, uitest.NIDAnna, "p"+string(rune('a'+i)), "Nyhedsbrev", "Nyt fra kommunen")
	}
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	r := e.Get(b, e.HTTPURL+"/search?q=nyheds&sender="+snd.ID)
	if n := strings.Count(r.Text, "<mark>Nyhedsbrev</mark>"); n != 20 {
		t.Fatalf("first page: %d hits", n)
	}
	i := strings.Index(r.Text, `<p class="search-more"><a href="`)
	if i < 0 {
		t.Fatalf("no link to more results")
	}
	rest := r.Text[i+len(`<p class="search-more"><a href="`):]
	next := strings.ReplaceAll(rest[:strings.Index(rest, `"`)], "&amp;", "&")
	if !strings.Contains(next, "sender="+snd.ID) || !strings.Contains(next, "after=") {
		t.Errorf("next link %q", next)
	}
	r = e.Get(b, e.HTTPURL+next)
	if n := strings.Count(r.Text, "<mark>Nyhedsbrev</mark>"); n != 5 || strings.Contains(r.Text, "search-more") {
		t.Errorf("second page: %d hits\n%s", n, r.Text)
	}
}

// TestSearchAuthorization: another resident finds nothing of the first's
// mail; a signed-out browser gets the login page; the page takes no
// POST, from this site or another.
func TestSearchAuthorization(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	snd := e.AddSender("Aarhus Kommune", "55133018")
	deliverText(t, e, snd.ID, uitest.NIDAnna, "a1", "Fortrolig journal", "Psykiatrisk udredning")
	deliverText(t, e, snd.ID, uitest.NIDBjorn, "b1", "Bjørns brev", "Intet særligt")

	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if r := e.Get(anna, e.HTTPURL+"/search?q=psykiatrisk"); !strings.Contains(r.Text, "<mark>Psykiatrisk</mark>") {
		t.Fatalf("Anna does not find her own letter:\n%s", r.Text)
	}
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	for _, q := range []string{"psykiatrisk", "fortrolig", "journal", "aarhus"} {
		r := e.Get(bjorn, e.HTTPURL+"/search?q="+q)
		if r.StatusCode != http.StatusOK || strings.Contains(r.Text, "Fortrolig") || strings.Contains(r.Text, "<mark>") {
			t.Errorf("Bjørn's search for %q shows Anna's letter", q)
		}
	}
	if r := e.Get(bjorn, e.HTTPURL+"/search?q=aarhus"); !strings.Contains(r.Text, "Bjørns brev") {
		t.Errorf("Bjørn does not find his own letter")
	}

	out := e.Browser()
	r := e.Get(out, e.HTTPURL+"/search?q=psykiatrisk")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" || strings.Contains(r.Text, "sykiatrisk") {
		t.Errorf("signed out: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, h := range []http.Header{nil, crossSite} {
		r := e.PostForm(anna, e.HTTPURL+"/search", url.Values{"q": {"psykiatrisk"}}, h)
		if r.StatusCode < 400 || strings.Contains(r.Text, "<mark>") {
			t.Errorf("POST /search (%v): %d", h, r.StatusCode)
		}
	}
}
