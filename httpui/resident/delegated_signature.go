package resident

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// A signature request answered on the grantor's behalf
// (store/signing_delegated.go). A delegate whose grant of access "act"
// covers a letter that asks for a signature opens its signature page from
// the letter, and signs with their own signing key, confirmed with their
// own password, or declines with a reason. On a grant of access "read"
// the page shows the request and its answer, with no forms, and a form
// posted anyway is refused (403) and stores nothing.

// delegatedSignatureView is the data of the delegate's signature page.
type delegatedSignatureView struct {
	Banner    delegatedBanner
	LetterID  string
	Subject   string
	Act       bool
	Signature *signatureView
	// ReadOnly: an act was refused on a read grant.
	ReadOnly bool
}

// delegatedSignaturePage shows a covered letter's signature request.
func (s *Handlers) delegatedSignaturePage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	s.renderDelegatedSignature(w, r, mb, dm, mux.Vars(r)["id"], http.StatusOK, signForm{}, false)
}

func (s *Handlers) renderDelegatedSignature(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox, id string, status int, form signForm, readOnly bool) {
	resident := mb.Resident()
	lang := s.web.Lang(r)
	letter, err := dm.Letter(r.Context(), id)
	if errors.Is(err, store.ErrInaccessible) {
		err = store.ErrNotFound // a held letter is not shown to a delegate
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	sv := s.signatureViewOf(lang, r, resident, letter, form)
	if sv == nil {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound)
		return
	}
	v := delegatedSignatureView{Banner: s.banner(r, dm), LetterID: letter.ID, Subject: letter.Subject,
		Act: dm.Grant().Access == store.AccessAct, Signature: sv, ReadOnly: readOnly}
	s.pages.Render(w, r, status, pageDelegatedSignature, web.View{Title: lang.T("signing2.delegated.title", "Subject", letter.Subject), Resident: &resident, Data: v})
}

// delegatedSignedFile sends the signed file of a covered letter (the
// signed PDF, else the CMS), opened with the letter's key as its
// documents are; a letter not signed is a 404.
func (s *Handlers) delegatedSignedFile(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	f, err := dm.SignedFile(r.Context(), id)
	if errors.Is(err, store.ErrInaccessible) {
		err = store.ErrNotFound
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	name := "signature-" + id + ".p7s"
	if f.ContentType == "application/pdf" {
		name = "signed-" + id + ".pdf"
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(f.Content)
	}
}

// delegatedSign signs a covered letter for the grantor
// (store.DelegatedMailbox.Sign), confirmed with the delegate's own
// password under the login throttle, as letterSign does.
func (s *Handlers) delegatedSign(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	form := parseSignForm(w, r)
	l := s.web.Lang(r)
	if !form.Confirmed {
		s.renderDelegatedSignature(w, r, mb, dm, id, http.StatusUnprocessableEntity, signForm{Error: l.T("signing.error.confirm")}, false)
		return
	}
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() error {
		_, err := dm.Sign(r.Context(), id, form.Password)
		return err
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		msg := l.T("delete.error.busy")
		if ref.Throttled {
			msg = l.T("delete.error.throttled", "Wait", ref.Wait)
		}
		s.renderDelegatedSignature(w, r, mb, dm, id, ref.Status, signForm{Error: msg}, false)
		return
	}
	s.delegatedAnswered(w, r, mb, dm, id, err, "signed", func(msg string) signForm { return signForm{Error: msg} })
}

// delegatedDecline declines a covered letter's signature request for the
// grantor (store.DelegatedMailbox.DeclineSignature).
func (s *Handlers) delegatedDecline(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	id := mux.Vars(r)["id"]
	form := parseSignForm(w, r)
	l := s.web.Lang(r)
	if strings.TrimSpace(form.Reason) == "" || len(form.Reason) > store.MaxDeclineReason {
		s.renderDelegatedSignature(w, r, mb, dm, id, http.StatusUnprocessableEntity,
			signForm{DeclineErr: l.T("signing.error.reason", "Max", store.MaxDeclineReason), Reason: form.Reason}, false)
		return
	}
	err := dm.DeclineSignature(r.Context(), id, form.Reason)
	s.delegatedAnswered(w, r, mb, dm, id, err, "declined", func(msg string) signForm { return signForm{DeclineErr: msg, Reason: form.Reason} })
}

// delegatedAnswered answers a delegate's sign or decline: the page again
// with why it was refused, or back to it with what was done.
func (s *Handlers) delegatedAnswered(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox, id string, err error, saved string, form func(string) signForm) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	if errors.Is(err, store.ErrDelegationReadOnly) {
		s.renderDelegatedSignature(w, r, mb, dm, id, http.StatusForbidden, signForm{}, true)
		return
	}
	if errors.Is(err, store.ErrInaccessible) {
		err = store.ErrNotFound
	}
	if status, msg, ok := s.signRefusal(l, err); ok {
		s.renderDelegatedSignature(w, r, mb, dm, id, status, form(msg), false)
		return
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeDelegatedSignature, "grant", dm.Grant().ID, "id", id)+"?saved="+saved+"#signature", http.StatusSeeOther)
}
