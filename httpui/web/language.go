package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/i18n"
)

// The language of a request (API.md, "Resident web UI"): a lang query
// parameter, which a browser then remembers in a cookie; else that
// cookie; else the language the resident chose on the settings page
// (package resident's withMailbox, once the session is open); else the
// best match of Accept-Language; else the configured default (English
// when none). An API request gets its problems' titles in the language
// of its Accept-Language.

// LangCookie remembers a browser's choice of language. It holds nothing
// secret, so it has no __Host- prefix; it lasts a year.
const LangCookie = "postkasse-lang"

// LangParam is the query parameter that chooses the language.
const LangParam = "lang"

// langChoice is the language of one request.
type langChoice struct {
	lang *i18n.Lang
	// chosen: by the lang parameter or the cookie, which the resident's
	// saved choice does not override.
	chosen bool
}

type langKey struct{}

// WithLanguage decides the language of each request and keeps it in the
// request's context (Lang).
func (k *Kit) WithLanguage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &langChoice{}
		if code := r.URL.Query().Get(LangParam); k.Cat.Supported(code) {
			c.lang, c.chosen = k.Cat.Lang(code), true
			RememberLanguage(w, r, code)
		} else if ck, err := r.Cookie(LangCookie); err == nil && k.Cat.Supported(ck.Value) {
			c.lang, c.chosen = k.Cat.Lang(ck.Value), true
		} else {
			c.lang, _ = k.Cat.Match(r.Header.Get("Accept-Language"))
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// The static files are the same in every language.
			w.Header().Add("Vary", "Accept-Language, Cookie")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, c)))
	})
}

// Lang returns the language of the request; the default outside
// WithLanguage.
func (k *Kit) Lang(r *http.Request) *i18n.Lang {
	if c, ok := r.Context().Value(langKey{}).(*langChoice); ok && c.lang != nil {
		return c.lang
	}
	return k.Cat.Default()
}

// UseSavedLanguage makes the resident's saved language (one of
// store.Languages, "" when none) the request's, unless the browser chose
// one by parameter or cookie.
func (k *Kit) UseSavedLanguage(r *http.Request, saved string) {
	if c, ok := r.Context().Value(langKey{}).(*langChoice); ok && !c.chosen && k.Cat.Supported(saved) {
		c.lang = k.Cat.Lang(saved)
	}
}

// RememberLanguage sets the cookie of a language chosen by the lang
// parameter or on the settings page.
func RememberLanguage(w http.ResponseWriter, r *http.Request, code string) {
	http.SetCookie(w, &http.Cookie{
		Name: LangCookie, Value: code, Path: "/", MaxAge: 365 * 24 * 60 * 60,
		Secure: r.TLS != nil, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// LangLink is one language in the footer's language switch.
type LangLink struct {
	Code    string
	Name    string // in the language itself: "Dansk"
	URL     string // this page in that language
	Current bool
}

// LanguageLinks links the page in every language: the path of the
// request with ?lang=, or for a form's POST the page the form is on.
func (p *Pages) LanguageLinks(r *http.Request) []LangLink {
	page := r.URL.Path
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		page = p.formPage(p, r.URL.Path)
	}
	cur := p.kit.Lang(r)
	links := make([]LangLink, 0, len(i18n.Languages))
	for _, code := range i18n.Languages {
		links = append(links, LangLink{Code: code, Name: cur.T("language." + code), URL: page + "?" + LangParam + "=" + code, Current: code == cur.Code})
	}
	return links
}
