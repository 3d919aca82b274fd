package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SweepSessions deletes exactly the expired sessions, leaves live ones
// and records that do not decode, and a Login with such a record in the
// bucket still works (the sweep used to run inside Login's transaction
// and fail it). On the engine of the pass: the record is written into
// the embedded file, or into the cluster's table (columns of a live
// session, a record that does not decode).
func TestSweepSessions(t *testing.T) {
	t.Parallel()
	sweepSessions(t, newFixture(t))
}

// TestSweepSessionsFile is TestSweepSessions on the embedded engine in
// both passes.
func TestSweepSessionsFile(t *testing.T) {
	t.Parallel()
	sweepSessions(t, newEmbeddedFixture(t))
}

func sweepSessions(t *testing.T, f *fixture) {
	t.Helper()
	old, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(20 * time.Minute)
	live, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if onEmbedded(f.s) {
		if err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketSessions).Put([]byte("not-a-session"), []byte("{not json"))
		}); err != nil {
			t.Fatal(err)
		}
	} else {
		clusterSQL(t, f.s, fmt.Sprintf(`INSERT INTO sessions (resident_id, id, record, expires, last_seen)
			VALUES ('%s', 'not-a-session'::bytea, '{not json'::bytea, '%s', '%s')`,
			f.resident.ID, f.clock.Now().Add(time.Hour).Format(time.RFC3339), f.clock.Now().Add(10*time.Minute).Format(time.RFC3339)))
	}
	// 30 minutes after the first login it is idle; the second is not.
	f.clock.Advance(10 * time.Minute)
	n, err := f.s.SweepSessions(context.Background(), f.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("SweepSessions = %d, %v; want 1, nil", n, err)
	}
	got := 0
	if onEmbedded(f.s) {
		got = countKeys(t, f.s)["sessions"]
	} else {
		got = clusterCount(t, f.s, "sessions", "true")
	}
	if got != 2 {
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
	if !onEmbedded(f.s) {
		clusterSQL(t, f.s, `DELETE FROM sessions WHERE id = 'not-a-session'::bytea`)
		return
	}
	if err := f.s.testDB(t).Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Delete([]byte("not-a-session"))
	}); err != nil {
		t.Fatal(err)
	}
}
