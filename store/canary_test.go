package store

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/storage"
)

// canary returns a unique marker string for one kind of secret.
func canary(t *testing.T, kind string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "CANARY-" + kind + "-" + hex.EncodeToString(b)
}

// encodings returns the forms in which a string could show up in the
// file: as is (CBOR records keep []byte as it is), in hex, in UTF-16, and
// in base64 (records written before the embedded schema 14 and the
// cluster's are JSON, and encoding/json writes []byte as standard base64). Base64 of a substring
// depends on its offset modulo 3, so every alignment is listed, minus the
// first and last quartets, which mix in the neighbouring bytes.
func encodings(s string) map[string][]byte {
	out := map[string][]byte{
		"raw":       []byte(s),
		"lower":     []byte(strings.ToLower(s)),
		"hex":       []byte(hex.EncodeToString([]byte(s))),
		"HEX":       []byte(strings.ToUpper(hex.EncodeToString([]byte(s)))),
		"utf-16le":  utf16Bytes(s, binary.LittleEndian),
		"utf-16be":  utf16Bytes(s, binary.BigEndian),
		"json-utf8": []byte(`"` + s + `"`),
	}
	for shift := range 3 {
		for name, enc := range map[string]*base64.Encoding{
			"base64": base64.StdEncoding, "base64url": base64.URLEncoding,
		} {
			e := enc.EncodeToString(append(bytes.Repeat([]byte{0}, shift), s...))
			if shift > 0 {
				e = e[4:]
			}
			e = e[:len(e)-4]
			out[name+"+"+string(rune('0'+shift))] = []byte(e)
		}
	}
	return out
}

func utf16Bytes(s string, order binary.AppendByteOrder) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

// TestCanaries: no secret (subject, body, file name, document content,
// password, the name of a folder of the resident's own, any word of the
// letter as its search index keeps it) is in the database file in any
// form; all of them are readable through the mailbox, so the test would
// notice a store that kept nothing. The embedded engine's file, in both
// passes; TestCanariesCluster keeps the same promise for the cluster
// engine (the database server's files and the object store's, on servers
// of its own, in both passes).
func TestCanaries(t *testing.T) {
	t.Parallel()
	f := newEmbeddedFixture(t)
	s := f.s
	path := s.Path()
	c, nid, letterID := canaryMailbox(t, f)
	closeTestStore(t, s)

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for kind, secret := range c {
		for enc, b := range encodings(secret) {
			if i := bytes.Index(raw, b); i >= 0 {
				t.Errorf("the %s canary is in the file as %s at offset %d", kind, enc, i)
			}
		}
		// The word as the search index keeps it.
		for enc, b := range encodings(foldWord(canaryWord(secret))) {
			if i := bytes.Index(raw, b); i >= 0 {
				t.Errorf("the %s canary's word is in the file as %s at offset %d", kind, enc, i)
			}
		}
	}
	// What is in clear by design is there: the test reads the right file.
	if !bytes.Contains(raw, []byte("canary-1")) || !bytes.Contains(raw, []byte("Canary Resident")) {
		t.Fatal("the file lacks even the clear fields; the test reads the wrong bytes")
	}

	s = openEmbeddedStoreAt(t, path, testOptions(f.clock))
	mb := mustLogin(t, s, nid, c["PASSWORD"])
	l, err := mb.Letter(context.Background(), letterID)
	if err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	seen.WriteString(l.Subject + "\n" + l.Body + "\n" + l.SignatureRequest.Description + "\n")
	if inv := l.Invoice; inv != nil {
		seen.WriteString(inv.Amount + "\n" + inv.Account + "\n" + inv.PaymentReference + "\n")
	}
	for _, a := range l.Actions {
		seen.WriteString(a.Label + "\n" + a.URL + "\n")
	}
	folders, err := mb.Folders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		seen.WriteString(f.Name + "\n")
	}
	for _, info := range l.Documents {
		doc, err := mb.Document(context.Background(), letterID, info.Index)
		if err != nil {
			t.Fatal(err)
		}
		seen.WriteString(info.Name + "\n")
		seen.Write(doc.Content)
	}
	page, _, err := mb.InboxPage(context.Background(), "", 10)
	if err != nil || len(page) != 1 || !page[0].Own {
		t.Fatalf("the own document: %+v, %v", page, err)
	}
	own, err := mb.Letter(context.Background(), page[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	seen.WriteString(own.Subject + "\n" + own.Documents[0].Name + "\n")
	doc, err := mb.Document(context.Background(), own.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen.Write(doc.Content)
	if signed, err := mb.SignedFile(context.Background(), letterID); err != nil || !bytes.Contains(signed.Content, []byte(c["PDF"])) {
		t.Errorf("the signed PDF after reopening: %v", err)
	}
	th, err := mb.Thread(context.Background(), letterID)
	if err != nil || len(th.Replies) != 1 {
		t.Fatalf("thread: %+v, %v", th, err)
	}
	for _, r := range th.Replies {
		seen.WriteString(r.Text + "\n")
		for _, a := range r.Attachments {
			att, err := mb.ReplyAttachment(context.Background(), r.ID, a.Index)
			if err != nil {
				t.Fatal(err)
			}
			seen.WriteString(a.Name + "\n" + string(att.Content) + "\n")
		}
	}
	for kind, secret := range c {
		if kind != "PASSWORD" && !strings.Contains(seen.String(), secret) {
			t.Errorf("the %s canary is not readable through the mailbox", kind)
		}
	}
	if got := strings.Count(seen.String(), c["BIG"]); got != 3000 {
		t.Errorf("the big document has %d canaries, want 3000", got)
	}
	// The stored index opens after reopening, and finds every canary.
	for _, kind := range append(searchedCanaries, ownCanaries...) {
		res, err := mb.Search(context.Background(), SearchQuery{Text: canaryWord(c[kind]), Limit: 10})
		if err != nil || len(res.Hits) != 1 {
			t.Errorf("search for the %s canary after reopening: %+v, %v", kind, res, err)
		}
	}
	// The index's words are compressed before they are sealed, and
	// compressed words would not show in the file: the stored bytes must
	// not inflate to them either.
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		stored, err := tx.SearchIndexes().Get(mb.resident.ID)
		if err != nil {
			return err
		}
		inflated, _ := io.ReadAll(flate.NewReader(bytes.NewReader(stored.Sealed)))
		for _, kind := range searchedCanaries {
			if bytes.Contains(inflated, []byte(foldWord(canaryWord(c[kind])))) {
				t.Errorf("the stored index inflates to the %s canary without a key", kind)
			}
		}
		if _, err := decodeSearchIndex(stored.Sealed); err == nil {
			t.Error("the stored index decodes without a key")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ix, _ := storedIndex(t, mb)
	for _, kind := range searchedCanaries {
		if _, ok := ix.postings[foldWord(canaryWord(c[kind]))]; !ok {
			t.Errorf("the stored index lacks the %s canary's word", kind)
		}
	}
}

// searchedCanaries are the canaries of the letter's words, which its
// search index holds.
var searchedCanaries = []string{"SUBJECT", "BODY", "FILENAME", "PDF", "TEXT", "HTML", "BIG"}

// canaryWord returns the random part of a canary: the word of it that
// names it alone.
func canaryWord(canary string) string { return canary[strings.LastIndex(canary, "-")+1:] }

// canaryMailbox makes a resident with a canary for a password and
// delivers a letter whose every field holds a canary; the resident reads
// it, lists it, files it in a folder named with a canary, and searches
// for every word of it (so its search index holds them).
func canaryMailbox(t *testing.T, f *fixture) (c map[string]string, nid NationalID, letterID string) {
	s := f.s
	c = map[string]string{}
	for _, kind := range []string{"SUBJECT", "BODY", "FILENAME", "PDF", "TEXT", "HTML", "BIG", "PASSWORD", "FOLDER",
		"ACCOUNT", "PAYREF", "LABEL", "URL", "OWNTITLE", "OWNFILE", "OWNTEXT", "REPLYTEXT", "REPLYFILE", "REPLYDATA", "SIGNDESC"} {
		c[kind] = canary(t, kind)
	}
	// An invoice's amount is digits only: fifteen random ones.
	digits := make([]byte, 8)
	if _, err := rand.Read(digits); err != nil {
		t.Fatal(err)
	}
	// The first digit is not 0: an amount has no leading zero.
	n := binary.BigEndian.Uint64(digits)
	c["AMOUNT"] = fmt.Sprintf("%d%014d.37", 1+n%9, (n/9)%1e14)
	nid = testNID(t, 2)
	if _, _, err := s.AddResident(context.Background(), nid, "Canary Resident", c["PASSWORD"]); err != nil {
		t.Fatal(err)
	}
	// A big text document spans several sealed chunks.
	big := strings.Repeat("lorem ipsum "+c["BIG"]+"\n", 3000)
	d := Delivery{
		Recipient:       nid,
		Subject:         "Subject " + c["SUBJECT"],
		Body:            "Body " + c["BODY"],
		SenderReference: "canary-1",
		Type:            TypeInvoice,
		Invoice: &Invoice{Amount: c["AMOUNT"], Currency: "DKK", Account: c["ACCOUNT"], PaymentReference: c["PAYREF"],
			DueDate: "2027-03-01"},
		Actions:      []Action{{Type: ActionLink, Label: "Label " + c["LABEL"], URL: "https://example.dk/" + c["URL"]}},
		ReplyAllowed: true,
		// The resident signs the PDF below: the signed PDF holds it, and
		// is sealed to the sender (signing.go).
		SignatureRequest: &SignatureRequest{Deadline: "2026-12-15", Description: "Sign " + c["SIGNDESC"]},
		Documents: []DocumentInput{
			{Name: c["FILENAME"] + ".pdf", ContentType: "application/pdf", Content: testsupport.PDF("Text " + c["PDF"])},
			{Name: "note.txt", ContentType: "text/plain", Content: []byte(c["TEXT"])},
			{Name: "letter.html", ContentType: "text/html", Content: []byte("<p>" + c["HTML"] + "</p>")},
			{Name: "big.txt", ContentType: "text/plain", Content: []byte(big)},
		},
	}
	replyKey, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	replyPub := replyKey.Public()
	if err := s.SetSenderReplyKey(context.Background(), f.sender.ID, replyPub[:], false); err != nil {
		t.Fatal(err)
	}
	res, err := s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	letterID = res.Letter.ID
	// Reading rewrites the record (ReadAt) and a login writes a session:
	// the freed pages must hold nothing either.
	f.clock.Advance(time.Minute)
	mb := mustLogin(t, s, nid, c["PASSWORD"])
	if _, err := mb.Letter(context.Background(), letterID); err != nil {
		t.Fatal(err)
	}
	// A page of the inbox seals the letter's listing (its subject) with
	// the resident's listing key, and keeps both.
	if page, _, err := mb.InboxPage(context.Background(), "", 50); err != nil || len(page) != 1 || page[0].Subject != "Subject "+c["SUBJECT"] {
		t.Fatalf("inbox page: %+v, %v", page, err)
	}
	// A folder of the resident's own, named, renamed, and the letter in it.
	folder, err := mb.CreateFolder(context.Background(), "Folder "+c["FOLDER"]+" old")
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.RenameFolder(context.Background(), folder.ID, "Folder "+c["FOLDER"]); err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(context.Background(), []string{letterID}, folder.ID); err != nil {
		t.Fatal(err)
	}
	if folders, err := mb.Folders(context.Background()); err != nil || len(folders) != 3 || folders[2].Name != "Folder "+c["FOLDER"] {
		t.Fatalf("folders: %+v, %v", folders, err)
	}
	// A search indexes the letter: its sealed index holds every word of
	// it (each canary's random part is a word of its own, checked below
	// in every encoding too), and the index is kept sealed.
	for _, kind := range searchedCanaries {
		found, err := mb.Search(context.Background(), SearchQuery{Text: canaryWord(c[kind]), Limit: 10})
		if err != nil || len(found.Hits) != 1 || found.Hits[0].ID != letterID {
			t.Fatalf("search for the %s canary: %+v, %v", kind, found, err)
		}
	}
	// An own document: a text file uploaded, renamed, and found by a
	// search for each of its words.
	own, err := mb.Upload(context.Background(), FolderInbox, "Old "+c["OWNTITLE"]+" title", []DocumentInput{
		{Name: c["OWNFILE"] + ".txt", ContentType: "text/plain", Content: []byte("Own words " + c["OWNTEXT"])}})
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.RenameDocument(context.Background(), own, "Own "+c["OWNTITLE"]); err != nil {
		t.Fatal(err)
	}
	for _, kind := range ownCanaries {
		found, err := mb.Search(context.Background(), SearchQuery{Text: canaryWord(c[kind]), Limit: 10})
		if err != nil || len(found.Hits) != 1 || found.Hits[0].ID != own {
			t.Fatalf("search for the %s canary: %+v, %v", kind, found, err)
		}
	}
	// A reply with an attachment, read back in the letter's thread.
	if _, err := mb.Reply(context.Background(), letterID, ReplyInput{Text: "Reply " + c["REPLYTEXT"],
		Attachments: []DocumentInput{{Name: c["REPLYFILE"] + ".txt", ContentType: "text/plain", Content: []byte("Data " + c["REPLYDATA"])}}}); err != nil {
		t.Fatal(err)
	}
	th, err := mb.Thread(context.Background(), letterID)
	if err != nil || len(th.Replies) != 1 || th.Replies[0].Text != "Reply "+c["REPLYTEXT"] || th.Replies[0].Attachments[0].Name != c["REPLYFILE"]+".txt" {
		t.Fatalf("thread: %+v, %v", th, err)
	}
	if a, err := mb.ReplyAttachment(context.Background(), th.Replies[0].ID, 0); err != nil || string(a.Content) != "Data "+c["REPLYDATA"] {
		t.Fatalf("reply attachment: %v", err)
	}
	// The letter signed: the signed PDF (which holds the document) is
	// sealed to the sender and the resident, the CMS kept in clear.
	if _, err := mb.Sign(context.Background(), letterID, SignConfirmation{Password: c["PASSWORD"]}); err != nil {
		t.Fatal(err)
	}
	signed, err := mb.SignedFile(context.Background(), letterID)
	if err != nil || signed.ContentType != "application/pdf" || !bytes.Contains(signed.Content, []byte(c["PDF"])) {
		t.Fatalf("the signed PDF: %s, %v", signed.ContentType, err)
	}
	mb.Close()
	return c, nid, letterID
}

// ownCanaries are the canaries of the own document's words.
var ownCanaries = []string{"OWNTITLE", "OWNFILE", "OWNTEXT"}

// TestCanariesCluster is TestCanaries on the cluster engine, on a
// PostgreSQL server and an object store of its own: once both are
// stopped, no canary and no word of the letter is in any file of the
// database server's data folder (tables, indexes, the write-ahead log)
// or of the object store's.
func TestCanariesCluster(t *testing.T) {
	t.Parallel()
	pgsrv := pgtest.Start(t)
	s3srv := s3test.Start(t)
	endpoint, bucket, ak, sk := s3srv.NewBucket(t)
	eng, err := cluster.Open(context.Background(), cluster.Config{DatabaseURL: pgsrv.NewDatabase(t),
		Blobs: cluster.BlobConfig{Endpoint: endpoint, Bucket: bucket, Region: s3test.Region, AccessKey: ak, SecretKey: sk}})
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	s, err := New(eng, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, clock: clock}
	f.sender = mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	c, _, _ := canaryMailbox(t, f)
	closeTestStore(t, s)
	if err := pgsrv.Stop(); err != nil {
		t.Fatal(err)
	}

	var patterns []canaryPattern
	for kind, secret := range c {
		for enc, b := range encodings(secret) {
			patterns = append(patterns, canaryPattern{kind + " canary as " + enc, b})
		}
		for enc, b := range encodings(foldWord(canaryWord(secret))) {
			patterns = append(patterns, canaryPattern{kind + " canary's word as " + enc, b})
		}
	}
	inClear := []canaryPattern{{"canary-1", []byte("canary-1")}, {"Canary Resident", []byte("Canary Resident")}}
	seen := map[string]bool{}
	for _, dir := range []string{pgsrv.DataDir(), s3srv.Dir()} {
		if err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, found := range findPatterns(b, patterns) {
				t.Errorf("the %s is in %s", found, path)
			}
			for _, found := range findPatterns(b, inClear) {
				seen[found] = true
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// What is in clear by design is there: the test reads the right files.
	if !seen["canary-1"] || !seen["Canary Resident"] {
		t.Fatalf("the database's files lack even the clear fields (%v); the test reads the wrong bytes", seen)
	}
}

// canaryPattern is a form of a secret to look for.
type canaryPattern struct {
	name string
	b    []byte
}

// findPatterns returns the names of the patterns (8 bytes or longer) in
// b, in one pass over b: a table of the patterns' first two bytes skips
// most places (a database file is mostly zeros), a map of their first
// eight finds the candidates.
func findPatterns(b []byte, patterns []canaryPattern) []string {
	var first [1 << 16]bool
	byPrefix := map[uint64][]canaryPattern{}
	for _, p := range patterns {
		if len(p.b) < 8 {
			panic("findPatterns: a pattern shorter than 8 bytes")
		}
		first[binary.LittleEndian.Uint16(p.b)] = true
		k := binary.LittleEndian.Uint64(p.b)
		byPrefix[k] = append(byPrefix[k], p)
	}
	var out []string
	found := map[string]bool{}
	for i := 0; i+8 <= len(b); i++ {
		if !first[binary.LittleEndian.Uint16(b[i:])] {
			continue
		}
		for _, p := range byPrefix[binary.LittleEndian.Uint64(b[i:])] {
			if !found[p.name] && bytes.HasPrefix(b[i:], p.b) {
				found[p.name] = true
				out = append(out, p.name)
			}
		}
	}
	return out
}

func TestEncodingsFindEmbedded(t *testing.T) {
	t.Parallel()
	// The base64 forms must find the canary at any offset inside a []byte
	// field encoded as JSON.
	secret := "CANARY-TEST-0123456789abcdef"
	for prefix := range 6 {
		field := append(bytes.Repeat([]byte("x"), prefix), secret+" and more"...)
		js := []byte(base64.StdEncoding.EncodeToString(field))
		found := false
		for name, b := range encodings(secret) {
			if strings.HasPrefix(name, "base64+") && bytes.Contains(js, b) {
				found = true
			}
		}
		if !found {
			t.Errorf("prefix %d: no base64 form found in %s", prefix, js)
		}
	}
}

// clusterRowsHolding returns where a secret (under its name) is in a row
// of any table of a test store on the cluster engine, in any of its
// encodings, read as the database shows the row as text (so bytea in
// hex): the rows' counterpart of reading the embedded file, for tests
// that share one PostgreSQL server (TestCanariesCluster reads a stopped
// server's files, the write-ahead log too).
func clusterRowsHolding(t testing.TB, s *Store, secrets map[string]string) []string {
	t.Helper()
	var found []string
	clusterRows(t, s, func(table, text string) {
		lower := strings.ToLower(text)
		for what, secret := range secrets {
			for enc, b := range encodings(secret) {
				if strings.Contains(text, string(b)) || strings.Contains(lower, hex.EncodeToString(b)) {
					found = append(found, fmt.Sprintf("the %s in table %s as %s", what, table, enc))
				}
			}
		}
	})
	return found
}
