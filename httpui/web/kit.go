package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/i18n"
)

// Kit is what the faces share to answer a request: the message catalogue
// and the logger.
type Kit struct {
	Cat *i18n.Catalogue
	Log *slog.Logger
}

// RouteName returns the name of the matched route, for logs: never the
// path, which may hold a national identity number.
func RouteName(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil && route.GetName() != "" {
		return route.GetName()
	}
	return "unmatched"
}

// IsAPI reports whether r is a request to the sender API (under /api/),
// which is answered with problems, not pages.
func IsAPI(r *http.Request) bool {
	return r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/")
}
