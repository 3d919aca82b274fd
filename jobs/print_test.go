package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestPrintUnreadJob: the print-unread job runs every minute. Before a
// letter's unreadAfter it queues nothing; at that minute it queues the
// letter still unread (its sender's status says queued-for-print) and
// not the one its resident opened.
func TestPrintUnreadJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if got := e.s.jobs[JobPrintUnread].spec; got != "* * * * *" {
		t.Errorf("the print-unread job's schedule is %q, want every minute", got)
	}
	if _, err := e.st.NewPrintKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, nid := e.resident(email(1))
	at := start.Add(48 * time.Hour)
	var ids []string
	for _, ref := range []string{"opened", "unopened"} {
		r, err := e.st.Deliver(context.Background(), e.muni.ID, store.Delivery{
			Recipient: nid, Subject: "Indkaldelse " + ref, SenderReference: ref, Type: store.TypeNotice,
			Documents: []store.DocumentInput{{Name: "indkaldelse.pdf", ContentType: "application/pdf", Content: testsupport.PDF("Indkaldelse")}},
			Print: &store.PrintRequest{When: store.PrintUnreadAfter, UnreadAfter: at,
				Address: store.PrintAddress{Name: "Rita Ravn", Lines: []string{"Vestergade 3"}, PostalCode: "8000", City: "Aarhus C", Country: "DK"}},
		})
		if err != nil || r.Letter.Status != "delivered" {
			t.Fatalf("deliver %s: %+v, %v", ref, r, err)
		}
		ids = append(ids, r.Letter.ID)
	}
	sess, err := e.st.Login(context.Background(), nid.String(), testsupport.Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Letter(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	mb.Close()

	e.clock.Set(at.Add(-time.Minute))
	if r := e.run(JobPrintUnread, store.JobOK); r.Items != 0 || r.Detail != "0 unread letters queued for print" {
		t.Errorf("a minute early: %d items, %q", r.Items, r.Detail)
	}
	e.clock.Set(at)
	if r := e.run(JobPrintUnread, store.JobOK); r.Items != 1 || r.Detail != "1 unread letters queued for print" {
		t.Errorf("at the minute: %d items, %q", r.Items, r.Detail)
	}
	for i, want := range []string{"read", "queued-for-print"} {
		if st, err := e.st.LetterStatus(context.Background(), e.muni.ID, ids[i]); err != nil || st.Status != want {
			t.Errorf("status of letter %d: %+v, %v; want %s", i, st, err, want)
		}
	}
	if st, err := e.st.PrintStatus(context.Background()); err != nil || st.Queued != 1 {
		t.Errorf("print queue: %+v, %v", st, err)
	}
	if r := e.run(JobPrintUnread, store.JobOK); r.Items != 0 {
		t.Errorf("again: %d items, want 0", r.Items)
	}
}
