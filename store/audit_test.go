package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestAuditLog(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	nid := testNID(t, 1)
	r := mustResident(t, s, nid, "Anna Andersen")
	clock.Advance(time.Second)
	snd := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	clock.Advance(time.Second)
	if err := s.BindCertificate(context.Background(), snd.ID, newTestCert(t, "aarhus")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	res, err := s.Deliver(context.Background(), snd.ID, testDelivery(nid, "audit-1"))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	// Refusals and repeats log nothing.
	if _, err := s.Deliver(context.Background(), snd.ID, testDelivery(nid, "audit-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(context.Background(), nid.String(), "wrong password"); err == nil {
		t.Fatal("login with a wrong password")
	}
	sess, err := s.Login(context.Background(), nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	mb, err := s.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Letter(context.Background(), res.Letter.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Document(context.Background(), res.Letter.ID, 0); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	clock.Advance(time.Second)
	if err := s.Logout(context.Background(), sess.Token); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if err := s.RevokeSender(context.Background(), snd.ID); err != nil {
		t.Fatal(err)
	}

	start := newFakeClock().Now()
	resident, sender, letter := "resident:"+r.ID, "sender:"+snd.ID, "letter:"+res.Letter.ID
	want := []AuditEntry{
		// AddResident is enrolment by the operator and activation by
		// the resident.
		{Seq: 1, Time: start, Actor: "operator", Action: "enrol-resident", Object: resident},
		{Seq: 2, Time: start, Actor: resident, Action: "activate", Object: resident},
		{Seq: 3, Time: start.Add(1 * time.Second), Actor: "operator", Action: "add-sender", Object: sender},
		{Seq: 4, Time: start.Add(2 * time.Second), Actor: "operator", Action: "bind-certificate", Object: sender},
		{Seq: 5, Time: start.Add(3 * time.Second), Actor: sender, Action: "deliver", Object: letter},
		{Seq: 6, Time: start.Add(4 * time.Second), Actor: resident, Action: "login", Object: resident},
		{Seq: 7, Time: start.Add(5 * time.Second), Actor: resident, Action: "read", Object: letter},
		{Seq: 8, Time: start.Add(6 * time.Second), Actor: resident, Action: "logout", Object: resident},
		{Seq: 9, Time: start.Add(7 * time.Second), Actor: "operator", Action: "revoke-sender", Object: sender},
	}
	got, err := s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("audit log:\n%s\nwant:\n%s", formatAudit(got), formatAudit(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !g.Time.Equal(w.Time) || g.Actor != w.Actor || g.Action != w.Action || g.Object != w.Object {
			t.Errorf("entry %d = %+v\nwant      %+v", i, g, w)
		}
	}
}

func formatAudit(log []AuditEntry) string {
	var out string
	for _, e := range log {
		out += fmt.Sprintf("  %d %s %s %s %s\n", e.Seq, e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Object)
	}
	return out
}
