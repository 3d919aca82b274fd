package resident

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// A resident who makes the mailbox with eID may choose a passkey instead
// of a password (store's ActivateWithEIDPasskey), where their device's
// passkey has the WebAuthn PRF extension: the create page offers it
// beside the password form, with the registration's options for the
// appliance's script (static/passkeys.js), and the page therefore runs
// under web.CSPScriptPage. A passkey without the PRF makes nothing: the
// page says so in plain words, and the password form is the way on.

// eidPasskeyCeremony begins the registration of the passkey for the
// create page v (the browser's proof), and lets the page run the script;
// where no passkey can be used the page offers the password alone.
func (s *Handlers) eidPasskeyCeremony(w http.ResponseWriter, r *http.Request, v *eidView) {
	c, err := s.store.BeginEIDPasskey(r.Context(), passkeyRP(r), eidCookie(r, true))
	s.offerPasskey(w, r, v, c, err, "begin a passkey registration")
}

// offerPasskey puts the passkey ceremony c that began with err on the eID
// page v, and lets the page run the script. A ceremony that cannot be had
// (no passkeys at this address, none that unlocks the mailbox) leaves the
// page with the password form alone; another error too, logged: the
// password form still works, and its answer says what is wrong with the
// proof, if anything.
func (s *Handlers) offerPasskey(w http.ResponseWriter, r *http.Request, v *eidView, c store.PasskeyCeremony, err error, what string) {
	switch {
	case errors.Is(err, store.ErrPasskeysUnavailable), errors.Is(err, store.ErrPasskeyNoUnlock):
		return
	case err != nil:
		s.web.Log.Warn("eID: "+what, "err", err, "id", web.ContextRequestID(r.Context()))
		return
	}
	v.Passkey = &c
	w.Header().Set("Content-Security-Policy", web.CSPScriptPage)
}

// eidCreatePasskey makes the mailbox with the passkey the browser just
// made. The check runs under the login throttle and the bound on
// checks, counted under the number the provider vouched for, as the
// password step's does.
func (s *Handlers) eidCreatePasskey(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	state, name := r.PostForm.Get("state"), r.PostForm.Get("name")
	response, unlock := r.PostForm.Get("response"), r.PostForm.Get("unlock")
	p, ok := s.eidProof(w, r)
	if !ok {
		return
	}
	if eidMode(p) != "create" {
		http.Redirect(w, r, s.pages.MustURL(routeEID), http.StatusSeeOther)
		return
	}
	l := s.web.Lang(r)
	v := eidView{Mode: "create", Name: p.Name, PasskeyName: name}
	sess, known, refused, err := s.eidCheck(w, r, p, v, func() (store.Session, error) {
		return s.store.ActivateWithEIDPasskey(r.Context(), passkeyRP(r), eidCookie(r, true), state, name, response, unlock)
	})
	if refused {
		return
	}
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrEIDExpired):
		setEIDCookie(w, r, true, "", -1)
		s.eidFailed(w, r, http.StatusBadRequest, "oidc.error.expired")
		return
	case errors.Is(err, store.ErrPasskeyNoUnlock):
		v.Error, v.NoUnlock = l.T("oidc.passkey.noUnlock"), true
		s.renderEID(w, r, http.StatusUnprocessableEntity, v)
		return
	case errors.As(err, &invalid) && invalid.Field == "name":
		v.Error = l.T("passkeys.error.name", "Max", store.MaxPasskeyName)
		s.renderEID(w, r, http.StatusBadRequest, v)
		return
	case errors.Is(err, store.ErrBadCredentials), errors.Is(err, store.ErrPasskeyResponse), errors.Is(err, store.ErrSessionExpired):
		v.Error = l.T("oidc.passkey.failed")
		s.renderEID(w, r, http.StatusBadRequest, v)
		return
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrPasskeysUnavailable), errors.As(err, &invalid):
		// Made meanwhile in another tab, or not to be made this way: the
		// page as it is now.
		http.Redirect(w, r, s.pages.MustURL(routeEID), http.StatusSeeOther)
		return
	case err != nil:
		s.pages.PageError(w, r, nil, fmt.Errorf("make a mailbox with a passkey: %w", err))
		return
	}
	setEIDCookie(w, r, true, "", -1)
	if !s.beginSession(w, r, sess, p.NationalID.Number, known) {
		return
	}
	s.eidRecoveryKeyPage(w, r, sess, "create")
}

// After eID, the step that asks for the password also offers the
// resident's own passkeys that unlock the mailbox (store's
// EIDPasskeySignIn): an assertion limited to that resident's passkeys,
// bound to the browser's proof.

// eidUnlockCeremony begins the assertion for the password step v (the
// browser's proof), and lets the page run the script; a mailbox without
// a passkey that unlocks it, or an appliance reached at an IP address,
// is offered the password alone.
func (s *Handlers) eidUnlockCeremony(w http.ResponseWriter, r *http.Request, v *eidView) {
	c, err := s.store.BeginEIDPasskeySignIn(r.Context(), passkeyRP(r), eidCookie(r, true))
	s.offerPasskey(w, r, v, c, err, "begin a passkey sign-in")
}

// eidPasswordPasskey opens the mailbox after eID with the passkey the
// browser just used, under the login throttle and the bound on checks,
// counted under the number the provider vouched for, as the password's.
func (s *Handlers) eidPasswordPasskey(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	state, response := r.PostForm.Get("state"), r.PostForm.Get("response")
	p, ok := s.eidProof(w, r)
	if !ok {
		return
	}
	if eidMode(p) != "password" {
		http.Redirect(w, r, s.pages.MustURL(routeEID), http.StatusSeeOther)
		return
	}
	l := s.web.Lang(r)
	v := eidView{Mode: "password", Name: p.Name}
	sess, known, refused, err := s.eidCheck(w, r, p, v, func() (store.Session, error) {
		return s.store.EIDPasskeySignIn(r.Context(), passkeyRP(r), eidCookie(r, true), state, response)
	})
	if refused {
		return
	}
	var block *store.BlockedError
	switch {
	case errors.Is(err, store.ErrEIDExpired):
		setEIDCookie(w, r, true, "", -1)
		s.eidFailed(w, r, http.StatusBadRequest, "oidc.error.expired")
		return
	case errors.As(err, &block):
		v.Error = l.T("login.blocked.reason", "Date", s.longDate(l, block.Since), "Reason", block.Reason) + " " + l.T("login.blocked.help")
		s.renderEID(w, r, http.StatusForbidden, v)
		return
	case errors.Is(err, store.ErrPasskeyNoUnlock):
		v.Error = l.T("oidc.password.passkey.noUnlock")
		s.renderEID(w, r, http.StatusUnprocessableEntity, v)
		return
	case errors.Is(err, store.ErrBadCredentials), errors.Is(err, store.ErrPasskeyResponse), errors.Is(err, store.ErrSessionExpired):
		v.Error = l.T("oidc.password.passkey.failed")
		s.renderEID(w, r, http.StatusUnauthorized, v)
		return
	case errors.Is(err, store.ErrNoMailbox), errors.Is(err, store.ErrPasskeysUnavailable):
		http.Redirect(w, r, s.pages.MustURL(routeEID), http.StatusSeeOther)
		return
	case err != nil:
		s.pages.PageError(w, r, nil, fmt.Errorf("open a mailbox with a passkey after eID: %w", err))
		return
	}
	setEIDCookie(w, r, true, "", -1)
	if !s.beginSession(w, r, sess, p.NationalID.Number, known) {
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
}
