package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkInboxPage measures a page of 50 letters of a mailbox of 10,000
// (newest first, listings sealed already, as after the first page) and,
// in the same run as its baseline, the whole inbox of the same mailbox
// (every letter's data key opened). It reports each in milliseconds and
// their ratio (speedup): a page must cost in proportion to the page.
//
//	go test ./store -run '^$' -bench InboxPage -benchtime 20x
func BenchmarkInboxPage(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "postkasse.db"), Options{KDF: cheapKDF})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	nid := testNID(b, 1)
	mustResident(b, s, nid, "Bench Resident")
	snd := mustSender(b, s, "Bench Sender", "12345674", SenderPublic)
	const letters = 10000
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= letters {
					return
				}
				d := Delivery{Recipient: nid, Subject: fmt.Sprintf("Letter %d", i), SenderReference: fmt.Sprintf("ref-%d", i),
					Documents: []DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("hello")}}}
				if _, err := s.Deliver(context.Background(), snd.ID, d); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	mb := mustLogin(b, s, nid, testPassword)
	defer mb.Close()
	// List every letter once, as the resident's first pages would.
	for cursor := ""; ; {
		_, n, err := mb.InboxPage(context.Background(), cursor, 500)
		if err != nil {
			b.Fatal(err)
		}
		if n == "" {
			break
		}
		cursor = n
	}
	whole := func() time.Duration {
		t0 := time.Now()
		if all, err := mb.Inbox(context.Background()); err != nil || len(all) != letters {
			b.Fatalf("inbox: %d, %v", len(all), err)
		}
		return time.Since(t0)
	}
	baseline := whole()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		page, _, err := mb.InboxPage(context.Background(), "", 50)
		if err != nil || len(page) != 50 {
			b.Fatalf("page: %d, %v", len(page), err)
		}
	}
	per := time.Since(t0) / time.Duration(b.N)
	b.StopTimer()
	baseline = (baseline + whole()) / 2
	b.ReportMetric(float64(per.Microseconds())/1000, "page-ms")
	b.ReportMetric(float64(baseline.Microseconds())/1000, "whole-inbox-ms")
	b.ReportMetric(float64(baseline)/float64(per), "speedup")
}
