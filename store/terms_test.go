package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Copenhagen on a machine without zoneinfo
)

func copenhagen(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestPublishTermsOneMonth: an effective date less than one calendar
// month after the publishing date is refused, with the earliest date in
// the message; on and after it is accepted.
func TestPublishTermsOneMonth(t *testing.T) {
	cph := copenhagen(t)
	for _, tc := range []struct {
		now       time.Time
		effective string
		ok        bool
	}{
		{time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "2026-12-21", false},
		{time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "2026-12-22", true},
		{time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "2026-12-23", true},
		{time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "2026-11-22", false},
		{time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "2025-01-01", false},
		// 31 January + one month is the last day of February.
		{time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC), "2027-02-27", false},
		{time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC), "2027-02-28", true},
		// 23:30 UTC on 21 November is already 22 November in Copenhagen.
		{time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC), "2026-12-21", false},
		{time.Date(2026, 11, 21, 22, 30, 0, 0, time.UTC), "2026-12-21", true},
	} {
		t.Run(tc.now.Format(time.RFC3339)+"→"+tc.effective, func(t *testing.T) {
			clock := newFakeClock()
			clockTo(clock, tc.now)
			s := openTestStore(t, testOptions(clock))
			eff, err := time.ParseInLocation(time.DateOnly, tc.effective, cph)
			if err != nil {
				t.Fatal(err)
			}
			terms, err := s.PublishTerms(context.Background(), "§1 The mailbox is yours.\n", eff)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if terms.Version != 1 || terms.EffectiveDate != tc.effective || !terms.Effective.Equal(eff) {
					t.Errorf("published %+v", terms)
				}
				return
			}
			if !errors.Is(err, ErrTermsNoticePeriod) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
			earliest := addMonthsClamped(startOfDay(tc.now.In(cph)), 1).Format(time.DateOnly)
			if !strings.Contains(err.Error(), "earliest effective date is "+earliest) {
				t.Errorf("error %q does not name the earliest date %s", err, earliest)
			}
			if all, _ := s.AllTerms(context.Background()); len(all) != 0 {
				t.Errorf("a refused version was stored: %+v", all)
			}
		})
	}
}

func TestPublishTermsRefusals(t *testing.T) {
	f := newFixture(t)
	eff := f.clock.Now().AddDate(0, 2, 0)
	var inv *InvalidError
	for _, text := range []string{"", "  \n", "bad \x00 byte", strings.Repeat("x", MaxTermsSize+1)} {
		if _, err := f.s.PublishTerms(context.Background(), text, eff); !errors.As(err, &inv) {
			t.Errorf("text %.20q: %v", text, err)
		}
	}
	if _, err := f.s.PublishTerms(context.Background(), "v1", eff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PublishTerms(context.Background(), "v2", eff); !errors.As(err, &inv) || inv.Field != "effective" {
		t.Errorf("second version on the same date: %v", err)
	}
	v2, err := f.s.PublishTerms(context.Background(), "v2", eff.AddDate(0, 0, 1))
	if err != nil || v2.Version != 2 {
		t.Fatalf("second version: %+v, %v", v2, err)
	}
}

// TestPendingTermsEdges: before the effective date nothing is pending;
// from it, the resident must accept the version in force.
func TestPendingTermsEdges(t *testing.T) {
	f := newFixture(t)
	eff := startOfDay(f.clock.Now()).AddDate(0, 1, 0)
	if _, err := f.s.PublishTerms(context.Background(), "Version one.", eff); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at      time.Time
		pending bool
	}{
		{eff.Add(-day), false},
		{eff.Add(-time.Second), false},
		{eff, true},
		{eff.Add(day), true},
	} {
		clockTo(f.clock, tc.at)
		mb := mustLogin(t, f.s, f.nid, testPassword)
		terms, ok, err := mb.PendingTerms(context.Background())
		if err != nil || ok != tc.pending {
			t.Fatalf("at %s: pending %v, %v; want %v", tc.at, ok, err, tc.pending)
		}
		if ok && (terms.Version != 1 || terms.Text != "Version one.") {
			t.Errorf("pending terms %+v", terms)
		}
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if err := mb.AcceptTerms(context.Background(), 2); !errors.Is(err, ErrTermsOutdated) {
		t.Errorf("accepting a version not in force: %v", err)
	}
	if err := mb.AcceptTerms(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := mb.AcceptTerms(context.Background(), 1); err != nil {
		t.Errorf("accepting again: %v", err)
	}
	if _, ok, _ := mb.PendingTerms(context.Background()); ok {
		t.Error("still pending after accepting")
	}
	if v, at, err := f.s.TermsAccepted(context.Background(), f.resident.ID); v != 1 || !at.Equal(f.clock.Now()) || err != nil {
		t.Errorf("TermsAccepted = %d %s %v", v, at, err)
	}

	// Version 2 published now, in force a month later: pending only then.
	eff2 := startOfDay(f.clock.Now()).AddDate(0, 1, 1)
	if _, err := f.s.PublishTerms(context.Background(), "Version two.", eff2); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := mb.PendingTerms(context.Background()); ok {
		t.Error("version 2 pending before its date")
	}
	clockTo(f.clock, eff2)
	mb = mustLogin(t, f.s, f.nid, testPassword)
	if terms, ok, _ := mb.PendingTerms(context.Background()); !ok || terms.Version != 2 {
		t.Errorf("version 2 not pending on its date: %+v %v", terms, ok)
	}
	if err := mb.AcceptTerms(context.Background(), 1); !errors.Is(err, ErrTermsOutdated) {
		t.Errorf("accepting the old version: %v", err)
	}
}

// TestTermsNoticeOnce delivers the notice to every active mailbox once;
// reserved mailboxes are skipped, and a second pass delivers nothing.
func TestTermsNoticeOnce(t *testing.T) {
	f := newFixture(t)
	bo := mustResident(t, f.s, testNID(t, 2), "Bo Berg")
	res := mustResident(t, f.s, testNID(t, 3), "Cai Carlsen")
	setResidentStatus(t, f.s, res.ID, ResidentReserved)
	text := "§1 New terms.\n§2 In full.\n"
	terms, err := f.s.PublishTerms(context.Background(), text, f.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	for pass := range 2 {
		ids, err := f.s.TermsNoticeRecipients(context.Background(), terms.Version)
		if err != nil {
			t.Fatal(err)
		}
		if pass == 1 && len(ids) != 0 {
			t.Fatalf("second pass: recipients %v", ids)
		}
		for _, id := range []string{f.resident.ID, bo.ID, res.ID} {
			delivered, err := f.s.DeliverTermsNotice(context.Background(), f.sender.ID, terms.Version, id, testTermsWording)
			if err != nil {
				t.Fatal(err)
			}
			if want := pass == 0 && id != res.ID; delivered != want {
				t.Errorf("pass %d resident %s: delivered %v, want %v", pass, id, delivered, want)
			}
		}
	}
	if left, err := f.s.FinishTermsNotices(context.Background(), terms.Version); err != nil || left != 0 {
		t.Fatalf("FinishTermsNotices: %d, %v", left, err)
	}
	if pending, _ := f.s.TermsNoticesPending(context.Background()); len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	inbox, err := mb.Inbox(context.Background())
	if err != nil || len(inbox) != 1 || inbox[0].Type != TypeNotice || inbox[0].SenderID != f.sender.ID {
		t.Fatalf("inbox: %+v, %v", inbox, err)
	}
	doc, err := mb.Document(context.Background(), inbox[0].ID, 0)
	if err != nil || string(doc.Content) != text {
		t.Errorf("the notice does not hold the terms in full: %q, %v", doc.Content, err)
	}
	if got := len(mailboxLetters(t, f.s, res.ID)); got != 0 {
		t.Errorf("reserved mailbox got %d letters", got)
	}
}

// TestTermsNoticeCrashBeforeMarker: the notice letter committed but the
// process died before the marker; the next call finds the letter by its
// reference and delivers no second one.
func TestTermsNoticeCrashBeforeMarker(t *testing.T) {
	f := newFixture(t)
	terms, err := f.s.PublishTerms(context.Background(), "Terms.", f.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	var d Delivery
	rec := &termsRecord{Version: terms.Version, Text: terms.Text, EffectiveDate: terms.EffectiveDate}
	raw := &residentRecord{ID: f.resident.ID, Country: f.nid.Country, NationalID: f.nid.Number}
	d = termsNotice(rec, raw, testTermsWording("", terms.Version, terms.EffectiveDate))
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, d); err != nil {
		t.Fatal(err)
	}
	delivered, err := f.s.DeliverTermsNotice(context.Background(), f.sender.ID, terms.Version, f.resident.ID, testTermsWording)
	if err != nil || delivered {
		t.Fatalf("after the crash: delivered %v, %v", delivered, err)
	}
	if n := len(mailboxLetters(t, f.s, f.resident.ID)); n != 1 {
		t.Fatalf("%d letters, want 1", n)
	}
	if ids, _ := f.s.TermsNoticeRecipients(context.Background(), terms.Version); len(ids) != 0 {
		t.Errorf("no marker: %v", ids)
	}
}

func TestTermsNoticeFromPrivateSenderRefused(t *testing.T) {
	f := newFixture(t)
	priv := mustSender(t, f.s, "Fjordbanken", "27183646", SenderPrivate)
	terms, err := f.s.PublishTerms(context.Background(), "Terms.", f.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeliverTermsNotice(context.Background(), priv.ID, terms.Version, f.resident.ID, testTermsWording); err == nil || !strings.Contains(err.Error(), "public sender") {
		t.Errorf("private sender: %v", err)
	}
	if got, err := f.s.SenderByOrgNumber(context.Background(), "55133018"); err != nil || got.ID != f.sender.ID {
		t.Errorf("SenderByOrgNumber: %+v, %v", got, err)
	}
	if _, err := f.s.SenderByOrgNumber(context.Background(), "12345678"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
}

// testTermsWording words terms notices as the store's tests expect them.
func testTermsWording(language string, version int, effective string) TermsNoticeText {
	return TermsNoticeText{
		Subject:  "New terms of use from " + effective,
		Body:     fmt.Sprintf("The terms of use change on %s (version %d).", effective, version),
		FileName: fmt.Sprintf("terms-of-use-version-%d.txt", version),
	}
}
