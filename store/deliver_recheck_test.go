package store

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// The commit checks the sender again when its record changed after
// Deliver looked at it (apply skips the check only for a byte-equal
// record): a sender revoked while its letters wait in a batch has them
// refused, and nothing is stored.
func TestDeliverSenderRevokedInBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	const n = 3
	var queued sync.WaitGroup
	queued.Add(n)
	s.hookQueued = queued.Done
	s.hookBatch = func() {
		queued.Wait()
		if err := s.RevokeSender(context.Background(), f.sender.ID); err != nil {
			t.Error(err)
		}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, string(rune('a'+i))))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrSenderRevoked) {
			t.Errorf("delivery %d: %v, want ErrSenderRevoked", i, err)
		}
	}
	if c := countKeys(t, s); c["letters"] != 0 || c["mailbox"] != 0 {
		t.Errorf("keys per bucket %v, want no letters", c)
	}
}
