package httpui

import (
	"net/http"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
)

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
	cur := s.web.Lang(r)
	links := make([]langLink, 0, len(i18n.Languages))
	for _, code := range i18n.Languages {
		links = append(links, langLink{Code: code, Name: cur.T("language." + code), URL: page + "?" + web.LangParam + "=" + code, Current: code == cur.Code})
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
