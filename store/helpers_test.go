package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/migrate"
	"github.com/postkasse/postkasse/store/storage"
)

// cheapKDF costs almost nothing, so tests do not spend 64 MiB and three
// passes per password.
var cheapKDF = testsupport.CheapKDF

// testPassword is long enough for checkPassword.
const testPassword = testsupport.Password

// fakeClock is a clock the test moves by hand.
type fakeClock = testsupport.Clock

// newFakeClock returns a clock at testsupport.Start.
func newFakeClock() *fakeClock { return testsupport.NewClock() }

// testOptions returns options with cheap Argon2id and the given clock.
func testOptions(clock *fakeClock) Options {
	return Options{KDF: cheapKDF, Clock: clock.Now}
}

// openTestStore opens a store on a new file in t.TempDir(). At the end of
// the test the store is checked with Check and closed, unless the test
// closed it itself (closeTestStore).
func openTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	return openTestStoreAt(t, filepath.Join(t.TempDir(), "postkasse.db"), opts)
}

// openTestStoreAt is openTestStore on a given path, for reopening.
func openTestStoreAt(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	open := Open
	if onCluster {
		open = func(path string, opts Options) (*Store, error) { return openClusterStore(t, path, opts) }
	}
	return openStoreWith(t, open, path, opts)
}

// openEmbeddedStore opens a store on the embedded engine on a new file in
// t.TempDir(), whichever engine the tests run on: for the tests of what
// the embedded engine's file holds, and of what damage to it does (they
// read it through testDB). It is checked and closed as openTestStore's.
func openEmbeddedStore(t testing.TB, opts Options) *Store {
	t.Helper()
	return openEmbeddedStoreAt(t, filepath.Join(t.TempDir(), "postkasse.db"), opts)
}

// openEmbeddedStoreAt is openEmbeddedStore on a given file, for reopening.
func openEmbeddedStoreAt(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	return openStoreWith(t, Open, path, opts)
}

func openStoreWith(t testing.TB, open func(string, Options) (*Store, error), path string, opts Options) *Store {
	t.Helper()
	s, err := open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { closeTestStore(t, s) })
	return s
}

// closeTestStore checks the database's consistency (bbolt's pages and
// the store's invariants) and closes it; it does nothing when the store is
// closed already.
func closeTestStore(t testing.TB, s *Store) {
	t.Helper()
	closeStore(t, s, true)
}

// closeTampered is closeTestStore for a test that broke the store's
// invariants (or its records' index entries) on purpose: it checks only
// bbolt's pages.
func closeTampered(t testing.TB, s *Store) {
	t.Helper()
	closeStore(t, s, false)
}

func closeStore(t testing.TB, s *Store, invariants bool) {
	t.Helper()
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return
	}
	isEmbedded := onEmbedded(s)
	if invariants {
		if err := s.Check(context.Background()); err != nil {
			t.Errorf("Check: %v", err)
		}
	} else if isEmbedded {
		if err := s.testDB(t).View(func(tx *bolt.Tx) error {
			// bbolt's pages only: the test broke the records' indexes.
			for err := range tx.Check() {
				t.Errorf("bbolt Check: %v", err)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
	// The store's own invariants, on a file of this code's schema (a test
	// may have turned it into an older one to test an upgrade).
	version := embedded.SchemaVersion()
	if isEmbedded {
		if err := s.testDB(t).View(func(tx *bolt.Tx) error { version = readSchema(tx); return nil }); err != nil {
			t.Errorf("read schema: %v", err)
		}
	}
	if invariants && version == embedded.SchemaVersion() {
		if err := s.CheckInvariants(context.Background()); err != nil {
			t.Errorf("CheckInvariants: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// testNID returns the i-th of a series of distinct valid Danish CPR numbers.
func testNID(t testing.TB, i int) NationalID {
	t.Helper()
	// Day 01–28 of January 1990 (7th digit 0 → 1900s), serial from i.
	nid, err := ParseNationalID(testsupport.NationalID(i))
	if err != nil {
		t.Fatal(err)
	}
	return nid
}

func mustResident(t testing.TB, s *Store, nid NationalID, name string) Resident {
	t.Helper()
	r, _, err := s.AddResident(context.Background(), nid, name, testPassword)
	if err != nil {
		t.Fatalf("AddResident(%s): %v", nid, err)
	}
	return r
}

func mustSender(t testing.TB, s *Store, name, org string, kind SenderKind) Sender {
	t.Helper()
	snd, err := s.AddSender(context.Background(), name, org, kind)
	if err != nil {
		t.Fatalf("AddSender(%s): %v", name, err)
	}
	return snd
}

func mustLogin(t testing.TB, s *Store, nid NationalID, password string) *Mailbox {
	t.Helper()
	sess, err := s.Login(context.Background(), nid.String(), password)
	if err != nil {
		t.Fatalf("Login(%s): %v", nid, err)
	}
	mb, err := s.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	t.Cleanup(mb.Close)
	return mb
}

// newTestCert issues a client certificate from a new sender CA, as the
// operator's "add sender" does.
func newTestCert(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ca, err := crypto.NewCA(rand.Reader, "Postkasse test sender CA", now)
	if err != nil {
		t.Fatal(err)
	}
	_, _, cert, err := ca.IssueClient(rand.Reader, cn, "55133018", now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// Document contents that pass the type sniffing of content.go.
var (
	pdfContent  = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
	pngContent  = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...)
	jpegContent = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, 32)...)
)

// testDelivery returns a valid delivery of one PDF to nid.
func testDelivery(nid NationalID, ref string) Delivery {
	return Delivery{
		Recipient:       nid,
		Subject:         "Afgørelse om boligstøtte",
		Body:            "Se vedlagte afgørelse.",
		SenderReference: ref,
		Type:            TypeDecision,
		DueDate:         "2027-01-31",
		Documents: []DocumentInput{
			{Name: "afgoerelse.pdf", ContentType: "application/pdf", Content: pdfContent},
		},
	}
}

// fixture is a store with one active resident and one public sender.
type fixture struct {
	s        *Store
	clock    *fakeClock
	resident Resident
	nid      NationalID
	sender   Sender
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, func(*Options) {})
}

func newFixtureWith(t testing.TB, edit func(*Options)) *fixture {
	t.Helper()
	return newFixtureOn(t, openTestStore, edit)
}

// newEmbeddedFixture is newFixture on the embedded engine whichever
// engine the tests run on (openEmbeddedStore), for the tests of its file.
func newEmbeddedFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, openEmbeddedStore, func(*Options) {})
}

func newFixtureOn(t testing.TB, open func(testing.TB, Options) *Store, edit func(*Options)) *fixture {
	t.Helper()
	clock := newFakeClock()
	opts := testOptions(clock)
	edit(&opts)
	s := open(t, opts)
	nid := testNID(t, 1)
	return &fixture{
		s:        s,
		clock:    clock,
		nid:      nid,
		resident: mustResident(t, s, nid, "Anna Andersen"),
		sender:   mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic),
	}
}

// countKeys returns the number of entries (keys and sub-buckets) in every
// top-level bucket.
func countKeys(t testing.TB, s *Store) map[string]int {
	t.Helper()
	if !onEmbedded(s) {
		return seamCounts(t, s)
	}
	out := map[string]int{}
	err := s.testDB(t).View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			n := 0
			err := b.ForEach(func(_, _ []byte) error { n++; return nil })
			out[string(name)] = n
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// digest returns a hash over every bucket's name, sequence, keys and
// values, sub-buckets included: two equal digests mean nothing was stored
// in between.
func digest(t testing.TB, s *Store) string {
	t.Helper()
	if !onEmbedded(s) {
		d, err := migrate.Digest(context.Background(), s.eng)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	h := sha256.New()
	lp := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
		h.Write(b)
	}
	var walk func(name []byte, b *bolt.Bucket) error
	walk = func(name []byte, b *bolt.Bucket) error {
		lp(name)
		h.Write(binary.BigEndian.AppendUint64(nil, b.Sequence()))
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if sub := b.Bucket(k); sub != nil {
					return walk(k, sub)
				}
			}
			lp(k)
			lp(v)
			return nil
		})
	}
	err := s.testDB(t).View(func(tx *bolt.Tx) error {
		return tx.ForEach(walk)
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// setResidentStatus writes a resident's status straight into its record,
// as the operator's (future) operations will.
func setResidentStatus(t testing.TB, s *Store, id string, status ResidentStatus) {
	t.Helper()
	err := s.update(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Residents().Get(id)
		if err != nil {
			return err
		}
		rec.Status = status
		return tx.Residents().Put(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rawLetter returns a letter's stored record.
func rawLetter(t testing.TB, s *Store, id string) *letterRecord {
	t.Helper()
	var rec *letterRecord
	err := s.view(context.Background(), func(tx storage.Tx) error {
		var err error
		rec, err = tx.Letters().Get(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// rawGet returns a copy of the value at key in bucket.
func rawGet(t testing.TB, s *Store, bucket, key []byte) []byte {
	t.Helper()
	var v []byte
	if err := s.testDB(t).View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucket).Get(key))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// rawGetDocument returns a copy of a document's stored (sealed) content.
func rawGetDocument(t testing.TB, s *Store, letterID string, index int) []byte {
	t.Helper()
	var v []byte
	if err := s.testDB(t).View(func(tx *bolt.Tx) error {
		v = bytes.Clone(getDocument(tx, letterID, index))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		t.Fatalf("letter %s has no document %d", letterID, index)
	}
	return v
}

// rawPutDocument overwrites a document's stored content, as an attacker
// with the file could.
func rawPutDocument(t testing.TB, s *Store, letterID string, index int, content []byte) {
	t.Helper()
	if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
		return embedded.ReplaceRawDocument(tx, letterID, index, content)
	}); err != nil {
		t.Fatal(err)
	}
}

// rawPut writes a value straight into the database, as an attacker with
// the file could.
func rawPut(t testing.TB, s *Store, bucket, key, value []byte) {
	t.Helper()
	if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put(key, value)
	}); err != nil {
		t.Fatal(err)
	}
}

// auditActions returns the actions of the audit log in order.
func auditActions(t testing.TB, s *Store) []string {
	t.Helper()
	log, err := s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range log {
		out = append(out, e.Action)
	}
	return out
}

// seamCounts is countKeys through the seam, on any engine: the letters
// with their index entries (found through the index), the documents, the
// sessions and the terms notices.
func seamCounts(t testing.TB, s *Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := s.view(context.Background(), func(tx storage.Tx) error {
		residents := map[string]bool{}
		if err := tx.Letters().All(func(l *letterRecord) error {
			out["letters"]++
			residents[l.ResidentID] = true
			// The cluster's indexes are the database's: a letter found by
			// its reference counts as an entry of that index.
			if id, err := tx.Letters().ByReference(l.SenderID, l.SenderReference); err == nil && id == l.ID {
				out["references"]++
				out["sender-letters"]++
			}
			for i := range l.Documents {
				if ok, err := tx.Documents().Has(l.ID, i); err != nil {
					return err
				} else if ok {
					out["documents"]++
				}
			}
			return nil
		}); err != nil {
			return err
		}
		for r := range residents {
			if err := tx.Letters().MailboxAll(r, func(storage.MailboxEntry) error { out["mailbox"]++; return nil }); err != nil {
				return err
			}
		}
		if err := tx.Sessions().All(func([]byte, *sessionRecord) error { out["sessions"]++; return nil }); err != nil {
			return err
		}
		return tx.Terms().Notices(func(int, string, string) error { out["terms-notices"]++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deleteLetterNow deletes a letter as account deletion does (deleteLetter
// in a transaction of its own).
func deleteLetterNow(t *testing.T, s *Store, id string) {
	t.Helper()
	if err := s.update(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		return deleteLetter(tx, rec)
	}); err != nil {
		t.Fatal(err)
	}
}
