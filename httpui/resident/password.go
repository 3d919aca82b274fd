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
}

// passwordPage shows the form that changes the password.
func (s *Handlers) passwordPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	s.pages.Render(w, r, http.StatusOK, pagePassword, web.View{Title: s.web.Lang(r).T("password.title"), Resident: &resident,
		Data: passwordView{MinLength: store.MinPasswordLength}})
}

// passwordSubmit changes the password (store.Mailbox.ChangePassword):
// the private key is wrapped anew, and every other session ends unless
// the resident keeps them. The current password is checked like a
// login's (checkPassword): wrong ones count against the login throttle,
// so a session left open cannot be used to guess it, and the check takes
// one of the slots for password checks at once.
func (s *Handlers) passwordSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	form := parsePasswordForm(w, r)
	l := s.web.Lang(r)
	title := l.T("password.title")
	view := passwordView{MinLength: store.MinPasswordLength}
	render := func(status int) {
		s.pages.Render(w, r, status, pagePassword, web.View{Title: title, Resident: &resident, Data: view})
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
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() error {
		return mb.ChangePassword(r.Context(), form.Current, form.New, form.Keep)
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		view.Error, view.Throttled, view.Busy = passwordRefusal(l, ref), ref.Throttled, !ref.Throttled
		render(ref.Status)
		return
	}
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		view.Error, view.CurrentWrong = l.T("password.error.current"), true
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
	Keep                  bool
}

func parsePasswordForm(w http.ResponseWriter, r *http.Request) passwordForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return passwordForm{Current: r.PostForm.Get("current"), New: r.PostForm.Get("new"), Confirm: r.PostForm.Get("confirm"),
		Keep: r.PostForm.Has("keep")}
}
