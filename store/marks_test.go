package store

import (
	"context"
	"errors"
	"testing"
)

// TestMarkReadAndPaid: the resident's marks change their mailbox only:
// marking read or unread never changes the sender's "read"; opening a
// letter marked unread ends the mark; an invoice is marked paid (audited),
// another letter cannot be; another resident's letter changes nothing.
func TestMarkReadAndPaid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := testDelivery(f.nid, "faktura-1")
	d.Type, d.DueDate = TypeInvoice, "2026-12-24"
	inv, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "brev-1"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	line := func(id string) LetterSummary {
		t.Helper()
		page, _, err := mb.InboxPage(context.Background(), "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page {
			if l.ID == id {
				return l
			}
		}
		t.Fatalf("letter %s not listed", id)
		return LetterSummary{}
	}
	if err := mb.MarkRead(context.Background(), []string{inv.Letter.ID}, true); err != nil {
		t.Fatal(err)
	}
	if l := line(inv.Letter.ID); l.Unread() || !l.ReadAt.IsZero() {
		t.Errorf("marked read: %+v", l)
	}
	if st, _ := f.s.LetterStatus(context.Background(), f.sender.ID, inv.Letter.ID); st.Status != "delivered" {
		t.Errorf("the sender's status after marking read: %s, want delivered (not opened)", st.Status)
	}
	if _, err := mb.Letter(context.Background(), plain.Letter.ID); err != nil {
		t.Fatal(err)
	}
	if err := mb.MarkRead(context.Background(), []string{plain.Letter.ID}, false); err != nil {
		t.Fatal(err)
	}
	if l := line(plain.Letter.ID); !l.Unread() {
		t.Errorf("marked unread: %+v", l)
	}
	if st, _ := f.s.LetterStatus(context.Background(), f.sender.ID, plain.Letter.ID); st.Status != "read" {
		t.Errorf("the sender's status after marking unread: %s, want read", st.Status)
	}
	if _, err := mb.Letter(context.Background(), plain.Letter.ID); err != nil {
		t.Fatal(err)
	}
	if l := line(plain.Letter.ID); l.Unread() {
		t.Errorf("opened after marking unread: %+v", l)
	}

	if err := mb.MarkPaid(context.Background(), plain.Letter.ID, true); err == nil {
		t.Error("a letter that is no invoice marked paid")
	}
	if err := mb.MarkPaid(context.Background(), inv.Letter.ID, true); err != nil {
		t.Fatal(err)
	}
	if l := line(inv.Letter.ID); l.PaidAt.IsZero() {
		t.Errorf("marked paid: %+v", l)
	}
	if err := mb.MarkPaid(context.Background(), inv.Letter.ID, false); err != nil {
		t.Fatal(err)
	}
	if l := line(inv.Letter.ID); !l.PaidAt.IsZero() {
		t.Errorf("marked not paid: %+v", l)
	}
	log, _ := f.s.AuditLog(context.Background())
	var paid []string
	for _, e := range log {
		if e.Object == "letter:"+inv.Letter.ID && (e.Action == "mark-paid" || e.Action == "mark-unpaid") {
			paid = append(paid, e.Action)
		}
	}
	if len(paid) != 2 {
		t.Errorf("audited %v", paid)
	}

	// Another resident can mark none of these.
	mustResident(t, f.s, testNID(t, 9), "Bo")
	bo := mustLogin(t, f.s, testNID(t, 9), testPassword)
	defer bo.Close()
	if err := bo.MarkRead(context.Background(), []string{inv.Letter.ID}, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident marks unread: %v", err)
	}
	if err := bo.MarkPaid(context.Background(), inv.Letter.ID, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident marks paid: %v", err)
	}
}

// TestReservation: opting out makes the resident not digital and refuses
// deliveries; the mail stays readable and sign-in works; opting in again
// undoes it; the operator can record either; audited.
func TestReservation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "before"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if err := mb.Reserve(context.Background()); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	if digital, err := f.s.IsDigital(context.Background(), f.nid); err != nil || digital {
		t.Errorf("IsDigital of a reserved resident: %v, %v", digital, err)
	}
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "after")); !errors.Is(err, ErrRecipientNotDigital) {
		t.Errorf("delivery to a reserved resident: %v", err)
	}
	mb = mustLogin(t, f.s, f.nid, testPassword)
	if _, err := mb.Letter(context.Background(), res.Letter.ID); err != nil {
		t.Errorf("reading old mail while reserved: %v", err)
	}
	mb.Close()
	if r, err := f.s.UnreserveResident(context.Background(), f.nid); err != nil || r.Status != ResidentActive {
		t.Fatalf("UnreserveResident = %s, %v", r.Status, err)
	}
	if digital, _ := f.s.IsDigital(context.Background(), f.nid); !digital {
		t.Error("not digital after opting in")
	}
	if r, err := f.s.ReserveResident(context.Background(), f.nid); err != nil || r.Status != ResidentReserved || r.ID != f.resident.ID {
		t.Fatalf("ReserveResident = %+v, %v", r, err)
	}
	if r, err := f.s.ReserveResident(context.Background(), f.nid); err != nil || r.Status != ResidentReserved {
		t.Errorf("reserving twice: %s, %v", r.Status, err)
	}
	// A pending mailbox takes no digital post until its resident
	// activates it: there is nothing to opt out of yet. An unknown number
	// is not found. Neither is audited.
	pending := testNID(t, 8)
	if _, _, err := f.s.EnrolResident(context.Background(), pending, "Per Pending"); err != nil {
		t.Fatal(err)
	}
	var invalid *InvalidError
	if _, err := f.s.ReserveResident(context.Background(), pending); !errors.As(err, &invalid) || invalid.Field != "status" {
		t.Errorf("reserving a pending mailbox: %v", err)
	}
	if _, err := f.s.ReserveResident(context.Background(), testNID(t, 7)); !errors.Is(err, ErrNotFound) {
		t.Errorf("reserving an unknown number: %v", err)
	}
	log, _ := f.s.AuditLog(context.Background())
	var got []string
	for _, e := range log {
		if e.Action == "reserve" || e.Action == "unreserve" {
			got = append(got, e.Actor+" "+e.Action)
		}
	}
	want := []string{"resident:" + f.resident.ID + " reserve", "operator unreserve", "operator reserve"}
	if len(got) != len(want) {
		t.Fatalf("audited %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("audit %d: %s, want %s", i, got[i], want[i])
		}
	}
}
