package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestBlockSender: a resident blocks a private sender who wrote to them;
// the block takes effect seven days later (lookups and deliveries before
// that go through); then that sender's lookups say not digital and its
// deliveries are refused, while other senders are unaffected; a public
// sender cannot be blocked; withdrawing the block lifts it; audited.
func TestBlockSender(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	shop := mustSender(t, f.s, "Webshoppen ApS", "25313763", SenderPrivate)
	other := mustSender(t, f.s, "Elselskabet A/S", "10150817", SenderPrivate)
	for _, snd := range []Sender{shop, f.sender} {
		if _, err := f.s.Deliver(context.Background(), snd.ID, testDelivery(f.nid, "first-"+snd.ID)); err != nil {
			t.Fatal(err)
		}
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if _, err := mb.BlockSender(context.Background(), f.sender.ID); !errors.Is(err, ErrPublicSender) {
		t.Errorf("blocking a public sender: %v", err)
	}
	if _, err := mb.BlockSender(context.Background(), other.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("blocking a sender who never wrote: %v", err)
	}
	block, err := mb.BlockSender(context.Background(), shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !block.Effective.Equal(f.clock.Now().Add(SenderBlockNotice)) {
		t.Errorf("block effective %s, want seven days on", block.Effective)
	}
	senders, err := mb.Senders(context.Background())
	if err != nil || len(senders) != 2 {
		t.Fatalf("Senders = %+v, %v", senders, err)
	}
	for _, s := range senders {
		if (s.Sender.ID == shop.ID) != (s.Block != nil) || s.Letters != 1 {
			t.Errorf("sender line %+v", s)
		}
	}
	// Within the notice the sender still reaches the resident.
	f.clock.Advance(SenderBlockNotice - time.Minute)
	if digital, _ := f.s.IsDigitalFor(context.Background(), shop.ID, f.nid); !digital {
		t.Error("not digital for the sender during the notice")
	}
	if _, err := f.s.Deliver(context.Background(), shop.ID, testDelivery(f.nid, "during-notice")); err != nil {
		t.Errorf("delivery during the notice: %v", err)
	}
	f.clock.Advance(time.Minute)
	if digital, _ := f.s.IsDigitalFor(context.Background(), shop.ID, f.nid); digital {
		t.Error("digital for a blocked sender")
	}
	if _, err := f.s.Deliver(context.Background(), shop.ID, testDelivery(f.nid, "blocked")); !errors.Is(err, ErrSenderBlocked) {
		t.Errorf("delivery from a blocked sender: %v, want ErrSenderBlocked", err)
	}
	if digital, _ := f.s.IsDigitalFor(context.Background(), other.ID, f.nid); !digital {
		t.Error("another private sender is affected")
	}
	if _, err := f.s.Deliver(context.Background(), other.ID, testDelivery(f.nid, "other")); err != nil {
		t.Errorf("delivery from another sender: %v", err)
	}
	if err := mb.UnblockSender(context.Background(), shop.ID); err != nil {
		t.Fatal(err)
	}
	if err := mb.UnblockSender(context.Background(), shop.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("unblocking twice: %v", err)
	}
	if _, err := f.s.Deliver(context.Background(), shop.ID, testDelivery(f.nid, "after")); err != nil {
		t.Errorf("delivery after the block was withdrawn: %v", err)
	}
	log, _ := f.s.AuditLog(context.Background())
	var got []string
	for _, e := range log {
		if e.Object == "sender:"+shop.ID && e.Actor != "operator" {
			got = append(got, e.Action)
		}
	}
	if len(got) != 2 || got[0] != "block-sender" || got[1] != "unblock-sender" {
		t.Errorf("audited %v", got)
	}
}

// TestSendersBlockState: the list of senders says whether each block is
// in effect yet, by the same rule as deliveries; a blocked sender whose
// letters are all gone stays listed, so the block can still be withdrawn;
// another resident sees neither the sender nor the block, and can neither
// block that sender nor withdraw the block.
func TestSendersBlockState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	shop := mustSender(t, f.s, "Webshoppen ApS", "25313763", SenderPrivate)
	res, err := f.s.Deliver(ctx, shop.ID, testDelivery(f.nid, "first"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	block, err := mb.BlockSender(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	state := func() (MailboxSender, bool) {
		t.Helper()
		senders, err := mb.Senders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range senders {
			if s.Sender.ID == shop.ID {
				return s, true
			}
		}
		return MailboxSender{}, false
	}
	if s, ok := state(); !ok || s.Block == nil || s.Blocked || s.Letters != 1 {
		t.Fatalf("during the notice: %+v", s)
	}
	f.clock.Advance(block.Effective.Sub(f.clock.Now()))
	if s, _ := state(); !s.Blocked {
		t.Errorf("at the effective time, the block is not in effect: %+v", s)
	}
	if _, err := f.s.Deliver(ctx, shop.ID, testDelivery(f.nid, "refused")); !errors.Is(err, ErrSenderBlocked) {
		t.Errorf("the list says blocked, a delivery: %v", err)
	}
	// The sender's only letter goes; the block stays listed.
	deleteLetterNow(t, f.s, res.Letter.ID)
	if s, ok := state(); !ok || s.Letters != 0 || !s.Blocked {
		t.Errorf("a blocked sender without letters: %+v, listed %v", s, ok)
	}

	mustResident(t, f.s, testNID(t, 9), "Bo")
	bo := mustLogin(t, f.s, testNID(t, 9), testPassword)
	defer bo.Close()
	if list, err := bo.Senders(ctx); err != nil || len(list) != 0 {
		t.Errorf("another resident's senders: %+v, %v", list, err)
	}
	if _, err := bo.BlockSender(ctx, shop.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident blocks a sender who never wrote to them: %v", err)
	}
	if err := bo.UnblockSender(ctx, shop.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another resident withdraws the block: %v", err)
	}
	if err := mb.UnblockSender(ctx, shop.ID); err != nil {
		t.Fatal(err)
	}
	if s, ok := state(); ok {
		t.Errorf("a sender without letters or block is listed: %+v", s)
	}
}
