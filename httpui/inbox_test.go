package httpui

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

// A letter the store could not open (store.LetterSummary.Error) is listed
// as such, with its id to quote, and without a link to a page that would
// fail; the other letters are listed as usual.
func TestInboxShowsUnreadableLetter(t *testing.T) {
	e := newEnv(t, envOptions{})
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	v := inboxView{Letters: []inboxLine{
		{LetterSummary: store.LetterSummary{ID: "0123456789abcdef0123456789abcdef", DeliveredAt: at, Error: errors.New("damaged record")}},
		{LetterSummary: store.LetterSummary{ID: "fedcba9876543210fedcba9876543210", SenderName: "Eksempelby Kommune",
			Subject: "A letter that opens", Type: store.TypeLetter, DeliveredAt: at}},
	}}
	rec := httptest.NewRecorder()
	e.server.render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "inbox", view{Title: "Inbox", Data: v})
	body := rec.Body.String()
	for _, want := range []string{"This letter cannot be opened", "0123456789abcdef0123456789abcdef", "A letter that opens", "/letters/fedcba9876543210fedcba9876543210"} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox page lacks %q", want)
		}
	}
	if strings.Contains(body, "/letters/0123456789abcdef0123456789abcdef") {
		t.Error("the unreadable letter links to its page")
	}
	if strings.Contains(body, "damaged record") {
		t.Error("the store's error text is shown to the resident")
	}
}
