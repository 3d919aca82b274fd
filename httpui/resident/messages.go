package resident

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// Messages (store/replies.go, SendMessage): the resident starts a
// conversation with a sender that accepts messages, from the messages
// page, which lists the messages sent with the senders' answers. The
// page is reached from the senders page when any sender accepts messages.

// messagesView is the data of the messages page.
type messagesView struct {
	Senders  []store.Sender // those that accept messages; none: no form
	Messages []messageLine
	Form     replyView // the form as a refused message left it
	Sender   string    // the sender chosen in the form
}

type messageLine struct {
	Message     store.MessageView
	Attachments []replyAttachmentLink
	Answers     []answerLine
}

// messagesPage shows the messages page.
func (s *Handlers) messagesPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderMessages(w, r, mb, http.StatusOK, messagesView{})
}

func (s *Handlers) renderMessages(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v messagesView) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	var err error
	if v.Senders, err = mb.MessageSenders(r.Context()); err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	msgs, err := mb.Messages(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	for _, m := range msgs {
		line := messageLine{Message: m}
		for _, a := range m.Attachments {
			line.Attachments = append(line.Attachments, replyAttachmentLink{Name: documentFileName(a.Name, a.ContentType),
				Size: formatSize(l, int64(a.Size)), URL: s.pages.MustURL(routeReplyAttachment, "id", m.ID, "n", strconv.Itoa(a.Index))})
		}
		for _, a := range m.Answers {
			line.Answers = append(line.Answers, answerLine{Summary: a, URL: s.pages.MustURL(routeLetter, "id", a.ID)})
		}
		v.Messages = append(v.Messages, line)
	}
	v.Form.Accept, v.Form.Hint, v.Form.Max = uploadAccept, s.replyHint(l), s.store.Limits().MaxBody
	v.Form.Sent = r.URL.Query().Get("done") == "sent"
	s.pages.Render(w, r, status, pageMessages, web.View{Title: l.T("messages.title"), Resident: &resident, Data: v})
}

// messageSend sends the messages page's message (store.Mailbox.SendMessage)
// and shows the page again, saying so; a refused one says why and keeps
// the text; nothing of it is stored.
func (s *Handlers) messageSend(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	lim := s.store.Limits()
	form, ok, err := s.readReplyForm(w, r, resident)
	if !ok {
		return
	}
	sender := form.Sender
	if err == nil {
		_, err = mb.SendMessage(r.Context(), sender, store.ReplyInput{Text: form.Text, Attachments: form.Files})
	}
	if err == nil {
		http.Redirect(w, r, s.pages.MustURL(routeMessages)+"?done=sent", http.StatusSeeOther)
		return
	}
	l := s.web.Lang(r)
	status, msg := http.StatusUnprocessableEntity, ""
	switch {
	case errors.Is(err, store.ErrNoMessages):
		msg = l.T("messages.error.sender")
	default:
		var ok bool
		if status, msg, ok = replyRefusal(l, lim, err, form.Text, len(form.Files)); !ok {
			s.refusedReply(w, r, resident, err)
			return
		}
	}
	s.renderMessages(w, r, mb, status, messagesView{Form: replyView{Error: msg, Text: form.Text}, Sender: sender})
}
