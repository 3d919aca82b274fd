package jobs

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// TestComposeLanguages: a notification is written in the language the
// resident chose (English when none), e-mail and SMS alike, with the date
// as that language writes it, and never with the subject of the letter.
func TestComposeLanguages(t *testing.T) {
	e := newEnv(t, nil)
	delivered := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang    string
		channel store.Channel
		kind    store.NotificationKind
		want    []string
	}{
		{"", store.ChannelEmail, store.NotifyLetter, []string{"Hello,", "a new decision from Eksempelby Kommune", "1 December 2026", "Log in to read it: https://post.eksempelby.dk/"}},
		{"da", store.ChannelEmail, store.NotifyLetter, []string{"Hej", "en ny afgørelse fra Eksempelby Kommune", "den 1. december 2026", "Log ind og læs: https://post.eksempelby.dk/", "Venlig hilsen\nPostkasse"}},
		{"nb", store.ChannelEmail, store.NotifyLetter, []string{"Hei!", "et nytt vedtak fra Eksempelby Kommune", "1. desember 2026", "Logg inn og les: https://post.eksempelby.dk/", "Med vennlig hilsen\nPostkasse"}},
		{"da", store.ChannelSMS, store.NotifyLetter, []string{"Postkasse: Du har fået en ny afgørelse fra Eksempelby Kommune i din digitale postkasse."}},
		{"nb", store.ChannelSMS, store.NotifyLetter, []string{"Postkasse: Du har fått et nytt vedtak fra Eksempelby Kommune i den digitale postkassen din."}},
		{"da", store.ChannelEmail, store.NotifyInactivityWarning, []string{"bliver slettet den 1. december 2026", "Log ind: https://post.eksempelby.dk/"}},
		{"nb", store.ChannelSMS, store.NotifyInactivityWarning, []string{"blir slettet 1. desember 2026"}},
		{"", store.ChannelEmail, store.NotifyMailboxReset, []string{"was reset on 1 December 2026", "contact the municipality at once", "— Postkasse"}},
		{"da", store.ChannelEmail, store.NotifyMailboxReset, []string{"blev nulstillet den 1. december 2026", "kontakt kommunen med det samme", "Venlig hilsen\nPostkasse"}},
		{"nb", store.ChannelSMS, store.NotifyMailboxReset, []string{"Postkasse: Den digitale postkassen din ble tilbakestilt 1. desember 2026", "kontakte kommunen med en gang"}},
	} {
		n := store.Notification{ID: "n1", Kind: tc.kind, Channel: tc.channel, To: "anna@example.dk", Language: tc.lang,
			SenderName: "Eksempelby Kommune", LetterType: store.TypeDecision, DeliveredAt: delivered, DeleteAt: delivered, Created: delivered}
		msg := e.s.compose(n)
		for _, w := range tc.want {
			if !strings.Contains(msg.Text, w) {
				t.Errorf("%s %s %s: %q lacks %q", tc.lang, tc.channel, tc.kind, msg.Text, w)
			}
		}
		if msg.Subject == "" || strings.Contains(msg.Subject+msg.Text, "{{") || strings.Contains(msg.Subject+msg.Text, "notify.") {
			t.Errorf("%s %s %s: subject %q, text %q", tc.lang, tc.channel, tc.kind, msg.Subject, msg.Text)
		}
		if tc.lang == "" {
			continue
		}
		// No English sentence of the catalogue in another language.
		for _, id := range e.s.cat.IDs("en") {
			for _, text := range e.s.cat.Forms("en", id) {
				for _, frag := range regexp.MustCompile(`{{[^}]*}}|\n`).Split(text, -1) {
					if frag = strings.TrimSpace(frag); len(strings.Fields(frag)) >= 3 && strings.Contains(msg.Subject+"\n"+msg.Text, frag) {
						t.Errorf("%s %s %s: English %q (%s)", tc.lang, tc.channel, tc.kind, frag, id)
					}
				}
			}
		}
	}
}
