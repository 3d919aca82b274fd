package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// TestConcurrentDeliveries: many senders at once, each with its own
// references; every delivery succeeds and is stored exactly once.
func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	const senders, each = 32, 20
	f := newFixture(t)
	s := f.s
	recipients := []NationalID{f.nid}
	for i := 2; i <= 4; i++ {
		nid := testNID(t, i)
		mustResident(t, s, nid, fmt.Sprintf("Resident %d", i))
		recipients = append(recipients, nid)
	}
	start := s.commits.Load()

	ids := make([][]string, senders)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				d := testDelivery(recipients[(g+i)%len(recipients)], fmt.Sprintf("g%02d-%02d", g, i))
				res, err := s.Deliver(context.Background(), f.sender.ID, d)
				if err != nil {
					t.Errorf("Deliver %s: %v", d.SenderReference, err)
					return
				}
				if res.Repeated {
					t.Errorf("Deliver %s: a first delivery is Repeated", d.SenderReference)
				}
				ids[g] = append(ids[g], res.Letter.ID)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d deliveries in %d commits", senders*each, s.commits.Load()-start)

	counts := countKeys(t, s)
	for _, b := range []string{"letters", "references", "mailbox", "sender-letters"} {
		if counts[b] != senders*each {
			t.Errorf("%s has %d keys, want %d", b, counts[b], senders*each)
		}
	}
	if counts["documents"] != senders*each {
		t.Errorf("documents has %d keys, want %d", counts["documents"], senders*each)
	}
	// Each reference names the letter its delivery returned: in the
	// embedded engine's references bucket, or the cluster's index
	// through the engine.
	if !onEmbedded(s) {
		err := s.view(context.Background(), func(tx storage.Tx) error {
			for g := range senders {
				for i, id := range ids[g] {
					ref := fmt.Sprintf("g%02d-%02d", g, i)
					if got, err := tx.Letters().ByReference(f.sender.ID, ref); err != nil || got != id {
						t.Errorf("reference %s names %q (%v), Deliver returned %q", ref, got, err, id)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	} else if err := s.testDB(t).View(func(tx *bolt.Tx) error {
		refs := tx.Bucket(bucketReferences)
		for g := range senders {
			for i, id := range ids[g] {
				ref := fmt.Sprintf("g%02d-%02d", g, i)
				if got := string(refs.Get(referenceKey(f.sender.ID, ref))); got != id {
					t.Errorf("reference %s names %q, Deliver returned %q", ref, got, id)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Every resident can read all of theirs.
	total := 0
	for _, nid := range recipients {
		mb := mustLogin(t, s, nid, testPassword)
		inbox, err := mb.Inbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += len(inbox)
	}
	if total != senders*each {
		t.Errorf("the inboxes hold %d letters, want %d", total, senders*each)
	}
}

// TestConcurrentSameReference: the same reference at once from many
// goroutines is one letter. With the same content every caller gets its
// id; with different content one wins and the others are refused.
func TestConcurrentSameReference(t *testing.T) {
	t.Parallel()
	for _, sameContent := range []bool{true, false} {
		t.Run(fmt.Sprintf("sameContent=%v", sameContent), func(t *testing.T) {
			t.Parallel()
			const n = 32
			f := newFixture(t)
			s := f.s
			type outcome struct {
				res DeliveryResult
				err error
				d   Delivery
			}
			out := make([]outcome, n)
			var wg sync.WaitGroup
			for g := range n {
				wg.Go(func() {
					d := testDelivery(f.nid, "same-ref")
					if !sameContent {
						d.Subject = fmt.Sprintf("Version %d", g)
					}
					res, err := s.Deliver(context.Background(), f.sender.ID, d)
					out[g] = outcome{res, err, d}
				})
			}
			wg.Wait()

			if n := countKeys(t, s)["letters"]; n != 1 {
				t.Fatalf("%d letters stored, want 1", n)
			}
			var winner *outcome
			for i := range out {
				o := &out[i]
				switch {
				case o.err == nil && !o.res.Repeated:
					if winner != nil {
						t.Fatalf("two first deliveries: %s and %s", winner.res.Letter.ID, o.res.Letter.ID)
					}
					winner = o
				case o.err == nil && o.res.Repeated:
					if !sameContent {
						t.Errorf("goroutine %d: other content was a repeat", i)
					}
				case errors.Is(o.err, ErrDuplicateReference):
					if sameContent {
						t.Errorf("goroutine %d: the same content was a conflict", i)
					}
				default:
					t.Errorf("goroutine %d: %v", i, o.err)
				}
			}
			if winner == nil {
				t.Fatal("no first delivery")
			}
			for i, o := range out {
				if o.err == nil && o.res.Letter.ID != winner.res.Letter.ID {
					t.Errorf("goroutine %d got letter %s, want %s", i, o.res.Letter.ID, winner.res.Letter.ID)
				}
			}
			// What is stored is the winner's content.
			mb := mustLogin(t, s, f.nid, testPassword)
			l, err := mb.Letter(context.Background(), winner.res.Letter.ID)
			if err != nil || l.Subject != winner.d.Subject {
				t.Errorf("stored letter %q, %v; want the winner's %q", l.Subject, err, winner.d.Subject)
			}
			if p, err := s.VerifyReceipt(winner.res.Receipt); err != nil || p.ContentHash != ContentHash(&winner.d) {
				t.Errorf("winner's receipt %+v, %v", p, err)
			}
		})
	}
}

// holdCommitter makes the committer wait, after taking the first delivery
// of its next batch, until n deliveries have been queued in all. The
// deliveries then go into one batch: deterministic group commit, no timing.
func holdCommitter(s *Store, n int) {
	var queued sync.WaitGroup
	queued.Add(n)
	s.hookQueued = queued.Done
	s.hookBatch = queued.Wait
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()
	const n = 32
	f := newFixture(t)
	s := f.s
	holdCommitter(s, n)
	start := s.commits.Load()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Go(func() {
			_, errs[g] = s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, fmt.Sprintf("batch-%d", g)))
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("delivery %d: %v", g, err)
		}
	}
	commits := s.commits.Load() - start
	if commits >= n {
		t.Errorf("%d deliveries took %d commits: no group commit", n, commits)
	}
	if commits != 1 {
		t.Errorf("%d deliveries queued together took %d commits, want 1", n, commits)
	}
	if got := countKeys(t, s)["letters"]; got != n {
		t.Errorf("%d letters stored, want %d", got, n)
	}
	// All of one batch share the commit's time.
	mb := mustLogin(t, s, f.nid, testPassword)
	inbox, err := mb.Inbox(context.Background())
	if err != nil || len(inbox) != n {
		t.Fatalf("inbox %d letters, %v", len(inbox), err)
	}
	for _, l := range inbox {
		if !l.DeliveredAt.Equal(inbox[0].DeliveredAt) {
			t.Errorf("letter %s delivered at %v, another at %v", l.ID, l.DeliveredAt, inbox[0].DeliveredAt)
		}
	}
}

// TestGroupCommitMixed: in one batch, refusals and repeats do not keep the
// other letters from being stored, and store nothing themselves.
func TestGroupCommitMixed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	b := mustResident(t, s, testNID(t, 2), "Bo Bendtsen")
	if _, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "old")); err != nil {
		t.Fatal(err)
	}
	// Four deliveries pass Deliver's own checks, then wait in one batch.
	// Before the batch commits, b becomes deceased: the letter to b is
	// refused by the commit's checks, the others are stored.
	const n = 4
	var queued sync.WaitGroup
	queued.Add(n)
	s.hookQueued = queued.Done
	s.hookBatch = func() {
		queued.Wait()
		setResidentStatus(t, s, b.ID, ResidentDeceased)
	}
	deliveries := []Delivery{
		testDelivery(f.nid, "new-1"),
		testDelivery(b.NationalID, "to-b"),
		testDelivery(f.nid, "new-2"),
		testDelivery(f.nid, "new-1"), // the same as the first: a repeat within the batch
	}
	start := s.commits.Load()
	type outcome struct {
		res DeliveryResult
		err error
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	for i, d := range deliveries {
		wg.Go(func() {
			res, err := s.Deliver(context.Background(), f.sender.ID, d)
			out[i] = outcome{res, err}
		})
	}
	wg.Wait()
	if c := s.commits.Load() - start; c != 1 {
		t.Errorf("%d commits, want 1", c)
	}
	if !errors.Is(out[1].err, ErrRecipientNotDigital) {
		t.Errorf("letter to the deceased: %+v, %v; want ErrRecipientNotDigital", out[1].res, out[1].err)
	}
	for _, i := range []int{0, 2, 3} {
		if out[i].err != nil {
			t.Errorf("delivery %d: %v", i, out[i].err)
		}
	}
	if out[0].res.Letter.ID != out[3].res.Letter.ID || out[0].res.Repeated == out[3].res.Repeated {
		t.Errorf("the two new-1 deliveries: %+v and %+v", out[0].res, out[3].res)
	}
	counts := countKeys(t, s)
	if counts["letters"] != 3 || counts["documents"] != 3 || counts["mailbox"] != 3 || counts["references"] != 3 {
		t.Errorf("keys per bucket %v, want 3 letters", counts)
	}
	delivers := 0
	for _, a := range auditActions(t, s) {
		if a == "deliver" {
			delivers++
		}
	}
	if delivers != 3 {
		t.Errorf("%d deliver entries in the audit log, want 3", delivers)
	}
}

// TestClose: deliveries after Close are refused with ErrClosed; Close
// waits for the ones in flight, which are stored.
func TestClose(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	path := storePath(s)

	// Hold one delivery in the committer.
	release := make(chan struct{})
	queued := make(chan struct{})
	s.hookQueued = func() { close(queued) }
	s.hookBatch = func() { <-release }
	type outcome struct {
		res DeliveryResult
		err error
	}
	inflight := make(chan outcome, 1)
	go func() {
		res, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "in-flight"))
		inflight <- outcome{res, err}
	}()
	<-queued

	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Wait until Close has begun: it refuses new deliveries from then on.
	for {
		s.mu.RLock()
		c := s.closed
		s.mu.RUnlock()
		if c {
			break
		}
		runtime.Gosched()
	}
	if _, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "too-late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver while closing: %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with a delivery in flight", err)
	default:
	}
	close(release)
	o := <-inflight
	if o.err != nil {
		t.Fatalf("the delivery in flight: %v", o.err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "after")); !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver after Close: %v, want ErrClosed", err)
	}
	// Closing twice is harmless.
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// The delivery that returned is there after reopening.
	s = openTestStoreAt(t, path, testOptions(f.clock))
	st, err := s.LetterStatus(context.Background(), f.sender.ID, o.res.Letter.ID)
	if err != nil || st.Status != "delivered" {
		t.Errorf("after reopening: %+v, %v", st, err)
	}
	if n := countKeys(t, s)["letters"]; n != 1 {
		t.Errorf("%d letters after reopening, want 1", n)
	}
}
