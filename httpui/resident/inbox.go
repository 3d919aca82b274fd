package resident

import (
	"net/http"
	"strconv"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// inboxView is the data of the inbox page.
type inboxView struct {
	Letters []inboxLine
	Unread  int
	// Deleted is how many letters were just deleted (the query
	// deleted=N that deleting letters redirects with), to say so.
	Deleted int
}

type inboxLine struct {
	store.LetterSummary
	Due *dueView
}

// inbox lists the resident's letters, newest first.
func (s *Handlers) inbox(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	letters, err := mb.Inbox(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	now, l := s.clock(), s.web.Lang(r)
	v := inboxView{Letters: make([]inboxLine, 0, len(letters))}
	if n, err := strconv.Atoi(r.URL.Query().Get("deleted")); err == nil && n > 0 && n <= store.MaxDeleteLetters {
		v.Deleted = n
	}
	for _, letter := range letters {
		if letter.Unread() {
			v.Unread++
		}
		v.Letters = append(v.Letters, inboxLine{LetterSummary: letter, Due: due(l, letter.DueDate, now, s.loc)})
	}
	s.pages.Render(w, r, http.StatusOK, pageInbox, web.View{Title: l.T("inbox.title"), Resident: &resident, Data: v})
}
