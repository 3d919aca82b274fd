package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/postkasse/postkasse/store/storage"
)

// lostCommit is an engine whose next Update, once armed, commits and then
// reports a failure, as when the connection to the database is lost at
// the commit; its blobLog records the blobs discarded.
type lostCommit struct {
	*blobLog
	armed atomic.Bool
}

func (e *lostCommit) Update(ctx context.Context, fn func(storage.Tx) error) error {
	err := e.blobLog.Update(ctx, fn)
	if err == nil && e.armed.CompareAndSwap(true, false) {
		return errors.New("connection lost at the commit")
	}
	return err
}

// TestBatchCommitLost: a batch whose commit fails after the database
// committed it is tried again letter by letter, and each letter finds
// itself stored. That is the delivery's own result, not a repeat: its
// blobs are the stored letter's and are kept, and every letter opens.
func TestBatchCommitLost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	eng := &lostCommit{blobLog: &blobLog{Engine: s.eng}}
	s.eng = eng
	defer func() { s.eng = eng.Engine }()
	const n = 3
	holdCommitter(s, n)
	eng.armed.Store(true)
	results := make([]DeliveryResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, fmt.Sprintf("lost-%d", i)))
		})
	}
	wg.Wait()
	s.hookQueued, s.hookBatch = nil, nil
	for i := range n {
		if errs[i] != nil || results[i].Repeated {
			t.Errorf("delivery %d: repeated %v, %v; want its own result", i, results[i].Repeated, errs[i])
		}
	}
	eng.mu.Lock()
	discarded := eng.discarded
	eng.mu.Unlock()
	if len(discarded) > 0 {
		t.Errorf("blobs of stored letters discarded: %v", discarded)
	}
	mb := mustLogin(t, s, f.nid, testPassword)
	defer mb.Close()
	for i, r := range results {
		if _, err := mb.Document(context.Background(), r.Letter.ID, 0); err != nil {
			t.Errorf("letter %d: %v", i, err)
		}
	}
}
