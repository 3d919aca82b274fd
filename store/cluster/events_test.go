package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postkasse/postkasse/store/storage"
)

// TestEventFeedWaitsForAppenders: event numbers come from a sequence,
// outside the transactions, so a transaction may commit its event after
// another that took a larger number. A reader of the feed must then not
// see the larger without the smaller: its cursor would pass the smaller
// one for good, and the sender would never hear of it.
func TestEventFeedWaitsForAppenders(t *testing.T) {
	cfg := config(t)
	e := open(t, cfg)
	defer e.Close()
	ctx := context.Background()
	appendEvent := func(tx storage.Tx, letter string) error {
		return tx.Events().Append(&storage.Event{SenderID: "s", Type: "delivered", LetterID: letter, At: time.Now()})
	}

	// The first transaction takes its number and stays open.
	appended, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	first := make(chan error, 1)
	go func() {
		first <- e.Update(ctx, func(tx storage.Tx) error {
			if err := appendEvent(tx, "first"); err != nil {
				return err
			}
			once.Do(func() { close(appended) })
			<-release
			return nil
		})
	}()
	<-appended
	// A second takes a larger one and commits at once.
	if err := e.Update(ctx, func(tx storage.Tx) error { return appendEvent(tx, "second") }); err != nil {
		t.Fatal(err)
	}

	// A reader asks now, while the first is still open.
	read := make(chan []*storage.Event, 1)
	go func() {
		var evs []*storage.Event
		err := e.View(ctx, func(tx storage.Tx) error {
			// As Store.Events reads the feed: settled first.
			if err := tx.Events().Settle("s"); err != nil {
				return err
			}
			var err error
			evs, err = tx.Events().After("s", 0, 10)
			return err
		})
		if err != nil {
			t.Error(err)
		}
		read <- evs
	}()
	// Wait until it has read, or waits for the first transaction.
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var evs []*storage.Event
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case evs = <-read:
			break wait
		case <-tick.C:
			var waiting int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting > 0 {
				break wait
			}
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if evs == nil {
		evs = <-read
	}
	if len(evs) != 2 || evs[0].LetterID != "first" || evs[1].LetterID != "second" {
		var got []string
		for _, ev := range evs {
			got = append(got, ev.LetterID)
		}
		t.Fatalf("the feed read while the first event's transaction was open: %q; want both, in order", got)
	}
}
