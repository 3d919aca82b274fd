package resident

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// A resident with two-step verification on signs in in two steps. The
// right password (loginSubmit) starts no session: the store keeps the
// first step (store.Store.Login with Session.SecondStep), whose token goes
// to the browser in a cookie of its own (setStepCookie: HttpOnly,
// SameSite=Strict, five minutes), and the browser is sent to the page
// that asks for the code. The right code there (store.Store.CompleteLogin)
// ends the first step and starts the session in one transaction. Codes
// are checked under the login throttle as passwords are: a wrong, used,
// stale or malformed code is one answer, and counts as a failure of the
// account and the address.

// errSecondStep is the outcome of a password check whose password was
// right but whose sign-in waits for a code: for the throttle neither a
// success nor a failure.
var errSecondStep = errors.New("the sign-in waits for its second step")

// loginCodeView is the data of the page that asks for the code.
type loginCodeView struct {
	Error     string
	Throttled bool // too many failures: the code was not tried
	Busy      bool // no check came free: the code was not tried
	// Passkey: the resident has passkeys; the options of one for the
	// second step (passkeys.go). PasskeyError: Error is about it.
	Passkey      *store.PasskeyCeremony
	PasskeyError bool
	// NoCode: two-step verification with codes is off (passkeys only).
	NoCode bool
	// PasskeyUnavailable: the resident has passkeys, but the page was
	// reached at an IP address, where none can be used.
	PasskeyUnavailable bool
}

// loginCodePage asks for the code of a sign-in whose password was right.
// Without a live first step it sends the browser to the sign-in page.
func (s *Handlers) loginCodePage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.store.SecondStepOf(r.Context(), stepToken(r)); err != nil {
		if !errors.Is(err, store.ErrSessionExpired) {
			s.pages.PageError(w, r, nil, err)
			return
		}
		clearStepCookie(w, r)
		http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
		return
	}
	var v loginCodeView
	if err := s.loginCodeExtras(w, r, stepToken(r), &v); err != nil {
		s.pages.PageError(w, r, nil, err)
		return
	}
	s.pages.Render(w, r, http.StatusOK, pageLoginCode, web.View{Title: s.web.Lang(r).T("totp.code.title"), Data: v})
}

// loginCodeSubmit takes the second step: with the right code the session
// starts (and a session the browser had before ends, as at loginSubmit).
func (s *Handlers) loginCodeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	code := r.PostForm.Get("code")
	l := s.web.Lang(r)
	title := l.T("totp.code.title")
	step := stepToken(r)
	expired := func() {
		clearStepCookie(w, r)
		s.renderLogin(w, r, http.StatusUnauthorized, l.T("login.title"), loginView{
			Error: l.T("totp.code.expired"),
		})
	}
	resident, err := s.store.SecondStepOf(r.Context(), step)
	if errors.Is(err, store.ErrSessionExpired) {
		expired()
		return
	} else if err != nil {
		s.pages.PageError(w, r, nil, err)
		return
	}
	// Codes count where the password did (deviceAccount): under this
	// browser when it signed in to the account before, else under the
	// account.
	account, known := resident.NationalID.Number, false
	if dev := s.store.DeviceOf(r.Context(), deviceToken(r), account); dev != "" {
		account, known = "device:"+dev, true
	}
	var sess store.Session
	err = s.checkPassword(r.Context(), account, clientAddress(r), func() (err error) {
		sess, err = s.store.CompleteLogin(r.Context(), step, code)
		return err
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		v := loginCodeView{Error: l.T("common.busy"), Throttled: ref.Throttled, Busy: !ref.Throttled}
		if ref.Throttled {
			v.Error = l.T("login.throttled", "Wait", ref.Wait)
		}
		if err := s.loginCodeExtras(w, r, step, &v); err != nil {
			s.pages.PageError(w, r, nil, err)
			return
		}
		s.pages.Render(w, r, ref.Status, pageLoginCode, web.View{Title: title, Data: v})
		return
	}
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		v := loginCodeView{Error: l.T("totp.code.wrong")}
		if err := s.loginCodeExtras(w, r, step, &v); err != nil {
			s.pages.PageError(w, r, nil, err)
			return
		}
		s.pages.Render(w, r, http.StatusUnauthorized, pageLoginCode, web.View{Title: title, Data: v})
		return
	case errors.Is(err, store.ErrSessionExpired):
		expired()
		return
	case err != nil:
		s.pages.PageError(w, r, nil, err)
		return
	}
	clearStepCookie(w, r)
	if old := sessionToken(r); old != "" {
		if err := s.store.Logout(r.Context(), old); err != nil {
			// Fail closed, as at loginSubmit.
			if err := s.store.Logout(r.Context(), sess.Token); err != nil {
				s.web.Log.Error("end the new session after a failed sign-out", "err", err)
			}
			s.pages.PageError(w, r, nil, fmt.Errorf("end the earlier session: %w", err))
			return
		}
	}
	setSessionCookie(w, r, sess.Token)
	s.rememberDevice(w, r, resident.NationalID.Number, known)
	http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
}
