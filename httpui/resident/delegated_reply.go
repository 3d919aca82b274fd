package resident

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// Replies on the grantor's behalf (store/delegated_reply.go): on a grant
// of access "act", the delegate's view of a letter that takes replies has
// a reply form, and lists the replies the delegate wrote on the grantor's
// behalf, with their attachments, which the delegate downloads with their
// copy of the reply's key (delegatedReplyAttachment).
// A refused reply shows the page again with the reason and the text;
// nothing of it is stored.

// delegatedReplyLine is a reply the delegate wrote, on the letter page.
type delegatedReplyLine struct {
	Reply       store.ReplyView
	Attachments []replyAttachmentLink
}

// delegatedThread returns the delegate's replies to a covered letter and,
// on a grant of access "act" to a letter that takes replies, the form.
func (s *Handlers) delegatedThread(r *http.Request, dm *store.DelegatedMailbox, l store.Letter, form replyView) ([]delegatedReplyLine, *replyView, error) {
	replies, err := dm.Thread(r.Context(), l.ID)
	if err != nil {
		return nil, nil, err
	}
	lang := s.web.Lang(r)
	var out []delegatedReplyLine
	for _, rep := range replies {
		line := delegatedReplyLine{Reply: rep}
		for _, a := range rep.Attachments {
			line.Attachments = append(line.Attachments, replyAttachmentLink{Name: documentFileName(a.Name, a.ContentType), Size: formatSize(lang, int64(a.Size)),
				URL: s.pages.MustURL(routeDelegatedReplyAttachment, "grant", dm.Grant().ID, "id", rep.ID, "n", strconv.Itoa(a.Index))})
		}
		out = append(out, line)
	}
	if !l.ReplyAllowed || l.Own || dm.Grant().Access != store.AccessAct {
		return out, nil, nil
	}
	form.Accept, form.Hint, form.Max = uploadAccept, s.replyHint(lang), s.store.Limits().MaxBody
	form.Sent = r.URL.Query().Get("saved") == "replied"
	return out, &form, nil
}

// delegatedReply sends a reply on the grantor's behalf
// (store.DelegatedMailbox.Reply): refused on a grant of read access
// (403), on a letter the grant does not cover (404) or one that takes no
// replies (403).
func (s *Handlers) delegatedReply(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	lim := s.store.Limits()
	form, ok, err := s.readReplyForm(w, r, resident)
	if !ok {
		return
	}
	if err == nil {
		_, err = dm.Reply(r.Context(), id, store.ReplyInput{Text: form.Text, Attachments: form.Files})
	}
	if err == nil {
		http.Redirect(w, r, s.pages.MustURL(routeDelegatedLetter, "grant", dm.Grant().ID, "id", id)+"?saved=replied#thread", http.StatusSeeOther)
		return
	}
	switch {
	case errors.Is(err, store.ErrDelegationReadOnly), errors.Is(err, store.ErrReplyNotAllowed), errors.Is(err, store.ErrNoReplyKey):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusForbidden)
		return
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInaccessible):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound) // a held letter is not shown to a delegate
		return
	}
	status, msg, ok := replyRefusal(s.web.Lang(r), lim, err, form.Text, len(form.Files))
	if !ok {
		s.refusedReply(w, r, resident, err)
		return
	}
	s.renderDelegatedLetter(w, r, mb, dm, status, replyView{Error: msg, Text: form.Text})
}

// delegatedReplyAttachment sends an attachment of a reply the delegate
// wrote on the grantor's behalf through this grant, as a download; any
// other reply is not found.
func (s *Handlers) delegatedReplyAttachment(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, dm *store.DelegatedMailbox) {
	resident := mb.Resident()
	vars := mux.Vars(r)
	n, ok := s.numberVar(w, r, resident)
	if !ok {
		return
	}
	a, err := dm.ReplyAttachment(r.Context(), vars["id"], n)
	if errors.Is(err, store.ErrInaccessible) {
		err = store.ErrNotFound // a held letter is not shown to a delegate
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	serveReplyAttachment(w, r, a)
}
