package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
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
	kills := envCount(t, "POSTKASSE_CRASH_KILLS", 20)
	seed := envSeed(t, "POSTKASSE_CRASH_SEED")
	t.Logf("POSTKASSE_CRASH_SEED=%d POSTKASSE_CRASH_KILLS=%d", seed, kills)
	rng := rand.New(rand.NewPCG(seed, 1))

	dir := t.TempDir()
	book := newDeliveryBook("crash", 8)
	for range kills {
		p := startDemo(t, dir)
		wait := book.deliver(p.senderClient(0), p.demo.API, p.demo.Residents[0].NationalID)
		// A random moment from 10 to 400 ms into the round.
		time.Sleep(time.Duration(10+rng.IntN(390)) * time.Millisecond)
		p.kill()
		wait()
		if err := book.err(); err != nil {
			t.Fatal(err)
		}
	}

	// Restart once more: resend what was cut off, then every acknowledged
	// reference again, which must answer 200 with the same letter id.
	p := startDemo(t, dir)
	if err := book.resend(p.senderClient(0), p.demo.API, p.demo.Residents[0].NationalID); err != nil {
		t.Fatal(err)
	}
	p.stop()
	t.Logf("%d kills, %d letters acknowledged", kills, len(book.acked))
	if len(book.acked) == 0 {
		t.Fatal("no delivery was acknowledged; the test proved nothing")
	}
	// Offline: the database is consistent and every letter opens.
	if err := book.checkMailbox(filepath.Join(dir, dbFileName), p.demo.Residents[0].NationalID, p.demo.Residents[0].Password); err != nil {
		t.Fatal(err)
	}
}

// envCount returns the positive number in the environment variable name,
// or def when it is unset.
func envCount(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// envSeed returns the random seed in the environment variable name, or a
// new one when it is unset; the test logs it, so a failure can be run
// again with it.
func envSeed(t *testing.T, name string) uint64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return uint64(time.Now().UnixNano())
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return seed
}

// deliveryBook is the account of a test that delivers letters from
// concurrent senders to a server it kills: which references were
// acknowledged, with which letter id, and which delivery each sender had
// under way when the server went away. The outcome of that one is
// unknown, so it is sent again after the restart, as a sender would, and
// idempotency must make that safe.
type deliveryBook struct {
	prefix  string // of the senderReferences
	mu      sync.Mutex
	acked   map[string]string // senderReference → letter id
	pending []string          // per sender: the reference under way, or ""
	next    []int             // per sender: the number of its next reference
	errs    []error
}

func newDeliveryBook(prefix string, senders int) *deliveryBook {
	return &deliveryBook{prefix: prefix, acked: map[string]string{}, pending: make([]string, senders), next: make([]int, senders)}
}

// record notes an acknowledged delivery; the same reference with another
// id is a double delivery.
func (b *deliveryBook) record(ref, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.acked[ref]; ok && prev != id {
		b.errs = append(b.errs, fmt.Errorf("reference %s delivered twice: %s and %s", ref, prev, id))
	}
	b.acked[ref] = id
}

func (b *deliveryBook) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, err)
}

// err returns what went wrong so far.
func (b *deliveryBook) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return errors.Join(b.errs...)
}

// deliver starts every sender delivering letters to recipient through
// the sender API at api with the client c, one letter after the other,
// until a request fails (the server was killed). The returned function
// waits for them all.
func (b *deliveryBook) deliver(c *http.Client, api, recipient string) (wait func()) {
	var wg sync.WaitGroup
	for w := range b.pending {
		wg.Go(func() { b.deliverUntilError(c, api, recipient, w) })
	}
	return wg.Wait
}

func (b *deliveryBook) deliverUntilError(c *http.Client, api, recipient string, w int) {
	for {
		ref := b.pending[w]
		if ref == "" {
			ref = fmt.Sprintf("%s-%d-%d", b.prefix, w, b.next[w])
			b.next[w]++
			b.pending[w] = ref
		}
		status, resp, err := deliver(c, api, recipient, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil {
			return // killed: the outcome of ref is unknown, send it again later
		}
		if status != 201 && status != 200 {
			b.fail(fmt.Errorf("delivery of %s: status %d, code %s", ref, status, resp.Code))
			return
		}
		b.record(ref, resp.ID)
		b.pending[w] = ""
	}
}

// resend sends the deliveries that were cut off, then every acknowledged
// reference again, which must answer 200 with the same letter id: a
// letter that was acknowledged and lost answers 201 with a new one.
func (b *deliveryBook) resend(c *http.Client, api, recipient string) error {
	for w, ref := range b.pending {
		if ref == "" {
			continue
		}
		status, resp, err := deliver(c, api, recipient, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil || (status != 201 && status != 200) {
			return fmt.Errorf("resend of %s after the restart: %d %v", ref, status, err)
		}
		b.record(ref, resp.ID)
		b.pending[w] = ""
	}
	var errs []error
	for ref, id := range b.acked {
		status, resp, err := deliver(c, api, recipient, "Crash test letter "+ref, ref, crashPDF(ref))
		if err != nil || status != 200 || resp.ID != id {
			errs = append(errs, fmt.Errorf("acknowledged %s (%s) on repeat: status %d id %s err %v", ref, id, status, resp.ID, err))
		}
	}
	return errors.Join(append(errs, b.err())...)
}

// checkMailbox is checkLetters with every letter the book acknowledged.
func (b *deliveryBook) checkMailbox(path, nationalID, password string) error {
	return checkLetters(path, nationalID, password, b.acked)
}

// checkLetters opens the database at path offline, runs its consistency
// check, and checks that every letter of acked (reference → letter id) is
// in the mailbox of the resident nationalID, once, as the letter it was
// acknowledged as, and opens with its own content; and that no reference
// is there twice.
func checkLetters(path, nationalID, password string, acked map[string]string) error {
	st, err := store.Open(path, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Check(context.Background()); err != nil {
		return fmt.Errorf("bbolt consistency check: %w", err)
	}
	return checkStoreLetters(st, nationalID, password, acked)
}

// checkStoreLetters is checkLetters on an open store of either engine.
func checkStoreLetters(st *store.Store, nationalID, password string, acked map[string]string) error {
	ctx := context.Background()
	sess, err := st.Login(ctx, nationalID, password)
	if err != nil {
		return err
	}
	mb, err := st.OpenSession(ctx, sess.Token)
	if err != nil {
		return err
	}
	defer mb.Close()
	inbox, err := mb.Inbox(ctx)
	if err != nil {
		return err
	}
	var errs []error
	seen := map[string]int{}
	for _, l := range inbox {
		ref, ok := strings.CutPrefix(l.Subject, "Crash test letter ")
		if !ok {
			continue
		}
		seen[ref]++
		if id := acked[ref]; id != "" && id != l.ID {
			errs = append(errs, fmt.Errorf("letter %s (%s) is stored but was acknowledged as %s", l.ID, ref, id))
		}
		doc, err := mb.Document(ctx, l.ID, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("letter %s (%s) does not open: %w", l.ID, ref, err))
		} else if !bytes.Equal(doc.Content, crashPDF(ref)) {
			errs = append(errs, fmt.Errorf("letter %s (%s) holds another letter's content", l.ID, ref))
		}
	}
	for ref, n := range seen {
		if n != 1 {
			errs = append(errs, fmt.Errorf("reference %s is in the mailbox %d times", ref, n))
		}
	}
	for ref := range acked {
		if seen[ref] != 1 {
			errs = append(errs, fmt.Errorf("acknowledged letter %s is missing", ref))
		}
	}
	return errors.Join(errs...)
}
