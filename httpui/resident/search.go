package resident

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// searchView is the data of the search page: the form with the
// resident's senders and folders to filter by, and a page of hits.
type searchView struct {
	Form    searchForm
	Senders []store.SearchSender
	Folders []searchFolder
	// Searched: the form asked something, so the page shows hits or says
	// there are none.
	Searched bool
	// Error says why the search was not run; Field names the field at
	// fault.
	Error, Field string
	Hits         []searchLine
	// NextURL is the link to the next page of hits; "" on the last.
	NextURL string
	// Pending is how many letters are not searchable yet.
	Pending int
}

// searchFolder is a choice of the folder filter.
type searchFolder struct {
	Value, Name string
}

// searchLine is one hit.
type searchLine struct {
	store.SearchHit
	// InDocument: words were found in the text of a document only.
	InDocument bool
}

// search shows the search form and, when it was sent, a page of the
// letters found (store.Mailbox.Search), with the words matched marked.
func (s *Handlers) search(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	form := parseSearchForm(r)
	if form.Folder == "" {
		form.Folder = searchFolderAll
	}
	v := searchView{Form: form}
	folders, err := mb.Folders(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v.Folders = []searchFolder{{searchFolderAll, l.T("search.folder.all")}}
	for _, f := range folders {
		switch f.ID {
		case store.FolderInbox:
			v.Folders = append(v.Folders, searchFolder{searchFolderInbox, l.T("search.folder.inbox")})
		case store.FolderArchive:
			v.Folders = append(v.Folders, searchFolder{f.ID, l.T("search.folder.archive")})
		default:
			if !f.Unreadable {
				v.Folders = append(v.Folders, searchFolder{f.ID, f.Name})
			}
		}
	}
	status := http.StatusOK
	if !form.empty() {
		if status, err = s.runSearch(r, mb, &v); err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
	}
	if !v.Searched {
		// The senders to filter by come with a search; without one
		// (the form is opened, or was refused), from the index alone.
		if v.Senders, err = mb.SearchSenders(r.Context()); err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
	}
	s.pages.Render(w, r, status, pageSearch, web.View{Title: l.T("search.title"), Resident: &resident, Data: v})
}

// runSearch runs the form's search into v and returns the page's
// status; an error that is not the form's is returned.
func (s *Handlers) runSearch(r *http.Request, mb *store.Mailbox, v *searchView) (int, error) {
	l := s.web.Lang(r)
	q, bad := v.Form.query(s.loc)
	if bad != "" {
		v.Field, v.Error = bad, l.T("search.error."+bad)
		return http.StatusBadRequest, nil
	}
	res, err := mb.Search(r.Context(), q)
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &invalid):
		field := invalid.Field
		if field != "q" && field != "to" && field != "after" {
			field = "q"
		}
		v.Field, v.Error = field, l.T("search.error."+field)
		return http.StatusBadRequest, nil
	case err != nil:
		return 0, err
	}
	v.Searched, v.Senders, v.Pending = true, res.Senders, res.Pending
	for _, h := range res.Hits {
		v.Hits = append(v.Hits, searchLine{SearchHit: h,
			InDocument: h.Fields&store.FieldDocument != 0 && h.Fields&(store.FieldSubject|store.FieldSender|store.FieldBody|store.FieldFileName) == 0})
	}
	if res.Next != "" {
		next := url.Values{"q": {v.Form.Q}, "folder": {v.Form.Folder}, "after": {res.Next}}
		for k, val := range map[string]string{"sender": v.Form.Sender, "from": v.Form.From, "to": v.Form.To} {
			if val != "" {
				next.Set(k, val)
			}
		}
		if v.Form.Unread {
			next.Set("unread", "1")
		}
		v.NextURL = s.pages.MustURL(routeSearch) + "?" + next.Encode()
	}
	return http.StatusOK, nil
}
