package resident

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// Two-step verification in the settings (store/totp.go): set it up (the
// QR code and the secret in text, confirmed with a current code and the
// password; then the ten backup codes, shown once), turn it off (password
// and code), and get new backup codes (password). Every password and code
// is checked under the login throttle (checkPassword).

// qrSize is the width and height of the QR code, in pixels.
const qrSize = 240

// totpView is the data of the two-step verification page.
type totpView struct {
	Status store.TOTPStatus
	// Setup, while it is off: the new secret to set up.
	Setup *totpSetupView
	// Error is about the form named by Form ("on", "off", "codes").
	Error     string
	Form      string
	Throttled bool
	Busy      bool
	// TurnedOff: it was just turned off.
	TurnedOff bool
}

// totpSetupView is a secret to set up: the QR code as a data: URL (the
// page's Content-Security-Policy allows data: images) and the secret in
// text, in groups of four for typing.
type totpSetupView struct {
	Secret  string
	Grouped string
	QRCode  template.URL // data:image/png;base64,…
}

// backupCodesView is the data of the page that shows new backup codes.
type backupCodesView struct {
	Codes []string
	// New: the resident asked for new codes (else: just set up).
	New bool
}

// totpPage shows the state of two-step verification with its forms.
func (s *Handlers) totpPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderTOTP(w, r, mb, http.StatusOK, totpView{TurnedOff: r.URL.Query().Get("saved") == "off"}, "")
}

// renderTOTP renders the page; while it is off, with secret to set up,
// or a new one when secret is "".
func (s *Handlers) renderTOTP(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v totpView, secret string) {
	resident := mb.Resident()
	st, err := mb.TOTPStatus(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v.Status = st
	if !st.On {
		key, err := mb.TOTPKeyOf(secret)
		if secret == "" || err != nil {
			key, err = mb.NewTOTPKey()
		}
		if err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
		img, err := key.QRCode(qrSize)
		if err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
		v.Setup = &totpSetupView{Secret: key.Secret, Grouped: groupBy4(key.Secret),
			QRCode: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))}
	}
	// The secret is on the page: it must not stay in any cache (every
	// page is no-store; this one depends on it).
	w.Header().Set("Cache-Control", "no-store")
	s.pages.Render(w, r, status, pageTOTP, web.View{Title: s.web.Lang(r).T("totp.title"), Resident: &resident, Data: v})
}

// groupBy4 writes s in groups of four characters.
func groupBy4(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// totpOn turns two-step verification on with the secret of the form,
// once its code and the password are right, and shows the backup codes.
func (s *Handlers) totpOn(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	secret, code, password := r.PostForm.Get("secret"), r.PostForm.Get("code"), r.PostForm.Get("password")
	resident := mb.Resident()
	var codes []string
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() (err error) {
		codes, err = mb.EnableTOTP(r.Context(), secret, code, password)
		return err
	})
	var ie *store.InvalidError
	switch {
	case errors.Is(err, store.ErrTOTPOn):
		http.Redirect(w, r, s.pages.MustURL(routeTOTP), http.StatusSeeOther)
	case errors.As(err, &ie):
		// A secret that is not ours (the form was changed): a new one.
		s.renderTOTP(w, r, mb, http.StatusBadRequest, totpView{Form: "on", Error: s.web.Lang(r).T("totp.error.secret")}, "")
	case err != nil:
		s.totpRefused(w, r, mb, "on", err, secret)
	default:
		s.renderBackupCodes(w, r, &resident, backupCodesView{Codes: codes})
	}
}

// totpOff turns two-step verification off, with the password and a code.
func (s *Handlers) totpOff(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	code, password := r.PostForm.Get("code"), r.PostForm.Get("password")
	resident := mb.Resident()
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() error {
		return mb.DisableTOTP(r.Context(), password, code)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.Redirect(w, r, s.pages.MustURL(routeTOTP), http.StatusSeeOther)
	case err != nil:
		s.totpRefused(w, r, mb, "off", err, "")
	default:
		http.Redirect(w, r, s.pages.MustURL(routeTOTP)+"?saved=off", http.StatusSeeOther)
	}
}

// totpBackupCodes makes new backup codes, with the password, and shows
// them once.
func (s *Handlers) totpBackupCodes(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	password := r.PostForm.Get("password")
	resident := mb.Resident()
	var codes []string
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() (err error) {
		codes, err = mb.NewBackupCodes(r.Context(), password)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.Redirect(w, r, s.pages.MustURL(routeTOTP), http.StatusSeeOther)
	case err != nil:
		s.totpRefused(w, r, mb, "codes", err, "")
	default:
		s.renderBackupCodes(w, r, &resident, backupCodesView{Codes: codes, New: true})
	}
}

// totpRefused answers a form of the page whose check failed: refused by
// the throttle, busy, a wrong password or code (one message for both), or
// another error.
func (s *Handlers) totpRefused(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, form string, err error, secret string) {
	l := s.web.Lang(r)
	v := totpView{Form: form}
	if ref, ok := refusedCheck(w, l, err); ok {
		v.Error, v.Throttled, v.Busy = passwordRefusal(l, ref), ref.Throttled, !ref.Throttled
		s.renderTOTP(w, r, mb, ref.Status, v, secret)
		return
	}
	if errors.Is(err, store.ErrBadCredentials) {
		v.Error = l.T("totp.error.credentials")
		if form == "codes" {
			v.Error = l.T("recoveryRequest.error.password")
		}
		s.renderTOTP(w, r, mb, http.StatusUnauthorized, v, secret)
		return
	}
	resident := mb.Resident()
	s.pages.PageError(w, r, &resident, err)
}

// renderBackupCodes shows backup codes once.
func (s *Handlers) renderBackupCodes(w http.ResponseWriter, r *http.Request, resident *store.Resident, v backupCodesView) {
	w.Header().Set("Cache-Control", "no-store")
	s.pages.Render(w, r, http.StatusOK, pageBackupCodes, web.View{Title: s.web.Lang(r).T("totp.codes.title"), Resident: resident, Data: v})
}
