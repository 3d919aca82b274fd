package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/crypto/signing"
	"github.com/postkasse/postkasse/internal/testsupport/webauthntest"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/storage"
)

// agreementPDF is a real PDF: a signature request's main document.
func agreementPDF(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../crypto/signing/testdata/letter.pdf")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signatureDelivery asks nid to sign a PDF by 2026-12-15 (the test clock
// is 2026-11-22).
func signatureDelivery(t testing.TB, nid NationalID, ref string) Delivery {
	d := testDelivery(nid, ref)
	d.Documents[0].Content = agreementPDF(t)
	d.SignatureRequest = &SignatureRequest{Deadline: "2026-12-15", Description: "Lejeaftale for Vestergade 12"}
	return d
}

// newSigningFixture is a fixture whose sender has a reply key, which a
// signature request needs; it returns the key's private half.
func newSigningFixture(t testing.TB) (*fixture, *crypto.PrivateKey) {
	t.Helper()
	f := newFixture(t)
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	if err := f.s.SetSenderReplyKey(context.Background(), f.sender.ID, pub[:], true); err != nil {
		t.Fatal(err)
	}
	return f, k
}

// deliverForSignature delivers signatureDelivery from f's sender to f's
// resident, with the reference given.
func deliverForSignature(t testing.TB, f *fixture, ref string) DeliveryResult {
	t.Helper()
	res, err := f.s.Deliver(context.Background(), f.sender.ID, signatureDelivery(t, f.nid, ref))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// openSignature opens the sender's sealed signature of a letter with the
// sender's reply key: its files by name.
func openSignature(t testing.TB, f *fixture, key *crypto.PrivateKey, letterID string) map[string][]byte {
	t.Helper()
	got, resident, err := f.s.LetterSignature(context.Background(), f.sender.ID, letterID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResidentKey != nil {
		t.Error("the sender is given the resident's copy of the key")
	}
	r, err := key.OpenReply(got.Sealed, crypto.ReplyBinding{ReplyID: crypto.SignatureReplyID(letterID), SenderID: f.sender.ID, ResidentID: resident})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, a := range r.Attachments {
		out[a.Name] = a.Content
	}
	return out
}

func signingCA(t testing.TB, s *Store) *signing.Authority {
	t.Helper()
	c, err := signing.ParseCertificatePEM(s.SigningCA())
	if err != nil {
		t.Fatal(err)
	}
	return &signing.Authority{Cert: c}
}

func TestSignatureRequestValidation(t *testing.T) {
	t.Parallel()
	f, _ := newSigningFixture(t)
	ctx := context.Background()
	before := countKeys(t, f.s)
	for name, edit := range map[string]func(*Delivery){
		"no deadline":          func(d *Delivery) { d.SignatureRequest.Deadline = "" },
		"not a date":           func(d *Delivery) { d.SignatureRequest.Deadline = "15-12-2026" },
		"no such day":          func(d *Delivery) { d.SignatureRequest.Deadline = "2026-02-30" },
		"in the past":          func(d *Delivery) { d.SignatureRequest.Deadline = "2026-11-21" },
		"years ahead":          func(d *Delivery) { d.SignatureRequest.Deadline = "2030-01-01" },
		"no description":       func(d *Delivery) { d.SignatureRequest.Description = "  " },
		"a long description":   func(d *Delivery) { d.SignatureRequest.Description = string(bytes.Repeat([]byte("x"), 501)) },
		"a bidi control":       func(d *Delivery) { d.SignatureRequest.Description = "Aftale \u202e" },
		"no document":          func(d *Delivery) { d.Documents = nil },
		"a broken PDF":         func(d *Delivery) { d.Documents[0].Content = []byte("%PDF-1.7\nbroken, no xref\n%%EOF\n") },
		"a PDF cut in the mid": func(d *Delivery) { d.Documents[0].Content = d.Documents[0].Content[:len(d.Documents[0].Content)/2] },
		"an HTML document": func(d *Delivery) {
			d.Documents[0] = DocumentInput{Name: "aftale.html", ContentType: "text/html", Content: []byte("<p>Aftale</p>")}
		},
	} {
		d := signatureDelivery(t, f.nid, "aftale-"+name)
		edit(&d)
		_, err := f.s.Deliver(ctx, f.sender.ID, d)
		var inv *InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("%s: %v, want an InvalidError", name, err)
		}
	}
	if after := countKeys(t, f.s); !reflect.DeepEqual(before, after) {
		t.Errorf("refused requests stored something: %v, then %v", before, after)
	}
	// A sender without a reply key, which the signed result is sealed to.
	shop := mustSender(t, f.s, "Fjordkraft AS", "976944801", SenderPrivate)
	before = countKeys(t, f.s)
	_, err := f.s.Deliver(ctx, shop.ID, signatureDelivery(t, f.nid, "aftale-no-key"))
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Field != "signatureRequest" || !errors.Is(err, ErrNoReplyKey) {
		t.Errorf("a request from a sender without a reply key: %v", err)
	}
	if after := countKeys(t, f.s); !reflect.DeepEqual(before, after) {
		t.Errorf("a request from a sender without a reply key stored something: %v, then %v", before, after)
	}
	// Today is a valid deadline.
	d := signatureDelivery(t, f.nid, "aftale-today")
	d.SignatureRequest.Deadline = "2026-11-22"
	if _, err := f.s.Deliver(ctx, f.sender.ID, d); err != nil {
		t.Fatal(err)
	}
}

func TestSignLetter(t *testing.T) {
	t.Parallel()
	f, senderKey := newSigningFixture(t)
	ctx := context.Background()
	res := deliverForSignature(t, f, "aftale-1")
	id := res.Letter.ID
	mb := mustLogin(t, f.s, f.nid, testPassword)
	l, err := mb.Letter(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.SignatureRequest == nil || l.SignatureRequest.Deadline != "2026-12-15" || l.Signature != nil {
		t.Fatalf("opened request %+v, signature %+v", l.SignatureRequest, l.Signature)
	}
	// Nothing to fetch yet.
	if _, _, err := f.s.LetterSignature(ctx, f.sender.ID, id); !errors.Is(err, ErrNoSignatureRequest) {
		t.Fatalf("LetterSignature before: %v", err)
	}

	// Another resident cannot sign or decline.
	other := testNID(t, 2)
	mustResident(t, f.s, other, "Bo Berg")
	omb := mustLogin(t, f.s, other, testPassword)
	if _, err := omb.Sign(ctx, id, SignConfirmation{Password: testPassword}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident's Sign: %v", err)
	}
	if err := omb.DeclineSignature(ctx, id, "nej"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident's DeclineSignature: %v", err)
	}
	// A wrong password signs nothing and stores nothing.
	before := countKeys(t, f.s)
	if _, err := mb.Sign(ctx, id, SignConfirmation{Password: "wrong password"}); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("Sign with a wrong password: %v", err)
	}
	if after := countKeys(t, f.s); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused signature stored something: %v, then %v", before, after)
	}
	if rawLetter(t, f.s, id).Signature != nil {
		t.Fatal("a signature stored on a wrong password")
	}

	sig, err := mb.Sign(ctx, id, SignConfirmation{Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	ca := signingCA(t, f.s)
	v, err := signing.VerifyCMS(agreementPDF(t), sig.CMS, ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer.Subject.CommonName != "Anna Andersen" || v.Signer.Subject.SerialNumber != "PK-"+f.resident.ID {
		t.Errorf("signer %v", v.Signer.Subject)
	}
	if bytes.Contains(v.Signer.Raw, []byte(f.nid.Number)) {
		t.Error("the certificate holds the national identity number")
	}
	if !v.Timestamp.Equal(f.clock.Now().UTC().Round(time.Microsecond)) {
		t.Errorf("time-stamp %v, want the appliance's %v", v.Timestamp, f.clock.Now())
	}
	// The signed PDF is sealed, never kept in clear.
	if sig.PDF != nil || !sig.SealedPDF || sig.Sealed == nil || sig.ResidentKey == nil {
		t.Fatalf("signature: PDF %d bytes, sealed %d bytes (PDF %v)", len(sig.PDF), len(sig.Sealed), sig.SealedPDF)
	}
	if stored := rawLetter(t, f.s, id).Signature; stored.PDF != nil || !bytes.Equal(stored.Sealed, sig.Sealed) || !bytes.Equal(stored.CMS, sig.CMS) {
		t.Fatal("the stored signature differs from the one returned, or holds the PDF")
	}
	// The sender fetches it and opens it with its reply key: the signed
	// PDF and the CMS; another sender cannot.
	got, _, err := f.s.LetterSignature(ctx, f.sender.ID, id)
	if err != nil || got.Status != SignatureSigned {
		t.Fatalf("LetterSignature: %+v, %v", got.Status, err)
	}
	files := openSignature(t, f, senderKey, id)
	if len(files) != 2 || !bytes.Equal(files[id+".p7s"], sig.CMS) {
		t.Fatalf("the sealed signature holds %d files", len(files))
	}
	if _, err := signing.VerifyPDF(files[id+".pdf"], ca.Cert); err != nil {
		t.Fatal(err)
	}
	// The resident opens the same signed PDF with the mailbox key.
	mine, err := mb.SignedFile(ctx, id)
	if err != nil || mine.ContentType != "application/pdf" || !bytes.Equal(mine.Content, files[id+".pdf"]) {
		t.Fatalf("the resident's signed PDF: %s, %v", mine.ContentType, err)
	}
	if _, err := omb.SignedFile(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident's SignedFile: %v", err)
	}
	// The sealed signature does not open as another letter's.
	if _, err := senderKey.OpenReply(got.Sealed, crypto.ReplyBinding{ReplyID: crypto.SignatureReplyID("other"), SenderID: f.sender.ID, ResidentID: f.resident.ID}); err == nil {
		t.Error("the sealed signature opens under another letter's binding")
	}
	shop := mustSender(t, f.s, "Fjordkraft AS", "976944801", SenderPrivate)
	if _, _, err := f.s.LetterSignature(ctx, shop.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender's LetterSignature: %v", err)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100)
	if err != nil || len(evs) != 2 || evs[1].Type != EventSigned || evs[1].LetterID != id {
		t.Errorf("events %+v, %v", evs, err)
	}
	// Answered once.
	if _, err := mb.Sign(ctx, id, SignConfirmation{Password: testPassword}); !errors.Is(err, ErrSignatureAnswered) {
		t.Errorf("signing twice: %v", err)
	}
	if err := mb.DeclineSignature(ctx, id, "fortryder"); !errors.Is(err, ErrSignatureAnswered) {
		t.Errorf("declining after signing: %v", err)
	}
	// The key is kept sealed and used again: the same certificate.
	res2 := deliverForSignature(t, f, "aftale-2")
	sig2, err := mb.Sign(ctx, res2.Letter.ID, SignConfirmation{Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := signing.VerifyCMS(agreementPDF(t), sig2.CMS, ca.Cert)
	if err != nil || !v2.Signer.Equal(v.Signer) {
		t.Errorf("second signature's certificate differs: %v", err)
	}
	// A letter without a request.
	plain, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "plain"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Sign(ctx, plain.Letter.ID, SignConfirmation{Password: testPassword}); !errors.Is(err, ErrNoSignatureRequest) {
		t.Errorf("signing a letter that asks none: %v", err)
	}
}

func TestSigningKeyIsSealed(t *testing.T) {
	t.Parallel()
	f, senderKey := newSigningFixture(t)
	ctx := context.Background()
	d := signatureDelivery(t, f.nid, "aftale-txt")
	d.Documents[0] = DocumentInput{Name: "aftale.txt", ContentType: "text/plain", Content: []byte("Jeg accepterer vilkårene.\n")}
	res, err := f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	sig, err := mb.Sign(ctx, res.Letter.ID, SignConfirmation{Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if sig.PDF != nil || sig.CMS == nil || sig.SealedPDF {
		t.Fatalf("a text's signature: PDF %d bytes, CMS %d bytes", len(sig.PDF), len(sig.CMS))
	}
	if files := openSignature(t, f, senderKey, res.Letter.ID); len(files) != 1 || !bytes.Equal(files[res.Letter.ID+".p7s"], sig.CMS) {
		t.Errorf("a text's sealed signature holds %d files", len(files))
	}
	if _, err := signing.VerifyCMS([]byte("Jeg accepterer vilkårene.\n"), sig.CMS, signingCA(t, f.s).Cert); err != nil {
		t.Fatal(err)
	}
	var key []byte
	if err := f.s.view(ctx, func(tx storage.Tx) error {
		r, err := getResident(tx, f.resident.ID)
		if err != nil {
			return err
		}
		key = r.SigningKey.Sealed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(key, []byte{0x30, 0x81}) && bytes.Contains(key, []byte("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07")) {
		t.Error("the signing key is stored as PKCS #8 in clear")
	}
}

func TestSignatureExpiresAndDecline(t *testing.T) {
	t.Parallel()
	f, _ := newSigningFixture(t)
	ctx := context.Background()
	a := deliverForSignature(t, f, "a")
	b := deliverForSignature(t, f, "b")
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if err := mb.DeclineSignature(ctx, a.Letter.ID, " "); err == nil {
		t.Error("declined without a reason")
	}
	if err := mb.DeclineSignature(ctx, a.Letter.ID, "Jeg er ikke enig i § 4."); err != nil {
		t.Fatal(err)
	}
	got, _, err := f.s.LetterSignature(ctx, f.sender.ID, a.Letter.ID)
	if err != nil || got.Status != SignatureDeclined || got.Reason != "Jeg er ikke enig i § 4." || got.CMS != nil {
		t.Errorf("declined: %+v, %v", got, err)
	}
	// The deadline day is the last: the day after, b cannot be signed.
	f.clock.Set(time.Date(2026, 12, 15, 23, 59, 0, 0, time.UTC))
	mb = mustLogin(t, f.s, f.nid, testPassword)
	f.clock.Set(time.Date(2026, 12, 16, 0, 0, 1, 0, time.UTC))
	if _, err := mb.Sign(ctx, b.Letter.ID, SignConfirmation{Password: testPassword}); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("signing after the deadline: %v", err)
	}
	if err := mb.DeclineSignature(ctx, b.Letter.ID, "for sent"); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("declining after the deadline: %v", err)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100)
	if err != nil || len(evs) != 3 || evs[2].Type != EventSignatureDeclined {
		t.Errorf("events %+v, %v", evs, err)
	}
}

// TestSigningCAKept: the signing CA is made once and is the same after
// the store is opened again.
func TestSigningCAKept(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/postkasse.db"
	s := openTestStoreAt(t, path, testOptions(newFakeClock()))
	first := s.SigningCA()
	if len(first) == 0 {
		t.Fatal("no signing CA")
	}
	closeTestStore(t, s)
	s = openTestStoreAt(t, path, testOptions(newFakeClock()))
	if !bytes.Equal(first, s.SigningCA()) {
		t.Error("the signing CA changed when the store was opened again")
	}
}

// TestSignatureRequestExported: a letter that asks for a signature is
// exported with its request, its receipt verifies offline, and another
// appliance imports it with the request, which cannot be answered there.
func TestSignatureRequestExported(t *testing.T) {
	t.Parallel()
	f, _ := newSigningFixture(t)
	ctx := context.Background()
	res := deliverForSignature(t, f, "aftale-1")
	mb := mustLogin(t, f.s, f.nid, testPassword)
	archive, _ := exportOf(t, mb)
	ex, err := openExportBytes(archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Verify(); err != nil {
		t.Fatalf("the export of a signature request does not verify: %v", err)
	}
	if r := ex.Manifest.Letters[0].SignatureRequest; r == nil || r.Deadline != "2026-12-15" || ex.Manifest.Letters[0].ID != res.Letter.ID {
		t.Fatalf("exported request %+v", r)
	}
	b := openTestStore(t, testOptions(newFakeClock()))
	mustResident(t, b, f.nid, "Anna Andersen")
	mbB := mustLogin(t, b, f.nid, testPassword)
	if _, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive))); err != nil {
		t.Fatal(err)
	}
	inbox, err := mbB.Inbox(ctx)
	if err != nil || len(inbox) != 1 {
		t.Fatalf("inbox %v, %v", inbox, err)
	}
	l, err := mbB.Letter(ctx, inbox[0].ID)
	if err != nil || l.SignatureRequest == nil {
		t.Fatalf("imported request %+v, %v", l.SignatureRequest, err)
	}
	if _, err := mbB.Sign(ctx, l.ID, SignConfirmation{Password: testPassword}); !errors.Is(err, ErrNoSignatureRequest) {
		t.Errorf("signing an imported letter: %v", err)
	}
}

// TestSignConcurrently: the first two signatures of a resident at once
// both succeed, with the one signing key that is kept.
func TestSignConcurrently(t *testing.T) {
	t.Parallel()
	f, _ := newSigningFixture(t)
	ctx := context.Background()
	var ids []string
	for _, ref := range []string{"a", "b", "c", "d"} {
		ids = append(ids, deliverForSignature(t, f, ref).Letter.ID)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	sigs := make([]LetterSignature, len(ids))
	errs := make(chan error, len(ids))
	for i, id := range ids {
		go func() {
			var err error
			sigs[i], err = mb.Sign(ctx, id, SignConfirmation{Password: testPassword})
			errs <- err
		}()
	}
	for range ids {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ca := signingCA(t, f.s)
	var first *signing.Verified
	for i, s := range sigs {
		v, err := signing.VerifyCMS(agreementPDF(t), s.CMS, ca.Cert)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = v
		} else if !v.Signer.Equal(first.Signer) {
			t.Error("two signing certificates for one resident")
		}
	}
}

// TestDeleteSignedLetter: deleting a signed letter deletes the signed
// PDF with it (it holds the document); its sender then finds no
// signature.
func TestDeleteSignedLetter(t *testing.T) {
	t.Parallel()
	f, _ := newSigningFixture(t)
	ctx := context.Background()
	res := deliverForSignature(t, f, "aftale-1")
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := mb.Sign(ctx, res.Letter.ID, SignConfirmation{Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteLetters(ctx, []string{res.Letter.ID}); err != nil {
		t.Fatal(err)
	}
	if rec := rawLetter(t, f.s, res.Letter.ID); rec.Signature != nil {
		t.Error("the tombstone keeps the signature")
	}
	if _, _, err := f.s.LetterSignature(ctx, f.sender.ID, res.Letter.ID); !errors.Is(err, ErrNoSignatureRequest) {
		t.Errorf("the sender's signature of a deleted letter: %v", err)
	}
}

// TestSigningCAMadeForOldDatabase: a database from before signing has no
// signing CA; opened read-only (an operator's check) it still opens and
// signs nothing; the first writable start makes the CA.
// On the engine of the pass: the CA's meta entry removed from the
// embedded file, or its row from the cluster's meta table (the
// read-only open then with cluster.Config.ReadOnly).
func TestSigningCAMadeForOldDatabase(t *testing.T) {
	t.Parallel()
	signingCAMadeForOldDatabase(t, openTestStoreAt)
}

// TestSigningCAMadeForOldDatabaseFile is TestSigningCAMadeForOldDatabase
// on the embedded engine's file in both passes.
func TestSigningCAMadeForOldDatabaseFile(t *testing.T) {
	t.Parallel()
	signingCAMadeForOldDatabase(t, openEmbeddedStoreAt)
}

func signingCAMadeForOldDatabase(t *testing.T, openAt func(testing.TB, string, Options) *Store) {
	t.Helper()
	path := t.TempDir() + "/postkasse.db"
	clock := newFakeClock()
	s := openAt(t, path, testOptions(clock))
	before := s.SigningCA()
	embeddedFile := onEmbedded(s)
	var cfg cluster.Config
	if embeddedFile {
		if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Delete([]byte(keySigningAuthority))
		}); err != nil {
			t.Fatal(err)
		}
	} else {
		clusterSQL(t, s, `DELETE FROM meta WHERE key = '`+keySigningAuthority+`'`)
		cfg = clusterConfig(t, s)
	}
	closeTestStore(t, s)

	opts := testOptions(clock)
	opts.ReadOnly = true
	open := Open
	if !embeddedFile {
		open = func(_ string, opts Options) (*Store, error) {
			cfg.ReadOnly = true
			return openCluster(cfg, opts)
		}
	}
	ro, err := open(path, opts)
	if err != nil {
		t.Fatalf("a read-only open of a database without a signing CA: %v", err)
	}
	if ro.SigningCA() != nil {
		t.Error("a read-only store made a signing CA")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, testOptions(clock))
	after := s.SigningCA()
	if len(after) == 0 || bytes.Equal(before, after) {
		t.Errorf("the first writable start did not make a new signing CA")
	}
}

// TestSignOldLetters: a request whose sender has no reply key at signing
// (asked before one was needed) keeps only the CMS; a signature made
// before the result was sealed, with the signed PDF in clear, is still
// served as it was.
func TestSignOldLetters(t *testing.T) {
	t.Parallel()
	f, _ := newSigningFixture(t)
	ctx := context.Background()
	a := deliverForSignature(t, f, "a")
	b := deliverForSignature(t, f, "b")
	if err := f.s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Senders().Get(f.sender.ID)
		if err != nil {
			return err
		}
		rec.ReplyKey = nil
		return tx.Senders().Put(rec)
	}); err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	sig, err := mb.Sign(ctx, a.Letter.ID, SignConfirmation{Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if sig.CMS == nil || sig.PDF != nil || sig.Sealed != nil {
		t.Errorf("signed without a sender key: CMS %d, PDF %d, sealed %d bytes", len(sig.CMS), len(sig.PDF), len(sig.Sealed))
	}
	if got, err := mb.SignedFile(ctx, a.Letter.ID); err != nil || got.ContentType != "application/pkcs7-signature" || !bytes.Equal(got.Content, sig.CMS) {
		t.Errorf("the CMS-only signature's file: %s, %v", got.ContentType, err)
	}
	// A record of an older version, with the signed PDF in clear.
	old := []byte("%PDF-1.7 signed before")
	if err := f.s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(b.Letter.ID)
		if err != nil {
			return err
		}
		rec.Signature = &LetterSignature{Status: SignatureSigned, At: f.clock.Now(), CMS: sig.CMS, PDF: old}
		return tx.Letters().Put(rec)
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := mb.SignedFile(ctx, b.Letter.ID); err != nil || got.ContentType != "application/pdf" || !bytes.Equal(got.Content, old) {
		t.Errorf("an old signature's file: %s, %v", got.ContentType, err)
	}
	if got, _, err := f.s.LetterSignature(ctx, f.sender.ID, b.Letter.ID); err != nil || !bytes.Equal(got.PDF, old) {
		t.Errorf("an old signature for the sender: %v", err)
	}
}

// TestSignWithPasskey: a signature confirmed with a passkey: the
// ceremony asks for user verification and is bound to the letter and the
// session; an assertion without it, to another challenge, of another
// session's ceremony or replayed signs nothing; the right one signs once,
// and the audit entry says how it was confirmed. A resident without a
// passkey gets no ceremony.
func TestSignWithPasskey(t *testing.T) {
	t.Parallel()
	f, _ := newSigningFixture(t)
	ctx := context.Background()
	var ids []string
	for _, ref := range []string{"a", "b"} {
		ids = append(ids, deliverForSignature(t, f, ref).Letter.ID)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	mb2 := mustLogin(t, f.s, f.nid, testPassword) // another session
	if _, err := mb.BeginSignPasskey(ctx, testRP, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("a ceremony without a passkey: %v", err)
	}
	a := newTestAuthenticator(false, false)
	addPasskey(t, mb, a, "Telefon")
	c, err := mb.BeginSignPasskey(ctx, testRP, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Options, `"userVerification":"required"`) {
		t.Errorf("options %s", c.Options)
	}
	sign := func(mb *Mailbox, id, state, response string) error {
		_, err := mb.Sign(ctx, id, SignConfirmation{Passkey: &PasskeyAssertion{RP: testRP, State: state, Response: response}})
		return err
	}
	before := countKeys(t, f.s)
	// Without user verification.
	noUV := &webauthntest.Authenticator{Origin: a.Origin, NoUserVerification: true, Credentials: a.Credentials}
	if resp, err := noUV.Get(c.Options); err != nil {
		t.Fatal(err)
	} else if err := sign(mb, ids[0], c.State, resp); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("without user verification: %v", err)
	}
	// To another ceremony's challenge.
	other, err := mb.BeginSignPasskey(ctx, testRP, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := a.Get(other.Options); err != nil {
		t.Fatal(err)
	} else if err := sign(mb, ids[0], c.State, resp); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("an assertion to another challenge: %v", err)
	}
	// Another session's ceremony, another letter's.
	resp, err := a.Get(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	if err := sign(mb2, ids[0], c.State, resp); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another session's ceremony: %v", err)
	}
	if err := sign(mb, ids[1], c.State, resp); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another letter's ceremony: %v", err)
	}
	// A password confirmation's field is ignored with a passkey.
	if _, err := mb.Sign(ctx, ids[0], SignConfirmation{Password: testPassword, Passkey: &PasskeyAssertion{RP: testRP, State: c.State, Response: "{"}}); !errors.Is(err, ErrPasskeyResponse) {
		t.Errorf("a bad response with a password: %v", err)
	}
	if after := countKeys(t, f.s); !reflect.DeepEqual(before, after) || rawLetter(t, f.s, ids[0]).Signature != nil {
		t.Fatalf("refused passkey signatures stored something: %v, then %v", before, after)
	}
	if err := sign(mb, ids[0], c.State, resp); err != nil {
		t.Fatal(err)
	}
	// Replayed, on the other letter (its own ceremony is still unused).
	c2, err := mb.BeginSignPasskey(ctx, testRP, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := sign(mb, ids[0], c.State, resp); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("replayed: %v", err)
	}
	resp2, err := a.Get(c2.Options)
	if err != nil {
		t.Fatal(err)
	}
	if err := sign(mb, ids[1], c2.State, resp2); err != nil {
		t.Fatal(err)
	}
	log, err := f.s.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var signs []AuditEntry
	for _, e := range log {
		if e.Action == "sign" {
			signs = append(signs, e)
		}
	}
	if len(signs) != 2 || signs[0].Detail != "confirmed with passkey" {
		t.Errorf("audit %+v", signs)
	}
}

// TestSignatureDeadlineTimeZone: the deadline day ends at midnight in the
// appliance's time zone, not UTC: in Copenhagen, 23:30 UTC on the last
// day is already the next day, so the request has expired; a deadline of
// today there is accepted though it is yesterday in UTC.
func TestSignatureDeadlineTimeZone(t *testing.T) {
	t.Parallel()
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, func(o *Options) { o.Location = cph })
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	ctx := context.Background()
	if err := f.s.SetSenderReplyKey(ctx, f.sender.ID, pub[:], true); err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 22 November is 00:30 on 23 November in Copenhagen.
	f.clock.Set(time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC))
	d := signatureDelivery(t, f.nid, "yesterday-in-utc")
	d.SignatureRequest.Deadline = "2026-11-22"
	var inv *InvalidError
	if _, err := f.s.Deliver(ctx, f.sender.ID, d); !errors.As(err, &inv) || inv.Field != "signatureRequest.deadline" {
		t.Errorf("a deadline of yesterday in Copenhagen: %v", err)
	}
	d = signatureDelivery(t, f.nid, "today-in-cph")
	d.SignatureRequest.Deadline = "2026-11-23"
	res, err := f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	if end, ok := f.s.SignatureDeadlineEnd("2026-11-23"); !ok || !end.Equal(time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("the deadline ends %v", end)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	// 22:59 UTC on the 23rd is 23:59 in Copenhagen: still open.
	f.clock.Set(time.Date(2026, 11, 23, 22, 59, 0, 0, time.UTC))
	if f.s.SignatureExpired(d.SignatureRequest) {
		t.Error("expired before midnight in Copenhagen")
	}
	// 23:00 UTC is midnight there: closed, though still the 23rd in UTC.
	f.clock.Set(time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC))
	if _, err := mb.Sign(ctx, res.Letter.ID, SignConfirmation{Password: testPassword}); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("signing after midnight in Copenhagen: %v", err)
	}
}
