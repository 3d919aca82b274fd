package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/jobs/internal/testservers"
	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
)

const testPassword = testsupport.Password

// env is a store on a real bbolt file, a real SMTP server, a real SMS
// gateway and a scheduler over them, all on one fake clock.
type env struct {
	t     *testing.T
	clock *testsupport.Clock
	path  string
	st    *store.Store
	smtp  *testservers.SMTP
	gw    *testservers.Gateway
	muni  store.Sender
	cfg   Config
	// policy is the store's retention policy (store.Options.Retention).
	policy store.RetentionPolicy
	s      *Scheduler
	n      int // residents made

	closeStore func() // checks and closes the open store, once
}

// start is 22 November 2026, 10:00 UTC: 11:00 in Copenhagen, within the
// SMS sending hours.
var start = testsupport.Start

func newEnv(t *testing.T, edit func(*Config)) *env {
	t.Helper()
	return newEnvWithPolicy(t, store.RetentionPolicy{}, edit)
}

// newEnvWithPolicy is newEnv with a store that applies the given
// retention policy.
func newEnvWithPolicy(t *testing.T, policy store.RetentionPolicy, edit func(*Config)) *env {
	t.Helper()
	e := &env{t: t, clock: testsupport.NewClockAt(start), path: filepath.Join(t.TempDir(), "postkasse.db"), policy: policy}
	e.smtp = testservers.StartSMTP(t)
	e.gw = testservers.StartGateway(t)
	e.open()
	var err error
	if e.muni, err = e.st.AddSender(context.Background(), "Eksempelby Kommune", "29189846", store.SenderPublic); err != nil {
		t.Fatal(err)
	}
	e.cfg = Config{
		Clock:        e.clock.Now,
		Municipality: "29189846",
		BaseURL:      "https://post.eksempelby.dk/",
		SMTP: &notify.SMTPConfig{Host: e.smtp.Host, Port: e.smtp.Port, Username: e.smtp.Username, Password: e.smtp.Password,
			From: "Postkasse <noreply@post.eksempelby.dk>", RootCAs: e.smtp.RootCAs},
		SMS: &notify.SMSConfig{URL: e.gw.URL + "/sms", AuthHeader: "Authorization: Bearer gw-token"},
	}
	if edit != nil {
		edit(&e.cfg)
	}
	e.newScheduler()
	return e
}

// open opens the store at e.path and closes it at the end of the test,
// after checking it.
func (e *env) open() {
	e.t.Helper()
	st, err := store.Open(e.path, store.Options{KDF: testsupport.CheapKDF, Clock: e.clock.Now, Retention: e.policy})
	if err != nil {
		e.t.Fatal(err)
	}
	e.st = st
	closed := false
	e.closeStore = func() {
		if closed {
			return
		}
		closed = true
		if err := st.Check(context.Background()); err != nil {
			e.t.Errorf("Check: %v", err)
		}
		if err := st.CheckInvariants(context.Background()); err != nil {
			e.t.Errorf("CheckInvariants: %v", err)
		}
		if err := st.Close(); err != nil {
			e.t.Errorf("Close: %v", err)
		}
	}
	e.t.Cleanup(e.closeStore)
}

func (e *env) newScheduler() {
	e.t.Helper()
	cfg := e.cfg
	cfg.Store = e.st
	s, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.s = s
}

// restart simulates a crash and a new start: the store is closed and
// opened again (what was committed is what is left), and a new scheduler
// is built on it without the test hook.
func (e *env) restart() {
	e.t.Helper()
	e.closeStore()
	e.open()
	e.cfg.afterItem = nil
	e.newScheduler()
}

// resident enrols the next resident with the given notification
// preferences.
func (e *env) resident(prefs store.NotificationPreferences) (store.Resident, store.NationalID) {
	e.t.Helper()
	e.n++
	nid, err := store.ParseNationalID(fmt.Sprintf("%02d0190%04d", e.n%28+1, e.n))
	if err != nil {
		e.t.Fatal(err)
	}
	r, _, err := e.st.AddResident(context.Background(), nid, fmt.Sprintf("Resident %d", e.n), testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	if prefs != (store.NotificationPreferences{}) {
		if _, err := e.st.SetNotificationPreferences(context.Background(), r.ID, prefs); err != nil {
			e.t.Fatal(err)
		}
	}
	return r, nid
}

func email(i int) store.NotificationPreferences {
	return store.NotificationPreferences{Email: fmt.Sprintf("r%d@example.dk", i), EmailOn: true}
}

// deliver delivers a one-page letter from sender to nid.
func (e *env) deliver(senderID string, nid store.NationalID, ref string, sensitive bool) store.DeliveryResult {
	e.t.Helper()
	r, err := e.st.Deliver(context.Background(), senderID, store.Delivery{
		Recipient: nid, Subject: "Secret subject " + ref, Body: "Secret body", SenderReference: ref,
		Type: store.TypeDecision, Sensitive: sensitive,
		Documents: []store.DocumentInput{{Name: "afgoerelse.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4\n%%EOF\n")}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// run runs a job now and fails the test unless it ended as want.
func (e *env) run(name string, want store.JobOutcome) store.JobRun {
	e.t.Helper()
	r, err := e.s.RunNow(name)
	if err != nil {
		e.t.Fatalf("RunNow(%s): %v", name, err)
	}
	if r.Outcome != want {
		e.t.Fatalf("%s: outcome %s (%s), want %s", name, r.Outcome, r.Detail, want)
	}
	return r
}

// inbox returns the letters of a resident, logging in as them and, like
// the web UI asks them to, accepting terms of use in force first.
func (e *env) inbox(nid store.NationalID) []store.LetterSummary {
	e.t.Helper()
	sess, err := e.st.Login(context.Background(), nid.String(), testPassword)
	if err != nil {
		e.t.Fatalf("Login(%s): %v", nid, err)
	}
	defer e.st.Logout(context.Background(), sess.Token)
	mb, err := e.st.OpenSession(context.Background(), sess.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	defer mb.Close()
	if terms, pending, err := mb.PendingTerms(context.Background()); err != nil {
		e.t.Fatal(err)
	} else if pending {
		if err := mb.AcceptTerms(context.Background(), terms.Version); err != nil {
			e.t.Fatal(err)
		}
	}
	letters, err := mb.Inbox(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return letters
}

// mailsTo returns the decoded bodies of the mails to addr.
func (e *env) mailsTo(addr string) []string {
	e.t.Helper()
	var out []string
	for _, m := range e.smtp.Mails() {
		if len(m.To) == 1 && m.To[0] == addr {
			body, err := testservers.Body(m.Data)
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, body)
		}
	}
	return out
}
