package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// crashPDF is the document of the crash test's letter ref: unique per
// reference, so the test can check that each letter holds its own content.
func crashPDF(ref string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n% crash test letter " + ref + "\n")
	for b.Len() < 2048 {
		b.WriteString(ref + " ")
	}
	return b.Bytes()
}

// TestCrashDuringDeliveries delivers letters from several concurrent
// senders while the server is killed with SIGKILL at random moments and
// restarted, POSTKASSE_CRASH_KILLS times (default 20). Then every
// acknowledged letter must be there and open with its own content, no
// reference may have been delivered twice, and bbolt's consistency check
// must be clean. A reference whose delivery was cut off by a kill is sent
// again after the restart, as a sender would: idempotency must make that
// safe.
func TestCrashDuringDeliveries(t *testing.T) {
	kills := 20
	if v := os.Getenv("POSTKASSE_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("POSTKASSE_CRASH_KILLS=%q: want a positive number", v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("POSTKASSE_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("POSTKASSE_CRASH_SEED=%d POSTKASSE_CRASH_KILLS=%d", seed, kills)
	rng := rand.New(rand.NewPCG(seed, 1))

	const workers = 8
	dir := t.TempDir()
	var (
		mu      sync.Mutex
		acked   = map[string]string{} // senderReference → letter id
		pending = make([]string, workers)
		next    = make([]int, workers)
	)
	// record notes an acknowledged delivery and fails the test if the same
	// reference ever gets another id: that would be a double delivery.
	record := func(ref, id string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := acked[ref]; ok && prev != id {
			t.Errorf("reference %s delivered twice: %s and %s", ref, prev, id)
		}
		acked[ref] = id
	}
	// sendUntilError delivers worker w's letters until a request fails.
	sendUntilError := func(p *demoProcess, w int) {
		c := p.senderClient(0)
		recipient := p.demo.Residents[0].NationalID
		for {
			ref := pending[w]
			if ref == "" {
				ref = fmt.Sprintf("crash-%d-%d", w, next[w])
				next[w]++
				pending[w] = ref
			}
			status, resp, err := deliver(c, p.demo.API, recipient, "Crash test letter "+ref, ref, crashPDF(ref))
			if err != nil {
				return // killed: the outcome of ref is unknown, send it again later
			}
			if status != 201 && status != 200 {
				t.Errorf("delivery of %s: status %d, code %s", ref, status, resp.Code)
				return
			}
			record(ref, resp.ID)
			pending[w] = ""
		}
	}

	for round := 0; round < kills; round++ {
		p := startDemo(t, dir)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { sendUntilError(p, w) })
		}
		// A random moment from 10 to 400 ms into the round.
		time.Sleep(time.Duration(10+rng.IntN(390)) * time.Millisecond)
		p.kill()
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}

	// Restart once more: resend what was cut off, then every acknowledged
	// reference again, which must answer 200 with the same letter id.
	p := startDemo(t, dir)
	c := p.senderClient(0)
	recipient := p.demo.Residents[0].NationalID
	for w, ref := range pending {
		if ref == "" {
			continue
		}
		status, resp, err := deliver(c, p.demo.API, recipient, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil || (status != 201 && status != 200) {
			t.Fatalf("resend of %s after the last restart: %d %v", ref, status, err)
		}
		record(ref, resp.ID)
		pending[w] = ""
	}
	for ref, id := range acked {
		status, resp, err := deliver(c, p.demo.API, recipient, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil || status != 200 || resp.ID != id {
			t.Fatalf("acknowledged %s (%s) on repeat: status %d id %s err %v", ref, id, status, resp.ID, err)
		}
	}
	p.stop()
	t.Logf("%d kills, %d letters acknowledged", kills, len(acked))
	if len(acked) == 0 {
		t.Fatal("no delivery was acknowledged; the test proved nothing")
	}

	// Offline: the database is consistent and every letter opens.
	st, err := store.Open(filepath.Join(dir, "postkasse.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(context.Background()); err != nil {
		t.Fatalf("bbolt consistency check: %v", err)
	}
	sess, err := st.Login(context.Background(), p.demo.Residents[0].NationalID, p.demo.Residents[0].Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	inbox, err := mb.Inbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range inbox {
		ref, ok := strings.CutPrefix(l.Subject, "Crash test letter ")
		if !ok {
			continue
		}
		seen[ref]++
		doc, err := mb.Document(context.Background(), l.ID, 0)
		if err != nil {
			t.Fatalf("letter %s (%s) does not open: %v", l.ID, ref, err)
		}
		if !bytes.Equal(doc.Content, crashPDF(ref)) {
			t.Fatalf("letter %s (%s) holds another letter's content", l.ID, ref)
		}
	}
	for ref, n := range seen {
		if n != 1 {
			t.Errorf("reference %s is in the mailbox %d times", ref, n)
		}
	}
	for ref := range acked {
		if seen[ref] != 1 {
			t.Errorf("acknowledged letter %s is missing", ref)
		}
	}
}
