package resident

import (
	"errors"
	"net/http"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// passwordView is the data of the page that changes the password.
type passwordView struct {
	MinLength    int
	Error        string
	CurrentWrong bool // the current password was wrong
	NewWrong     bool // the new passwords differ or are too short
	Throttled    bool // too many wrong passwords: not tried
	Busy         bool // no password check came free: not tried
	Changed      bool
	KeptOthers   bool // the other sessions were kept
	// NoPassword: the mailbox has none yet (made with a passkey), so the
	// page chooses one, confirmed with one of the resident's passkeys
	// (Passkey, nil where none can be used) or the recovery key.
	NoPassword bool
	Passkey    *store.PasskeyCeremony
	// ByPasskey: the form sent was the passkey's, not the recovery key's.
	ByPasskey bool
}

// passwordPage shows the form that changes the password.
func (s *Handlers) passwordPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderPassword(w, r, mb, http.StatusOK, passwordView{MinLength: store.MinPasswordLength})
}

// renderPassword renders the password page v; for a mailbox without a
// password it begins the assertion of a passkey that confirms the choice
// (store.Mailbox.BeginChoosePassword) and lets the page run the script;
// where no passkey can be used the recovery key is the way alone.
func (s *Handlers) renderPassword(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v passwordView) {
	resident := mb.Resident()
	v.NoPassword = !resident.HasPassword
	if v.NoPassword && !v.Changed {
		c, err := mb.BeginChoosePassword(r.Context(), passkeyRP(r))
		switch {
		case err == nil:
			v.Passkey = &c
			w.Header().Set("Content-Security-Policy", web.CSPScriptPage)
		case !errors.Is(err, store.ErrPasskeysUnavailable) && !errors.Is(err, store.ErrPasskeyNoUnlock) && !errors.Is(err, store.ErrBadCredentials):
			s.web.Log.Warn("choose a password: begin a passkey assertion", "err", err, "id", web.ContextRequestID(r.Context()))
		}
	}
	s.pages.Render(w, r, status, pagePassword, web.View{Title: passwordTitle(s.web.Lang(r), resident), Resident: &resident, Data: v})
}

// passwordSubmit changes the password (store.Mailbox.ChangePassword):
// the private key is wrapped anew, and every other session ends unless
// the resident keeps them. The current password is checked like a
// login's (checkPassword): wrong ones count against the login throttle,
// so a session left open cannot be used to guess it, and the check takes
// one of the slots for password checks at once. A mailbox without a
// password (made with a passkey) chooses one, confirmed with one of the
// resident's passkeys (store.Mailbox.ChoosePasswordWithPasskey) or the
// recovery key (store.Mailbox.ChoosePassword), under the same throttle.
func (s *Handlers) passwordSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	form := parsePasswordForm(w, r)
	l := s.web.Lang(r)
	view := passwordView{MinLength: store.MinPasswordLength, NoPassword: !resident.HasPassword, ByPasskey: form.State != ""}
	render := func(status int) { s.renderPassword(w, r, mb, status, view) }
	wrongCurrent := "password.error.current"
	change := func() error { return mb.ChangePassword(r.Context(), form.Current, form.New, form.Keep) }
	switch {
	case view.NoPassword && view.ByPasskey:
		wrongCurrent = "password.error.passkey"
		change = func() error {
			err := mb.ChoosePasswordWithPasskey(r.Context(), passkeyRP(r), form.State, form.Response, form.New, form.Keep)
			if errors.Is(err, store.ErrPasskeyResponse) || errors.Is(err, store.ErrSessionExpired) || errors.Is(err, store.ErrPasskeyNoUnlock) || errors.Is(err, store.ErrPasskeysUnavailable) {
				err = store.ErrBadCredentials
			}
			return err
		}
	case view.NoPassword:
		rk, ok := parseRecoveryKey(form.RecoveryKey)
		if !ok {
			view.Error, view.CurrentWrong = l.T("password.error.recoveryKey"), true
			render(http.StatusBadRequest)
			return
		}
		defer clear(rk[:])
		wrongCurrent = "password.error.recoveryKey"
		change = func() error { return mb.ChoosePassword(r.Context(), rk, form.New, form.Keep) }
	}
	// The new password's own checks first: they need no password check.
	switch {
	case form.New != form.Confirm:
		view.Error, view.NewWrong = l.T("password.error.differ"), true
		render(http.StatusBadRequest)
		return
	case store.CheckPassword(form.New) != nil:
		view.Error, view.NewWrong = newPasswordProblem(l, store.CheckPassword(form.New), "password.error.short"), true
		render(http.StatusBadRequest)
		return
	}
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), change)
	if ref, ok := refusedCheck(w, l, err); ok {
		view.Error, view.Throttled, view.Busy = passwordRefusal(l, ref), ref.Throttled, !ref.Throttled
		render(ref.Status)
		return
	}
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		view.Error, view.CurrentWrong = l.T(wrongCurrent), true
		render(http.StatusUnauthorized)
	case errors.As(err, &invalid):
		view.Error, view.NewWrong = newPasswordProblem(l, err, "password.error.short"), true
		render(http.StatusBadRequest)
	case err != nil:
		s.pages.PageError(w, r, &resident, err)
	default:
		view.Changed, view.KeptOthers = true, form.Keep
		render(http.StatusOK)
	}
}

// passwordTitle is the page's title: choosing a password when the
// mailbox has none yet, changing it otherwise.
func passwordTitle(l *i18n.Lang, resident store.Resident) string {
	if !resident.HasPassword {
		return l.T("password.none.title")
	}
	return l.T("password.title")
}

// passwordRefusal words a refused check of the current password, on this
// page and on the one that makes a new recovery key.
func passwordRefusal(l *i18n.Lang, ref checkRefusal) string {
	if ref.Throttled {
		return l.T("password.error.throttled", "Wait", ref.Wait)
	}
	return l.T("password.error.busy")
}

// passwordForm is the form that changes the password.
type passwordForm struct {
	Current, New, Confirm string
	// Instead of Current, for a mailbox without a password: the recovery
	// key, or a passkey's assertion (State, Response).
	RecoveryKey, State, Response string
	Keep                         bool
}

func parsePasswordForm(w http.ResponseWriter, r *http.Request) passwordForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return passwordForm{Current: r.PostForm.Get("current"), New: r.PostForm.Get("new"), Confirm: r.PostForm.Get("confirm"),
		RecoveryKey: r.PostForm.Get("recoveryKey"), State: r.PostForm.Get("state"), Response: r.PostForm.Get("response"), Keep: r.PostForm.Has("keep")}
}
