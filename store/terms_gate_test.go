package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTermsGate: while terms of use are in force that the resident has
// not accepted, the mailbox opens no letter, document or setting
// (ErrTermsNotAccepted), whatever the web layer does; the terms, the
// language and accepting pass, and after accepting everything opens.
func TestTermsGate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "gate"))
	if err != nil {
		t.Fatal(err)
	}
	eff := startOfDay(f.clock.Now()).AddDate(0, 1, 0)
	terms, err := f.s.PublishTerms(context.Background(), "Version one.", eff)
	if err != nil {
		t.Fatal(err)
	}
	clockTo(f.clock, eff.Add(time.Hour))
	mb := mustLogin(t, f.s, f.nid, testPassword)
	gated := map[string]func() error{
		"Inbox":                   func() error { _, err := mb.Inbox(context.Background()); return err },
		"Letter":                  func() error { _, err := mb.Letter(context.Background(), res.Letter.ID); return err },
		"Document":                func() error { _, err := mb.Document(context.Background(), res.Letter.ID, 0); return err },
		"NotificationPreferences": func() error { _, err := mb.NotificationPreferences(context.Background()); return err },
		"SetNotificationPreferences": func() error {
			_, err := mb.SetNotificationPreferences(context.Background(), NotificationPreferences{})
			return err
		},
	}
	for name, call := range gated {
		if err := call(); !errors.Is(err, ErrTermsNotAccepted) {
			t.Errorf("%s with terms to accept: %v, want ErrTermsNotAccepted", name, err)
		}
	}
	if st, _ := f.s.LetterStatus(context.Background(), f.sender.ID, res.Letter.ID); !st.ReadAt.IsZero() {
		t.Error("the gated Letter marked the letter read")
	}
	if _, pending, err := mb.PendingTerms(context.Background()); err != nil || !pending {
		t.Errorf("PendingTerms = %v, %v", pending, err)
	}
	if err := mb.SetLanguage(context.Background(), "da"); err != nil {
		t.Errorf("SetLanguage behind the gate: %v", err)
	}
	if err := mb.AcceptTerms(context.Background(), terms.Version); err != nil {
		t.Fatal(err)
	}
	for name, call := range gated {
		if err := call(); err != nil {
			t.Errorf("%s after accepting: %v", name, err)
		}
	}
}
