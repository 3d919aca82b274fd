package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// TestInboxPages: pages of the inbox, newest first, by cursor, show the
// same lines as the whole inbox; the first page seals each letter's
// listing with the resident's listing key, and the next pages read it;
// the listing key and the listings are sealed (no subject in clear).
func TestInboxPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 7
	for i := range n {
		f.clock.Advance(1)
		d := testDelivery(f.nid, fmt.Sprintf("ref-%d", i))
		d.Subject = fmt.Sprintf("Canary subject %d", i)
		if _, err := f.s.Deliver(context.Background(), f.sender.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	whole, err := mb.Inbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		var got []LetterSummary
		cursor, pages := "", 0
		for {
			page, next, err := mb.InboxPage(context.Background(), cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			pages++
			if next == "" {
				break
			}
			cursor = next
		}
		if pages != 3 || len(got) != len(whole) {
			t.Fatalf("round %d: %d lines in %d pages, want %d in 3", round, len(got), pages, len(whole))
		}
		for i := range got {
			g, w := got[i], whole[i]
			if g.ID != w.ID || g.Subject != w.Subject || g.SenderName != w.SenderName || !g.DeliveredAt.Equal(w.DeliveredAt) || g.Error != nil {
				t.Errorf("round %d, line %d: %+v, want %+v", round, i, g, w)
			}
		}
		// After the first round every letter has its listing.
		listed := 0
		if err := f.s.view(context.Background(), func(tx storage.Tx) error {
			return tx.Letters().All(func(l *letterRecord) error {
				if l.Listing != nil {
					listed++
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		if listed != n {
			t.Errorf("round %d: %d letters have a listing, want %d", round, listed, n)
		}
	}
	if _, _, err := mb.InboxPage(context.Background(), "", 0); err == nil {
		t.Error("a page of 0 letters")
	}
	// Another resident's mailbox opens none of these.
	other := mustResident(t, f.s, testNID(t, 9), "Bo")
	mbo := mustLogin(t, f.s, testNID(t, 9), testPassword)
	defer mbo.Close()
	if page, next, err := mbo.InboxPage(context.Background(), "", 50); err != nil || len(page) != 0 || next != "" {
		t.Errorf("%s's inbox page: %d letters, %q, %v", other.Name, len(page), next, err)
	}
}

// TestListingPlanted: whoever can write the database cannot choose what a
// page shows, nor learn the listing key. A listing sealed with a key of
// their own is ignored and made again from the letter; the listing key
// is derived from the private key and stored nowhere.
func TestListingPlanted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := testDelivery(f.nid, "planted")
	d.Subject = "The real subject"
	res, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Letter.ID
	mine, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := mine.SealField(rand.Reader, listingLabel(id), []byte(`{"subject":"Pay 5000 kr. to account 1234"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.update(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		rec.Listing = forged
		return tx.Letters().Put(rec)
	}); err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	page, _, err := mb.InboxPage(context.Background(), "", 50)
	if err != nil || len(page) != 1 || page[0].Subject != "The real subject" || page[0].Error != nil {
		t.Fatalf("page with a planted listing: %+v, %v", page, err)
	}
	// The planted listing was replaced by one under the resident's key.
	lk, err := mb.listingKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lk.OpenField(listingLabel(id), rawLetter(t, f.s, id).Listing); err != nil {
		t.Errorf("the listing after the page: %v", err)
	}
	// The resident's record holds no listing key.
	if raw, err := json.Marshal(rawResident(t, f.s, f.resident.ID)); err != nil || bytes.Contains(raw, []byte("Listing")) {
		t.Errorf("the resident's record keeps a listing key: %s (%v)", raw, err)
	}
}

// TestDuePage: the letters of the inbox with a due date, soonest first, a
// page at a time; paid invoices and archived letters leave the list; the
// list is the resident's own.
func TestDuePage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ids := map[string]string{}
	for _, c := range []struct{ ref, due string }{{"march", "2027-03-01"}, {"none", ""}, {"january", "2027-01-15"}, {"february", "2027-02-01"}} {
		d := testDelivery(f.nid, c.ref)
		d.DueDate, d.Subject, d.Type = c.due, c.ref, TypeInvoice
		res, err := f.s.Deliver(ctx, f.sender.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		ids[c.ref] = res.Letter.ID
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	list := func() []string {
		t.Helper()
		var got []string
		for cursor := ""; ; {
			page, next, err := mb.DuePage(ctx, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				got = append(got, l.Subject+" "+l.DueDate)
			}
			if next == "" {
				return got
			}
			cursor = next
		}
	}
	if got, want := list(), []string{"january 2027-01-15", "february 2027-02-01", "march 2027-03-01"}; !slices.Equal(got, want) {
		t.Fatalf("due = %v, want %v", got, want)
	}
	if n, err := mb.DueCount(ctx); err != nil || n != 3 {
		t.Errorf("DueCount = %d, %v", n, err)
	}
	if err := mb.MarkPaid(ctx, ids["january"], true); err != nil {
		t.Fatal(err)
	}
	if err := mb.MoveLetters(ctx, []string{ids["march"]}, FolderArchive); err != nil {
		t.Fatal(err)
	}
	if got, want := list(), []string{"february 2027-02-01"}; !slices.Equal(got, want) {
		t.Errorf("due after paying and archiving = %v, want %v", got, want)
	}
	if _, _, err := mb.DuePage(ctx, "junk", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("a cursor that is not DuePage's: %v", err)
	}
	other := testNID(t, 7)
	mustResident(t, f.s, other, "Other Resident")
	mb2 := mustLogin(t, f.s, other, testPassword)
	defer mb2.Close()
	if page, _, err := mb2.DuePage(ctx, "", 10); err != nil || len(page) != 0 {
		t.Errorf("another resident's due dates: %+v, %v", page, err)
	}
}
