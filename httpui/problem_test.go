package httpui

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestProblemFor: every store error maps to its status and code; internal
// errors are logged and their text never reaches the client.
func TestProblemFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	wrap := func(err error) error { return fmt.Errorf("letter 1234: %w", err) }
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{&store.InvalidError{Field: "subject", Reason: "missing"}, 400, "INVALID_REQUEST"},
		{wrap(&store.InvalidError{Field: "dueDate", Reason: "bad"}), 400, "INVALID_REQUEST"},
		{wrap(store.ErrInvalidNationalID), 400, "INVALID_REQUEST"},
		{wrap(store.ErrUnknownRecipient), 404, "UNKNOWN_RECIPIENT"},
		{wrap(store.ErrRecipientNotDigital), 422, "RECIPIENT_NOT_DIGITAL"},
		{wrap(store.ErrDuplicateReference), 409, "DUPLICATE_REFERENCE"},
		{wrap(store.ErrDocumentTooLarge), 413, "DOCUMENT_TOO_LARGE"},
		{&http.MaxBytesError{Limit: 10}, 413, "DOCUMENT_TOO_LARGE"},
		{wrap(store.ErrUnsupportedDocumentType), 415, "UNSUPPORTED_DOCUMENT_TYPE"},
		{wrap(store.ErrNotFound), 404, "NOT_FOUND"},
		{wrap(store.ErrUnknownSender), 401, "UNAUTHENTICATED"},
		{wrap(store.ErrSenderRevoked), 401, "UNAUTHENTICATED"},
		{fmt.Errorf("%w: write /data/postkasse.db: no space left on device", store.ErrUnavailable), 503, "UNAVAILABLE"},
		{store.ErrClosed, 503, "UNAVAILABLE"},
		{errors.New("secret internal state at /data/postkasse.db"), 500, "INTERNAL"},
	} {
		t.Run(tc.code+" "+tc.err.Error(), func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/messages/x", nil)
			rec := httptest.NewRecorder()
			e.server.web.WriteProblem(rec, req, e.server.web.ProblemFor(req, tc.err))
			r := &uitest.Response{Response: rec.Result(), Text: rec.Body.String()}
			p := uitest.WantProblem(t, r, tc.status, tc.code)
			if strings.Contains(p.Detail, "/data/") || strings.Contains(p.Detail, "secret") {
				t.Errorf("detail leaks internals: %q", p.Detail)
			}
			if tc.status == 503 && r.Header.Get("Retry-After") != "5" {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
		})
	}
	if !strings.Contains(e.Logs.String(), "secret internal state") {
		t.Error("the internal error was not logged")
	}
}

// TestSessionExpiry: an idle session sends the browser back to the login
// page and clears the cookie.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	clock := testsupport.NewClock()
	e := newEnv(t, envOptions{storeClock: clock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Fatalf("inbox: %d", r.StatusCode)
	}
	clock.Advance(31 * time.Minute) // the store's default idle limit is 30 minutes
	r := e.Get(b, e.HTTPURL+"/")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("expired session: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	cleared := false
	for _, c := range r.Cookies() {
		cleared = cleared || (c.Name == "postkasse" && c.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("cookie not cleared: %v", r.Header["Set-Cookie"])
	}
	// A forged or garbled token is the same as none.
	for _, token := range []string{"garbage", strings.Repeat("A", 64), ""} {
		c := e.Browser()
		req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/letters/"+strings.Repeat("0", 32), nil)
		req.AddCookie(&http.Cookie{Name: "postkasse", Value: token})
		if r := e.Do(c, req); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("token %q: %d", token, r.StatusCode)
		}
	}
}
