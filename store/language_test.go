package store

import (
	"context"
	"errors"
	"testing"
)

// TestLanguage: a resident's chosen language is refused unless it is one
// of Languages, is kept across sessions and notification settings, and
// goes with every notification queued after it was chosen.
func TestLanguage(t *testing.T) {
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if got := mb.Language(); got != "" {
		t.Fatalf("language before any choice: %q, want none", got)
	}
	for _, bad := range []string{"", "de", "no", "NB", "da-DK", "en\x00"} {
		var inv *InvalidError
		if err := mb.SetLanguage(context.Background(), bad); !errors.As(err, &inv) || inv.Field != "lang" {
			t.Errorf("SetLanguage(%q): %v, want an invalid lang", bad, err)
		}
	}
	if err := mb.SetLanguage(context.Background(), "nb"); err != nil {
		t.Fatal(err)
	}
	if got := mb.Language(); got != "nb" {
		t.Errorf("after SetLanguage: %q", got)
	}
	// Notification settings keep the language, and a new session has it.
	if _, err := mb.SetNotificationPreferences(context.Background(), NotificationPreferences{Email: "anna@example.dk", EmailOn: true}); err != nil {
		t.Fatal(err)
	}
	if got := mustLogin(t, f.s, f.nid, testPassword).Language(); got != "nb" {
		t.Errorf("a new session's language: %q, want nb", got)
	}
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "lang-1")); err != nil {
		t.Fatal(err)
	}
	due, err := f.s.DueNotifications(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Language != "nb" {
		t.Fatalf("notifications %+v, want one in nb", due)
	}
}
