package store

import (
	"bytes"
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// TestDocumentForms: documents are stored in a sub-bucket per letter;
// documents stored flat before schema 4 are still read, checked and
// deleted.
func TestDocumentForms(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		name := "sub-bucket"
		if legacy {
			name = "flat (before schema 4)"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
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
		})
	}
}

// TestDocumentsStrayEntry: the engine's Check reports a document entry of
// either form whose letter does not exist.
func TestDocumentsStrayEntry(t *testing.T) {
	t.Parallel()
	for _, flat := range []bool{false, true} {
		f := newFixture(t)
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
