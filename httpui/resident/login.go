package resident

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// loginView is the data of the login page. The password is never part of
// it.
type loginView struct {
	NationalID string
	Error      string
	Throttled  bool // too many failures: the attempt was not tried
	Busy       bool // no password check came free: the attempt was not tried
	// Blocked: the operator blocked access to the account (the password
	// was right); Error then says why and since when.
	Blocked bool
	// EID is the eID provider's name when the appliance signs in with
	// eID too; "" when not (set by renderLogin).
	EID string
}

// renderLogin renders the login page with v.
func (s *Handlers) renderLogin(w http.ResponseWriter, r *http.Request, status int, title string, v loginView) {
	v.EID = s.eidName()
	s.pages.Render(w, r, status, pageLogin, web.View{Title: title, Data: v})
}

// loginPage shows the login form, or the inbox to a resident who is
// signed in already.
func (s *Handlers) loginPage(w http.ResponseWriter, r *http.Request) {
	if token := sessionToken(r); token != "" {
		if mb, err := s.store.OpenSession(r.Context(), token); err == nil {
			mb.Close()
			http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
			return
		}
	}
	s.renderLogin(w, r, http.StatusOK, s.web.Lang(r).T("login.title"), loginView{})
}

// loginSubmit checks the credentials and starts a session. The check runs
// under the login throttle and the bound on password checks at once
// (checkPassword): over either, the attempt is refused before the (costly)
// password check. A session the browser already had ends, so signing in
// again leaves no second session alive.
func (s *Handlers) loginSubmit(w http.ResponseWriter, r *http.Request) {
	form := parseLoginForm(w, r)
	l := s.web.Lang(r)
	title := l.T("login.title")
	var sess store.Session
	account, known := s.deviceAccount(r, form)
	err := s.checkPassword(r.Context(), account, clientAddress(r), func() (err error) {
		sess, err = s.store.Login(r.Context(), form.NationalID, form.Password)
		if err == nil && sess.SecondStep {
			// Not a success yet: the account's failures must stay
			// counted until the code is right, or a thief with the
			// password could reset them between guesses of the code.
			return errSecondStep
		}
		return err
	})
	if errors.Is(err, errSecondStep) {
		setStepCookie(w, r, sess.Token, int(store.SecondStepLifetime/time.Second))
		http.Redirect(w, r, s.pages.MustURL(routeLoginCode), http.StatusSeeOther)
		return
	}
	if ref, ok := refusedCheck(w, l, err); ok {
		v := loginView{NationalID: form.NationalID, Error: l.T("common.busy"), Throttled: ref.Throttled, Busy: !ref.Throttled}
		if ref.Throttled {
			v.Error = l.T("login.throttled", "Wait", ref.Wait)
		}
		s.renderLogin(w, r, ref.Status, title, v)
		return
	}
	var block *store.BlockedError
	switch {
	case errors.As(err, &block):
		// Only whoever gave the password learns of the block, and why
		// (store.Login): the resident, told as DESIGN.md promises.
		s.renderLogin(w, r, http.StatusForbidden, title, loginView{
			NationalID: form.NationalID,
			Blocked:    true,
			Error:      l.T("login.blocked.reason", "Date", s.longDate(l, block.Since), "Reason", block.Reason) + " " + l.T("login.blocked.help"),
		})
		return
	case errors.Is(err, store.ErrBadCredentials):
		s.renderLogin(w, r, http.StatusUnauthorized, title, loginView{
			NationalID: form.NationalID,
			Error:      l.T("login.badCredentials"),
		})
		return
	case err != nil:
		s.pages.PageError(w, r, nil, err)
		return
	}
	number := ""
	if nid, err := store.ParseNationalID(form.NationalID); err == nil {
		number = nid.Number
	}
	if !s.beginSession(w, r, sess, number, known) {
		return
	}
	if sess.NewRecoveryKey != nil {
		// The sign-in renewed the keys: the new recovery key first.
		s.newRecoveryKeyPage(w, r, sess.Token, sess.NewRecoveryKey)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
}

// beginSession gives the browser the new session sess of the account
// numbered number (when known, "" if not) after a sign-in: the browser's
// earlier session, if it is still alive, ends first (the store ends only
// the session the token's secret opens: a forged cookie ends nothing),
// and the device cookie is renewed or made (rememberDevice). When the
// earlier session cannot be ended it fails closed: the new one ends too,
// the error page is rendered, and it returns false.
func (s *Handlers) beginSession(w http.ResponseWriter, r *http.Request, sess store.Session, number string, known bool) bool {
	if old := sessionToken(r); old != "" {
		if err := s.store.Logout(r.Context(), old); err != nil {
			// Fail closed: no new session while the old one may live on.
			if err := s.store.Logout(r.Context(), sess.Token); err != nil {
				s.web.Log.Error("end the new session after a failed sign-out", "err", err)
			}
			s.pages.PageError(w, r, nil, fmt.Errorf("end the earlier session: %w", err))
			return false
		}
	}
	setSessionCookie(w, r, sess.Token)
	if number != "" {
		s.rememberDevice(w, r, number, known)
	}
	return true
}

// rememberDevice gives the browser, after a sign-in to the account (its
// national identity number), the device cookie that deviceAccount reads:
// renewed when it had the account's (known), made when it had none.
// Signing in stands without it.
func (s *Handlers) rememberDevice(w http.ResponseWriter, r *http.Request, number string, known bool) {
	if known {
		setDeviceCookie(w, r, deviceToken(r)) // known a year from now
		return
	}
	if token, err := s.store.NewDeviceToken(r.Context(), number); err == nil {
		setDeviceCookie(w, r, token)
	} else {
		s.web.Log.Warn("make a device cookie", "err", err)
	}
}

// waitText says how long to wait in whole minutes (or seconds when under
// one), rounded up, in the language l.
func waitText(l *i18n.Lang, d time.Duration) string {
	if d < time.Minute {
		return l.T("time.seconds", "Count", max(int(math.Ceil(d.Seconds())), 1))
	}
	return l.T("time.minutes", "Count", int(math.Ceil(d.Minutes())))
}

// deviceAccount is what the login throttle counts a sign-in under: the
// account (its number), or, when the browser holds a device cookie this
// appliance made for that account at an earlier sign-in, the device
// (OWASP's device cookies): failures from elsewhere lock the account out
// for every other browser but not for this one, which has a lockout of
// its own; the limit per address holds for all. known says whether the
// browser's cookie is the account's.
func (s *Handlers) deviceAccount(r *http.Request, form loginForm) (account string, known bool) {
	nid, err := store.ParseNationalID(form.NationalID)
	if err != nil {
		return form.account(), false
	}
	if dev := s.store.DeviceOf(r.Context(), deviceToken(r), nid.Number); dev != "" {
		return "device:" + dev, true
	}
	return form.account(), false
}
