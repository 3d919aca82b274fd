package httpui

import (
	"net"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// middleware wraps the router: the access log outermost (it sees every
// answer, a recovered panic's 500 too), then panic recovery, then the
// security headers (so that every response carries them, refusals
// included), then the choice of language (web/language.go), then the
// cross-origin protection of non-safe requests, then the note of the
// device a request comes from (withDevice). Outside them all, the bound
// on a stalled body (boundStalls), which needs the server's own
// ResponseWriter.
func (s *Server) middleware(h http.Handler) http.Handler {
	h = withDevice(h)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	h = cop.Handler(h)
	h = s.web.WithLanguage(h)
	h = web.SecurityHeaders(h)
	return boundStalls(s.accessLog(s.recoverPanics(h)), s.bodyStall)
}

// accessLog gives every request an id (web.WithRequestID) and logs one
// line when it is answered: method, route name (never the path, which
// may hold a letter's id), status, duration and the id. No national
// identity number, name or address of a resident is in it.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = web.WithRequestID(w, r)
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.log.Info("request", "method", r.Method, "route", web.NotedRoute(r), "status", sw.code,
			"duration", time.Since(start).Round(time.Microsecond).String(), "id", web.RequestID(r))
	})
}

// recoverPanics turns a panic in a handler into a logged 500, so one bad
// request cannot take the server down or leak a stack trace.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in handler", "method", r.Method, "route", web.RouteName(r), "panic", v, "id", web.RequestID(r))
			if web.IsAPI(r) {
				s.web.WriteProblem(w, r, web.ProblemInternal())
			} else {
				s.pages.ErrorPage(w, r, http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// crossOriginDenied answers a non-safe request that a browser marked as
// cross-site.
func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	if web.IsAPI(r) {
		s.web.WriteProblem(w, r, web.Problem{Status: http.StatusForbidden, Code: "FORBIDDEN",
			Detail: "cross-origin request refused"})
		return
	}
	s.pages.ErrorPage(w, r, http.StatusForbidden)
}

// withDevice notes in the request's context the device it comes from
// (store.WithDevice): the User-Agent header and the TCP peer's address,
// which a session started by the request keeps for the resident's list of
// sessions. X-Forwarded-For is not trusted: it is whatever the client
// says.
func withDevice(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			addr = r.RemoteAddr
		}
		next.ServeHTTP(w, r.WithContext(store.WithDevice(r.Context(), store.Device{UserAgent: r.UserAgent(), Address: addr})))
	})
}
