package web

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/store"
)

// Problem is an RFC 9457 problem detail with the API's stable machine code
// as an extension member (API.md, "Errors").
type Problem struct {
	Type string `json:"type"`
	// Title is set by WriteProblem from the catalogue ("problem.<code>").
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// RetryAfter, when set, becomes the Retry-After header (RFC 9110
	// §10.2.3).
	RetryAfter time.Duration `json:"-"`
}

// UnavailableRetry is what a client is told to wait when the store could
// not take a change.
const UnavailableRetry = 5 * time.Second

// ProblemUnauthenticated is 401 UNAUTHENTICATED with detail.
func ProblemUnauthenticated(detail string) Problem {
	return Problem{Status: http.StatusUnauthorized, Code: "UNAUTHENTICATED", Detail: detail}
}

// ProblemInvalid is 400 INVALID_REQUEST with detail.
func ProblemInvalid(detail string) Problem {
	return Problem{Status: http.StatusBadRequest, Code: "INVALID_REQUEST", Detail: detail}
}

// ProblemInternal is 500 INTERNAL, which tells nothing of the cause.
func ProblemInternal() Problem {
	return Problem{Status: http.StatusInternalServerError, Code: "INTERNAL",
		Detail: "the server could not handle the request; nothing was stored"}
}

// ProblemFor maps an error of the store (or of parsing a request) to the
// problem the API answers with. The details of domain errors are written
// for senders and are shown; anything else is logged and answered with a
// generic 500 that leaks nothing.
func (k *Kit) ProblemFor(r *http.Request, err error) Problem {
	var invalid *store.InvalidError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &invalid):
		return ProblemInvalid(invalid.Error())
	case errors.Is(err, store.ErrInvalidNationalID):
		return ProblemInvalid(err.Error())
	case errors.Is(err, store.ErrUnknownRecipient):
		return Problem{Status: http.StatusNotFound, Code: "UNKNOWN_RECIPIENT",
			Detail: "no mailbox for that national identity number" + notPrinted(err)}
	case errors.Is(err, store.ErrRecipientNotDigital):
		return Problem{Status: http.StatusUnprocessableEntity, Code: "RECIPIENT_NOT_DIGITAL",
			Detail: "the recipient has not activated the mailbox yet, has opted out of digital post, or the mailbox is closed" + notPrinted(err)}
	case errors.Is(err, store.ErrSenderBlocked):
		return Problem{Status: http.StatusUnprocessableEntity, Code: "SENDER_BLOCKED", Title: "Recipient does not accept letters from this sender",
			Detail: "the recipient has refused letters from this sender; send the letter another way"}
	case errors.Is(err, store.ErrNotScheduled):
		return Problem{Status: http.StatusConflict, Code: "NOT_SCHEDULED",
			Detail: "the letter is not scheduled: it was delivered (or its time has come), and a delivered letter cannot be withdrawn"}
	case errors.Is(err, store.ErrDuplicateReference):
		return Problem{Status: http.StatusConflict, Code: "DUPLICATE_REFERENCE",
			Detail: err.Error()}
	case errors.As(err, &tooBig):
		return Problem{Status: http.StatusRequestEntityTooLarge, Code: "DOCUMENT_TOO_LARGE",
			Detail: "the request is over " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
	case errors.Is(err, store.ErrDocumentTooLarge):
		return Problem{Status: http.StatusRequestEntityTooLarge, Code: "DOCUMENT_TOO_LARGE",
			Detail: err.Error()}
	case errors.Is(err, store.ErrUnsupportedDocumentType):
		return Problem{Status: http.StatusUnsupportedMediaType, Code: "UNSUPPORTED_DOCUMENT_TYPE",
			Detail: err.Error()}
	case errors.Is(err, store.ErrNoSignatureRequest):
		return Problem{Status: http.StatusNotFound, Code: "NO_SIGNATURE",
			Detail: "the letter has no signature: the resident has not signed it (yet), or it asks for none"}
	case errors.Is(err, store.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Code: "NOT_FOUND", Detail: "no such letter"}
	case errors.Is(err, store.ErrUnknownSender), errors.Is(err, store.ErrSenderRevoked):
		return ProblemUnauthenticated("the client certificate is bound to no active sender")
	case errors.Is(err, guard.ErrBytesInFlight):
		return Problem{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE",
			Detail:     "the server is reading as many letters as it may at once; nothing was stored; try again later",
			RetryAfter: UnavailableRetry}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		k.Log.Warn("store unavailable", "route", RouteName(r), "err", err, "id", RequestID(r))
		return Problem{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE",
			Detail: "nothing was stored; try again later", RetryAfter: UnavailableRetry}
	}
	k.Log.Error("internal error", "method", r.Method, "route", RouteName(r), "err", err, "id", RequestID(r))
	return ProblemInternal()
}

// WriteProblem sends p as application/problem+json.
func (k *Kit) WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	// The title is for people (RFC 9457 §3.1.3), in the language of the
	// request's Accept-Language; the code stays the same in every one.
	if t, err := k.Lang(r).Translate("problem." + p.Code); err == nil {
		p.Title = t
	} else if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", RetryAfter(p.RetryAfter))
	}
	k.WriteJSON(w, r, p.Status, "application/problem+json", p)
}

// WriteJSON sends v as JSON with the given status.
func (k *Kit) WriteJSON(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		k.Log.Error("encode response", "route", RouteName(r), "err", err, "id", RequestID(r))
		status, body = http.StatusInternalServerError, []byte(`{"type":"about:blank","title":"Internal error","status":500,"code":"INTERNAL","detail":""}`)
		contentType = "application/problem+json"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// RetryAfter formats a wait as whole seconds, rounded up, at least 1.
func RetryAfter(d time.Duration) string {
	secs := int64(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}

// notPrinted tells a sender why a letter with print details to a
// recipient who takes no digital post was not queued for print.
func notPrinted(err error) string {
	if errors.Is(err, store.ErrNoPrintKey) {
		return "; not queued for print: the appliance's operator has not set up printing yet (postkasse print key)"
	}
	return ""
}
