package resident

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// sendersView is the data of the senders page: every sender who has
// written to the resident, with the resident's block of it, if any.
type sendersView struct {
	Senders []senderLine
	// Notice says what was just done ("" for nothing); Error why a
	// request was refused.
	Notice string
	Error  string
	// NoticePeriod is store.SenderBlockNotice in words ("7 days").
	NoticePeriod string
	// Messages: some sender accepts messages (messages.go).
	Messages bool
}

// senderLine is one sender on the senders page.
type senderLine struct {
	ID, Name string
	Public   bool
	Letters  int
	// Pending: blocked, not yet in effect; Blocked: in effect. Effective
	// is when the block takes or took effect, in words.
	Pending, Blocked bool
	Effective        string
}

// The queries that say what was just done on the senders page, with the
// sender's id in "sender".
const (
	doneBlocked   = "blocked"
	doneUnblocked = "unblocked"
)

// sendersPage lists the senders who have written to the resident.
func (s *Handlers) sendersPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	q := r.URL.Query()
	s.renderSenders(w, r, mb, http.StatusOK, q.Get("done"), q.Get("sender"), "")
}

// parseSenderForm returns the sender a block or unblock form names.
func parseSenderForm(w http.ResponseWriter, r *http.Request) string {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return strings.TrimSpace(r.PostForm.Get("sender"))
}

// sendersBlock blocks a private sender, effective store.SenderBlockNotice
// later (store.Mailbox.BlockSender). A public sender is refused and the
// page says why; a sender who has not written to the resident is not
// found.
func (s *Handlers) sendersBlock(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	id := parseSenderForm(w, r)
	_, err := mb.BlockSender(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrPublicSender):
		s.renderSenders(w, r, mb, http.StatusUnprocessableEntity, "", "", s.web.Lang(r).T("senders.error.public"))
	case err != nil:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
	default:
		s.redirectSenders(w, r, doneBlocked, id)
	}
}

// sendersUnblock withdraws a block, before or after it took effect
// (store.Mailbox.UnblockSender).
func (s *Handlers) sendersUnblock(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	id := parseSenderForm(w, r)
	if err := mb.UnblockSender(r.Context(), id); err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.redirectSenders(w, r, doneUnblocked, id)
}

// redirectSenders sends the browser back to the senders page, which says
// what was done (POST, redirect, GET: a reload does not send the form
// again).
func (s *Handlers) redirectSenders(w http.ResponseWriter, r *http.Request, done, senderID string) {
	q := url.Values{"done": {done}, "sender": {senderID}}
	http.Redirect(w, r, s.pages.MustURL(routeSenders)+"?"+q.Encode(), http.StatusSeeOther)
}

// renderSenders renders the senders page; done and senderID name what was
// just done to which sender (a sender not in the list says nothing).
func (s *Handlers) renderSenders(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, done, senderID, errText string) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	senders, err := mb.Senders(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v := sendersView{Error: errText, NoticePeriod: noticePeriod(l)}
	ms, err := mb.MessageSenders(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v.Messages = len(ms) > 0
	for _, ms := range senders {
		line := senderLine{ID: ms.Sender.ID, Name: ms.Sender.Name, Public: ms.Sender.Kind == store.SenderPublic, Letters: ms.Letters}
		if ms.Block != nil {
			line.Pending, line.Blocked = !ms.Blocked, ms.Blocked
			line.Effective = l.DateTime(ms.Block.Effective.In(s.loc))
		}
		if ms.Sender.ID == senderID {
			switch {
			case done == doneBlocked && ms.Block != nil:
				v.Notice = l.T("senders.done.blocked", "Name", line.Name, "Date", line.Effective)
			case done == doneUnblocked && ms.Block == nil:
				v.Notice = l.T("senders.done.unblocked", "Name", line.Name)
			}
		}
		v.Senders = append(v.Senders, line)
	}
	s.pages.Render(w, r, status, pageSenders, web.View{Title: l.T("senders.title"), Resident: &resident, Data: v})
}

// noticePeriod is store.SenderBlockNotice in words.
func noticePeriod(l *i18n.Lang) string {
	return periodText(l, store.Period{Days: int(store.SenderBlockNotice.Hours() / 24)})
}
