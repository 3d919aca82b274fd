package resident_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// postExport asks for the export with c and returns the answer.
func postExport(e *uitest.Env, c *http.Client, header http.Header) *uitest.Response {
	e.T.Helper()
	return e.PostForm(c, e.HTTPURL+"/settings/export", url.Values{}, header)
}

// postImport uploads archive with c as the import form does.
func postImport(e *uitest.Env, c *http.Client, archive []byte, header http.Header) *uitest.Response {
	e.T.Helper()
	ct, body := uitest.MultipartBody(uitest.Part{Name: "export", Filename: "postkasse.zip", ContentType: "application/zip", Body: archive})
	req, err := http.NewRequest(http.MethodPost, e.HTTPURL+"/settings/import", bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

// verifyArchive opens and verifies an export archive.
func verifyArchive(t *testing.T, archive []byte) (*store.ExportArchive, store.ExportReport) {
	t.Helper()
	a, err := store.OpenExport(bytes.NewReader(archive), int64(len(archive)), store.DefaultExportLimits())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Verify()
	if err != nil {
		t.Fatal(err)
	}
	return a, rep
}

// TestExportAndImportPages: a resident takes their mail out from the
// settings and brings it into a second appliance, where the letters show
// that they came from another Postkasse; a second upload adds nothing; a
// changed file and another resident's file are refused with a clear
// message, in the resident's language, and store nothing.
func TestExportAndImportPages(t *testing.T) {
	t.Parallel()
	one := apptest.NewEnv(t, apptest.Options{})
	one.AddResident(uitest.NIDAnna, "Anna Jensen")
	snd := one.AddSender("Skattestyrelsen", "19552101")
	for _, ref := range []string{"a", "b"} {
		if r := one.Deliver(snd.Client, uitest.ValidDelivery(ref)...); r.StatusCode != http.StatusCreated {
			t.Fatalf("delivery: %d %s", r.StatusCode, r.Text)
		}
	}
	b := one.Browser()
	one.Login(b, one.HTTPURL, uitest.NIDAnna)
	if r := one.Get(b, one.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/export">Take your mail out or bring it in</a>`) {
		t.Errorf("the settings page does not link to the export page")
	}
	page := one.Get(b, one.HTTPURL+"/settings/export")
	for _, want := range []string{"<h1>Take your mail with you</h1>", `action="/settings/export"`, `action="/settings/import"`,
		`enctype="multipart/form-data"`, `type="file"`, `accept=".zip,application/zip"`} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("export page lacks %q", want)
		}
	}
	r := postExport(one, b, nil)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename=postkasse-`) || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %v", r.StatusCode, r.Header)
	}
	archive := []byte(r.Text)
	a, rep := verifyArchive(t, archive)
	if rep.Letters != 2 || a.Manifest.Resident.NationalID != uitest.NIDAnna || a.Manifest.Letters[0].Sender.Name != "Skattestyrelsen" {
		t.Fatalf("the export: %+v %+v", rep, a.Manifest.Resident)
	}
	if n := one.AuditCount("export"); n != 1 {
		t.Errorf("%d export entries, want 1", n)
	}

	// The second appliance: Anna moved; the sender is not known there.
	two := apptest.NewEnv(t, apptest.Options{})
	two.AddResident(uitest.NIDAnna, "Anna Jensen")
	two.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	b2 := two.Browser()
	two.Login(b2, two.HTTPURL, uitest.NIDAnna)

	// A changed byte: refused, said plainly, nothing stored.
	tampered := bytes.Clone(archive)
	i := bytes.Index(tampered, []byte("%PDF-1.4"))
	tampered[i+2] = 'Q'
	r = postImport(two, b2, tampered, nil)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "Your letters were not brought in") ||
		!strings.Contains(r.Text, "Nothing from the file has been saved") || !strings.Contains(r.Text, `aria-invalid="true"`) {
		t.Fatalf("a changed file: %d\n%s", r.StatusCode, r.Text)
	}
	if !strings.Contains(r.Text, "has been changed") && !strings.Contains(r.Text, "damaged") {
		t.Errorf("a changed file: no reason given\n%s", r.Text)
	}
	if n := two.AuditCount("import"); n != 0 {
		t.Fatalf("a refused import stored %d letters", n)
	}
	// Not a file at all.
	if r := postImport(two, b2, nil, nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "Choose the file") {
		t.Errorf("no file: %d\n%s", r.StatusCode, r.Text)
	}

	r = postImport(two, b2, archive, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Your letters have been brought in") || !strings.Contains(r.Text, "2 letters were added") {
		t.Fatalf("import: %d\n%s", r.StatusCode, r.Text)
	}
	inbox := two.Get(b2, two.HTTPURL+"/")
	if strings.Count(inbox.Text, "From another Postkasse") != 2 || !strings.Contains(inbox.Text, "Skattestyrelsen") {
		t.Errorf("the inbox after the import:\n%s", inbox.Text)
	}
	mb := openMailbox(t, two.Store, uitest.NIDAnna)
	letters, err := mb.Inbox(context.Background())
	if err != nil || len(letters) != 2 {
		t.Fatalf("inbox: %d %v", len(letters), err)
	}
	letter := two.Get(b2, two.HTTPURL+"/letters/"+letters[0].ID)
	if !strings.Contains(letter.Text, "brought in here on") || !strings.Contains(letter.Text, "Your tax assessment") {
		t.Errorf("the letter page of an imported letter:\n%s", letter.Text)
	}
	// The receipt part shows the letter id the receipt states: the id
	// the letter had where it was delivered.
	if !strings.Contains(letter.Text, "<code>"+a.Manifest.Letters[0].ID+"</code>") && !strings.Contains(letter.Text, "<code>"+a.Manifest.Letters[1].ID+"</code>") {
		t.Errorf("the imported letter's page does not show the id its receipt states")
	}
	// Deleting an imported letter tells no sender here, and the
	// confirmation says so.
	if confirm := two.Get(b2, two.HTTPURL+"/letters/"+letters[0].ID+"/delete"); !strings.Contains(confirm.Text, "its sender is not told that you deleted it") ||
		strings.Contains(confirm.Text, "The sender will be able to see") {
		t.Errorf("the confirmation of deleting an imported letter:\n%s", confirm.Text)
	}
	if r := postImport(two, b2, archive, nil); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "0 letters were added") ||
		!strings.Contains(r.Text, "2 letters were already here") {
		t.Errorf("the second import: %d\n%s", r.StatusCode, r.Text)
	}

	// Anna's file uploaded by Bjørn, in Danish: refused.
	bj := two.Browser()
	two.Login(bj, two.HTTPURL, uitest.NIDBjorn)
	r = postImport(two, bj, archive, http.Header{"Accept-Language": {"da"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "Filen er en anden persons postkasse") {
		t.Errorf("another resident's file: %d\n%s", r.StatusCode, r.Text)
	}
	if letters, _ := openMailbox(t, two.Store, uitest.NIDBjorn).Inbox(context.Background()); len(letters) != 0 {
		t.Errorf("another resident's file put %d letters in Bjørn's mailbox", len(letters))
	}
}

// TestExportAuthorization: a signed-out browser and a cross-site form
// get no export and import nothing; another resident's export holds none
// of this resident's letters.
func TestExportAuthorization(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	snd := e.AddSender("Skattestyrelsen", "19552101")
	if r := e.Deliver(snd.Client, uitest.ValidDelivery("a")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery: %d %s", r.StatusCode, r.Text)
	}
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	archive := []byte(postExport(e, anna, nil).Text)
	verifyArchive(t, archive)

	// Signed out: to the login page, no archive, nothing stored.
	out := e.Browser()
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, r := range []*uitest.Response{postExport(e, out, nil), postImport(e, out, archive, nil), e.Get(out, e.HTTPURL+"/settings/export")} {
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" || strings.HasPrefix(r.Text, "PK") {
			t.Errorf("signed out: %d %v", r.StatusCode, r.Header)
		}
	}
	// Cross-site forms: refused before the handler.
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	if r := postExport(e, anna, crossSite); r.StatusCode != http.StatusForbidden || strings.HasPrefix(r.Text, "PK") {
		t.Errorf("cross-site export: %d %v", r.StatusCode, r.Header)
	}
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	if r := postImport(e, bjorn, archive, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site import: %d", r.StatusCode)
	}
	if n := e.AuditCount("export"); n != 1 {
		t.Errorf("%d exports audited, want Anna's one", n)
	}
	// Bjørn's export: his mailbox (empty), none of Anna's.
	theirs := []byte(postExport(e, bjorn, nil).Text)
	a, rep := verifyArchive(t, theirs)
	if rep.Letters != 0 || a.Manifest.Resident.NationalID != uitest.NIDBjorn {
		t.Errorf("Bjørn's export: %+v %+v", rep, a.Manifest.Resident)
	}
	zr, err := zip.NewReader(bytes.NewReader(theirs), int64(len(theirs)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(b, []byte("Your tax assessment")) || bytes.Contains(b, []byte(uitest.NIDAnna)) {
			t.Errorf("Bjørn's export holds Anna's mail in %s", f.Name)
		}
	}
	if n := e.AuditCount("import"); n != 0 {
		t.Errorf("%d letters imported", n)
	}
}

// openMailbox signs a resident in to the store directly and opens the
// mailbox, to look at it beside the pages.
func openMailbox(t *testing.T, st *store.Store, nid string) *store.Mailbox {
	t.Helper()
	sess, err := st.Login(context.Background(), nid, uitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mb.Close)
	return mb
}

// TestImportTooLarge: an upload over the appliance's limit on imports
// is cut off, and an archive whose documents are over it is refused
// before any is read; each says so and stores nothing.
func TestImportTooLarge(t *testing.T) {
	t.Parallel()
	one := apptest.NewEnv(t, apptest.Options{})
	one.AddResident(uitest.NIDAnna, "Anna Jensen")
	snd := one.AddSender("Skattestyrelsen", "19552101")
	big := append(bytes.Clone(uitest.PDFDoc), bytes.Repeat([]byte{'x'}, 90<<10)...)
	if r := one.Deliver(snd.Client, uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Årsopgørelse", "big")),
		uitest.DocumentPart("aarsopgoerelse.pdf", "application/pdf", big)); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery: %d %s", r.StatusCode, r.Text)
	}
	b := one.Browser()
	one.Login(b, one.HTTPURL, uitest.NIDAnna)
	archive := []byte(postExport(one, b, nil).Text)

	limits := store.DefaultLimits()
	limits.MaxImportSize = 64 << 10
	two := apptest.NewEnv(t, apptest.Options{Limits: limits})
	two.AddResident(uitest.NIDAnna, "Anna Jensen")
	b2 := two.Browser()
	two.Login(b2, two.HTTPURL, uitest.NIDAnna)
	for name, upload := range map[string][]byte{
		"an archive over the limit": archive,
		"an upload over the limit":  bytes.Repeat([]byte("PK"), 100<<10),
	} {
		r := postImport(two, b2, upload, nil)
		if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.Text, "The file is too large") ||
			!strings.Contains(r.Text, "Nothing from the file has been saved") {
			t.Errorf("%s: %d\n%s", name, r.StatusCode, r.Text)
		}
	}
	if n := two.AuditCount("import"); n != 0 {
		t.Errorf("%d letters imported", n)
	}
}
