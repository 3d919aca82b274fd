package resident

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// signatureView is a letter's signature request as the letter page shows
// it (store/signing.go): what to sign and by when, then either the
// forms to sign (with the password, or a passkey) or to decline (with a
// reason), or the answer given, or that the deadline has passed.
type signatureView struct {
	ID          string
	Description string
	Deadline    string // the last day, in words
	DeadlineISO string
	Expired     bool
	// NoPassword: the mailbox has no password yet (made with a passkey),
	// and signing asks for it: the box links to choosing one.
	NoPassword bool
	// Passkey is the ceremony of the form that confirms with a passkey
	// (store.Mailbox.BeginSignPasskey); nil when the resident has none,
	// or passkeys cannot be used at this address.
	Passkey *store.PasskeyCeremony
	// Answer says how the resident answered ("" while not): signed on
	// ..., or declined on ... with Reason.
	Answer   string
	Declined bool
	Reason   string
	// Just: "signed" or "declined" right after the answer.
	Just string
	// The forms' state after a refused attempt.
	Error      string
	DeclineErr string
	Written    string // the reason as written, after a refusal
}

// signForm is what a refused sign or decline form puts back on the page.
type signForm struct {
	Error, DeclineErr, Reason string
}

// deadlineText is a signature request's last day in words, with the
// moment it ends in the appliance's time zone: "15 December 2026, until
// 23:59 CET".
func (s *Handlers) deadlineText(lang *i18n.Lang, deadline string) string {
	end, ok := s.store.SignatureDeadlineEnd(deadline)
	if !ok {
		return lang.DateOnly(deadline)
	}
	last := end.Add(-time.Minute)
	zone, _ := last.Zone()
	return lang.T("signing2.deadlineEnd", "Date", lang.DateOnly(deadline), "Time", last.Format("15:04"), "Zone", zone)
}

// signatureViewOf makes the letter page's signature box; nil for a
// letter that asks for no signature.
func (s *Handlers) signatureViewOf(lang *i18n.Lang, r *http.Request, resident store.Resident, l store.Letter, form signForm) *signatureView {
	req := l.SignatureRequest
	if req == nil || l.ImportedFrom != nil {
		// An imported letter's request was answered, or not, where it
		// was delivered.
		return nil
	}
	v := &signatureView{ID: l.ID, Description: req.Description, Deadline: s.deadlineText(lang, req.Deadline), DeadlineISO: req.Deadline,
		Error: form.Error, DeclineErr: form.DeclineErr, Written: form.Reason, NoPassword: !resident.HasPassword}
	switch sig := l.Signature; {
	case sig != nil && sig.Status == store.SignatureSigned && sig.SignedBy != "":
		v.Answer = lang.T("signing2.signedOnBehalf", "Name", sig.SignedBy, "Grantor", sig.OnBehalfOf, "Date", lang.DateTime(sig.At.In(s.loc)))
	case sig != nil && sig.Status == store.SignatureSigned:
		v.Answer = lang.T("signing.signedOn", "Date", lang.DateTime(sig.At.In(s.loc)))
	case sig != nil && sig.SignedBy != "":
		v.Answer, v.Declined, v.Reason = lang.T("signing2.declinedOnBehalf", "Name", sig.SignedBy, "Grantor", sig.OnBehalfOf, "Date", lang.DateTime(sig.At.In(s.loc))), true, sig.Reason
	case sig != nil:
		v.Answer, v.Declined, v.Reason = lang.T("signing.declinedOn", "Date", lang.DateTime(sig.At.In(s.loc))), true, sig.Reason
	default:
		// The deadline day ends at midnight in the appliance's time zone,
		// as the store decides.
		v.Expired = s.store.SignatureExpired(req)
	}
	switch r.URL.Query().Get("saved") {
	case "signed", "declined":
		v.Just = r.URL.Query().Get("saved")
	}
	return v
}

// signPasskeyOf adds to an open signature box the passkey ceremony that
// confirms the signature, when the resident has a passkey.
func (s *Handlers) signPasskeyOf(r *http.Request, mb *store.Mailbox, v *signatureView) error {
	if v == nil || v.Answer != "" || v.Expired {
		return nil
	}
	c, err := mb.BeginSignPasskey(r.Context(), passkeyRP(r), v.ID)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPasskeysUnavailable):
		return nil
	case err != nil:
		return err
	}
	v.Passkey = &c
	return nil
}

// letterSign signs the letter's main document with the resident's
// signing key (store.Mailbox.Sign), once they confirm that they have
// read it and give their password, or answer the page's passkey
// ceremony (the form with state and response): either is the intent to
// sign. The check runs like a login's (checkPassword), so the form
// cannot be used to guess the password of a session left open.
func (s *Handlers) letterSign(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	form := parseSignForm(w, r)
	l := s.web.Lang(r)
	if !form.Confirmed {
		s.renderLetterForms(w, r, mb, id, http.StatusUnprocessableEntity, letterForms{Sign: signForm{Error: l.T("signing.error.confirm")}})
		return
	}
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() error {
		c := store.SignConfirmation{Password: form.Password}
		if form.State != "" {
			c = store.SignConfirmation{Passkey: &store.PasskeyAssertion{RP: passkeyRP(r), State: form.State, Response: form.Response}}
		}
		_, err := mb.Sign(r.Context(), id, c)
		return err
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		msg := l.T("delete.error.busy")
		if ref.Throttled {
			msg = l.T("delete.error.throttled", "Wait", ref.Wait)
		}
		s.renderLetterForms(w, r, mb, id, ref.Status, letterForms{Sign: signForm{Error: msg}})
		return
	}
	if form.State != "" && errors.Is(err, store.ErrBadCredentials) {
		s.renderLetterForms(w, r, mb, id, http.StatusUnauthorized, letterForms{Sign: signForm{Error: l.T("signing2.error.passkey")}})
		return
	}
	if status, msg, ok := s.signRefusal(l, err); ok {
		s.renderLetterForms(w, r, mb, id, status, letterForms{Sign: signForm{Error: msg}})
		return
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeLetter, "id", id)+"?saved=signed#signature", http.StatusSeeOther)
}

// letterDecline declines the letter's signature request with a reason
// for the sender (store.Mailbox.DeclineSignature).
func (s *Handlers) letterDecline(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	form := parseSignForm(w, r)
	l := s.web.Lang(r)
	if strings.TrimSpace(form.Reason) == "" || len(form.Reason) > store.MaxDeclineReason {
		s.renderLetterForms(w, r, mb, id, http.StatusUnprocessableEntity, letterForms{Sign: signForm{DeclineErr: l.T("signing.error.reason", "Max", store.MaxDeclineReason), Reason: form.Reason}})
		return
	}
	err := mb.DeclineSignature(r.Context(), id, form.Reason)
	if status, msg, ok := s.signRefusal(l, err); ok {
		s.renderLetterForms(w, r, mb, id, status, letterForms{Sign: signForm{DeclineErr: msg, Reason: form.Reason}})
		return
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeLetter, "id", id)+"?saved=declined#signature", http.StatusSeeOther)
}

// letterSignatureFile sends the resident their own signature of a letter
// (the signed PDF, opened from the sealed signature with the mailbox key,
// or the detached CMS of another document), the same the sender opens. A
// letter not signed is a 404, as another's is.
func (s *Handlers) letterSignatureFile(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	f, err := mb.SignedFile(r.Context(), id)
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	body, ctype, name := f.Content, f.ContentType, "signature-"+id+".p7s"
	if ctype == "application/pdf" {
		name = "signed-" + id + ".pdf"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// signRefusal is the page's answer to a refused signature or decline.
func (s *Handlers) signRefusal(l *i18n.Lang, err error) (status int, msg string, ok bool) {
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		return http.StatusUnauthorized, l.T("signing.error.password"), true
	case errors.Is(err, store.ErrPasskeyResponse):
		return http.StatusUnprocessableEntity, l.T("signing2.error.passkeyResponse"), true
	case errors.Is(err, store.ErrSessionExpired):
		return http.StatusConflict, l.T("signing2.error.passkeyStale"), true
	case errors.Is(err, store.ErrSignatureExpired):
		return http.StatusConflict, l.T("signing.error.expired"), true
	case errors.Is(err, store.ErrSignatureAnswered):
		return http.StatusConflict, l.T("signing.error.answered"), true
	case errors.As(err, &invalid) && invalid.Field == "reason":
		return http.StatusUnprocessableEntity, l.T("signing.error.reason", "Max", store.MaxDeclineReason), true
	case errors.As(err, &invalid):
		return http.StatusUnprocessableEntity, l.T("signing.error.document"), true
	}
	return 0, "", false
}

// signFormData is what the sign and decline forms send.
type signFormData struct {
	Password  string
	Confirmed bool
	Reason    string
	// State and Response are a passkey ceremony's and the browser's
	// answer to it.
	State, Response string
}

// parseSignForm reads the sign or decline form.
func parseSignForm(w http.ResponseWriter, r *http.Request) signFormData {
	r.Body = http.MaxBytesReader(w, r.Body, maxPasskeyForm)
	_ = r.ParseForm()
	return signFormData{Password: r.PostForm.Get("password"), Confirmed: r.PostForm.Get("confirm") == "yes",
		Reason: r.PostForm.Get("reason"), State: r.PostForm.Get("state"), Response: r.PostForm.Get("response")}
}
