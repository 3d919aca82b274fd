package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/embedded"
)

// outboxValues returns the outbox's stored values raw: the embedded
// file's bucket, or every row of the cluster's table as text (bytea as
// hex, so a secret is looked for in clear and in hex).
func outboxValues(t *testing.T, s *Store) [][]byte {
	t.Helper()
	var out [][]byte
	if !onEmbedded(s) {
		withClusterConn(t, s, func(ctx context.Context, conn *pgx.Conn) {
			for _, text := range tableRows(t, ctx, conn, "outbox") {
				out = append(out, []byte(text))
			}
		})
		return out
	}
	if err := s.testDB(t).View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
			out = append(out, bytes.Clone(v))
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeliveryQueuesNotifications: a delivery queues one notification per
// chosen channel; none holds the subject or content; a sensitive letter's
// leave out the sender's name. On the engine of the pass;
// TestDeliveryQueuesNotificationsFile on the embedded file.
func TestDeliveryQueuesNotifications(t *testing.T) {
	deliveryQueuesNotifications(t, newFixture(t))
}

// TestDeliveryQueuesNotificationsFile is TestDeliveryQueuesNotifications
// on the embedded engine, its file's outbox bucket read raw, in both
// passes.
func TestDeliveryQueuesNotificationsFile(t *testing.T) {
	deliveryQueuesNotifications(t, newEmbeddedFixture(t))
}

func deliveryQueuesNotifications(t *testing.T, f *fixture) {
	t.Helper()
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "before-prefs")); err != nil {
		t.Fatal(err)
	}
	if ns, _ := f.s.DueNotifications(context.Background(), 10); len(ns) != 0 {
		t.Fatalf("notifications without preferences: %+v", ns)
	}
	if _, err := f.s.SetNotificationPreferences(context.Background(), f.resident.ID, NotificationPreferences{
		Email: "anna@example.dk", EmailOn: true, Phone: "0045 12345678", SMSOn: true}); err != nil {
		t.Fatal(err)
	}
	d := testDelivery(f.nid, "plain")
	r, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	sensitive := testDelivery(f.nid, "sensitive")
	sensitive.Sensitive = true
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, sensitive); err != nil {
		t.Fatal(err)
	}
	ns, err := f.s.DueNotifications(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 4 {
		t.Fatalf("%d notifications, want 4: %+v", len(ns), ns)
	}
	for i, n := range ns {
		wantName := "Aarhus Kommune"
		if i >= 2 {
			wantName = ""
		}
		wantCh, wantTo := ChannelEmail, "anna@example.dk"
		if i%2 == 1 {
			wantCh, wantTo = ChannelSMS, "+4512345678"
		}
		if n.Kind != NotifyLetter || n.SenderName != wantName || n.Channel != wantCh || n.To != wantTo ||
			n.State != NotificationPending || n.LetterType != TypeDecision || len(n.ID) != 48 {
			t.Errorf("notification %d: %+v", i, n)
		}
		if i < 2 && !n.DeliveredAt.Equal(r.Letter.DeliveredAt) {
			t.Errorf("notification %d delivered at %s, letter at %s", i, n.DeliveredAt, r.Letter.DeliveredAt)
		}
	}
	for _, v := range outboxValues(t, f.s) {
		for _, secret := range []string{d.Subject, d.Body, d.Documents[0].Name, string(pdfContent)} {
			if bytes.Contains(v, []byte(secret)) || bytes.Contains(v, []byte(hex.EncodeToString([]byte(secret)))) {
				t.Errorf("outbox holds %q: %s", secret, v)
			}
		}
	}
	// A repeated delivery queues nothing new.
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, d); err != nil {
		t.Fatal(err)
	}
	if n := len(outboxValues(t, f.s)); n != 4 {
		t.Errorf("%d notifications after a repeat, want 4", n)
	}
}

func TestNotificationLifecycle(t *testing.T) {
	f := newFixture(t)
	if _, err := f.s.SetNotificationPreferences(context.Background(), f.resident.ID, NotificationPreferences{Email: "anna@example.dk", EmailOn: true}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"1", "2", "3"} {
		if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, ref)); err != nil {
			t.Fatal(err)
		}
	}
	ns, _ := f.s.DueNotifications(context.Background(), 10)
	if len(ns) != 3 {
		t.Fatalf("%d due", len(ns))
	}
	retry := RetryPolicy{MaxAttempts: 3, FirstBackoff: time.Minute, MaxBackoff: time.Hour}
	a, b, c := ns[0].ID, ns[1].ID, ns[2].ID

	if err := f.s.MarkNotificationSent(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkNotificationSent(context.Background(), a); err != nil {
		t.Errorf("marking sent twice: %v", err)
	}
	if _, err := f.s.MarkNotificationFailed(context.Background(), c, "550 no such user", true, retry); err != nil {
		t.Fatal(err)
	}
	// b fails twice with backoff 1 and 2 minutes, then dies on the third.
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute} {
		n, err := f.s.MarkNotificationFailed(context.Background(), b, "connection refused", false, retry)
		if err != nil {
			t.Fatal(err)
		}
		if n.State != NotificationPending || n.Attempts != i+1 || !n.NextAttempt.Equal(f.clock.Now().Add(wait)) {
			t.Fatalf("after failure %d: %+v", i+1, n)
		}
		f.clock.Advance(wait - time.Second)
		if due, _ := f.s.DueNotifications(context.Background(), 10); len(due) != 0 {
			t.Fatalf("due before its backoff: %+v", due)
		}
		f.clock.Advance(time.Second)
		if due, _ := f.s.DueNotifications(context.Background(), 10); len(due) != 1 || due[0].ID != b {
			t.Fatalf("not due after its backoff: %+v", due)
		}
	}
	n, err := f.s.MarkNotificationFailed(context.Background(), b, "connection refused", false, retry)
	if err != nil || n.State != NotificationDead || n.Attempts != 3 || n.LastError != "connection refused" {
		t.Fatalf("after the last attempt: %+v, %v", n, err)
	}
	counts, _ := f.s.OutboxCounts(context.Background())
	if counts[NotificationSent] != 1 || counts[NotificationDead] != 2 || counts[NotificationPending] != 0 {
		t.Errorf("counts %v", counts)
	}
	dead, _ := f.s.Notifications(context.Background(), NotificationDead, 10)
	if len(dead) != 2 {
		t.Errorf("dead: %+v", dead)
	}
	if err := f.s.RequeueNotification(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if due, _ := f.s.DueNotifications(context.Background(), 10); len(due) != 1 || due[0].ID != b || due[0].Attempts != 0 {
		t.Errorf("requeued: %+v", due)
	}
	until := f.clock.Now().Add(3 * time.Hour)
	if err := f.s.DeferNotification(context.Background(), b, until); err != nil {
		t.Fatal(err)
	}
	if due, _ := f.s.DueNotifications(context.Background(), 10); len(due) != 0 {
		t.Errorf("deferred but due: %+v", due)
	}
	f.clock.Advance(40 * 24 * time.Hour)
	pruned, err := f.s.PruneNotifications(context.Background(), f.clock.Now().Add(-30*24*time.Hour))
	if err != nil || pruned != 2 {
		t.Errorf("pruned %d, %v; want the sent and the dead one", pruned, err)
	}
	if err := f.s.MarkNotificationSent(context.Background(), "00"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad id: %v", err)
	}
	if err := f.s.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestRetryBackoff(t *testing.T) {
	p := RetryPolicy{FirstBackoff: time.Minute, MaxBackoff: 10 * time.Minute}
	for attempts, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 50: 10 * time.Minute} {
		if got := p.Backoff(attempts); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", attempts, got, want)
		}
	}
}

func TestSendingHours(t *testing.T) {
	cph := copenhagen(t)
	h := SendingHours{From: 9, To: 20, Location: cph}
	local := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, cph)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		at, next string
	}{
		{"2026-11-22 08:59", "2026-11-22 09:00"},
		{"2026-11-22 09:00", "2026-11-22 09:00"},
		{"2026-11-22 19:59", "2026-11-22 19:59"},
		{"2026-11-22 20:00", "2026-11-23 09:00"},
		{"2026-11-22 23:30", "2026-11-23 09:00"},
		{"2026-11-23 00:10", "2026-11-23 09:00"},
		// The night summer time begins (29 March 2026, 02:00 → 03:00).
		{"2026-03-29 01:30", "2026-03-29 09:00"},
	} {
		at, want := local(tc.at), local(tc.next)
		if got := h.Next(at); !got.Equal(want) {
			t.Errorf("Next(%s) = %s, want %s", tc.at, got.In(cph), tc.next)
		}
		if h.Allows(at) != at.Equal(want) {
			t.Errorf("Allows(%s) = %v", tc.at, h.Allows(at))
		}
	}
	if err := (SendingHours{From: 20, To: 9}).Validate(); err == nil {
		t.Error("from after to accepted")
	}
	if !(SendingHours{}).Allows(local("2026-11-22 03:00")) {
		t.Error("the zero value does not allow every hour")
	}
}

func TestNotificationPreferencesValidation(t *testing.T) {
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	for _, tc := range []struct {
		in    NotificationPreferences
		field string // "" = valid
		want  NotificationPreferences
	}{
		{NotificationPreferences{}, "", NotificationPreferences{}},
		{NotificationPreferences{Email: " anna@example.dk ", EmailOn: true}, "", NotificationPreferences{Email: "anna@example.dk", EmailOn: true}},
		{NotificationPreferences{Phone: "+45 12 34 56 78", SMSOn: true}, "", NotificationPreferences{Phone: "+4512345678", SMSOn: true}},
		{NotificationPreferences{Phone: "0047 (22) 33-44-55", SMSOn: false}, "", NotificationPreferences{Phone: "+4722334455"}},
		{NotificationPreferences{EmailOn: true}, "email", NotificationPreferences{}},
		{NotificationPreferences{SMSOn: true}, "phone", NotificationPreferences{}},
		{NotificationPreferences{Email: "Anna <anna@example.dk>"}, "email", NotificationPreferences{}},
		{NotificationPreferences{Email: "anna"}, "email", NotificationPreferences{}},
		{NotificationPreferences{Email: "a@b.dk\r\nBcc: x@y.dk"}, "email", NotificationPreferences{}},
		{NotificationPreferences{Phone: "12345678"}, "phone", NotificationPreferences{}},
		{NotificationPreferences{Phone: "+0123456789"}, "phone", NotificationPreferences{}},
		{NotificationPreferences{Phone: "+1234567890123456"}, "phone", NotificationPreferences{}},
		{NotificationPreferences{Phone: "+45abc12345"}, "phone", NotificationPreferences{}},
	} {
		got, err := mb.SetNotificationPreferences(context.Background(), tc.in)
		var inv *InvalidError
		switch {
		case tc.field == "" && (err != nil || got != tc.want):
			t.Errorf("%+v: %+v, %v; want %+v", tc.in, got, err, tc.want)
		case tc.field != "" && (!errors.As(err, &inv) || inv.Field != tc.field):
			t.Errorf("%+v: %v; want an invalid %s", tc.in, err, tc.field)
		}
		if tc.field == "" {
			if stored, _ := mb.NotificationPreferences(context.Background()); stored != tc.want {
				t.Errorf("stored %+v, want %+v", stored, tc.want)
			}
		}
	}
}

// TestSchema3Upgrade opens a schema 2 file (made by removing schema 3's
// buckets and version) and checks the upgrade adds them. (The cluster's
// migration 3: TestSchema3Backfill in store/cluster.)
func TestSchema3Upgrade(t *testing.T) {
	clock := newFakeClock()
	path := t.TempDir() + "/postkasse.db"
	s := openEmbeddedStoreAt(t, path, testOptions(clock))
	if err := s.testDB(t).Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTerms, bucketTermsAccepted, bucketTermsNotices, bucketRetention,
			bucketPreferences, bucketOutbox, bucketOutboxDue, bucketJobRuns} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, be32(2))
	}); err != nil {
		t.Fatal(err)
	}
	closeTestStore(t, s)
	s = openEmbeddedStoreAt(t, path, testOptions(clock))
	if embedded.SchemaVersion() < 3 {
		t.Fatalf("schema version %d", embedded.SchemaVersion())
	}
	keys := countKeys(t, s)
	for _, b := range []string{"terms", "terms-accepted", "terms-notices", "retention", "preferences", "outbox", "outbox-due", "job-runs"} {
		if _, ok := keys[b]; !ok {
			t.Errorf("bucket %s missing after the upgrade", b)
		}
	}
}

func TestJobRuns(t *testing.T) {
	f := newFixture(t)
	start := f.clock.Now()
	if err := f.s.RecordJobRun(context.Background(), JobRun{Job: "retention", Started: start, Outcome: JobRunning}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RecordJobRun(context.Background(), JobRun{Job: "retention", Started: start, Finished: start.Add(time.Second), Outcome: JobOK, Items: 3}); err != nil {
		t.Fatal(err)
	}
	runs, err := f.s.JobRuns(context.Background())
	if err != nil || len(runs) != 1 || runs[0].Outcome != JobOK || runs[0].Items != 3 {
		t.Errorf("JobRuns: %+v, %v", runs, err)
	}
	if err := f.s.RecordJobRun(context.Background(), JobRun{}); err == nil {
		t.Error("a run without a job name was stored")
	}
}
