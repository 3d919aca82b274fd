package resident

import (
	"errors"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// supportView is the data of the help page: the form that asks the
// operator for help, and the resident's earlier requests with their
// answers.
type supportView struct {
	Categories []string
	Form       supportForm
	// Error says why the request was not sent; Field names the field at
	// fault ("" for none in particular).
	Error string
	Field string
	// Refused: the subject or description held a national identity
	// number, so the request was deleted at once (store.ErrNationalIDInText).
	Refused  bool
	Sent     bool
	Requests []supportLine
}

// supportLine is one of the resident's requests, for the list.
type supportLine struct {
	Category, Subject, Created string
	Answered                   string // when the answer came, in words; "" while open
	AnswerLetterID             string
}

// supportForm is the help form as sent.
type supportForm struct {
	Category, Subject, Description, NationalID string
}

func parseSupportForm(w http.ResponseWriter, r *http.Request) supportForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return supportForm{Category: r.PostForm.Get("category"), Subject: r.PostForm.Get("subject"),
		Description: r.PostForm.Get("description"), NationalID: strings.TrimSpace(r.PostForm.Get("nationalId"))}
}

// supportPage shows the help form and the resident's requests.
func (s *Handlers) supportPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderSupport(w, r, mb, http.StatusOK, supportView{})
}

// supportSubmit sends a request for help to the operator
// (store.Mailbox.SubmitSupportRequest). One whose subject or description
// holds a national identity number is deleted at once and the resident is
// told why; the form comes back without its texts, which were not kept.
func (s *Handlers) supportSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	form := parseSupportForm(w, r)
	l := s.web.Lang(r)
	_, err := mb.SubmitSupportRequest(r.Context(), form.Category, form.Subject, form.Description, form.NationalID)
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrNationalIDInText):
		s.renderSupport(w, r, mb, http.StatusUnprocessableEntity, supportView{Refused: true, Error: l.T("support.refused.text"),
			Form: supportForm{Category: form.Category}})
	case errors.As(err, &invalid):
		field := invalid.Field
		s.renderSupport(w, r, mb, http.StatusBadRequest, supportView{Form: form, Field: field, Error: l.T("support.error." + field)})
	case err != nil:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
	default:
		s.renderSupport(w, r, mb, http.StatusOK, supportView{Sent: true})
	}
}

// renderSupport renders the help page with v, adding the categories and
// the resident's requests.
func (s *Handlers) renderSupport(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v supportView) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	reqs, err := mb.SupportRequests(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v.Categories = store.SupportCategories
	for i := len(reqs) - 1; i >= 0; i-- { // newest first
		q := reqs[i]
		line := supportLine{Category: q.Category, Subject: q.Subject, Created: s.longDate(l, q.Created), AnswerLetterID: q.AnswerLetterID}
		if !q.AnsweredAt.IsZero() {
			line.Answered = s.longDate(l, q.AnsweredAt)
		}
		v.Requests = append(v.Requests, line)
	}
	s.pages.Render(w, r, status, pageSupport, web.View{Title: l.T("support.title"), Resident: &resident, Data: v})
}
