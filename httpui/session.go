package httpui

import (
	"net/http"
	"time"
)

// Session cookie names. The __Host- prefix (RFC 6265bis §4.1.3.2) makes a
// browser accept the cookie only with Secure, Path=/ and no Domain, so no
// other host or plain-HTTP page can plant or overwrite it.
const (
	cookieHTTPS = "__Host-postkasse"
	cookieHTTP  = "postkasse"
)

func cookieName(r *http.Request) string {
	if r.TLS != nil {
		return cookieHTTPS
	}
	return cookieHTTP
}

// sessionToken returns the session cookie's value, or "".
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie sets the cookie that carries a session's token until
// the session's end.
func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName(r),
		Value:    token,
		Path:     "/",
		Expires:  expires,
		Secure:   r.TLS != nil,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// clearSessionCookie tells the browser to forget the session cookie.
func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName(r),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Secure:   r.TLS != nil,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}
