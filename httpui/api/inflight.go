package api

import (
	"net/http"
)

// holdBody bounds r's body at max bytes (413 beyond) and holds its bytes
// against the server's bytes in flight while the handler reads them. When
// they do not fit it answers 503 UNAVAILABLE with Retry-After and false,
// before a byte is read; otherwise the caller calls release once it has
// answered. A body of unknown length that stops fitting halfway fails
// its reads with guard.ErrBytesInFlight, which ProblemFor answers with
// the same 503.
func (a *API) holdBody(w http.ResponseWriter, r *http.Request, max int64) (release func(), ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	if a.inFlight == nil {
		return func() {}, true
	}
	held, err := a.inFlight.Body(r.Body, r.ContentLength, max+1)
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return nil, false
	}
	r.Body = held
	return held.Release, true
}
