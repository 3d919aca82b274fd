package store

import (
	"context"
	"testing"
	"time"
)

// TestEvents: a sender's feed has its letters' changes in order —
// delivered, read (the first opening only, of a letter with an opening
// receipt), paid-marked, made inaccessible — and none of another
// sender's; the cursor pages it; events older than KeepEvents are pruned.
func TestEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := testDelivery(f.nid, "faktura-7")
	d.Type = TypeInvoice
	d.OpeningReceipt = true
	inv, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	other := mustSender(t, f.s, "Elselskabet", "25313763", SenderPrivate)
	if _, err := f.s.Deliver(context.Background(), other.ID, testDelivery(f.nid, "el-1")); err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	for range 2 {
		if _, err := mb.Letter(context.Background(), inv.Letter.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := mb.MarkPaid(context.Background(), inv.Letter.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.MakeInaccessible(context.Background(), inv.Letter.ID, "Retskendelse", "Retten i Aarhus"); err != nil {
		t.Fatal(err)
	}
	evs, next, err := f.s.Events(context.Background(), f.sender.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{EventDelivered, EventRead, EventPaidMarked, EventMadeInaccessible}
	if len(evs) != len(want) {
		t.Fatalf("events %+v, want %v", evs, want)
	}
	for i, e := range evs {
		if e.Type != want[i] || e.LetterID != inv.Letter.ID || e.SenderReference != "faktura-7" || e.SenderID != f.sender.ID {
			t.Errorf("event %d: %+v, want %s", i, e, want[i])
		}
	}
	if more, n2, err := f.s.Events(context.Background(), f.sender.ID, next, 10); err != nil || len(more) != 0 || n2 != next {
		t.Errorf("after the last: %+v, %q, %v", more, n2, err)
	}
	first, n1, err := f.s.Events(context.Background(), f.sender.ID, "", 2)
	if err != nil || len(first) != 2 {
		t.Fatal(err)
	}
	rest, _, err := f.s.Events(context.Background(), f.sender.ID, n1, 10)
	if err != nil || len(rest) != 2 || rest[0].Type != EventPaidMarked {
		t.Errorf("the second page: %+v, %v", rest, err)
	}
	for _, bad := range []string{"x", "-1"} {
		if _, _, err := f.s.Events(context.Background(), f.sender.ID, bad, 10); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
	if _, _, err := f.s.Events(context.Background(), f.sender.ID, "", 1001); err == nil {
		t.Error("a limit of 1001 accepted")
	}
	f.clock.Advance(KeepEvents + time.Hour)
	if n, err := f.s.PruneEvents(context.Background()); err != nil || n != 5 {
		t.Errorf("PruneEvents = %d, %v; want 5 (4 and the other sender's)", n, err)
	}
}

// TestEventsOpeningReceipt: without an opening receipt the first opening
// is no event, though the sender's status says "read"; with one, it is
// one event however often the letter is opened.
func TestEventsOpeningReceipt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	plain, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "plain"))
	if err != nil {
		t.Fatal(err)
	}
	d := testDelivery(f.nid, "with-receipt")
	d.OpeningReceipt = true
	asked, err := f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	for range 2 {
		for _, id := range []string{plain.Letter.ID, asked.Letter.ID} {
			if _, err := mb.Letter(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var reads []string
	for _, e := range evs {
		if e.Type == EventRead {
			reads = append(reads, e.SenderReference)
		}
	}
	if len(reads) != 1 || reads[0] != "with-receipt" {
		t.Errorf("read events for %v, want [with-receipt] only", reads)
	}
	for _, id := range []string{plain.Letter.ID, asked.Letter.ID} {
		if st, err := f.s.LetterStatus(ctx, f.sender.ID, id); err != nil || st.Status != "read" {
			t.Errorf("status of %s = %+v, %v; want read", id, st, err)
		}
	}
}
