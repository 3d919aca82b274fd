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
	// page chooses one, confirmed with the recovery key.
	NoPassword bool
}

// passwordPage shows the form that changes the password.
func (s *Handlers) passwordPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	s.pages.Render(w, r, http.StatusOK, pagePassword, web.View{Title: passwordTitle(s.web.Lang(r), resident), Resident: &resident,
		Data: passwordView{MinLength: store.MinPasswordLength, NoPassword: !resident.HasPassword}})
}

// passwordSubmit changes the password (store.Mailbox.ChangePassword):
// the private key is wrapped anew, and every other session ends unless
// the resident keeps them. The current password is checked like a
// login's (checkPassword): wrong ones count against the login throttle,
// so a session left open cannot be used to guess it, and the check takes
// one of the slots for password checks at once. A mailbox without a
// password (made with a passkey) chooses one, confirmed with the recovery
// key instead (store.Mailbox.ChoosePassword), under the same throttle.
func (s *Handlers) passwordSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	form := parsePasswordForm(w, r)
	l := s.web.Lang(r)
	title := passwordTitle(l, resident)
	view := passwordView{MinLength: store.MinPasswordLength, NoPassword: !resident.HasPassword}
	render := func(status int) {
		s.pages.Render(w, r, status, pagePassword, web.View{Title: title, Resident: &resident, Data: view})
	}
	wrongCurrent := "password.error.current"
	change := func() error { return mb.ChangePassword(r.Context(), form.Current, form.New, form.Keep) }
	if view.NoPassword {
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
	RecoveryKey           string // instead of Current, for a mailbox without a password
	Keep                  bool
}

func parsePasswordForm(w http.ResponseWriter, r *http.Request) passwordForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return passwordForm{Current: r.PostForm.Get("current"), New: r.PostForm.Get("new"), Confirm: r.PostForm.Get("confirm"),
		RecoveryKey: r.PostForm.Get("recoveryKey"), Keep: r.PostForm.Has("keep")}
}
