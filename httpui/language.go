package httpui

import (
	"context"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/i18n"
)

// The language of a request (API.md, "Resident web UI"): a lang query
// parameter, which a browser then remembers in a cookie; else that
// cookie; else the language the resident chose on the settings page
// (withMailbox, once the session is open); else the best match of
// Accept-Language; else the configured default (English when none). An
// API request gets its problems' titles in the language of its
// Accept-Language.

// langCookie remembers a browser's choice of language. It holds nothing
// secret, so it has no __Host- prefix; it lasts a year.
const langCookie = "postkasse-lang"

// langParam is the query parameter that chooses the language.
const langParam = "lang"

// langChoice is the language of one request.
type langChoice struct {
	lang *i18n.Lang
	// chosen: by the lang parameter or the cookie, which the resident's
	// saved choice does not override.
	chosen bool
}

type langKey struct{}

// withLanguage decides the language of each request and keeps it in the
// request's context (lang).
func (s *Server) withLanguage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &langChoice{}
		if code := r.URL.Query().Get(langParam); s.cat.Supported(code) {
			c.lang, c.chosen = s.cat.Lang(code), true
			rememberLanguage(w, r, code)
		} else if ck, err := r.Cookie(langCookie); err == nil && s.cat.Supported(ck.Value) {
			c.lang, c.chosen = s.cat.Lang(ck.Value), true
		} else {
			c.lang, _ = s.cat.Match(r.Header.Get("Accept-Language"))
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// The static files are the same in every language.
			w.Header().Add("Vary", "Accept-Language, Cookie")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, c)))
	})
}

// lang returns the language of the request; the default outside
// withLanguage.
func (s *Server) lang(r *http.Request) *i18n.Lang {
	if c, ok := r.Context().Value(langKey{}).(*langChoice); ok && c.lang != nil {
		return c.lang
	}
	return s.cat.Default()
}

// useSavedLanguage makes the resident's saved language (one of
// store.Languages, "" when none) the request's, unless the browser chose
// one by parameter or cookie.
func (s *Server) useSavedLanguage(r *http.Request, saved string) {
	if c, ok := r.Context().Value(langKey{}).(*langChoice); ok && !c.chosen && s.cat.Supported(saved) {
		c.lang = s.cat.Lang(saved)
	}
}

// rememberLanguage sets the cookie of a language chosen by the lang
// parameter or on the settings page.
func rememberLanguage(w http.ResponseWriter, r *http.Request, code string) {
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: code, Path: "/", MaxAge: 365 * 24 * 60 * 60,
		Secure: r.TLS != nil, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// langLink is one language in the footer's language switch.
type langLink struct {
	Code    string
	Name    string // in the language itself: "Dansk"
	URL     string // this page in that language
	Current bool
}

// languageLinks links the page in every language: the path of the
// request with ?lang=, or for a form's POST the page the form is on.
func (s *Server) languageLinks(r *http.Request) []langLink {
	page := r.URL.Path
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		page = s.formPage(r.URL.Path)
	}
	cur := s.lang(r)
	links := make([]langLink, 0, len(i18n.Languages))
	for _, code := range i18n.Languages {
		links = append(links, langLink{Code: code, Name: cur.T("language." + code), URL: page + "?" + langParam + "=" + code, Current: code == cur.Code})
	}
	return links
}

// formPage is the page that shows the form a POST to path came from.
func (s *Server) formPage(path string) string {
	switch path {
	case s.mustURL(routeLogin), s.mustURL(routeActivate), s.mustURL(routeDeleteMailbox):
		return path
	case s.mustURL(routeSettingsNotify), s.mustURL(routeSettingsLanguage):
		return s.mustURL(routeSettings)
	case s.mustURL(routeTermsAccept):
		return s.mustURL(routeTerms)
	case s.mustURL(routeLogout):
		return s.mustURL(routeLogin)
	}
	return s.mustURL(routeInbox)
}
