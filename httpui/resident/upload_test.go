package resident_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// postUpload posts the folder page's upload form with c: the folder, the
// title and the files, as the browser sends them.
func postUpload(e *uitest.Env, c *http.Client, folder, title string, files []uitest.Part, header http.Header) *uitest.Response {
	e.T.Helper()
	parts := append([]uitest.Part{{Name: "folder", Body: []byte(folder)}, {Name: "title", Body: []byte(title)}}, files...)
	ct, body := uitest.MultipartBody(parts...)
	req, err := http.NewRequest(http.MethodPost, e.HTTPURL+"/documents", bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

// filePart is a file of the upload form.
func filePart(name, contentType string, body []byte) uitest.Part {
	return uitest.Part{Name: "file", Filename: name, ContentType: contentType, Body: body}
}

// ownID returns the id of the first own document a folder page lists.
func ownID(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<p class="letter-sender">Your own copy</p>.*?<a href="/letters/([0-9a-f]{32})"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no own document on the page:\n%s", page)
	}
	return m[1]
}

// TestUploadPages: every folder page has the upload form (a file chooser
// and the camera, the types and limits said); files saved from it are an
// own document in that folder, listed as the resident's own copy and not
// unread; its page says so, offers no receipt, and renames it; a bad
// upload or title is refused with a clear message, storing nothing.
func TestUploadPages(t *testing.T) {
	t.Parallel()
	lim := store.DefaultLimits()
	lim.MaxDocumentSize, lim.MaxLetterSize = 4096, 6144
	e := apptest.NewEnv(t, apptest.Options{Limits: lim})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	for _, path := range []string{"/", "/folders/archive"} {
		page := e.Get(b, e.HTTPURL+path)
		for _, want := range []string{`action="/documents" enctype="multipart/form-data"`, `name="file" accept="application/pdf,image/jpeg,image/png,text/plain,`,
			`capture="environment"`, "multiple", "At most 20 files, each at most 4 KB and together at most 6 KB."} {
			if !strings.Contains(page.Text, want) {
				t.Errorf("%s lacks %q:\n%s", path, want, page.Text)
			}
		}
	}
	if page := e.Get(b, e.HTTPURL+"/due"); strings.Contains(page.Text, `action="/documents"`) {
		t.Error("the list of due dates offers to save documents")
	}

	r := postUpload(e, b, "", "", []uitest.Part{filePart("lejekontrakt.txt", "text/plain", []byte("Lejekontrakt Søndergade 3")),
		{Name: "file", Filename: "", ContentType: "application/octet-stream"}}, nil) // the camera's input left empty
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/?done=uploaded" {
		t.Fatalf("upload: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	inbox := e.Get(b, e.HTTPURL+"/?done=uploaded")
	if !strings.Contains(inbox.Text, "Your document has been saved.") || !strings.Contains(inbox.Text, `<span class="badge badge-own">Own copy</span>`) ||
		strings.Contains(inbox.Text, "badge-unread") || !strings.Contains(inbox.Text, "lejekontrakt.txt") {
		t.Errorf("the inbox after the upload:\n%s", inbox.Text)
	}
	id := ownID(t, inbox.Text)
	page := e.Get(b, e.HTTPURL+"/letters/"+id)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, "Your own copy") || !strings.Contains(page.Text, "like a photocopy") ||
		strings.Contains(page.Text, "Download the receipt") || !strings.Contains(page.Text, `action="/letters/`+id+`/rename"`) ||
		!strings.Contains(page.Text, "/letters/"+id+"/delete") {
		t.Errorf("the own document's page: %d\n%s", page.StatusCode, page.Text)
	}
	if r := e.Get(b, e.HTTPURL+"/letters/"+id+"/receipt"); r.StatusCode != http.StatusNotFound {
		t.Errorf("the receipt of an own document: %d", r.StatusCode)
	}
	if r := e.Get(b, e.HTTPURL+"/letters/"+id+"/documents/0"); r.StatusCode != http.StatusOK || r.Text != "Lejekontrakt Søndergade 3" {
		t.Errorf("the file: %d %q", r.StatusCode, r.Text)
	}
	r = e.PostForm(b, e.HTTPURL+"/letters/"+id+"/rename", url.Values{"title": {"Lejekontrakt 2026"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/letters/"+id+"?saved=renamed" {
		t.Fatalf("rename: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if page := e.Get(b, e.HTTPURL+r.Header.Get("Location")); !strings.Contains(page.Text, "<h1>Lejekontrakt 2026</h1>") || !strings.Contains(page.Text, "The document has been renamed.") {
		t.Errorf("after the rename:\n%s", page.Text)
	}
	if r := e.PostForm(b, e.HTTPURL+"/letters/"+id+"/rename", url.Values{"title": {"two\nlines"}}, nil); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Text, "The title was not changed.") {
		t.Errorf("a title of two lines: %d\n%s", r.StatusCode, r.Text)
	}
	// Into the archive, titled, from the camera.
	r = postUpload(e, b, "archive", "Kvittering", []uitest.Part{filePart("image.jpg", "image/jpeg", append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, 32)...))}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/folders/archive?done=uploaded" {
		t.Fatalf("upload to the archive: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	if page := e.Get(b, e.HTTPURL+"/folders/archive"); !strings.Contains(page.Text, "Kvittering") {
		t.Errorf("the archive after the upload:\n%s", page.Text)
	}
	if n := e.AuditCount("upload"); n != 2 {
		t.Errorf("%d upload entries", n)
	}

	before := e.Get(b, e.HTTPURL+"/").Text + e.Get(b, e.HTTPURL+"/folders/archive").Text
	for _, c := range []struct {
		name   string
		folder string
		title  string
		files  []uitest.Part
		status int
		msg    string
	}{
		{"no file", "", "", nil, http.StatusBadRequest, "Choose a file to save."},
		{"a program", "", "", []uitest.Part{filePart("setup.exe", "application/x-msdownload", []byte("MZ\x90\x00"))}, http.StatusUnsupportedMediaType, "This kind of file cannot be saved"},
		{"a PDF that is none", "", "", []uitest.Part{filePart("a.pdf", "application/pdf", []byte("not a PDF"))}, http.StatusUnsupportedMediaType, "You can save PDF, JPEG, PNG and text files."},
		{"too large", "", "", []uitest.Part{filePart("a.txt", "text/plain", bytes.Repeat([]byte("a"), 4097))}, http.StatusRequestEntityTooLarge, "A file can be at most 4 KB"},
		{"too large together", "", "", []uitest.Part{filePart("a.txt", "text/plain", bytes.Repeat([]byte("a"), 4000)), filePart("b.txt", "text/plain", bytes.Repeat([]byte("a"), 4000))}, http.StatusRequestEntityTooLarge, "the files together at most 6 KB"},
		{"a title of two lines", "archive", "a\nb", []uitest.Part{filePart("a.txt", "text/plain", []byte("a"))}, http.StatusUnprocessableEntity, "The title must be a single line"},
	} {
		r := postUpload(e, b, c.folder, c.title, c.files, nil)
		if r.StatusCode != c.status || !strings.Contains(r.Text, c.msg) || !strings.Contains(r.Text, "Nothing was saved.") {
			t.Errorf("%s: %d, want %d with %q\n%s", c.name, r.StatusCode, c.status, c.msg, r.Text)
		}
	}
	if r := postUpload(e, b, "00000000000000000000000000000000", "", []uitest.Part{filePart("a.txt", "text/plain", []byte("a"))}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown folder: %d", r.StatusCode)
	}
	if r := postUpload(e, b, "../x", "", []uitest.Part{filePart("a.txt", "text/plain", []byte("a"))}, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a folder that is no id: %d", r.StatusCode)
	}
	if after := e.Get(b, e.HTTPURL+"/").Text + e.Get(b, e.HTTPURL+"/folders/archive").Text; after != before {
		t.Error("refused uploads changed the mailbox")
	}
	if n := e.AuditCount("upload"); n != 2 {
		t.Errorf("%d upload entries after the refusals", n)
	}
}

// TestUploadAuthorization: another resident, a signed-out browser and a
// cross-site form cannot save a document into a resident's folder,
// rename, move or delete one of their own documents, or see it; nothing
// changes.
func TestUploadAuthorization(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if r := e.PostForm(anna, e.HTTPURL+"/folders", url.Values{"name": {"Privat"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", r.StatusCode)
	}
	folder := regexp.MustCompile(`action="/folders/([0-9a-f]{32})/rename"`).FindStringSubmatch(e.Get(anna, e.HTTPURL+"/folders").Text)[1]
	if r := postUpload(e, anna, folder, "Skøde", []uitest.Part{filePart("skoede.pdf", "application/pdf", uitest.PDFDoc)}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", r.StatusCode, r.Text)
	}
	id := ownID(t, e.Get(anna, e.HTTPURL+"/folders/"+folder).Text)
	state := func() string {
		t.Helper()
		return e.Get(anna, e.HTTPURL+"/").Text + e.Get(anna, e.HTTPURL+"/folders/"+folder).Text + e.Get(anna, e.HTTPURL+"/letters/"+id).Text +
			e.Get(anna, e.HTTPURL+"/folders/archive").Text
	}
	before := state()
	uploads := e.AuditCount("upload")

	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	signedOut := e.Browser()
	file := []uitest.Part{filePart("x.txt", "text/plain", []byte("planted"))}
	if r := postUpload(e, bjorn, folder, "Planted", file, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("another resident's upload into the folder: %d", r.StatusCode)
	}
	if r := postUpload(e, signedOut, folder, "Planted", file, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("a signed-out upload: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := postUpload(e, anna, folder, "Planted", file, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site upload: %d", r.StatusCode)
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/letters/" + id + "/rename", url.Values{"title": {"Stjålet"}}},
		{"/letters/actions", url.Values{"from": {folder}, "action": {"archive"}, "id": {id}}},
		{"/letters/delete", url.Values{"id": {id}, "confirm": {"1"}}},
	}
	for _, p := range posts {
		if r := e.PostForm(bjorn, e.HTTPURL+p.path, p.form, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("another resident's POST %s: %d, want 404", p.path, r.StatusCode)
		}
		if r := e.PostForm(signedOut, e.HTTPURL+p.path, p.form, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("signed-out POST %s: %d %s", p.path, r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.PostForm(anna, e.HTTPURL+p.path, p.form, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", p.path, r.StatusCode)
		}
	}
	for _, path := range []string{"/letters/" + id, "/letters/" + id + "/documents/0"} {
		if r := e.Get(bjorn, e.HTTPURL+path); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "Skøde") {
			t.Errorf("another resident's GET %s: %d", path, r.StatusCode)
		}
		if r := e.Get(signedOut, e.HTTPURL+path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("signed-out GET %s: %d", path, r.StatusCode)
		}
	}
	if r := e.Get(bjorn, e.HTTPURL+"/"); strings.Contains(r.Text, "Skøde") || strings.Contains(r.Text, "Planted") {
		t.Errorf("Bjørn's inbox shows Anna's document:\n%s", r.Text)
	}
	if after := state(); after != before {
		t.Error("the refused requests changed Anna's mailbox")
	}
	if n := e.AuditCount("upload"); n != uploads {
		t.Errorf("%d upload entries after the refused uploads, want %d", n, uploads)
	}
}
