package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// scheduledDelivery is testDelivery scheduled for notBefore.
func scheduledDelivery(nid NationalID, ref string, notBefore time.Time) Delivery {
	d := testDelivery(nid, ref)
	d.NotBefore = notBefore
	return d
}

// TestScheduledLetter: a letter with a notBefore in the future is stored
// but not delivered: its sender's status says scheduled with the time it
// will be delivered at; the resident's inbox, counts, due list, search,
// export and senders do not show it, a direct request for it, its
// documents or its receipt is ErrNotFound; there is no receipt, no
// "delivered" event and no notification. The release before its time does
// nothing; at its time it delivers it as of notBefore: the receipt (which
// verifies), the event and the inbox; the notification is queued then. A
// repeat of the delivery answers scheduled, then delivered with the
// receipt; a repeat with another notBefore is a duplicate reference.
func TestScheduledLetter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.s.SetNotificationPreferences(ctx, f.resident.ID, NotificationPreferences{Email: "anna@example.dk", EmailOn: true}); err != nil {
		t.Fatal(err)
	}
	at := f.clock.Now().Add(90 * time.Minute).Truncate(time.Minute)
	d := scheduledDelivery(f.nid, "planlagt-1", at)
	res, err := f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	if res.Letter.Status != "scheduled" || !res.Letter.DeliveredAt.Equal(at) || len(res.Receipt.Payload) != 0 || res.Repeated {
		t.Fatalf("scheduling: %+v, want scheduled at %s without a receipt", res, at)
	}
	id := res.Letter.ID

	invisible := func(when string) {
		t.Helper()
		mb := mustLogin(t, f.s, f.nid, testPassword)
		defer mb.Close()
		if page, _, err := mb.InboxPage(ctx, "", 50); err != nil || len(page) != 0 {
			t.Errorf("%s: inbox page %v, %v; want empty", when, page, err)
		}
		if inbox, err := mb.Inbox(ctx); err != nil || len(inbox) != 0 {
			t.Errorf("%s: inbox %v, %v; want empty", when, inbox, err)
		}
		if n, err := mb.DueCount(ctx); err != nil || n != 0 {
			t.Errorf("%s: due count %d, %v; want 0", when, n, err)
		}
		folders, err := mb.Folders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, fo := range folders {
			if fo.Letters != 0 || fo.Unread != 0 {
				t.Errorf("%s: folder %s counts %d letters, %d unread; want none", when, fo.ID, fo.Letters, fo.Unread)
			}
		}
		if r, err := mb.Search(ctx, SearchQuery{Text: "boligstøtte", Limit: 50}); err != nil || len(r.Hits) != 0 {
			t.Errorf("%s: search found %v, %v; want nothing", when, r.Hits, err)
		}
		if snd, err := mb.Senders(ctx); err != nil || len(snd) != 0 {
			t.Errorf("%s: senders %v, %v; want none", when, snd, err)
		}
		if _, err := mb.Letter(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: opening the letter: %v, want ErrNotFound", when, err)
		}
		if _, err := mb.Document(ctx, id, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: its document: %v, want ErrNotFound", when, err)
		}
		if _, err := mb.Receipt(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: its receipt: %v, want ErrNotFound", when, err)
		}
		if err := mb.MarkRead(ctx, []string{id}, true); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: marking it read: %v, want ErrNotFound", when, err)
		}
		if err := mb.DeleteLetters(ctx, []string{id}); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: deleting it: %v, want ErrNotFound", when, err)
		}
		var export discardCounter
		if sum, err := mb.Export(ctx, &export, "test", t.TempDir()); err != nil || sum.Letters != 0 {
			t.Errorf("%s: export of %d letters, %v; want none", when, sum.Letters, err)
		}
	}
	invisible("scheduled")
	st, err := f.s.LetterStatus(ctx, f.sender.ID, id)
	if err != nil || st.Status != "scheduled" || !st.DeliveredAt.Equal(at) || !st.ReadAt.IsZero() {
		t.Errorf("status %+v, %v; want scheduled at %s", st, err, at)
	}
	if evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100); err != nil || len(evs) != 0 {
		t.Errorf("events before the release: %v, %v; want none", evs, err)
	}
	if ns := pendingNotifications(t, f.s, f.resident.ID); ns != 0 {
		t.Errorf("%d notifications before the release, want none", ns)
	}
	again, err := f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil || !again.Repeated || again.Letter.Status != "scheduled" || again.Letter.ID != id {
		t.Errorf("repeat while scheduled: %+v, %v", again, err)
	}
	if _, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "planlagt-1", at.Add(time.Hour))); !errors.Is(err, ErrDuplicateReference) {
		t.Errorf("repeat with another notBefore: %v, want ErrDuplicateReference", err)
	}
	if _, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "planlagt-1")); !errors.Is(err, ErrDuplicateReference) {
		t.Errorf("repeat without notBefore: %v, want ErrDuplicateReference", err)
	}

	f.clock.Set(at.Add(-time.Second))
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 0 {
		t.Fatalf("release a second early: %d, %v; want 0", n, err)
	}
	invisible("a second early")
	f.clock.Set(at.Add(20 * time.Second))
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 1 {
		t.Fatalf("release at the time: %d, %v; want 1", n, err)
	}
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 0 {
		t.Fatalf("release again: %d, %v; want 0", n, err)
	}
	st, err = f.s.LetterStatus(ctx, f.sender.ID, id)
	if err != nil || st.Status != "delivered" || !st.DeliveredAt.Equal(at) {
		t.Errorf("status after the release %+v, %v; want delivered at %s", st, err, at)
	}
	again, err = f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil || !again.Repeated || again.Letter.Status != "delivered" || len(again.Receipt.Payload) == 0 {
		t.Fatalf("repeat after the release: %+v, %v; want the receipt", again, err)
	}
	p, err := f.s.VerifyReceipt(again.Receipt)
	if err != nil || !p.DeliveredAt.Equal(at) || p.LetterID != id || p.Recipient != f.nid.Number {
		t.Errorf("receipt %+v, %v; want delivered at %s", p, err, at)
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 100)
	if err != nil || len(evs) != 1 || evs[0].Type != EventDelivered || evs[0].LetterID != id || !evs[0].At.Equal(at) {
		t.Errorf("events after the release: %+v, %v; want one delivered at %s", evs, err, at)
	}
	if ns := pendingNotifications(t, f.s, f.resident.ID); ns != 1 {
		t.Errorf("%d notifications after the release, want 1", ns)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	page, _, err := mb.InboxPage(ctx, "", 50)
	if err != nil || len(page) != 1 || page[0].ID != id || !page[0].DeliveredAt.Equal(at) || !page[0].ReadAt.IsZero() {
		t.Fatalf("inbox after the release: %+v, %v", page, err)
	}
	if l, err := mb.Letter(ctx, id); err != nil || l.Subject != d.Subject {
		t.Errorf("opening the released letter: %+v, %v", l, err)
	}
}

// discardCounter is an io.Writer that keeps nothing.
type discardCounter struct{ n int64 }

func (d *discardCounter) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

// pendingNotifications counts a resident's notifications in the outbox.
func pendingNotifications(t *testing.T, s *Store, residentID string) int {
	t.Helper()
	var n int
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		ns, err := tx.Outbox().OfResident(residentID)
		n = len(ns)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestScheduledCatchUp: after a downtime (the store closed and opened
// again hours later), one release delivers every letter that came due
// meanwhile, each as of its own notBefore, in order, and leaves the one
// still ahead scheduled; a notBefore that has passed at the delivery
// delivers at once; more than a year ahead is refused, storing nothing.
func TestScheduledCatchUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	start := f.clock.Now()
	var ids []string
	for i, ahead := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour, 30 * time.Hour} {
		r, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "catch-up-"+string(rune('a'+i)), start.Add(ahead)))
		if err != nil || r.Letter.Status != "scheduled" {
			t.Fatalf("schedule %d: %+v, %v", i, r, err)
		}
		ids = append(ids, r.Letter.ID)
	}
	past, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "in-the-past", start.Add(-time.Hour)))
	if err != nil || past.Letter.Status != "delivered" || !past.Letter.DeliveredAt.Equal(start) || len(past.Receipt.Payload) == 0 {
		t.Fatalf("a notBefore in the past: %+v, %v; want delivered now with a receipt", past, err)
	}
	before := digest(t, f.s)
	_, err = f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "too-far", start.AddDate(1, 0, 1)))
	var invalid *InvalidError
	if !errors.As(err, &invalid) || invalid.Field != "notBefore" {
		t.Fatalf("more than a year ahead: %v, want invalid notBefore", err)
	}
	if digest(t, f.s) != before {
		t.Fatal("a refused schedule stored something")
	}
	if _, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "a-year", start.AddDate(1, 0, 0))); err != nil {
		t.Fatalf("exactly a year ahead: %v", err)
	}

	// Down for five hours.
	path := storePath(f.s)
	closeTestStore(t, f.s)
	f.clock.Advance(5 * time.Hour)
	s := openTestStoreAt(t, path, testOptions(f.clock))
	n, err := s.ReleaseScheduled(ctx)
	if err != nil || n != 3 {
		t.Fatalf("the catch-up released %d, %v; want 3", n, err)
	}
	for i, want := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		st, err := s.LetterStatus(ctx, f.sender.ID, ids[i])
		if err != nil || st.Status != "delivered" || !st.DeliveredAt.Equal(start.Add(want)) {
			t.Errorf("letter %d: %+v, %v; want delivered at %s", i, st, err, start.Add(want))
		}
	}
	if st, err := s.LetterStatus(ctx, f.sender.ID, ids[3]); err != nil || st.Status != "scheduled" {
		t.Errorf("the letter still ahead: %+v, %v; want scheduled", st, err)
	}
	evs, _, err := s.Events(ctx, f.sender.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range evs {
		order = append(order, e.LetterID)
	}
	if want := []string{past.Letter.ID, ids[1], ids[2], ids[0]}; len(order) != len(want) || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
		t.Errorf("delivered events in the order %v, want %v (by notBefore)", order, want)
	}
	mb := mustLogin(t, s, f.nid, testPassword)
	defer mb.Close()
	if page, _, err := mb.InboxPage(ctx, "", 50); err != nil || len(page) != 4 {
		t.Errorf("inbox after the catch-up: %d letters, %v; want 4", len(page), err)
	}
}

// TestWithdrawScheduled: the sender withdraws a scheduled letter before
// its time, and nothing of it remains (its record, sealed key and
// documents; its reference is free again); another sender cannot withdraw
// it or see it; a delivered letter, or one whose time has come, is not
// withdrawn; an account deleted with a scheduled letter leaves nothing of
// it either.
func TestWithdrawScheduled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other := mustSender(t, f.s, "Elselskabet", "25313763", SenderPrivate)
	at := f.clock.Now().Add(24 * time.Hour)
	r, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "withdraw-me", at))
	if err != nil {
		t.Fatal(err)
	}
	id := r.Letter.ID
	if err := f.s.WithdrawScheduled(ctx, other.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender's withdrawal: %v, want ErrNotFound", err)
	}
	if _, err := f.s.LetterStatus(ctx, other.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("another sender's status: %v, want ErrNotFound", err)
	}
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, id); err != nil {
		t.Fatalf("withdraw: %v", err)
	}
	if _, err := f.s.LetterStatus(ctx, f.sender.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("status of the withdrawn letter: %v, want ErrNotFound", err)
	}
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("withdrawing it again: %v, want ErrNotFound", err)
	}
	if err := f.s.view(ctx, func(tx storage.Tx) error {
		if _, err := tx.Letters().Get(id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the withdrawn letter's record: %v, want none", err)
		}
		if has, err := tx.Documents().Has(id, 0); err != nil || has {
			t.Errorf("the withdrawn letter's document: %v, %v; want none", has, err)
		}
		return tx.Letters().Scheduled(at.Add(time.Hour), func(string, string, time.Time) (bool, error) {
			t.Error("the withdrawn letter is still in the index of scheduled letters")
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if got := auditActions(t, f.s); got[len(got)-2] != "schedule" || got[len(got)-1] != "withdraw" {
		t.Errorf("audit log ends %v, want schedule, withdraw", got[len(got)-2:])
	}
	again, err := f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "withdraw-me", at))
	if err != nil || again.Repeated || again.Letter.ID == id {
		t.Errorf("the reference again after the withdrawal: %+v, %v; want a new letter", again, err)
	}
	delivered, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "delivered"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, delivered.Letter.ID); !errors.Is(err, ErrNotScheduled) {
		t.Errorf("withdrawing a delivered letter: %v, want ErrNotScheduled", err)
	}
	f.clock.Set(at)
	if err := f.s.WithdrawScheduled(ctx, f.sender.ID, again.Letter.ID); !errors.Is(err, ErrNotScheduled) {
		t.Errorf("withdrawing at its time (not released yet): %v, want ErrNotScheduled", err)
	}
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 1 {
		t.Fatalf("release: %d, %v", n, err)
	}

	// An account deleted with a scheduled letter: nothing of it is left
	// (the invariants, checked at the end, find no letter of a deleted
	// resident).
	r, err = f.s.Deliver(ctx, f.sender.ID, scheduledDelivery(f.nid, "never-released", at.Add(48*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if err := mb.DeleteMailbox(ctx, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.LetterStatus(ctx, f.sender.ID, r.Letter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the scheduled letter of a deleted account: %v, want ErrNotFound", err)
	}
	f.clock.Set(at.Add(72 * time.Hour))
	if n, err := f.s.ReleaseScheduled(ctx); err != nil || n != 0 {
		t.Errorf("release after the account's deletion: %d, %v; want 0", n, err)
	}
}
