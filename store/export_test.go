package store

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/postkasse/postkasse/store/storage"
)

// exportOf exports mb's mailbox and returns the archive.
func exportOf(t testing.TB, mb *Mailbox) ([]byte, ExportSummary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := mb.Export(context.Background(), &buf, "postkasse.test", t.TempDir())
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes(), sum
}

// openExportBytes opens an archive with the default limits.
func openExportBytes(b []byte) (*ExportArchive, error) {
	return OpenExport(bytes.NewReader(b), int64(len(b)), DefaultExportLimits())
}

// exportFixture is a store with three letters for one resident: one in
// the archive and read, one with a sanitised HTML document in an own
// folder, one unread in the inbox; and the resident's export.
func exportFixture(t testing.TB) (*fixture, *Mailbox, []string) {
	t.Helper()
	return exportFixtureOf(t, newFixture(t))
}

// exportFixtureOf is exportFixture on the store of f.
func exportFixtureOf(t testing.TB, f *fixture) (*fixture, *Mailbox, []string) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	d1 := testDelivery(f.nid, "one")
	d2 := testDelivery(f.nid, "two")
	d2.Subject, d2.Type, d2.DueDate = "Faktura for vand", TypeInvoice, ""
	d2.Documents = append(d2.Documents, DocumentInput{Name: `C:\breve\besked.html`, ContentType: "text/html; charset=utf-8",
		Content: []byte("<p>Hej <b>Anna</b><script>alert(1)</script></p>")})
	d3 := testDelivery(f.nid, "three")
	d3.Sensitive, d3.Body = true, "Privat."
	bank := mustSender(t, f.s, "Andelskassen", "12345674", SenderPrivate)
	for i, d := range []Delivery{d1, d2, d3} {
		from := f.sender.ID
		if i == 2 {
			from = bank.ID
		}
		res, err := f.s.Deliver(ctx, from, d)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Letter.ID)
		f.clock.Advance(time.Minute)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := mb.Letter(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(ctx, ids[:1], FolderArchive); err != nil {
		t.Fatal(err)
	}
	home, err := mb.CreateFolder(ctx, "Bolig")
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(ctx, ids[1:2], home.ID); err != nil {
		t.Fatal(err)
	}
	return f, mb, ids
}

// TestExportImport: a resident's export holds every letter with its
// documents and receipt and verifies offline; a second appliance that
// has never heard of the sender imports it for the same resident, keeping
// sender, delivery time, read state, folder and receipt, sealed anew; a
// second import adds nothing; the second appliance's export verifies too,
// with the first appliance's key for the letters it imported; and the
// first appliance, importing that, finds its own letters already there.
func TestExportImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, mbA, ids := exportFixture(t)
	archive, sum := exportOf(t, mbA)
	if sum.Letters != 3 || sum.Documents != 4 || sum.Withheld != 0 {
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
	keyA := ex.Manifest.Appliance.ReceiptKey.KeyID
	if rep.Letters != 3 || rep.Documents != 4 || rep.Keys[keyA] != 3 || rep.Sanitised != 1 {
		t.Errorf("report %+v", rep)
	}
	m := ex.Manifest
	if m.Format != ExportFormat || m.Resident.NationalID != a.nid.Number || m.Resident.Name != "Anna Andersen" || m.Appliance.Name != "postkasse.test" {
		t.Errorf("manifest head %+v %+v %+v", m.Format, m.Resident, m.Appliance)
	}
	byID := map[string]ExportLetter{}
	for _, l := range m.Letters {
		byID[l.ID] = l
	}
	if l := byID[ids[0]]; l.Folder != "archive" || !l.Read || l.Sender.Name != "Aarhus Kommune" || l.Sender.OrgNumber != "55133018" ||
		l.Sender.Kind != SenderPublic || l.Subject != "Afgørelse om boligstøtte" || len(l.Documents) != 1 ||
		!strings.HasPrefix(l.Documents[0].Path, "letters/"+ids[0]+"/1-") {
		t.Errorf("letter 1 in the manifest: %+v", l)
	}
	if l := byID[ids[2]]; l.Sender.Name != "Andelskassen" || l.Sender.Kind != SenderPrivate || !l.Sensitive {
		t.Errorf("letter 3 in the manifest: %+v", l)
	}
	if l := byID[ids[1]]; l.Folder != "own" || l.FolderName != "Bolig" || l.Read || len(l.Documents) != 2 ||
		l.Documents[1].Name != "besked.html" || l.Documents[1].Sent == nil || l.Documents[1].Sent.Name != `C:\breve\besked.html` {
		t.Errorf("letter 2 in the manifest: %+v", l)
	}
	zr, _ := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "archive/ ") {
		t.Errorf("no archive/ folder in %v", names)
	}

	// The second appliance: the same resident, no sender at all.
	clock := newFakeClock()
	clock.Advance(24 * time.Hour)
	b := openTestStore(t, testOptions(clock))
	mustResident(t, b, a.nid, "Anna Andersen")
	mbB := mustLogin(t, b, a.nid, testPassword)
	res, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 3 || res.Repeated != 0 {
		t.Fatalf("import %+v", res)
	}
	inbox, err := mbB.Inbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 3 {
		t.Fatalf("%d letters after the import", len(inbox))
	}
	folders, err := mbB.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) != 3 || folders[2].Name != "Bolig" || folders[2].Letters != 1 || folders[1].Letters != 1 {
		t.Errorf("folders after the import: %+v", folders)
	}
	for _, sum := range inbox {
		orig := byID[sum.ImportedFrom.originalID(t, b, sum.ID)]
		if sum.SenderName != orig.Sender.Name || sum.SenderKind != orig.Sender.Kind || !sum.DeliveredAt.Equal(orig.DeliveredAt) ||
			sum.ImportedFrom == nil || sum.ImportedFrom.KeyID != keyA || sum.ImportedFrom.Appliance != "postkasse.test" || sum.Unread() == orig.Read {
			t.Errorf("imported %+v from %+v", sum, orig)
		}
		l, err := mbB.Letter(ctx, sum.ID)
		if err != nil {
			t.Fatal(err)
		}
		if l.Subject != orig.Subject || l.Body != orig.Body || !bytes.Equal(l.Receipt.Payload, orig.Receipt.Payload) ||
			!bytes.Equal(l.Receipt.Signature, orig.Receipt.Signature) || l.SenderReference != orig.SenderReference {
			t.Errorf("imported letter %+v, want %+v", l, orig)
		}
		// The receipt verifies with the first appliance's key, kept
		// with the letter, and not with the second's.
		rec := rawLetter(t, b, sum.ID)
		if _, err := VerifyReceiptWith(rec.Imported.ReceiptKey, l.Receipt); err != nil {
			t.Errorf("the imported receipt: %v", err)
		}
		if _, err := b.VerifyReceipt(l.Receipt); err == nil {
			t.Error("an imported receipt verifies with the importing appliance's key")
		}
		for i, d := range l.Documents {
			doc, err := mbB.Document(ctx, sum.ID, i)
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != orig.Documents[i].Name || doc.ContentType != orig.Documents[i].ContentType || int(doc.Size) != len(doc.Content) {
				t.Errorf("document %d: %+v", i, d)
			}
		}
	}
	if n := countAction(t, b, "import"); n != 3 {
		t.Errorf("%d import entries in the audit log, want 3", n)
	}
	// Again: nothing new.
	if res, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive))); err != nil || res.Imported != 0 || res.Repeated != 3 {
		t.Fatalf("the second import: %+v %v", res, err)
	}
	if inbox, _ := mbB.Inbox(ctx); len(inbox) != 3 {
		t.Fatalf("%d letters after the second import", len(inbox))
	}

	// The second appliance's export: the first appliance's receipts, with
	// its key, verify.
	archiveB, _ := exportOf(t, mbB)
	exB, err := openExportBytes(archiveB)
	if err != nil {
		t.Fatal(err)
	}
	repB, err := exB.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if repB.Letters != 3 || repB.Keys[keyA] != 3 || exB.Manifest.Appliance.ReceiptKey.KeyID == keyA {
		t.Errorf("the second appliance's export: %+v", repB)
	}
	// Back home: the letters are there already.
	if res, err := mbA.Import(ctx, bytes.NewReader(archiveB), int64(len(archiveB))); err != nil || res.Imported != 0 || res.Repeated != 3 {
		t.Fatalf("importing the letters back: %+v %v", res, err)
	}
	if n := countAction(t, a.s, "export"); n != 1 {
		t.Errorf("%d export entries, want 1", n)
	}
}

// originalID returns the id an imported letter had where it came from.
func (o *LetterOrigin) originalID(t testing.TB, s *Store, id string) string {
	t.Helper()
	if o == nil {
		t.Fatalf("letter %s was not imported", id)
	}
	return rawLetter(t, s, id).Imported.LetterID
}

func countAction(t testing.TB, s *Store, action string) int {
	t.Helper()
	n := 0
	for _, a := range auditActions(t, s) {
		if a == action {
			n++
		}
	}
	return n
}

// TestImportRefused: an export of another national identity number, a
// corrupt, foreign or tampered archive, a ZIP bomb, unsafe and duplicate
// names: each refused with its problem and the file at fault, and nothing
// stored.
func TestImportRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, mbA, ids := exportFixture(t)
	archive, _ := exportOf(t, mbA)
	other := newFixture(t) // another appliance, another key
	for _, ref := range []string{"x", "y"} {
		if _, err := other.s.Deliver(ctx, other.sender.ID, testDelivery(other.nid, ref)); err != nil {
			t.Fatal(err)
		}
	}
	foreign, _ := exportOf(t, mustLogin(t, other.s, other.nid, testPassword))
	foreignManifest := fileOf(t, foreign, exportManifest)

	b := openTestStore(t, testOptions(newFakeClock()))
	mustResident(t, b, a.nid, "Anna Andersen")
	mbB := mustLogin(t, b, a.nid, testPassword)
	before := digest(t, b)

	docPath := ""
	for _, l := range manifestOf(t, archive).Letters {
		if l.ID == ids[0] {
			docPath = l.Documents[0].Path
		}
	}
	editManifest := func(edit func(*ExportManifest)) []byte {
		m := manifestOf(t, archive)
		edit(&m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return rezip(t, archive, func(name string, c []byte) []byte {
			if name == exportManifest {
				return b
			}
			return c
		})
	}
	for _, tc := range []struct {
		name    string
		archive []byte
		problem ExportProblem
		file    string
	}{
		{"not a ZIP", []byte("%PDF-1.4 hello"), ExportCorrupt, ""},
		{"cut short", archive[:len(archive)/2], ExportCorrupt, ""},
		{"empty ZIP", rezip(t, archive, func(string, []byte) []byte { return nil }), ExportNotAnExport, ""},
		{"a changed byte in a document", rezip(t, archive, func(name string, c []byte) []byte {
			if name == docPath {
				c = bytes.Clone(c)
				c[len(c)-3] ^= 1
			}
			return c
		}), ExportTampered, docPath},
		{"a changed subject", editManifest(func(m *ExportManifest) { m.Letters[0].Subject += "!" }), ExportTampered, exportManifest},
		{"a later delivery time", editManifest(func(m *ExportManifest) { m.Letters[1].DeliveredAt = m.Letters[1].DeliveredAt.Add(time.Hour) }),
			ExportTampered, exportManifest},
		{"another resident's number in the manifest", editManifest(func(m *ExportManifest) { m.Resident.NationalID = testNID(t, 3).Number }),
			ExportOtherResident, ""},
		{"another key", rezip(t, archive, func(name string, c []byte) []byte {
			if name == exportReceiptKey {
				return fileOf(t, foreign, exportReceiptKey)
			}
			return c
		}), ExportTampered, exportReceiptKey},
		{"a foreign appliance's key for these receipts", editManifest(func(m *ExportManifest) {
			m.Appliance.ReceiptKey = manifestOfBytes(t, foreignManifest).Appliance.ReceiptKey
		}), ExportTampered, exportReceiptKey},
		{"a file the manifest does not list", rezip(t, archive, nil, rawFile{name: "letters/notes.txt", content: []byte("hi")}),
			ExportNotAnExport, "letters/notes.txt"},
		{"a path climbing out", rezip(t, archive, nil, rawFile{name: "../../etc/cron.d/evil", content: []byte("x")}), ExportUnsafeName, `"../../etc/cron.d/evil"`},
		{"an absolute path", rezip(t, archive, nil, rawFile{name: "/etc/passwd", content: []byte("x")}), ExportUnsafeName, `"/etc/passwd"`},
		{"a backslash", rezip(t, archive, nil, rawFile{name: `letters\..\x`, content: []byte("x")}), ExportUnsafeName, `"letters\\..\\x"`},
		{"a duplicate name", rezip(t, archive, nil, rawFile{name: exportManifest, content: fileOf(t, archive, exportManifest)}),
			ExportDuplicateName, exportManifest},
		{"a duplicate name in another case", rezip(t, archive, nil, rawFile{name: strings.ToUpper(docPath), content: []byte("x")}),
			ExportDuplicateName, strings.ToUpper(docPath)},
		{"a file over the limit", rezip(t, archive, nil, rawFile{name: "letters/big", content: bytes.Repeat([]byte{0}, 11<<20)}),
			ExportTooLarge, "letters/big"},
		{"a file larger than its header says", rezip(t, archive, func(name string, c []byte) []byte {
			if name == docPath {
				return nil
			}
			return c
		}, rawFile{name: docPath, content: bytes.Repeat([]byte("A"), 1<<20), declare: int64(len(pdfContent))}), ExportTooLarge, docPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mbB.Import(ctx, bytes.NewReader(tc.archive), int64(len(tc.archive)))
			var ee *ExportError
			if !errors.As(err, &ee) {
				t.Fatalf("import: %v, want an ExportError", err)
			}
			if ee.Problem != tc.problem || (tc.file != "" && ee.File != tc.file) {
				t.Errorf("import: %s %q (%v), want %s %q", ee.Problem, ee.File, err, tc.problem, tc.file)
			}
			if d := digest(t, b); d != before {
				t.Error("a refused import stored something")
			}
		})
	}

	// An untouched export, of another resident's mailbox.
	c := openTestStore(t, testOptions(newFakeClock()))
	mustResident(t, c, testNID(t, 7), "Bo Berg")
	mbC := mustLogin(t, c, testNID(t, 7), testPassword)
	_, err := mbC.Import(ctx, bytes.NewReader(archive), int64(len(archive)))
	var ee *ExportError
	if !errors.As(err, &ee) || ee.Problem != ExportOtherResident {
		t.Errorf("another resident's export: %v", err)
	}
	if inbox, err := mbC.Inbox(ctx); err != nil || len(inbox) != 0 {
		t.Errorf("another resident's export stored %d letters (%v)", len(inbox), err)
	}

	// The receipts state the resident they were delivered to.
	renumbered := editManifest(func(m *ExportManifest) { m.Resident.NationalID = testNID(t, 3).Number })
	ex, err := openExportBytes(renumbered)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = ex.Verify(); !isProblem(err, ExportTampered) || !strings.Contains(err.Error(), "another recipient") {
		t.Errorf("a manifest of another resident: %v", err)
	}

	// Limits on the number of files.
	lim := DefaultExportLimits()
	lim.MaxFiles = 3
	if _, err := OpenExport(bytes.NewReader(archive), int64(len(archive)), lim); !isProblem(err, ExportTooLarge) {
		t.Errorf("more files than allowed: %v", err)
	}
	lim = DefaultExportLimits()
	lim.MaxTotalSize = 100
	if _, err := OpenExport(bytes.NewReader(archive), int64(len(archive)), lim); !isProblem(err, ExportTooLarge) {
		t.Errorf("more bytes than allowed: %v", err)
	}
}

func isProblem(err error, p ExportProblem) bool {
	var ee *ExportError
	return errors.As(err, &ee) && ee.Problem == p
}

// TestExportWithheld: a letter made inaccessible is named in the
// manifest, not exported; another resident's mailbox is not in an export.
func TestExportWithheld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, mb, ids := exportFixture(t)
	if _, err := f.s.MakeInaccessible(ctx, ids[2], "court order", "B-123/2026"); err != nil {
		t.Fatal(err)
	}
	nid2 := testNID(t, 2)
	mustResident(t, f.s, nid2, "Bo Berg")
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(nid2, "bo")); err != nil {
		t.Fatal(err)
	}
	archive, sum := exportOf(t, mb)
	m := manifestOf(t, archive)
	if sum.Letters != 2 || sum.Withheld != 1 || len(m.Letters) != 2 || len(m.Withheld) != 1 || m.Withheld[0].ID != ids[2] {
		t.Fatalf("summary %+v, manifest %d letters, withheld %+v", sum, len(m.Letters), m.Withheld)
	}
	if _, err := openExportBytes(archive); err != nil {
		t.Fatal(err)
	}
}

// manifestOf returns an archive's manifest, read without any check.
func manifestOf(t testing.TB, archive []byte) ExportManifest {
	t.Helper()
	return manifestOfBytes(t, fileOf(t, archive, exportManifest))
}

func manifestOfBytes(t testing.TB, b []byte) ExportManifest {
	t.Helper()
	var m ExportManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// fileOf returns the content of a file of an archive.
func fileOf(t testing.TB, archive []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawFile is a file rezip adds as it is: declare, when set, is the size
// its header states, whatever its content.
type rawFile struct {
	name    string
	content []byte
	declare int64
}

// rezip writes an archive's files again, each changed by edit (nil
// leaves them; edit returning nil drops one), and adds extra.
func rezip(t testing.TB, archive []byte, edit func(name string, content []byte) []byte, extra ...rawFile) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			if c = edit(f.Name, c); c == nil && !strings.HasSuffix(f.Name, "/") {
				continue
			}
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: f.Method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(c)
	}
	for _, x := range extra {
		if x.declare == 0 {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: x.name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(x.content)
			continue
		}
		// A header that lies: it declares fewer bytes than the
		// compressed data holds (a ZIP bomb's trick).
		var comp bytes.Buffer
		comp.Write(x.content)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: x.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(x.content[:x.declare]),
			CompressedSize64: uint64(len(x.content)), UncompressedSize64: uint64(x.declare)})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExportDamagedLetter: a letter whose document no longer opens is
// named in the manifest as unreadable and left out, whole; the rest of
// the mailbox exports, verifies and imports. On the engine of the pass:
// the document is damaged in the embedded file, or its object in the
// cluster's bucket.
func TestExportDamagedLetter(t *testing.T) {
	t.Parallel()
	exportDamagedLetter(t, newFixture(t))
}

// TestExportDamagedLetterFile is TestExportDamagedLetter on the embedded
// engine's file in both passes.
func TestExportDamagedLetterFile(t *testing.T) {
	t.Parallel()
	exportDamagedLetter(t, newEmbeddedFixture(t))
}

func exportDamagedLetter(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	f, mb, ids := exportFixtureOf(t, f)
	damageDocument(t, f.s, ids[1], 1)
	archive, sum := exportOf(t, mb)
	m := manifestOf(t, archive)
	if sum.Letters != 2 || sum.Unreadable != 1 || len(m.Unreadable) != 1 || m.Unreadable[0].ID != ids[1] {
		t.Fatalf("summary %+v, unreadable %+v", sum, m.Unreadable)
	}
	for _, name := range archiveNames(t, archive) {
		if strings.Contains(name, ids[1]) {
			t.Errorf("the damaged letter's %s is in the archive", name)
		}
	}
	ex, err := openExportBytes(archive)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := ex.Verify(); err != nil || rep.Letters != 2 || rep.Unreadable != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	b := openTestStore(t, testOptions(newFakeClock()))
	mustResident(t, b, f.nid, "Anna Andersen")
	res, err := mustLogin(t, b, f.nid, testPassword).Import(ctx, bytes.NewReader(archive), int64(len(archive)))
	if err != nil || res.Imported != 2 || res.Unreadable != 1 {
		t.Errorf("import: %+v %v", res, err)
	}
}

// TestExportWriteFails: an export whose reader goes away (the download
// broke off) fails with the writer's error and is not audited as made.
func TestExportWriteFails(t *testing.T) {
	t.Parallel()
	f, mb, _ := exportFixture(t)
	broken := errors.New("connection reset")
	_, err := mb.Export(context.Background(), &failingWriter{left: 200, err: broken}, "postkasse.test", t.TempDir())
	if !errors.Is(err, broken) {
		t.Fatalf("export to a broken writer: %v", err)
	}
	if n := countAction(t, f.s, "export"); n != 0 {
		t.Errorf("%d export entries for an export that failed", n)
	}
}

// failingWriter takes left bytes, then fails with err.
type failingWriter struct {
	left int
	err  error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, w.err
	}
	w.left -= len(p)
	return len(p), nil
}

// archiveNames lists the files of an archive.
func archiveNames(t testing.TB, archive []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

// TestImportFolderWithoutName: a letter of an own folder whose name did
// not open where it came from (the manifest has no name) goes into the
// inbox; a folder name with a control character is refused.
func TestImportFolderWithoutName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, mbA, ids := exportFixture(t)
	archive, _ := exportOf(t, mbA)
	withFolder := func(name string) []byte {
		m := manifestOf(t, archive)
		for i := range m.Letters {
			if m.Letters[i].ID == ids[1] {
				m.Letters[i].FolderName = name
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return rezip(t, archive, func(n string, c []byte) []byte {
			if n == exportManifest {
				return b
			}
			return c
		})
	}
	b := openTestStore(t, testOptions(newFakeClock()))
	mustResident(t, b, a.nid, "Anna Andersen")
	mbB := mustLogin(t, b, a.nid, testPassword)
	bad := withFolder("Bolig\u202e")
	if _, err := mbB.Import(ctx, bytes.NewReader(bad), int64(len(bad))); !isProblem(err, ExportNotAnExport) {
		t.Errorf("a folder name with a format character: %v", err)
	}
	nameless := withFolder("")
	if res, err := mbB.Import(ctx, bytes.NewReader(nameless), int64(len(nameless))); err != nil || res.Imported != 3 {
		t.Fatalf("import: %+v %v", res, err)
	}
	folders, err := mbB.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) != 2 || folders[0].Letters != 2 || folders[1].Letters != 1 {
		t.Errorf("folders: %+v", folders)
	}
}

// TestDeleteImported: an imported letter is found by search and deleted
// like any other; the
// senders page still opens (an imported letter's sender is of another
// appliance and is not listed), no event goes to a feed of this
// appliance, and importing the export again does not bring it back.
func TestDeleteImported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, mbA, _ := exportFixture(t)
	archive, _ := exportOf(t, mbA)
	clock := newFakeClock()
	clock.Advance(24 * time.Hour)
	b := openTestStore(t, testOptions(clock))
	mustResident(t, b, a.nid, "Anna Andersen")
	mbB := mustLogin(t, b, a.nid, testPassword)
	defer mbB.Close()
	if _, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive))); err != nil {
		t.Fatal(err)
	}
	inbox, err := mbB.Inbox(ctx)
	if err != nil || len(inbox) != 3 {
		t.Fatalf("inbox after import: %d, %v", len(inbox), err)
	}
	// Imported letters are found by their words and their sender's name.
	if got := searchSubjects(t, mbB, SearchQuery{Text: "boligstøtte"}); len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != "Afgørelse om boligstøtte" }) {
		t.Errorf("searching the imported letters: %q", got)
	}
	if got := searchSubjects(t, mbB, SearchQuery{Text: "aarhus"}); len(got) == 0 {
		t.Error("an imported letter's sender is not found")
	}
	if err := mbB.DeleteLetters(ctx, []string{inbox[0].ID}); err != nil {
		t.Fatal(err)
	}
	if senders, err := mbB.Senders(ctx); err != nil || len(senders) != 0 {
		t.Errorf("senders after deleting an imported letter: %+v, %v", senders, err)
	}
	err = b.view(ctx, func(tx storage.Tx) error {
		return tx.Events().All(func(e *storage.Event) error {
			return fmt.Errorf("an event for %s, %s", e.SenderID, e.Type)
		})
	})
	if err != nil {
		t.Error(err)
	}
	res, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive)))
	if err != nil || res.Imported != 0 {
		t.Errorf("importing again after a delete: %+v, %v", res, err)
	}
	if inbox, err := mbB.Inbox(ctx); err != nil || len(inbox) != 2 {
		t.Errorf("inbox after importing again: %d, %v", len(inbox), err)
	}
}

// damageDocument flips the last byte of a document's sealed content: in
// the embedded engine's file, or the cluster's object in the bucket.
func damageDocument(t *testing.T, s *Store, letterID string, index int) {
	t.Helper()
	if onEmbedded(s) {
		sealed := rawGetDocument(t, s, letterID, index)
		sealed[len(sealed)-1] ^= 1
		rawPutDocument(t, s, letterID, index, sealed)
		return
	}
	var key string
	withClusterConn(t, s, func(ctx context.Context, conn *pgx.Conn) {
		if err := conn.QueryRow(ctx, `SELECT blob_key FROM documents WHERE letter_id = $1 AND idx = $2`, letterID, index).Scan(&key); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	bucket := clusterConfig(t, s).Blobs.Bucket
	client := s3.Server(t).Client(t)
	obj, err := client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || len(sealed) == 0 {
		t.Fatalf("object %s: %d bytes, %v", key, len(sealed), err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := client.PutObject(ctx, bucket, key, bytes.NewReader(sealed), int64(len(sealed)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}
