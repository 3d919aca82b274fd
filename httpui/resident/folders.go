package resident

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// foldersView is the data of the page where the resident makes, renames
// and deletes their own folders.
type foldersView struct {
	Folders []folderLink // the inbox and the archive first, then the own
	// Error is a refused name's message, for the field of the folder
	// ErrorFor ("" the new folder's); Name is what was written.
	Error    string
	ErrorFor string
	Name     string
	// Done says what was just done: "created", "renamed", "deleted".
	Done string
}

// The results the folders page reports (done=…).
const (
	doneCreated = "created"
	doneRenamed = "renamed"
	doneDeleted = "deleted"
)

// foldersPage lists the folders with their counts and the forms to make,
// rename and delete the resident's own.
func (s *Handlers) foldersPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	v := foldersView{}
	switch d := r.URL.Query().Get("done"); d {
	case doneCreated, doneRenamed, doneDeleted:
		v.Done = d
	}
	s.renderFolders(w, r, mb, http.StatusOK, v)
}

func (s *Handlers) renderFolders(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v foldersView) {
	resident := mb.Resident()
	folders, err := mb.Folders(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	l := s.web.Lang(r)
	v.Folders = s.folderLinks(l, folders, "")
	s.pages.Render(w, r, status, pageFolders, web.View{Title: l.T("folders.title"), Resident: &resident, Data: v})
}

// folderCreate makes a folder of the resident's own.
func (s *Handlers) folderCreate(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	name, ok := s.folderForm(w, r, mb)
	if !ok {
		return
	}
	if _, err := mb.CreateFolder(r.Context(), name); err != nil {
		s.folderRefused(w, r, mb, "", name, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeFolders)+"?done="+doneCreated, http.StatusSeeOther)
}

// folderRename renames a folder of the resident's own.
func (s *Handlers) folderRename(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	name, ok := s.folderForm(w, r, mb)
	if !ok {
		return
	}
	id := mux.Vars(r)["id"]
	if err := mb.RenameFolder(r.Context(), id, name); err != nil {
		s.folderRefused(w, r, mb, id, name, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeFolders)+"?done="+doneRenamed, http.StatusSeeOther)
}

// folderDelete deletes a folder of the resident's own when it is empty.
func (s *Handlers) folderDelete(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	id := mux.Vars(r)["id"]
	if err := mb.DeleteFolder(r.Context(), id); err != nil {
		s.folderRefused(w, r, mb, id, "", err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeFolders)+"?done="+doneDeleted, http.StatusSeeOther)
}

// folderForm reads the name field of a folder form; false when the
// answer was sent.
func (s *Handlers) folderForm(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		resident := mb.Resident()
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return "", false
	}
	return r.PostForm.Get("name"), true
}

// folderRefused shows the folders page again with what the store refused,
// in words, at the form of the folder it concerns; an error that is no
// refusal is the error page.
func (s *Handlers) folderRefused(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, id, name string, err error) {
	l := s.web.Lang(r)
	var invalid *store.InvalidError
	var msg string
	switch {
	case errors.As(err, &invalid) && invalid.Field == "name":
		msg = l.T("folders.error.name")
	case errors.Is(err, store.ErrFolderExists):
		msg = l.T("folders.error.exists")
	case errors.Is(err, store.ErrTooManyFolders):
		msg = l.T("folders.error.tooMany")
	case errors.Is(err, store.ErrFolderNotEmpty):
		msg = l.T("folders.error.notEmpty")
	default:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.renderFolders(w, r, mb, http.StatusUnprocessableEntity, foldersView{Error: msg, ErrorFor: id, Name: name})
}
