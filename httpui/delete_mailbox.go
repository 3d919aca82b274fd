package httpui

import (
	"errors"
	"net/http"

	"github.com/postkasse/postkasse/store"
)

// deleteMailboxView is the data of the page that deletes the mailbox.
type deleteMailboxView struct {
	Error     string
	Throttled bool
}

// mailboxDeletedView is the data of the page after the deletion.
type mailboxDeletedView struct {
	Deleted string // the date, in words
}

// deleteMailboxPage asks for the password before deleting the mailbox.
func (s *Server) deleteMailboxPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	s.render(w, r, http.StatusOK, "delete-mailbox", view{Title: "Delete your mailbox", Resident: &resident, Data: deleteMailboxView{}})
}

// deleteMailboxSubmit deletes the mailbox and everything in it once the
// password is right (store.Mailbox.DeleteMailbox), ends the session and
// says so. Wrong passwords count against the login throttle of the
// account and the address, so the form cannot be used to guess the
// password of a session left open.
func (s *Server) deleteMailboxSubmit(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	form := parseDeleteMailboxForm(w, r)
	account, address := resident.NationalID.Number, clientAddress(r)
	if blocked, wait := s.logins.blocked(account, address); blocked {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.render(w, r, http.StatusTooManyRequests, "delete-mailbox", view{Title: "Delete your mailbox", Resident: &resident, Data: deleteMailboxView{
			Error:     "Too many wrong passwords. Wait " + waitText(wait) + " before you try again. Your mailbox was not deleted.",
			Throttled: true,
		}})
		return
	}
	err := mb.DeleteMailbox(form.Password)
	if errors.Is(err, store.ErrBadCredentials) {
		s.logins.fail(account, address)
		s.render(w, r, http.StatusUnauthorized, "delete-mailbox", view{Title: "Delete your mailbox", Resident: &resident, Data: deleteMailboxView{
			Error: "Wrong password. Your mailbox was not deleted.",
		}})
		return
	} else if err != nil {
		s.pageError(w, r, &resident, err)
		return
	}
	s.logins.succeed(account)
	clearSessionCookie(w, r)
	s.render(w, r, http.StatusOK, "mailbox-deleted", view{Title: "Your mailbox is deleted", Data: mailboxDeletedView{Deleted: longDate(s.clock())}})
}
