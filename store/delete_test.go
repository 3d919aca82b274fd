package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// sealedTraces returns every sealed byte string a letter's record and
// documents hold: its wrapped data key, subject, body, file names,
// listing and the sealed documents' contents.
func sealedTraces(t *testing.T, s *Store, id string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := s.view(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		out["data key"], out["subject"], out["body"], out["listing"] = rec.SealedKey, rec.Subject, rec.Body, rec.Listing
		if rec.Structured != nil {
			out["structured"] = rec.Structured
		}
		for i, d := range rec.Documents {
			out["file name "+string(rune('0'+i))] = d.Name
			r, err := tx.Documents().Open(id, i)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
			// A chunk of the sealed content, past its header.
			out["document "+string(rune('0'+i))] = b[len(b)/2 : len(b)/2+64]
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range out {
		if len(b) == 0 {
			t.Fatalf("letter %s has no %s to look for", id, what)
		}
	}
	return out
}

// findTraces reports where the traces are still kept: on the embedded
// engine in any key or value of any bucket (sub-buckets too), and every
// index entry naming the letter other than its record, reference,
// sender-letters and tombstone entries and the audit log; on the cluster
// engine, the objects of the letter's documents left in the bucket.
func findTraces(t *testing.T, s *Store, id string, traces map[string][]byte) []string {
	t.Helper()
	var found []string
	if !onEmbedded(s) {
		cfg := clusterConfig(t, s)
		ctx := context.Background()
		for obj := range s3.Server(t).Client(t).ListObjects(ctx, cfg.Blobs.Bucket, minio.ListObjectsOptions{Prefix: "documents/" + id, Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			found = append(found, "object "+obj.Key)
		}
		return found
	}
	allowed := map[string]bool{"letters": true, "references": true, "sender-letters": true, "tombstones": true, "audit-log": true, "events": true}
	var walk func(path string, b *bolt.Bucket) error
	walk = func(path string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if sub := b.Bucket(k); sub != nil {
					if bytes.Equal(k, []byte(id)) {
						found = append(found, path+"/"+string(k)+": a sub-bucket of the letter")
					}
					return walk(path+"/"+printableKey(k), sub)
				}
			}
			for what, tr := range traces {
				if bytes.Contains(k, tr) || bytes.Contains(v, tr) {
					found = append(found, path+": its "+what)
				}
			}
			if bytes.Contains(k, []byte(id)) && !allowed[strings.TrimPrefix(path, "/")] {
				found = append(found, path+": an entry naming it")
			}
			return nil
		})
	}
	if err := s.testDB(t).View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk("/"+string(name), b) })
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

func printableKey(k []byte) string {
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return "…"
		}
	}
	return string(k)
}

// TestDeleteLetter: deleting a letter leaves its tombstone only — no
// wrapping of its data key, no sealed field or document anywhere (every
// bucket of the embedded file; the cluster's objects) — and it is gone
// from the mailbox; its sender sees "deleted" in the status and as an
// event, the audit log has the deletion, and the same senderReference
// again returns the original result, not a new letter.
func TestDeleteLetter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	two := testDelivery(f.nid, "two-documents")
	two.Documents = append(two.Documents, DocumentInput{Name: "bilag.txt", ContentType: "text/plain", Content: []byte(strings.Repeat("Bilag til afgørelsen.\n", 40))})
	gone, err := f.s.Deliver(ctx, f.sender.ID, two)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if _, err := mb.Letter(ctx, gone.Letter.ID); err != nil { // read: the sender's status says so
		t.Fatal(err)
	}
	if page, _, err := mb.InboxPage(ctx, "", 50); err != nil || len(page) != 2 { // seals the listings
		t.Fatalf("inbox: %+v, %v", page, err)
	}
	traces := sealedTraces(t, f.s, gone.Letter.ID)
	found := findTraces(t, f.s, gone.Letter.ID, traces)
	if !onEmbedded(f.s) && len(found) != 2 || onEmbedded(f.s) && len(found) == 0 {
		t.Fatalf("before deleting, the traces are found as %q: the test looks in the wrong place", found)
	}
	if onEmbedded(f.s) && !slices.ContainsFunc(found, func(s string) bool { return strings.HasPrefix(s, "/letter-parts:") }) {
		t.Fatalf("before deleting, nothing of the letter in letter-parts (%q): the test looks in the wrong place", found)
	}

	f.clock.Advance(time.Minute)
	deletedAt := f.clock.Now()
	if err := mb.DeleteLetters(ctx, []string{gone.Letter.ID}); err != nil {
		t.Fatal(err)
	}
	if found := findTraces(t, f.s, gone.Letter.ID, traces); len(found) > 0 {
		t.Errorf("after deleting: %s", strings.Join(found, "; "))
	}
	rec := rawRecord(t, f.s, gone.Letter.ID)
	if !rec.IsTombstone() || !rec.Deleted.Equal(deletedAt) || len(checkTombstone(rec)) > 0 ||
		rec.SenderReference != "two-documents" || !bytes.Equal(rec.Receipt.Signature, gone.Receipt.Signature) {
		t.Errorf("tombstone = %+v", rec)
	}

	// Gone from the mailbox.
	if _, err := mb.Letter(ctx, gone.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("opening a deleted letter: %v", err)
	}
	if _, err := mb.Document(ctx, gone.Letter.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("opening a deleted letter's document: %v", err)
	}
	if err := mb.MarkRead(ctx, []string{gone.Letter.ID}, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("marking a deleted letter: %v", err)
	}
	if err := mb.DeleteLetters(ctx, []string{gone.Letter.ID}); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting it again: %v", err)
	}
	page, _, err := mb.InboxPage(ctx, "", 50)
	if err != nil || len(page) != 1 || page[0].ID != kept.Letter.ID {
		t.Errorf("inbox after deleting: %+v, %v", page, err)
	}
	if all, err := mb.Inbox(ctx); err != nil || len(all) != 1 {
		t.Errorf("Inbox after deleting: %+v, %v", all, err)
	}
	if folders, err := mb.Folders(ctx); err != nil || folders[0].ID != FolderInbox || folders[0].Letters != 1 {
		t.Errorf("folders after deleting: %+v, %v", folders, err)
	}
	if l, err := mb.Letter(ctx, kept.Letter.ID); err != nil || l.Subject != "Afgørelse om boligstøtte" {
		t.Errorf("the other letter: %+v, %v", l, err)
	}

	// The sender's side.
	st, err := f.s.LetterStatus(ctx, f.sender.ID, gone.Letter.ID)
	if err != nil || st.Status != "deleted" || st.ReadAt.IsZero() || !st.DeliveredAt.Equal(gone.Letter.DeliveredAt) {
		t.Errorf("status = %+v, %v", st, err)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(evs, func(e Event) bool { return e.Type == EventDeleted })
	if i < 0 {
		t.Fatalf("no deleted event in %+v", evs)
	}
	last := evs[i]
	if last.Type != EventDeleted || last.LetterID != gone.Letter.ID || last.SenderReference != "two-documents" || !last.At.Equal(deletedAt) {
		t.Errorf("deleted event = %+v", last)
	}
	log, err := f.s.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(log, func(e AuditEntry) bool { return e.Action == "delete-letter" }); i < 0 {
		t.Error("no delete-letter audit entry")
	} else if e := log[i]; e.Action != "delete-letter" || e.Actor != "resident:"+f.resident.ID || e.Object != "letter:"+gone.Letter.ID {
		t.Errorf("audit entry = %+v", e)
	}
	if _, err := f.s.VerifyReceipt(gone.Receipt); err != nil {
		t.Errorf("the receipt of a deleted letter: %v", err)
	}

	// The same delivery again: the original result, no new letter.
	before := seamCounts(t, f.s)
	again, err := f.s.Deliver(ctx, f.sender.ID, two)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Repeated || again.Letter.ID != gone.Letter.ID || again.Letter.Status != "deleted" ||
		!bytes.Equal(again.Receipt.Payload, gone.Receipt.Payload) {
		t.Errorf("repeat after deleting = %+v", again)
	}
	if after := seamCounts(t, f.s); !equalCounts(before, after) {
		t.Errorf("a repeat after deleting stored something: %v → %v", before, after)
	}
	other := two
	other.Subject = "Noget andet"
	if _, err := f.s.Deliver(ctx, f.sender.ID, other); !errors.Is(err, ErrDuplicateReference) {
		t.Errorf("other content under a deleted letter's reference: %v", err)
	}
	if page, _, err := mb.InboxPage(ctx, "", 50); err != nil || len(page) != 1 {
		t.Errorf("inbox after the repeat: %+v, %v", page, err)
	}
	// The operator cannot make a deleted letter inaccessible.
	if _, err := f.s.MakeInaccessible(ctx, gone.Letter.ID, "Retskendelse", "Byretten"); !errors.Is(err, ErrNotFound) {
		t.Errorf("making a deleted letter inaccessible: %v", err)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// rawRecord returns a letter's record as stored, on either engine.
func rawRecord(t *testing.T, s *Store, id string) *letterRecord {
	t.Helper()
	var rec *letterRecord
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		var err error
		rec, err = tx.Letters().Get(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestDeleteLettersAllOrNone: another resident's letter, an unknown id,
// or a held letter among those chosen deletes nothing; the resident's
// own are deleted together, each with its event and audit entry;
// choosing none or too many is refused.
func TestDeleteLettersAllOrNone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	boNID := testNID(t, 2)
	mustResident(t, f.s, boNID, "Bo Berg")
	var anna []string
	for _, ref := range []string{"a1", "a2", "a3"} {
		r, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, ref))
		if err != nil {
			t.Fatal(err)
		}
		anna = append(anna, r.Letter.ID)
	}
	bos, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(boNID, "b1"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	bo := mustLogin(t, f.s, boNID, testPassword)
	defer bo.Close()
	if _, err := f.s.MakeInaccessible(ctx, anna[2], "Retskendelse om beslaglæggelse", "Københavns Byret"); err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		name string
		mb   *Mailbox
		ids  []string
		want error
	}{
		{"another resident's letter", bo, []string{anna[0]}, ErrNotFound},
		{"one of another resident's among own", mb, []string{anna[0], bos.Letter.ID}, ErrNotFound},
		{"an unknown id", mb, []string{anna[0], "00000000000000000000000000000000"}, ErrNotFound},
		{"a held letter among own", mb, []string{anna[0], anna[2]}, ErrInaccessible},
		{"none", mb, nil, nil},
		{"too many", mb, manyIDs(MaxDeleteLetters + 1), nil},
	}
	for _, tc := range refused {
		before := digest(t, f.s)
		err := tc.mb.DeleteLetters(ctx, tc.ids)
		var inv *InvalidError
		switch {
		case tc.want == nil && !errors.As(err, &inv):
			t.Errorf("%s: %v, want an InvalidError", tc.name, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if _, err2 := tc.mb.LettersToDelete(ctx, tc.ids); (tc.want == nil && !errors.As(err2, &inv)) || (tc.want != nil && !errors.Is(err2, tc.want)) {
			t.Errorf("%s: LettersToDelete: %v, want what DeleteLetters says (%v)", tc.name, err2, err)
		}
		if digest(t, f.s) != before {
			t.Errorf("%s: the store changed", tc.name)
		}
	}
	var held *InaccessibleError
	if err := mb.DeleteLetters(ctx, []string{anna[2]}); !errors.As(err, &held) || held.Hold.Order != "Københavns Byret" {
		t.Errorf("deleting a held letter: %v, want the hold", err)
	}

	// The confirmation lists the chosen letters, each once, unread.
	sums, err := mb.LettersToDelete(ctx, []string{anna[1], anna[0], anna[1]})
	if err != nil || len(sums) != 2 || sums[0].ID != anna[1] || sums[1].ID != anna[0] || sums[0].Subject != "Afgørelse om boligstøtte" || !sums[0].ReadAt.IsZero() {
		t.Fatalf("LettersToDelete = %+v, %v", sums, err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, anna[0]); err != nil || st.Status != "delivered" {
		t.Errorf("listing for the confirmation read the letter: %+v, %v", st, err)
	}

	actions := len(auditActions(t, f.s))
	if err := mb.DeleteLetters(ctx, []string{anna[0], anna[1], anna[0]}); err != nil {
		t.Fatal(err)
	}
	if got := auditActions(t, f.s)[actions:]; !slices.Equal(got, []string{"delete-letter", "delete-letter"}) {
		t.Errorf("audit entries of a bulk delete = %q", got)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, e := range evs {
		if e.Type == EventDeleted {
			deleted = append(deleted, e.LetterID)
		}
	}
	if !slices.Equal(deleted, anna[:2]) {
		t.Errorf("deleted events for %v, want %v", deleted, anna[:2])
	}
	for _, id := range anna[:2] {
		if st, err := f.s.LetterStatus(ctx, f.sender.ID, id); err != nil || st.Status != "deleted" {
			t.Errorf("status of %s = %+v, %v", id, st, err)
		}
	}
	// The held letter and Bo's are where they were.
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, bos.Letter.ID); err != nil || st.Status != "delivered" {
		t.Errorf("Bo's letter = %+v, %v", st, err)
	}
	if page, _, err := mb.InboxPage(ctx, "", 50); err != nil || len(page) != 1 || page[0].Hold == nil {
		t.Errorf("Anna's inbox = %+v, %v", page, err)
	}
	// Lifted, the hold no longer stands in the way.
	if err := f.s.MakeAccessible(ctx, anna[2]); err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteLetters(ctx, []string{anna[2]}); err != nil {
		t.Errorf("deleting after the hold was lifted: %v", err)
	}
}

// manyIDs returns n well-formed ids of no letter.
func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%032x", i+1)
	}
	return out
}

// TestDeletedLettersAndTheAccount: a sender whose letters were all
// deleted may still be blocked and is listed; deleting the account takes
// the tombstones with it, so nothing of the letters is left.
func TestDeletedLettersAndTheAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	shop := mustSender(t, f.s, "Fjordkraft AS", "976944801", SenderPrivate)
	ad, err := f.s.Deliver(ctx, shop.ID, testDelivery(f.nid, "tilbud"))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if err := mb.DeleteLetters(ctx, []string{ad.Letter.ID}); err != nil {
		t.Fatal(err)
	}
	senders, err := mb.Senders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(senders, func(s MailboxSender) bool { return s.Sender.ID == shop.ID })
	if i < 0 || senders[i].Letters != 0 || len(senders) != 2 {
		t.Errorf("senders after deleting the shop's only letter = %+v", senders)
	}
	if _, err := mb.BlockSender(ctx, shop.ID); err != nil {
		t.Errorf("blocking a sender whose letters were deleted: %v", err)
	}

	if err := mb.DeleteMailbox(ctx, testPassword); err != nil {
		t.Fatal(err)
	}
	err = f.s.view(ctx, func(tx storage.Tx) error {
		for _, id := range []string{ad.Letter.ID, kept.Letter.ID} {
			if _, err := tx.Letters().Get(id); !errors.Is(err, ErrNotFound) {
				t.Errorf("letter %s after deleting the account: %v", id, err)
			}
		}
		n := 0
		err := tx.Letters().Tombstones(f.resident.ID, func(string) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d tombstones after deleting the account", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckInvariantsTombstone: a tombstone that kept a wrapping of the
// data key or a sealed field, or whose documents are still stored, is
// reported.
func TestCheckInvariantsTombstone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeTampered(t, f.s)
	// A tombstone written over the letter by hand, its documents left.
	err = f.s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(r.Letter.ID)
		if err != nil {
			return err
		}
		rec.Deleted = f.clock.Now()
		rec.Subject = nil
		return tx.Letters().Put(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.s.CheckInvariants(ctx)
	for _, want := range []string{"its tombstone holds body, data key, documents", "documents of it are stored"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckInvariants = %v, want %q", err, want)
		}
	}
}

// TestDeathRetentionWithTombstone: a letter the resident deleted before
// dying keeps nothing alive: the retention after death counts the
// letters left, so the account goes with the last of them, and with it
// the tombstone.
func TestDeathRetentionWithTombstone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	priv := mustSender(t, f.s, "Nordlys Energi A/S", "31572290", SenderPrivate)
	public, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "public-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Deliver(ctx, priv.ID, testDelivery(f.nid, "private-1")); err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if err := mb.DeleteLetters(ctx, []string{public.Letter.ID}); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	diedOn := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clockTo(f.clock, diedOn.Add(36*time.Hour))
	if _, err := f.s.RecordDeath(ctx, f.nid, diedOn); err != nil {
		t.Fatal(err)
	}
	p := DefaultRetentionPolicy()
	privateEnd := diedOn.AddDate(0, 15, 0)
	clockTo(f.clock, privateEnd.Add(-time.Second))
	if got := applyDue(t, f.s, p)[f.resident.ID].Action; got != "" && got != RetentionNone {
		t.Fatalf("before the private letter's end: %s", got)
	}
	clockTo(f.clock, privateEnd)
	if got := applyDue(t, f.s, p)[f.resident.ID].Action; got != RetentionAccountDeleted {
		t.Fatalf("at the private letter's end, with the public one deleted: %s, want the account deleted", got)
	}
	err = f.s.view(ctx, func(tx storage.Tx) error {
		if _, err := tx.Letters().Get(public.Letter.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("the tombstone after the account went: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestListingNotKeptForDeleted: an inbox page that sealed a letter's
// listing while the letter was being deleted keeps nothing in its
// tombstone (keepListings runs in a transaction after the page's).
func TestListingNotKeptForDeleted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "x"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if err := mb.DeleteLetters(ctx, []string{r.Letter.ID}); err != nil {
		t.Fatal(err)
	}
	mb.keepListings(ctx, map[string][]byte{r.Letter.ID: []byte("a listing sealed before the deletion")})
	if rec := rawRecord(t, f.s, r.Letter.ID); rec.Listing != nil || !rec.IsTombstone() {
		t.Errorf("after keepListings: %+v", rec)
	}
}
