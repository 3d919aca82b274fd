package httpui

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// Content-Security-Policy values (CSP Level 3, W3C).
const (
	// cspPage is the policy of every page and every other response: only
	// our own style sheet, no scripts at all, forms only to ourselves, no
	// framing by anybody.
	cspPage = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// cspLetterPage adds the framed main document to cspPage.
	cspLetterPage = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// cspDocument is the policy of a served document: a sandbox without
	// scripts, forms or same-origin rights, only inline styles and data:
	// images (remote images in sanitised HTML never load), framed only by
	// our own letter page.
	cspDocument = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
)

// middleware wraps the router: panic recovery outermost, then the
// security headers (so that every response carries them, refusals
// included), then the choice of language (language.go), then the
// cross-origin protection of non-safe requests.
func (s *Server) middleware(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	h = cop.Handler(h)
	h = s.withLanguage(h)
	h = securityHeaders(h)
	return s.recoverPanics(h)
}

// securityHeaders sets the headers every response carries. Handlers may
// override them: the document route allows same-origin framing, the
// static route allows caching.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", cspPage)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		// Mail and sessions must never sit in a cache; the static route
		// overrides this for its immutable files.
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil && !isLoopback(r.Host) {
			// RFC 6797. Only over HTTPS (§7.2), and not for loopback
			// names: the demo serves the UI on http://localhost too, which
			// a browser would otherwise upgrade to HTTPS for a year.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
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
			s.log.Error("panic in handler", "method", r.Method, "route", routeName(r), "panic", v)
			if isAPI(r) {
				s.writeProblem(w, r, problemInternal())
			} else {
				s.errorPage(w, r, http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// crossOriginDenied answers a non-safe request that a browser marked as
// cross-site.
func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		s.writeProblem(w, r, problem{Status: http.StatusForbidden, Code: "FORBIDDEN",
			Detail: "cross-origin request refused"})
		return
	}
	s.errorPage(w, r, http.StatusForbidden)
}

// isLoopback reports whether host (a Host header, with or without a port)
// names this machine: localhost or a loopback address.
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func isAPI(r *http.Request) bool {
	return r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/")
}

// mailboxHandler is a handler that needs a resident's open mailbox.
type mailboxHandler func(w http.ResponseWriter, r *http.Request, mb *store.Mailbox)

// withMailbox opens the session named by the cookie for the length of the
// request. Without a live session the browser goes to the login page;
// with terms of use to accept, to the terms page (termsGate).
func (s *Server) withMailbox(h mailboxHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := sessionToken(r)
		if token == "" {
			http.Redirect(w, r, s.mustURL(routeLogin), http.StatusSeeOther)
			return
		}
		mb, err := s.store.OpenSession(r.Context(), token)
		if errors.Is(err, store.ErrSessionExpired) {
			clearSessionCookie(w, r)
			http.Redirect(w, r, s.mustURL(routeLogin), http.StatusSeeOther)
			return
		} else if err != nil {
			s.pageError(w, r, nil, err)
			return
		}
		defer mb.Close()
		s.useSavedLanguage(r, mb.Language())
		if s.termsGate(w, r, mb) {
			return
		}
		h(w, r, mb)
	})
}

// senderHandler is an API handler for an authenticated sender.
type senderHandler func(w http.ResponseWriter, r *http.Request, sender store.Sender)

// withSender authenticates the sender by its TLS client certificate and
// applies its rate limit. The certificate was verified against the sender
// CA in the handshake (TLSConfig); a connection without a verified chain —
// plain HTTP, no certificate, or a listener that does not verify — is
// refused here whatever certificate it shows. The handshake checked the
// certificate's validity only at its own time, and a client may keep one
// connection for as long as it likes, so every request checks it again.
func (s *Server) withSender(h senderHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
			s.writeProblem(w, r, problemUnauthenticated("a client certificate issued by the sender CA is required"))
			return
		}
		leaf := r.TLS.PeerCertificates[0]
		// RFC 5280 §4.1.2.5: both ends of the validity period are
		// inclusive.
		if now := s.clock(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			s.writeProblem(w, r, problemUnauthenticated("the client certificate has expired or is not yet valid"))
			return
		}
		sender, err := s.store.SenderByCertificate(r.Context(), leaf)
		switch {
		case errors.Is(err, store.ErrUnknownSender):
			s.writeProblem(w, r, problemUnauthenticated("the client certificate is bound to no sender"))
			return
		case errors.Is(err, store.ErrSenderRevoked):
			s.writeProblem(w, r, problemUnauthenticated("the client certificate or its sender is revoked"))
			return
		case err != nil:
			s.writeProblem(w, r, s.problemFor(r, err))
			return
		}
		if ok, wait := s.apiLimit.Allow(sender.ID); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			s.writeProblem(w, r, problem{Status: http.StatusTooManyRequests, Code: "TOO_MANY_REQUESTS", Detail: "slow down and try again after the time in Retry-After"})
			return
		}
		h(w, r, sender)
	})
}

// routeName returns the name of the matched route, for logs: never the
// path, which may hold a national identity number.
func routeName(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil && route.GetName() != "" {
		return route.GetName()
	}
	return "unmatched"
}
