package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// Every request gets an id: the X-Request-Id header of its answer, its
// access log line and every other line logged about it carry it, so an
// operator can match a resident's or a sender's report ("the answer had
// X-Request-Id …") to the log.

// RequestHeader is the answer's header that carries the request id.
const RequestHeader = "X-Request-Id"

// requestInfo is what the outermost middleware learns about a request
// from the handlers further in: its route, once the router matched it.
type requestInfo struct {
	id    string
	route string
}

type requestInfoKey struct{}

// WithRequestID gives r a new request id, sets it on w's header, and
// returns r carrying it.
func WithRequestID(w http.ResponseWriter, r *http.Request) *http.Request {
	var b [8]byte
	rand.Read(b[:])
	info := &requestInfo{id: hex.EncodeToString(b[:]), route: "unmatched"}
	w.Header().Set(RequestHeader, info.id)
	return r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
}

// RequestID is r's request id; "" for a request that has none.
func RequestID(r *http.Request) string { return ContextRequestID(r.Context()) }

// ContextRequestID is the id of the request whose context ctx is.
func ContextRequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// NoteRoute records r's route name (RouteName) for the access log; the
// router calls it once it matched r.
func NoteRoute(r *http.Request) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.route = RouteName(r)
	}
}

// NotedRoute is the route NoteRoute recorded for r, or "unmatched".
func NotedRoute(r *http.Request) string {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return info.route
	}
	return "unmatched"
}
