package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/jobs/internal/testservers"
	"github.com/postkasse/postkasse/store"
)

// TestNotificationsByEmailAndSMS: a delivery's notifications arrive at a
// real SMTP server and a real SMS gateway, with the sender's name but
// never the subject or content, and without the sender for a sensitive
// letter; a second run sends nothing again.
func TestNotificationsByEmailAndSMS(t *testing.T) {
	e := newEnv(t, nil)
	both := store.NotificationPreferences{Email: "anna@example.dk", EmailOn: true, Phone: "+4512345678", SMSOn: true}
	_, nid := e.resident(both)
	_, quiet := e.resident(store.NotificationPreferences{})
	e.deliver(e.muni.ID, nid, "plain", false)
	e.deliver(e.muni.ID, nid, "sensitive", true)
	e.deliver(e.muni.ID, quiet, "nobody-told", false)

	r := e.run(JobNotifications, store.JobOK)
	if r.Items != 4 || !strings.HasPrefix(r.Detail, "4 sent") {
		t.Fatalf("run: %+v", r)
	}
	mails := e.smtp.Mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails", len(mails))
	}
	bodies := e.mailsTo("anna@example.dk")
	if !strings.Contains(bodies[0], "a new decision from Eksempelby Kommune") || !strings.Contains(bodies[0], "https://post.eksempelby.dk/") {
		t.Errorf("mail for the plain letter:\n%s", bodies[0])
	}
	if strings.Contains(bodies[1], "Eksempelby") || !strings.Contains(bodies[1], "a new letter in your digital mailbox") {
		t.Errorf("mail for the sensitive letter names the sender:\n%s", bodies[1])
	}
	for _, m := range mails {
		if !m.TLS || m.AuthUser == "" {
			t.Errorf("mail sent without TLS or AUTH")
		}
		for _, secret := range []string{"Secret", "afgoerelse"} {
			if strings.Contains(string(m.Data), secret) {
				t.Errorf("mail holds %q:\n%s", secret, m.Data)
			}
		}
		if subj := testservers.Header(m.Data, "Subject"); subj != "New letter in your digital mailbox" {
			t.Errorf("subject %q", subj)
		}
	}
	sms := e.gw.Requests()
	if len(sms) != 2 {
		t.Fatalf("%d SMS", len(sms))
	}
	var texts []string
	for _, r := range sms {
		var body struct{ To, Text, Reference string }
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.To != "+4512345678" || r.Header.Get("Authorization") != "Bearer gw-token" || r.Header.Get("Idempotency-Key") != `"`+body.Reference+`"` {
			t.Errorf("SMS request %v %+v", r.Header, body)
		}
		if strings.Contains(body.Text, "Secret") {
			t.Errorf("SMS holds the subject: %q", body.Text)
		}
		texts = append(texts, body.Text)
	}
	if !strings.Contains(texts[0], "from Eksempelby Kommune") || strings.Contains(texts[1], "Eksempelby") {
		t.Errorf("SMS texts %q", texts)
	}

	// Nothing is sent twice.
	e.clock.Advance(time.Hour)
	if r := e.run(JobNotifications, store.JobOK); r.Items != 0 {
		t.Errorf("second run: %+v", r)
	}
	if len(e.smtp.Mails()) != 2 || len(e.gw.Requests()) != 2 {
		t.Errorf("sent again: %d mails, %d SMS", len(e.smtp.Mails()), len(e.gw.Requests()))
	}
	if c, _ := e.st.OutboxCounts(context.Background()); c[store.NotificationSent] != 4 {
		t.Errorf("outbox %v", c)
	}
}

// TestSMSSendingHoursEdges: an SMS due at 08:59 Copenhagen time waits
// until 09:00, one due at 20:00 until 09:00 the next day; e-mail goes at
// once.
func TestSMSSendingHoursEdges(t *testing.T) {
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	local := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, cph)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	e := newEnv(t, nil)
	_, nid := e.resident(store.NotificationPreferences{Email: "a@example.dk", EmailOn: true, Phone: "+4512345678", SMSOn: true})

	e.clock.Set(local("2026-11-23 08:59"))
	e.deliver(e.muni.ID, nid, "early", false)
	e.run(JobNotifications, store.JobOK)
	if len(e.smtp.Mails()) != 1 || len(e.gw.Requests()) != 0 {
		t.Fatalf("at 08:59: %d mails, %d SMS; want 1 and 0", len(e.smtp.Mails()), len(e.gw.Requests()))
	}
	e.clock.Set(local("2026-11-23 08:59").Add(59 * time.Second))
	e.run(JobNotifications, store.JobOK)
	if len(e.gw.Requests()) != 0 {
		t.Fatal("SMS sent before 09:00")
	}
	e.clock.Set(local("2026-11-23 09:00"))
	e.run(JobNotifications, store.JobOK)
	if len(e.gw.Requests()) != 1 {
		t.Fatalf("at 09:00: %d SMS, want 1", len(e.gw.Requests()))
	}

	e.clock.Set(local("2026-11-23 19:59"))
	e.deliver(e.muni.ID, nid, "evening-ok", false)
	e.run(JobNotifications, store.JobOK)
	if len(e.gw.Requests()) != 2 {
		t.Fatalf("at 19:59: %d SMS, want 2", len(e.gw.Requests()))
	}
	e.clock.Set(local("2026-11-23 20:00"))
	e.deliver(e.muni.ID, nid, "evening-late", false)
	e.run(JobNotifications, store.JobOK)
	if len(e.gw.Requests()) != 2 {
		t.Fatal("SMS sent at 20:00")
	}
	due, _ := e.st.Notifications(context.Background(), store.NotificationPending, 10)
	if len(due) != 1 || !due[0].NextAttempt.Equal(local("2026-11-24 09:00")) || due[0].Attempts != 0 {
		t.Fatalf("deferred SMS: %+v", due)
	}
	e.clock.Set(local("2026-11-24 08:00"))
	e.run(JobNotifications, store.JobOK)
	e.clock.Set(local("2026-11-24 09:00"))
	e.run(JobNotifications, store.JobOK)
	if len(e.gw.Requests()) != 3 || len(e.smtp.Mails()) != 3 {
		t.Fatalf("next morning: %d SMS, %d mails; want 3 and 3", len(e.gw.Requests()), len(e.smtp.Mails()))
	}
}

// TestNotificationRetriesAndDead: a gateway that keeps failing gets the
// configured number of attempts with doubling waits, then the
// notification is dead; a recipient the mail server refuses for good is
// dead at once.
func TestNotificationRetriesAndDead(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Retry = store.RetryPolicy{MaxAttempts: 3, FirstBackoff: time.Minute, MaxBackoff: time.Hour}
	})
	_, nid := e.resident(store.NotificationPreferences{Email: "gone@example.dk", EmailOn: true, Phone: "+4512345678", SMSOn: true})
	e.smtp.Reject("gone@example.dk", 550)
	e.gw.Answer(http.StatusServiceUnavailable)
	e.deliver(e.muni.ID, nid, "l1", false)

	r := e.run(JobNotifications, store.JobOK)
	if !strings.Contains(r.Detail, "1 to retry, 1 dead") {
		t.Errorf("first run: %s", r.Detail)
	}
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute} {
		e.clock.Advance(wait - time.Second)
		e.run(JobNotifications, store.JobOK)
		if n := len(e.gw.Requests()); n != i+1 {
			t.Fatalf("retried before the backoff: %d requests", n)
		}
		e.clock.Advance(time.Second)
		e.run(JobNotifications, store.JobOK)
		if n := len(e.gw.Requests()); n != i+2 {
			t.Fatalf("after backoff %s: %d requests, want %d", wait, n, i+2)
		}
	}
	e.clock.Advance(24 * time.Hour)
	e.run(JobNotifications, store.JobOK)
	if n := len(e.gw.Requests()); n != 3 {
		t.Errorf("%d requests to the gateway, want 3", n)
	}
	dead, _ := e.st.Notifications(context.Background(), store.NotificationDead, 10)
	if len(dead) != 2 {
		t.Fatalf("dead: %+v", dead)
	}
	for _, n := range dead {
		want := 3
		if n.Channel == store.ChannelEmail {
			want = 1
		}
		if n.Attempts != want || n.LastError == "" {
			t.Errorf("dead %s notification: %d attempts (want %d), error %q", n.Channel, n.Attempts, want, n.LastError)
		}
	}
	if len(e.smtp.Mails()) != 0 {
		t.Error("a refused mail arrived")
	}
	// The operator fixes the gateway and requeues.
	e.gw.Answer(http.StatusOK)
	for _, n := range dead {
		if err := e.st.RequeueNotification(context.Background(), n.ID); err != nil {
			t.Fatal(err)
		}
	}
	e.smtp.Reject("gone@example.dk", 0)
	if r := e.run(JobNotifications, store.JobOK); !strings.HasPrefix(r.Detail, "2 sent") {
		t.Errorf("after requeue: %s", r.Detail)
	}
}

// TestNotificationsMailServerDown: while the server answers 421, each
// e-mail fails once per run and is tried again later.
func TestNotificationsMailServerDown(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 3 {
		_, nid := e.resident(email(i))
		e.deliver(e.muni.ID, nid, fmt.Sprint("l", i), false)
	}
	e.smtp.SetDown(true)
	if r := e.run(JobNotifications, store.JobOK); !strings.Contains(r.Detail, "3 to retry") {
		t.Errorf("server down: %s", r.Detail)
	}
	e.smtp.SetDown(false)
	e.clock.Advance(time.Minute)
	if r := e.run(JobNotifications, store.JobOK); !strings.HasPrefix(r.Detail, "3 sent") {
		t.Errorf("server back: %s", r.Detail)
	}
	if len(e.smtp.Mails()) != 3 {
		t.Errorf("%d mails", len(e.smtp.Mails()))
	}
}

// TestNotificationsKilled: the job dies after two of five e-mails; after
// a restart the rest go out and none is sent twice.
func TestNotificationsKilled(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 5 {
		_, nid := e.resident(email(i))
		e.deliver(e.muni.ID, nid, fmt.Sprint("l", i), false)
	}
	e.cfg.afterItem = func(job string, n int) {
		if job == JobNotifications && n == 2 {
			panic("killed")
		}
	}
	e.newScheduler()
	r := e.run(JobNotifications, store.JobPanicked)
	if r.Items != 2 || !strings.Contains(r.Detail, "killed") {
		t.Errorf("killed run: %+v", r)
	}
	if n := len(e.smtp.Mails()); n != 2 {
		t.Fatalf("%d mails before the kill, want 2", n)
	}
	e.restart()
	if runs, _ := e.st.JobRuns(context.Background()); len(runs) != 1 || runs[0].Outcome != store.JobPanicked {
		t.Errorf("recorded runs after restart: %+v", runs)
	}
	e.run(JobNotifications, store.JobOK)
	ids := map[string]bool{}
	for _, m := range e.smtp.Mails() {
		id := testservers.Header(m.Data, "Message-ID")
		if ids[id] {
			t.Errorf("%s sent twice", id)
		}
		ids[id] = true
	}
	if len(ids) != 5 {
		t.Errorf("%d distinct mails, want 5", len(ids))
	}
}

// TestNotificationsWithoutServers: with no SMTP or SMS configured the
// notifications wait, without counting attempts.
func TestNotificationsWithoutServers(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SMTP, c.SMS = nil, nil })
	_, nid := e.resident(store.NotificationPreferences{Email: "a@example.dk", EmailOn: true, Phone: "+4512345678", SMSOn: true})
	e.deliver(e.muni.ID, nid, "l", false)
	e.run(JobNotifications, store.JobOK)
	pending, _ := e.st.Notifications(context.Background(), store.NotificationPending, 10)
	if len(pending) != 2 {
		t.Fatalf("pending: %+v", pending)
	}
	for _, n := range pending {
		if n.Attempts != 0 || !n.NextAttempt.Equal(e.clock.Now().Add(time.Hour)) {
			t.Errorf("waiting notification %+v", n)
		}
	}
}
