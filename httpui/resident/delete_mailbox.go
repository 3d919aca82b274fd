package resident

import (
	"errors"
	"net/http"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// deleteMailboxView is the data of the page that deletes the mailbox.
type deleteMailboxView struct {
	Error     string
	Throttled bool // too many wrong passwords: the password was not tried
	Busy      bool // no password check came free: the password was not tried
}

// mailboxDeletedView is the data of the page after the deletion.
type mailboxDeletedView struct {
	Deleted string // the date, in words
}

// deleteMailboxPage asks for the password before deleting the mailbox.
func (s *Handlers) deleteMailboxPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	s.pages.Render(w, r, http.StatusOK, pageDeleteMailbox, web.View{Title: s.web.Lang(r).T("delete.title"), Resident: &resident, Data: deleteMailboxView{}})
}

// deleteMailboxSubmit deletes the mailbox and everything in it once the
// password is right (store.Mailbox.DeleteMailbox), ends the session and
// says so. The password check runs like a login's (checkPassword): wrong
// passwords count against the login throttle of the account and the
// address, so the form cannot be used to guess the password of a session
// left open, and it takes one of the slots for password checks at once.
func (s *Handlers) deleteMailboxSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	form := parseDeleteMailboxForm(w, r)
	l := s.web.Lang(r)
	title := l.T("delete.title")
	err := s.checkPassword(r.Context(), resident.NationalID.Number, clientAddress(r), func() error {
		return mb.DeleteMailbox(r.Context(), form.Password)
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		v := deleteMailboxView{Error: l.T("delete.error.busy"), Throttled: ref.Throttled, Busy: !ref.Throttled}
		if ref.Throttled {
			v.Error = l.T("delete.error.throttled", "Wait", ref.Wait)
		}
		s.pages.Render(w, r, ref.Status, pageDeleteMailbox, web.View{Title: title, Resident: &resident, Data: v})
		return
	}
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		s.pages.Render(w, r, http.StatusUnauthorized, pageDeleteMailbox, web.View{Title: title, Resident: &resident, Data: deleteMailboxView{
			Error: l.T("delete.error.password"),
		}})
		return
	case err != nil:
		s.pages.PageError(w, r, &resident, err)
		return
	}
	clearSessionCookie(w, r)
	s.pages.Render(w, r, http.StatusOK, pageMailboxDeleted, web.View{Title: l.T("deleted.title"), Data: mailboxDeletedView{Deleted: s.longDate(l, s.clock())}})
}
