package web

import (
	"net"
	"net/http"
	"strings"
)

// Content-Security-Policy values (CSP Level 3, W3C).
const (
	// CSPPage is the policy of every page and every other response: only
	// our own style sheet, no scripts at all, forms only to ourselves, no
	// framing by anybody.
	CSPPage = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// CSPScriptPage is CSPPage with our own scripts: the pages of
	// passkeys (registering one, the second step of a sign-in with one,
	// signing in with one), which must call the browser's WebAuthn API.
	// Only script files of the appliance run (static/passkeys.js); no
	// inline script, no eval, no connection anywhere (the script fills in
	// a form, which the page submits to ourselves).
	CSPScriptPage = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// CSPLetterScriptPage is CSPLetterPage with our own scripts: a letter
	// page that offers to confirm a signature with a passkey.
	CSPLetterScriptPage = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// CSPLetterPage adds the framed main document to CSPPage.
	CSPLetterPage = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// CSPDocument is the policy of a served document: a sandbox without
	// scripts, forms or same-origin rights, only inline styles and data:
	// images (remote images in sanitised HTML never load), framed only by
	// our own letter page.
	CSPDocument = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
)

// SecurityHeaders sets the headers every response carries. Handlers may
// override them: the document route allows same-origin framing, the
// static route allows caching.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSPPage)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		// Mail and sessions must never sit in a cache; the static route
		// overrides this for its immutable files.
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil && !IsLoopback(r.Host) {
			// RFC 6797. Only over HTTPS (§7.2), and not for loopback
			// names: the demo serves the UI on http://localhost too, which
			// a browser would otherwise upgrade to HTTPS for a year.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// IsLoopback reports whether host (a Host header, with or without a port)
// names this machine: localhost or a loopback address.
func IsLoopback(host string) bool {
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
