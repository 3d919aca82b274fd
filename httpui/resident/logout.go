package resident

import "net/http"

// logout ends the session: the store deletes its wrapped key, so the
// cookie opens nothing any more even if it was copied. It also ends a
// sign-in waiting for its code (the cancel button of the code page), so
// a shared computer keeps nothing of it.
func (s *Handlers) logout(w http.ResponseWriter, r *http.Request) {
	for _, token := range []string{sessionToken(r), stepToken(r)} {
		if token == "" {
			continue
		}
		if err := s.store.Logout(r.Context(), token); err != nil {
			s.pages.PageError(w, r, nil, err)
			return
		}
	}
	clearSessionCookie(w, r)
	if stepToken(r) != "" {
		clearStepCookie(w, r)
	}
	http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
}
