package resident

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// Signing in with eID (package eid, store's LoginWithEID): the resident
// follows "Sign in with eID" (eidStart, a link: the pages' Content
// Security Policy lets forms go to this origin only, and the provider's
// authorization endpoint is on another; starting one changes nothing but
// the browser's own handshake), is sent to the provider, and comes back to
// eidCallback, which checks the answer and keeps the proof of who they
// are (store.ProveEID) for the browser, then sends it to eidPage. There
// the resident gives the password that unlocks the mailbox (eidSignIn),
// or, with no mailbox yet, chooses one and gets the recovery key
// (eidCreate), or, having lost both password and recovery key, resets
// the mailbox after being told in plain words that every letter will be
// deleted (eidReset). eID alone never opens the mailbox.
//
// Two cookies bind the steps to the browser: the handshake's from
// eidStart to eidCallback, and the proof's from eidCallback to the
// password step. Both are HttpOnly and live EIDLifetime; they are
// SameSite=Lax, because the provider's answer is a top-level navigation
// from another site, which carries no Strict cookie (nor, in Chromium,
// does the redirect that follows it). Cross-site forms are refused by
// the middleware's cross-origin protection, whatever the cookies.

// Cookie names of the sign-in with eID, over HTTPS and plain HTTP.
const (
	EIDCookieHTTPS      = "__Host-postkasse-eid"
	EIDCookieHTTP       = "postkasse-eid"
	EIDProofCookieHTTPS = "__Host-postkasse-eid-proof"
	EIDProofCookieHTTP  = "postkasse-eid-proof"
)

func eidCookieName(r *http.Request, proof bool) string {
	switch {
	case proof && r.TLS != nil:
		return EIDProofCookieHTTPS
	case proof:
		return EIDProofCookieHTTP
	case r.TLS != nil:
		return EIDCookieHTTPS
	}
	return EIDCookieHTTP
}

func eidCookie(r *http.Request, proof bool) string {
	c, err := r.Cookie(eidCookieName(r, proof))
	if err != nil {
		return ""
	}
	return c.Value
}

func setEIDCookie(w http.ResponseWriter, r *http.Request, proof bool, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     eidCookieName(r, proof),
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   r.TLS != nil,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// eidView is the data of the eID page (template eid).
type eidView struct {
	// Mode: "password" (sign in), "create" (make the mailbox), "reset"
	// (reset it), "none" (no mailbox that can be made or reset here), or
	// "failed" (the sign-in with eID did not succeed; Error says why).
	Mode      string
	Provider  string // the eID provider's name
	Name      string
	MinLength int
	Error     string
	// Errors by field: password, passwordConfirm, confirm.
	Errors    map[string]string
	Throttled bool
	Busy      bool
	// Passkey, in mode "create", is the registration of a passkey that
	// unlocks the mailbox instead of a password, and in mode "password"
	// the assertion of one of the resident's passkeys that does
	// (eid_passkey.go); nil where no passkey can be used (an IP address,
	// a mailbox without such a passkey).
	Passkey     *store.PasskeyCeremony
	PasskeyName string
	// NoUnlock: the passkey offered could not unlock the mailbox alone
	// (no PRF), so the password form is the way on.
	NoUnlock bool
}

// eidName is the eID provider's name as residents know it; "" when the
// appliance does not sign in with eID.
func (s *Handlers) eidName() string {
	if s.eid == nil {
		return ""
	}
	return s.eid.Name()
}

// eidCallbackURL is the redirect URL registered at the provider: the
// configured one, or this request's origin's.
func (s *Handlers) eidCallbackURL(r *http.Request) string {
	if s.eidCallbackFixed != "" {
		return s.eidCallbackFixed
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: s.pages.MustURL(routeEIDCallback)}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u.String()
}

// eidFailed renders the page that says the sign-in with eID did not
// succeed, and why in words the resident can act on.
func (s *Handlers) eidFailed(w http.ResponseWriter, r *http.Request, status int, msgID string) {
	l := s.web.Lang(r)
	name := s.eidName()
	s.pages.Render(w, r, status, pageEID, web.View{Title: l.T("oidc.failed.title", "Provider", name),
		Data: eidView{Mode: "failed", Provider: name, Error: l.T(msgID, "Provider", name)}})
}

// eidStart begins a sign-in with eID: the handshake is kept, its token
// goes to a cookie, and the browser to the provider.
func (s *Handlers) eidStart(w http.ResponseWriter, r *http.Request) {
	purpose := store.EIDSignIn
	if r.URL.Query().Get("purpose") == string(store.EIDReset) {
		purpose = store.EIDReset
	}
	authURL, h, err := s.eid.Begin(r.Context(), s.eidCallbackURL(r), purpose)
	if err != nil {
		s.web.Log.Warn("eID: begin", "err", err, "id", web.ContextRequestID(r.Context()))
		w.Header().Set("Retry-After", web.RetryAfter(time.Minute))
		s.eidFailed(w, r, http.StatusServiceUnavailable, "oidc.error.unavailable")
		return
	}
	token, err := s.store.BeginEIDHandshake(r.Context(), h)
	if err != nil {
		s.pages.PageError(w, r, nil, err)
		return
	}
	setEIDCookie(w, r, false, token, int(store.EIDLifetime/time.Second))
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// eidCallback takes the browser back from the provider: the handshake
// its cookie names is taken (used once), the answer checked (package
// eid), and the proof kept for the password step. Whatever fails is a
// page that says so, never a 500.
func (s *Handlers) eidCallback(w http.ResponseWriter, r *http.Request) {
	token := eidCookie(r, false)
	setEIDCookie(w, r, false, "", -1)
	h, err := s.store.TakeEIDHandshake(r.Context(), token)
	if errors.Is(err, store.ErrEIDExpired) {
		s.eidFailed(w, r, http.StatusBadRequest, "oidc.error.expired")
		return
	} else if err != nil {
		s.pages.PageError(w, r, nil, err)
		return
	}
	id, err := s.eid.Finish(r.Context(), h, eid.ParseCallback(r.URL.Query()))
	if err != nil {
		s.web.Log.Warn("eID: callback refused", "err", err, "address", clientAddress(r), "id", web.ContextRequestID(r.Context()))
		switch {
		case errors.Is(err, eid.ErrCancelled):
			s.eidFailed(w, r, http.StatusBadRequest, "oidc.error.cancelled")
		case errors.Is(err, eid.ErrUnavailable):
			w.Header().Set("Retry-After", web.RetryAfter(time.Minute))
			s.eidFailed(w, r, http.StatusServiceUnavailable, "oidc.error.unavailable")
		default:
			s.eidFailed(w, r, http.StatusBadRequest, "oidc.error.refused")
		}
		return
	}
	proof, err := s.store.ProveEID(r.Context(), id.NationalID, id.Name, h.Purpose)
	if err != nil {
		s.pages.PageError(w, r, nil, err)
		return
	}
	setEIDCookie(w, r, true, proof, int(store.EIDLifetime/time.Second))
	http.Redirect(w, r, s.pages.MustURL(routeEID), http.StatusSeeOther)
}

// eidCheck runs check, a step that uses the browser's eID proof p, under
// the login throttle and the bound on checks, counted under the number
// the provider vouched for (and the browser's device cookie, known); a
// refused check is answered here on the eID page v (refused).
func (s *Handlers) eidCheck(w http.ResponseWriter, r *http.Request, p store.EIDProof, v eidView, check func() (store.Session, error)) (sess store.Session, known, refused bool, err error) {
	account, known := s.deviceAccount(r, loginForm{NationalID: p.NationalID.Number})
	err = s.checkPassword(r.Context(), account, clientAddress(r), func() (err error) {
		sess, err = check()
		return err
	})
	l := s.web.Lang(r)
	if ref, ok := refusedCheck(w, l, err); ok {
		v.Error, v.Throttled, v.Busy = l.T("common.busy"), ref.Throttled, !ref.Throttled
		if ref.Throttled {
			v.Error = l.T("login.throttled", "Wait", ref.Wait)
		}
		s.renderEID(w, r, ref.Status, v)
		return sess, known, true, err
	}
	return sess, known, false, err
}

// eidProof reads the proof the browser's cookie names; a missing, used
// or expired one renders the page that says so and returns false.
func (s *Handlers) eidProof(w http.ResponseWriter, r *http.Request) (store.EIDProof, bool) {
	p, err := s.store.EIDProofOf(r.Context(), eidCookie(r, true))
	if errors.Is(err, store.ErrEIDExpired) {
		setEIDCookie(w, r, true, "", -1)
		s.eidFailed(w, r, http.StatusBadRequest, "oidc.error.expired")
		return p, false
	} else if err != nil {
		s.pages.PageError(w, r, nil, err)
		return p, false
	}
	return p, true
}

// eidMode is what the page offers for a proof.
func eidMode(p store.EIDProof) string {
	mailbox := p.Status == store.ResidentActive || p.Status == store.ResidentReserved
	switch {
	case p.Purpose == store.EIDReset && mailbox:
		return "reset"
	case p.Purpose == store.EIDReset:
		return "none"
	case mailbox:
		return "password"
	case p.Status == "" || p.Status == store.ResidentPending:
		return "create"
	}
	return "none"
}

func (s *Handlers) renderEID(w http.ResponseWriter, r *http.Request, status int, v eidView) {
	l := s.web.Lang(r)
	v.MinLength, v.Provider = store.MinPasswordLength, s.eidName()
	switch v.Mode {
	case "create":
		s.eidPasskeyCeremony(w, r, &v)
	case "password":
		s.eidUnlockCeremony(w, r, &v)
	}
	title := l.T("oidc."+v.Mode+".title", "Provider", v.Provider)
	s.pages.Render(w, r, status, pageEID, web.View{Title: title, Data: v})
}

// eidPage shows the step after the provider: the password, a new
// mailbox, or the reset.
func (s *Handlers) eidPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.eidProof(w, r)
	if !ok {
		return
	}
	s.renderEID(w, r, http.StatusOK, eidView{Mode: eidMode(p), Name: p.Name})
}

// eidForm is the eID page's form as sent; it only parses.
type eidForm struct {
	Password, PasswordConfirm string
	Confirm                   bool
}

func parseEIDForm(w http.ResponseWriter, r *http.Request) eidForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return eidForm{Password: r.PostForm.Get("password"), PasswordConfirm: r.PostForm.Get("passwordConfirm"),
		Confirm: r.PostForm.Get("confirm") == "yes"}
}

// eidSubmit is the password step: mode says which (the form's route).
// The check runs under the login throttle and the bound on password
// checks, counted under the number the provider vouched for.
func (s *Handlers) eidSubmit(mode string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		form := parseEIDForm(w, r)
		p, ok := s.eidProof(w, r)
		if !ok {
			return
		}
		l := s.web.Lang(r)
		v := eidView{Mode: mode, Name: p.Name, Errors: map[string]string{}}
		if eidMode(p) != mode {
			// The form of another step (an old tab): show the right one.
			http.Redirect(w, r, s.pages.MustURL(routeEID), http.StatusSeeOther)
			return
		}
		if mode != "password" {
			if err := store.CheckPassword(form.Password, p.Name, p.NationalID.Number); err != nil {
				v.Errors["password"] = newPasswordProblem(l, err, "activate.error.password")
			} else if form.Password != form.PasswordConfirm {
				v.Errors["passwordConfirm"] = l.T("activate.error.passwordsDiffer")
			}
			if mode == "reset" && !form.Confirm {
				v.Errors["confirm"] = l.T("oidc.reset.error.confirm")
			}
			if len(v.Errors) > 0 {
				s.renderEID(w, r, http.StatusBadRequest, v)
				return
			}
		}
		sess, known, refused, err := s.eidCheck(w, r, p, v, func() (store.Session, error) {
			switch mode {
			case "password":
				return s.store.LoginWithEID(r.Context(), eidCookie(r, true), form.Password)
			case "create":
				return s.store.ActivateWithEID(r.Context(), eidCookie(r, true), form.Password)
			}
			return s.store.ResetWithEID(r.Context(), eidCookie(r, true), form.Password)
		})
		if refused {
			return
		}
		var block *store.BlockedError
		var invalid *store.InvalidError
		switch {
		case errors.Is(err, store.ErrEIDExpired):
			setEIDCookie(w, r, true, "", -1)
			s.eidFailed(w, r, http.StatusBadRequest, "oidc.error.expired")
			return
		case errors.As(err, &block):
			v.Error = l.T("login.blocked.reason", "Date", s.longDate(l, block.Since), "Reason", block.Reason) + " " + l.T("login.blocked.help")
			s.renderEID(w, r, http.StatusForbidden, v)
			return
		case errors.Is(err, store.ErrBadCredentials):
			v.Error = l.T("oidc.password.wrong")
			s.renderEID(w, r, http.StatusUnauthorized, v)
			return
		case errors.As(err, &invalid) && invalid.Field == "password":
			v.Errors["password"] = newPasswordProblem(l, err, "activate.error.password")
			s.renderEID(w, r, http.StatusBadRequest, v)
			return
		case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNoMailbox), errors.As(err, &invalid):
			// Changed meanwhile (made in another tab, deleted): the page
			// as it is now.
			http.Redirect(w, r, s.pages.MustURL(routeEID), http.StatusSeeOther)
			return
		case err != nil:
			s.pages.PageError(w, r, nil, err)
			return
		}
		setEIDCookie(w, r, true, "", -1)
		if !s.beginSession(w, r, sess, p.NationalID.Number, known) {
			return
		}
		if sess.NewRecoveryKey != nil {
			s.eidRecoveryKeyPage(w, r, sess, mode)
			return
		}
		http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
	}
}

// eidRecoveryKeyPage shows the recovery key of a mailbox just made or
// reset (with eID, or with a reset code: reset.go), once.
func (s *Handlers) eidRecoveryKeyPage(w http.ResponseWriter, r *http.Request, sess store.Session, mode string) {
	rk := sess.NewRecoveryKey
	defer clear(rk[:])
	var resident *store.Resident
	if mb, err := s.store.OpenSession(r.Context(), sess.Token); err == nil {
		res := mb.Resident()
		resident = &res
		s.web.UseSavedLanguage(r, mb.Language())
		mb.Close()
	}
	s.renderRecoveryKey(w, r, resident, newRecoveryKeyView{RecoveryKey: formatRecoveryKey(*rk),
		Created: mode == "create", Reset: mode == "reset"})
}
