package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// ownFiles are the files of a test upload: a text and a PDF.
func ownFiles() []DocumentInput {
	return []DocumentInput{
		{Name: `C:\Scans\lejekontrakt.txt`, ContentType: "text/plain; charset=utf-8", Content: []byte("Lejekontrakt for Søndergade 3")},
		{Name: "side2.pdf", ContentType: "application/pdf", Content: pdfContent},
	}
}

// TestUpload: files uploaded into a folder become one own document there,
// sealed like a letter: titled by the first file's name when no title is
// given, listed as the resident's own and not unread, opened with its
// files as uploaded; no receipt, no sender among the senders, no event
// for any sender; audited ("upload").
func TestUpload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "one")); err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	home, err := mb.CreateFolder(ctx, "Bolig")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	id, err := mb.Upload(ctx, home.ID, "", ownFiles())
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := mb.FolderPage(ctx, home.ID, "", 50)
	if err != nil || len(page) != 1 {
		t.Fatalf("folder page: %+v, %v", page, err)
	}
	sum := page[0]
	if sum.ID != id || !sum.Own || sum.Unread() || sum.Subject != "lejekontrakt.txt" || sum.SenderName != "" ||
		sum.Documents != 2 || !sum.DeliveredAt.Equal(f.clock.Now()) || sum.Error != nil {
		t.Errorf("the upload listed as %+v", sum)
	}
	rec := rawLetter(t, f.s, id)
	if rec.Own == nil || rec.SenderID != ownSenderID(f.resident.ID) || rec.SenderReference != id || rec.Listing == nil ||
		rec.ContentHash != "" || len(rec.Receipt.Payload) != 0 {
		t.Errorf("the record %s: own %v sender %q reference %q listing %v hash %q receipt %v", id, rec.Own, rec.SenderID, rec.SenderReference, rec.Listing != nil, rec.ContentHash, rec.Receipt)
	}
	folders, err := mb.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if folders[2].Letters != 1 || folders[2].Unread != 0 {
		t.Errorf("the folder counts %+v", folders[2])
	}
	l, err := mb.Letter(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Own || l.Subject != "lejekontrakt.txt" || len(l.Documents) != 2 || l.Documents[0].Name != "lejekontrakt.txt" ||
		l.Documents[0].ContentType != "text/plain" || l.Documents[1].ContentType != "application/pdf" {
		t.Errorf("the upload opened: %+v", l)
	}
	for i, want := range ownFiles() {
		doc, err := mb.Document(ctx, id, i)
		if err != nil || !bytes.Equal(doc.Content, want.Content) {
			t.Errorf("file %d: %q, %v", i, doc.Content, err)
		}
	}
	if _, err := mb.Receipt(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("the receipt of an own document: %v", err)
	}
	senders, err := mb.Senders(ctx)
	if err != nil || len(senders) != 1 || senders[0].Sender.ID != f.sender.ID {
		t.Errorf("senders with an own document: %+v, %v", senders, err)
	}
	if n := countAction(t, f.s, "upload"); n != 1 {
		t.Errorf("%d upload entries in the audit log", n)
	}
	// A title given is the title.
	id2, err := mb.Upload(ctx, FolderInbox, "  Forsikringspolice 2026 ", ownFiles()[1:])
	if err != nil {
		t.Fatal(err)
	}
	if l, err := mb.Letter(ctx, id2); err != nil || l.Subject != "Forsikringspolice 2026" || l.Folder != FolderInbox {
		t.Errorf("titled upload: %+v, %v", l.LetterSummary, err)
	}
	// No sender hears of any of it.
	for _, sender := range []string{f.sender.ID, ownSenderID(f.resident.ID)} {
		evs, _, err := f.s.Events(ctx, sender, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.LetterID == id || e.LetterID == id2 {
				t.Errorf("an event of an own document: %+v", e)
			}
		}
	}
}

// TestUploadRefused: files over the limits, of a type the sender API does
// not take or whose content is not of the declared type, bad names and
// titles, an unknown folder or another resident's: each refused with its
// error, and nothing stored.
func TestUploadRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixtureWith(t, func(o *Options) {
		o.Limits = DefaultLimits()
		o.Limits.MaxDocuments = 2
		o.Limits.MaxDocumentSize = 1000
		o.Limits.MaxLetterSize = 1500
	})
	mb := mustLogin(t, f.s, f.nid, testPassword)
	mustResident(t, f.s, testNID(t, 3), "Bo Berg")
	mbOther := mustLogin(t, f.s, testNID(t, 3), testPassword)
	theirs, err := mbOther.CreateFolder(ctx, "Mit")
	if err != nil {
		t.Fatal(err)
	}
	text := func(name string, n int) DocumentInput {
		return DocumentInput{Name: name, ContentType: "text/plain", Content: bytes.Repeat([]byte("a"), n)}
	}
	isInvalid := func(field string) func(error) bool {
		return func(err error) bool {
			var inv *InvalidError
			return errors.As(err, &inv) && strings.HasPrefix(inv.Field, field)
		}
	}
	is := func(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }
	for _, c := range []struct {
		name   string
		folder string
		title  string
		files  []DocumentInput
		want   func(error) bool
	}{
		{"no file", FolderInbox, "", nil, isInvalid("document")},
		{"too large", FolderInbox, "", []DocumentInput{text("a.txt", 1001)}, is(ErrDocumentTooLarge)},
		{"too large together", FolderInbox, "", []DocumentInput{text("a.txt", 800), text("b.txt", 800)}, is(ErrDocumentTooLarge)},
		{"too many", FolderInbox, "", []DocumentInput{text("a.txt", 1), text("b.txt", 1), text("c.txt", 1)}, isInvalid("document")},
		{"a program", FolderInbox, "", []DocumentInput{{Name: "a.exe", ContentType: "application/octet-stream", Content: []byte("MZ\x90\x00")}}, is(ErrUnsupportedDocumentType)},
		{"not the type declared", FolderInbox, "", []DocumentInput{{Name: "a.pdf", ContentType: "application/pdf", Content: []byte("no PDF")}}, is(ErrUnsupportedDocumentType)},
		{"an image that is text", FolderInbox, "", []DocumentInput{{Name: "a.jpg", ContentType: "image/jpeg", Content: []byte("hello")}}, is(ErrUnsupportedDocumentType)},
		{"binary as text", FolderInbox, "", []DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("a\x00b")}}, is(ErrUnsupportedDocumentType)},
		{"no content type", FolderInbox, "", []DocumentInput{{Name: "a.txt", Content: []byte("a")}}, is(ErrUnsupportedDocumentType)},
		{"a name with a bidi control", FolderInbox, "", []DocumentInput{text("Faktura\u202Efdp.txt", 1)}, isInvalid("document")},
		{"no name", FolderInbox, "", []DocumentInput{text("", 1)}, isInvalid("document")},
		{"a title of two lines", FolderInbox, "a\nb", []DocumentInput{text("a.txt", 1)}, isInvalid("title")},
		{"a title with a format character", FolderInbox, "a\u200Bb", []DocumentInput{text("a.txt", 1)}, isInvalid("title")},
		{"a title too long", FolderInbox, strings.Repeat("x", 201), []DocumentInput{text("a.txt", 1)}, isInvalid("title")},
		{"an unknown folder", "00000000000000000000000000000000", "", []DocumentInput{text("a.txt", 1)}, is(ErrNotFound)},
		{"another resident's folder", theirs.ID, "", []DocumentInput{text("a.txt", 1)}, is(ErrNotFound)},
	} {
		before := digest(t, f.s)
		id, err := mb.Upload(ctx, c.folder, c.title, c.files)
		if err == nil || !c.want(err) {
			t.Errorf("%s: %q, %v", c.name, id, err)
		}
		if digest(t, f.s) != before {
			t.Errorf("%s: something was stored", c.name)
		}
	}
	if n := seamCounts(t, f.s)["letters"]; n != 0 {
		t.Errorf("%d letters after refused uploads", n)
	}

	// Refused at the commit, after the files were sealed and written (the
	// session ended meanwhile): nothing stays, not even the sealed files.
	sess, err := f.s.Login(ctx, f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	late, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := f.s.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	before := seamCounts(t, f.s)
	if _, err := late.Upload(ctx, FolderInbox, "", []DocumentInput{text("a.txt", 10)}); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("upload in an ended session: %v", err)
	}
	if after := seamCounts(t, f.s); after["letters"] != before["letters"] || after["documents"] != before["documents"] {
		t.Errorf("an upload refused at the commit left %v (before %v)", after, before)
	}
	f.clock.Advance(time.Since(f.clock.Now()) + BlobGrace + time.Minute)
	if n, _, err := f.s.SweepBlobs(ctx); err != nil || n != 0 {
		t.Errorf("the refused upload left %d blobs to sweep (%v)", n, err)
	}
}

// TestOwnDocumentRenameMoveDelete: the resident renames an own document
// (the listing and the search follow the new title; the old is not found),
// moves it and deletes it for good (its tombstone, no event for any
// sender); a sender's letter cannot be renamed, and another resident
// can do none of it.
func TestOwnDocumentRenameMoveDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	res, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "one"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	f.clock.Advance(time.Minute)
	id, err := mb.Upload(ctx, FolderInbox, "Kvittering cykel", ownFiles())
	if err != nil {
		t.Fatal(err)
	}
	if found, err := mb.Search(ctx, SearchQuery{Text: "cykel", Limit: 10}); err != nil || len(found.Hits) != 1 || found.Hits[0].ID != id || !found.Hits[0].Own {
		t.Fatalf("search for the title: %+v, %v", found, err)
	}
	// The text of the file is found too.
	if found, err := mb.Search(ctx, SearchQuery{Text: "søndergade", Limit: 10}); err != nil || len(found.Hits) != 1 || found.Hits[0].ID != id {
		t.Fatalf("search for the file's text: %+v, %v", found, err)
	}

	mustResident(t, f.s, testNID(t, 3), "Bo Berg")
	mbOther := mustLogin(t, f.s, testNID(t, 3), testPassword)
	if err := mbOther.RenameDocument(ctx, id, "Mine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident renames: %v", err)
	}
	if err := mbOther.MoveLetters(ctx, []string{id}, FolderArchive); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident moves: %v", err)
	}
	if err := mbOther.DeleteLetters(ctx, []string{id}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident deletes: %v", err)
	}
	if _, err := mbOther.Document(ctx, id, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident opens: %v", err)
	}
	if err := mb.RenameDocument(ctx, res.Letter.ID, "Min titel"); !errors.Is(err, ErrNotFound) {
		t.Errorf("renaming a sender's letter: %v", err)
	}
	if err := mb.RenameDocument(ctx, id, " "); err == nil {
		t.Error("an empty title accepted")
	}

	if err := mb.RenameDocument(ctx, id, "Kvittering elcykel"); err != nil {
		t.Fatal(err)
	}
	page, _, err := mb.InboxPage(ctx, "", 50)
	if err != nil || len(page) != 2 || page[0].ID != id || page[0].Subject != "Kvittering elcykel" {
		t.Fatalf("inbox after the rename: %+v, %v", page, err)
	}
	if found, err := mb.Search(ctx, SearchQuery{Text: "elcykel", Limit: 10}); err != nil || len(found.Hits) != 1 || found.Hits[0].ID != id {
		t.Errorf("search for the new title: %+v, %v", found, err)
	}
	if found, err := mb.Search(ctx, SearchQuery{Text: "cykel", Limit: 10}); err != nil || len(found.Hits) != 0 {
		t.Errorf("search for the old title: %+v, %v", found, err)
	}

	if err := mb.MoveLetters(ctx, []string{id}, FolderArchive); err != nil {
		t.Fatal(err)
	}
	if l, err := mb.Letter(ctx, id); err != nil || l.Folder != FolderArchive {
		t.Errorf("after the move: %+v, %v", l.LetterSummary, err)
	}
	if err := mb.DeleteLetters(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Letter(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("a deleted own document opens: %v", err)
	}
	rec := rawLetter(t, f.s, id)
	if !rec.IsTombstone() || rec.Own == nil || len(checkTombstone(rec)) != 0 {
		t.Errorf("the tombstone: %+v", rec)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.LetterID == id || e.Type == EventDeleted {
			t.Errorf("an event of the own document: %+v", e)
		}
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("the sender's status of an own document: %+v, %v", st, err)
	}
	if found, err := mb.Search(ctx, SearchQuery{Text: "elcykel", Limit: 10}); err != nil || len(found.Hits) != 0 {
		t.Errorf("a deleted own document found: %+v, %v", found, err)
	}
}

// TestExportImportOwnDocuments: own documents go into the export under
// archive/ and in the manifest's "archive", verify offline, and come back
// on another appliance as own documents, in their folder, with their
// title, files and time; importing again, or back home, adds nothing. A
// changed byte of an own document's file is refused.
func TestExportImportOwnDocuments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, mbA, _ := exportFixture(t)
	home, err := mbA.CreateFolder(ctx, "Papirer")
	if err != nil {
		t.Fatal(err)
	}
	saved := a.clock.Now()
	id, err := mbA.Upload(ctx, home.ID, "Skøde", ownFiles())
	if err != nil {
		t.Fatal(err)
	}
	archive, sum := exportOf(t, mbA)
	if sum.Letters != 3 || sum.Own != 1 || sum.Documents != 6 {
		t.Fatalf("export summary %+v", sum)
	}
	ex, err := openExportBytes(archive)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ex.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Letters != 3 || rep.Own != 1 || rep.Documents != 6 {
		t.Errorf("report %+v", rep)
	}
	if len(ex.Manifest.Archive) != 1 {
		t.Fatalf("archive %+v", ex.Manifest.Archive)
	}
	o := ex.Manifest.Archive[0]
	if o.ID != id || o.Title != "Skøde" || o.Folder != "own" || o.FolderName != "Papirer" || !o.Saved.Equal(saved) || len(o.Documents) != 2 ||
		o.Documents[0].Path != "archive/"+id+"/1-lejekontrakt.txt" || o.Documents[0].Name != "lejekontrakt.txt" {
		t.Errorf("the own document in the manifest: %+v", o)
	}
	for _, l := range ex.Manifest.Letters {
		if l.ID == id {
			t.Error("the own document is among the letters")
		}
	}
	if got := fileOf(t, archive, o.Documents[0].Path); !bytes.Equal(got, ownFiles()[0].Content) {
		t.Errorf("the file in the archive: %q", got)
	}

	// Another appliance.
	clock := newFakeClock()
	clock.Advance(24 * time.Hour)
	b := openTestStore(t, testOptions(clock))
	mustResident(t, b, a.nid, "Anna Andersen")
	mbB := mustLogin(t, b, a.nid, testPassword)
	res, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 4 || res.Repeated != 0 {
		t.Fatalf("import %+v", res)
	}
	folders, err := mbB.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var papers Folder
	for _, f := range folders {
		if f.Name == "Papirer" {
			papers = f
		}
	}
	page, _, err := mbB.FolderPage(ctx, papers.ID, "", 50)
	if err != nil || len(page) != 1 {
		t.Fatalf("the folder after the import: %+v %+v, %v", papers, page, err)
	}
	got := page[0]
	if !got.Own || got.Subject != "Skøde" || !got.DeliveredAt.Equal(saved) || got.Unread() || got.ImportedFrom != nil {
		t.Errorf("the imported own document: %+v", got)
	}
	if rec := rawLetter(t, b, got.ID); rec.Own == nil || rec.Own.Imported.IsZero() || rec.SenderReference != id {
		t.Errorf("its record: %+v", rec.Own)
	}
	for i, want := range ownFiles() {
		doc, err := mbB.Document(ctx, got.ID, i)
		if err != nil || !bytes.Equal(doc.Content, want.Content) {
			t.Errorf("file %d after the import: %v", i, err)
		}
	}
	if res, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive))); err != nil || res.Imported != 0 || res.Repeated != 4 {
		t.Fatalf("the second import: %+v %v", res, err)
	}
	// B's export names the document by its first id; back home it is
	// there already.
	archiveB, _ := exportOf(t, mbB)
	exB, err := openExportBytes(archiveB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exB.Verify(); err != nil {
		t.Fatal(err)
	}
	if len(exB.Manifest.Archive) != 1 || exB.Manifest.Archive[0].ID != id {
		t.Errorf("B's archive: %+v", exB.Manifest.Archive)
	}
	if res, err := mbA.Import(ctx, bytes.NewReader(archiveB), int64(len(archiveB))); err != nil || res.Imported != 0 || res.Repeated != 4 {
		t.Fatalf("importing back home: %+v %v", res, err)
	}

	// A changed byte of the own document's file.
	tampered := rezip(t, archive, func(name string, content []byte) []byte {
		if name == o.Documents[0].Path {
			return bytes.Replace(content, []byte("Søndergade"), []byte("Søndergadf"), 1)
		}
		return content
	})
	extampered, err := openExportBytes(tampered)
	if err == nil {
		_, err = extampered.Verify()
	}
	if !isProblem(err, ExportTampered) {
		t.Errorf("a changed own document: %v", err)
	}
	// A file of an own document that is not of its type: refused whole.
	bad := rezip(t, archive, func(name string, content []byte) []byte {
		if name == exportManifest {
			return bytes.Replace(content, []byte(`"contentType":"text/plain"`), []byte(`"contentType":"application/x-msdownload"`), 1)
		}
		return content
	})
	c := openTestStore(t, testOptions(newFakeClock()))
	mustResident(t, c, a.nid, "Anna Andersen")
	mbC := mustLogin(t, c, a.nid, testPassword)
	before := digest(t, c)
	if _, err := mbC.Import(ctx, bytes.NewReader(bad), int64(len(bad))); !isProblem(err, ExportNotAnExport) {
		t.Errorf("an own document of a foreign type: %v", err)
	}
	if digest(t, c) != before {
		t.Error("a refused import stored something")
	}
}

// TestRetentionOwnDocuments: after the resident's death an own document
// is kept as long as a private sender's letter (DeceasedPrivate), by the
// same code the preview shows.
func TestRetentionOwnDocuments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	id, err := mb.Upload(ctx, FolderInbox, "", ownFiles())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "public")); err != nil {
		t.Fatal(err)
	}
	err = f.s.view(ctx, func(tx storage.Tx) error {
		var kinds []SenderKind
		err := forEachLetterKind(tx, f.resident.ID, func(rec *letterRecord, kind SenderKind) error {
			if rec.ID == id {
				kinds = append(kinds, kind)
			}
			return nil
		})
		if len(kinds) != 1 || kinds[0] != SenderPrivate {
			t.Errorf("the own document's retention kind: %v", kinds)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
