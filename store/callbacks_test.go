package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestCallbackOutboxHasEveryEvent: events of letters delivered at once
// from several goroutines all reach the sender's callback outbox, each
// once; drained in order, the outbox gives exactly the feed; another
// sender's events are in neither; a sender without a callback queues
// nothing.
func TestCallbackOutboxHasEveryEvent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := mustSender(t, f.s, "Region Midtjylland", "29190925", SenderPublic)
	if _, err := f.s.SetCallback(ctx, f.sender.ID, "https://93.184.216.34/cb", CallbackPolicy{}, true); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				for _, snd := range []string{f.sender.ID, other.ID} {
					if _, err := f.s.Deliver(ctx, snd, testDelivery(f.nid, fmt.Sprintf("ref-%d-%d", g, i))); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	feed, _, err := f.s.Events(ctx, f.sender.ID, "", 1000)
	if err != nil || len(feed) != 40 {
		t.Fatalf("feed: %d events, %v", len(feed), err)
	}
	var got []Event
	for {
		d, ok, err := f.s.NextCallback(ctx, f.sender.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if d.URL != "https://93.184.216.34/cb" || d.SenderID != f.sender.ID {
			t.Fatalf("delivery %+v", d)
		}
		got = append(got, d.Event)
		if err := f.s.CallbackDelivered(ctx, d); err != nil {
			t.Fatal(err)
		}
		if len(got) > 100 {
			t.Fatal("the outbox does not empty")
		}
	}
	if len(got) != len(feed) {
		t.Fatalf("the outbox gave %d events, the feed has %d", len(got), len(feed))
	}
	for i := range got {
		if got[i].Seq != feed[i].Seq || got[i].LetterID != feed[i].LetterID || got[i].SenderID != f.sender.ID {
			t.Errorf("event %d: %+v, feed %+v", i, got[i], feed[i])
		}
	}
	if _, ok, _ := f.s.NextCallback(ctx, other.ID); ok {
		t.Error("a sender without a callback has an event to POST")
	}
	cb, err := f.s.CallbackOf(ctx, f.sender.ID)
	if err != nil || cb.Delivered != feed[len(feed)-1].Seq || cb.State() != "ok" {
		t.Errorf("after draining: %+v, %v", cb, err)
	}
	closeTestStore(t, f.s)
}

// TestCallbackRetryAndGiveUp: failures wait a doubling backoff; a result
// for a URL replaced since changes nothing; past GiveUpAfter the outbox
// is emptied and nothing more is queued until the URL is set again.
func TestCallbackRetryAndGiveUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := CallbackPolicy{FirstBackoff: time.Minute, MaxBackoff: 3 * time.Minute, GiveUpAfter: 10 * time.Minute}
	if _, err := f.s.SetCallback(ctx, f.sender.ID, "https://93.184.216.34/cb", p, false); err != nil {
		t.Fatal(err)
	}
	f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "ref-1"))
	d, ok, err := f.s.NextCallback(ctx, f.sender.ID)
	if !ok || err != nil {
		t.Fatalf("NextCallback: %v %v", ok, err)
	}
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		cb, err := f.s.CallbackFailed(ctx, d, "answered 503", p)
		if err != nil {
			t.Fatal(err)
		}
		if cb.Attempts != i+1 || !cb.NextAttempt.Equal(f.clock.Now().Add(wait)) || cb.State() != "retrying" {
			t.Fatalf("failure %d: %+v", i+1, cb)
		}
		if _, ok, _ := f.s.NextCallback(ctx, f.sender.ID); ok {
			t.Fatalf("due again before its backoff")
		}
		f.clock.Advance(wait)
	}
	// 9 minutes of failures; the next, at 10, gives up.
	f.clock.Advance(time.Minute)
	cb, err := f.s.CallbackFailed(ctx, d, "answered 503", p)
	if err != nil || cb.State() != "given-up" || cb.Queued != 0 || cb.GivenUpFrom != d.Event.Seq {
		t.Fatalf("after 10 minutes: %+v, %v", cb, err)
	}
	f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "ref-2"))
	if cb, _ := f.s.CallbackOf(ctx, f.sender.ID); cb.Queued != 0 {
		t.Errorf("queued while given up: %+v", cb)
	}
	if due, _ := f.s.DueCallbacks(ctx); len(due) != 0 {
		t.Errorf("due while given up: %v", due)
	}
	// Set again: a stale result for the old registration changes nothing.
	if _, err := f.s.SetCallback(ctx, f.sender.ID, "https://93.184.216.34/cb", p, false); err != nil {
		t.Fatal(err)
	}
	f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "ref-3"))
	if _, err := f.s.CallbackFailed(ctx, d, "late", p); err != nil {
		t.Fatal(err)
	}
	cb, _ = f.s.CallbackOf(ctx, f.sender.ID)
	if cb.State() != "pending" || cb.Queued != 1 || cb.Attempts != 0 {
		t.Errorf("after setting again and a stale failure: %+v", cb)
	}
	if due, _ := f.s.DueCallbacks(ctx); len(due) != 1 || due[0] != f.sender.ID {
		t.Errorf("due: %v", due)
	}
	// Removed: nothing is queued or due.
	if had, err := f.s.RemoveCallback(ctx, f.sender.ID, true); !had || err != nil {
		t.Fatalf("RemoveCallback: %v %v", had, err)
	}
	f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "ref-4"))
	if _, err := f.s.CallbackOf(ctx, f.sender.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after removing: %v", err)
	}
	closeTestStore(t, f.s)
}

// TestCheckCallbackURL: the URL's form.
func TestCheckCallbackURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://hooks.example.dk/postkasse": true, "https://93.184.216.34:8443/a?b=c": true,
		"http://hooks.example.dk/": false, "": false, "https://": false, "https://u:p@hooks.example.dk/": false,
		"https://hooks.example.dk/#x": false, "https://hooks.example.dk/ x": false, "https://hooks.example.dk/æ": false,
		"javascript:alert(1)": false, "//hooks.example.dk/": false, "https:hooks.example.dk": false,
	} {
		if _, err := CheckCallbackURL(raw, false); (err == nil) != ok {
			t.Errorf("CheckCallbackURL(%q) = %v", raw, err)
		}
	}
	if _, err := CheckCallbackURL("http://127.0.0.1:9000/cb", true); err != nil {
		t.Errorf("http allowed: %v", err)
	}
	if err := (CallbackPolicy{GiveUpAfter: KeepEvents + time.Hour}).Validate(); err == nil {
		t.Error("giving up after events are pruned is accepted")
	}
	if err := (CallbackPolicy{FirstBackoff: time.Hour, MaxBackoff: time.Minute}).Validate(); err == nil {
		t.Error("a longest wait shorter than the first is accepted")
	}
}
