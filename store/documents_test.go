package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestDocumentForms: a letter's documents, stored as the engine of the
// pass stores them, pass the checks, open, and are deleted with the
// letter (TestDocumentFormsFile for the embedded file's three forms).
func TestDocumentForms(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, ctx := f.s, context.Background()
	d := testDelivery(f.nid, "forms")
	d.Documents = append(d.Documents, DocumentInput{Name: "b.txt", ContentType: "text/plain", Content: []byte("second")})
	res, err := s.Deliver(ctx, f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Letter.ID
	if err := s.CheckInvariants(ctx); err != nil {
		t.Errorf("CheckInvariants: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
	mb := mustLogin(t, s, f.nid, testPassword)
	for i, want := range [][]byte{pdfContent, []byte("second")} {
		doc, err := mb.Document(ctx, id, i)
		if err != nil || !bytes.Equal(doc.Content, want) {
			t.Errorf("Document %d = %q, %v", i, doc.Content, err)
		}
	}
	// Deleting the letter (as account deletion does) deletes its
	// documents.
	deleteLetterNow(t, s, id)
	if n := countKeys(t, s)["documents"]; n != 0 {
		t.Errorf("%d entries in documents after deleting, want 0", n)
	}
	if _, err := mb.Document(ctx, id, 0); err == nil {
		t.Error("a deleted document opened")
	}
}

// TestDocumentFormsFile: in the embedded engine's file, a letter's
// documents are stored in parts when they are all small, in a sub-bucket
// of the letter when one is large, and documents stored flat whole before
// schema 4 are still read. Letters of the three forms side by side in one
// file are opened, checked, exported and deleted, each without touching
// the others' documents.
func TestDocumentFormsFile(t *testing.T) {
	t.Parallel()
	f := newEmbeddedFixture(t)
	s := f.s
	ctx := context.Background()
	large := bytes.Repeat([]byte("Lang tekst om boligstøtte. "), 300) // over a page sealed
	deliver := func(ref string, second []byte) string {
		d := testDelivery(f.nid, ref)
		d.Documents = append(d.Documents, DocumentInput{Name: "b.txt", ContentType: "text/plain", Content: second})
		res, err := s.Deliver(ctx, f.sender.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		return res.Letter.ID
	}
	forms := map[string]string{
		"parts":      deliver("parts", []byte("second")),
		"sub-bucket": deliver("sub-bucket", large),
		"flat":       deliver("flat", []byte("second")),
	}
	contents := map[string][][]byte{
		"parts": {pdfContent, []byte("second")}, "sub-bucket": {pdfContent, large}, "flat": {pdfContent, []byte("second")},
	}
	// The flat form of before schema 4: letterID | uint16 index → the
	// whole sealed content.
	flatID := forms["flat"]
	sealed := [][]byte{rawGetDocument(t, s, flatID, 0), rawGetDocument(t, s, flatID, 1)}
	if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
		docs := tx.Bucket(bucketDocuments)
		var parts [][]byte
		c := docs.Cursor()
		for k, _ := c.Seek([]byte(flatID)); k != nil && bytes.HasPrefix(k, []byte(flatID)); k, _ = c.Next() {
			parts = append(parts, bytes.Clone(k))
		}
		if len(parts) < 2 {
			t.Errorf("the small letter's documents are in %d flat entries, want a part or more each", len(parts))
		}
		for _, k := range parts {
			if err := docs.Delete(k); err != nil {
				return err
			}
		}
		for i, c := range sealed {
			if err := docs.Put(documentKey(flatID, i), c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.testDB(t).View(func(tx *bolt.Tx) error {
		for form, id := range forms {
			if sub := tx.Bucket(bucketDocuments).Bucket([]byte(id)); (sub != nil) != (form == "sub-bucket") {
				t.Errorf("%s: sub-bucket present: %v", form, sub != nil)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkAll := func() {
		t.Helper()
		if err := s.CheckInvariants(ctx); err != nil {
			t.Errorf("CheckInvariants: %v", err)
		}
		if err := s.Check(ctx); err != nil {
			t.Errorf("Check: %v", err)
		}
	}
	checkAll()
	mb := mustLogin(t, s, f.nid, testPassword)
	opens := func(form string) {
		t.Helper()
		for i, want := range contents[form] {
			doc, err := mb.Document(ctx, forms[form], i)
			if err != nil || !bytes.Equal(doc.Content, want) {
				t.Errorf("%s: Document %d = %.20q, %v", form, i, doc.Content, err)
			}
		}
	}
	for form := range forms {
		opens(form)
	}
	if _, sum := exportOf(t, mb); sum.Letters != 3 || sum.Documents != 6 || sum.Unreadable != 0 ||
		sum.Bytes != int64(3*len(pdfContent)+2*len("second")+len(large)) {
		t.Errorf("export: %+v", sum)
	}
	// Deleting a letter (as account deletion does) deletes its documents
	// in its form, and no other letter's.
	left := maps.Clone(forms)
	for _, form := range []string{"parts", "flat", "sub-bucket"} {
		id := forms[form]
		deleteLetterNow(t, s, id)
		delete(left, form)
		if _, err := mb.Document(ctx, id, 0); err == nil {
			t.Errorf("%s: a deleted document opened", form)
		}
		for other := range left {
			opens(other)
		}
		checkAll()
	}
	if n := countKeys(t, s)["documents"]; n != 0 {
		t.Errorf("%d entries in documents after deleting, want 0", n)
	}
}

// TestDocumentsStrayEntry: the embedded engine's Check reports a document
// entry of any form whose letter does not exist, and a small document with
// a part missing. (The cluster's Check finds a document row or object
// without its letter: TestCheckFindsFaults in store/cluster.)
func TestDocumentsStrayEntry(t *testing.T) {
	t.Parallel()
	noLetter := strings.Repeat("0", 32)
	partKey := func(id string, index, part int) []byte {
		return binary.BigEndian.AppendUint16(documentKey(id, index), uint16(part))
	}
	for _, form := range []string{"sub-bucket", "flat", "part"} {
		f := newEmbeddedFixture(t)
		s := f.s
		err := s.testDB(t).Update(func(tx *bolt.Tx) error {
			switch form {
			case "flat":
				return tx.Bucket(bucketDocuments).Put(documentKey(noLetter, 0), []byte("x"))
			case "part":
				return tx.Bucket(bucketDocuments).Put(partKey(noLetter, 0, 0), []byte("x"))
			}
			b, err := tx.Bucket(bucketDocuments).CreateBucket([]byte(noLetter))
			if err != nil {
				return err
			}
			return b.Put(documentIndexKey(0), []byte("x"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "no such letter") {
			t.Errorf("%s: Check found no stray document: %v", form, err)
		}
		// Leave a consistent database for the cleanup's checks.
		if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
			switch form {
			case "flat":
				return tx.Bucket(bucketDocuments).Delete(documentKey(noLetter, 0))
			case "part":
				return tx.Bucket(bucketDocuments).Delete(partKey(noLetter, 0, 0))
			}
			return tx.Bucket(bucketDocuments).DeleteBucket([]byte(noLetter))
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A letter whose document has lost a part (of two or more): Check
	// says it is missing, and it does not open.
	f := newEmbeddedFixture(t)
	d := testDelivery(f.nid, "parts")
	d.Documents[0].Content = append(bytes.Clone(pdfContent), bytes.Repeat([]byte{' '}, 1500)...)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Letter.ID
	var saved []byte
	if err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
		saved = bytes.Clone(tx.Bucket(bucketDocuments).Get(partKey(id, 0, 0)))
		if saved == nil || tx.Bucket(bucketDocuments).Get(partKey(id, 0, 1)) == nil {
			t.Fatalf("the document is not in two parts or more")
		}
		return tx.Bucket(bucketDocuments).Delete(partKey(id, 0, 0))
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "document 0 missing") {
		t.Errorf("Check of a document without its first part: %v", err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := mb.Document(context.Background(), id, 0); err == nil {
		t.Error("a document without its first part opened")
	}
	if err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDocuments).Put(partKey(id, 0, 0), saved)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestXMLDocuments: a document declared text/xml or application/xml that
// is well-formed UTF-8 XML is kept as application/xml, content unchanged;
// one that only claims to be XML is refused.
func TestXMLDocuments(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	data := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Opkrævning><Beløb valuta=\"DKK\">4211.50</Beløb></Opkrævning>\n")
	for i, ct := range []string{"application/xml", "text/xml; charset=utf-8"} {
		d := testDelivery(f.nid, "xml-"+ct)
		d.Documents = append(d.Documents, DocumentInput{Name: "data.xml", ContentType: ct, Content: data})
		res, err := f.s.Deliver(context.Background(), f.sender.ID, d)
		if err != nil {
			t.Fatalf("%s: %v", ct, err)
		}
		mb := mustLogin(t, f.s, f.nid, testPassword)
		doc, err := mb.Document(context.Background(), res.Letter.ID, 1)
		if err != nil || doc.ContentType != "application/xml" || !bytes.Equal(doc.Content, data) {
			t.Errorf("%d: %s kept as %q %q, %v", i, ct, doc.ContentType, doc.Content, err)
		}
	}
	for name, content := range map[string]string{
		"not well-formed": "<a><b></a>",
		"cut short":       "<a><b>x</b>",
		"no element":      "<?xml version=\"1.0\"?>\n<!-- nothing -->",
		"text":            "just text",
		"empty":           "",
		"binary":          "<a>\x00</a>",
		"not UTF-8":       "<a>bl\xe5</a>",
		"two roots":       "<a/><b/>",
		"text after root": "<a/>x",
	} {
		d := testDelivery(f.nid, "bad-xml-"+name)
		d.Documents = append(d.Documents, DocumentInput{Name: "data.xml", ContentType: "application/xml", Content: []byte(content)})
		if _, err := f.s.Deliver(context.Background(), f.sender.ID, d); !errors.Is(err, ErrUnsupportedDocumentType) {
			t.Errorf("%s: %v, want ErrUnsupportedDocumentType", name, err)
		}
	}
}
