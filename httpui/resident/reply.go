package resident

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// Replies (store/replies.go): on a letter that takes replies, the letter
// page has a reply form (a text and up to store.MaxReplyAttachments
// files) and shows the thread: the resident's replies, opened with the
// resident's copy of their key, each with its attachments, and the
// sender's answers, which are letters of the mailbox.

// replyView is the letter page's reply form: a refused reply's reason and
// what was written, and the limits in words.
type replyView struct {
	Error  string
	Text   string
	Accept string
	Hint   string
	Max    int // bytes of text
	Sent   bool
}

// threadView is a letter's conversation on its page.
type threadView struct {
	Replies []replyLine
	Answers []answerLine
}

type replyLine struct {
	ID          string
	Reply       store.ReplyView
	Attachments []replyAttachmentLink
}

type replyAttachmentLink struct {
	Name string
	Size string
	URL  string
}

type answerLine struct {
	Summary store.LetterSummary
	URL     string
}

// replyForm is a reply form as sent: the text and the files, and on the
// messages page the sender written to.
type replyForm struct {
	Sender string
	Text   string
	Files  []store.DocumentInput
}

// readReplyForm reads a posted reply or message form within the upload
// limit (maxUploadSize). A body that is no such form is answered 400
// here and ok is false; a form over a limit comes back with its error,
// for the page to say why (replyRefusal).
func (s *Handlers) readReplyForm(w http.ResponseWriter, r *http.Request, resident store.Resident) (f replyForm, ok bool, err error) {
	lim := s.store.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadSize(lim))
	f, err = parseReplyForm(r, lim)
	var tooBig *http.MaxBytesError
	var invalid *store.InvalidError
	if err != nil && !errors.As(err, &tooBig) && !errors.Is(err, store.ErrDocumentTooLarge) && !errors.As(err, &invalid) {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return f, false, err
	}
	return f, true, err
}

// parseReplyForm reads a reply or message form (readForm): the text,
// with room for CR LF line ends, which the store makes LF; at most
// store.MaxReplyAttachments files; on the messages page the sender. It
// only parses; the store checks the rules.
func parseReplyForm(r *http.Request, l store.Limits) (replyForm, error) {
	fields, files, err := readForm(r, l, map[string]int{"sender": maxUploadField, "text": 2 * l.MaxBody}, store.MaxReplyAttachments)
	return replyForm{Sender: strings.TrimSpace(fields["sender"]), Text: fields["text"], Files: files}, err
}

// replyHint says the limits of a reply in the language.
func (s *Handlers) replyHint(l *i18n.Lang) string {
	lim := s.store.Limits()
	return l.T("reply.files.hint", "Count", store.MaxReplyAttachments, "Size", formatSize(l, lim.MaxDocumentSize), "Total", formatSize(l, lim.MaxLetterSize))
}

// reply sends the letter page's reply (store.Mailbox.Reply) and shows the
// letter again, saying so. A refused reply shows the page again with the
// reason and the text; nothing of it is stored.
func (s *Handlers) reply(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	lim := s.store.Limits()
	form, ok, err := s.readReplyForm(w, r, resident)
	if !ok {
		return
	}
	if err == nil {
		_, err = mb.Reply(r.Context(), id, store.ReplyInput{Text: form.Text, Attachments: form.Files})
	}
	if err == nil {
		http.Redirect(w, r, s.pages.MustURL(routeLetter, "id", id)+"?saved=replied#thread", http.StatusSeeOther)
		return
	}
	l := s.web.Lang(r)
	status, msg := http.StatusUnprocessableEntity, ""
	switch {
	case errors.Is(err, store.ErrReplyNotAllowed), errors.Is(err, store.ErrNoReplyKey):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusForbidden)
		return
	case errors.Is(err, store.ErrNotFound):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound)
		return
	case errors.Is(err, store.ErrInaccessible):
		s.pages.ErrorPageFor(w, r, &resident, http.StatusConflict)
		return
	default:
		var ok bool
		if status, msg, ok = replyRefusal(l, lim, err, form.Text, len(form.Files)); !ok {
			s.refusedReply(w, r, resident, err)
			return
		}
	}
	s.renderLetterForms(w, r, mb, id, status, letterForms{Reply: replyView{Error: msg, Text: form.Text}})
}

// replyRefusal says why a reply or message (its text and number of
// files) was refused, for the form shown again: the answer's status and
// the message, or ok false for a refusal that is no fault of the form.
func replyRefusal(l *i18n.Lang, lim store.Limits, err error, text string, files int) (status int, msg string, ok bool) {
	var tooBig *http.MaxBytesError
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, store.ErrDocumentTooLarge):
		return http.StatusRequestEntityTooLarge,
			l.T("reply.error.tooLarge", "Size", formatSize(l, lim.MaxDocumentSize), "Total", formatSize(l, lim.MaxLetterSize)), true
	case errors.Is(err, store.ErrUnsupportedDocumentType):
		return http.StatusUnsupportedMediaType, l.T("reply.error.type"), true
	case !errors.As(err, &invalid):
		return 0, "", false
	case invalid.Field == "text" && strings.TrimSpace(text) == "" && files == 0:
		return http.StatusUnprocessableEntity, l.T("reply.error.empty"), true
	case invalid.Field == "text":
		return http.StatusUnprocessableEntity, l.T("reply.error.text", "Max", lim.MaxBody), true
	case invalid.Field == "attachment" || invalid.Field == "document":
		return http.StatusUnprocessableEntity, l.T("reply.error.tooMany", "Count", store.MaxReplyAttachments), true
	case strings.HasPrefix(invalid.Field, "document["):
		return http.StatusUnprocessableEntity, l.T("reply.error.name"), true
	}
	return 0, "", false
}

// refusedReply answers a reply or message refused for no fault of its
// form: another field's fault is a bad request, anything else the page's
// error.
func (s *Handlers) refusedReply(w http.ResponseWriter, r *http.Request, resident store.Resident, err error) {
	var invalid *store.InvalidError
	if errors.As(err, &invalid) {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	s.pages.PageError(w, r, &resident, err)
}

// thread returns the letter's thread for its page, and the reply form
// when the letter takes replies.
func (s *Handlers) thread(r *http.Request, mb *store.Mailbox, l store.Letter, reply replyView) (*threadView, *replyView, error) {
	th, err := mb.Thread(r.Context(), l.ID)
	if err != nil {
		return nil, nil, err
	}
	lang := s.web.Lang(r)
	var tv *threadView
	if len(th.Replies) > 0 {
		tv = &threadView{}
		for _, rep := range th.Replies {
			line := replyLine{ID: rep.ID, Reply: rep}
			for _, a := range rep.Attachments {
				line.Attachments = append(line.Attachments, replyAttachmentLink{Name: documentFileName(a.Name, a.ContentType),
					Size: formatSize(lang, int64(a.Size)), URL: s.pages.MustURL(routeReplyAttachment, "id", rep.ID, "n", strconv.Itoa(a.Index))})
			}
			tv.Replies = append(tv.Replies, line)
		}
		for _, a := range th.Answers {
			tv.Answers = append(tv.Answers, answerLine{Summary: a, URL: s.pages.MustURL(routeLetter, "id", a.ID)})
		}
	}
	if !l.ReplyAllowed || l.Own {
		return tv, nil, nil
	}
	reply.Accept, reply.Hint, reply.Max = uploadAccept, s.replyHint(lang), s.store.Limits().MaxBody
	reply.Sent = r.URL.Query().Get("saved") == "replied"
	return tv, &reply, nil
}

// replyAttachment sends one attachment of the resident's reply, always
// as a download: the resident wrote it, but it is shown as a file.
func (s *Handlers) replyAttachment(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	vars := mux.Vars(r)
	n, ok := s.numberVar(w, r, resident)
	if !ok {
		return
	}
	a, err := mb.ReplyAttachment(r.Context(), vars["id"], n)
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	serveReplyAttachment(w, r, a)
}

// serveReplyAttachment sends an attachment of a reply as a download.
func serveReplyAttachment(w http.ResponseWriter, r *http.Request, a crypto.ReplyAttachment) {
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": documentFileName(a.Name, a.ContentType)})
	if cd == "" {
		cd = "attachment"
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", cd)
	h.Set("Content-Length", strconv.Itoa(len(a.Content)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(a.Content)
	}
}
