package resident

import (
	"errors"
	"net/http"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// A resident who lost the recovery key, or fears someone saw it, asks
// for a new one on the settings page, confirming with the password
// (store.Mailbox.NewRecoveryKey): the private key is wrapped with the new
// key and the old one stops working. The new key is rendered straight
// into the answer, like every recovery key (recovery_key.go).

// recoveryRequestView is the data of the page that asks for a new
// recovery key.
type recoveryRequestView struct {
	Error     string
	Throttled bool // too many wrong passwords: not tried
	Busy      bool // no password check came free: not tried
}

// recoveryRequestPage shows the form that asks for a new recovery key.
func (s *Handlers) recoveryRequestPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	s.pages.Render(w, r, http.StatusOK, pageRecoveryRequest, web.View{Title: s.web.Lang(r).T("recoveryRequest.title"), Resident: &resident,
		Data: recoveryRequestView{}})
}

// recoveryRequestSubmit makes the new recovery key and shows it once. The
// password is checked like a login's (checkPassword): wrong ones count
// against the login throttle.
func (s *Handlers) recoveryRequestSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	password := r.PostForm.Get("password")
	l := s.web.Lang(r)
	var rk crypto.RecoveryKey
	defer clear(rk[:])
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() (err error) {
		rk, err = mb.NewRecoveryKey(r.Context(), password)
		return err
	})
	var view recoveryRequestView
	render := func(status int) {
		s.pages.Render(w, r, status, pageRecoveryRequest, web.View{Title: l.T("recoveryRequest.title"), Resident: &resident, Data: view})
	}
	if ref, ok := refusedCheck(w, l, err); ok {
		view.Error, view.Throttled, view.Busy = passwordRefusal(l, ref), ref.Throttled, !ref.Throttled
		render(ref.Status)
		return
	}
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		view.Error = l.T("recoveryRequest.error.password")
		render(http.StatusUnauthorized)
	case err != nil:
		s.pages.PageError(w, r, &resident, err)
	default:
		s.renderRecoveryKey(w, r, &resident, newRecoveryKeyView{RecoveryKey: formatRecoveryKey(rk), Requested: true})
	}
}
