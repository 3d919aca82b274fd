package store

import (
	"bytes"
	"context"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// TestDocumentForms: a letter's documents, stored as the engine stores
// them, pass the checks, open, and are deleted with the letter (on the
// engine of the pass; TestDocumentFormsFile for the embedded file's two
// forms).
func TestDocumentForms(t *testing.T) {
	t.Parallel()
	documentForms(t, newFixture(t), false, false)
}

// TestDocumentFormsFile: on the embedded engine, documents are stored in
// a sub-bucket per letter; documents stored flat before schema 4 are
// still read, checked and deleted.
func TestDocumentFormsFile(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		name := "sub-bucket"
		if legacy {
			name = "flat (before schema 4)"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			documentForms(t, newEmbeddedFixture(t), legacy, true)
		})
	}
}

// documentForms delivers a letter of two documents and checks them; with
// file (an embedded store) it also checks the form they have in the file,
// made the flat one of before schema 4 first if legacy.
func documentForms(t *testing.T, f *fixture, legacy, file bool) {
	t.Helper()
	s := f.s
	d := testDelivery(f.nid, "forms")
	d.Documents = append(d.Documents, DocumentInput{Name: "b.txt", ContentType: "text/plain", Content: []byte("second")})
	res, err := s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Letter.ID
	if legacy {
		sealed := [][]byte{rawGetDocument(t, s, id, 0), rawGetDocument(t, s, id, 1)}
		if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
			docs := tx.Bucket(bucketDocuments)
			if err := docs.DeleteBucket([]byte(id)); err != nil {
				return err
			}
			for i, c := range sealed {
				if err := docs.Put(documentKey(id, i), c); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if file {
		err = s.testDB(t).View(func(tx *bolt.Tx) error {
			sub := tx.Bucket(bucketDocuments).Bucket([]byte(id))
			if (sub == nil) != legacy {
				t.Errorf("sub-bucket present: %v", sub != nil)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CheckInvariants(context.Background()); err != nil {
		t.Errorf("CheckInvariants: %v", err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	mb := mustLogin(t, s, f.nid, testPassword)
	for i, want := range [][]byte{pdfContent, []byte("second")} {
		doc, err := mb.Document(context.Background(), id, i)
		if err != nil || !bytes.Equal(doc.Content, want) {
			t.Errorf("Document %d = %q, %v", i, doc.Content, err)
		}
	}
	// Deleting the letter (as account deletion does) deletes its
	// documents in either form.
	if err := s.update(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		return deleteLetter(tx, rec)
	}); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, s)["documents"]; n != 0 {
		t.Errorf("%d entries in documents after deleting, want 0", n)
	}
	if _, err := mb.Document(context.Background(), id, 0); err == nil {
		t.Error("a deleted document opened")
	}
}

// TestDocumentsStrayEntry: the embedded engine's Check reports a document
// entry of either form whose letter does not exist. (The cluster's Check
// finds a document row or object without its letter: TestCheckFindsFaults
// in store/cluster.)
func TestDocumentsStrayEntry(t *testing.T) {
	t.Parallel()
	for _, flat := range []bool{false, true} {
		f := newEmbeddedFixture(t)
		s := f.s
		err := s.testDB(t).Update(func(tx *bolt.Tx) error {
			if flat {
				return tx.Bucket(bucketDocuments).Put(documentKey("no-such-letter", 0), []byte("x"))
			}
			b, err := tx.Bucket(bucketDocuments).CreateBucket([]byte("no-such-letter"))
			if err != nil {
				return err
			}
			return b.Put(documentIndexKey(0), []byte("x"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(context.Background()); err == nil {
			t.Errorf("flat %v: Check found no stray document", flat)
		}
		// Leave a consistent database for the cleanup's checks.
		if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
			if flat {
				return tx.Bucket(bucketDocuments).Delete(documentKey("no-such-letter", 0))
			}
			return tx.Bucket(bucketDocuments).DeleteBucket([]byte("no-such-letter"))
		}); err != nil {
			t.Fatal(err)
		}
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
