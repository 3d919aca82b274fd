package migrate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/cluster"
	"github.com/postkasse/postkasse/store/embedded"
	"github.com/postkasse/postkasse/store/migrate"
	"github.com/postkasse/postkasse/store/storage"
)

var (
	pg pgtest.Shared
	s3 s3test.Shared
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, close := range []func() error{pg.Close, s3.Close} {
		if err := close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

var cheapKDF = crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

const password = "correct horse battery staple"

// newCluster opens a new, empty cluster engine of the test's own.
func newCluster(t *testing.T) *cluster.Engine {
	t.Helper()
	endpoint, bucket, ak, sk := s3.NewBucket(t)
	e, err := cluster.Open(context.Background(), cluster.Config{
		DatabaseURL: pg.NewDatabase(t),
		Blobs:       cluster.BlobConfig{Endpoint: endpoint, Bucket: bucket, Region: s3test.Region, AccessKey: ak, SecretKey: sk},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// deployment makes an embedded deployment with some of everything: two
// residents, a public and a private sender, letters with documents (one
// read, one moved to a folder of the resident's own, an invoice marked
// paid), terms published and accepted, preferences, a support request, a
// sender blocked, events, sessions and the audit log of all of it. It
// returns the database's path, a receipt's audit claim and a checkpoint
// from before the copy, and the letters' ids and contents.
func deployment(t *testing.T) (path string, evidence auditlog.Evidence, letters map[string][]byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "postkasse.db")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st, err := store.Open(path, store.Options{KDF: cheapKDF, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	anna := store.NationalID{Country: "DK", Number: "0101900123"}
	bo := store.NationalID{Country: "DK", Number: "0202900124"}
	for _, r := range []struct {
		nid  store.NationalID
		name string
	}{{anna, "Anna Andersen"}, {bo, "Bo Bendtsen"}} {
		if _, _, err := st.AddResident(context.Background(), r.nid, r.name, password); err != nil {
			t.Fatal(err)
		}
	}
	kommune, err := st.AddSender(context.Background(), "Aarhus Kommune", "55133018", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	shop, err := st.AddSender(context.Background(), "Boghandlen ApS", "12345674", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishTerms(context.Background(), "Vilkår for brug af Postkasse.", now.AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	now = now.AddDate(0, 1, 0)
	// The municipality's callback: the letters' events wait in its outbox.
	if _, err := st.SetCallback(context.Background(), kommune.ID, "https://93.184.216.34/postkasse", store.CallbackPolicy{}, true); err != nil {
		t.Fatal(err)
	}
	// The municipality takes replies: its first letter allows them.
	replyKey := make([]byte, 32)
	replyKey[0] = 9 // X25519's base point: a valid public key
	if err := st.SetSenderReplyKey(context.Background(), kommune.ID, replyKey, false); err != nil {
		t.Fatal(err)
	}
	letters = map[string][]byte{}
	for i, to := range []store.NationalID{anna, anna, bo, anna} {
		now = now.Add(time.Minute)
		content := bytes.Repeat([]byte(fmt.Sprintf("Brev %d til %s. ", i, to.Number)), 200+i*50)
		d := store.Delivery{Recipient: to, Subject: fmt.Sprintf("Afgørelse %d", i), SenderReference: fmt.Sprintf("sag-%d", i),
			OpeningReceipt: true, // a read event for the feed, as before openingReceipt
			Documents:      []store.DocumentInput{{Name: "afgoerelse.txt", ContentType: "text/plain", Content: content}}}
		if i == 3 {
			d.Type, d.DueDate = store.TypeInvoice, "2026-12-24"
		}
		d.ReplyAllowed = i == 0
		res, err := st.Deliver(context.Background(), kommune.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		letters[res.Letter.ID] = content
		if i == 0 {
			p, err := st.VerifyReceipt(res.Receipt)
			if err != nil {
				t.Fatal(err)
			}
			evidence.Receipts = append(evidence.Receipts, auditlog.ReceiptClaim{Name: "receipt of " + p.LetterID, Entry: p.AuditEntry(), Proof: *p.Audit})
		}
	}
	ad, err := st.Deliver(context.Background(), shop.ID, store.Delivery{Recipient: anna, Subject: "Nyhedsbrev", SenderReference: "nyhed-1",
		Documents: []store.DocumentInput{{Name: "nyhed.txt", ContentType: "text/plain", Content: []byte("Ugens tilbud")}}})
	if err != nil {
		t.Fatal(err)
	}
	letters[ad.Letter.ID] = []byte("Ugens tilbud")
	sess, err := st.Login(context.Background(), anna.String(), password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if terms, ok, err := mb.PendingTerms(context.Background()); err != nil || !ok {
		t.Fatalf("pending terms: %v, %v", ok, err)
	} else if err := mb.AcceptTerms(context.Background(), terms.Version); err != nil {
		t.Fatal(err)
	}
	inbox, err := mb.Inbox(context.Background())
	if err != nil || len(inbox) != 4 {
		t.Fatalf("inbox: %d, %v", len(inbox), err)
	}
	if _, err := mb.Letter(context.Background(), inbox[3].ID); err != nil {
		t.Fatal(err)
	}
	folder, err := mb.CreateFolder(context.Background(), "Skat")
	if err != nil {
		t.Fatal(err)
	}
	// Bo may read Anna's post: a grant, and copies of her letters' keys.
	if _, err := mb.GrantAccess(context.Background(), store.GrantRequest{DelegateNationalID: bo.String(), Access: store.AccessRead, Scope: store.ScopeAll}); err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(context.Background(), []string{inbox[2].ID}, folder.ID); err != nil {
		t.Fatal(err)
	}
	for _, l := range inbox {
		if l.Subject == "Afgørelse 3" {
			if err := mb.MarkPaid(context.Background(), l.ID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A search makes the resident's sealed search index.
	if res, err := mb.Search(context.Background(), store.SearchQuery{Text: "afgørelse", Limit: 10}); err != nil || len(res.Hits) == 0 {
		t.Fatalf("search: %+v, %v", res, err)
	}
	if _, err := mb.BlockSender(context.Background(), shop.ID); err != nil {
		t.Fatal(err)
	}
	for _, l := range inbox {
		if l.Subject == "Afgørelse 0" {
			if _, err := mb.Reply(context.Background(), l.ID, store.ReplyInput{Text: "Tak for afgørelsen."}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := mb.SubmitSupportRequest(context.Background(), "other", "Spørgsmål", "Hvordan flytter jeg et brev?", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.SetNotificationPreferences(context.Background(), store.NotificationPreferences{Email: "anna@example.dk"}); err != nil {
		t.Fatal(err)
	}
	// A letter Anna deleted: its tombstone is copied too.
	if res, err := st.Deliver(context.Background(), kommune.ID, deletedLetter(anna)); err != nil {
		t.Fatal(err)
	} else if err := mb.DeleteLetters(context.Background(), []string{res.Letter.ID}); err != nil {
		t.Fatal(err)
	}
	// A letter queued for print (to nobody with a mailbox): the print
	// queue is copied too.
	if _, err := st.NewPrintKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	nobody, err := store.ParseNationalID("0707701234")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := st.Deliver(context.Background(), kommune.ID, store.Delivery{Recipient: nobody, Subject: "På papir", SenderReference: "sag-papir",
		Documents: []store.DocumentInput{{Name: "brev.pdf", ContentType: "application/pdf", Content: testsupport.PDF("Brev")}},
		Print:     &store.PrintRequest{Address: store.PrintAddress{Name: "Bo Berg", Lines: []string{"Søndergade 12"}, PostalCode: "8000", City: "Aarhus C", Country: "DK"}},
	}); err != nil || res.Letter.Status != "queued-for-print" {
		t.Fatalf("deliver to print: %+v, %v", res, err)
	}
	// A failed login's count: a limit, which the running nodes own and
	// Copy leaves behind.
	if err := st.UpdateLimits(context.Background(), []string{limitKey}, now.Add(time.Hour), func([][]byte) ([][]byte, error) {
		return [][]byte{[]byte(`{"Failures":["2026-12-01T09:00:00Z"]}`)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	signed, _, err := st.SignCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	evidence.Checkpoints = []auditlog.File{{Name: "checkpoint", Data: signed}}
	return path, evidence, letters
}

// deletedLetter is the delivery of the letter deployment deletes.
func deletedLetter(to store.NationalID) store.Delivery {
	return store.Delivery{Recipient: to, Subject: "Slettet", SenderReference: "sag-slettet",
		Documents: []store.DocumentInput{{Name: "slettet.txt", ContentType: "text/plain", Content: []byte("Slettet brev")}}}
}

// limitKey names the limit that deployment counts.
const limitKey = "login-account:0101900123"

func fileDigest(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestCopy: an embedded deployment copied into the cluster engine is the
// same record for record and blob for blob; the appliance on the copy
// signs residents in, opens their letters and serves the events feed
// where it was; the audit log verifies, against a receipt from before the
// copy too; the source is untouched; a second copy is refused; and the
// limits (the running nodes' counts) are not copied.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	path, evidence, letters := deployment(t)
	before := fileDigest(t, path)

	src, err := embedded.Open(path, embedded.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	dst := newCluster(t)
	var steps []string
	rep, err := migrate.Copy(ctx, src, dst, func(kind string, n int) { steps = append(steps, fmt.Sprintf("%s %d", kind, n)) })
	if err != nil {
		t.Fatal(err)
	}
	// Six letters, one of them a deleted letter's tombstone, which has
	// no documents.
	if rep.Records["letters"] != 6 || rep.Blobs != 5 || rep.Records["residents"] != 2 || rep.Records["senders"] != 2 ||
		rep.Records["folders"] == 0 || rep.Records["events"] == 0 || rep.Records["audit entries"] == 0 || rep.Records["support requests"] != 1 ||
		rep.Records["search indexes"] != 1 || rep.Records["callbacks"] != 1 || rep.Records["callback outbox"] == 0 ||
		rep.Records["print queue"] != 1 || rep.Records["replies"] != 1 || rep.Records["delegations"] != 1 {
		t.Errorf("copied: %s", rep)
	}
	if len(steps) != 23 {
		t.Errorf("progress: %v", steps)
	}
	cmp, err := migrate.Compare(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Blobs != rep.Blobs || cmp.BlobBytes != rep.BlobBytes || cmp.Records["audit entries"] != rep.Records["audit entries"] {
		t.Errorf("compared %s, copied %s", cmp, rep)
	}
	// Run twice: refused, nothing written.
	if _, err := migrate.Copy(ctx, src, dst, nil); !errors.Is(err, migrate.ErrNotEmpty) {
		t.Errorf("second copy: %v, want ErrNotEmpty", err)
	}
	if _, err := migrate.Compare(ctx, src, dst); err != nil {
		t.Errorf("after the refused copy: %v", err)
	}
	src.Close()
	if fileDigest(t, path) != before {
		t.Error("the copy changed the source")
	}

	// The appliance on the copy.
	st, err := store.New(dst, store.Options{KDF: cheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateLimits(ctx, []string{limitKey}, time.Now().Add(time.Minute), func(v [][]byte) ([][]byte, error) {
		if v[0] != nil {
			return nil, fmt.Errorf("the source's limit was copied: %s", v[0])
		}
		return v, nil
	}); err != nil {
		t.Error(err)
	}
	sess, err := st.Login(context.Background(), store.NationalID{Country: "DK", Number: "0101900123"}.String(), password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	inbox, err := mb.Inbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, l := range inbox {
		doc, err := mb.Document(context.Background(), l.ID, 0)
		if err != nil {
			t.Errorf("letter %s: %v", l.ID, err)
			continue
		}
		if !bytes.Equal(doc.Content, letters[l.ID]) {
			t.Errorf("letter %s: another content", l.ID)
		}
		opened++
	}
	if opened == 0 {
		t.Error("no letter opened on the copy")
	}
	// The copied search index opens (the version on the copy is the
	// source's: no letter is indexed again).
	if res, err := mb.Search(context.Background(), store.SearchQuery{Text: "afgørelse", Limit: 10}); err != nil || len(res.Hits) == 0 {
		t.Errorf("search on the copy: %+v, %v", res, err)
	}
	folders, err := mb.Folders(context.Background())
	if err != nil || len(folders) < 3 {
		t.Errorf("folders on the copy: %+v, %v", folders, err)
	}
	senders, err := st.Senders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, snd := range senders {
		evs, _, err := st.Events(context.Background(), snd.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if snd.Name == "Aarhus Kommune" && len(evs) < 5 {
			t.Errorf("events of %s on the copy: %d", snd.Name, len(evs))
		}
	}
	// The deleted letter's tombstone: the same delivery again is its
	// repeat, deleted, and no new letter.
	for _, snd := range senders {
		if snd.Name != "Aarhus Kommune" {
			continue
		}
		again, err := st.Deliver(context.Background(), snd.ID, deletedLetter(store.NationalID{Country: "DK", Number: "0101900123"}))
		if err != nil || !again.Repeated || again.Letter.Status != "deleted" {
			t.Errorf("the deleted letter delivered again on the copy: %+v, %v", again, err)
		}
	}
	// A new delivery on the copy gets the next event and audit entry.
	if _, err := st.Deliver(context.Background(), senders[0].ID, store.Delivery{Recipient: store.NationalID{Country: "DK", Number: "0202900124"}, Subject: "Efter flytningen",
		SenderReference: "efter-1", Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("Efter flytningen")}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
	report, err := st.VerifyAudit(context.Background(), evidence)
	if err != nil || !report.OK() || report.Receipts != 1 || report.Checkpoints != 1 {
		t.Errorf("the copy's audit log against a receipt and a checkpoint from before the copy: %s, %v", report, err)
	}
}

// TestCompareFindsDifferences: a record changed, a record added and a
// document changed in the copy are each reported.
func TestCompareFindsDifferences(t *testing.T) {
	ctx := context.Background()
	path, _, _ := deployment(t)
	src, err := embedded.Open(path, embedded.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := newCluster(t)
	if _, err := migrate.Copy(ctx, src, dst, nil); err != nil {
		t.Fatal(err)
	}
	var letter *storage.Letter
	if err := dst.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Letters().All(func(l *storage.Letter) error {
			if letter == nil {
				letter = l
			}
			return nil
		}); err != nil {
			return err
		}
		r, err := tx.Residents().ByNationalID("0101900123")
		if err != nil {
			return err
		}
		r.Name = "Anna Forfalsket"
		if err := tx.Residents().Put(r); err != nil {
			return err
		}
		return tx.Meta().Put("planted", []byte("x"))
	}); err != nil {
		t.Fatal(err)
	}
	// Another document under the letter's first: written as a blob and
	// attached in place of the copied one.
	blob, err := dst.Blobs().Write(ctx, letter.ID, 0, strings.NewReader("not the letter"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Documents().Delete(letter.ID, len(letter.Documents)); err != nil {
			return err
		}
		return tx.Documents().Put(letter.ID, []storage.Blob{blob})
	}); err != nil {
		t.Fatal(err)
	}
	_, err = migrate.Compare(ctx, src, dst)
	if err == nil {
		t.Fatal("Compare found no difference")
	}
	for _, want := range []string{"residents ", "meta planted: not in the source", "letter " + letter.ID + ": its documents differ"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Compare did not report %q:\n%v", want, err)
		}
	}
}
