package httpui

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/store"
)

// loginView is the data of the login page. The password is never part of
// it.
type loginView struct {
	NationalID string
	Error      string
	Throttled  bool
}

// Messages of the login page.
const msgBadCredentials = "Wrong national identity number or password."

// loginPage shows the login form, or the inbox to a resident who is
// signed in already.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if token := sessionToken(r); token != "" {
		if mb, err := s.store.OpenSession(token); err == nil {
			mb.Close()
			http.Redirect(w, r, s.mustURL(routeInbox), http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Data: loginView{}})
}

// loginSubmit checks the credentials and starts a session. Failures are
// counted per account and per client address; over the limit, the attempt
// is refused before the (costly) password check.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	form := parseLoginForm(w, r)
	account, address := form.account(), clientAddress(r)
	if blocked, wait := s.logins.blocked(account, address); blocked {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.render(w, r, http.StatusTooManyRequests, "login", view{Title: "Sign in", Data: loginView{
			NationalID: form.NationalID,
			Error:      "Too many failed attempts to sign in. Wait " + waitText(wait) + " before you try again.",
			Throttled:  true,
		}})
		return
	}
	sess, err := s.store.Login(form.NationalID, form.Password)
	if errors.Is(err, store.ErrBadCredentials) {
		s.logins.fail(account, address)
		s.render(w, r, http.StatusUnauthorized, "login", view{Title: "Sign in", Data: loginView{
			NationalID: form.NationalID,
			Error:      msgBadCredentials,
		}})
		return
	} else if err != nil {
		s.pageError(w, r, nil, err)
		return
	}
	s.logins.succeed(account)
	setSessionCookie(w, r, sess.Token, sess.Expires)
	http.Redirect(w, r, s.mustURL(routeInbox), http.StatusSeeOther)
}

// waitText says how long to wait in whole minutes (or seconds when under
// one), rounded up.
func waitText(d time.Duration) string {
	if d < time.Minute {
		secs := int(math.Ceil(d.Seconds()))
		if secs <= 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", secs)
	}
	mins := int(math.Ceil(d.Minutes()))
	if mins == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", mins)
}
