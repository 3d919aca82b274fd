package resident

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// pageSize is how many letters a page of a folder lists.
const pageSize = 50

// maxCursor bounds a page's cursor as the query gives it (the stores'
// cursors are a few dozen characters).
const maxCursor = 200

// inboxView is the data of a folder's page: the inbox, the archive or one
// of the resident's own folders.
type inboxView struct {
	Folder  folderLink   // the folder shown
	Folders []folderLink // the navigation: every folder, with counts
	// Targets are the folders letters can be moved to from here.
	Targets []folderLink
	Letters []inboxLine
	// Lines are the Letters as the page lists them (inboxLines).
	Lines template.HTML
	// From and To number the page's first and last letter in the folder
	// (1-based, newest first).
	From, To int
	// Next is the URL of the page of older letters, First the first
	// page's; "" when there is none.
	Next, First string
	// Done says what the resident just did ("moved", "read", "unread"),
	// with Count letters.
	Done  string
	Count int
	// Due is set on the list of due dates (the inbox's letters with a
	// due date not marked paid, soonest first) instead of a folder;
	// DueCount is how many there are, for the navigation.
	Due      bool
	DueCount int
	DueURL   string
	// Deleted is how many letters were just deleted (the query
	// deleted=N that deleting letters redirects with), to say so.
	Deleted int
	// Upload is the form that saves own documents in the folder (not
	// on the list of due dates).
	Upload *uploadView
}

type inboxLine struct {
	store.LetterSummary
	Due *dueView
}

// folderLink is a folder as the pages name and link it.
type folderLink struct {
	ID      string
	Name    string // in the resident's language for the inbox and the archive
	URL     string
	Letters int
	Unread  int
	Current bool
}

// folderName names a folder in the language: the inbox and the archive by
// the catalogue, an own folder by its name (or as damaged).
func folderName(l *i18n.Lang, f store.Folder) string {
	switch {
	case f.ID == store.FolderInbox:
		return l.T("folders.inbox")
	case f.ID == store.FolderArchive:
		return l.T("folders.archive")
	case f.Unreadable:
		return l.T("folders.unreadable")
	}
	return f.Name
}

// folderURL is the page of a folder: / for the inbox (and that of the
// due dates for fromDue).
func (s *Handlers) folderURL(id string) string {
	switch id {
	case store.FolderInbox:
		return s.pages.MustURL(routeInbox)
	case fromDue:
		return s.pages.MustURL(routeDue)
	}
	return s.pages.MustURL(routeFolder, "id", id)
}

// folderLinks names and links the mailbox's folders; current is marked.
func (s *Handlers) folderLinks(l *i18n.Lang, folders []store.Folder, current string) []folderLink {
	out := make([]folderLink, 0, len(folders))
	for _, f := range folders {
		out = append(out, folderLink{ID: f.ID, Name: folderName(l, f), URL: s.folderURL(f.ID), Letters: f.Letters,
			Unread: f.Unread, Current: f.ID == current})
	}
	return out
}

// inbox shows the first page of the inbox, or the page the query names.
func (s *Handlers) inbox(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.folderPage(w, r, mb, store.FolderInbox)
}

// folder shows a page of the archive or of an own folder.
func (s *Handlers) folder(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.folderPage(w, r, mb, mux.Vars(r)["id"])
}

// dueList shows the inbox's letters with a due date not marked paid, the
// soonest due first, a page at a time (the folder page's query and
// actions).
func (s *Handlers) dueList(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.folderPage(w, r, mb, fromDue)
}

// fromDue names the list of due dates where a folder's id goes: in the
// actions' from, and to folderPage.
const fromDue = "due"

// folderPage lists one page of a folder, newest first: the query's after
// is the cursor of the page before (from store.Mailbox.FolderPage), from
// the number of its first letter, kept only to say "51–100 of 340". A
// cursor that is not this folder's is a 404.
func (s *Handlers) folderPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, id string) {
	s.folderPageWith(w, r, mb, id, http.StatusOK, uploadView{})
}

// folderPageWith is folderPage answering with status, its upload form
// as given (a refused upload's reason and title).
func (s *Handlers) folderPageWith(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, id string, status int, upload uploadView) {
	resident := mb.Resident()
	q := r.URL.Query()
	cursor := q.Get("after")
	if len(cursor) > maxCursor {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound)
		return
	}
	// The page and its navigation, in one read (an unknown folder, or a
	// cursor of another, is ErrNotFound: a 404).
	var page store.PageView
	var err error
	if id == fromDue {
		page, err = mb.DueView(r.Context(), cursor, pageSize)
	} else {
		page, err = mb.FolderView(r.Context(), id, cursor, pageSize)
	}
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	l := s.web.Lang(r)
	dueCount := page.DueCount
	v := inboxView{Folders: s.folderLinks(l, page.Folders, id), Due: id == fromDue, DueCount: dueCount, DueURL: s.pages.MustURL(routeDue)}
	found := false
	for _, f := range v.Folders {
		if f.Current {
			v.Folder, found = f, true
		} else if f.ID != store.FolderInbox || !v.Due {
			v.Targets = append(v.Targets, f)
		}
	}
	if v.Due {
		v.Folder = folderLink{ID: fromDue, Name: l.T("due.title"), URL: v.DueURL, Letters: dueCount, Current: true}
		found = true
	}
	if !found {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound)
		return
	}
	letters, next := page.Letters, page.Next
	now := s.clock()
	for _, letter := range letters {
		v.Letters = append(v.Letters, inboxLine{LetterSummary: letter, Due: due(l, letter.DueDate, now, s.loc)})
	}
	v.Lines = s.inboxLines(l, v.Letters)
	v.From = 1
	if cursor != "" {
		// from only numbers the page; a wrong one misnumbers, nothing more.
		if n, err := strconv.Atoi(q.Get("from")); err == nil && n > pageSize && n <= v.Folder.Letters {
			v.From = n
		} else {
			v.From = pageSize + 1
		}
		v.First = v.Folder.URL
	}
	v.To = v.From + len(letters) - 1
	if next != "" {
		v.Next = v.Folder.URL + "?" + url.Values{"after": {next}, "from": {strconv.Itoa(v.To + 1)}}.Encode()
	}
	if n, err := strconv.Atoi(q.Get("deleted")); err == nil && n > 0 && n <= store.MaxDeleteLetters {
		v.Deleted = n
	}
	v.Done = q.Get("done")
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n > 0 && n <= pageSize {
		v.Count = n
	}
	switch v.Done {
	case doneMoved, doneRead, doneUnread, doneUploaded:
	default:
		v.Done, v.Count = "", 0
	}
	if !v.Due {
		upload.Folder, upload.Accept, upload.Hint = v.Folder.ID, uploadAccept, s.uploadHint(l)
		v.Upload = &upload
	}
	title := v.Folder.Name
	s.pages.Render(w, r, status, pageInbox, web.View{Title: title, Resident: &resident, Data: v})
}

// What the letters' actions report back to the folder page (done=…).
const (
	doneMoved  = "moved"
	doneRead   = "read"
	doneUnread = "unread"
	// doneUploaded: an own document was saved in the folder (upload.go).
	doneUploaded = "uploaded"
)

// letterActions applies an action of the folder page to the letters
// chosen there (the form's id fields): mark read or unread, move to a
// folder (the archive button moves to the archive). It goes back to the
// folder the form was on (from), saying what was done. A letter that is
// not the resident's changes nothing (404); no letter chosen goes back
// saying so.
func (s *Handlers) letterActions(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	f := r.PostForm
	from := f.Get("from")
	if !validFolderID(from) && from != fromDue {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	ids := f["id"]
	if len(ids) > pageSize || !allIDs(ids) {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	back := s.folderURL(from)
	if len(ids) == 0 {
		http.Redirect(w, r, back+"?done=none", http.StatusSeeOther)
		return
	}
	var err error
	var done string
	switch f.Get("action") {
	case "read":
		err, done = mb.MarkRead(r.Context(), ids, true), doneRead
	case "unread":
		err, done = mb.MarkRead(r.Context(), ids, false), doneUnread
	case "archive":
		err, done = mb.MoveLetters(r.Context(), ids, store.FolderArchive), doneMoved
	case "inbox":
		err, done = mb.MoveLetters(r.Context(), ids, store.FolderInbox), doneMoved
	case "move":
		to := f.Get("to")
		if !validFolderID(to) {
			s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
			return
		}
		err, done = mb.MoveLetters(r.Context(), ids, to), doneMoved
	default:
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	if errors.Is(err, store.ErrInaccessible) {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusConflict)
		return
	} else if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, back+"?"+url.Values{"done": {done}, "n": {strconv.Itoa(len(ids))}}.Encode(), http.StatusSeeOther)
}

// validFolderID reports whether s can name a folder: the inbox (""), the
// archive or an id. Whether the resident has it is the store's to say.
func validFolderID(s string) bool {
	return s == store.FolderInbox || s == store.FolderArchive || isID(s)
}

// allIDs reports whether every string is a store id.
func allIDs(ids []string) bool {
	for _, id := range ids {
		if !isID(id) {
			return false
		}
	}
	return true
}

// idRE is idPattern, whole.
var idRE = regexp.MustCompile("^" + idPattern + "$")

// isID reports whether s is a store id.
func isID(s string) bool { return idRE.MatchString(s) }
