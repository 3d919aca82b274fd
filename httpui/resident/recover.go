package resident

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// recoverView is the data of the page for a forgotten password.
type recoverView struct {
	MinLength  int
	NationalID string
	Error      string
	NewWrong   bool
	Throttled  bool
	Busy       bool
	// EID is the eID provider's name when the appliance signs in with
	// eID, so a resident who lost the recovery key too can reset the
	// mailbox; "" when not.
	EID string
}

// recoverPage shows the form that signs in with the recovery key.
func (s *Handlers) recoverPage(w http.ResponseWriter, r *http.Request) {
	s.pages.Render(w, r, http.StatusOK, pageRecover, web.View{Title: s.web.Lang(r).T("recover.title"), Data: recoverView{MinLength: store.MinPasswordLength, EID: s.eidName()}})
}

// recoverSubmit signs in with the recovery key and a new password
// (store.Store.Recover): every session ends, a new one starts, and the
// new recovery key is shown once, as after an upgrading sign-in. The
// attempt runs under the login throttle of the account and the address
// and takes a password-check slot (the new password is stretched).
func (s *Handlers) recoverSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	nationalID := strings.TrimSpace(r.PostForm.Get("nationalId"))
	newPw, confirm := r.PostForm.Get("new"), r.PostForm.Get("confirm")
	l := s.web.Lang(r)
	view := recoverView{MinLength: store.MinPasswordLength, NationalID: nationalID, EID: s.eidName()}
	render := func(status int) {
		s.pages.Render(w, r, status, pageRecover, web.View{Title: l.T("recover.title"), Data: view})
	}
	rk, ok := parseRecoveryKey(r.PostForm.Get("recoveryKey"))
	switch {
	case !ok:
		view.Error = l.T("recover.error.key")
		render(http.StatusBadRequest)
		return
	case newPw != confirm:
		view.Error, view.NewWrong = l.T("password.error.differ"), true
		render(http.StatusBadRequest)
		return
	case store.CheckPassword(newPw) != nil:
		view.Error, view.NewWrong = newPasswordProblem(l, store.CheckPassword(newPw), "password.error.short"), true
		render(http.StatusBadRequest)
		return
	}
	defer clear(rk[:])
	var sess store.Session
	err := s.checkPassword(r.Context(), loginForm{NationalID: nationalID}.account(), clientAddress(r), func() (err error) {
		sess, err = s.store.Recover(r.Context(), nationalID, rk, newPw)
		return err
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		view.Error, view.Throttled, view.Busy = l.T("common.busy"), ref.Throttled, !ref.Throttled
		if ref.Throttled {
			view.Error = l.T("login.throttled", "Wait", ref.Wait)
		}
		render(ref.Status)
		return
	}
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		view.Error = l.T("recover.error.credentials")
		render(http.StatusUnauthorized)
		return
	case errors.As(err, &invalid):
		view.Error, view.NewWrong = newPasswordProblem(l, err, "password.error.short"), true
		render(http.StatusBadRequest)
		return
	case err != nil:
		s.pages.PageError(w, r, nil, err)
		return
	}
	setSessionCookie(w, r, sess.Token)
	s.recoveryKeyPage(w, r, sess.Token, sess.NewRecoveryKey, true)
}

// parseRecoveryKey reads a recovery key as a person types it: 64 hex
// digits, in any case, with dashes and spaces anywhere.
func parseRecoveryKey(s string) (crypto.RecoveryKey, bool) {
	var rk crypto.RecoveryKey
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToLower(s))
	if len(clean) != 2*len(rk) {
		return rk, false
	}
	if _, err := hex.Decode(rk[:], []byte(clean)); err != nil {
		return crypto.RecoveryKey{}, false
	}
	return rk, true
}
