package resident

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// deleteLettersView is the data of the page that confirms deleting
// letters for good.
type deleteLettersView struct {
	Letters []store.LetterSummary
	Back    string // where "cancel" leads: the letter, or the folder the letters were chosen in
	// From is that folder's id (the folder pages' from), to go back to
	// once the letters are deleted.
	From string
	// AllImported: every letter came from another Postkasse, whose
	// senders are told nothing here.
	AllImported bool
	// AllOwn: every one is the resident's own document, of which
	// nobody is told.
	AllOwn bool
	// Error says why nothing can be deleted (no letter chosen, too many,
	// a letter made inaccessible); the page then has no form.
	Error string
}

// maxDeleteFormSize bounds the body of the form that deletes letters: an
// id field for each of store.MaxDeleteLetters letters.
const maxDeleteFormSize = 64 << 10

// deleteLettersForm is the form that deletes letters: the ids chosen
// (the field "id", repeated) and whether the resident confirmed.
type deleteLettersForm struct {
	IDs     []string
	Confirm bool
	// From is the folder the letters were chosen in (the folder pages'
	// from), where deleting them goes back to; the inbox when none.
	From string
}

func parseDeleteLettersForm(w http.ResponseWriter, r *http.Request) deleteLettersForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxDeleteFormSize)
	_ = r.ParseForm()
	f := deleteLettersForm{IDs: r.PostForm["id"], Confirm: r.PostForm.Get("confirm") == "1", From: r.PostForm.Get("from")}
	if !validFolderID(f.From) && f.From != fromDue {
		f.From = store.FolderInbox // a from that names no folder is the inbox's
	}
	return f
}

// deleteLetterPage asks the resident to confirm deleting one letter
// (the letter page's "Delete"). It opens nothing and marks nothing read.
func (s *Handlers) deleteLetterPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	id := mux.Vars(r)["id"]
	s.confirmDelete(w, r, mb, []string{id}, s.pages.MustURL(routeLetter, "id", id), fromLetterPage)
}

// deleteLetters deletes the letters chosen (store.Mailbox.DeleteLetters)
// once the resident confirmed (confirm=1), and goes to the inbox, which
// says how many were deleted. Without the confirmation it shows the page
// that asks for it, listing the letters: the inbox's bulk "Delete" posts
// here with the letters ticked.
func (s *Handlers) deleteLetters(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	form := parseDeleteLettersForm(w, r)
	back := s.folderURL(form.From)
	if !form.Confirm {
		s.confirmDelete(w, r, mb, form.IDs, back, form.From)
		return
	}
	if err := mb.DeleteLetters(r.Context(), form.IDs); err != nil {
		s.deleteRefused(w, r, mb, err, back, len(uniqueStrings(form.IDs)))
		return
	}
	n := len(uniqueStrings(form.IDs))
	http.Redirect(w, r, back+"?deleted="+strconv.Itoa(n), http.StatusSeeOther)
}

// fromLetterPage marks a confirmation asked for from a letter's page:
// once deleted, back to the letter's folder.
const fromLetterPage = "letter"

// confirmDelete renders the confirmation of deleting the letters ids
// names, or why they cannot be deleted.
func (s *Handlers) confirmDelete(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, ids []string, back, from string) {
	letters, err := mb.LettersToDelete(r.Context(), ids)
	if err != nil {
		s.deleteRefused(w, r, mb, err, back, len(uniqueStrings(ids)))
		return
	}
	if from == fromLetterPage {
		from = store.FolderInbox
		if len(letters) == 1 {
			from = letters[0].Folder
		}
	}
	resident := mb.Resident()
	l := s.web.Lang(r)
	s.pages.Render(w, r, http.StatusOK, pageDeleteLetters, web.View{Title: l.T("deleteLetters.title", "Count", len(letters)), Resident: &resident,
		Data: deleteLettersView{Letters: letters, Back: back, From: from, AllImported: allImported(letters), AllOwn: allOwn(letters)}})
}

// deleteRefused answers a refused deletion: a letter made inaccessible
// (409) or a choice the store refuses (400) on the confirmation page
// with the reason; anything else (another resident's letter: 404) as an
// error page. chosen is the number of letters chosen.
func (s *Handlers) deleteRefused(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, err error, back string, chosen int) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	var invalid *store.InvalidError
	v := deleteLettersView{Back: back}
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, store.ErrInaccessible):
		v.Error, status = l.T("deleteLetters.error.held"), http.StatusConflict
	case errors.As(err, &invalid) && chosen > store.MaxDeleteLetters:
		v.Error = l.T("deleteLetters.error.tooMany", "Max", store.MaxDeleteLetters)
	case errors.As(err, &invalid):
		v.Error = l.T("deleteLetters.error.none")
	default:
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.pages.Render(w, r, status, pageDeleteLetters, web.View{Title: l.T("deleteLetters.notDeleted"), Resident: &resident, Data: v})
}

// uniqueStrings returns ss without repeats, in order.
func uniqueStrings(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// allOwn reports whether every letter is the resident's own document.
func allOwn(letters []store.LetterSummary) bool {
	for _, l := range letters {
		if !l.Own {
			return false
		}
	}
	return len(letters) > 0
}

// allImported reports whether every letter came from another Postkasse.
func allImported(letters []store.LetterSummary) bool {
	for _, l := range letters {
		if l.ImportedFrom == nil {
			return false
		}
	}
	return len(letters) > 0
}
