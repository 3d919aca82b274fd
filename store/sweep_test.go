package store

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSweepBlobs: on the cluster engine a blob no letter refers to (a
// delivery that crashed before its commit) is deleted once older than
// BlobGrace, and the letters' own blobs stay; the embedded engine, which
// keeps documents in its file, has nothing to sweep.
func TestSweepBlobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	res, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := f.s.eng.Blobs().Write(ctx, "crashed-delivery", 0, bytes.NewReader([]byte("sealed, never committed")))
	if err != nil {
		t.Fatal(err)
	}
	n, swept, err := f.s.SweepBlobs(ctx)
	if err != nil || n != 0 {
		t.Fatalf("sweep within the grace period: %d, %v", n, err)
	}
	if swept != !onEmbedded(f.s) {
		t.Errorf("swept %v on the %s engine", swept, map[bool]string{true: "cluster", false: "embedded"}[!onEmbedded(f.s)])
	}
	// Past the grace period. The engine dates blobs by the real clock, so
	// the store's clock moves to after now plus the grace.
	f.clock.Advance(time.Since(f.clock.Now()) + BlobGrace + time.Minute)
	n, _, err = f.s.SweepBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]int{true: 1, false: 0}[!onEmbedded(f.s)]; n != want {
		t.Errorf("swept %d blobs (orphan %s), want %d", n, orphan.Key(), want)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if _, err := mb.Document(ctx, res.Letter.ID, 0); err != nil {
		t.Errorf("the letter's document after the sweep: %v", err)
	}
}
