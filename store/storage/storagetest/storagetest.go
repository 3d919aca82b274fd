// Package storagetest is the contract of a storage engine (package
// storage), as one test suite that every engine runs against itself, in
// the manner of upspin's shared tests: each engine's test calls Run with a
// function that opens a new, empty engine.
package storagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"
)

// Open opens a new, empty engine for one test. The engine is closed by
// the suite.
type Open func(t *testing.T) storage.Engine

// Run runs the whole contract against engines made by open.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e storage.Engine)
	}{
		{"Transactions", testTransactions},
		{"Meta", testMeta},
		{"Residents", testResidents},
		{"Senders", testSenders},
		{"Letters", testLetters},
		{"Mailbox", testMailbox},
		{"Tombstones", testTombstones},
		{"Documents", testDocuments},
		{"Sessions", testSessions},
		{"SessionsExpiry", testSessionsDeleteExpired},
		{"Outbox", testOutbox},
		{"Audit", testAudit},
		{"AuditLog", testAuditLog},
		{"Terms", testTerms},
		{"Retention", testRetention},
		{"Preferences", testPreferences},
		{"JobRuns", testJobRuns},
		{"Leases", testLeases},
		{"Limits", testLimits},
		{"Support", testSupport},
		{"SenderBlocks", testSenderBlocks},
		{"Events", testEvents},
		{"Callbacks", testCallbacks},
		{"Print", testPrint},
		{"Replies", testReplies},
		{"Folders", testFolders},
		{"Due", testDue},
		{"Counts", testCounts},
		{"SearchIndexes", testSearchIndexes},
		{"Delegations", testDelegations},
		{"DelegateKeys", testDelegateKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := open(t)
			defer func() {
				if err := e.Check(context.Background()); err != nil {
					t.Errorf("Check after the test: %v", err)
				}
				if err := e.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tt.fn(t, e)
		})
	}
}

var ctx = context.Background()

// base is a fixed time, rounded as the store rounds its times.
var base = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// id returns the i-th test id: 32 lowercase hex digits.
func id(prefix byte, i int) string {
	return strings.Repeat(string(prefix), 16) + fmt.Sprintf("%016x", i)
}

func update(t *testing.T, e storage.Engine, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := e.Update(ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, e storage.Engine, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := e.View(ctx, fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("%s: %v, want ErrNotFound", what, err)
	}
}

// testTransactions: a failing Update stores nothing and returns fn's
// error as it is; a View cannot change anything; a cancelled context runs
// nothing.
func testTransactions(t *testing.T, e storage.Engine) {
	boom := errors.New("boom")
	err := e.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Residents().Put(&storage.Resident{ID: id('a', 1), NationalID: "0101900001", Status: storage.ResidentActive}); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Errorf("Update returned %v, want fn's error itself", err)
	}
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Residents().Get(id('a', 1))
		notFound(t, "a resident of a failed Update", err)
		_, err = tx.Residents().ByNationalID("0101900001")
		notFound(t, "its index entry", err)
		return nil
	})
	err = e.View(ctx, func(tx storage.Tx) error {
		return tx.Residents().Put(&storage.Resident{ID: id('a', 2), NationalID: "0101900002"})
	})
	if err == nil {
		t.Error("a View changed a record")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := e.Update(cancelled, func(storage.Tx) error { ran = true; return nil }); err == nil || ran {
		t.Errorf("Update with a cancelled context: %v, ran %v", err, ran)
	}
}

func testMeta(t *testing.T, e storage.Engine) {
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Meta().Get("nothing")
		notFound(t, "unset meta key", err)
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Meta().Put("k", []byte{0, 1, 2}); err != nil {
			return err
		}
		return tx.Meta().Put("a", []byte("x"))
	})
	view(t, e, func(tx storage.Tx) error {
		v, err := tx.Meta().Get("k")
		if err != nil || !bytes.Equal(v, []byte{0, 1, 2}) {
			t.Errorf("meta k = %x, %v", v, err)
		}
		var keys []string
		if err := tx.Meta().All(func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
			return err
		}
		// An engine may keep values of its own (not under these names).
		if i, j := slices.Index(keys, "a"), slices.Index(keys, "k"); i < 0 || j < i {
			t.Errorf("Meta().All keys %q, want a before k", keys)
		}
		return nil
	})
}

func testResidents(t *testing.T, e storage.Engine) {
	r1 := &storage.Resident{ID: id('a', 1), Country: "DK", NationalID: "0202900001", Name: "Anna",
		Status: storage.ResidentActive, PublicKey: bytes.Repeat([]byte{7}, 32), Created: base,
		TOTP: &storage.TOTP{Secret: []byte{1, 2, 3}, LastStep: 58_000_000, BackupCodes: [][]byte{{4}, {5}}, Enabled: base}}
	r2 := &storage.Resident{ID: id('a', 2), Country: "NO", NationalID: "0101900002", Name: "Bo",
		Status: storage.ResidentPending, ActivationHash: []byte{1}, ActivationExpires: base.Add(time.Hour), Created: base}
	var stamp []byte
	update(t, e, func(tx storage.Tx) error {
		for _, r := range []*storage.Resident{r1, r2} {
			if err := tx.Residents().Put(r); err != nil {
				return err
			}
		}
		stamp = bytes.Clone(tx.Residents().Stamp(r1.NationalID))
		if stamp == nil {
			t.Error("Stamp of a resident is nil")
		}
		if tx.Residents().Stamp("9999999999") != nil {
			t.Error("Stamp of an unknown number is not nil")
		}
		// A number that is another resident's is refused.
		if err := tx.Residents().Put(&storage.Resident{ID: id('a', 3), NationalID: r1.NationalID}); err == nil {
			t.Error("Put of a resident with another resident's number succeeded")
		}
		return nil
	})
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Residents().Get(r1.ID)
		if err != nil || !equalJSON(got, r1) {
			t.Errorf("Get = %+v, %v; want %+v", got, err, r1)
		}
		got, err = tx.Residents().ByNationalID(r2.NationalID)
		if err != nil || !equalJSON(got, r2) {
			t.Errorf("ByNationalID = %+v, %v", got, err)
		}
		_, err = tx.Residents().Get(id('a', 9))
		notFound(t, "Get unknown resident", err)
		_, err = tx.Residents().ByNationalID("0303900003")
		notFound(t, "ByNationalID unknown", err)
		var order []string
		if err := tx.Residents().All(func(r *storage.Resident) error { order = append(order, r.NationalID); return nil }); err != nil {
			return err
		}
		if want := []string{r2.NationalID, r1.NationalID}; !slices.Equal(order, want) {
			t.Errorf("All in order %v, want by national id %v", order, want)
		}
		return nil
	})
	// A changed record has another stamp; a changed number moves its
	// index entry.
	update(t, e, func(tx storage.Tx) error {
		r := *r1
		r.Name, r.NationalID = "Anna Andersen", "0202900009"
		if err := tx.Residents().Put(&r); err != nil {
			return err
		}
		if tx.Residents().Stamp(r1.NationalID) != nil {
			t.Error("the old number still has a stamp")
		}
		if bytes.Equal(tx.Residents().Stamp("0202900009"), stamp) {
			t.Error("the stamp did not change with the record")
		}
		_, err := tx.Residents().ByNationalID(r1.NationalID)
		notFound(t, "the old number after the change", err)
		return nil
	})
	// Delete takes the record and its index entry; the number is free
	// for another resident.
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Residents().Delete(r2.ID); err != nil {
			return err
		}
		return tx.Residents().Delete(id('a', 9)) // none: no error
	})
	update(t, e, func(tx storage.Tx) error {
		_, err := tx.Residents().Get(r2.ID)
		notFound(t, "a deleted resident", err)
		_, err = tx.Residents().ByNationalID(r2.NationalID)
		notFound(t, "a deleted resident's number", err)
		if tx.Residents().Stamp(r2.NationalID) != nil {
			t.Error("a deleted resident's number has a stamp")
		}
		n := 0
		tx.Residents().All(func(*storage.Resident) error { n++; return nil })
		if n != 1 {
			t.Errorf("All after Delete saw %d residents, want 1", n)
		}
		again := *r2
		again.ID = id('a', 7)
		return tx.Residents().Put(&again)
	})
}

func testSenders(t *testing.T, e storage.Engine) {
	s1 := &storage.Sender{ID: id('b', 1), Name: "Aarhus Kommune", OrgNumber: "55133018", Kind: storage.SenderPublic,
		Created: base, Certificates: []storage.SenderCertificate{{Fingerprint: "aa", Serial: "1", NotAfter: base}}}
	s2 := &storage.Sender{ID: id('b', 2), Name: "Elselskabet", OrgNumber: "25313763", Kind: storage.SenderPrivate, Created: base}
	update(t, e, func(tx storage.Tx) error {
		for _, s := range []*storage.Sender{s2, s1} {
			if err := tx.Senders().Put(s); err != nil {
				return err
			}
		}
		if err := tx.Senders().Put(&storage.Sender{ID: id('b', 3), Certificates: []storage.SenderCertificate{{Fingerprint: "aa"}}}); err == nil {
			t.Error("a certificate bound to two senders")
		}
		return nil
	})
	var stamp []byte
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Senders().ByCertificate("aa")
		if err != nil || !equalJSON(got, s1) {
			t.Errorf("ByCertificate = %+v, %v", got, err)
		}
		_, err = tx.Senders().ByCertificate("bb")
		notFound(t, "unknown certificate", err)
		var ids []string
		tx.Senders().All(func(s *storage.Sender) error { ids = append(ids, s.ID); return nil })
		if !slices.Equal(ids, []string{s1.ID, s2.ID}) {
			t.Errorf("All = %v", ids)
		}
		stamp = bytes.Clone(tx.Senders().Stamp(s1.ID))
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		s := *s1
		s.Certificates = append(slices.Clone(s.Certificates), storage.SenderCertificate{Fingerprint: "cc"})
		s.Certificates[0].Revoked = true
		if err := tx.Senders().Put(&s); err != nil {
			return err
		}
		if bytes.Equal(tx.Senders().Stamp(s1.ID), stamp) {
			t.Error("the stamp did not change with the record")
		}
		got, err := tx.Senders().ByCertificate("cc")
		if err != nil || got.ID != s1.ID || !got.Certificates[0].Revoked {
			t.Errorf("ByCertificate(cc) = %+v, %v", got, err)
		}
		return nil
	})
}

func letter(i int, resident, sender string, at time.Time) *storage.Letter {
	return &storage.Letter{
		ID: id('c', i), ResidentID: resident, SenderID: sender, SenderReference: fmt.Sprintf("ref-%d", i),
		Type: storage.TypeLetter, DeliveredAt: at, Size: 10, ContentHash: "sha256:00",
		SealedKey: []byte("key"), Subject: []byte("subject"), Body: []byte("body"),
		Receipt: storage.Receipt{Payload: []byte("{}"), Signature: []byte("sig"), KeyID: "k"},
	}
}

// testListed: Listed reads exactly Letter.ListingFields of the stored
// letter, with every field set, and a letter that is not there is
// ErrNotFound.
func testListed(t *testing.T, e storage.Engine) {
	full := letter(90, id('a', 90), id('b', 90), base)
	yes := true
	full.DueDate, full.ReadAt, full.ReadMark, full.PaidAt = "2027-01-31", base.Add(time.Hour), &yes, base.Add(2*time.Hour)
	full.Documents = []storage.DocumentRecord{{Name: []byte("n1"), ContentType: "application/pdf", Size: 3, Sent: []byte("s")},
		{Name: []byte("n2"), ContentType: "text/plain", Size: 4}}
	full.Structured, full.Folder, full.Listing = []byte("structured"), "archive", []byte("listing")
	full.Hold = &storage.LetterHold{At: base, Reason: "court", Order: "B-1"}
	full.Imported = &storage.ImportedLetter{LetterID: id('d', 1), ReceiptKey: []byte("rk"), Appliance: "Eksempelby", Imported: base}
	full.Own = &storage.OwnDocument{Imported: base}
	full.Sensitive, full.OpeningReceipt, full.ReplyAllowed = true, true, true
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Put(full) })
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Letters().Listed(full.ID)
		if err != nil {
			t.Fatalf("Listed: %v", err)
		}
		stored, err := tx.Letters().Get(full.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := stored.ListingFields(); !equalJSON(got, want) {
			t.Errorf("Listed = %+v, want %+v", got, want)
		}
		if got.SealedKey != nil || got.Subject != nil || got.Body != nil || got.Receipt.Payload != nil || got.Structured != nil {
			t.Errorf("Listed read sealed fields: %+v", got)
		}
		if len(got.Documents) != 2 || got.Hold == nil || got.Imported == nil || got.Own == nil || got.ReadMark == nil || string(got.Listing) != "listing" {
			t.Errorf("Listed lost a field: %+v", got)
		}
		_, err = tx.Letters().Listed(id('c', 91))
		notFound(t, "Listed of no letter", err)
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Delete(full) })
}

func testLetters(t *testing.T, e storage.Engine) {
	l := letter(1, id('a', 1), id('b', 1), base)
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Put(l) })
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Letters().Get(l.ID)
		if err != nil || !equalJSON(got, l) {
			t.Errorf("Get = %+v, %v", got, err)
		}
		ref, err := tx.Letters().ByReference(l.SenderID, l.SenderReference)
		if err != nil || ref != l.ID {
			t.Errorf("ByReference = %q, %v", ref, err)
		}
		_, err = tx.Letters().ByReference(id('b', 2), l.SenderReference)
		notFound(t, "another sender's reference", err)
		return nil
	})
	testListed(t, e)
	// Reading marks it read; the indexes stay.
	update(t, e, func(tx storage.Tx) error {
		r, err := tx.Letters().Get(l.ID)
		if err != nil {
			return err
		}
		r.ReadAt = base.Add(time.Hour)
		return tx.Letters().Put(r)
	})
	view(t, e, func(tx storage.Tx) error {
		page, _, err := tx.Letters().Mailbox(l.ResidentID, "", 10)
		if err != nil || len(page) != 1 || page[0].LetterID != l.ID || !page[0].DeliveredAt.Equal(base) {
			t.Errorf("Mailbox after marking read = %+v, %v", page, err)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Delete(l) })
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Letters().Get(l.ID)
		notFound(t, "a deleted letter", err)
		_, err = tx.Letters().ByReference(l.SenderID, l.SenderReference)
		notFound(t, "a deleted letter's reference", err)
		page, _, err := tx.Letters().Mailbox(l.ResidentID, "", 10)
		if err != nil || len(page) != 0 {
			t.Errorf("Mailbox after delete = %+v, %v", page, err)
		}
		return nil
	})
}

// testMailbox: pages newest first by cursor, the full walk oldest first,
// and residents' mailboxes apart.
func testMailbox(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	update(t, e, func(tx storage.Tx) error {
		for i := range 7 {
			if err := tx.Letters().Put(letter(i, anna, id('b', 1), base.Add(time.Duration(i)*time.Minute))); err != nil {
				return err
			}
		}
		return tx.Letters().Put(letter(100, bo, id('b', 1), base.Add(time.Hour)))
	})
	view(t, e, func(tx storage.Tx) error {
		var got []string
		after := ""
		pages := 0
		for {
			page, next, err := tx.Letters().Mailbox(anna, after, 3)
			if err != nil {
				return err
			}
			pages++
			for _, p := range page {
				got = append(got, p.LetterID)
			}
			if next == "" {
				break
			}
			after = next
		}
		want := []string{id('c', 6), id('c', 5), id('c', 4), id('c', 3), id('c', 2), id('c', 1), id('c', 0)}
		if !slices.Equal(got, want) || pages != 3 {
			t.Errorf("pages of 3: %v in %d pages, want %v in 3", got, pages, want)
		}
		var all []string
		if err := tx.Letters().MailboxAll(anna, func(m storage.MailboxEntry) error { all = append(all, m.LetterID); return nil }); err != nil {
			return err
		}
		slices.Reverse(want)
		if !slices.Equal(all, want) {
			t.Errorf("MailboxAll = %v", all)
		}
		page, next, err := tx.Letters().Mailbox(bo, "", 3)
		if err != nil || len(page) != 1 || next != "" {
			t.Errorf("Bo's mailbox = %+v, %q, %v", page, next, err)
		}
		page, next, err = tx.Letters().Mailbox(id('a', 3), "", 3)
		if err != nil || len(page) != 0 || next != "" {
			t.Errorf("an empty mailbox = %+v, %q, %v", page, next, err)
		}
		return nil
	})
	// A page's cursor still works when the letter it names is deleted.
	var cursor string
	view(t, e, func(tx storage.Tx) error {
		_, next, err := tx.Letters().Mailbox(anna, "", 2)
		cursor = next
		return err
	})
	update(t, e, func(tx storage.Tx) error {
		l, err := tx.Letters().Get(id('c', 5))
		if err != nil {
			return err
		}
		return tx.Letters().Delete(l)
	})
	view(t, e, func(tx storage.Tx) error {
		page, _, err := tx.Letters().Mailbox(anna, cursor, 2)
		if err != nil || len(page) != 2 || page[0].LetterID != id('c', 4) {
			t.Errorf("page after a deleted cursor letter = %+v, %v", page, err)
		}
		return nil
	})
}

// testTombstones: a letter turned into its tombstone leaves the mailbox
// and its folder (pages, counts, the full walk) and is among the
// resident's tombstones; its id and reference still find it; deleting
// the tombstone leaves nothing.
func testTombstones(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	update(t, e, func(tx storage.Tx) error {
		for i := range 3 {
			l := letter(i, anna, id('b', 1), base.Add(time.Duration(i)*time.Minute))
			l.Folder = "archive"
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		return tx.Letters().Put(letter(10, bo, id('b', 1), base))
	})
	tomb := &storage.Letter{
		ID: id('c', 1), ResidentID: anna, SenderID: id('b', 1), SenderReference: "ref-1",
		Type: storage.TypeLetter, DeliveredAt: base.Add(time.Minute), ContentHash: "sha256:00",
		Receipt: storage.Receipt{Payload: []byte("{}"), Signature: []byte("sig"), KeyID: "k"},
		Deleted: base.Add(time.Hour),
	}
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Put(tomb) })
	tombstones := func(resident string) []string {
		t.Helper()
		var got []string
		view(t, e, func(tx storage.Tx) error {
			return tx.Letters().Tombstones(resident, func(id string) error { got = append(got, id); return nil })
		})
		return got
	}
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Letters().Get(tomb.ID)
		if err != nil || !equalJSON(got, tomb) || !got.IsTombstone() {
			t.Errorf("Get of a tombstone = %+v, %v", got, err)
		}
		if ref, err := tx.Letters().ByReference(tomb.SenderID, tomb.SenderReference); err != nil || ref != tomb.ID {
			t.Errorf("ByReference of a tombstone = %q, %v", ref, err)
		}
		page, _, err := tx.Letters().Mailbox(anna, "", 10)
		if err != nil || len(page) != 2 || page[0].LetterID != id('c', 2) || page[1].LetterID != id('c', 0) {
			t.Errorf("Mailbox with a tombstone = %+v, %v", page, err)
		}
		page, _, err = tx.Letters().Folder(anna, "archive", "", 10)
		if err != nil || len(page) != 2 {
			t.Errorf("Folder with a tombstone = %+v, %v", page, err)
		}
		if n, err := tx.Letters().FolderCount(anna, "archive"); err != nil || n != 2 {
			t.Errorf("FolderCount with a tombstone = %d, %v", n, err)
		}
		if n, err := tx.Letters().FolderCount(anna, ""); err != nil || n != 0 {
			t.Errorf("FolderCount of the inbox (the tombstone's Folder) = %d, %v", n, err)
		}
		var all []string
		if err := tx.Letters().MailboxAll(anna, func(m storage.MailboxEntry) error { all = append(all, m.LetterID); return nil }); err != nil {
			return err
		}
		if !slices.Equal(all, []string{id('c', 0), id('c', 2)}) {
			t.Errorf("MailboxAll with a tombstone = %v", all)
		}
		n := 0
		return tx.Letters().All(func(l *storage.Letter) error {
			if l.ID == tomb.ID {
				n++
			}
			if n > 1 {
				t.Error("All gave the tombstone twice")
			}
			return nil
		})
	})
	if got := tombstones(anna); !slices.Equal(got, []string{tomb.ID}) {
		t.Errorf("Tombstones(anna) = %v", got)
	}
	if got := tombstones(bo); len(got) != 0 {
		t.Errorf("Tombstones(bo) = %v", got)
	}
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Delete(tomb) })
	if got := tombstones(anna); len(got) != 0 {
		t.Errorf("Tombstones after deleting it = %v", got)
	}
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Letters().ByReference(tomb.SenderID, tomb.SenderReference)
		notFound(t, "a deleted tombstone's reference", err)
		return nil
	})
	if err := e.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func testDocuments(t *testing.T, e storage.Engine) {
	l := letter(1, id('a', 1), id('b', 1), base)
	doc := storage.DocumentRecord{Name: []byte("name"), ContentType: "text/plain", Size: 10}
	l.Documents = []storage.DocumentRecord{doc, doc}
	contents := [][]byte{bytes.Repeat([]byte("sealed "), 1000), []byte("second")}
	var blobs []storage.Blob
	for i, c := range contents {
		b, err := e.Blobs().Write(ctx, l.ID, i, bytes.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		if b.Size() != int64(len(c)) {
			t.Errorf("blob %d size %d, want %d", i, b.Size(), len(c))
		}
		blobs = append(blobs, b)
	}
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Letters().Put(l); err != nil {
			return err
		}
		return tx.Documents().Put(l.ID, blobs)
	})
	var readers []io.ReadCloser
	view(t, e, func(tx storage.Tx) error {
		for i := range contents {
			has, err := tx.Documents().Has(l.ID, i)
			if err != nil || !has {
				t.Errorf("Has(%d) = %v, %v", i, has, err)
			}
			r, err := tx.Documents().Open(l.ID, i)
			if err != nil {
				return err
			}
			readers = append(readers, r)
		}
		has, err := tx.Documents().Has(l.ID, 2)
		if err != nil || has {
			t.Errorf("Has(2) = %v, %v", has, err)
		}
		_, err = tx.Documents().Open(l.ID, 2)
		notFound(t, "Open of a document that is not there", err)
		var ids []string
		tx.Documents().Letters(func(id string) error { ids = append(ids, id); return nil })
		if !slices.Equal(ids, []string{l.ID}) {
			t.Errorf("Letters = %v", ids)
		}
		return nil
	})
	// The content may be read after the transaction.
	for i, r := range readers {
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, contents[i]) {
			t.Errorf("document %d read after the transaction: %d bytes, %v", i, len(got), err)
		}
	}
	// A blob written and discarded is attached to nothing.
	b, err := e.Blobs().Write(ctx, id('c', 2), 0, bytes.NewReader([]byte("refused")))
	if err != nil {
		t.Fatal(err)
	}
	e.Blobs().Discard(ctx, []storage.Blob{b})
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Documents().Delete(l.ID, len(l.Documents)); err != nil {
			return err
		}
		return tx.Letters().Delete(l)
	})
	view(t, e, func(tx storage.Tx) error {
		has, err := tx.Documents().Has(l.ID, 0)
		if err != nil || has {
			t.Errorf("Has after delete = %v, %v", has, err)
		}
		var ids []string
		tx.Documents().Letters(func(id string) error { ids = append(ids, id); return nil })
		if len(ids) != 0 {
			t.Errorf("Letters after delete = %v", ids)
		}
		return nil
	})
}

func testSessions(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	sid := func(i byte) []byte { return bytes.Repeat([]byte{i}, 16) }
	update(t, e, func(tx storage.Tx) error {
		for i, r := range []string{anna, anna, bo} {
			s := &storage.Session{ResidentID: r, Wrap: []byte{byte(i)}, Created: base, LastSeen: base, Expires: base.Add(time.Hour)}
			if i == 2 {
				s.SecondStep = &storage.SecondStep{PasswordWrap: []byte{8}, Rewrap: []byte{9}}
			}
			if err := tx.Sessions().Put(sid(byte(i+1)), s); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, e, func(tx storage.Tx) error {
		ids, err := tx.Sessions().OfResident(anna)
		if err != nil || len(ids) != 2 {
			t.Errorf("OfResident(anna) = %x, %v", ids, err)
		}
		s, err := tx.Sessions().Get(sid(3))
		want := &storage.Session{ResidentID: bo, Wrap: []byte{2}, Created: base, LastSeen: base, Expires: base.Add(time.Hour),
			SecondStep: &storage.SecondStep{PasswordWrap: []byte{8}, Rewrap: []byte{9}}}
		if err != nil || !equalJSON(s, want) {
			t.Errorf("Get = %+v, %v; want %+v", s, err, want)
		}
		n := 0
		tx.Sessions().All(func([]byte, *storage.Session) error { n++; return nil })
		if n != 3 {
			t.Errorf("All saw %d sessions", n)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Sessions().Delete(sid(1)); err != nil {
			return err
		}
		return tx.Sessions().Delete(sid(9)) // none: no error
	})
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Sessions().Get(sid(1))
		notFound(t, "a deleted session", err)
		ids, _ := tx.Sessions().OfResident(anna)
		if len(ids) != 1 || !bytes.Equal(ids[0], sid(2)) {
			t.Errorf("OfResident(anna) after delete = %x", ids)
		}
		return nil
	})
}

// testSessionsDeleteExpired: DeleteExpired deletes exactly the sessions
// past either bound, at most max at a time, and follows a Put that moved
// LastSeen (the index by last seen is kept up to date).
func testSessionsDeleteExpired(t *testing.T, e storage.Engine) {
	anna := id('a', 3)
	sid := func(i byte) []byte { return bytes.Repeat([]byte{0x40 + i}, 16) }
	sessions := []struct {
		lastSeen, expires time.Duration // from base
	}{
		{0, time.Hour},                       // 1: idle at seenBy = base
		{time.Minute, time.Hour},             // 2: live
		{time.Minute, 2 * time.Minute},       // 3: past its lifetime at expiresBy = base+2m
		{5 * time.Minute, 3 * time.Hour},     // 4: live; seen again below
		{10 * time.Minute, 12 * time.Minute}, // 5: live
	}
	update(t, e, func(tx storage.Tx) error {
		for i, s := range sessions {
			rec := &storage.Session{ResidentID: anna, Wrap: []byte{1}, Created: base, LastSeen: base.Add(s.lastSeen),
				Expires: base.Add(s.expires), UserAgent: "Mozilla/5.0", Address: "192.0.2.7"}
			if err := tx.Sessions().Put(sid(byte(i+1)), rec); err != nil {
				return err
			}
		}
		// Session 4 is seen again: it leaves its old place in the index.
		rec, err := tx.Sessions().Get(sid(4))
		if err != nil {
			return err
		}
		if rec.UserAgent != "Mozilla/5.0" || rec.Address != "192.0.2.7" {
			t.Errorf("the session's device: %q, %q", rec.UserAgent, rec.Address)
		}
		rec.LastSeen = base.Add(20 * time.Minute)
		return tx.Sessions().Put(sid(4), rec)
	})
	left := func() [][]byte {
		var ids [][]byte
		view(t, e, func(tx storage.Tx) (err error) {
			ids, err = tx.Sessions().OfResident(anna)
			return err
		})
		return ids
	}
	var n int
	update(t, e, func(tx storage.Tx) (err error) {
		n, err = tx.Sessions().DeleteExpired(base.Add(2*time.Minute), base, 1)
		return err
	})
	if n != 1 || len(left()) != 4 {
		t.Fatalf("DeleteExpired(max 1) = %d, left %d; want 1 and 4", n, len(left()))
	}
	update(t, e, func(tx storage.Tx) (err error) {
		n, err = tx.Sessions().DeleteExpired(base.Add(2*time.Minute), base, 100)
		return err
	})
	// Sessions 1 (idle), 3 (past its lifetime) went; 4 was seen since.
	if ids := left(); n != 1 || len(ids) != 3 || !bytes.Equal(ids[0], sid(2)) || !bytes.Equal(ids[1], sid(4)) || !bytes.Equal(ids[2], sid(5)) {
		t.Errorf("after DeleteExpired: %d deleted, left %x", n, ids)
	}
	update(t, e, func(tx storage.Tx) (err error) {
		n, err = tx.Sessions().DeleteExpired(base.Add(2*time.Minute), base, 100)
		return err
	})
	if n != 0 {
		t.Errorf("DeleteExpired again = %d, want 0", n)
	}
	update(t, e, func(tx storage.Tx) (err error) {
		n, err = tx.Sessions().DeleteExpired(base.Add(time.Hour), base, 100)
		return err
	})
	if ids := left(); n != 2 || len(ids) != 1 || !bytes.Equal(ids[0], sid(4)) {
		t.Errorf("DeleteExpired by lifetime: %d deleted, left %x", n, ids)
	}
	// A record with no times (the zero time) is past every end: swept.
	update(t, e, func(tx storage.Tx) error {
		return tx.Sessions().Put(sid(9), &storage.Session{ResidentID: id('a', 1), Wrap: []byte("w")})
	})
	update(t, e, func(tx storage.Tx) (err error) {
		n, err = tx.Sessions().DeleteExpired(base, base.Add(-time.Hour), 100)
		return err
	})
	if ids := left(); n != 1 || len(ids) != 1 || !bytes.Equal(ids[0], sid(4)) {
		t.Errorf("DeleteExpired of a session with no times: %d deleted, left %x", n, ids)
	}
}

func testOutbox(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	mk := func(r string, due time.Time) *storage.Notification {
		return &storage.Notification{ResidentID: r, Kind: storage.NotifyLetter, Channel: storage.ChannelEmail,
			To: "x@example.dk", Created: base, State: storage.NotificationPending, NextAttempt: due, Updated: base}
	}
	n1, n2, n3 := mk(anna, base.Add(2*time.Minute)), mk(bo, base.Add(time.Minute)), mk(anna, base.Add(time.Hour))
	update(t, e, func(tx storage.Tx) error {
		for _, n := range []*storage.Notification{n1, n2, n3} {
			if err := tx.Outbox().Add(n); err != nil {
				return err
			}
		}
		return nil
	})
	if n1.Seq == 0 || n2.Seq <= n1.Seq || n3.Seq <= n2.Seq {
		t.Errorf("sequence numbers %d, %d, %d", n1.Seq, n2.Seq, n3.Seq)
	}
	due := func(now time.Time) []uint64 {
		var out []uint64
		view(t, e, func(tx storage.Tx) error {
			return tx.Outbox().Due(now, func(n *storage.Notification) bool { out = append(out, n.Seq); return true })
		})
		return out
	}
	if got := due(base.Add(5 * time.Minute)); !slices.Equal(got, []uint64{n2.Seq, n1.Seq}) {
		t.Errorf("due = %v, want earliest first [%d %d]", got, n2.Seq, n1.Seq)
	}
	// Sent: no longer due. Retried later: due later.
	update(t, e, func(tx storage.Tx) error {
		got, err := tx.Outbox().Get(bo, n2.Seq)
		if err != nil {
			return err
		}
		got.State, got.NextAttempt = storage.NotificationSent, time.Time{}
		if err := tx.Outbox().Put(got); err != nil {
			return err
		}
		got, err = tx.Outbox().Get(anna, n1.Seq)
		if err != nil {
			return err
		}
		got.NextAttempt = base.Add(2 * time.Hour)
		return tx.Outbox().Put(got)
	})
	if got := due(base.Add(90 * time.Minute)); !slices.Equal(got, []uint64{n3.Seq}) {
		t.Errorf("due after changes = %v, want [%d]", got, n3.Seq)
	}
	view(t, e, func(tx storage.Tx) error {
		of, err := tx.Outbox().OfResident(anna)
		if err != nil || len(of) != 2 {
			t.Errorf("OfResident(anna) = %d, %v", len(of), err)
		}
		n := 0
		tx.Outbox().All(func(*storage.Notification) bool { n++; return n < 2 })
		if n != 2 {
			t.Errorf("All did not stop when asked: %d", n)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		of, err := tx.Outbox().OfResident(anna)
		if err != nil {
			return err
		}
		for _, n := range of {
			if err := tx.Outbox().Delete(n); err != nil {
				return err
			}
		}
		return nil
	})
	if got := due(base.Add(10 * time.Hour)); len(got) != 0 {
		t.Errorf("due after deleting = %v", got)
	}
	// A notification copied from another engine keeps its number, and the
	// next one added is numbered after it.
	copied := mk(bo, base.Add(3*time.Hour))
	copied.Seq = n3.Seq + 100
	next := mk(bo, base.Add(4*time.Hour))
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Outbox().Put(copied); err != nil {
			return err
		}
		return tx.Outbox().Add(next)
	})
	if next.Seq <= copied.Seq {
		t.Errorf("added after a copy numbered %d: added %d", copied.Seq, next.Seq)
	}
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Outbox().Get(bo, copied.Seq)
		if err != nil || !equalJSON(got, copied) {
			t.Errorf("the copied notification: %+v, %v", got, err)
		}
		return nil
	})
}

// testAudit: entries by index with the size beside them, hashes by
// stored-hash index, nothing of a failed transaction, and the log that
// auditlog writes through them proves inclusion.
func testAudit(t *testing.T, e storage.Engine) {
	view(t, e, func(tx storage.Tx) error {
		if n, err := tx.Audit().Size(); err != nil || n != 0 {
			t.Errorf("Size of an empty log = %d, %v", n, err)
		}
		_, err := tx.Audit().Entry(0)
		notFound(t, "an entry of an empty log", err)
		return nil
	})
	h := func(b byte) tlog.Hash { return tlog.Hash(bytes.Repeat([]byte{b}, 32)) }
	update(t, e, func(tx storage.Tx) error {
		for i, enc := range []string{"a", "b"} {
			if err := tx.Audit().PutEntry(int64(i), []byte(enc)); err != nil {
				return err
			}
		}
		if err := tx.Audit().PutEntry(5, []byte("x")); err == nil {
			t.Error("an entry appended at 5 to a log of 2")
		}
		return tx.Audit().PutHashes(0, []tlog.Hash{h(1), h(2), h(3)})
	})
	boom := errors.New("boom")
	if err := e.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Audit().PutEntry(2, []byte("c")); err != nil {
			return err
		}
		return boom
	}); err != boom {
		t.Fatalf("Update = %v", err)
	}
	view(t, e, func(tx storage.Tx) error {
		if n, err := tx.Audit().Size(); err != nil || n != 2 {
			t.Errorf("Size = %d, %v; want 2 (the failed append left nothing)", n, err)
		}
		if b, err := tx.Audit().Entry(1); err != nil || string(b) != "b" {
			t.Errorf("Entry(1) = %q, %v", b, err)
		}
		var got []string
		if err := tx.Audit().Entries(func(i int64, enc []byte) error {
			got = append(got, fmt.Sprintf("%d:%s", i, enc))
			return nil
		}); err != nil {
			return err
		}
		if !slices.Equal(got, []string{"0:a", "1:b"}) {
			t.Errorf("Entries = %v", got)
		}
		hs, err := tx.Audit().ReadHashes([]int64{2, 0})
		if err != nil || hs[0] != h(3) || hs[1] != h(1) {
			t.Errorf("ReadHashes(2, 0) = %x, %v", hs, err)
		}
		if _, err := tx.Audit().ReadHashes([]int64{7}); err == nil {
			t.Error("ReadHashes of a hash not stored succeeded")
		}
		return nil
	})
}

// testAuditLog: a log written by auditlog through the engine proves each
// entry's inclusion.
func testAuditLog(t *testing.T, e storage.Engine) {
	const n = 13
	update(t, e, func(tx storage.Tx) error {
		var a auditlog.Appender
		for i := range n {
			if _, err := a.Append(tx.Audit(), auditlog.Entry{Index: int64(i), Time: base, Actor: "operator",
				Action: fmt.Sprintf("a%d", i), Object: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, e, func(tx storage.Tx) error {
		for i := range int64(n) {
			enc, err := tx.Audit().Entry(i)
			if err != nil {
				return err
			}
			p, err := auditlog.Prove(i, n, tx.Audit())
			if err != nil {
				return err
			}
			if err := tlog.CheckRecord(p.Proof, n, p.RootHash, i, tlog.RecordHash(enc)); err != nil {
				t.Errorf("entry %d: %v", i, err)
			}
		}
		return nil
	})
}

func testTerms(t *testing.T, e storage.Engine) {
	anna := id('a', 1)
	update(t, e, func(tx storage.Tx) error {
		for v := 2; v >= 1; v-- {
			if err := tx.Terms().Put(&storage.TermsVersion{Version: v, Text: "t", Published: base, EffectiveDate: "2027-01-01", Effective: base}); err != nil {
				return err
			}
		}
		if err := tx.Terms().PutAcceptance(anna, &storage.TermsAcceptance{Version: 1, Accepted: base}); err != nil {
			return err
		}
		return tx.Terms().PutNotice(2, anna, id('c', 1))
	})
	view(t, e, func(tx storage.Tx) error {
		all, err := tx.Terms().All()
		if err != nil || len(all) != 2 || all[0].Version != 1 || all[1].Version != 2 {
			t.Errorf("All = %+v, %v", all, err)
		}
		_, err = tx.Terms().Get(3)
		notFound(t, "an unpublished version", err)
		a, err := tx.Terms().Acceptance(anna)
		if err != nil || a.Version != 1 {
			t.Errorf("Acceptance = %+v, %v", a, err)
		}
		a, err = tx.Terms().Acceptance(id('a', 2))
		if err != nil || a.Version != 0 {
			t.Errorf("Acceptance of nobody = %+v, %v", a, err)
		}
		n := 0
		if err := tx.Terms().Acceptances(func(r string, a *storage.TermsAcceptance) error {
			n++
			if r != anna || a.Version != 1 {
				t.Errorf("Acceptances: %s %+v", r, a)
			}
			return nil
		}); err != nil || n != 1 {
			t.Errorf("Acceptances saw %d, %v", n, err)
		}
		l, err := tx.Terms().Notice(2, anna)
		if err != nil || l != id('c', 1) {
			t.Errorf("Notice = %q, %v", l, err)
		}
		_, err = tx.Terms().Notice(1, anna)
		notFound(t, "a notice not delivered", err)
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Terms().DeleteAcceptance(anna); err != nil {
			return err
		}
		return tx.Terms().DeleteNotices(anna)
	})
	view(t, e, func(tx storage.Tx) error {
		n := 0
		tx.Terms().Notices(func(int, string, string) error { n++; return nil })
		a, _ := tx.Terms().Acceptance(anna)
		if n != 0 || a.Version != 0 {
			t.Errorf("after deleting: %d notices, acceptance %+v", n, a)
		}
		return nil
	})
}

func testRetention(t *testing.T, e storage.Engine) {
	anna := id('a', 1)
	update(t, e, func(tx storage.Tx) error {
		return tx.Retention().Put(anna, &storage.RetentionRecord{WarningsGiven: 1, LastWarning: base})
	})
	view(t, e, func(tx storage.Tx) error {
		r, err := tx.Retention().Get(anna)
		if err != nil || r.WarningsGiven != 1 {
			t.Errorf("Get = %+v, %v", r, err)
		}
		n := 0
		tx.Retention().All(func(id string, r *storage.RetentionRecord) error {
			n++
			if id != anna || r.WarningsGiven != 1 {
				t.Errorf("All: %s %+v", id, r)
			}
			return nil
		})
		if n != 1 {
			t.Errorf("All saw %d records", n)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.Retention().Put(anna, &storage.RetentionRecord{}) })
	view(t, e, func(tx storage.Tx) error {
		r, err := tx.Retention().Get(anna)
		if err != nil || !r.IsZero() {
			t.Errorf("Get after the zero record = %+v, %v", r, err)
		}
		n := 0
		tx.Retention().All(func(string, *storage.RetentionRecord) error { n++; return nil })
		if n != 0 {
			t.Errorf("the zero record was kept: All saw %d", n)
		}
		return nil
	})
}

func testPreferences(t *testing.T, e storage.Engine) {
	anna := id('a', 1)
	update(t, e, func(tx storage.Tx) error {
		return tx.Preferences().Put(anna, &storage.PreferencesRecord{Email: "a@example.dk", EmailOn: true, Language: "da"})
	})
	view(t, e, func(tx storage.Tx) error {
		p, err := tx.Preferences().Get(anna)
		if err != nil || p.Language != "da" || !p.EmailOn {
			t.Errorf("Get = %+v, %v", p, err)
		}
		p, err = tx.Preferences().Get(id('a', 2))
		if err != nil || *p != (storage.PreferencesRecord{}) {
			t.Errorf("Get of nobody = %+v, %v", p, err)
		}
		var ids []string
		tx.Preferences().All(func(id string) error { ids = append(ids, id); return nil })
		if !slices.Equal(ids, []string{anna}) {
			t.Errorf("All = %v", ids)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.Preferences().Delete(anna) })
	view(t, e, func(tx storage.Tx) error {
		p, _ := tx.Preferences().Get(anna)
		if *p != (storage.PreferencesRecord{}) {
			t.Errorf("after Delete: %+v", p)
		}
		return nil
	})
}

func testJobRuns(t *testing.T, e storage.Engine) {
	update(t, e, func(tx storage.Tx) error {
		for _, j := range []string{"retention", "notifications", "retention"} {
			if err := tx.JobRuns().Put(&storage.JobRun{Job: j, Started: base, Outcome: storage.JobOK}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, e, func(tx storage.Tx) error {
		runs, err := tx.JobRuns().All()
		if err != nil || len(runs) != 2 {
			t.Errorf("All = %+v, %v", runs, err)
		}
		return nil
	})
}

// equalJSON compares two records by their JSON encoding: what a record
// holds, whatever the engine's representation of times or empty slices.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// testLeases: one holder at a time; a lease expires; the holder renews
// and releases it; another's release changes nothing.
func testLeases(t *testing.T, e storage.Engine) {
	acquire := func(holder string, now time.Time) bool {
		t.Helper()
		var ok bool
		update(t, e, func(tx storage.Tx) error {
			var err error
			ok, err = tx.Leases().Acquire("jobs", holder, now, time.Minute)
			return err
		})
		return ok
	}
	view(t, e, func(tx storage.Tx) error {
		_, _, err := tx.Leases().Get("jobs")
		notFound(t, "a lease never taken", err)
		return nil
	})
	if !acquire("node-a", base) {
		t.Fatal("a free lease was not given")
	}
	if acquire("node-b", base.Add(30*time.Second)) {
		t.Error("a held lease was given to another")
	}
	if !acquire("node-a", base.Add(50*time.Second)) {
		t.Error("the holder could not renew")
	}
	if acquire("node-b", base.Add(100*time.Second)) {
		t.Error("the renewed lease expired at the first expiry")
	}
	if !acquire("node-b", base.Add(111*time.Second)) {
		t.Error("an expired lease was not given to another")
	}
	update(t, e, func(tx storage.Tx) error { return tx.Leases().Release("jobs", "node-a") })
	view(t, e, func(tx storage.Tx) error {
		h, exp, err := tx.Leases().Get("jobs")
		if err != nil || h != "node-b" || !exp.Equal(base.Add(171*time.Second)) {
			t.Errorf("after another's release: %q %s %v", h, exp, err)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.Leases().Release("jobs", "node-b") })
	if !acquire("node-a", base.Add(112*time.Second)) {
		t.Error("a released lease was not given")
	}
}

// testLimits: a record is stored, replaced and deleted by key; an expired
// one is still read until DeleteExpired deletes it, the earliest first and
// no more than asked, and a replaced record expires at its new time.
func testLimits(t *testing.T, e storage.Engine) {
	get := func(key string) *storage.Limit {
		t.Helper()
		var l *storage.Limit
		view(t, e, func(tx storage.Tx) error {
			var err error
			if l, err = tx.Limits().Get(key); errors.Is(err, storage.ErrNotFound) {
				l, err = nil, nil
			}
			return err
		})
		return l
	}
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Limits().Get("a")
		notFound(t, "a limit never stored", err)
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		for i, k := range []string{"a", "b", "c", "d"} {
			if err := tx.Limits().Put(&storage.Limit{Key: k, Expires: base.Add(time.Duration(i) * time.Minute), Value: []byte(k + "1")}); err != nil {
				return err
			}
		}
		// b again: it expires last now.
		return tx.Limits().Put(&storage.Limit{Key: "b", Expires: base.Add(time.Hour), Value: []byte("b2")})
	})
	if l := get("b"); l == nil || l.Key != "b" || string(l.Value) != "b2" || !l.Expires.Equal(base.Add(time.Hour)) {
		t.Fatalf("b after its replacement: %+v", l)
	}
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Limits().Put(&storage.Limit{Key: "e", Expires: base}); err != nil {
			return err
		}
		if err := tx.Limits().Delete("d"); err != nil {
			return err
		}
		return tx.Limits().Delete("never stored")
	})
	if l := get("e"); l == nil || len(l.Value) != 0 {
		t.Fatalf("a limit with an empty value: %+v", l)
	}
	if l := get("a"); l == nil || string(l.Value) != "a1" {
		t.Fatalf("an expired limit before the sweep: %+v", l)
	}
	// Expired before base+5m: a (base), e (base) and c (base+2m); b was
	// moved to base+1h, d deleted. One at a time, then the rest.
	var n1, n2, n3 int
	update(t, e, func(tx storage.Tx) error {
		var err error
		n1, err = tx.Limits().DeleteExpired(base.Add(5*time.Minute), 2)
		return err
	})
	if get("a") != nil || get("e") != nil || get("c") == nil {
		t.Fatal("the first two of three expired limits were not the earliest")
	}
	update(t, e, func(tx storage.Tx) error {
		var err error
		if n2, err = tx.Limits().DeleteExpired(base.Add(5*time.Minute), 10); err != nil {
			return err
		}
		n3, err = tx.Limits().DeleteExpired(base.Add(5*time.Minute), 10)
		return err
	})
	if n1 != 2 || n2 != 1 || n3 != 0 {
		t.Fatalf("deleted %d, %d, %d; want 2, 1, 0", n1, n2, n3)
	}
	if get("c") != nil {
		t.Fatal("an expired limit left after the sweep")
	}
	if l := get("b"); l == nil || string(l.Value) != "b2" {
		t.Fatalf("a limit not yet expired was swept: %+v", l)
	}
}

// testSupport: requests by id, by resident and all, oldest first; a
// deleted request is gone from both.
func testSupport(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	reqs := []*storage.SupportRequest{
		{ID: id('d', 3), ResidentID: anna, Category: "login", Subject: "s3", Description: "d", Created: base.Add(2 * time.Minute)},
		{ID: id('d', 1), ResidentID: anna, Category: "letter", Subject: "s1", Description: "d", Created: base},
		{ID: id('d', 2), ResidentID: bo, Category: "other", Subject: "s2", Description: "d", Created: base.Add(time.Minute), NationalID: "0101900002"},
	}
	update(t, e, func(tx storage.Tx) error {
		for _, r := range reqs {
			if err := tx.Support().Put(r); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Support().Get(id('d', 2))
		if err != nil || !equalJSON(got, reqs[2]) {
			t.Errorf("Get = %+v, %v", got, err)
		}
		_, err = tx.Support().Get(id('d', 9))
		notFound(t, "an unknown request", err)
		of, err := tx.Support().OfResident(anna)
		if err != nil || len(of) != 2 || of[0].ID != id('d', 1) || of[1].ID != id('d', 3) {
			t.Errorf("OfResident(anna) = %+v, %v", of, err)
		}
		var all []string
		tx.Support().All(func(r *storage.SupportRequest) error { all = append(all, r.Subject); return nil })
		if !slices.Equal(all, []string{"s1", "s2", "s3"}) {
			t.Errorf("All = %v, want oldest first", all)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		r := *reqs[1]
		r.Answer, r.AnsweredAt = "svar", base.Add(time.Hour)
		if err := tx.Support().Put(&r); err != nil {
			return err
		}
		return tx.Support().Delete(reqs[0])
	})
	view(t, e, func(tx storage.Tx) error {
		of, _ := tx.Support().OfResident(anna)
		if len(of) != 1 || of[0].Answer != "svar" {
			t.Errorf("OfResident(anna) after answer and delete = %+v", of)
		}
		_, err := tx.Support().Get(id('d', 3))
		notFound(t, "a deleted request", err)
		return nil
	})
}

// testSenderBlocks: a resident's list of blocks, none as an empty list,
// and an empty list deletes.
func testSenderBlocks(t *testing.T, e storage.Engine) {
	anna := id('a', 1)
	blocks := []storage.SenderBlock{{SenderID: id('b', 1), Requested: base, Effective: base.Add(7 * 24 * time.Hour)}}
	update(t, e, func(tx storage.Tx) error { return tx.SenderBlocks().Put(anna, blocks) })
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.SenderBlocks().Get(anna)
		if err != nil || !equalJSON(got, blocks) {
			t.Errorf("Get = %+v, %v", got, err)
		}
		got, err = tx.SenderBlocks().Get(id('a', 2))
		if err != nil || len(got) != 0 {
			t.Errorf("Get of nobody = %+v, %v", got, err)
		}
		n := 0
		tx.SenderBlocks().All(func(string, []storage.SenderBlock) error { n++; return nil })
		if n != 1 {
			t.Errorf("All saw %d", n)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.SenderBlocks().Put(anna, nil) })
	view(t, e, func(tx storage.Tx) error {
		n := 0
		tx.SenderBlocks().All(func(string, []storage.SenderBlock) error { n++; return nil })
		if n != 0 {
			t.Errorf("All after deleting saw %d", n)
		}
		return nil
	})
}

// testEvents: each sender's feed in order after a cursor, apart from
// other senders'; pruning by time.
func testEvents(t *testing.T, e storage.Engine) {
	a, b := id('b', 1), id('b', 2)
	var evs []*storage.Event
	update(t, e, func(tx storage.Tx) error {
		for i, snd := range []string{a, b, a, a} {
			ev := &storage.Event{SenderID: snd, Type: "delivered", LetterID: id('c', i), SenderReference: fmt.Sprintf("ref-%d", i),
				At: base.Add(time.Duration(i) * time.Hour)}
			if err := tx.Events().Append(ev); err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		return nil
	})
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("sequence numbers %d then %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Events().After(a, 0, 10)
		if err != nil || len(got) != 3 || !equalJSON(got[0], evs[0]) || got[2].LetterID != id('c', 3) {
			t.Errorf("After(a, 0) = %+v, %v", got, err)
		}
		got, err = tx.Events().After(a, evs[0].Seq, 1)
		if err != nil || len(got) != 1 || got[0].Seq != evs[2].Seq {
			t.Errorf("After(a, first, 1) = %+v, %v", got, err)
		}
		got, err = tx.Events().After(b, 0, 10)
		if err != nil || len(got) != 1 || got[0].SenderID != b {
			t.Errorf("After(b, 0) = %+v, %v", got, err)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		n, err := tx.Events().Prune(base.Add(90 * time.Minute))
		if err != nil || n != 2 {
			t.Errorf("Prune = %d, %v; want 2", n, err)
		}
		return err
	})
	view(t, e, func(tx storage.Tx) error {
		got, _ := tx.Events().After(a, 0, 10)
		if len(got) != 2 {
			t.Errorf("after pruning: %d events of a, want 2", len(got))
		}
		return nil
	})
	// An event copied from another engine keeps its number; All lists
	// every event in order of Seq, and the next appended is after it.
	copied := &storage.Event{SenderID: b, Type: "read", LetterID: id('c', 9), SenderReference: "ref-9", At: base.Add(5 * time.Hour), Seq: evs[3].Seq + 50}
	next := &storage.Event{SenderID: a, Type: "read", LetterID: id('c', 3), SenderReference: "ref-3", At: base.Add(6 * time.Hour)}
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Events().Put(copied); err != nil {
			return err
		}
		return tx.Events().Append(next)
	})
	if next.Seq <= copied.Seq {
		t.Errorf("appended after a copy numbered %d: appended %d", copied.Seq, next.Seq)
	}
	view(t, e, func(tx storage.Tx) error {
		var seqs []uint64
		var last *storage.Event
		if err := tx.Events().All(func(e *storage.Event) error { seqs = append(seqs, e.Seq); last = e; return nil }); err != nil {
			t.Error(err)
		}
		if !slices.IsSorted(seqs) || len(seqs) != 4 || !equalJSON(last, next) {
			t.Errorf("All: %v, last %+v", seqs, last)
		}
		return nil
	})
}

// testCallbacks: a sender's callback record; its outbox in order of Seq
// whatever the order of queueing, apart from other senders'; taking out,
// clearing, counting; deleting the callback empties its outbox.
func testCallbacks(t *testing.T, e storage.Engine) {
	a, b := id('b', 1), id('b', 2)
	cb := &storage.Callback{SenderID: a, URL: "https://hooks.example.dk/postkasse", Set: base,
		Attempts: 2, FirstFailure: base.Add(time.Minute), LastError: "503 Service Unavailable", NextAttempt: base.Add(3 * time.Minute)}
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Callbacks().Put(cb); err != nil {
			return err
		}
		if err := tx.Callbacks().Put(&storage.Callback{SenderID: b, URL: "https://b.example.no/cb", Set: base}); err != nil {
			return err
		}
		// Queued out of order, as a late commit on the cluster engine does.
		for _, seq := range []uint64{7, 3, 5} {
			ev := &storage.Event{Seq: seq, SenderID: a, Type: "delivered", LetterID: id('c', int(seq)), SenderReference: fmt.Sprintf("ref-%d", seq), At: base}
			if err := tx.Callbacks().Queue(ev); err != nil {
				return err
			}
		}
		return tx.Callbacks().Queue(&storage.Event{Seq: 4, SenderID: b, Type: "read", LetterID: id('c', 4), At: base})
	})
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Callbacks().Get(a)
		if err != nil || !equalJSON(got, cb) {
			t.Errorf("Get(a) = %+v, %v; want %+v", got, err, cb)
		}
		_, err = tx.Callbacks().Get(id('b', 3))
		notFound(t, "Get(unknown)", err)
		evs, err := tx.Callbacks().Queued(a, 2)
		if err != nil || len(evs) != 2 || evs[0].Seq != 3 || evs[1].Seq != 5 || evs[0].LetterID != id('c', 3) {
			t.Errorf("Queued(a, 2) = %+v, %v", evs, err)
		}
		if n, err := tx.Callbacks().Count(a); n != 3 || err != nil {
			t.Errorf("Count(a) = %d, %v", n, err)
		}
		var senders []string
		tx.Callbacks().All(func(c *storage.Callback) error { senders = append(senders, c.SenderID); return nil })
		if !slices.Equal(senders, []string{a, b}) {
			t.Errorf("All: %v", senders)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Callbacks().Dequeue(a, 3); err != nil {
			return err
		}
		return tx.Callbacks().Dequeue(a, 99) // none
	})
	view(t, e, func(tx storage.Tx) error {
		evs, err := tx.Callbacks().Queued(a, 10)
		if err != nil || len(evs) != 2 || evs[0].Seq != 5 || evs[1].Seq != 7 {
			t.Errorf("Queued(a) after Dequeue = %+v, %v", evs, err)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		n, err := tx.Callbacks().Clear(a)
		if n != 2 || err != nil {
			t.Errorf("Clear(a) = %d, %v", n, err)
		}
		return err
	})
	view(t, e, func(tx storage.Tx) error {
		if n, _ := tx.Callbacks().Count(a); n != 0 {
			t.Errorf("Count(a) after Clear = %d", n)
		}
		if n, _ := tx.Callbacks().Count(b); n != 1 {
			t.Errorf("Count(b) after Clear(a) = %d", n)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.Callbacks().Delete(b) })
	update(t, e, func(tx storage.Tx) error { return tx.Callbacks().Delete(b) }) // none
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Callbacks().Get(b)
		notFound(t, "Get(b) after Delete", err)
		if n, _ := tx.Callbacks().Count(b); n != 0 {
			t.Errorf("Count(b) after Delete = %d", n)
		}
		return nil
	})
}

// testFolders: the mailbox by folder, newest first, by cursor, apart from
// other folders and residents; a letter moved to another folder moves in
// the index; counts; a cursor of another folder is refused; the
// residents' lists of folders.
func testPrint(t *testing.T, e storage.Engine) {
	a, b := id('b', 1), id('b', 2)
	mk := func(i int, sender string, at time.Time) *storage.PrintLetter {
		return &storage.PrintLetter{ID: id('p', i), SenderID: sender, SenderReference: fmt.Sprintf("ref-%d", i),
			ContentHash: "sha256:x", Reason: "not-digital", QueuedAt: at, Documents: 1, Pages: 2,
			SealedKey: []byte{1, 2, 3}, Sealed: []byte{4, 5, 6}}
	}
	// Queued out of the ids' order: Pending is in the order queued.
	p1, p2, p3 := mk(1, a, base.Add(2*time.Minute)), mk(2, a, base), mk(3, b, base.Add(time.Minute))
	update(t, e, func(tx storage.Tx) error {
		for _, p := range []*storage.PrintLetter{p1, p2, p3} {
			if err := tx.Print().Put(p); err != nil {
				return err
			}
		}
		return nil
	})
	pending := func(want ...string) {
		t.Helper()
		view(t, e, func(tx storage.Tx) error {
			var got []string
			err := tx.Print().Pending(func(p *storage.PrintLetter) (bool, error) { got = append(got, p.ID); return true, nil })
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("Pending = %v, %v; want %v", got, err, want)
			}
			return nil
		})
	}
	pending(p2.ID, p3.ID, p1.ID)
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Print().Get(p1.ID)
		if err != nil || !equalJSON(got, p1) {
			t.Errorf("Get = %+v, %v; want %+v", got, err, p1)
		}
		_, err = tx.Print().Get(id('p', 9))
		notFound(t, "Get(unknown)", err)
		if got, err := tx.Print().ByReference(a, "ref-2"); got != p2.ID || err != nil {
			t.Errorf("ByReference(a, ref-2) = %q, %v", got, err)
		}
		_, err = tx.Print().ByReference(b, "ref-2")
		notFound(t, "ByReference(another sender's)", err)
		var n int
		err = tx.Print().Pending(func(*storage.PrintLetter) (bool, error) { n++; return false, nil })
		if n != 1 || err != nil {
			t.Errorf("Pending stopped after %d, %v", n, err)
		}
		return nil
	})
	// Exported, then printed: out of Pending, its data gone, still found.
	update(t, e, func(tx storage.Tx) error {
		p2.Batch, p2.ExportedAt = "batch-1", base.Add(time.Hour)
		if err := tx.Print().Put(p2); err != nil {
			return err
		}
		p2.PrintedAt, p2.SealedKey, p2.Sealed = base.Add(2*time.Hour), nil, nil
		return tx.Print().Put(p2)
	})
	pending(p3.ID, p1.ID)
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Print().Get(p2.ID)
		if err != nil || !got.Printed() || got.Sealed != nil || got.Batch != "batch-1" {
			t.Errorf("printed: %+v, %v", got, err)
		}
		var all []string
		tx.Print().All(func(p *storage.PrintLetter) error { all = append(all, p.ID); return nil })
		if !slices.Equal(all, []string{p1.ID, p2.ID, p3.ID}) {
			t.Errorf("All: %v", all)
		}
		return nil
	})
	// Waiting ones are out of Pending, found by their time; queued, they
	// move to Pending; deleted, they are gone with their entries.
	w4, w5 := mk(4, a, time.Time{}), mk(5, b, time.Time{})
	w4.Reason, w4.WaitUntil = "unread-after", base.Add(48*time.Hour)
	w5.Reason, w5.WaitUntil = "unread-after", base.Add(24*time.Hour)
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Print().Put(w4); err != nil {
			return err
		}
		return tx.Print().Put(w5)
	})
	pending(p3.ID, p1.ID)
	waiting := func(until time.Time, want ...string) {
		t.Helper()
		view(t, e, func(tx storage.Tx) error {
			var got []string
			err := tx.Print().Waiting(until, func(p *storage.PrintLetter) (bool, error) { got = append(got, p.ID); return true, nil })
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("Waiting(%s) = %v, %v; want %v", until, got, err, want)
			}
			return nil
		})
	}
	waiting(base.Add(time.Hour))
	waiting(base.Add(24*time.Hour), w5.ID)
	waiting(base.Add(72*time.Hour), w5.ID, w4.ID)
	update(t, e, func(tx storage.Tx) error {
		w5.WaitUntil, w5.QueuedAt = time.Time{}, base.Add(3*time.Minute)
		if err := tx.Print().Put(w5); err != nil {
			return err
		}
		if err := tx.Print().Delete(w4.ID); err != nil {
			return err
		}
		return tx.Print().Delete(w4.ID) // none: no error
	})
	waiting(base.Add(72 * time.Hour))
	pending(p3.ID, p1.ID, w5.ID)
	view(t, e, func(tx storage.Tx) error {
		_, err := tx.Print().Get(w4.ID)
		notFound(t, "Get(deleted)", err)
		_, err = tx.Print().ByReference(a, w4.SenderReference)
		notFound(t, "ByReference(deleted)", err)
		return nil
	})
}

func testFolders(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	folderOf := []string{"", "archive", "", "f1", "", "archive"}
	update(t, e, func(tx storage.Tx) error {
		for i, f := range folderOf {
			l := letter(i, anna, id('b', 1), base.Add(time.Duration(i)*time.Minute))
			l.Folder = f
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		return tx.Letters().Put(letter(10, bo, id('b', 1), base))
	})
	pages := func(folder string, limit int) []string {
		t.Helper()
		var got []string
		view(t, e, func(tx storage.Tx) error {
			after := ""
			for {
				page, next, err := tx.Letters().Folder(anna, folder, after, limit)
				if err != nil {
					return err
				}
				for _, p := range page {
					got = append(got, p.LetterID)
				}
				if next == "" {
					return nil
				}
				after = next
			}
		})
		return got
	}
	if got, want := pages("", 2), []string{id('c', 4), id('c', 2), id('c', 0)}; !slices.Equal(got, want) {
		t.Errorf("inbox = %v, want %v", got, want)
	}
	if got, want := pages("archive", 1), []string{id('c', 5), id('c', 1)}; !slices.Equal(got, want) {
		t.Errorf("archive = %v, want %v", got, want)
	}
	var archiveCursor string
	view(t, e, func(tx storage.Tx) error {
		n, err := tx.Letters().FolderCount(anna, "")
		if err != nil || n != 3 {
			t.Errorf("FolderCount(inbox) = %d, %v", n, err)
		}
		_, archiveCursor, err = tx.Letters().Folder(anna, "archive", "", 1)
		if err != nil || archiveCursor == "" {
			t.Errorf("archive's first page: cursor %q, %v", archiveCursor, err)
		}
		if _, _, err := tx.Letters().Folder(anna, "", archiveCursor, 10); err == nil {
			t.Error("the archive's cursor was taken for the inbox's")
		}
		return nil
	})
	// Moving a letter moves its index entry.
	update(t, e, func(tx storage.Tx) error {
		l, err := tx.Letters().Get(id('c', 3))
		if err != nil {
			return err
		}
		l.Folder = ""
		return tx.Letters().Put(l)
	})
	if got := pages("f1", 10); len(got) != 0 {
		t.Errorf("f1 after moving its letter = %v", got)
	}
	if got := pages("", 10); len(got) != 4 || got[0] != id('c', 4) || got[1] != id('c', 3) {
		t.Errorf("inbox after the move = %v", got)
	}
	// Unread counts follow the letters' read state, mark and folder.
	unread := func(folder string) int {
		t.Helper()
		var n int
		view(t, e, func(tx storage.Tx) error {
			var err error
			n, err = tx.Letters().FolderUnread(anna, folder)
			return err
		})
		return n
	}
	if got := unread(""); got != 4 {
		t.Errorf("unread in the inbox = %d, want 4", got)
	}
	yes, no := true, false
	update(t, e, func(tx storage.Tx) error {
		for i, change := range []func(l *storage.Letter){
			0: func(l *storage.Letter) { l.ReadAt = base },                  // opened
			2: func(l *storage.Letter) { l.ReadMark = &yes },                // marked read
			4: func(l *storage.Letter) { l.ReadAt, l.ReadMark = base, &no }, // opened, marked unread
			5: func(l *storage.Letter) { l.Folder = "" },                    // moved from the archive
		} {
			if change == nil {
				continue
			}
			l, err := tx.Letters().Get(id('c', i))
			if err != nil {
				return err
			}
			change(l)
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		return nil
	})
	if got, gotArchive := unread(""), unread("archive"); got != 3 || gotArchive != 1 {
		t.Errorf("unread after opening, marking and moving: inbox %d, archive %d; want 3, 1", got, gotArchive)
	}
	view(t, e, func(tx storage.Tx) error {
		if n, err := tx.Letters().FolderUnread(bo, ""); err != nil || n != 1 {
			t.Errorf("Bo's unread = %d, %v; want 1", n, err)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		l, err := tx.Letters().Get(id('c', 4))
		if err != nil {
			return err
		}
		return tx.Letters().Delete(l)
	})
	if got := unread(""); got != 2 {
		t.Errorf("unread after deleting an unread letter = %d, want 2", got)
	}
	// Folder lists.
	folders := []storage.Folder{{ID: "f1", Name: []byte("sealed name"), Created: base}}
	update(t, e, func(tx storage.Tx) error { return tx.Folders().Put(anna, folders) })
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Folders().Get(anna)
		if err != nil || !equalJSON(got, folders) {
			t.Errorf("Folders().Get = %+v, %v", got, err)
		}
		none, err := tx.Folders().Get(bo)
		if err != nil || len(none) != 0 {
			t.Errorf("Folders().Get of nobody = %+v, %v", none, err)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error { return tx.Folders().Put(anna, nil) })
	view(t, e, func(tx storage.Tx) error {
		n := 0
		tx.Folders().All(func(string, []storage.Folder) error { n++; return nil })
		if n != 0 {
			t.Errorf("folders left after deleting: %d", n)
		}
		return nil
	})
}

// testDue: the index of due dates lists a resident's letters in the inbox
// with a due date, not paid, soonest first, a page at a time; marking a
// letter paid, archiving it or deleting it takes it off; another
// resident's are apart; a cursor that is not Due's is refused.
func testDue(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	dues := []string{"2027-03-01", "", "2027-01-15", "2027-02-01", "2027-01-15", "2027-04-01"}
	update(t, e, func(tx storage.Tx) error {
		for i, d := range dues {
			l := letter(i, anna, id('b', 1), base.Add(time.Duration(i)*time.Minute))
			l.DueDate = d
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		l := letter(10, bo, id('b', 1), base)
		l.DueDate = "2026-12-24"
		return tx.Letters().Put(l)
	})
	list := func(limit int) []string {
		t.Helper()
		var got []string
		view(t, e, func(tx storage.Tx) error {
			after := ""
			for {
				page, next, err := tx.Letters().Due(anna, after, limit)
				if err != nil {
					return err
				}
				for _, p := range page {
					got = append(got, p.Due+"/"+p.LetterID[len(p.LetterID)-1:])
				}
				if next == "" {
					return nil
				}
				after = next
			}
		})
		return got
	}
	want := []string{"2027-01-15/2", "2027-01-15/4", "2027-02-01/3", "2027-03-01/0", "2027-04-01/5"}
	for _, limit := range []int{1, 2, 10} {
		if got := list(limit); !slices.Equal(got, want) {
			t.Errorf("Due by %d = %v, want %v", limit, got, want)
		}
	}
	view(t, e, func(tx storage.Tx) error {
		if n, err := tx.Letters().DueCount(anna); err != nil || n != 5 {
			t.Errorf("DueCount = %d, %v; want 5", n, err)
		}
		if _, _, err := tx.Letters().Due(anna, "not a cursor", 10); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a bad cursor: %v", err)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		for i, change := range map[int]func(l *storage.Letter){
			2: func(l *storage.Letter) { l.PaidAt = base },
			3: func(l *storage.Letter) { l.Folder = "archive" },
		} {
			l, err := tx.Letters().Get(id('c', i))
			if err != nil {
				return err
			}
			change(l)
			if err := tx.Letters().Put(l); err != nil {
				return err
			}
		}
		l, err := tx.Letters().Get(id('c', 0))
		if err != nil {
			return err
		}
		return tx.Letters().Delete(l)
	})
	if got, want := list(10), []string{"2027-01-15/4", "2027-04-01/5"}; !slices.Equal(got, want) {
		t.Errorf("Due after paying, archiving and deleting = %v, want %v", got, want)
	}
	view(t, e, func(tx storage.Tx) error {
		page, _, err := tx.Letters().Due(bo, "", 10)
		if err != nil || len(page) != 1 || page[0].LetterID != id('c', 10) {
			t.Errorf("Bo's due dates = %+v, %v", page, err)
		}
		return nil
	})
}

// testCounts: FolderCount, FolderUnread and DueCount are always the
// numbers of letters that Folder, the unread rule and Due stand for,
// through every change a letter goes through (delivered, opened, marked
// read or unread, moved, given a due date, paid, made a tombstone,
// deleted, stored again unchanged), several in one transaction, for
// several residents and folders; a transaction that fails changes no
// count. The changes are random, from a fixed seed, and checked against
// a model after every transaction.
func testCounts(t *testing.T, e storage.Engine) {
	residents := []string{id('a', 1), id('a', 2), id('a', 3)}
	folders := []string{"", "archive", "f1", "f2"}
	dues := []string{"", "2027-01-15", "2027-02-01", "not a date"}
	model := map[string]*storage.Letter{} // what is stored, by id
	r := rand.New(rand.NewPCG(1, 2))
	yes, no := true, false
	marks := []*bool{nil, &yes, &no}
	next := 0
	change := func(tx storage.Tx, stored map[string]*storage.Letter) error {
		ids := slices.Sorted(func(yield func(string) bool) {
			for id := range stored {
				if !yield(id) {
					return
				}
			}
		})
		if len(ids) == 0 || r.IntN(4) == 0 {
			l := letter(next, residents[r.IntN(len(residents))], id('b', 1), base.Add(time.Duration(next)*time.Second))
			next++
			l.Folder, l.DueDate, l.ReadMark = folders[r.IntN(len(folders))], dues[r.IntN(len(dues))], marks[r.IntN(len(marks))]
			stored[l.ID] = l
			return tx.Letters().Put(l)
		}
		l, err := tx.Letters().Get(ids[r.IntN(len(ids))])
		if err != nil {
			return err
		}
		switch r.IntN(9) {
		case 0:
			l.ReadAt = base.Add(time.Hour)
		case 1:
			l.ReadMark = marks[r.IntN(len(marks))]
		case 2, 3:
			l.Folder = folders[r.IntN(len(folders))]
		case 4:
			l.DueDate = dues[r.IntN(len(dues))]
		case 5:
			l.PaidAt = base.Add(time.Hour)
		case 6:
			if r.IntN(2) == 0 {
				l.Deleted = base.Add(time.Hour) // a tombstone
			}
		case 7:
			delete(stored, l.ID)
			return tx.Letters().Delete(l)
		case 8:
			l.Listing = []byte("sealed listing") // no count changes
		}
		stored[l.ID] = l
		return tx.Letters().Put(l)
	}
	check := func(step int) {
		t.Helper()
		view(t, e, func(tx storage.Tx) error {
			for _, res := range residents {
				wantDue := 0
				for _, f := range append(slices.Clone(folders), "f3") {
					wantLetters, wantUnread := 0, 0
					for _, l := range model {
						if l.ResidentID != res {
							continue
						}
						if l.Folder == f && !l.IsTombstone() {
							wantLetters++
						}
						if l.Folder == f && l.Unread() {
							wantUnread++
						}
						if f == "" && l.Due() != "" {
							wantDue++
						}
					}
					n, err := tx.Letters().FolderCount(res, f)
					if err != nil || n != wantLetters {
						t.Fatalf("step %d: FolderCount(%s, %q) = %d, %v; want %d", step, res, f, n, err, wantLetters)
					}
					page, _, err := tx.Letters().Folder(res, f, "", 1000)
					if err != nil || len(page) != n {
						t.Fatalf("step %d: Folder(%s, %q) lists %d, %v; FolderCount %d", step, res, f, len(page), err, n)
					}
					if n, err := tx.Letters().FolderUnread(res, f); err != nil || n != wantUnread {
						t.Fatalf("step %d: FolderUnread(%s, %q) = %d, %v; want %d", step, res, f, n, err, wantUnread)
					}
				}
				n, err := tx.Letters().DueCount(res)
				if err != nil || n != wantDue {
					t.Fatalf("step %d: DueCount(%s) = %d, %v; want %d", step, res, n, err, wantDue)
				}
				page, _, err := tx.Letters().Due(res, "", 1000)
				if err != nil || len(page) != n {
					t.Fatalf("step %d: Due(%s) lists %d, %v; DueCount %d", step, res, len(page), err, n)
				}
			}
			return nil
		})
	}
	failed := errors.New("rolled back")
	for step := range 120 {
		stored := maps.Clone(model)
		for id, l := range stored {
			c := *l
			stored[id] = &c
		}
		fail := step%10 == 9
		err := e.Update(ctx, func(tx storage.Tx) error {
			for range 1 + r.IntN(4) {
				if err := change(tx, stored); err != nil {
					return err
				}
			}
			if fail {
				return failed
			}
			return nil
		})
		switch {
		case fail && !errors.Is(err, failed):
			t.Fatalf("step %d: the failing Update returned %v", step, err)
		case !fail && err != nil:
			t.Fatalf("step %d: %v", step, err)
		case !fail:
			model = stored
		}
		check(step)
	}
	if len(model) < 20 {
		t.Errorf("only %d letters at the end: the changes did not exercise the counts", len(model))
	}
}

// testSearchIndexes: a resident's sealed index is stored and replaced
// whole, its version read without it, apart from other residents', and
// deleted.
func testSearchIndexes(t *testing.T, e storage.Engine) {
	anna, bo := id('a', 1), id('a', 2)
	view(t, e, func(tx storage.Tx) error {
		if _, err := tx.SearchIndexes().Get(anna); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get of none = %v, want ErrNotFound", err)
		}
		if _, err := tx.SearchIndexes().Version(anna); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Version of none = %v, want ErrNotFound", err)
		}
		return nil
	})
	big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<18) // 1 MiB, with zero bytes
	update(t, e, func(tx storage.Tx) error {
		if err := tx.SearchIndexes().Put(anna, &storage.SearchIndex{Version: 1, Sealed: []byte("first")}); err != nil {
			return err
		}
		return tx.SearchIndexes().Put(bo, &storage.SearchIndex{Version: 1<<63 + 5, Sealed: []byte("bo's")})
	})
	update(t, e, func(tx storage.Tx) error {
		return tx.SearchIndexes().Put(anna, &storage.SearchIndex{Version: 2, Sealed: big})
	})
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.SearchIndexes().Get(anna)
		if err != nil || got.Version != 2 || !bytes.Equal(got.Sealed, big) {
			t.Errorf("Get after replacing = version %v, %d bytes, %v", got != nil && got.Version == 2, len(got.Sealed), err)
		}
		if v, err := tx.SearchIndexes().Version(bo); err != nil || v != 1<<63+5 {
			t.Errorf("Version of bo = %d, %v", v, err)
		}
		var ids []string
		if err := tx.SearchIndexes().All(func(r string, ix *storage.SearchIndex) error {
			ids = append(ids, r)
			return nil
		}); err != nil {
			t.Error(err)
		}
		if !slices.Equal(ids, []string{anna, bo}) {
			t.Errorf("All = %v", ids)
		}
		return nil
	})
	// A change that fails stores nothing: the old index stays whole.
	failed := errors.New("crash in the middle")
	if err := e.Update(ctx, func(tx storage.Tx) error {
		if err := tx.SearchIndexes().Put(anna, &storage.SearchIndex{Version: 3, Sealed: []byte("half")}); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("Update = %v", err)
	}
	update(t, e, func(tx storage.Tx) error { return tx.SearchIndexes().Delete(bo) })
	update(t, e, func(tx storage.Tx) error { return tx.SearchIndexes().Delete(bo) }) // none: no error
	view(t, e, func(tx storage.Tx) error {
		if v, err := tx.SearchIndexes().Version(anna); err != nil || v != 2 {
			t.Errorf("Version after a failed change = %d, %v", v, err)
		}
		if _, err := tx.SearchIndexes().Get(bo); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after Delete = %v", err)
		}
		return nil
	})
}

func testReplies(t *testing.T, e storage.Engine) {
	l1, l2 := id('l', 1), id('l', 2)
	mk := func(i int, letter string, at time.Time) *storage.Reply {
		return &storage.Reply{ID: id('r', i), LetterID: letter, ResidentID: id('a', 1), SenderID: id('b', 1),
			Created: at, Attachments: i % 3, Size: 3, Sealed: []byte{'R', 1, byte(i)}, ResidentKey: []byte{1, byte(i)}}
	}
	// Written out of the ids' order: ByLetter is in the order written.
	r1, r2, r3, r4 := mk(1, l1, base.Add(2*time.Minute)), mk(2, l1, base), mk(3, l2, base.Add(time.Minute)), mk(4, l1, base.Add(time.Minute))
	// A message (no letter) of the first resident, one of another.
	m5, m6 := mk(5, "", base.Add(30*time.Second)), mk(6, "", base)
	m6.ResidentID = id('a', 2)
	update(t, e, func(tx storage.Tx) error {
		for _, r := range []*storage.Reply{r1, r2, r3, r4, m5, m6} {
			if err := tx.Replies().Put(r); err != nil {
				return err
			}
		}
		return nil
	})
	byLetter := func(letter string, want ...string) {
		t.Helper()
		view(t, e, func(tx storage.Tx) error {
			var got []string
			err := tx.Replies().ByLetter(letter, func(r *storage.Reply) error { got = append(got, r.ID); return nil })
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("ByLetter(%s) = %v, %v; want %v", letter, got, err, want)
			}
			return nil
		})
	}
	byLetter(l1, r2.ID, r4.ID, r1.ID)
	byLetter(l2, r3.ID)
	byLetter(id('l', 9))
	byLetter("")
	byResident := func(resident string, want ...string) {
		t.Helper()
		view(t, e, func(tx storage.Tx) error {
			var got []string
			err := tx.Replies().ByResident(resident, func(r *storage.Reply) error { got = append(got, r.ID); return nil })
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("ByResident(%s) = %v, %v; want %v", resident, got, err, want)
			}
			return nil
		})
	}
	byResident(id('a', 1), r2.ID, m5.ID, r3.ID, r4.ID, r1.ID)
	byResident(id('a', 2), m6.ID)
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Replies().Get(r1.ID)
		if err != nil || !equalJSON(got, r1) {
			t.Errorf("Get = %+v, %v; want %+v", got, err, r1)
		}
		_, err = tx.Replies().Get(id('r', 9))
		notFound(t, "Get(unknown)", err)
		var all []string
		if err := tx.Replies().All(func(r *storage.Reply) error { all = append(all, r.ID); return nil }); err != nil {
			t.Error(err)
		}
		if want := []string{r1.ID, r2.ID, r3.ID, r4.ID, m5.ID, m6.ID}; !slices.Equal(all, want) {
			t.Errorf("All = %v, want %v", all, want)
		}
		return nil
	})
	// A replaced record moves in the index; fetched, it is the same reply.
	r2.Answers = []string{id('l', 7)}
	r2.Created = base.Add(3 * time.Minute)
	update(t, e, func(tx storage.Tx) error { return tx.Replies().Put(r2) })
	byLetter(l1, r4.ID, r1.ID, r2.ID)
	// Deleting every reply of a letter while walking it (as deleting a
	// letter does) leaves none; deleting none is no error.
	update(t, e, func(tx storage.Tx) error {
		if err := tx.Replies().ByLetter(l1, func(r *storage.Reply) error { return tx.Replies().Delete(r.ID) }); err != nil {
			return err
		}
		return tx.Replies().Delete(r1.ID)
	})
	byLetter(l1)
	byLetter(l2, r3.ID)
	byResident(id('a', 1), m5.ID, r3.ID)
	// Deleting a resident's every reply and message while walking them
	// (as deleting the account does).
	update(t, e, func(tx storage.Tx) error {
		return tx.Replies().ByResident(id('a', 1), func(r *storage.Reply) error { return tx.Replies().Delete(r.ID) })
	})
	byResident(id('a', 1))
	byResident(id('a', 2), m6.ID)
	byLetter(l2)
}

// testDelegations: grants by id, by grantor and by delegate, oldest
// first; a replaced grant moves nothing; a deleted one is in no index.
func testDelegations(t *testing.T, e storage.Engine) {
	anna, bo, carl := id('a', 1), id('a', 2), id('a', 3)
	ds := []*storage.Delegation{
		{ID: id('g', 3), GrantorID: anna, DelegateID: carl, Access: storage.AccessAct, Scope: storage.ScopeAll, Created: base.Add(2 * time.Minute)},
		{ID: id('g', 1), GrantorID: anna, DelegateID: bo, Access: storage.AccessRead, Scope: storage.ScopePublic, Created: base, Until: base.Add(48 * time.Hour)},
		{ID: id('g', 2), GrantorID: bo, DelegateID: carl, Access: storage.AccessAct, Scope: storage.ScopeAll, Created: base.Add(time.Minute), Guardianship: true, Decision: "court 12/2026"},
	}
	update(t, e, func(tx storage.Tx) error {
		for _, d := range ds {
			if err := tx.Delegations().Put(d); err != nil {
				return err
			}
		}
		return nil
	})
	ids := func(ds []*storage.Delegation) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Delegations().Get(id('g', 1))
		if err != nil || !equalJSON(got, ds[1]) {
			t.Errorf("Get = %+v, %v", got, err)
		}
		_, err = tx.Delegations().Get(id('g', 9))
		notFound(t, "an unknown grant", err)
		if of, err := tx.Delegations().OfGrantor(anna); err != nil || !slices.Equal(ids(of), []string{id('g', 1), id('g', 3)}) {
			t.Errorf("OfGrantor(anna) = %v, %v", ids(of), err)
		}
		if of, err := tx.Delegations().OfDelegate(carl); err != nil || !slices.Equal(ids(of), []string{id('g', 2), id('g', 3)}) {
			t.Errorf("OfDelegate(carl) = %v, %v", ids(of), err)
		}
		if of, err := tx.Delegations().OfDelegate(anna); err != nil || len(of) != 0 {
			t.Errorf("OfDelegate(anna) = %v, %v", ids(of), err)
		}
		var all []string
		tx.Delegations().All(func(d *storage.Delegation) error { all = append(all, d.ID); return nil })
		if !slices.Equal(all, []string{id('g', 1), id('g', 2), id('g', 3)}) {
			t.Errorf("All = %v, want oldest first", all)
		}
		return nil
	})
	update(t, e, func(tx storage.Tx) error {
		d := *ds[1]
		d.Accepted = base.Add(time.Hour)
		if err := tx.Delegations().Put(&d); err != nil {
			return err
		}
		if err := tx.Delegations().Delete(id('g', 9)); err != nil {
			return err
		}
		return tx.Delegations().Delete(id('g', 3))
	})
	view(t, e, func(tx storage.Tx) error {
		of, _ := tx.Delegations().OfGrantor(anna)
		if len(of) != 1 || !of[0].Accepted.Equal(base.Add(time.Hour)) {
			t.Errorf("OfGrantor(anna) after accept and delete = %+v", of)
		}
		if of, _ := tx.Delegations().OfDelegate(carl); !slices.Equal(ids(of), []string{id('g', 2)}) {
			t.Errorf("OfDelegate(carl) after delete = %v", ids(of))
		}
		_, err := tx.Delegations().Get(id('g', 3))
		notFound(t, "a deleted grant", err)
		return nil
	})
}

// testDelegateKeys: a letter's wrappings to delegates are kept with it,
// and a Put without them leaves none.
func testDelegateKeys(t *testing.T, e storage.Engine) {
	l := letter(1, id('a', 1), id('b', 1), base)
	l.DelegateKeys = []storage.DelegateKey{{DelegationID: id('g', 1), DelegateID: id('a', 2), SealedKey: []byte("sealed to bo")}}
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Put(l) })
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Letters().Get(l.ID)
		if err != nil || len(got.DelegateKeys) != 1 || string(got.DelegateKeys[0].SealedKey) != "sealed to bo" || got.DelegateKeys[0].DelegateID != id('a', 2) {
			t.Errorf("Get = %+v, %v", got, err)
		}
		return nil
	})
	l.DelegateKeys = nil
	update(t, e, func(tx storage.Tx) error { return tx.Letters().Put(l) })
	view(t, e, func(tx storage.Tx) error {
		got, err := tx.Letters().Get(l.ID)
		if err != nil || len(got.DelegateKeys) != 0 {
			t.Errorf("Get after removing the wrapping = %+v, %v", got.DelegateKeys, err)
		}
		return nil
	})
}
