package resident

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// A resident who lost both the password and the recovery key, on an
// appliance without eID or by choice, asks the municipality for a reset
// code (`postkasse resident reset-code`, store's IssueResetCode). On the
// reset page, linked from "Forgot your password?", they give their
// number and the code, are told in plain words that every letter will be
// deleted and why, confirm, and choose a new password
// (store.Store.ResetWithCode): they are signed in with a new key pair and
// shown the new recovery key once. The operator learns neither.

// resetView is the data of the reset page: the form (with what the
// resident typed, never the passwords, and errors beside their fields).
type resetView struct {
	NationalID string
	Code       string
	MinLength  int
	// Errors by field: nationalId, code, password, passwordConfirm,
	// confirm.
	Errors map[string]string
	// Error is the alert above the form: a wrong or used code, too many
	// attempts, a busy server, a blocked account.
	Error     string
	Throttled bool
	Busy      bool
	// Pending: the code is the activation code of a mailbox never
	// activated; the alert links to the activation page.
	Pending bool
}

// resetForm is the reset form as sent. It only parses; the store checks
// the code and the password.
type resetForm struct {
	NationalID      string
	Code            string
	Password        string
	PasswordConfirm string
	Confirm         bool
}

func parseResetForm(w http.ResponseWriter, r *http.Request) resetForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	// A body over the limit or malformed leaves the fields empty, which
	// the page asks the resident to fill in.
	_ = r.ParseForm()
	return resetForm{
		NationalID:      strings.TrimSpace(r.PostForm.Get("nationalId")),
		Code:            strings.TrimSpace(r.PostForm.Get("code")),
		Password:        r.PostForm.Get("password"),
		PasswordConfirm: r.PostForm.Get("passwordConfirm"),
		Confirm:         r.PostForm.Get("confirm") == "yes",
	}
}

// resetPage shows the reset form.
func (s *Handlers) resetPage(w http.ResponseWriter, r *http.Request) {
	s.renderReset(w, r, http.StatusOK, resetView{})
}

func (s *Handlers) renderReset(w http.ResponseWriter, r *http.Request, status int, v resetView) {
	v.MinLength = store.MinPasswordLength
	s.pages.Render(w, r, status, pageReset, web.View{Title: s.web.Lang(r).T("reset.title"), Data: v})
}

// resetSubmit resets the mailbox with the code and shows the new
// recovery key once. The attempt runs under the login throttle and the
// bound on password checks (checkPassword), counted like a sign-in of
// the number (or of this browser, when it signed in to the number
// before): a wrong code counts as a failure, and costs the server the
// same Argon2id work.
func (s *Handlers) resetSubmit(w http.ResponseWriter, r *http.Request) {
	form := parseResetForm(w, r)
	l := s.web.Lang(r)
	v := resetView{NationalID: form.NationalID, Code: form.Code, Errors: map[string]string{}}
	if form.NationalID == "" {
		v.Errors["nationalId"] = l.T("activate.error.nationalId")
	}
	if form.Code == "" {
		v.Errors["code"] = l.T("reset.error.code")
	}
	if err := store.CheckPassword(form.Password); err != nil {
		v.Errors["password"] = newPasswordProblem(l, err, "activate.error.password")
	} else if form.Password != form.PasswordConfirm {
		v.Errors["passwordConfirm"] = l.T("activate.error.passwordsDiffer")
	}
	if !form.Confirm {
		v.Errors["confirm"] = l.T("oidc.reset.error.confirm")
	}
	if len(v.Errors) > 0 {
		s.renderReset(w, r, http.StatusBadRequest, v)
		return
	}

	account, known := s.deviceAccount(r, loginForm{NationalID: form.NationalID})
	var sess store.Session
	err := s.checkPassword(r.Context(), account, clientAddress(r), func() (err error) {
		sess, err = s.store.ResetWithCode(r.Context(), form.NationalID, form.Code, form.Password)
		if errors.Is(err, store.ErrBadResetCode) {
			// A wrong code is a wrong credential: checkPassword counts it
			// as a failure (errors.Is still finds ErrBadResetCode).
			return fmt.Errorf("%w: %w", store.ErrBadCredentials, err)
		}
		return err
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		v.Error, v.Throttled, v.Busy = l.T("common.busy"), ref.Throttled, !ref.Throttled
		if ref.Throttled {
			v.Error = l.T("activate.error.throttled", "Wait", ref.Wait)
		}
		s.renderReset(w, r, ref.Status, v)
		return
	}
	var block *store.BlockedError
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrBadResetCode):
		v.Error = l.T("reset.error.bad")
		s.renderReset(w, r, http.StatusUnauthorized, v)
		return
	case errors.Is(err, store.ErrResetCodePending):
		v.Pending, v.Code = true, ""
		s.renderReset(w, r, http.StatusConflict, v)
		return
	case errors.As(err, &block):
		v.Error = l.T("login.blocked.reason", "Date", s.longDate(l, block.Since), "Reason", block.Reason) + " " + l.T("login.blocked.help")
		s.renderReset(w, r, http.StatusForbidden, v)
		return
	case errors.As(err, &invalid) && invalid.Field == "password":
		v.Errors["password"] = newPasswordProblem(l, err, "activate.error.password")
		s.renderReset(w, r, http.StatusBadRequest, v)
		return
	case errors.Is(err, store.ErrNoMailbox):
		// Changed meanwhile (closed, deleted): like a code that no
		// longer works.
		v.Error = l.T("reset.error.bad")
		s.renderReset(w, r, http.StatusUnauthorized, v)
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
	s.eidRecoveryKeyPage(w, r, sess, "reset")
}
