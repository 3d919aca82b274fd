package resident

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// The delegate's view of a grantor's mailbox (store.DelegatedMailbox):
// the letters the grant covers, a letter, its documents, and, on a grant
// of access "act", marking a letter read or unread and moving it between
// the inbox and the archive. Every page has a banner that says whose
// mailbox it is; every signed-in page's header has a switcher between the
// resident's own mailbox and the mailboxes they have access to (switcher).

// delegatedView is the data of the delegate's list of letters.
type delegatedView struct {
	// Error says why an act was refused.
	Error   string
	Banner  delegatedBanner
	Letters []delegatedLine
	// Search is the search of the letters (delegated_search.go).
	Search delegatedSearch
}

// delegatedBanner says whose mailbox is shown, and with what access.
type delegatedBanner struct {
	GrantID string
	Grant   grantLine
}

// delegatedLine is one letter in the delegate's list.
type delegatedLine struct {
	ID, Sender, Subject, Date string
	Unread, Archived          bool
}

// delegatedLetterView is the data of a letter opened by a delegate.
type delegatedLetterView struct {
	Banner   delegatedBanner
	Letter   store.Letter
	Date     string
	Archived bool
	Unread   bool
	// Replies are those the delegate wrote on the grantor's behalf;
	// Reply the form, on a grant of access "act" to a letter that takes
	// replies (delegated_reply.go).
	Replies []delegatedReplyLine
	Reply   *replyView
}

// delegatedHandler is a handler of a grantor's mailbox opened through a
// grant of the signed-in resident.
type delegatedHandler func(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox)

// withDelegated opens the grant named by the route's {grant} for the
// signed-in resident. A grant that is not theirs, not accepted, ended or
// past its last day is not found.
func (s *Handlers) withDelegated(h delegatedHandler) http.Handler {
	return s.withMailbox(func(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
		dm, err := mb.Delegated(r.Context(), mux.Vars(r)["grant"])
		if err != nil {
			resident := mb.Resident()
			s.pages.PageError(w, r, &resident, err)
			return
		}
		h(w, r, mb, dm)
	})
}

// switcher lists the resident's own mailbox and the mailboxes of the
// active grants given to them, for the layout's switcher; the current one
// is the route's {grant} (the resident's own on their other pages). A
// failure to list them is logged and shows no switcher.
func (s *Handlers) switcher(r *http.Request, mb *store.Mailbox) []web.MailboxLink {
	l := s.web.Lang(r)
	_, received, err := mb.Grants(r.Context())
	if err != nil {
		s.web.Log.Warn("list the mailboxes for the switcher", "err", err, "id", web.RequestID(r))
		return nil
	}
	current := mux.Vars(r)["grant"]
	out := []web.MailboxLink{{Name: l.T("delegated.own"), URL: s.pages.MustURL(routeInbox), Current: current == ""}}
	for _, g := range received {
		if g.Active {
			out = append(out, web.MailboxLink{Name: g.GrantorName, URL: s.pages.MustURL(routeDelegated, "grant", g.ID), Current: g.ID == current})
		}
	}
	return out
}

func (s *Handlers) banner(r *http.Request, dm *store.DelegatedMailbox) delegatedBanner {
	g := dm.Grant()
	return delegatedBanner{GrantID: g.ID, Grant: s.grantLine(s.web.Lang(r), g, g.GrantorName)}
}

// delegatedList lists the covered letters of the grantor's mailbox.
func (s *Handlers) delegatedList(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	s.renderDelegated(w, r, mb, dm, http.StatusOK, "")
}

func (s *Handlers) renderDelegated(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox, status int, errText string) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	letters, search, err := s.delegatedLetters(r, dm)
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	if search.Error != "" && status == http.StatusOK {
		status = http.StatusBadRequest
	}
	v := delegatedView{Banner: s.banner(r, dm), Error: errText, Search: search}
	for _, ls := range letters {
		v.Letters = append(v.Letters, delegatedLine{ID: ls.ID, Sender: ls.SenderName, Subject: ls.Subject,
			Date: l.ShortDate(ls.DeliveredAt.In(s.loc)), Unread: ls.Unread(), Archived: ls.Folder == store.FolderArchive})
	}
	s.pages.Render(w, r, status, pageDelegated, web.View{Title: l.T("delegated.title", "Name", dm.Grant().GrantorName), Resident: &resident, Data: v})
}

// delegatedLetter shows a covered letter.
func (s *Handlers) delegatedLetter(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	s.renderDelegatedLetter(w, r, mb, dm, http.StatusOK, replyView{})
}

// renderDelegatedLetter shows a covered letter, with the reply form as
// given (a refused reply's reason and text).
func (s *Handlers) renderDelegatedLetter(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox, status int, form replyView) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	letter, err := dm.Letter(r.Context(), mux.Vars(r)["id"])
	if errors.Is(err, store.ErrInaccessible) {
		err = store.ErrNotFound // a held letter is not shown to a delegate
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v := delegatedLetterView{Banner: s.banner(r, dm), Letter: letter, Date: l.DateTime(letter.DeliveredAt.In(s.loc)),
		Archived: letter.Folder == store.FolderArchive, Unread: letter.Unread()}
	if v.Replies, v.Reply, err = s.delegatedThread(r, dm, letter, form); err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.pages.Render(w, r, status, pageDelegatedLetter, web.View{Title: letter.Subject, Resident: &resident, Data: v})
}

// delegatedDocument serves a document of a covered letter, as document
// does the resident's own.
func (s *Handlers) delegatedDocument(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	resident := mb.Resident()
	vars := mux.Vars(r)
	n, ok := s.numberVar(w, r, resident)
	if !ok {
		return
	}
	doc, err := dm.Document(r.Context(), vars["id"], n)
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	serveDocument(w, r, doc)
}

// delegatedAct does an act on a covered letter: refused on a grant of
// read access (403, with why), and an unknown act is a bad request.
func (s *Handlers) delegatedAct(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	ids := []string{id}
	var err error
	switch parseActForm(w, r) {
	case "read":
		err = dm.MarkRead(r.Context(), ids, true)
	case "unread":
		err = dm.MarkRead(r.Context(), ids, false)
	case "archive":
		err = dm.Move(r.Context(), ids, store.FolderArchive)
	case "inbox":
		err = dm.Move(r.Context(), ids, store.FolderInbox)
	default:
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	if errors.Is(err, store.ErrDelegationReadOnly) {
		s.renderDelegated(w, r, mb, dm, http.StatusForbidden, s.web.Lang(r).T("delegated.error.readOnly"))
		return
	} else if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeDelegatedLetter, "grant", dm.Grant().ID, "id", id), http.StatusSeeOther)
}
