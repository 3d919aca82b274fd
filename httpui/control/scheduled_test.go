package control

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Copenhagen on a bare machine

	"github.com/postkasse/postkasse/store"
)

// TestScheduledOperations runs the operations of the scheduled work
// (terms, deaths, jobs' status) against both implementations: the
// Operator directly and the Client over a real socket.
func TestScheduledOperations(t *testing.T) {
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"direct", "socket"} {
		t.Run(mode, func(t *testing.T) {
			op := newOperator(t)
			op.Location = cph
			var ops Operations = op
			if mode == "socket" {
				c, err := Dial(context.Background(), serveSocket(t, op))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				ops = c
			}
			testScheduledOperations(t, mode, op, ops, cph)
		})
	}
}

func testScheduledOperations(t *testing.T, mode string, op *Operator, ops Operations, cph *time.Location) {
	ctx := context.Background()
	today := time.Now().In(cph)

	// Terms: less than a month's notice is refused with a message that
	// names the earliest date, and keeps its meaning over the socket.
	text := "§1 The mailbox is yours.\n" + strings.Repeat("§ <Terms> & conditions. ", 10000) // over 64 KiB in JSON
	_, err := ops.PublishTerms(ctx, TermsRequest{Text: text, Effective: today.AddDate(0, 0, 10).Format(time.DateOnly)})
	if !errors.Is(err, store.ErrTermsNoticePeriod) || !strings.Contains(err.Error(), "less than one month") ||
		!strings.Contains(err.Error(), "the earliest effective date is") {
		t.Fatalf("terms effective in 10 days: %v", err)
	}
	var ce *Error
	if mode == "socket" && (!errors.As(err, &ce) || ce.Status != 400 || ce.Code != codeTermsNoticePeriod) {
		t.Fatalf("over the socket: %#v, want 400 %s", err, codeTermsNoticePeriod)
	}
	effective := today.AddDate(0, 2, 0).Format(time.DateOnly)
	published, err := ops.PublishTerms(ctx, TermsRequest{Text: text, Effective: effective})
	if err != nil {
		t.Fatal(err)
	}
	day, _ := time.ParseInLocation(time.DateOnly, effective, cph)
	if published.Version != 1 || published.EffectiveDate != effective || !published.Effective.Equal(day) ||
		published.Size != len(text) || published.NoticesDone != nil {
		t.Fatalf("published %+v; want version 1 effective at %v (midnight in Copenhagen)", published, day)
	}
	if stored, err := op.Store.TermsVersion(context.Background(), 1); err != nil || stored.Text != text {
		t.Fatalf("stored terms: %v (same text: %v)", err, stored.Text == text)
	}
	for _, tc := range []struct {
		req  TermsRequest
		want func(error) bool
	}{
		{TermsRequest{Text: text, Effective: "next month"}, isInvalid},
		{TermsRequest{Text: text, Effective: effective}, isInvalid}, // not after version 1
		{TermsRequest{Text: "  ", Effective: today.AddDate(0, 3, 0).Format(time.DateOnly)}, isInvalid},
	} {
		if _, err := ops.PublishTerms(ctx, tc.req); !tc.want(err) {
			t.Errorf("PublishTerms(%.40q, %s) = %v", tc.req.Text, tc.req.Effective, err)
		}
	}
	if _, err := op.Store.FinishTermsNotices(context.Background(), 1); err != nil { // no active residents: done
		t.Fatal(err)
	}
	list, err := ops.Terms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Version != 1 || list[0].NoticesDone == nil || list[0].Size != len(text) {
		t.Fatalf("terms %+v", list)
	}

	// Deaths.
	nr, err := ops.EnrolResident(ctx, ResidentRequest{NationalID: "1203861234", Name: "Anna Jensen"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Store.Activate(context.Background(), "1203861234", nr.ActivationCode, "a long enough password"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  DeathRequest
		want func(error) bool
	}{
		{DeathRequest{NationalID: "1203861234", Date: today.AddDate(0, 0, 2).Format(time.DateOnly)}, isInvalid},
		{DeathRequest{NationalID: "1203861234", Date: "yesterday"}, isInvalid},
		{DeathRequest{NationalID: "3213861234", Date: today.Format(time.DateOnly)}, func(err error) bool {
			return errors.Is(err, store.ErrInvalidNationalID) || errors.Is(err, ErrBadRequest)
		}},
		{DeathRequest{NationalID: "0101701234", Date: today.Format(time.DateOnly)}, func(err error) bool { return errors.Is(err, store.ErrNotFound) }},
	} {
		if _, err := ops.RecordDeath(ctx, tc.req); !tc.want(err) {
			t.Errorf("RecordDeath(%+v) = %v", tc.req, err)
		}
	}
	died, err := ops.RecordDeath(ctx, DeathRequest{NationalID: "120386-1234", Date: today.Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	if died.Name != "Anna Jensen" || died.Status != string(store.ResidentDeceased) {
		t.Fatalf("after RecordDeath: %+v", died)
	}
	if _, err := op.Store.Login(context.Background(), "1203861234", "a long enough password"); !errors.Is(err, store.ErrBadCredentials) {
		t.Fatalf("a deceased resident's login: %v", err)
	}

	// Jobs: without a scheduler a clear refusal; with one, its status.
	if _, err := ops.Jobs(ctx); !errors.Is(err, ErrNoScheduler) {
		t.Fatalf("Jobs without a scheduler: %v", err)
	}
	started := time.Date(2026, 11, 22, 3, 17, 0, 0, time.UTC)
	want := []JobInfo{
		{Name: "terms-notices", Schedule: "*/5 * * * *", Next: started.Add(3 * time.Minute)},
		{Name: "retention", Schedule: "17 3 * * *", Next: started.Add(24 * time.Hour), Running: true,
			Last: JobRun(store.JobRun{Job: "retention", Started: started, Outcome: store.JobRunning})},
		{Name: "notifications", Schedule: "@every 30s", Next: started.Add(30 * time.Second),
			Last: JobRun(store.JobRun{Job: "notifications", Started: started, Finished: started.Add(time.Second), Outcome: store.JobOK, Items: 2, Detail: "2 sent"})},
	}
	op.JobStatus = func() ([]JobInfo, error) { return want, nil }
	got, err := ops.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Last != nil || got[1].Last == nil || got[1].Last.Finished != nil || !got[1].Running ||
		got[2].Last == nil || got[2].Last.Finished == nil || !got[2].Last.Finished.Equal(started.Add(time.Second)) ||
		got[2].Last.Items != 2 || got[2].Last.Detail != "2 sent" || !got[2].Next.Equal(want[2].Next) {
		t.Fatalf("jobs %+v", got)
	}
}
