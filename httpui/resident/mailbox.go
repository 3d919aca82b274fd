package resident

import (
	"errors"
	"net/http"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// mailboxHandler is a handler that needs a resident's open mailbox.
type mailboxHandler func(w http.ResponseWriter, r *http.Request, mb *store.Mailbox)

// withMailbox opens the session named by the cookie for the length of the
// request. Without a live session the browser goes to the login page;
// with terms of use to accept, to the terms page (termsGate).
func (s *Handlers) withMailbox(h mailboxHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := sessionToken(r)
		if token == "" {
			http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
			return
		}
		mb, err := s.store.OpenSession(r.Context(), token)
		if errors.Is(err, store.ErrSessionExpired) {
			clearSessionCookie(w, r)
			http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
			return
		} else if err != nil {
			s.pages.PageError(w, r, nil, err)
			return
		}
		defer mb.Close()
		s.web.UseSavedLanguage(r, mb.Language())
		if s.termsGate(w, r, mb) {
			return
		}
		r = web.WithMailboxes(r, func() []web.MailboxLink { return s.switcher(r, mb) })
		h(w, r, mb)
	})
}
