package httpui

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/postkasse/postkasse/store"
)

// problem is an RFC 9457 problem detail with the API's stable machine code
// as an extension member (API.md, "Errors").
type problem struct {
	Type string `json:"type"`
	// Title is set by writeProblem from the catalogue ("problem.<code>").
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// retryAfter, when set, becomes the Retry-After header (RFC 9110
	// §10.2.3).
	retryAfter time.Duration
}

// unavailableRetry is what a client is told to wait when the store could
// not take a change.
const unavailableRetry = 5 * time.Second

func problemUnauthenticated(detail string) problem {
	return problem{Status: http.StatusUnauthorized, Code: "UNAUTHENTICATED", Detail: detail}
}

func problemInvalid(detail string) problem {
	return problem{Status: http.StatusBadRequest, Code: "INVALID_REQUEST", Detail: detail}
}

func problemInternal() problem {
	return problem{Status: http.StatusInternalServerError, Code: "INTERNAL",
		Detail: "the server could not handle the request; nothing was stored"}
}

// problemFor maps an error of the store (or of parsing a request) to the
// problem the API answers with. The details of domain errors are written
// for senders and are shown; anything else is logged and answered with a
// generic 500 that leaks nothing.
func (s *Server) problemFor(r *http.Request, err error) problem {
	var invalid *store.InvalidError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &invalid):
		return problemInvalid(invalid.Error())
	case errors.Is(err, store.ErrInvalidNationalID):
		return problemInvalid(err.Error())
	case errors.Is(err, store.ErrUnknownRecipient):
		return problem{Status: http.StatusNotFound, Code: "UNKNOWN_RECIPIENT",
			Detail: "no mailbox for that national identity number"}
	case errors.Is(err, store.ErrRecipientNotDigital):
		return problem{Status: http.StatusUnprocessableEntity, Code: "RECIPIENT_NOT_DIGITAL",
			Detail: "the recipient has not activated the mailbox yet, has opted out of digital post, or the mailbox is closed"}
	case errors.Is(err, store.ErrSenderBlocked):
		return problem{Status: http.StatusUnprocessableEntity, Code: "SENDER_BLOCKED", Title: "Recipient does not accept letters from this sender",
			Detail: "the recipient has refused letters from this sender; send the letter another way"}
	case errors.Is(err, store.ErrDuplicateReference):
		return problem{Status: http.StatusConflict, Code: "DUPLICATE_REFERENCE",
			Detail: err.Error()}
	case errors.As(err, &tooBig):
		return problem{Status: http.StatusRequestEntityTooLarge, Code: "DOCUMENT_TOO_LARGE",
			Detail: "the request is over " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
	case errors.Is(err, store.ErrDocumentTooLarge):
		return problem{Status: http.StatusRequestEntityTooLarge, Code: "DOCUMENT_TOO_LARGE",
			Detail: err.Error()}
	case errors.Is(err, store.ErrUnsupportedDocumentType):
		return problem{Status: http.StatusUnsupportedMediaType, Code: "UNSUPPORTED_DOCUMENT_TYPE",
			Detail: err.Error()}
	case errors.Is(err, store.ErrNotFound):
		return problem{Status: http.StatusNotFound, Code: "NOT_FOUND", Detail: "no such letter"}
	case errors.Is(err, store.ErrUnknownSender), errors.Is(err, store.ErrSenderRevoked):
		return problemUnauthenticated("the client certificate is bound to no active sender")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		s.log.Warn("store unavailable", "route", routeName(r), "err", err)
		return problem{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE",
			Detail: "nothing was stored; try again later", retryAfter: unavailableRetry}
	}
	s.log.Error("internal error", "method", r.Method, "route", routeName(r), "err", err)
	return problemInternal()
}

// writeProblem sends p as application/problem+json.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	// The title is for people (RFC 9457 §3.1.3), in the language of the
	// request's Accept-Language; the code stays the same in every one.
	if t, err := s.lang(r).Translate("problem." + p.Code); err == nil {
		p.Title = t
	} else if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", retryAfter(p.retryAfter))
	}
	s.writeJSON(w, r, p.Status, "application/problem+json", p)
}

// writeJSON sends v as JSON with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode response", "route", routeName(r), "err", err)
		status, body = http.StatusInternalServerError, []byte(`{"type":"about:blank","title":"Internal error","status":500,"code":"INTERNAL","detail":""}`)
		contentType = "application/problem+json"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// retryAfter formats a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	secs := int64(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}
