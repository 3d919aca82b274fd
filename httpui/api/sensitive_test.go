package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// TestDeliverSensitive: "sensitive": true reaches the store, so the
// letter's notifications leave out the sender's name; without it, or
// with false, they name the sender. A non-boolean is refused.
func TestDeliverSensitive(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	anna := e.AddResident(uitest.NIDAnna, "Anna Jensen")
	if _, err := e.Store.SetNotificationPreferences(context.Background(), anna.ID, store.NotificationPreferences{
		Email: "anna@example.dk", EmailOn: true, Phone: "+4512345678", SMSOn: true,
	}); err != nil {
		t.Fatal(err)
	}
	s := e.AddSender("Psykiatrisk Klinik", "29189846")

	for _, tc := range []struct {
		ref       string
		sensitive any // nil: the field is left out
		named     bool
	}{
		{"plain", nil, true},
		{"not-sensitive", false, true},
		{"sensitive", true, false},
	} {
		msg := uitest.LetterMessage(uitest.NIDAnna, "Your appointment", tc.ref)
		if tc.sensitive != nil {
			msg["sensitive"] = tc.sensitive
		}
		before, err := e.Store.Notifications(context.Background(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("letter.pdf", "application/pdf", uitest.PDFDoc))
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("%s: %d %s", tc.ref, r.StatusCode, r.Text)
		}
		after, err := e.Store.Notifications(context.Background(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		queued := after[len(before):] // the outbox keeps the order of queueing
		if len(queued) != 2 {
			t.Fatalf("%s: %d notifications queued, want one per channel (2)", tc.ref, len(queued))
		}
		for _, n := range queued {
			want := ""
			if tc.named {
				want = "Psykiatrisk Klinik"
			}
			if n.SenderName != want {
				t.Errorf("%s: %s notification names the sender %q, want %q", tc.ref, n.Channel, n.SenderName, want)
			}
		}
	}

	msg := uitest.LetterMessage(uitest.NIDAnna, "Your appointment", "bad")
	msg["sensitive"] = "yes"
	r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("letter.pdf", "application/pdf", uitest.PDFDoc))
	if p := uitest.WantProblem(t, r, http.StatusBadRequest, "INVALID_REQUEST"); p.Detail == "" {
		t.Fatal("no detail")
	}
}
