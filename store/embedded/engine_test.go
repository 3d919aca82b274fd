package embedded_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/storage"
	"github.com/postkasse/postkasse/store/storage/storagetest"
)

// TestContract runs the storage contract against the embedded engine.
func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Engine {
		e, err := embedded.Open(filepath.Join(t.TempDir(), "postkasse.db"), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return e
	})
}

// TestOpensFileOfSchema4: a database written by the code before the
// storage seam (commit dcdc4c3; testdata/schema4-generator.go.txt made
// it) opens, is upgraded, passes every check, and its mail opens: the
// letters, their documents, the read state, the language, the terms, the
// pending resident's activation and the outbox are all there.
func TestOpensFileOfSchema4(t *testing.T) {
	eng := openSchema4(t)
	if got := strings.Join(eng.Upgraded(), "; "); got != "schema 5: index of sessions by resident; "+
		"schema 6: the audit log as a Merkle tree log (store/auditlog): the plain entries moved into it; "+
		"schema 7: support requests and their index by resident; residents' blocks of senders; senders' events; "+
		"folders and the mailbox by folder; "+
		"schema 8: limits shared by the nodes of a cluster (the login throttle, the senders' rate limits) and their index by expiry; "+
		"schema 9: indexes of the unread letters of each folder, of the due dates to act on, and of residents' tombstones of deleted letters; residents' sealed search indexes; indexes of sessions by expiry and by last seen, for the hourly sweep; "+
		"schema 10: senders' callbacks and their outbox of events to POST; counters of each folder's letters and unread letters and of the due dates to act on, kept with their indexes; index of scheduled letters by release time; "+
		"schema 11: the print queue, its index by sender and reference, its index of letters queued and not yet printed and its index of letters waiting to be printed if unread; "+
		"schema 12: residents' sealed replies to letters and messages to senders, and their indexes by letter and by resident; "+
		"schema 13: residents' grants of access to their mailboxes (delegation, guardianship) and their indexes by grantor and by delegate; "+
		"schema 14: small documents of new letters stored flat in parts instead of in a sub-bucket per letter; records written in CBOR instead of JSON; "+
		"schema 15: letters' sealed data keys, receipts and other big fields kept in parts beside their records" {
		t.Errorf("upgrade did %q", got)
	}
	// The file's clock: a minute after the generator's last step.
	now := time.Date(2026, 11, 30, 9, 1, 0, 0, time.UTC)
	st, err := store.New(eng, store.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	if err := st.CheckInvariants(context.Background()); err != nil {
		t.Errorf("CheckInvariants: %v", err)
	}
	// The session the generator left opens (its resident's sessions are
	// now indexed), with the language the resident chose.
	mb, err := st.OpenSession(context.Background(), schema4Session)
	if err != nil {
		t.Fatalf("the stored session: %v", err)
	}
	defer mb.Close()
	if mb.Language() != "da" {
		t.Errorf("language %q", mb.Language())
	}
	inbox, err := mb.Inbox(context.Background())
	if err != nil || len(inbox) != 2 {
		t.Fatalf("inbox: %+v, %v", inbox, err)
	}
	subjects := map[string]bool{}
	read := 0
	for _, l := range inbox {
		subjects[l.Subject] = true
		if !l.Unread() {
			read++
		}
	}
	if !subjects["Afgørelse om boligstøtte"] || !subjects["Faktura"] || read != 1 {
		t.Errorf("inbox subjects %v, %d read", subjects, read)
	}
	// The upgrade indexed the unread letter.
	if folders, err := mb.Folders(context.Background()); err != nil || folders[0].Unread != 1 {
		t.Errorf("folders after the upgrade: %+v, %v; want 1 unread in the inbox", folders, err)
	}
	for _, l := range inbox {
		if l.Subject != "Afgørelse om boligstøtte" {
			continue
		}
		doc, err := mb.Document(context.Background(), l.ID, 1)
		if err != nil || string(doc.Content) != "Bilag 1" {
			t.Errorf("document: %q, %v", doc.Content, err)
		}
	}
	// Bo signs in with his password; Carl is still pending.
	if _, err := st.Login(context.Background(), "0202900124", "correct horse battery staple"); err != nil {
		t.Errorf("Login: %v", err)
	}
	carl, err := st.ResidentByNationalID(context.Background(), store.NationalID{Country: "DK", Number: "0303900125"})
	if err != nil || carl.Status != store.ResidentPending {
		t.Errorf("Carl: %+v, %v", carl, err)
	}
	if terms, err := st.AllTerms(context.Background()); err != nil || len(terms) != 1 {
		t.Errorf("terms: %+v, %v", terms, err)
	}
	// One e-mail for each of Anna's letters.
	if due, err := st.Notifications(context.Background(), "", 10); err != nil || len(due) != 2 {
		t.Errorf("outbox: %+v, %v", due, err)
	}
	if runs, err := st.JobRuns(context.Background()); err != nil || len(runs) != 1 {
		t.Errorf("job runs: %+v, %v", runs, err)
	}
}

// schema4Session is the token of Anna Andersen's session in
// testdata/schema4.db.gz (the generator logs it).
const schema4Session = "1GiNkG_D0VzDoqzveSoXUVbf6ltn7C0KVex22rVhRvq0tC63YOApnHJwYRTwDC_g"

// openSchema4 opens a copy of testdata/schema4.db.gz, a database written by
// the code before the storage seam and before envelope v2.
func openSchema4(t *testing.T) *embedded.Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "postkasse.db")
	gz, err := os.Open("testdata/schema4.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestCheckFindsIndexFaults: every way an index entry can disagree with
// its record is reported by Check, from the same description that writes
// the entries: an entry missing, an entry with another value, an entry of
// no record, and a record stored under another record's key.
func TestCheckFindsIndexFaults(t *testing.T) {
	tests := []struct {
		name   string
		damage func(tx *bolt.Tx) error
		want   string
	}{
		{"missing mailbox entry", func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("mailbox")).Cursor()
			k, _ := c.First()
			return tx.Bucket([]byte("mailbox")).Delete(k)
		}, "no entry"},
		{"reference to another letter", func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("references")).Cursor()
			k, _ := c.First()
			return tx.Bucket([]byte("references")).Put(k, []byte("ffffffffffffffffffffffffffffffff"))
		}, "belongs to no letter"},
		{"stray national id", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("residents-by-nid")).Put([]byte("0909909999"), []byte("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"))
		}, "belongs to no resident"},
		{"stray due notification", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("outbox-due")).Put(bytes.Repeat([]byte{1}, 48), nil)
		}, "belongs to no notification"},
		{"counter off", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("mailbox-counts"))
			k, _ := b.Cursor().First()
			return b.Put(k, []byte{0, 0, 0, 0, 0, 0, 0, 7})
		}, "7, the index holds 1"},
		{"counter missing", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("mailbox-counts"))
			k, _ := b.Cursor().First()
			return b.Delete(k)
		}, "missing, the index holds 1"},
		{"resident under another key", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("residents"))
			_, v := b.Cursor().First()
			return b.Put([]byte("dddddddddddddddddddddddddddddddd"), bytes.Clone(v))
		}, "the record stored there is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "postkasse.db")
			st, err := store.Open(path, store.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})
			if err != nil {
				t.Fatal(err)
			}
			nid, _ := store.ParseNationalID("0101900123")
			if _, _, err := st.AddResident(context.Background(), nid, "Anna", "correct horse battery staple"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.SetNotificationPreferences(context.Background(), mustResident(t, st, nid), store.NotificationPreferences{Email: "a@example.dk", EmailOn: true}); err != nil {
				t.Fatal(err)
			}
			snd, err := st.AddSender(context.Background(), "Aarhus Kommune", "55133018", store.SenderPublic)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Deliver(context.Background(), snd.ID, store.Delivery{Recipient: nid, Subject: "s", SenderReference: "r",
				Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("x")}}}); err != nil {
				t.Fatal(err)
			}
			if err := st.Check(context.Background()); err != nil {
				t.Fatalf("Check before the damage: %v", err)
			}
			eng := st.Engine().(*embedded.Engine)
			if err := eng.DB().Update(tt.damage); err != nil {
				t.Fatal(err)
			}
			err = eng.Check(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want an error with %q", err, tt.want)
			}
			st.Close()
		})
	}
}

func mustResident(t *testing.T, st *store.Store, nid store.NationalID) string {
	t.Helper()
	r, err := st.ResidentByNationalID(context.Background(), nid)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// TestJSONRecordsBesideCBOR: a file whose records were all written as
// JSON (testdata/schema4.db.gz) upgrades to schema 15 without a rewrite;
// its JSON records are read, a record written again is CBOR with its big
// fields in letter-parts, a new letter's record is CBOR with its big
// fields and its document in parts, and the file, with both encodings and
// every form of records and documents side by side, passes every check
// and opens again.
func TestJSONRecordsBesideCBOR(t *testing.T) {
	eng := openSchema4(t)
	path := eng.Path()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 1, 0, 0, time.UTC)
	opts := store.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, Clock: func() time.Time { return now }}
	encodings := func(db *bolt.DB, bucket string) (jsonN, cborN int) {
		t.Helper()
		if err := db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bucket)).ForEach(func(_, v []byte) error {
				if v[0] == '{' {
					jsonN++
				} else {
					cborN++
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return jsonN, cborN
	}
	// parted: the letters with fields in letter-parts.
	parted := func(db *bolt.DB) map[string]bool {
		t.Helper()
		out := map[string]bool{}
		if err := db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("letter-parts")).ForEach(func(k, _ []byte) error {
				out[string(k[:32])] = true
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if p := parted(eng.DB()); len(p) != 0 {
		t.Fatalf("the upgrade wrote parts of %v", p)
	}
	if j, c := encodings(eng.DB(), "letters"); j != 3 || c != 0 {
		t.Fatalf("the upgraded file's letters: %d JSON, %d CBOR; want 3 and 0", j, c)
	}
	st, err := store.New(eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenSession(ctx, schema4Session)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := mb.Inbox(ctx)
	if err != nil || len(inbox) != 2 {
		t.Fatalf("inbox: %+v, %v", inbox, err)
	}
	// Opening the unread letter writes its record again (its first
	// opening), now in CBOR, its sealed key and receipt beside it.
	var opened string
	for _, l := range inbox {
		if l.Unread() {
			opened = l.ID
			if _, err := mb.Letter(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if j, c := encodings(eng.DB(), "letters"); j != 2 || c != 1 {
		t.Errorf("after opening the unread letter: %d JSON, %d CBOR letters; want 2 and 1", j, c)
	}
	if p := parted(eng.DB()); len(p) != 1 || !p[opened] {
		t.Errorf("after opening the unread letter, parts of %v; want of %s", p, opened)
	}
	res, err := st.Deliver(ctx, inbox[0].SenderID, store.Delivery{
		Recipient: store.NationalID{Country: "DK", Number: "0101900123"}, Subject: "Ny afgørelse", SenderReference: "after-14",
		Type: store.TypeLetter, Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("Ny tekst")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if j, c := encodings(eng.DB(), "letters"); j != 2 || c != 2 {
		t.Errorf("after a delivery: %d JSON, %d CBOR letters; want 2 and 2", j, c)
	}
	if p := parted(eng.DB()); len(p) != 2 || !p[res.Letter.ID] {
		t.Errorf("after a delivery, parts of %v; want of %s too", p, res.Letter.ID)
	}
	if err := eng.DB().View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("documents")).Bucket([]byte(res.Letter.ID)) != nil {
			t.Error("the new letter's small document is in a sub-bucket")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
	if err := st.CheckInvariants(ctx); err != nil {
		t.Errorf("CheckInvariants: %v", err)
	}
	mb.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Opened again, every letter and document opens.
	st, err = store.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mb, err = st.OpenSession(ctx, schema4Session)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	inbox, err = mb.Inbox(ctx)
	if err != nil || len(inbox) != 3 {
		t.Fatalf("inbox after reopening: %+v, %v", inbox, err)
	}
	for _, l := range inbox {
		full, err := mb.Letter(ctx, l.ID)
		if err != nil {
			t.Errorf("letter %s: %v", l.ID, err)
			continue
		}
		for i := range full.Documents {
			if _, err := mb.Document(ctx, l.ID, i); err != nil {
				t.Errorf("letter %s document %d: %v", l.ID, i, err)
			}
		}
		if l.ID == res.Letter.ID && full.Subject != "Ny afgørelse" {
			t.Errorf("the new letter's subject: %q", full.Subject)
		}
	}
}

// TestSealedDocumentV1BesideV2: the documents of testdata/schema4.db.gz
// were sealed in format v1 (secretbox) by the code of commit dcdc4c3; they
// go on opening to what was delivered then, and a letter delivered now,
// its document sealed in format v2 (AES-256-GCM), opens beside them in the
// same mailbox. The version byte of each document as stored shows which
// format it is in.
func TestSealedDocumentV1BesideV2(t *testing.T) {
	eng := openSchema4(t)
	ctx := context.Background()
	// The session of the file is valid a minute after it was made.
	now := time.Date(2026, 11, 30, 9, 1, 0, 0, time.UTC)
	st, err := store.New(eng, store.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mb, err := st.OpenSession(ctx, schema4Session)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	inbox, err := mb.Inbox(ctx)
	if err != nil || len(inbox) != 2 {
		t.Fatalf("inbox: %+v, %v", inbox, err)
	}
	// Two chunks and a bit, so that v2's counter and last flag are used.
	big := bytes.Repeat([]byte("Ny afgørelse, side for side. "), 5000)
	if _, err := st.Deliver(ctx, inbox[0].SenderID, store.Delivery{
		Recipient: store.NationalID{Country: "DK", Number: "0101900123"}, Subject: "Ny afgørelse", SenderReference: "after-v2",
		Documents: []store.DocumentInput{{Name: "ny.txt", ContentType: "text/plain", Content: big}},
	}); err != nil {
		t.Fatal(err)
	}
	// What testdata/schema4-generator.go.txt delivered to Anna.
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
	want := map[string]struct {
		version  byte
		contents [][]byte
	}{
		"Afgørelse om boligstøtte": {1, [][]byte{pdf, []byte("Bilag 1")}},
		"Faktura":                  {1, [][]byte{pdf}},
		"Ny afgørelse":             {2, [][]byte{big}},
	}
	if inbox, err = mb.Inbox(ctx); err != nil || len(inbox) != 3 {
		t.Fatalf("inbox after the delivery: %d letters, %v", len(inbox), err)
	}
	for _, l := range inbox {
		w, ok := want[l.Subject]
		if !ok {
			t.Fatalf("letter %q", l.Subject)
		}
		for i, content := range w.contents {
			var raw []byte
			if err := eng.DB().View(func(btx *bolt.Tx) error {
				raw = embedded.RawDocument(btx, l.ID, i)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(raw) == 0 || raw[0] != w.version {
				t.Errorf("%s document %d: stored in format %v, want %d", l.Subject, i, raw[:min(1, len(raw))], w.version)
			}
			doc, err := mb.Document(ctx, l.ID, i)
			if err != nil {
				t.Errorf("%s document %d: %v", l.Subject, i, err)
				continue
			}
			if !bytes.Equal(doc.Content, content) {
				t.Errorf("%s document %d: opened to %d other bytes", l.Subject, i, len(doc.Content))
			}
		}
	}
	if err := st.CheckInvariants(ctx); err != nil {
		t.Errorf("CheckInvariants: %v", err)
	}
}
