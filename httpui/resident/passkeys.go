package resident

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// Passkeys (store/passkeys.go). The settings page lists the resident's
// passkeys, renames and removes them, and registers a new one (with the
// password). Signing in, a resident with a passkey takes the second step
// with it (loginPasskeyStep, from the page of the code), and a passkey
// registered with the PRF extension signs in alone (loginPasskeyPage).
//
// Each of these pages runs the appliance's one script, static/passkeys.js,
// under web.CSPScriptPage: the browser's WebAuthn API has no other way in.
// The server puts a ceremony's options in the form (made by the store, with
// its signed state in a hidden field); the script asks the browser for the
// passkey, writes the answer into the form and submits it; the store checks
// everything. The PRF output goes in that answer, over the same connection
// as a password, and is not kept (store/passkeys.go). A response that does
// not read, or is stale, is a page that says so, never a server error.
// Every check runs under the login throttle (checkPassword), as passwords
// and codes do.

// passkeyIDPattern is a credential id in base64url (WebAuthn allows up
// to 1023 bytes; the store finds it among the resident's or not).
const passkeyIDPattern = `[A-Za-z0-9_-]+`

// passkeyRow is a passkey as the settings page shows it.
type passkeyRow struct {
	store.PasskeyInfo
	Created, LastUsed string
}

// passkeysView is the data of the passkeys' settings page.
type passkeysView struct {
	Passkeys []passkeyRow
	// Ceremony is the registration's options; nil when the resident has
	// as many passkeys as they may.
	Ceremony *store.PasskeyCeremony
	Max      int
	Name     string // the name typed, kept after a refusal
	// Error is about the form named by Form ("add", or a passkey's id).
	Error     string
	Form      string
	Throttled bool
	Busy      bool
	// Saved: "added", "added-unlocks", "renamed" or "removed".
	Saved string
	// Unavailable: the page was reached at an IP address, where no
	// passkey can be used (store.ErrPasskeysUnavailable).
	Unavailable bool
}

// passkeyRP is the relying party as the browser sees this request: the
// host name and the origin the page was served from. The browser puts the
// origin it used in every response, and the store checks it against this.
func passkeyRP(r *http.Request) store.PasskeyRP {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	return store.PasskeyRP{ID: name, Origin: scheme + "://" + host}
}

// passkeysPage lists the passkeys, with the form to add one.
func (s *Handlers) passkeysPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderPasskeys(w, r, mb, http.StatusOK, passkeysView{Saved: r.URL.Query().Get("saved")})
}

func (s *Handlers) renderPasskeys(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v passkeysView) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	list, err := mb.Passkeys(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	for _, p := range list {
		row := passkeyRow{PasskeyInfo: p, Created: s.longDate(l, p.Created)}
		if !p.LastUsed.IsZero() {
			row.LastUsed = s.longDate(l, p.LastUsed)
		}
		v.Passkeys = append(v.Passkeys, row)
	}
	v.Max = store.MaxPasskeys
	if len(list) < store.MaxPasskeys {
		c, err := mb.BeginPasskeyRegistration(r.Context(), passkeyRP(r))
		if errors.Is(err, store.ErrPasskeysUnavailable) {
			v.Unavailable = true
		} else if err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		} else {
			v.Ceremony = &c
		}
	}
	w.Header().Set("Content-Security-Policy", web.CSPScriptPage)
	s.pages.Render(w, r, status, pagePasskeys, web.View{Title: l.T("passkeys.title"), Resident: &resident, Data: v})
}

// passkeyAdd registers a passkey: the browser's answer to the page's
// options, its name and the password.
func (s *Handlers) passkeyAdd(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPasskeyForm)
	_ = r.ParseForm()
	f := r.PostForm
	name := f.Get("name")
	resident := mb.Resident()
	l := s.web.Lang(r)
	var info store.PasskeyInfo
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() (err error) {
		info, err = mb.AddPasskey(r.Context(), passkeyRP(r), f.Get("state"), f.Get("password"), name, f.Get("response"), f.Get("unlock"))
		return err
	})
	v := passkeysView{Form: "add", Name: name}
	if ref, ok := refusedCheck(w, l, err); ok {
		v.Error, v.Throttled, v.Busy = passwordRefusal(l, ref), ref.Throttled, !ref.Throttled
		s.renderPasskeys(w, r, mb, ref.Status, v)
		return
	}
	var ie *store.InvalidError
	switch {
	case err == nil:
		saved := "added"
		if info.Unlocks {
			saved = "added-unlocks"
		}
		http.Redirect(w, r, s.pages.MustURL(routePasskeys)+"?saved="+saved, http.StatusSeeOther)
		return
	case errors.Is(err, store.ErrBadCredentials):
		v.Error = l.T("passkeys.error.credentials")
		s.renderPasskeys(w, r, mb, http.StatusUnauthorized, v)
	case errors.As(err, &ie) && ie.Field == "name":
		v.Error = l.T("passkeys.error.name", "Max", store.MaxPasskeyName)
		s.renderPasskeys(w, r, mb, http.StatusBadRequest, v)
	case errors.As(err, &ie):
		v.Error = l.T("passkeys.error.registered")
		s.renderPasskeys(w, r, mb, http.StatusBadRequest, v)
	case errors.Is(err, store.ErrPasskeyResponse):
		v.Error = l.T("passkeys.error.response")
		s.renderPasskeys(w, r, mb, http.StatusBadRequest, v)
	case errors.Is(err, store.ErrSessionExpired):
		v.Error = l.T("passkeys.error.expired")
		s.renderPasskeys(w, r, mb, http.StatusBadRequest, v)
	case errors.Is(err, store.ErrTooManyPasskeys):
		v.Error = l.T("passkeys.error.tooMany", "Max", store.MaxPasskeys)
		s.renderPasskeys(w, r, mb, http.StatusConflict, v)
	default:
		s.pages.PageError(w, r, &resident, err)
	}
}

// maxPasskeyForm bounds a form that carries a WebAuthn response.
const maxPasskeyForm = 256 << 10

// passkeyRename renames one of the resident's passkeys.
func (s *Handlers) passkeyRename(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	id := mux.Vars(r)["id"]
	err := mb.RenamePasskey(r.Context(), id, r.PostForm.Get("name"))
	var ie *store.InvalidError
	switch {
	case err == nil:
		http.Redirect(w, r, s.pages.MustURL(routePasskeys)+"?saved=renamed", http.StatusSeeOther)
	case errors.As(err, &ie):
		s.renderPasskeys(w, r, mb, http.StatusBadRequest, passkeysView{Form: id,
			Error: s.web.Lang(r).T("passkeys.error.name", "Max", store.MaxPasskeyName)})
	default:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err) // ErrNotFound: 404
	}
}

// passkeyRemove removes one of the resident's passkeys.
func (s *Handlers) passkeyRemove(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	if err := mb.RemovePasskey(r.Context(), mux.Vars(r)["id"]); err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err) // ErrNotFound: 404
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routePasskeys)+"?saved=removed", http.StatusSeeOther)
}

// loginCodeExtras is what the page of the second step shows besides the
// form of the code: which factors the resident has, and the passkey's
// options.
func (s *Handlers) loginCodeExtras(w http.ResponseWriter, r *http.Request, step string, v *loginCodeView) error {
	passkeys, totp, err := s.store.SecondStepFactors(r.Context(), step)
	if err != nil {
		return err
	}
	v.NoCode = !totp
	if passkeys {
		c, err := s.store.BeginPasskeySecondStep(r.Context(), passkeyRP(r), step)
		if errors.Is(err, store.ErrPasskeysUnavailable) {
			v.PasskeyUnavailable = true
			return nil
		} else if err != nil {
			return err
		}
		v.Passkey = &c
		w.Header().Set("Content-Security-Policy", web.CSPScriptPage)
	}
	return nil
}

// loginPasskeyStep takes the second step of a sign-in with a passkey.
func (s *Handlers) loginPasskeyStep(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPasskeyForm)
	_ = r.ParseForm()
	l := s.web.Lang(r)
	step := stepToken(r)
	resident, err := s.store.SecondStepOf(r.Context(), step)
	if errors.Is(err, store.ErrSessionExpired) {
		clearStepCookie(w, r)
		s.pages.Render(w, r, http.StatusUnauthorized, pageLogin, web.View{Title: l.T("login.title"), Data: loginView{
			Error: l.T("totp.code.expired"),
		}})
		return
	} else if err != nil {
		s.pages.PageError(w, r, nil, err)
		return
	}
	account, known := resident.NationalID.Number, false
	if dev := s.store.DeviceOf(r.Context(), deviceToken(r), account); dev != "" {
		account, known = "device:"+dev, true
	}
	var sess store.Session
	err = s.checkPassword(r.Context(), account, clientAddress(r), func() (err error) {
		sess, err = s.store.CompletePasskeyLogin(r.Context(), passkeyRP(r), step, r.PostForm.Get("state"), r.PostForm.Get("response"))
		return err
	})
	render := func(status int, v loginCodeView) {
		if err := s.loginCodeExtras(w, r, step, &v); err != nil {
			s.pages.PageError(w, r, nil, err)
			return
		}
		s.pages.Render(w, r, status, pageLoginCode, web.View{Title: l.T("totp.code.title"), Data: v})
	}
	if ref, ok := refusedCheck(w, l, err); ok {
		v := loginCodeView{Error: l.T("common.busy"), Throttled: ref.Throttled, Busy: !ref.Throttled, PasskeyError: true}
		if ref.Throttled {
			v.Error = l.T("login.throttled", "Wait", ref.Wait)
		}
		render(ref.Status, v)
		return
	}
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		render(http.StatusUnauthorized, loginCodeView{Error: l.T("passkeys.login.refused"), PasskeyError: true})
		return
	case errors.Is(err, store.ErrPasskeyResponse), errors.Is(err, store.ErrSessionExpired) && r.PostForm.Get("state") != "" && s.stepAlive(r, step):
		// The answer did not read, or the ceremony went stale (the
		// first step lives on): try again from a new one.
		render(http.StatusBadRequest, loginCodeView{Error: l.T("passkeys.error.response"), PasskeyError: true})
		return
	case errors.Is(err, store.ErrSessionExpired):
		clearStepCookie(w, r)
		s.pages.Render(w, r, http.StatusUnauthorized, pageLogin, web.View{Title: l.T("login.title"), Data: loginView{
			Error: l.T("totp.code.expired"),
		}})
		return
	case err != nil:
		s.pages.PageError(w, r, nil, err)
		return
	}
	clearStepCookie(w, r)
	if !s.startSession(w, r, sess) {
		return
	}
	s.rememberDevice(w, r, resident.NationalID.Number, known)
	http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
}

// stepAlive reports whether the first step of a sign-in lives on.
func (s *Handlers) stepAlive(r *http.Request, step string) bool {
	_, err := s.store.SecondStepOf(r.Context(), step)
	return err == nil
}

// startSession sets the cookie of a new session, after ending the one the
// browser had (as loginSubmit does); false when it answered with an error.
func (s *Handlers) startSession(w http.ResponseWriter, r *http.Request, sess store.Session) bool {
	if old := sessionToken(r); old != "" {
		if err := s.store.Logout(r.Context(), old); err != nil {
			if err := s.store.Logout(r.Context(), sess.Token); err != nil {
				s.web.Log.Error("end the new session after a failed sign-out", "err", err)
			}
			s.pages.PageError(w, r, nil, fmt.Errorf("end the earlier session: %w", err))
			return false
		}
	}
	setSessionCookie(w, r, sess.Token)
	return true
}

// loginPasskeyView is the data of the page that signs in with a passkey
// alone.
type loginPasskeyView struct {
	Ceremony *store.PasskeyCeremony
	// Unavailable: reached at an IP address (store.ErrPasskeysUnavailable).
	Unavailable bool
	Error       string
	Throttled   bool
	Busy        bool
	Blocked     bool
	// NoUnlock: the passkey cannot unlock the mailbox alone.
	NoUnlock bool
}

// loginPasskeyPage offers to sign in with a passkey alone.
func (s *Handlers) loginPasskeyPage(w http.ResponseWriter, r *http.Request) {
	s.renderLoginPasskey(w, r, http.StatusOK, loginPasskeyView{})
}

func (s *Handlers) renderLoginPasskey(w http.ResponseWriter, r *http.Request, status int, v loginPasskeyView) {
	c, err := s.store.BeginPasskeySignIn(r.Context(), passkeyRP(r))
	if errors.Is(err, store.ErrPasskeysUnavailable) {
		v.Unavailable = true
	} else if err != nil {
		s.pages.PageError(w, r, nil, err)
		return
	} else {
		v.Ceremony = &c
	}
	w.Header().Set("Content-Security-Policy", web.CSPScriptPage)
	s.pages.Render(w, r, status, pageLoginPasskey, web.View{Title: s.web.Lang(r).T("passkeys.login.title"), Data: v})
}

// passkeyAccountPrefix names the throttle's account of sign-ins with a
// passkey alone, by the client's address: the account is unknown until
// the passkey is checked.
const passkeyAccountPrefix = "passkey-sign-in:"

// loginPasskeySubmit signs in with a passkey alone.
func (s *Handlers) loginPasskeySubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPasskeyForm)
	_ = r.ParseForm()
	l := s.web.Lang(r)
	address := clientAddress(r)
	var sess store.Session
	err := s.checkPassword(r.Context(), passkeyAccountPrefix+address, address, func() (err error) {
		sess, err = s.store.PasskeySignIn(r.Context(), passkeyRP(r), r.PostForm.Get("state"), r.PostForm.Get("response"))
		return err
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		v := loginPasskeyView{Error: l.T("common.busy"), Throttled: ref.Throttled, Busy: !ref.Throttled}
		if ref.Throttled {
			v.Error = l.T("login.throttled", "Wait", ref.Wait)
		}
		s.renderLoginPasskey(w, r, ref.Status, v)
		return
	}
	var block *store.BlockedError
	switch {
	case errors.As(err, &block):
		s.renderLoginPasskey(w, r, http.StatusForbidden, loginPasskeyView{Blocked: true,
			Error: l.T("login.blocked.reason", "Date", s.longDate(l, block.Since), "Reason", block.Reason) + " " + l.T("login.blocked.help")})
		return
	case errors.Is(err, store.ErrPasskeyNoUnlock):
		s.renderLoginPasskey(w, r, http.StatusUnauthorized, loginPasskeyView{NoUnlock: true, Error: l.T("passkeys.login.noUnlock")})
		return
	case errors.Is(err, store.ErrBadCredentials):
		s.renderLoginPasskey(w, r, http.StatusUnauthorized, loginPasskeyView{Error: l.T("passkeys.login.refused")})
		return
	case errors.Is(err, store.ErrPasskeyResponse), errors.Is(err, store.ErrSessionExpired):
		s.renderLoginPasskey(w, r, http.StatusBadRequest, loginPasskeyView{Error: l.T("passkeys.error.response")})
		return
	case err != nil:
		s.pages.PageError(w, r, nil, err)
		return
	}
	if !s.startSession(w, r, sess) {
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
}
