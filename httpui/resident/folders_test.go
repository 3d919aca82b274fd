package resident_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// deliverMany delivers n letters to the resident nid from a sender of the
// environment, oldest first, and returns their ids, newest first (the
// order of the pages). Letter i is "Letter i"; every tenth is an invoice.
func deliverMany(t *testing.T, e *uitest.Env, senderID, nid string, n int) []string {
	t.Helper()
	number, err := store.ParseNationalID(nid)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range n {
		typ := store.TypeLetter
		if i%10 == 0 {
			typ = store.TypeInvoice
		}
		res, err := e.Store.Deliver(context.Background(), senderID, store.Delivery{Recipient: number,
			Subject: fmt.Sprintf("Letter %d", i), SenderReference: fmt.Sprintf("%s-%d", nid, i), Type: typ,
			Documents: []store.DocumentInput{{Name: "letter.txt", ContentType: "text/plain", Content: []byte("Dear resident")}}})
		if err != nil {
			t.Fatal(err)
		}
		ids[n-1-i] = res.Letter.ID
	}
	return ids
}

// checkboxes returns the ids a folder page offers to choose, in order.
func checkboxes(page string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`name="id" value="([0-9a-f]{32})"`).FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// nextPage returns the URL of the page of older letters, "" if none.
func nextPage(page string) string {
	m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// TestFolderPages: the inbox is paginated, 50 a page, counted ("Letters
// 51–100 of 120") with the unread letters counted in the folders'
// navigation; the letters chosen are archived, moved, marked read and
// unread from the page; the resident's own folders are made, renamed and
// deleted when empty; names and cursors that are wrong are refused with a
// clear answer, changing nothing.
func TestFolderPages(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	ids := deliverMany(t, e, s.ID, uitest.NIDAnna, 120)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	// Three pages, newest first, each numbered.
	var seen []string
	next := e.HTTPURL + "/"
	for _, want := range []string{"Letters 1–50 of 120", "Letters 51–100 of 120", "Letters 101–120 of 120"} {
		page := e.Get(b, next)
		if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, want) || !strings.Contains(page.Text, "120 unread") {
			t.Fatalf("%s: %d, want %q\n%s", next, page.StatusCode, want, page.Text)
		}
		seen = append(seen, checkboxes(page.Text)...)
		next = nextPage(page.Text)
		if next != "" {
			next = e.HTTPURL + next
		}
	}
	if next != "" {
		t.Errorf("a page after the last: %s", next)
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("the pages listed %d letters, not the 120 newest first", len(seen))
	}
	// The navigation counts the unread letters of the inbox.
	first := e.Get(b, e.HTTPURL+"/")
	if !regexp.MustCompile(`aria-current="page"><span class="folder-name">Inbox</span> <span class="count-unread">120<span class="visually-hidden"> unread`).MatchString(first.Text) {
		t.Errorf("the navigation does not count the inbox's unread letters:\n%s", first.Text)
	}

	act := func(c *http.Client, form url.Values, header http.Header) *uitest.Response {
		return e.PostForm(c, e.HTTPURL+"/letters/actions", form, header)
	}
	// Archive three, mark two read, all from the first page.
	r := act(b, url.Values{"from": {""}, "action": {"archive"}, "id": ids[:3]}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/?done=moved&n=3" {
		t.Fatalf("archive: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	if page := e.Get(b, e.HTTPURL+r.Header.Get("Location")); !strings.Contains(page.Text, "3 letters have been moved.") ||
		!strings.Contains(page.Text, "Letters 1–50 of 117") {
		t.Errorf("after archiving:\n%s", page.Text)
	}
	archive := e.Get(b, e.HTTPURL+"/folders/archive")
	if got := checkboxes(archive.Text); strings.Join(got, ",") != strings.Join(ids[:3], ",") || !strings.Contains(archive.Text, "<h1>Archive</h1>") ||
		!strings.Contains(archive.Text, `value="inbox"`) {
		t.Errorf("the archive lists %v, want %v\n%s", got, ids[:3], archive.Text)
	}
	if r := act(b, url.Values{"from": {""}, "action": {"read"}, "id": ids[3:5]}, nil); r.Header.Get("Location") != "/?done=read&n=2" {
		t.Fatalf("mark read: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if page := e.Get(b, e.HTTPURL+"/?done=read&n=2"); !strings.Contains(page.Text, "2 letters have been marked as read.") || !strings.Contains(page.Text, "115 unread") {
		t.Errorf("after marking read:\n%s", page.Text)
	}
	if r := act(b, url.Values{"from": {""}, "action": {"unread"}, "id": ids[3:4]}, nil); r.Header.Get("Location") != "/?done=unread&n=1" {
		t.Fatalf("mark unread: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if page := e.Get(b, e.HTTPURL+"/?done=unread&n=1"); !strings.Contains(page.Text, "The letter has been marked as unread.") || !strings.Contains(page.Text, "116 unread") {
		t.Errorf("after marking unread:\n%s", page.Text)
	}

	// An own folder: made, letters moved in, refused deletion while not
	// empty, renamed, emptied, deleted.
	if r := e.PostForm(b, e.HTTPURL+"/folders", url.Values{"name": {"Skat"}}, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/folders?done=created" {
		t.Fatalf("create: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	manage := e.Get(b, e.HTTPURL+"/folders?done=created")
	m := regexp.MustCompile(`action="/folders/([0-9a-f]{32})/rename"`).FindStringSubmatch(manage.Text)
	if m == nil || !strings.Contains(manage.Text, "The folder has been created.") || !strings.Contains(manage.Text, `value="Skat"`) {
		t.Fatalf("the folders page after creating:\n%s", manage.Text)
	}
	skat := m[1]
	if r := act(b, url.Values{"from": {"archive"}, "action": {"move"}, "to": {skat}, "id": ids[:2]}, nil); r.Header.Get("Location") != "/folders/archive?done=moved&n=2" {
		t.Fatalf("move: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	if page := e.Get(b, e.HTTPURL+"/folders/"+skat); strings.Join(checkboxes(page.Text), ",") != strings.Join(ids[:2], ",") || !strings.Contains(page.Text, "<h1>Skat</h1>") ||
		!strings.Contains(page.Text, "<title>Skat — Postkasse</title>") {
		t.Errorf("the folder's page:\n%s", page.Text)
	}
	if r := e.PostForm(b, e.HTTPURL+"/folders/"+skat+"/delete", nil, nil); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Text, "There are still letters in the folder.") {
		t.Errorf("deleting a folder with letters: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.PostForm(b, e.HTTPURL+"/folders", url.Values{"name": {"skat"}}, nil); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Text, "You already have a folder with that name.") || !strings.Contains(r.Text, `value="skat"`) {
		t.Errorf("a second folder of the same name: %d\n%s", r.StatusCode, r.Text)
	}
	for _, bad := range []string{"", "two\nlines", "bidi\u202eevil", strings.Repeat("x", 61)} {
		if r := e.PostForm(b, e.HTTPURL+"/folders/"+skat+"/rename", url.Values{"name": {bad}}, nil); r.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(r.Text, "Write a name of 1 to 60 characters on one line.") || !strings.Contains(r.Text, `aria-invalid="true"`) {
			t.Errorf("renaming to %q: %d\n%s", bad, r.StatusCode, r.Text)
		}
	}
	if r := e.PostForm(b, e.HTTPURL+"/folders/"+skat+"/rename", url.Values{"name": {"Skat og moms"}}, nil); r.Header.Get("Location") != "/folders?done=renamed" {
		t.Fatalf("rename: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	if r := act(b, url.Values{"from": {skat}, "action": {"inbox"}, "id": ids[:2]}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("move back: %d\n%s", r.StatusCode, r.Text)
	}
	if r := e.PostForm(b, e.HTTPURL+"/folders/"+skat+"/delete", nil, nil); r.Header.Get("Location") != "/folders?done=deleted" {
		t.Fatalf("delete an empty folder: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	if r := e.Get(b, e.HTTPURL+"/folders/"+skat); r.StatusCode != http.StatusNotFound {
		t.Errorf("a deleted folder's page: %d", r.StatusCode)
	}

	// Wrong input: answered, nothing changed.
	before := e.Get(b, e.HTTPURL+"/").Text
	for _, form := range []url.Values{
		{"from": {""}, "action": {"shred"}, "id": ids[5:6]},
		{"from": {""}, "action": {"read"}, "id": {"../../etc/passwd"}},
		{"from": {"../x"}, "action": {"read"}, "id": ids[5:6]},
		{"from": {""}, "action": {"move"}, "to": {"nowhere"}, "id": ids[5:6]},
		{"from": {""}, "action": {"read"}, "id": ids[:51]},
	} {
		if r := act(b, form, nil); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", form, r.StatusCode)
		}
	}
	if r := act(b, url.Values{"from": {""}, "action": {"move"}, "to": {strings.Repeat("0", 32)}, "id": ids[5:6]}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("moving to a folder that does not exist: %d, want 404", r.StatusCode)
	}
	if r := act(b, url.Values{"from": {""}, "action": {"read"}}, nil); r.Header.Get("Location") != "/?done=none" {
		t.Errorf("no letter chosen: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	for _, u := range []string{"/?after=zz", "/?after=" + strings.Repeat("a", 300), "/folders/archive?after=" + url.QueryEscape(cursorOf(t, e, b, "/"))} {
		if r := e.Get(b, e.HTTPURL+u); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", u, r.StatusCode)
		}
	}
	if after := e.Get(b, e.HTTPURL+"/").Text; after != before {
		t.Error("refused actions changed the inbox")
	}
}

// cursorOf returns the cursor of the next page of a folder's first page.
func cursorOf(t *testing.T, e *uitest.Env, b *http.Client, path string) string {
	t.Helper()
	next := nextPage(e.Get(b, e.HTTPURL+path).Text)
	u, err := url.Parse(next)
	if err != nil || u.Query().Get("after") == "" {
		t.Fatalf("no cursor on %s: %q", path, next)
	}
	return u.Query().Get("after")
}

// TestFolderPagesAuthorization: another resident, a signed-out browser and
// a cross-site form get nothing of a resident's folders and letters and
// change nothing: not the letters' folders or marks, not the folders'
// names, not an invoice's payment.
func TestFolderPagesAuthorization(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	ids := deliverMany(t, e, s.ID, uitest.NIDAnna, 11) // ids[10] is the invoice (the oldest)
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if r := e.PostForm(anna, e.HTTPURL+"/folders", url.Values{"name": {"Privat"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", r.StatusCode)
	}
	folder := regexp.MustCompile(`action="/folders/([0-9a-f]{32})/rename"`).FindStringSubmatch(e.Get(anna, e.HTTPURL+"/folders").Text)[1]
	if r := e.PostForm(anna, e.HTTPURL+"/letters/actions", url.Values{"from": {""}, "action": {"move"}, "to": {folder}, "id": ids[:1]}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("move: %d", r.StatusCode)
	}
	state := func() string {
		t.Helper()
		return e.Get(anna, e.HTTPURL+"/").Text + e.Get(anna, e.HTTPURL+"/folders").Text + e.Get(anna, e.HTTPURL+"/folders/"+folder).Text +
			e.Get(anna, e.HTTPURL+"/folders/archive").Text
	}
	before := state()

	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	signedOut := e.Browser()
	posts := []struct {
		path string
		form url.Values
	}{
		{"/letters/actions", url.Values{"from": {""}, "action": {"archive"}, "id": ids[1:3]}},
		{"/letters/actions", url.Values{"from": {""}, "action": {"read"}, "id": ids[1:3]}},
		{"/letters/actions", url.Values{"from": {folder}, "action": {"inbox"}, "id": ids[:1]}},
		{"/folders/" + folder + "/rename", url.Values{"name": {"Stjålet"}}},
		{"/folders/" + folder + "/delete", nil},
		{"/letters/" + ids[10] + "/paid", url.Values{"paid": {"yes"}}},
	}
	for _, p := range posts {
		if r := e.PostForm(bjorn, e.HTTPURL+p.path, p.form, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("another resident's POST %s %v: %d, want 404", p.path, p.form, r.StatusCode)
		}
		if r := e.PostForm(signedOut, e.HTTPURL+p.path, p.form, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("signed-out POST %s: %d %s, want 303 to /login", p.path, r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.PostForm(anna, e.HTTPURL+p.path, p.form, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", p.path, r.StatusCode)
		}
	}
	for _, path := range []string{"/folders/" + folder, "/letters/" + ids[0]} {
		if r := e.Get(bjorn, e.HTTPURL+path); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "Privat") || strings.Contains(r.Text, "Letter 10") {
			t.Errorf("another resident's GET %s: %d", path, r.StatusCode)
		}
		if r := e.Get(signedOut, e.HTTPURL+path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("signed-out GET %s: %d", path, r.StatusCode)
		}
	}
	// Bjørn's own pages show nothing of Anna's.
	for _, path := range []string{"/", "/folders", "/folders/archive"} {
		if r := e.Get(bjorn, e.HTTPURL+path); r.StatusCode != http.StatusOK || strings.Contains(r.Text, "Privat") || strings.Contains(r.Text, "Letter ") {
			t.Errorf("Bjørn's %s shows Anna's:\n%s", path, r.Text)
		}
	}
	if after := state(); after != before {
		t.Error("the refused requests changed Anna's mailbox")
	}
}

// TestInvoicePaid: a resident marks an invoice paid and not paid from its
// page; the page and the folder's list say so; a letter that is no invoice
// cannot be marked (409) and a wrong value is a 400.
func TestInvoicePaid(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	ids := deliverMany(t, e, s.ID, uitest.NIDAnna, 2) // ids[1] the invoice, ids[0] a letter
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	page := e.Get(b, e.HTTPURL+"/letters/"+ids[1])
	if !strings.Contains(page.Text, "Mark as paid") || strings.Contains(page.Text, "Mark as not paid") {
		t.Fatalf("an unpaid invoice's page:\n%s", page.Text)
	}
	r := e.PostForm(b, e.HTTPURL+"/letters/"+ids[1]+"/paid", url.Values{"paid": {"yes"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/letters/"+ids[1]+"?saved=paid" {
		t.Fatalf("mark paid: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	page = e.Get(b, e.HTTPURL+r.Header.Get("Location"))
	if !strings.Contains(page.Text, "You marked it as paid on") || !strings.Contains(page.Text, "Mark as not paid") || !strings.Contains(page.Text, "Saved.") {
		t.Errorf("a paid invoice's page:\n%s", page.Text)
	}
	if inbox := e.Get(b, e.HTTPURL+"/"); !strings.Contains(inbox.Text, `<span class="badge badge-paid">Paid</span>`) {
		t.Errorf("the inbox does not say the invoice is paid")
	}
	if n := e.AuditCount("mark-paid"); n != 1 {
		t.Errorf("%d mark-paid entries, want 1", n)
	}
	if r := e.PostForm(b, e.HTTPURL+"/letters/"+ids[1]+"/paid", url.Values{"paid": {"no"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark not paid: %d", r.StatusCode)
	}
	if page := e.Get(b, e.HTTPURL+"/letters/"+ids[1]); !strings.Contains(page.Text, "Mark as paid") {
		t.Errorf("after marking not paid:\n%s", page.Text)
	}
	if r := e.PostForm(b, e.HTTPURL+"/letters/"+ids[0]+"/paid", url.Values{"paid": {"yes"}}, nil); r.StatusCode != http.StatusConflict {
		t.Errorf("marking a letter that is no invoice: %d, want 409", r.StatusCode)
	}
	if r := e.PostForm(b, e.HTTPURL+"/letters/"+ids[1]+"/paid", url.Values{"paid": {"maybe"}}, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("paid=maybe: %d, want 400", r.StatusCode)
	}
	if page := e.Get(b, e.HTTPURL+"/letters/"+ids[0]); strings.Contains(page.Text, "Mark as paid") {
		t.Errorf("a letter that is no invoice offers to mark it paid")
	}
}

// TestFolderPagesLanguages: the folder pages in Danish and Norwegian.
func TestFolderPagesLanguages(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	deliverMany(t, e, s.ID, uitest.NIDAnna, 3)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	for lang, want := range map[string][]string{
		"da": {"<h1>Indbakke</h1>", "Markér som læst", "Administrer mapper", "3 ulæste"},
		"nb": {"<h1>Innboks</h1>", "Merk som lest", "Administrer mapper", "3 uleste"},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/", nil)
		req.Header.Set("Accept-Language", lang)
		page := e.Do(b, req)
		for _, w := range want {
			if !strings.Contains(page.Text, w) {
				t.Errorf("%s: the inbox lacks %q", lang, w)
			}
		}
	}
}

// TestDueList: the list of due dates shows the inbox's letters with a due
// date, the soonest first, counted in the navigation; marking an invoice
// paid or archiving a letter from the list takes it off and comes back to
// the list; another resident's list has none of them.
func TestDueList(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	number, err := store.ParseNationalID(uitest.NIDAnna)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range []struct{ subject, due string }{{"Ejendomsskat", "2027-03-01"}, {"Nyhedsbrev", ""}, {"Daginstitution", "2027-01-15"}, {"Vand", "2027-02-01"}} {
		res, err := e.Store.Deliver(context.Background(), s.ID, store.Delivery{Recipient: number, Subject: c.subject,
			SenderReference: c.subject, Type: store.TypeInvoice, DueDate: c.due,
			Documents: []store.DocumentInput{{Name: "faktura.pdf", ContentType: "application/pdf", Content: uitest.PDFDoc}}})
		if err != nil {
			t.Fatal(err)
		}
		ids[c.subject] = res.Letter.ID
	}
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	subjects := func(page string) string {
		var out []string
		for _, m := range regexp.MustCompile(`<a href="/letters/[0-9a-f]{32}">([^<]+)</a>`).FindAllStringSubmatch(page, -1) {
			out = append(out, m[1])
		}
		return strings.Join(out, ",")
	}
	page := e.Get(b, e.HTTPURL+"/due")
	if page.StatusCode != http.StatusOK || subjects(page.Text) != "Daginstitution,Vand,Ejendomsskat" || !strings.Contains(page.Text, "3 letters with a due date") ||
		!strings.Contains(page.Text, `<span class="folder-name">Due dates</span> <span class="count-due">3</span>`) {
		t.Fatalf("the due dates: %d %q\n%s", page.StatusCode, subjects(page.Text), page.Text)
	}
	if r := e.PostForm(b, e.HTTPURL+"/letters/"+ids["Daginstitution"]+"/paid", url.Values{"paid": {"yes"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark paid: %d", r.StatusCode)
	}
	r := e.PostForm(b, e.HTTPURL+"/letters/actions", url.Values{"from": {"due"}, "action": {"archive"}, "id": {ids["Ejendomsskat"]}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/due?done=moved&n=1" {
		t.Fatalf("archive from the due dates: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if page := e.Get(b, e.HTTPURL+r.Header.Get("Location")); subjects(page.Text) != "Vand" || !strings.Contains(page.Text, "The letter has been moved.") {
		t.Errorf("the due dates after paying and archiving: %q\n%s", subjects(page.Text), page.Text)
	}
	if r := e.Get(b, e.HTTPURL+"/due?after=zz"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a bad cursor: %d", r.StatusCode)
	}
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	if page := e.Get(bjorn, e.HTTPURL+"/due"); subjects(page.Text) != "" || !strings.Contains(page.Text, "No letter in your inbox has a due date") {
		t.Errorf("Bjørn's due dates:\n%s", page.Text)
	}
	if r := e.Get(e.Browser(), e.HTTPURL+"/due"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d", r.StatusCode)
	}
}

// TestDeleteFromFolder: letters deleted from the archive's page go back
// to the archive, which says so; one deleted from its own page goes back
// to the folder it was in.
func TestDeleteFromFolder(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	ids := deliverMany(t, e, s.ID, uitest.NIDAnna, 3)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if r := e.PostForm(b, e.HTTPURL+"/letters/actions", url.Values{"from": {""}, "action": {"archive"}, "id": ids[:2]}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("archive: %d", r.StatusCode)
	}
	confirm := e.PostForm(b, e.HTTPURL+"/letters/delete", url.Values{"from": {"archive"}, "id": ids[:1]}, nil)
	if !strings.Contains(confirm.Text, `name="from" value="archive"`) || !strings.Contains(confirm.Text, `href="/folders/archive"`) {
		t.Fatalf("the confirmation does not go back to the archive:\n%s", confirm.Text)
	}
	r := e.PostForm(b, e.HTTPURL+"/letters/delete", url.Values{"from": {"archive"}, "id": ids[:1], "confirm": {"1"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/folders/archive?deleted=1" {
		t.Fatalf("deleting from the archive: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if page := e.Get(b, e.HTTPURL+r.Header.Get("Location")); !strings.Contains(page.Text, "<h1>Archive</h1>") || strings.Count(page.Text, `name="id" value=`) != 1 {
		t.Errorf("the archive after deleting:\n%s", page.Text)
	}
	// From the letter's own page: back to its folder.
	confirm = e.Get(b, e.HTTPURL+"/letters/"+ids[1]+"/delete")
	if !strings.Contains(confirm.Text, `name="from" value="archive"`) {
		t.Errorf("the confirmation from the letter's page does not know its folder:\n%s", confirm.Text)
	}
}
