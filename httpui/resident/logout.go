package resident

import "net/http"

// logout ends the session: the store deletes its wrapped key, so the
// cookie opens nothing any more even if it was copied.
func (s *Handlers) logout(w http.ResponseWriter, r *http.Request) {
	if token := sessionToken(r); token != "" {
		if err := s.store.Logout(r.Context(), token); err != nil {
			s.pages.PageError(w, r, nil, err)
			return
		}
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
}
