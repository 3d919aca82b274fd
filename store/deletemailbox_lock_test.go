package store

import (
	"context"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
)

// TestDeleteMailboxPasswordCheckOutsideWriteLock (from the security review):
// Mailbox.DeleteMailbox runs the Argon2id password check inside its bbolt
// write transaction (s.update). bbolt has one writer at a time, so while
// a wrong password is being checked (about 0.2 s and 64 MiB with the
// default parameters) no letter can be committed, no one can log in, no
// session's LastSeen can be written. Any signed-in resident can repeat
// the request back to back and stall every sender's deliveries. The check
// must happen before the transaction (as Login does); a delivery must not
// wait for another resident's password check.
func TestDeleteMailboxPasswordCheckOutsideWriteLock(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	opts := testOptions(clock)
	// Costly enough that the two operations' order is clear.
	opts.KDF = crypto.KDFParams{Time: 24, MemoryKiB: 16 * 1024, Threads: 1}
	s := openTestStore(t, opts)
	attacker, victim := testNID(t, 1), testNID(t, 2)
	mustResident(t, s, attacker, "Mallory Madsen")
	mustResident(t, s, victim, "Anna Andersen")
	sender := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	mb := mustLogin(t, s, attacker, testPassword)

	start := time.Now()
	checked := make(chan time.Duration, 1)
	go func() {
		if err := mb.DeleteMailbox(context.Background(), "a wrong password guess"); err != ErrBadCredentials {
			t.Errorf("DeleteMailbox: %v, want ErrBadCredentials", err)
		}
		checked <- time.Since(start)
	}()
	time.Sleep(30 * time.Millisecond) // DeleteMailbox is in its transaction now
	if _, err := s.Deliver(context.Background(), sender.ID, testDelivery(victim, "ref-1")); err != nil {
		t.Fatal(err)
	}
	delivered := time.Since(start)
	passwordCheck := <-checked
	if delivered >= passwordCheck {
		t.Errorf("a delivery to another resident took %v: it waited for a wrong-password check in DeleteMailbox (%v)",
			delivered.Round(time.Millisecond), passwordCheck.Round(time.Millisecond))
	}
}
