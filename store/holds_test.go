package store

import (
	"context"
	"errors"
	"testing"
)

// TestMakeInaccessible: a letter made inaccessible stays in the inbox
// where it was, without its subject, with when, why and on whose order;
// it opens nothing, neither the letter nor a document; it is not deleted;
// made accessible again it opens as before; both audited.
func TestMakeInaccessible(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "hold-1"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "hold-2"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Letter.ID
	if _, err := f.s.MakeInaccessible(context.Background(), id, "", "Retten i Aarhus, sag 12-345"); err == nil {
		t.Error("a hold without a reason")
	}
	if _, err := f.s.MakeInaccessible(context.Background(), "nosuchletter", "Retskendelse", "Retten i Aarhus"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a hold of no letter: %v", err)
	}
	const reason, order = "Beslaglagt efter retsplejeloven § 804", "Retten i Aarhus, sag 12-345"
	hold, err := f.s.MakeInaccessible(context.Background(), id, reason, order)
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	check := func(name string, lines []LetterSummary) {
		t.Helper()
		found := false
		for _, l := range lines {
			if l.ID == id {
				found = true
				if l.Hold == nil || l.Hold.Reason != reason || l.Hold.Order != order || !l.Hold.At.Equal(hold.At) || l.Subject != "" || l.Error != nil {
					t.Errorf("%s: the held letter's line %+v", name, l)
				}
			} else if l.Hold != nil || l.Subject == "" {
				t.Errorf("%s: another letter's line %+v", name, l)
			}
		}
		if !found || len(lines) != 2 {
			t.Errorf("%s: %d lines, held letter listed %v", name, len(lines), found)
		}
	}
	inbox, err := mb.Inbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	check("Inbox", inbox)
	page, _, err := mb.InboxPage(context.Background(), "", 50)
	if err != nil {
		t.Fatal(err)
	}
	check("InboxPage", page)
	var ie *InaccessibleError
	if _, err := mb.Letter(context.Background(), id); !errors.As(err, &ie) || ie.Hold.Reason != reason {
		t.Errorf("Letter of a held letter: %v", err)
	}
	if _, err := mb.Document(context.Background(), id, 0); !errors.Is(err, ErrInaccessible) {
		t.Errorf("Document of a held letter: %v", err)
	}
	if _, err := mb.Letter(context.Background(), other.Letter.ID); err != nil {
		t.Errorf("another letter: %v", err)
	}
	// Not read by the attempt; its sender still sees it.
	if st, err := f.s.LetterStatus(context.Background(), f.sender.ID, id); err != nil || st.Status != "delivered" {
		t.Errorf("status of the held letter: %+v, %v", st, err)
	}
	if err := f.s.MakeAccessible(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MakeAccessible(context.Background(), id); !errors.Is(err, ErrNotFound) {
		t.Errorf("MakeAccessible twice: %v", err)
	}
	if l, err := mb.Letter(context.Background(), id); err != nil || l.Subject == "" {
		t.Errorf("the letter made accessible again: %+v, %v", l, err)
	}
	log, _ := f.s.AuditLog(context.Background())
	var actions []string
	for _, e := range log {
		if e.Object == "letter:"+id && e.Actor == "operator" {
			actions = append(actions, e.Action)
		}
	}
	if len(actions) != 2 || actions[0] != "make-inaccessible" || actions[1] != "make-accessible" {
		t.Errorf("audited %v", actions)
	}
}

// TestHoldBetweenOpenAndRead: a letter made inaccessible after it was
// opened and before its first opening is written is not marked read; the
// write checks the hold again.
func TestHoldBetweenOpenAndRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "held-while-read"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if _, err := f.s.MakeInaccessible(context.Background(), res.Letter.ID, "Politiets efterforskning", "Retten i Aarhus, sag 12-345"); err != nil {
		t.Fatal(err)
	}
	var ie *InaccessibleError
	if _, err := mb.markRead(context.Background(), res.Letter.ID); !errors.As(err, &ie) {
		t.Errorf("first reading of a held letter: %v, want InaccessibleError", err)
	}
	if !rawLetter(t, f.s, res.Letter.ID).ReadAt.IsZero() {
		t.Error("a held letter was marked read")
	}
}
