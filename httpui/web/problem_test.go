package web_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// TestProblemFor: every store error maps to its status and code; internal
// errors are logged and their text never reaches the client.
func TestProblemFor(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load(assets.FS(), "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &uitest.SyncBuffer{}
	k := &web.Kit{Cat: cat, Log: slog.New(slog.NewTextHandler(logs, nil))}
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
		{wrap(store.ErrNotScheduled), 409, "NOT_SCHEDULED"},
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
			k.WriteProblem(rec, req, k.ProblemFor(req, tc.err))
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
	if !strings.Contains(logs.String(), "secret internal state") {
		t.Error("the internal error was not logged")
	}
}
