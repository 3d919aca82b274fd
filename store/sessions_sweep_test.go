package store

import (
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SweepSessions deletes exactly the expired sessions, leaves live ones
// and records that do not decode, and a Login with such a record in the
// bucket still works (the sweep used to run inside Login's transaction
// and fail it).
func TestSweepSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(20 * time.Minute)
	live, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Put([]byte("not-a-session"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	// 30 minutes after the first login it is idle; the second is not.
	f.clock.Advance(10 * time.Minute)
	n, err := f.s.SweepSessions(context.Background(), f.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("SweepSessions = %d, %v; want 1, nil", n, err)
	}
	if got := countKeys(t, f.s)["sessions"]; got != 2 {
		t.Errorf("%d sessions left, want 2 (the live one and the unreadable record)", got)
	}
	if _, err := f.s.OpenSession(context.Background(), old.Token); err == nil {
		t.Error("the swept session opens")
	}
	mb, err := f.s.OpenSession(context.Background(), live.Token)
	if err != nil {
		t.Fatalf("the live session: %v", err)
	}
	mb.Close()
	if n, err := f.s.SweepSessions(context.Background(), f.clock.Now()); err != nil || n != 0 {
		t.Errorf("second SweepSessions = %d, %v; want 0, nil", n, err)
	}
	if _, err := f.s.Login(context.Background(), f.nid.String(), testPassword); err != nil {
		t.Errorf("Login with an unreadable session record in the bucket: %v", err)
	}
	// The invariants checked on close hold only for readable records.
	if err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Delete([]byte("not-a-session"))
	}); err != nil {
		t.Fatal(err)
	}
}
