package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/storage"
)

// TestIsolation: a resident reads only their own letters, a sender sees
// only the status of its own; everything else is ErrNotFound, the same as
// a letter that does not exist.
func TestIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	nidB := testNID(t, 2)
	mustResident(t, s, nidB, "Bo Bendtsen")
	other := mustSender(t, s, "Fjordkraft AS", "976944801", SenderPrivate)

	resA, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "to-a"))
	if err != nil {
		t.Fatal(err)
	}
	resB, err := s.Deliver(context.Background(), other.ID, testDelivery(nidB, "to-b"))
	if err != nil {
		t.Fatal(err)
	}
	before := digest(t, s)
	mbB := mustLogin(t, s, nidB, testPassword)
	afterLogin := digest(t, s)

	if _, err := mbB.Letter(context.Background(), resA.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("B opens A's letter: %v, want ErrNotFound", err)
	}
	for _, i := range []int{0, 1} {
		if _, err := mbB.Document(context.Background(), resA.Letter.ID, i); !errors.Is(err, ErrNotFound) {
			t.Errorf("B opens A's document %d: %v, want ErrNotFound", i, err)
		}
	}
	inbox, err := mbB.Inbox(context.Background())
	if err != nil || len(inbox) != 1 || inbox[0].ID != resB.Letter.ID {
		t.Errorf("B's inbox = %+v, %v", inbox, err)
	}
	if _, err := s.LetterStatus(context.Background(), other.ID, resA.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender's LetterStatus: %v, want ErrNotFound", err)
	}
	if _, err := s.LetterStatus(context.Background(), f.sender.ID, resB.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender's LetterStatus: %v, want ErrNotFound", err)
	}
	if _, err := s.LetterStatus(context.Background(), f.sender.ID, "no-such-letter"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LetterStatus(unknown): %v, want ErrNotFound", err)
	}
	// B's attempt did not mark A's letter read.
	if st, err := s.LetterStatus(context.Background(), f.sender.ID, resA.Letter.ID); err != nil || st.Status != "delivered" {
		t.Errorf("A's letter after B's attempt: %+v, %v", st, err)
	}
	if digest(t, s) != afterLogin || before == afterLogin {
		t.Error("refused reads changed the database")
	}
}

// bindingCase moves sealed bytes between two letters of a resident.
type bindingCase struct {
	name string
	// move changes letter b using letter a's stored bytes.
	move func(t *testing.T, s *Store, a, b string)
	// letterFails: Letter(b) fails; else only Document(b, 0) does.
	letterFails bool
}

// TestCiphertextBinding moves sealed fields between two letters of the
// same resident through the engine, and documents' sealed content (in
// the embedded file, or the cluster's objects), on the engine of the
// pass, as someone with write access to the database could; the moved
// bytes must fail to open rather than show the other letter's content.
// TestCiphertextBindingFile does it all in the embedded engine's file.
func TestCiphertextBinding(t *testing.T) {
	t.Parallel()
	put := func(t *testing.T, s *Store, rec *letterRecord) {
		t.Helper()
		if err := s.update(context.Background(), func(tx storage.Tx) error { return tx.Letters().Put(rec) }); err != nil {
			t.Fatal(err)
		}
	}
	ciphertextBinding(t, newFixture, append(recordCases(put), []bindingCase{
		{"document content", func(t *testing.T, s *Store, a, b string) {
			moveDocument(t, s, a, 0, b, 0)
		}, false},
		{"document content of another index", func(t *testing.T, s *Store, _, b string) {
			moveDocument(t, s, b, 1, b, 0)
		}, false},
	}...))
}

// moveDocument copies the sealed content of document (from, i) over that
// of (to, j): in the embedded engine's file, or the cluster's object in
// the bucket, as someone with write access to either could.
func moveDocument(t *testing.T, s *Store, from string, i int, to string, j int) {
	t.Helper()
	if onEmbedded(s) {
		rawPutDocument(t, s, to, j, rawGetDocument(t, s, from, i))
		return
	}
	var src, dst string
	withClusterConn(t, s, func(ctx context.Context, conn *pgx.Conn) {
		q := `SELECT blob_key FROM documents WHERE letter_id = $1 AND idx = $2`
		if err := conn.QueryRow(ctx, q, from, i).Scan(&src); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, q, to, j).Scan(&dst); err != nil {
			t.Fatal(err)
		}
	})
	bucket := clusterConfig(t, s).Blobs.Bucket
	if _, err := s3.Server(t).Client(t).CopyObject(context.Background(),
		minio.CopyDestOptions{Bucket: bucket, Object: dst}, minio.CopySrcOptions{Bucket: bucket, Object: src}); err != nil {
		t.Fatal(err)
	}
}

// TestCiphertextBindingFile is TestCiphertextBinding in the embedded
// engine's file: the record's bytes written raw, the whole record under
// the other letter's id, and the documents' sealed content.
func TestCiphertextBindingFile(t *testing.T) {
	t.Parallel()
	ciphertextBinding(t, newEmbeddedFixture, append(recordCases(putLetter), []bindingCase{
		{"whole record under the other id", func(t *testing.T, s *Store, a, b string) {
			rawPut(t, s, bucketLetters, []byte(b), rawGet(t, s, bucketLetters, []byte(a)))
		}, true},
		{"document content", func(t *testing.T, s *Store, a, b string) {
			rawPutDocument(t, s, b, 0, rawGetDocument(t, s, a, 0))
		}, false},
		{"document content of another index", func(t *testing.T, s *Store, _, b string) {
			rawPutDocument(t, s, b, 0, rawGetDocument(t, s, b, 1))
		}, false},
	}...))
}

// recordCases are the moves of sealed fields between two letters'
// records (or within one), each written back with put, that must make
// the letter not open.
func recordCases(put func(*testing.T, *Store, *letterRecord)) []bindingCase {
	return []bindingCase{
		{"sealed data key", func(t *testing.T, s *Store, a, b string) {
			recA, recB := rawLetter(t, s, a), rawLetter(t, s, b)
			recB.SealedKey = recA.SealedKey
			put(t, s, recB)
		}, true},
		{"sealed subject", func(t *testing.T, s *Store, a, b string) {
			recA, recB := rawLetter(t, s, a), rawLetter(t, s, b)
			recB.Subject = recA.Subject
			put(t, s, recB)
		}, true},
		{"sealed body", func(t *testing.T, s *Store, a, b string) {
			recA, recB := rawLetter(t, s, a), rawLetter(t, s, b)
			recB.Body = recA.Body
			put(t, s, recB)
		}, true},
		{"sealed file name", func(t *testing.T, s *Store, a, b string) {
			recA, recB := rawLetter(t, s, a), rawLetter(t, s, b)
			recB.Documents[0].Name = recA.Documents[0].Name
			put(t, s, recB)
		}, true},
		{"subject into the body", func(t *testing.T, s *Store, _, b string) {
			recB := rawLetter(t, s, b)
			recB.Body = recB.Subject
			put(t, s, recB)
		}, true},
		{"another sender id", func(t *testing.T, s *Store, _, b string) {
			recB := rawLetter(t, s, b)
			recB.SenderID = mustSender(t, s, "Fremmed", "22222228", SenderPublic).ID
			put(t, s, recB)
		}, true},
	}
}

// ciphertextBinding delivers letters a and b to a resident of a new
// fixture, makes each case's move and opens b (and a).
func ciphertextBinding(t *testing.T, newFix func(testing.TB) *fixture, tests []bindingCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFix(t)
			s := f.s
			da := testDelivery(f.nid, "a")
			da.Subject, da.Body = "SECRET-A subject", "SECRET-A body"
			da.Documents = append(da.Documents, da.Documents[0])
			db := testDelivery(f.nid, "b")
			db.Subject, db.Body = "letter b", "body b"
			db.Documents = []DocumentInput{
				{Name: "b0.txt", ContentType: "text/plain", Content: []byte("b zero")},
				{Name: "b1.txt", ContentType: "text/plain", Content: []byte("b one")},
			}
			resA, err := s.Deliver(context.Background(), f.sender.ID, da)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second)
			resB, err := s.Deliver(context.Background(), f.sender.ID, db)
			if err != nil {
				t.Fatal(err)
			}
			tt.move(t, s, resA.Letter.ID, resB.Letter.ID)
			defer closeTampered(t, s)

			mb := mustLogin(t, s, f.nid, testPassword)
			l, err := mb.Letter(context.Background(), resB.Letter.ID)
			if tt.letterFails {
				if err == nil {
					t.Fatalf("Letter(b) after moving %s opened: %+v", tt.name, l)
				}
				if tt.name != "whole record under the other id" && !errors.Is(err, crypto.ErrOpen) {
					t.Errorf("Letter(b): %v, want crypto.ErrOpen", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Letter(b): %v", err)
			}
			if l.Subject != "letter b" {
				t.Errorf("Letter(b) shows %q", l.Subject)
			}
			doc, err := mb.Document(context.Background(), resB.Letter.ID, 0)
			if err == nil {
				t.Fatalf("Document(b, 0) after moving %s opened: %q", tt.name, doc.Content)
			}
			if !errors.Is(err, crypto.ErrOpen) {
				t.Errorf("Document(b, 0): %v, want crypto.ErrOpen", err)
			}
			// The untouched letter and document still open.
			if l, err := mb.Letter(context.Background(), resA.Letter.ID); err != nil || l.Subject != da.Subject {
				t.Errorf("Letter(a) = %q, %v", l.Subject, err)
			}
			if doc, err := mb.Document(context.Background(), resB.Letter.ID, 1); err != nil || string(doc.Content) != "b one" {
				t.Errorf("Document(b, 1) = %q, %v", doc.Content, err)
			}
		})
	}
}

// putLetter writes a letter record straight into the database.
func putLetter(t *testing.T, s *Store, rec *letterRecord) {
	t.Helper()
	data, err := embedded.EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	rawPut(t, s, bucketLetters, []byte(rec.ID), data)
}
