package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store/storage"
)

// mustPrintKey makes the appliance's print key and returns the
// operator's key.
func mustPrintKey(t *testing.T, s *Store) []byte {
	t.Helper()
	key, err := s.NewPrintKey(context.Background())
	if err != nil || len(key) != PrintKeySize {
		t.Fatalf("NewPrintKey = %d bytes, %v", len(key), err)
	}
	return key
}

// printDelivery is testDelivery with print details and a real PDF.
func printDelivery(nid NationalID, ref string) Delivery {
	d := testDelivery(nid, ref)
	d.Documents[0].Content = testsupport.PDF("Afgørelse om boligstøtte", "Side 1")
	d.Print = &PrintRequest{Address: PrintAddress{Name: "Bo Berg", Lines: []string{"Søndergade 12, 2. th."},
		PostalCode: "8000", City: "Aarhus C", Country: "DK"}}
	return d
}

func eventTypes(t *testing.T, s *Store, senderID string) []string {
	t.Helper()
	evs, _, err := s.Events(context.Background(), senderID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+" "+e.SenderReference)
	}
	return out
}

// TestPrintQueue: a letter with print details to someone who takes no
// digital post (no mailbox, reserved) is queued for print, sealed; an
// export opens it with its address and pages; done deletes its copy;
// each step is once, with its event.
func TestPrintQueue(t *testing.T) {
	f := newFixture(t)
	defer closeTestStore(t, f.s)
	ctx := context.Background()
	nobody := testNID(t, 7)
	reserved := testNID(t, 2)
	r := mustResident(t, f.s, reserved, "Rut Reserveret")
	setResidentStatus(t, f.s, r.ID, ResidentReserved)

	// Without the operator's print key nothing is queued: refused as
	// without print details.
	if _, err := f.s.Deliver(ctx, f.sender.ID, printDelivery(nobody, "print-1")); !errors.Is(err, ErrUnknownRecipient) || !errors.Is(err, ErrNoPrintKey) {
		t.Errorf("no print key: %v", err)
	}
	key := mustPrintKey(t, f.s)
	if _, err := f.s.NewPrintKey(ctx); !errors.Is(err, ErrExists) {
		t.Errorf("a second print key: %v", err)
	}
	// The appliance keeps nothing that is the operator's key.
	f.s.view(ctx, func(tx storage.Tx) error {
		return tx.Meta().All(func(k string, v []byte) error {
			if bytes.Contains(v, key) {
				t.Errorf("meta %s holds the operator's print key", k)
			}
			return nil
		})
	})

	d1 := printDelivery(nobody, "print-1")
	res, err := f.s.Deliver(ctx, f.sender.ID, d1)
	if err != nil || res.Letter.Status != "queued-for-print" || len(res.Receipt.Payload) != 0 {
		t.Fatalf("Deliver to no mailbox = %+v, %v", res, err)
	}
	// Again: the same answer, nothing new; another address is a
	// duplicate reference.
	again, err := f.s.Deliver(ctx, f.sender.ID, printDelivery(nobody, "print-1"))
	if err != nil || !again.Repeated || again.Letter.ID != res.Letter.ID {
		t.Errorf("repeat = %+v, %v", again, err)
	}
	moved := printDelivery(nobody, "print-1")
	moved.Print.Address.City = "Aarhus N"
	if _, err := f.s.Deliver(ctx, f.sender.ID, moved); !errors.Is(err, ErrDuplicateReference) {
		t.Errorf("repeat with another address: %v", err)
	}
	f.clock.Advance(time.Minute)
	d2 := printDelivery(reserved, "print-2")
	d2.Documents = append(d2.Documents, DocumentInput{Name: "bilag.pdf", ContentType: "application/pdf", Content: testsupport.PDF("Bilag")})
	res2, err := f.s.Deliver(ctx, f.sender.ID, d2)
	if err != nil || res2.Letter.Status != "queued-for-print" {
		t.Fatalf("Deliver to a reserved resident = %+v, %v", res2, err)
	}
	// To a digital resident, print details change nothing.
	res3, err := f.s.Deliver(ctx, f.sender.ID, printDelivery(f.nid, "print-3"))
	if err != nil || res3.Letter.Status != "delivered" {
		t.Fatalf("Deliver to a digital resident = %+v, %v", res3, err)
	}
	// Without print details, not digital is refused as before.
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(nobody, "print-4")); !errors.Is(err, ErrUnknownRecipient) {
		t.Errorf("no print details: %v", err)
	}
	// The sealed copy holds neither the address nor the PDF in clear.
	var raw []byte
	f.s.view(ctx, func(tx storage.Tx) error {
		p, err := tx.Print().Get(res.Letter.ID)
		if err == nil {
			raw = append(p.SealedKey, p.Sealed...)
		}
		return err
	})
	if len(raw) == 0 || bytes.Contains(raw, []byte("Søndergade")) || bytes.Contains(raw, []byte("%PDF")) {
		t.Errorf("the queued copy is not sealed (%d bytes)", len(raw))
	}
	// Another sender does not see it.
	other := mustSender(t, f.s, "Dansk Energi A/S", "10150817", SenderPrivate)
	if _, err := f.s.LetterStatus(ctx, other.ID, res.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender's status: %v", err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, res.Letter.ID); err != nil || st.Status != "queued-for-print" {
		t.Errorf("status = %+v, %v", st, err)
	}

	st, err := f.s.PrintStatus(ctx)
	if err != nil || st.Queued != 2 || st.QueuedPages != 3 || len(st.Exported) != 0 {
		t.Errorf("status before export = %+v, %v", st, err)
	}
	// A wrong key opens nothing and puts nothing in a batch.
	wrong := bytes.Clone(key)
	wrong[0] ^= 1
	for _, k := range [][]byte{wrong, key[:10], nil} {
		if _, err := f.s.ExportPrint(ctx, k); !errors.Is(err, ErrWrongPrintKey) {
			t.Errorf("export with a wrong key: %v", err)
		}
	}
	if st, _ := f.s.PrintStatus(ctx); st.Queued != 2 {
		t.Errorf("after a wrong key: %+v", st)
	}
	b, err := f.s.ExportPrint(ctx, key)
	if err != nil || len(b.Letters) != 2 {
		t.Fatalf("ExportPrint = %d letters, %v", len(b.Letters), err)
	}
	l := b.Letters[0]
	if l.ID != res.Letter.ID || l.Address.Lines[0] != "Søndergade 12, 2. th." || l.Pages != 1 || l.SenderOrgNumber != "55133018" ||
		len(l.Documents) != 1 || !bytes.Equal(l.Documents[0].Content, d1.Documents[0].Content) || l.Documents[0].Name != "afgoerelse.pdf" {
		t.Errorf("exported letter: %+v", l)
	}
	if b.Letters[1].Pages != 2 || len(b.Letters[1].Documents) != 2 {
		t.Errorf("second letter: %d pages, %d documents", b.Letters[1].Pages, len(b.Letters[1].Documents))
	}
	// Nothing more to export; the batch can be opened again.
	if _, err := f.s.ExportPrint(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("second export: %v", err)
	}
	if _, err := f.s.ExportPrintBatch(ctx, b.ID, wrong); !errors.Is(err, ErrWrongPrintKey) {
		t.Errorf("the batch again with a wrong key: %v", err)
	}
	if b2, err := f.s.ExportPrintBatch(ctx, b.ID, key); err != nil || len(b2.Letters) != 2 || b2.Letters[0].Address.City != b.Letters[0].Address.City {
		t.Errorf("ExportPrintBatch = %+v, %v", b2.Letters, err)
	}
	if st, _ := f.s.PrintStatus(ctx); st.Queued != 0 || len(st.Exported) != 1 || st.Exported[0].Letters != 2 || st.Exported[0].ID != b.ID {
		t.Errorf("status after export = %+v", st)
	}

	if _, err := f.s.PrintDone(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("done of an unknown batch: %v", err)
	}
	if n, err := f.s.PrintDone(ctx, b.ID); n != 2 || err != nil {
		t.Fatalf("PrintDone = %d, %v", n, err)
	}
	if n, err := f.s.PrintDone(ctx, b.ID); n != 0 || err != nil {
		t.Errorf("PrintDone again = %d, %v", n, err)
	}
	if _, err := f.s.ExportPrintBatch(ctx, b.ID, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("a printed batch opened again: %v", err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, res.Letter.ID); err != nil || st.Status != "printed" {
		t.Errorf("status after done = %+v, %v", st, err)
	}
	if st, _ := f.s.PrintStatus(ctx); st.Queued != 0 || len(st.Exported) != 0 || st.Printed != 2 {
		t.Errorf("status after done = %+v", st)
	}
	f.s.view(ctx, func(tx storage.Tx) error {
		p, err := tx.Print().Get(res.Letter.ID)
		if err != nil || p.Sealed != nil || p.SealedKey != nil {
			t.Errorf("after done: %+v, %v", p, err)
		}
		return nil
	})
	// A repeat after printing still answers, printed.
	if again, err := f.s.Deliver(ctx, f.sender.ID, printDelivery(nobody, "print-1")); err != nil || again.Letter.Status != "printed" {
		t.Errorf("repeat after printing = %+v, %v", again, err)
	}
	got := strings.Join(eventTypes(t, f.s, f.sender.ID), ", ")
	want := "queued-for-print print-1, queued-for-print print-2, delivered print-3, printed print-1, printed print-2"
	if got != want {
		t.Errorf("events: %s\nwant %s", got, want)
	}
}

// TestPrintRefusals: print details are checked, and nothing is stored
// when they are wrong.
func TestPrintRefusals(t *testing.T) {
	f := newFixture(t)
	defer closeTestStore(t, f.s)
	mustPrintKey(t, f.s)
	nobody := testNID(t, 7)
	for _, tt := range []struct {
		field string
		edit  func(d *Delivery)
	}{
		{"print.address.postalCode", func(d *Delivery) { d.Print.Address.PostalCode = "" }},
		{"print.address.postalCode", func(d *Delivery) { d.Print.Address.PostalCode = "80000" }},
		{"print.address.name", func(d *Delivery) { d.Print.Address.Name = " " }},
		{"print.address.lines", func(d *Delivery) { d.Print.Address.Lines = nil }},
		{"print.address.lines[1]", func(d *Delivery) { d.Print.Address.Lines = []string{"a", "b\nc"} }},
		{"print.address.city", func(d *Delivery) { d.Print.Address.City = "" }},
		{"print.address.country", func(d *Delivery) { d.Print.Address.Country = "Danmark" }},
		{"print.when", func(d *Delivery) { d.Print.When = "always" }},
		{"document[0]", func(d *Delivery) {
			d.Documents[0] = DocumentInput{Name: "brev.txt", ContentType: "text/plain", Content: []byte("Hej")}
		}},
		{"document[0]", func(d *Delivery) { d.Documents[0].Content = []byte("%PDF-1.4\nnot really") }},
	} {
		d := printDelivery(nobody, "refused")
		tt.edit(&d)
		_, err := f.s.Deliver(context.Background(), f.sender.ID, d)
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Field != tt.field {
			t.Errorf("%s: %v", tt.field, err)
		}
	}
	if st, err := f.s.PrintStatus(context.Background()); err != nil || st.Queued != 0 {
		t.Errorf("after refusals: %+v, %v", st, err)
	}
	if evs := eventTypes(t, f.s, f.sender.ID); len(evs) != 0 {
		t.Errorf("events after refusals: %v", evs)
	}
}

// TestPrintUnreadAfter: a letter to a digital resident with when
// unread-after is delivered to the mailbox, with a sealed copy waiting;
// read in time, the copy is deleted; deleted by the resident, too; still
// unread at its time, QueueUnread queues it (its event, its status) and
// it is exported like any other.
func TestPrintUnreadAfter(t *testing.T) {
	f := newFixture(t)
	defer closeTestStore(t, f.s)
	ctx := context.Background()
	// Without the print key, unread-after is refused.
	d := printDelivery(f.nid, "no-key")
	d.Print.When, d.Print.UnreadAfter = PrintUnreadAfter, f.clock.Now().Add(time.Hour)
	var inv *InvalidError
	if _, err := f.s.Deliver(ctx, f.sender.ID, d); !errors.As(err, &inv) || inv.Field != "print" {
		t.Errorf("unread-after without a print key: %v", err)
	}
	key := mustPrintKey(t, f.s)
	at := f.clock.Now().Add(72 * time.Hour)
	unread := func(ref string) Delivery {
		d := printDelivery(f.nid, ref)
		d.Print.When, d.Print.UnreadAfter = PrintUnreadAfter, at
		return d
	}
	var ids []string
	for _, ref := range []string{"read", "deleted", "unread"} {
		res, err := f.s.Deliver(ctx, f.sender.ID, unread(ref))
		if err != nil || res.Letter.Status != "delivered" || len(res.Receipt.Payload) == 0 {
			t.Fatalf("deliver %s: %+v, %v", ref, res, err)
		}
		ids = append(ids, res.Letter.ID)
	}
	for _, tt := range []struct {
		edit func(d *Delivery)
	}{
		{func(d *Delivery) { d.Print.UnreadAfter = time.Time{} }},
		{func(d *Delivery) { d.Print.UnreadAfter = f.clock.Now().Add(-time.Minute) }},
		{func(d *Delivery) { d.Print.UnreadAfter = f.clock.Now().AddDate(1, 0, 1) }},
	} {
		d := unread("refused")
		tt.edit(&d)
		var inv *InvalidError
		if _, err := f.s.Deliver(ctx, f.sender.ID, d); !errors.As(err, &inv) || inv.Field != "print.unreadAfter" {
			t.Errorf("unreadAfter %s: %v", d.Print.UnreadAfter, err)
		}
	}
	if st, err := f.s.PrintStatus(ctx); err != nil || st.Queued != 0 {
		t.Errorf("status while waiting: %+v, %v", st, err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := mb.Letter(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteLetters(ctx, []string{ids[1]}); err != nil {
		t.Fatal(err)
	}
	// Not yet: nothing.
	f.clock.Advance(71 * time.Hour)
	if n, err := f.s.QueueUnread(ctx); n != 0 || err != nil {
		t.Errorf("QueueUnread before the time = %d, %v", n, err)
	}
	f.clock.Advance(time.Hour)
	if n, err := f.s.QueueUnread(ctx); n != 1 || err != nil {
		t.Fatalf("QueueUnread = %d, %v", n, err)
	}
	if n, err := f.s.QueueUnread(ctx); n != 0 || err != nil {
		t.Errorf("QueueUnread again = %d, %v", n, err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, ids[2]); err != nil || st.Status != "queued-for-print" {
		t.Errorf("status of the unread letter = %+v, %v", st, err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, ids[0]); err != nil || st.Status != "read" {
		t.Errorf("status of the read letter = %+v, %v", st, err)
	}
	f.s.view(ctx, func(tx storage.Tx) error {
		for _, id := range ids[:2] {
			if _, err := tx.Print().Get(id); !errors.Is(err, ErrNotFound) {
				t.Errorf("copy of %s after read or delete: %v", id, err)
			}
		}
		return nil
	})
	b, err := f.s.ExportPrint(ctx, key)
	if err != nil || len(b.Letters) != 1 || b.Letters[0].ID != ids[2] || b.Letters[0].SenderReference != "unread" {
		t.Fatalf("export = %+v, %v", b.Letters, err)
	}
	if _, err := f.s.PrintDone(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, ids[2]); err != nil || st.Status != "printed" {
		t.Errorf("status after done = %+v, %v", st, err)
	}
	got := strings.Join(eventTypes(t, f.s, f.sender.ID), ", ")
	want := "delivered read, delivered deleted, delivered unread, deleted deleted, queued-for-print unread, printed unread"
	if got != want {
		t.Errorf("events: %s\nwant %s", got, want)
	}
}

// TestPrintScheduled: a letter to print with notBefore waits, sealed,
// with the status "scheduled" and no event, until QueueUnread queues it
// at that time with its event; its sender may withdraw it until then;
// a repeat must have the same notBefore. With unread-after, the letter
// reaches the mailbox at notBefore and is printed if unread at
// unreadAfter, which must come after.
func TestPrintScheduled(t *testing.T) {
	f := newFixture(t)
	defer closeTestStore(t, f.s)
	ctx := context.Background()
	mustPrintKey(t, f.s)
	nobody := testNID(t, 7)
	at := f.clock.Now().Add(2 * time.Hour).Truncate(time.Second)
	scheduled := func(ref string) Delivery {
		d := printDelivery(nobody, ref)
		d.NotBefore = at
		return d
	}
	res, err := f.s.Deliver(ctx, f.sender.ID, scheduled("later"))
	if err != nil || res.Letter.Status != "scheduled" || !res.Letter.DeliveredAt.Equal(at) || len(res.Receipt.Payload) != 0 {
		t.Fatalf("Deliver scheduled for print = %+v, %v", res, err)
	}
	if again, err := f.s.Deliver(ctx, f.sender.ID, scheduled("later")); err != nil || !again.Repeated || again.Letter.ID != res.Letter.ID {
		t.Errorf("repeat = %+v, %v", again, err)
	}
	sooner := scheduled("later")
	sooner.NotBefore = at.Add(-time.Hour)
	if _, err := f.s.Deliver(ctx, f.sender.ID, sooner); !errors.Is(err, ErrDuplicateReference) {
		t.Errorf("repeat with another notBefore: %v", err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, res.Letter.ID); err != nil || st.Status != "scheduled" || !st.DeliveredAt.Equal(at) {
		t.Errorf("status while scheduled = %+v, %v", st, err)
	}
	withdrawn, err := f.s.Deliver(ctx, f.sender.ID, scheduled("withdrawn"))
	if err != nil {
		t.Fatal(err)
	}
	other := mustSender(t, f.s, "Andenby Kommune", "29190925", SenderPublic)
	if err := f.s.WithdrawScheduled(ctx, other.ID, withdrawn.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender withdraws: %v", err)
	}
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, withdrawn.Letter.ID); err != nil {
		t.Fatalf("withdraw: %v", err)
	}
	if _, err := f.s.LetterStatus(ctx, f.sender.ID, withdrawn.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("status after withdrawal: %v", err)
	}
	if st, err := f.s.PrintStatus(ctx); err != nil || st.Queued != 0 {
		t.Errorf("print queue while scheduled: %+v, %v", st, err)
	}
	if evs := eventTypes(t, f.s, f.sender.ID); len(evs) != 0 {
		t.Errorf("events while scheduled: %v", evs)
	}
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Errorf("while scheduled: %v", err)
	}

	// With unread-after: unreadAfter must come after notBefore.
	digital := func(ref string, unreadAfter time.Time) Delivery {
		d := printDelivery(f.nid, ref)
		d.NotBefore, d.Print.When, d.Print.UnreadAfter = at, PrintUnreadAfter, unreadAfter
		return d
	}
	var inv *InvalidError
	if _, err := f.s.Deliver(ctx, f.sender.ID, digital("too-soon", at)); !errors.As(err, &inv) || inv.Field != "print.unreadAfter" {
		t.Errorf("unreadAfter at notBefore: %v", err)
	}
	mailbox, err := f.s.Deliver(ctx, f.sender.ID, digital("mailbox", at.Add(24*time.Hour)))
	if err != nil || mailbox.Letter.Status != "scheduled" {
		t.Fatalf("Deliver scheduled with unread-after = %+v, %v", mailbox, err)
	}

	// Withdrawn while scheduled, its copy goes with it.
	gone, err := f.s.Deliver(ctx, f.sender.ID, digital("withdrawn-mailbox", at.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, gone.Letter.ID); err != nil {
		t.Fatal(err)
	}
	f.s.view(ctx, func(tx storage.Tx) error {
		if _, err := tx.Print().Get(gone.Letter.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("copy of a withdrawn letter: %v", err)
		}
		return nil
	})
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Errorf("scheduled with unread-after: %v", err)
	}

	f.clock.Set(at.Add(-time.Minute))
	if n, err := f.s.QueueUnread(ctx); n != 0 || err != nil {
		t.Errorf("QueueUnread before notBefore = %d, %v", n, err)
	}
	f.clock.Set(at)
	if n, err := f.s.QueueUnread(ctx); n != 1 || err != nil {
		t.Fatalf("QueueUnread at notBefore = %d, %v", n, err)
	}
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, res.Letter.ID); !errors.Is(err, ErrNotScheduled) {
		t.Errorf("withdraw once queued: %v", err)
	}
	if st, err := f.s.LetterStatus(ctx, f.sender.ID, res.Letter.ID); err != nil || st.Status != "queued-for-print" {
		t.Errorf("status at notBefore = %+v, %v", st, err)
	}
	if n, err := f.s.ReleaseScheduled(ctx); n != 1 || err != nil {
		t.Fatalf("ReleaseScheduled = %d, %v", n, err)
	}
	f.clock.Set(at.Add(24 * time.Hour))
	if n, err := f.s.QueueUnread(ctx); n != 1 || err != nil {
		t.Fatalf("QueueUnread at unreadAfter = %d, %v", n, err)
	}
	if st, err := f.s.PrintStatus(ctx); err != nil || st.Queued != 2 {
		t.Errorf("print queue = %+v, %v", st, err)
	}
	want := []string{"queued-for-print later", "delivered mailbox", "queued-for-print mailbox"}
	if evs := eventTypes(t, f.s, f.sender.ID); !slices.Equal(evs, want) {
		t.Errorf("events %v, want %v", evs, want)
	}
	if err := f.s.CheckInvariants(ctx); err != nil {
		t.Error(err)
	}
}
