package resident

import (
	"net/http"
	"time"
)

// Session cookie names: CookieHTTPS over HTTPS, CookieHTTP over plain
// HTTP (the demo on loopback). The __Host- prefix (RFC 6265bis §4.1.3.2) makes a
// browser accept the cookie only with Secure, Path=/ and no Domain, so no
// other host or plain-HTTP page can plant or overwrite it.
const (
	CookieHTTPS = "__Host-postkasse"
	CookieHTTP  = "postkasse"
)

func cookieName(r *http.Request) string {
	if r.TLS != nil {
		return CookieHTTPS
	}
	return CookieHTTP
}

// sessionToken returns the session cookie's value, or "".
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie sets the cookie that carries a session's token. It is
// a session cookie in the browser's sense too (no Expires or Max-Age,
// RFC 6265 §4.1.2): closing the browser — on a shared computer, say —
// forgets it. The store ends the session itself after its idle time or
// lifetime, whatever the browser keeps.
func setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName(r),
		Value:    token,
		Path:     "/",
		Secure:   r.TLS != nil,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// clearSessionCookie tells the browser to forget the session cookie, and
// the pages of the session it keeps: Clear-Site-Data "cache" (W3C Clear
// Site Data §3.1) empties its cache and its back/forward cache for this
// origin, so Back after signing out shows no page of the mailbox.
// Chromium keeps a no-store page in its back/forward cache when no
// secure cookie changed, as over plain HTTP; only this header takes it
// out. (Browsers honour it only from a secure context: HTTPS, or
// loopback, where the demo runs over HTTP.)
func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Clear-Site-Data", `"cache"`)
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

// Cookie names of the first step of a sign-in with two-step verification
// (login_code.go), over HTTPS and plain HTTP as for the session's.
const (
	StepCookieHTTPS = "__Host-postkasse-step"
	StepCookieHTTP  = "postkasse-step"
)

func stepCookieName(r *http.Request) string {
	if r.TLS != nil {
		return StepCookieHTTPS
	}
	return StepCookieHTTP
}

// stepToken returns the token of the sign-in's first step, or "".
func stepToken(r *http.Request) string {
	c, err := r.Cookie(stepCookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// Device cookie names (store.NewDeviceToken): the browser where a
// resident signed in before, so that its sign-ins are counted apart from
// others' by the login throttle (deviceAccount). Over HTTPS under the
// __Host- prefix, like the session cookie.
const (
	DeviceCookieHTTPS = "__Host-postkasse-device"
	DeviceCookieHTTP  = "postkasse-device"
)

// deviceCookieLifetime: a browser stays known this long after its last
// sign-in.
const deviceCookieLifetime = 365 * 24 * time.Hour

func deviceCookieName(r *http.Request) string {
	if r.TLS != nil {
		return DeviceCookieHTTPS
	}
	return DeviceCookieHTTP
}

// deviceToken returns the device cookie's value, or "".
func deviceToken(r *http.Request) string {
	c, err := r.Cookie(deviceCookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// setStepCookie sets the cookie that carries the first step's token. It
// lives no longer than the first step (store.SecondStepLifetime), and is
// sent only with requests from this site (SameSite=Strict): only the
// browser that gave the password can take the second step.
func setStepCookie(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     stepCookieName(r),
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   r.TLS != nil,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// clearStepCookie tells the browser to forget the first step's cookie.
func clearStepCookie(w http.ResponseWriter, r *http.Request) {
	setStepCookie(w, r, "", -1)
}

// setDeviceCookie sets the device cookie, which outlives the browser's
// session (unlike the session cookie): it opens nothing, and only tells
// the throttle this browser signed in before.
func setDeviceCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     deviceCookieName(r),
		Value:    token,
		Path:     "/",
		MaxAge:   int(deviceCookieLifetime / time.Second),
		Secure:   r.TLS != nil,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}
