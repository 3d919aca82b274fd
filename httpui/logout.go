package httpui

import "net/http"

// logout ends the session: the store deletes its wrapped key, so the
// cookie opens nothing any more even if it was copied.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if token := sessionToken(r); token != "" {
		if err := s.store.Logout(r.Context(), token); err != nil {
			s.pageError(w, r, nil, err)
			return
		}
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, s.mustURL(routeLogin), http.StatusSeeOther)
}
