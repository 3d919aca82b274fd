package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store/storage"
)

func TestFoldWord(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"København", "koebenhavn"},
		{"KØBENHAVN", "koebenhavn"},
		{"Koebenhavn", "koebenhavn"},
		{"Ærø", "aeroe"},
		{"Aeroe", "aeroe"},
		{"Ålborg", "aalborg"},
		{"Aalborg", "aalborg"},
		{"Tromsø", "tromsoe"},
		{"Göteborg", "goeteborg"},
		{"Sjælland", "sjaelland"},
		{"café", "cafe"},
		{"Müller", "muller"},
		{"Straße", "strasse"},
		{"ÅRSOPGØRELSE", "aarsopgoerelse"},
		{"2026", "2026"},
		{strings.Repeat("ø", 30), strings.Repeat("oe", 20)},
	}
	for _, tt := range tests {
		if got := foldWord(tt.in); got != tt.want {
			t.Errorf("foldWord(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := queryWords("  Skat, skat. SKAT-årsopgørelse! "); !slices.Equal(got, []string{"skat", "aarsopgoerelse"}) {
		t.Errorf("queryWords = %q", got)
	}
}

func TestMarkWordsAndSnippet(t *testing.T) {
	t.Parallel()
	q := queryWords("kø <b>")
	got := markWords("<b>Købmand</b> & Koebenhavn", q)
	want := []TextPart{{Text: "<"}, {Text: "b", Mark: true}, {Text: ">"}, {Text: "Købmand", Mark: true},
		{Text: "</"}, {Text: "b", Mark: true}, {Text: "> & "}, {Text: "Koebenhavn", Mark: true}}
	if !slices.Equal(got, want) {
		t.Errorf("markWords = %+v", got)
	}
	long := strings.Repeat("ord ", 50) + "betaling " + strings.Repeat("mere ", 50)
	parts := snippet(long, queryWords("betal"))
	var text strings.Builder
	marks := 0
	for _, p := range parts {
		text.WriteString(p.Text)
		if p.Mark {
			marks++
		}
	}
	if marks != 1 || !strings.HasPrefix(text.String(), "… ord") || !strings.HasSuffix(text.String(), "mere …") || len(strings.Fields(text.String())) > snippetWords+2 {
		t.Errorf("snippet = %q (%d marks)", text.String(), marks)
	}
}

// searchTexts returns the subjects of the hits.
func searchSubjects(t testing.TB, mb *Mailbox, q SearchQuery) []string {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 50
	}
	res, err := mb.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%q): %v", q.Text, err)
	}
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Subject)
	}
	return out
}

func deliverSearchable(t testing.TB, f *fixture, nid NationalID, ref, subject, body string, docs ...DocumentInput) string {
	t.Helper()
	if len(docs) == 0 {
		docs = []DocumentInput{{Name: "brev.txt", ContentType: "text/plain", Content: []byte("Med venlig hilsen")}}
	}
	res, err := f.s.Deliver(context.Background(), f.sender.ID, Delivery{Recipient: nid, Subject: subject, Body: body,
		SenderReference: ref, Documents: docs})
	if err != nil {
		t.Fatalf("Deliver(%s): %v", ref, err)
	}
	f.clock.Advance(time.Minute)
	return res.Letter.ID
}

// TestSearchFindsEveryField: each field of a letter is found, by a
// prefix, in any case and either Scandinavian spelling, with the words
// matched marked; all the words of a query must be in a letter.
func TestSearchFindsEveryField(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	deliverSearchable(t, f, f.nid, "s1", "Årsopgørelse for 2026", "Din skat er beregnet.")
	deliverSearchable(t, f, f.nid, "s2", "Brev", "Vi har modtaget din ansøgning om boligstøtte.")
	deliverSearchable(t, f, f.nid, "s3", "Bilag", "Se bilaget.",
		DocumentInput{Name: "Tandlægeregning.txt", ContentType: "text/plain", Content: []byte("Tandrensning og fyldning")})
	deliverSearchable(t, f, f.nid, "s4", "Nyhedsbrev", "Se vedlagte.",
		DocumentInput{Name: "nyt.html", ContentType: "text/html", Content: []byte("<p>Affaldssortering <b>begynder</b></p><script>hemmeligt()</script>")})
	deliverSearchable(t, f, f.nid, "s5", "Afgørelse", "Se vedlagte afgørelse.",
		DocumentInput{Name: "afgoerelse.pdf", ContentType: "application/pdf", Content: testsupport.PDF("Kære Anna", "Du får tilskud til hørenapparat i Ærøskøbing.")})
	mb := mustLogin(t, f.s, f.nid, testPassword)

	tests := []struct {
		q      string
		want   []string
		fields uint8
	}{
		{"årsopgørelse", []string{"Årsopgørelse for 2026"}, FieldSubject},
		{"AARSOPGOER", []string{"Årsopgørelse for 2026"}, FieldSubject},
		{"2026", []string{"Årsopgørelse for 2026"}, FieldSubject},
		{"skat beregn", []string{"Årsopgørelse for 2026"}, FieldBody},
		{"skat boligstøtte", nil, 0},
		{"boligstoette", []string{"Brev"}, FieldBody},
		{"ANSØG", []string{"Brev"}, FieldBody},
		{"tandlaege", []string{"Bilag"}, FieldFileName},
		{"fyldning", []string{"Bilag"}, FieldDocument},
		{"affaldssortering begynder", []string{"Nyhedsbrev"}, FieldDocument},
		{"hemmeligt", nil, 0},
		{"p", []string{"Afgørelse"}, FieldFileName}, // "pdf"; a tag is no word
		{"script", nil, 0},
		{"hoerenapparat", []string{"Afgørelse"}, FieldDocument},
		{"ærøskøbing", []string{"Afgørelse"}, FieldDocument},
		{"aeroeskoe tilskud", []string{"Afgørelse"}, FieldDocument},
		{"aarhus kommune årsop", []string{"Årsopgørelse for 2026"}, FieldSender | FieldSubject},
		{"ingenting", nil, 0},
	}
	for _, tt := range tests {
		res, err := mb.Search(context.Background(), SearchQuery{Text: tt.q, Limit: 10})
		if err != nil {
			t.Fatalf("Search(%q): %v", tt.q, err)
		}
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.Subject)
			if h.Fields != tt.fields {
				t.Errorf("Search(%q): %q found in fields %b, want %b", tt.q, h.Subject, h.Fields, tt.fields)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
	// The words matched are marked, in the subject, the body's snippet
	// and the file names.
	res, err := mb.Search(context.Background(), SearchQuery{Text: "aarsop skat", Limit: 10})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("Search: %+v, %v", res, err)
	}
	h := res.Hits[0]
	if !slices.Equal(h.SubjectParts, []TextPart{{Text: "Årsopgørelse", Mark: true}, {Text: " for 2026"}}) {
		t.Errorf("subject parts = %+v", h.SubjectParts)
	}
	if !slices.Equal(h.Snippet, []TextPart{{Text: "Din "}, {Text: "skat", Mark: true}, {Text: " er beregnet."}}) {
		t.Errorf("snippet = %+v", h.Snippet)
	}
	res, err = mb.Search(context.Background(), SearchQuery{Text: "tandlæge", Limit: 10})
	if err != nil || len(res.Hits) != 1 || len(res.Hits[0].FileNames) != 1 ||
		!slices.Equal(res.Hits[0].FileNames[0], []TextPart{{Text: "Tandlægeregning", Mark: true}, {Text: ".txt"}}) {
		t.Errorf("file names: %+v, %v", res, err)
	}
	if len(res.Senders) != 1 || res.Senders[0].Name != "Aarhus Kommune" || res.Senders[0].ID != f.sender.ID {
		t.Errorf("senders = %+v", res.Senders)
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	day := f.clock.Now()
	for _, q := range []SearchQuery{
		{Text: "", Limit: 10},
		{Text: " ,.- ", Limit: 10},
		{Text: strings.Repeat("a", maxQueryBytes+1), Limit: 10},
		{Text: "a b c d e f g h i j k", Limit: 10},
		{Text: "\xff\xfe", Limit: 10},
		{Text: "skat", Limit: 0},
		{Text: "skat", Limit: MaxSearchResults + 1},
		{Text: "skat", Limit: 10, From: day, To: day},
		{Text: "skat", Limit: 10, After: "nonsense"},
	} {
		var inv *InvalidError
		if _, err := mb.Search(context.Background(), q); !errors.As(err, &inv) {
			t.Errorf("Search(%+v) = %v, want an InvalidError", q, err)
		}
	}
}

// TestSearchFilters: sender, folder, dates and unread narrow the hits;
// pages follow each other by cursor without repeats.
func TestSearchFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := mustSender(t, f.s, "Skattestyrelsen", "19552101", SenderPublic)
	start := f.clock.Now()
	var ids []string
	for i := range 7 {
		ids = append(ids, deliverSearchable(t, f, f.nid, fmt.Sprintf("f%d", i), fmt.Sprintf("Faktura %d", i), "Betaling"))
	}
	res, err := f.s.Deliver(context.Background(), other.ID, Delivery{Recipient: f.nid, Subject: "Faktura fra Skat", Body: "Betaling",
		SenderReference: "o1", Documents: []DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if err := mb.MoveLetters(context.Background(), ids[:2], FolderArchive); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Letter(context.Background(), ids[6]); err != nil { // read
		t.Fatal(err)
	}
	if err := mb.MarkRead(context.Background(), ids[5:6], true); err != nil {
		t.Fatal(err)
	}
	archive := FolderArchive
	inbox := FolderInbox
	tests := []struct {
		name string
		q    SearchQuery
		want []string
	}{
		{"all", SearchQuery{}, []string{"Faktura fra Skat", "Faktura 6", "Faktura 5", "Faktura 4", "Faktura 3", "Faktura 2", "Faktura 1", "Faktura 0"}},
		{"sender", SearchQuery{SenderID: other.ID}, []string{"Faktura fra Skat"}},
		{"archive", SearchQuery{Folder: &archive}, []string{"Faktura 1", "Faktura 0"}},
		{"inbox of a sender", SearchQuery{Folder: &inbox, SenderID: f.sender.ID}, []string{"Faktura 6", "Faktura 5", "Faktura 4", "Faktura 3", "Faktura 2"}},
		{"unread", SearchQuery{Unread: true, SenderID: f.sender.ID}, []string{"Faktura 4", "Faktura 3", "Faktura 2", "Faktura 1", "Faktura 0"}},
		{"dates", SearchQuery{From: start.Add(2 * time.Minute), To: start.Add(4 * time.Minute)}, []string{"Faktura 3", "Faktura 2"}},
	}
	for _, tt := range tests {
		tt.q.Text = "faktura betal"
		if got := searchSubjects(t, mb, tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// Pages of three.
	var got []string
	q := SearchQuery{Text: "faktura", Limit: 3}
	for range 5 {
		page, err := mb.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range page.Hits {
			got = append(got, h.Subject)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if !slices.Equal(got, tests[0].want) {
		t.Errorf("pages: %q", got)
	}
	_ = res
}

// TestSearchOtherResident: a resident finds nothing of another's mail,
// whatever they search, and each index is sealed with its owner's key.
func TestSearchOtherResident(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	deliverSearchable(t, f, f.nid, "a1", "Hemmelig diagnose", "Kræft")
	bo := testNID(t, 2)
	mustResident(t, f.s, bo, "Bo Berg")
	deliverSearchable(t, f, bo, "b1", "Bos brev", "Almindelig")
	anna := mustLogin(t, f.s, f.nid, testPassword)
	if got := searchSubjects(t, anna, SearchQuery{Text: "hemmelig"}); len(got) != 1 {
		t.Fatalf("Anna's search = %q", got)
	}
	bob := mustLogin(t, f.s, bo, testPassword)
	for _, q := range []string{"hemmelig", "kræft", "diagnose", "aarhus", "brev"} {
		got := searchSubjects(t, bob, SearchQuery{Text: q})
		for _, s := range got {
			if s != "Bos brev" {
				t.Errorf("Bo's search for %q found %q", q, s)
			}
		}
	}
	// Bo's key does not open Anna's index.
	var sealed *storage.SearchIndex
	if err := f.s.view(context.Background(), func(tx storage.Tx) error {
		var err error
		sealed, err = tx.SearchIndexes().Get(anna.resident.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	bk, err := bob.searchKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bk.OpenDocument(searchLabel(anna.resident.ID), sealed.Sealed); err == nil {
		t.Error("Bo's search key opens Anna's index")
	}
	if _, err := anna.openIndex(mustKey(t, anna), &storage.SearchIndex{Sealed: sealed.Sealed}); err != nil {
		t.Errorf("Anna's key does not open her index: %v", err)
	}
}

func mustKey(t testing.TB, mb *Mailbox) *crypto.DataKey {
	t.Helper()
	k, err := mb.searchKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// storedIndex opens the resident's stored index with the mailbox's key.
func storedIndex(t testing.TB, mb *Mailbox) (*searchIndex, uint64) {
	t.Helper()
	var sealed *storage.SearchIndex
	if err := mb.s.view(context.Background(), func(tx storage.Tx) error {
		var err error
		sealed, err = tx.SearchIndexes().Get(mb.resident.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ix, err := mb.openIndex(mustKey(t, mb), sealed)
	if err != nil {
		t.Fatal(err)
	}
	return ix, sealed.Version
}

// TestSearchDeletedLetters: a deleted letter is not found by the session
// that indexed it, and is gone from the stored index after the next
// update.
func TestSearchDeletedLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	keep := deliverSearchable(t, f, f.nid, "d1", "Parkeringsbøde", "Betal")
	del := deliverSearchable(t, f, f.nid, "d2", "Parkeringstilladelse", "Hemmeligt")
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if got := searchSubjects(t, mb, SearchQuery{Text: "parkering"}); len(got) != 2 {
		t.Fatalf("before deleting: %q", got)
	}
	// Deleted by the resident: a tombstone stays, which search never
	// shows.
	if err := mb.DeleteLetters(context.Background(), []string{del}); err != nil {
		t.Fatal(err)
	}
	// The delete took its words out of the stored index at once.
	if ix, _ := storedIndex(t, mb); ix.has(del) || ix.postings["hemmeligt"] != nil {
		t.Error("the stored index still holds the deleted letter after the delete")
	}
	if got := searchSubjects(t, mb, SearchQuery{Text: "parkering"}); !slices.Equal(got, []string{"Parkeringsbøde"}) {
		t.Errorf("the same session after deleting: %q", got)
	}
	if got := searchSubjects(t, mb, SearchQuery{Text: "hemmeligt"}); len(got) != 0 {
		t.Errorf("the deleted letter's body is found: %q", got)
	}
	// A new session prunes the index, and stores it.
	mb2 := mustLogin(t, f.s, f.nid, testPassword)
	if got := searchSubjects(t, mb2, SearchQuery{Text: "parkering"}); !slices.Equal(got, []string{"Parkeringsbøde"}) {
		t.Errorf("a new session: %q", got)
	}
	ix, _ := storedIndex(t, mb2)
	if ix.has(del) || !ix.has(keep) {
		t.Errorf("stored index: has the deleted letter %v, the kept one %v", ix.has(del), ix.has(keep))
	}
	if _, ok := ix.postings["hemmeligt"]; ok {
		t.Error("the deleted letter's words are still in the stored index")
	}
}

// TestSearchKeepsUp: letters delivered after the index are found by the
// next search, without opening the index again; a second session's
// update is seen by the first (the stored version decides); updating
// twice changes nothing.
func TestSearchKeepsUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	deliverSearchable(t, f, f.nid, "k1", "Første brev", "Hej")
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	one, err := f.s.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if got := searchSubjects(t, one, SearchQuery{Text: "brev"}); len(got) != 1 {
		t.Fatalf("first search: %q", got)
	}
	_, v1 := storedIndex(t, one)
	if got := searchSubjects(t, one, SearchQuery{Text: "brev"}); len(got) != 1 {
		t.Fatalf("second search: %q", got)
	}
	if _, v := storedIndex(t, one); v != v1 {
		t.Errorf("a search with nothing new stored the index again: version %d, was %d", v, v1)
	}
	deliverSearchable(t, f, f.nid, "k2", "Andet brev", "Hej")
	if got := searchSubjects(t, one, SearchQuery{Text: "brev"}); !slices.Equal(got, []string{"Andet brev", "Første brev"}) {
		t.Errorf("after a new letter: %q", got)
	}
	_, v2 := storedIndex(t, one)
	if v2 != v1+1 {
		t.Errorf("version %d after %d", v2, v1)
	}
	two := mustLogin(t, f.s, f.nid, testPassword)
	deliverSearchable(t, f, f.nid, "k3", "Tredje brev", "Hej")
	if got := searchSubjects(t, two, SearchQuery{Text: "tredje"}); len(got) != 1 {
		t.Errorf("second session: %q", got)
	}
	if got := searchSubjects(t, one, SearchQuery{Text: "brev"}); len(got) != 3 {
		t.Errorf("first session after the second stored a newer index: %q", got)
	}
	ix, _ := storedIndex(t, two)
	if ix.live() != 3 || len(ix.docs) != 3 {
		t.Errorf("stored index has %d letters (%d live), want 3", len(ix.docs), ix.live())
	}
	// Logging out forgets the opened index.
	if !f.s.searches.cached(one.sessionID) {
		t.Fatal("the session's index is not kept")
	}
	if err := f.s.Logout(context.Background(), sess.Token); err != nil {
		t.Fatal(err)
	}
	if f.s.searches.cached(one.sessionID) {
		t.Error("the index is kept after logout")
	}
}

// TestSearchBuildsInSteps: a mailbox bigger than one search indexes is
// indexed over several, newest first, and says how many are left.
func TestSearchBuildsInSteps(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.s.searchPerSearch = 3
	for i := range 7 {
		deliverSearchable(t, f, f.nid, fmt.Sprintf("b%d", i), fmt.Sprintf("Brev %d", i), "Indhold")
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	for _, want := range []struct {
		hits, pending int
	}{{3, 4}, {6, 1}, {7, 0}, {7, 0}} {
		res, err := mb.Search(context.Background(), SearchQuery{Text: "brev", Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != want.hits || res.Pending != want.pending || res.Hits[0].Subject != "Brev 6" {
			t.Errorf("hits %d (first %q), pending %d; want %d, %d", len(res.Hits), res.Hits[0].Subject, res.Pending, want.hits, want.pending)
		}
	}
}

// TestSearchIndexDamaged: an index that does not open (damaged, or
// sealed with another key) is made again from the mailbox.
func TestSearchIndexDamaged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	deliverSearchable(t, f, f.nid, "x1", "Vandregning", "Forbrug")
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if err := f.s.update(context.Background(), func(tx storage.Tx) error {
		return tx.SearchIndexes().Put(mb.resident.ID, &storage.SearchIndex{Version: 7, Sealed: []byte("not an index")})
	}); err != nil {
		t.Fatal(err)
	}
	if got := searchSubjects(t, mb, SearchQuery{Text: "vand"}); len(got) != 1 {
		t.Errorf("search over a damaged index: %q", got)
	}
	if _, v := storedIndex(t, mb); v != 8 {
		t.Errorf("version %d, want 8", v)
	}
}

// TestSearchIndexRoundTrip: encoding drops gone letters and keeps the
// rest; decoding refuses anything else without panicking.
func TestSearchIndexRoundTrip(t *testing.T) {
	t.Parallel()
	ix := newSearchIndex()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ix.add(letterText{ID: "a", SenderID: "s", At: at, Texts: []fieldText{{FieldSubject, "Skat skat"}, {FieldBody, "Skatten"}}})
	ix.add(letterText{ID: "b", SenderID: "s", At: at.Add(time.Hour), Texts: []fieldText{{FieldSubject, "Vand"}}})
	ix.add(letterText{ID: "c", SenderID: "t", At: at.Add(2 * time.Hour), Texts: []fieldText{{FieldBody, "skat og vand"}}})
	ix.add(letterText{ID: "a", Texts: []fieldText{{FieldSubject, "twice"}}})
	ix.markGone("b")
	b, err := ix.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeSearchIndex(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.docs) != 2 || got.has("b") || !got.Watermark.Equal(at.Add(2*time.Hour)) {
		t.Errorf("decoded: %+v", got.docs)
	}
	if _, ok := got.postings["twice"]; ok {
		t.Error("a letter added twice was indexed twice")
	}
	m := got.match([]string{"skat"})
	if len(m) != 2 || m[got.byID["a"]] != FieldSubject|FieldBody || m[got.byID["c"]] != FieldBody {
		t.Errorf("match = %v", m)
	}
	if m := got.match([]string{"vand", "skat"}); len(m) != 2 || m[got.byID["a"]] != 0 || m[got.byID["c"]] != FieldBody {
		t.Errorf("vand skat matches %v", m)
	}
	if m := got.match([]string{"vand", "nothing"}); m != nil {
		t.Errorf("vand nothing matches %v", m)
	}
	if order := got.newestFirst(); len(order) != 2 || got.docs[order[0]].ID != "c" {
		t.Errorf("newest first: %v", order)
	}
	for i := range len(b) {
		if _, err := decodeSearchIndex(b[:i]); err == nil {
			t.Errorf("decoding %d of %d bytes succeeded", i, len(b))
		}
	}
}

func FuzzDecodeSearchIndex(f *testing.F) {
	ix := newSearchIndex()
	ix.add(letterText{ID: "a", SenderID: "s", At: time.Unix(5, 0), Texts: []fieldText{{FieldSubject, "Skat og vand"}}})
	ix.add(letterText{ID: "b", SenderID: "s", At: time.Unix(9, 0), Texts: []fieldText{{FieldBody, "skatten"}}})
	b, err := ix.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := decodeSearchIndex(b)
		if err != nil {
			return
		}
		ix.match([]string{"s"})
		ix.newestFirst()
		if _, err := ix.encode(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDocumentText(t *testing.T) {
	t.Parallel()
	pdf := testsupport.PDF("Årsopgørelse (endelig)", `Skat\Told`)
	text, err := documentText("application/pdf", pdf)
	if err != nil || !strings.Contains(text, "Årsopgørelse (endelig)") || !strings.Contains(text, `Skat\Told`) {
		t.Errorf("PDF text = %q, %v", text, err)
	}
	for _, bad := range [][]byte{[]byte("%PDF-1.4\nnothing"), pdf[:len(pdf)/2], []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n")} {
		if text, err := documentText("application/pdf", bad); err == nil && text != "" {
			t.Errorf("a broken PDF gave %q", text)
		}
	}
	text, _ = documentText("text/html", []byte(`<html><head><style>p{}</style><title>Titel</title></head><body><p>Tekst&amp;mere</p><script>x()</script></body></html>`))
	if strings.Join(strings.Fields(text), " ") != "Titel Tekst&mere" {
		t.Errorf("HTML text = %q", text)
	}
	if text, err := documentText("image/png", pngContent); err != nil || text != "" {
		t.Errorf("image text = %q, %v", text, err)
	}
}

func FuzzPDFText(f *testing.F) {
	f.Add(testsupport.PDF("Hej"))
	f.Add([]byte("%PDF-1.4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		documentText("application/pdf", b) // must not panic or hang
	})
}

// TestSearchTwoNodes: on the cluster, a node's session sees an index
// another node stored, and letters deleted through the other node are
// not found.
func TestSearchTwoNodes(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "nodes")
	a, err := openClusterStore(t, path, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeTestStore(t, a) })
	b, err := openClusterStore(t, path, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeTestStore(t, b) })
	f := &fixture{s: a, clock: clock, nid: testNID(t, 1)}
	f.resident = mustResident(t, a, f.nid, "Anna Andersen")
	f.sender = mustSender(t, a, "Aarhus Kommune", "55133018", SenderPublic)
	first := deliverSearchable(t, f, f.nid, "n1", "Skoleindskrivning", "Velkommen")
	onA := mustLogin(t, a, f.nid, testPassword)
	if got := searchSubjects(t, onA, SearchQuery{Text: "skole"}); len(got) != 1 {
		t.Fatalf("on A: %q", got)
	}
	fb := &fixture{s: b, clock: clock, nid: f.nid, sender: f.sender}
	deliverSearchable(t, fb, f.nid, "n2", "Skolefoto", "Bestil")
	onB := mustLogin(t, b, f.nid, testPassword)
	if got := searchSubjects(t, onB, SearchQuery{Text: "skole"}); len(got) != 2 {
		t.Fatalf("on B: %q", got)
	}
	deleteLetterNow(t, b, first)
	if got := searchSubjects(t, onA, SearchQuery{Text: "skole"}); !slices.Equal(got, []string{"Skolefoto"}) {
		t.Errorf("on A after B stored and deleted: %q", got)
	}
}

// TestSearchIndexStoredMeanwhile: when another session stores the index
// while a search updates it, the search does not overwrite it: it starts
// again from the stored one, and nothing is lost or indexed twice.
func TestSearchIndexStoredMeanwhile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	deliverSearchable(t, f, f.nid, "m1", "Første", "Brev")
	one := mustLogin(t, f.s, f.nid, testPassword)
	two := mustLogin(t, f.s, f.nid, testPassword)
	if got := searchSubjects(t, one, SearchQuery{Text: "brev"}); len(got) != 1 {
		t.Fatalf("first search: %q", got)
	}
	_, v := storedIndex(t, one)
	deliverSearchable(t, f, f.nid, "m2", "Andet", "Brev")
	deliverSearchable(t, f, f.nid, "m3", "Tredje", "Brev")
	ran := false
	f.s.hookIndexStore = func() {
		if ran {
			return
		}
		ran = true
		if got := searchSubjects(t, two, SearchQuery{Text: "brev"}); len(got) != 3 {
			t.Errorf("the other session: %q", got)
		}
	}
	if got := searchSubjects(t, one, SearchQuery{Text: "brev"}); !slices.Equal(got, []string{"Tredje", "Andet", "Første"}) {
		t.Errorf("the session whose update met another: %q", got)
	}
	if !ran {
		t.Fatal("the hook did not run")
	}
	ix, v2 := storedIndex(t, one)
	if v2 != v+1 || len(ix.docs) != 3 {
		t.Errorf("stored: version %d (was %d), %d letters", v2, v, len(ix.docs))
	}
}

// TestSearchHeldLetters: a letter made inaccessible is not found, nor
// its words shown, while held, whether it was indexed before or after;
// it is found again once released.
func TestSearchHeldLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := deliverSearchable(t, f, f.nid, "h1", "Retssag om arv", "Fortroligt")
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if got := searchSubjects(t, mb, SearchQuery{Text: "fortroligt"}); len(got) != 1 {
		t.Fatalf("before the hold: %q", got)
	}
	after := deliverSearchable(t, f, f.nid, "h2", "Retssag om skifte", "Fortroligt")
	for _, id := range []string{before, after} {
		if _, err := f.s.MakeInaccessible(context.Background(), id, "Retskendelse", "Retten i Aarhus, sag 12-345"); err != nil {
			t.Fatal(err)
		}
	}
	if got := searchSubjects(t, mb, SearchQuery{Text: "retssag fortroligt"}); len(got) != 0 {
		t.Errorf("held letters found: %q", got)
	}
	if err := f.s.MakeAccessible(context.Background(), after); err != nil {
		t.Fatal(err)
	}
	if got := searchSubjects(t, mb, SearchQuery{Text: "retssag fortroligt"}); !slices.Equal(got, []string{"Retssag om skifte"}) {
		t.Errorf("after releasing one: %q", got)
	}
}

// TestSearchCache: the opened indexes are bounded in number and in bytes
// (the least recently used go first, never the one in use), and go when
// their session would have expired or logs out.
func TestSearchCache(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	c := newSearchCache(3, 1000, 30*time.Minute, 12*time.Hour)
	for i, id := range []string{"a", "b", "c", "d"} {
		c.entry(id, "r", now.Add(time.Duration(i)*time.Minute)).ix = newSearchIndex()
	}
	if c.cached("a") || !c.cached("b") || !c.cached("d") {
		t.Errorf("by number: a %v, b %v, d %v", c.cached("a"), c.cached("b"), c.cached("d"))
	}
	c.settle("b", 400)
	c.settle("c", 400)
	c.settle("d", 400) // over 1000: the least recently used other than d goes
	if c.cached("b") || !c.cached("c") || !c.cached("d") {
		t.Errorf("by bytes: b %v, c %v, d %v", c.cached("b"), c.cached("c"), c.cached("d"))
	}
	c.settle("d", 5000) // alone over the budget: it stays, being in use
	if !c.cached("d") || c.cached("c") {
		t.Errorf("one over the budget: c %v, d %v", c.cached("c"), c.cached("d"))
	}
	c.prune(now.Add(3*time.Minute + 30*time.Minute))
	if c.cached("d") {
		t.Error("an index idle for the session idle time is kept")
	}
	e := c.entry("e", "r", now)
	e.ix = newSearchIndex()
	for i := range 29 { // used every 25 minutes, last at 11:40 after its start
		c.entry("e", "r", now.Add(time.Duration(i)*25*time.Minute))
	}
	if !c.cached("e") {
		t.Fatal("an index in use is dropped")
	}
	c.prune(now.Add(12 * time.Hour))
	if c.cached("e") {
		t.Error("an index older than the session lifetime is kept")
	}
	c.entry("f", "r", now).ix = newSearchIndex()
	c.drop("f")
	if c.cached("f") {
		t.Error("an index is kept after logout")
	}
	// Another resident on a session id (never, but): a new entry.
	c.entry("g", "r", now).ix = newSearchIndex()
	if c.entry("g", "other", now).ix != nil {
		t.Error("an entry is shared across residents")
	}
}
