package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/store/storage"
)

// clockTo moves a fake clock to t (forwards or backwards).
func clockTo(c *fakeClock, t time.Time) { c.Set(t) }

const day = 24 * time.Hour

// applyDue runs the retention rules the way the job does: what is due,
// then each of it. It returns the actions by resident id.
func applyDue(t *testing.T, s *Store, p RetentionPolicy) map[string]RetentionResult {
	t.Helper()
	s.retention = p.WithDefaults()
	due, err := s.RetentionDue(context.Background())
	if err != nil {
		t.Fatalf("RetentionDue: %v", err)
	}
	out := map[string]RetentionResult{}
	for _, id := range due {
		r, err := s.ApplyRetention(context.Background(), id)
		if err != nil {
			t.Fatalf("ApplyRetention(%s): %v", id, err)
		}
		if r.Action == RetentionNone {
			t.Errorf("RetentionDue listed %s but ApplyRetention did nothing", id)
		}
		out[id] = r
	}
	return out
}

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Period
		str  string
	}{
		{"P5Y", Period{Years: 5}, "P5Y"},
		{"P15M", Period{Months: 15}, "P15M"},
		{"P30D", Period{Days: 30}, "P30D"},
		{"p1y6m", Period{Years: 1, Months: 6}, "P1Y6M"},
		{"P2W", Period{Days: 14}, "P14D"},
		{"P1W2D", Period{Days: 9}, "P9D"},
		{"P0D", Period{}, "P0D"},
	} {
		got, err := ParsePeriod(tc.in)
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParsePeriod(%q) = %+v %q, %v; want %+v %q", tc.in, got, got.String(), err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "P", "5Y", "P5", "PY", "P1D2M", "P-1D", "P1.5Y", "P1H", "PT1H", "P99999Y"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", bad)
		}
	}
}

func TestAddMonthsClamped(t *testing.T) {
	for _, tc := range []struct{ from, want string }{
		{"2026-11-22", "2026-12-22"},
		{"2027-01-31", "2027-02-28"},
		{"2028-01-31", "2028-02-29"},
		{"2026-12-31", "2027-01-31"},
		{"2027-03-31", "2027-04-30"},
	} {
		from, _ := time.Parse(time.DateOnly, tc.from)
		if got := addMonthsClamped(from, 1).Format(time.DateOnly); got != tc.want {
			t.Errorf("addMonthsClamped(%s, 1) = %s, want %s", tc.from, got, tc.want)
		}
	}
}

func TestRetentionPolicyValidate(t *testing.T) {
	if err := DefaultRetentionPolicy().Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
	if err := (RetentionPolicy{}).Validate(); err != nil {
		t.Errorf("zero policy (defaults): %v", err)
	}
	bad := RetentionPolicy{Inactivity: Period{Days: 20}, InactivityWarnings: []Period{{Days: 30}}}
	if err := bad.Validate(); err == nil {
		t.Error("a warning longer than the period was accepted")
	}
	if err := (RetentionPolicy{InactivityWarnings: []Period{{}}}).Validate(); err == nil {
		t.Error("a zero warning was accepted")
	}
}

// TestInactivityEdges walks one account through the inactivity rule, a day
// before, on and after each edge: no login since enrolment; warnings 30
// and 7 days before the five years are up; deletion on the day.
func TestInactivityEdges(t *testing.T) {
	f := newFixture(t)
	p := DefaultRetentionPolicy()
	if _, err := f.s.SetNotificationPreferences(context.Background(), f.resident.ID, NotificationPreferences{Email: "anna@example.dk", EmailOn: true}); err != nil {
		t.Fatal(err)
	}
	enrolled := f.clock.Now()
	due := enrolled.AddDate(5, 0, 0)
	steps := []struct {
		at   time.Time
		want RetentionAction
	}{
		{due.AddDate(0, 0, -31), RetentionNone},
		{due.AddDate(0, 0, -30).Add(-time.Second), RetentionNone},
		{due.AddDate(0, 0, -30), RetentionWarned},
		{due.AddDate(0, 0, -29), RetentionNone},
		{due.AddDate(0, 0, -8), RetentionNone},
		{due.AddDate(0, 0, -7), RetentionWarned},
		{due.AddDate(0, 0, -6), RetentionNone},
		{due.AddDate(0, 0, -1), RetentionNone},
		{due.Add(-time.Second), RetentionNone},
		{due, RetentionAccountDeleted},
	}
	for _, st := range steps {
		clockTo(f.clock, st.at)
		got := applyDue(t, f.s, p)[f.resident.ID].Action
		if got == "" {
			got = RetentionNone
		}
		if got != st.want {
			t.Fatalf("at %s (due %s): %s, want %s", st.at, due, got, st.want)
		}
		if st.want == RetentionWarned {
			// Applying again at the same moment does nothing more.
			if r, err := f.s.ApplyRetention(context.Background(), f.resident.ID); err != nil || r.Action != RetentionNone {
				t.Fatalf("second ApplyRetention at %s: %+v, %v", st.at, r, err)
			}
		}
	}
	warnings, err := f.s.Notifications(context.Background(), "", 10)
	if err == nil && len(warnings) != 0 {
		t.Errorf("notifications survived the account's deletion: %+v", warnings)
	}
	if ok, _ := f.s.IsDigital(context.Background(), f.nid); ok {
		t.Error("a deleted account looks up as digital")
	}
	st, err := f.s.RetentionState(context.Background(), f.resident.ID)
	if err != nil || st.DeletedReason != DeletedForInactivity || !st.Deleted.Equal(due) {
		t.Errorf("tombstone: %+v, %v", st, err)
	}
	if err := f.s.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestInactivityWarningNotifies checks what a warning queues: one
// notification per chosen channel, announcing the deletion date.
func TestInactivityWarningNotifies(t *testing.T) {
	f := newFixture(t)
	p := DefaultRetentionPolicy()
	if _, err := f.s.SetNotificationPreferences(context.Background(), f.resident.ID, NotificationPreferences{
		Email: "anna@example.dk", EmailOn: true, Phone: "+45 12 34 56 78", SMSOn: true}); err != nil {
		t.Fatal(err)
	}
	due := f.clock.Now().AddDate(5, 0, 0)
	clockTo(f.clock, due.AddDate(0, 0, -30))
	r := applyDue(t, f.s, p)[f.resident.ID]
	if r.Action != RetentionWarned || !r.DeleteAt.Equal(due) {
		t.Fatalf("warning: %+v, want deletion at %s", r, due)
	}
	ns, err := f.s.DueNotifications(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Channel != ChannelEmail || ns[1].Channel != ChannelSMS || ns[1].To != "+4512345678" {
		t.Fatalf("notifications: %+v", ns)
	}
	for _, n := range ns {
		if n.Kind != NotifyInactivityWarning || !n.DeleteAt.Equal(due) {
			t.Errorf("notification %+v: want an inactivity warning for %s", n, due)
		}
	}
	f.s.retention = p
	st, err := f.s.InactivityStatus(context.Background(), f.resident.ID)
	if err != nil || !st.Applies || st.WarningsGiven != 1 || !st.DeleteAt.Equal(due) || st.Period != p.Inactivity {
		t.Errorf("InactivityStatus: %+v, %v", st, err)
	}
}

// TestInactivityLoginCancels: a login after a warning starts the period
// again, voids the warnings, and the old date passes without deletion.
func TestInactivityLoginCancels(t *testing.T) {
	f := newFixture(t)
	p := DefaultRetentionPolicy()
	due := f.clock.Now().AddDate(5, 0, 0)
	clockTo(f.clock, due.AddDate(0, 0, -30))
	if r := applyDue(t, f.s, p)[f.resident.ID]; r.Action != RetentionWarned {
		t.Fatalf("no warning: %+v", r)
	}
	clockTo(f.clock, due.AddDate(0, 0, -1))
	mb := mustLogin(t, f.s, f.nid, testPassword)
	f.s.retention = p
	st, err := mb.InactivityStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().AddDate(5, 0, 0); !st.DeleteAt.Equal(want) || st.WarningsGiven != 0 || !st.LastLogin.Equal(f.clock.Now()) {
		t.Errorf("after login: %+v, want deletion at %s and no warnings", st, want)
	}
	for _, at := range []time.Time{due, due.AddDate(0, 0, 1), due.AddDate(1, 0, 0)} {
		clockTo(f.clock, at)
		if got := applyDue(t, f.s, p); len(got) != 0 {
			t.Fatalf("at %s after a login: %+v", at, got)
		}
	}
	if _, err := f.s.Resident(context.Background(), f.resident.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.s.IsDigital(context.Background(), f.nid); !ok {
		t.Error("the account is no longer digital")
	}
}

// TestInactivityCatchUp: the appliance was down across both warnings and
// the deletion date. At the next run the resident gets one warning (not
// two) and the full shortest lead time before the account goes.
func TestInactivityCatchUp(t *testing.T) {
	f := newFixture(t)
	p := DefaultRetentionPolicy()
	due := f.clock.Now().AddDate(5, 0, 0)
	back := due.AddDate(3, 0, 0)
	clockTo(f.clock, back)
	r := applyDue(t, f.s, p)[f.resident.ID]
	if r.Action != RetentionWarned || !r.DeleteAt.Equal(back.AddDate(0, 0, 7)) {
		t.Fatalf("catch-up: %+v, want one warning announcing %s", r, back.AddDate(0, 0, 7))
	}
	if got := applyDue(t, f.s, p); len(got) != 0 {
		t.Fatalf("a second warning: %+v", got)
	}
	for _, st := range []struct {
		at   time.Time
		want RetentionAction
	}{
		{back.AddDate(0, 0, 6), RetentionNone},
		{back.AddDate(0, 0, 7).Add(-time.Second), RetentionNone},
		{back.AddDate(0, 0, 7), RetentionAccountDeleted},
	} {
		clockTo(f.clock, st.at)
		got := applyDue(t, f.s, p)[f.resident.ID].Action
		if got == "" {
			got = RetentionNone
		}
		if got != st.want {
			t.Fatalf("at %s: %s, want %s", st.at, got, st.want)
		}
	}
	var warns int
	for _, a := range auditActions(t, f.s) {
		if a == "warn-inactivity" {
			warns++
		}
	}
	if warns != 1 {
		t.Errorf("%d warnings in the audit log, want 1", warns)
	}
}

// TestInactivityWithoutWarnings: with no lead times the account goes on
// the day, without warning.
func TestInactivityWithoutWarnings(t *testing.T) {
	f := newFixture(t)
	p := RetentionPolicy{Inactivity: Period{Years: 1}, InactivityWarnings: []Period{}}
	due := f.clock.Now().AddDate(1, 0, 0)
	clockTo(f.clock, due.Add(-day))
	if got := applyDue(t, f.s, p); len(got) != 0 {
		t.Fatalf("a day before: %+v", got)
	}
	clockTo(f.clock, due)
	if got := applyDue(t, f.s, p)[f.resident.ID]; got.Action != RetentionAccountDeleted {
		t.Fatalf("on the day: %+v", got)
	}
}

// deceasedFixture is a resident with one letter from a public and one from
// a private sender, who died on diedOn.
func deceasedFixture(t *testing.T) (f *fixture, diedOn time.Time, public, private string) {
	t.Helper()
	f = newFixture(t)
	priv := mustSender(t, f.s, "Nordlys Energi A/S", "31572290", SenderPrivate)
	r1, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "public-1"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := f.s.Deliver(context.Background(), priv.ID, testDelivery(f.nid, "private-1"))
	if err != nil {
		t.Fatal(err)
	}
	diedOn = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clockTo(f.clock, diedOn.Add(36*time.Hour))
	if _, err := f.s.RecordDeath(context.Background(), f.nid, diedOn); err != nil {
		t.Fatal(err)
	}
	return f, diedOn, r1.Letter.ID, r2.Letter.ID
}

func mailboxLetters(t *testing.T, s *Store, residentID string) []string {
	t.Helper()
	var out []string
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		return forEachMailboxLetter(tx, residentID, func(r *letterRecord) error {
			out = append(out, r.ID)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeathRetentionEdges: after a recorded death, letters from private
// senders go 15 months after the date of death, from public senders five
// years after it, and the account when nothing is left.
func TestDeathRetentionEdges(t *testing.T) {
	f, diedOn, public, private := deceasedFixture(t)
	p := DefaultRetentionPolicy()

	if _, err := f.s.Login(context.Background(), f.nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a deceased resident logged in: %v", err)
	}
	if ok, _ := f.s.IsDigital(context.Background(), f.nid); ok {
		t.Error("a deceased resident looks up as digital")
	}
	privateEnd, publicEnd := diedOn.AddDate(0, 15, 0), diedOn.AddDate(5, 0, 0)
	for _, st := range []struct {
		at      time.Time
		want    RetentionAction
		letters []string
	}{
		{privateEnd.Add(-day), RetentionNone, []string{public, private}},
		{privateEnd.Add(-time.Second), RetentionNone, []string{public, private}},
		{privateEnd, RetentionLettersDeleted, []string{public}},
		{privateEnd.Add(day), RetentionNone, []string{public}},
		{publicEnd.Add(-day), RetentionNone, []string{public}},
		{publicEnd, RetentionAccountDeleted, nil},
		{publicEnd.Add(day), RetentionNone, nil},
	} {
		clockTo(f.clock, st.at)
		got := applyDue(t, f.s, p)[f.resident.ID].Action
		if got == "" {
			got = RetentionNone
		}
		if got != st.want {
			t.Fatalf("at %s: %s, want %s", st.at, got, st.want)
		}
		if st.want != RetentionAccountDeleted && st.at.Before(publicEnd) {
			left := mailboxLetters(t, f.s, f.resident.ID)
			slices.Sort(left)
			want := slices.Clone(st.letters)
			slices.Sort(want)
			if !slices.Equal(left, want) {
				t.Fatalf("at %s: letters %v, want %v", st.at, left, want)
			}
		}
	}
	st, err := f.s.RetentionState(context.Background(), f.resident.ID)
	if err != nil || st.DeletedReason != DeletedAfterDeath {
		t.Errorf("tombstone: %+v, %v", st, err)
	}
	if err := f.s.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestDeathCatchUp: after six years of downtime one run deletes it all.
func TestDeathCatchUp(t *testing.T) {
	f, diedOn, _, _ := deceasedFixture(t)
	clockTo(f.clock, diedOn.AddDate(6, 0, 0))
	r := applyDue(t, f.s, DefaultRetentionPolicy())[f.resident.ID]
	if r.Action != RetentionAccountDeleted || r.LettersDeleted != 2 {
		t.Fatalf("catch-up: %+v", r)
	}
	if err := f.s.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestRecordDeath(t *testing.T) {
	f := newFixture(t)
	mustLogin(t, f.s, f.nid, testPassword)
	tomorrow := f.clock.Now().Add(day)
	var inv *InvalidError
	if _, err := f.s.RecordDeath(context.Background(), f.nid, tomorrow); !errors.As(err, &inv) || inv.Field != "date" {
		t.Fatalf("a date of death in the future: %v", err)
	}
	res, err := f.s.RecordDeath(context.Background(), f.nid, f.clock.Now())
	if err != nil || res.Status != ResidentDeceased {
		t.Fatalf("RecordDeath today: %+v, %v", res, err)
	}
	if n := countKeys(t, f.s)["sessions"]; n != 0 {
		t.Errorf("%d sessions left after death", n)
	}
	if _, err := f.s.RecordDeath(context.Background(), testNID(t, 9), f.clock.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown resident: %v", err)
	}
	// A deceased resident without letters is deleted at the next run.
	if r := applyDue(t, f.s, DefaultRetentionPolicy())[f.resident.ID]; r.Action != RetentionAccountDeleted {
		t.Errorf("empty deceased account: %+v", r)
	}
	if _, err := f.s.RecordDeath(context.Background(), f.nid, f.clock.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("death of a deleted account: %v", err)
	}
}

// TestDeleteMailboxLeavesNothing deletes a full account at the resident's
// request and then looks through everything the engine of the pass
// keeps: only the tombstone and the audit log may mention the resident,
// and nothing of the keys or letters is left. On the cluster: every row
// of every table read raw (as text, bytea as hex; a secret in clear, in
// hex or in base64) and the bucket's objects.
func TestDeleteMailboxLeavesNothing(t *testing.T) {
	deleteMailboxLeavesNothing(t, newFixture(t))
}

// TestDeleteMailboxLeavesNothingFile is TestDeleteMailboxLeavesNothing
// in every bucket of the embedded engine's file, in both passes.
func TestDeleteMailboxLeavesNothingFile(t *testing.T) {
	deleteMailboxLeavesNothing(t, newEmbeddedFixture(t))
}

func deleteMailboxLeavesNothing(t *testing.T, f *fixture) {
	t.Helper()
	other := mustResident(t, f.s, testNID(t, 2), "Bo Berg")
	if _, err := f.s.SetNotificationPreferences(context.Background(), f.resident.ID, NotificationPreferences{Email: "anna@example.dk", EmailOn: true}); err != nil {
		t.Fatal(err)
	}
	var letters []string
	for _, ref := range []string{"a", "b", "c"} {
		r, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, ref))
		if err != nil {
			t.Fatal(err)
		}
		letters = append(letters, r.Letter.ID)
	}
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(testNID(t, 2), "for-bo")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PublishTerms(context.Background(), "Terms.", f.clock.Now().AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeliverTermsNotice(context.Background(), f.sender.ID, 1, f.resident.ID, testTermsWording); err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	mustLogin(t, f.s, f.nid, testPassword) // a second session
	var raw residentRecord
	if err := f.s.view(context.Background(), func(tx storage.Tx) error {
		r, err := tx.Residents().Get(f.resident.ID)
		if err == nil {
			raw = *r
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	if err := mb.DeleteMailbox(context.Background(), "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if len(mailboxLetters(t, f.s, f.resident.ID)) != 4 {
		t.Fatal("a refused deletion deleted letters")
	}
	if onEmbedded(f.s) {
		// The letters' big fields are kept beside their records: the
		// walk of every bucket below must find them gone from there.
		for _, id := range letters {
			if rawGet(t, f.s, bucketLetterParts, sealedKeyPartKey(id)) == nil {
				t.Fatalf("letter %s: no part of its sealed key in letter-parts before the deletion", id)
			}
		}
	}
	if err := mb.DeleteMailbox(context.Background(), testPassword); err != nil {
		t.Fatal(err)
	}

	secrets := [][]byte{raw.PasswordWrap, raw.RecoveryWrap, raw.PublicKey, []byte("Anna Andersen"), []byte("anna@example.dk")}
	if onEmbedded(f.s) {
		leftInFile(t, f, secrets, letters)
	} else {
		leftInCluster(t, f, secrets, letters)
	}
	if _, err := f.s.Login(context.Background(), f.nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("login to a deleted account: %v", err)
	}
	if _, _, err := f.s.AddResident(context.Background(), f.nid, "Anna Andersen", testPassword); !errors.Is(err, ErrExists) {
		t.Errorf("re-enrolment onto a tombstone: %v", err)
	}
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "after")); !errors.Is(err, ErrRecipientNotDigital) {
		t.Errorf("delivery to a deleted account: %v", err)
	}
	res, err := f.s.Resident(context.Background(), f.resident.ID)
	if err != nil || res.Status != ResidentDeleted || res.Name != "" {
		t.Errorf("tombstone: %+v, %v", res, err)
	}
	if got := mailboxLetters(t, f.s, other.ID); len(got) != 1 {
		t.Errorf("the other resident has %d letters, want 1", len(got))
	}
	if acts := auditActions(t, f.s); acts[len(acts)-1] != "delete-account-resident" {
		t.Errorf("last audit action %q", acts[len(acts)-1])
	}
	if err := f.s.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestOpenRefusesBadRetention: the store owns the retention policy, and
// one whose warning would come after the deletion it warns of does not
// open (it was the jobs' check before).
func TestOpenRefusesBadRetention(t *testing.T) {
	t.Parallel()
	opts := testOptions(newFakeClock())
	opts.Retention = RetentionPolicy{InactivityWarnings: []Period{{Years: 6}}}
	if s, err := Open(filepath.Join(t.TempDir(), "postkasse.db"), opts); err == nil {
		s.Close()
		t.Fatal("a store opened with a warning six years before a five-year deletion")
	}
}

// leftInFile reports every bucket entry of the embedded file that holds a
// secret or a letter of the deleted resident, or mentions them outside
// the tombstone's, the audit log's and the senders' buckets.
func leftInFile(t *testing.T, f *fixture, secrets [][]byte, letters []string) {
	t.Helper()
	err := f.s.testDB(t).View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				for _, sec := range secrets {
					if bytes.Contains(k, sec) || bytes.Contains(v, sec) {
						t.Errorf("bucket %s key %q still holds %q", name, k, sec)
					}
				}
				for _, id := range letters {
					if bytes.Contains(k, []byte(id)) && string(name) != "audit-log" {
						t.Errorf("bucket %s still has letter %s", name, id)
					}
				}
				mentions := bytes.Contains(k, []byte(f.resident.ID)) || bytes.Contains(v, []byte(f.resident.ID))
				switch string(name) {
				// The senders' events stay theirs for KeepEvents; a terms
				// notice's reference names the resident's (random) id.
				case "residents", "retention", "residents-by-nid", "audit-log", "events":
				default:
					if mentions {
						t.Errorf("bucket %s key %x still mentions the resident", name, k)
					}
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// leftInCluster is leftInFile on the cluster engine: every row of every
// table of its database, read as text (bytea as hex), must hold no
// secret (in clear, or in hex, in either case, of itself or of its
// base64 as a JSON record keeps bytes) and no letter id outside the
// audit log and the senders' events, and mention the resident only in the tables leftInFile
// allows; and the bucket keeps no object of the letters.
func leftInCluster(t *testing.T, f *fixture, secrets [][]byte, letters []string) {
	t.Helper()
	forms := func(b []byte) []string {
		return []string{string(b), hex.EncodeToString(b), hex.EncodeToString([]byte(base64.StdEncoding.EncodeToString(b)))}
	}
	clusterRows(t, f.s, func(table, text string) {
		text = strings.ToLower(text)
		for _, sec := range secrets {
			for _, form := range forms(sec) {
				if strings.Contains(text, strings.ToLower(form)) {
					t.Errorf("table %s still holds %q: %.120s", table, sec, text)
				}
			}
		}
		for _, id := range letters {
			for _, form := range forms([]byte(id)) {
				// The senders' events name their letters (for
				// KeepEvents, as the file's event values do).
				if strings.Contains(text, strings.ToLower(form)) && !strings.HasPrefix(table, "audit_") && table != "events" {
					t.Errorf("table %s still has letter %s", table, id)
				}
			}
		}
		mentions := false
		for _, form := range forms([]byte(f.resident.ID)) {
			mentions = mentions || strings.Contains(text, strings.ToLower(form))
		}
		switch table {
		// As leftInFile's: the tombstone, its retention record, the
		// audit log and the senders' events.
		case "residents", "retention", "audit_entries", "audit_hashes", "events":
		default:
			if mentions {
				t.Errorf("table %s still mentions the resident: %.120s", table, text)
			}
		}
	})
	for _, id := range letters {
		if found := findTraces(t, f.s, id, nil); len(found) != 0 {
			t.Errorf("letter %s left %v", id, found)
		}
	}
}
