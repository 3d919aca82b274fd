package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// publish publishes terms effective one month and a day from now.
func (e *env) publish(text string) store.Terms {
	e.t.Helper()
	terms, err := e.st.PublishTerms(context.Background(), text, e.clock.Now().AddDate(0, 1, 1))
	if err != nil {
		e.t.Fatal(err)
	}
	return terms
}

// countNotices returns how many notice letters each resident has.
func (e *env) countNotices(nids []store.NationalID) []int {
	e.t.Helper()
	var out []int
	for _, nid := range nids {
		n := 0
		for _, l := range e.inbox(nid) {
			if l.Type == store.TypeNotice && l.SenderID == e.muni.ID {
				n++
			}
		}
		out = append(out, n)
	}
	return out
}

// TestTermsNoticeJob: the notice reaches every active mailbox once, from
// the municipality, and is notified like any letter (to those who chose
// a channel); later runs deliver nothing. (That reserved mailboxes are
// skipped is tested in store.)
func TestTermsNoticeJob(t *testing.T) {
	e := newEnv(t, nil)
	var nids []store.NationalID
	for i := range 3 {
		_, nid := e.resident(email(i))
		nids = append(nids, nid)
	}
	_, rnid := e.resident(store.NotificationPreferences{})
	if r := e.run(JobTerms, store.JobOK); r.Detail != "no notice pending" {
		t.Errorf("before publishing: %s", r.Detail)
	}
	e.publish("§1 Postkasse is the municipality's digital mailbox.\n")
	r := e.run(JobTerms, store.JobOK)
	if r.Items != 4 || r.Detail != "4 notices delivered" {
		t.Fatalf("run: %+v", r)
	}
	if pending, _ := e.st.TermsNoticesPending(context.Background()); len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
	if r := e.run(JobTerms, store.JobOK); r.Items != 0 {
		t.Errorf("second run: %+v", r)
	}
	if got := e.countNotices(append(nids, rnid)); got[0] != 1 || got[1] != 1 || got[2] != 1 || got[3] != 1 {
		t.Errorf("notices per mailbox %v, want one each", got)
	}
	e.run(JobNotifications, store.JobOK)
	for i := range 3 {
		bodies := e.mailsTo(email(i).Email)
		if len(bodies) != 1 || !strings.Contains(bodies[0], "a new notice from Eksempelby Kommune") {
			t.Errorf("resident %d mails: %q", i, bodies)
		}
	}
}

// TestTermsNoticeJobKilled: the job dies after two of five mailboxes;
// after a restart every mailbox has exactly one notice.
func TestTermsNoticeJobKilled(t *testing.T) {
	for _, killAt := range []int{1, 2, 4} {
		e := newEnv(t, nil)
		var nids []store.NationalID
		for range 5 {
			_, nid := e.resident(store.NotificationPreferences{})
			nids = append(nids, nid)
		}
		e.publish("Terms.")
		e.cfg.afterItem = func(job string, n int) {
			if job == JobTerms && n == killAt {
				panic("killed")
			}
		}
		e.newScheduler()
		if r := e.run(JobTerms, store.JobPanicked); r.Items != killAt {
			t.Errorf("kill at %d: %+v", killAt, r)
		}
		e.restart()
		e.run(JobTerms, store.JobOK)
		e.run(JobTerms, store.JobOK)
		for i, n := range e.countNotices(nids) {
			if n != 1 {
				t.Errorf("kill at %d: mailbox %d has %d notices", killAt, i, n)
			}
		}
		if pending, _ := e.st.TermsNoticesPending(context.Background()); len(pending) != 0 {
			t.Errorf("kill at %d: still pending", killAt)
		}
	}
}

// TestTermsNoticeCatchUp: published, then the server was down past the
// effective date; at the next start the notice still goes out, and the
// residents must accept.
func TestTermsNoticeCatchUp(t *testing.T) {
	e := newEnv(t, nil)
	_, nid := e.resident(store.NotificationPreferences{})
	terms := e.publish("Terms v1.")
	e.restart()
	e.clock.Set(terms.Effective.Add(40 * 24 * time.Hour))
	e.s.Start()
	defer e.s.Stop(t.Context())
	waitFor(t, func() bool {
		runs, _ := e.st.JobRuns(context.Background())
		for _, r := range runs {
			if r.Job == JobTerms && r.Outcome == store.JobOK {
				return true
			}
		}
		return false
	})
	if got := e.countNotices([]store.NationalID{nid}); got[0] != 1 {
		t.Errorf("%d notices", got[0])
	}
}

// TestTermsNoticeJobWithoutMunicipality fails with an error that says
// what to configure, and delivers nothing.
func TestTermsNoticeJobWithoutMunicipality(t *testing.T) {
	for _, muni := range []string{"", "12345674"} {
		e := newEnv(t, func(c *Config) { c.Municipality = muni })
		_, nid := e.resident(store.NotificationPreferences{})
		e.publish("Terms.")
		r := e.run(JobTerms, store.JobFailed)
		if !strings.Contains(r.Detail, "municipality") {
			t.Errorf("municipality %q: detail %q", muni, r.Detail)
		}
		if got := e.countNotices([]store.NationalID{nid}); got[0] != 0 {
			t.Errorf("municipality %q: a notice was delivered", muni)
		}
	}
	// A private sender cannot send the notice.
	e := newEnv(t, nil)
	if _, err := e.st.AddSender(context.Background(), "Fjordbanken", "27183646", store.SenderPrivate); err != nil {
		t.Fatal(err)
	}
	e.cfg.Municipality = "27183646"
	e.newScheduler()
	e.resident(store.NotificationPreferences{})
	e.publish("Terms.")
	if r := e.run(JobTerms, store.JobFailed); !strings.Contains(r.Detail, "public sender") {
		t.Errorf("private sender: %q", r.Detail)
	}
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTermsNoticeInResidentsLanguage: the notice of new terms is written
// in the language each resident chose, from the catalogue; a resident who
// chose none gets the default language.
func TestTermsNoticeInResidentsLanguage(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var nids []store.NationalID
	for _, lang := range []string{"da", "nb", ""} {
		_, nid := e.resident(store.NotificationPreferences{})
		nids = append(nids, nid)
		if lang == "" {
			continue
		}
		sess, err := e.st.Login(ctx, nid.String(), testPassword)
		if err != nil {
			t.Fatal(err)
		}
		mb, err := e.st.OpenSession(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := mb.SetLanguage(ctx, lang); err != nil {
			t.Fatal(err)
		}
		mb.Close()
	}
	e.publish("§1 Postkasse er kommunens digitale postkasse.\n")
	e.run(JobTerms, store.JobOK)
	for i, want := range []string{"Nye vilkår for din digitale postkasse fra ", "Nye vilkår for den digitale postkassen din fra ", "New terms of use from "} {
		var notice *store.LetterSummary
		for _, l := range e.inbox(nids[i]) {
			if l.Type == store.TypeNotice {
				notice = &l
			}
		}
		if notice == nil || !strings.HasPrefix(notice.Subject, want) {
			t.Errorf("resident %d: notice %+v, want a subject starting %q", i, notice, want)
		}
	}
}
