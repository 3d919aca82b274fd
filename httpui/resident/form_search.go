package resident

import (
	"net/http"
	"strings"
	"time"

	"github.com/postkasse/postkasse/store"
)

// searchForm is the search form as sent (GET /search): the words, the
// filters and the cursor of the page, as written, to show them again.
type searchForm struct {
	Q, Sender, Folder, From, To, After string
	Unread                             bool
}

// searchPageSize is how many hits a page of results shows.
const searchPageSize = 20

// searchFolderAll is the folder filter's value for every folder.
const searchFolderAll = "all"

// searchFolderInbox is the folder filter's value for the inbox (whose
// store id is empty, the value of no choice).
const searchFolderInbox = "inbox"

func parseSearchForm(r *http.Request) searchForm {
	q := r.URL.Query()
	return searchForm{Q: strings.TrimSpace(q.Get("q")), Sender: q.Get("sender"), Folder: q.Get("folder"),
		From: q.Get("from"), To: q.Get("to"), After: q.Get("after"), Unread: q.Get("unread") == "1"}
}

// empty says whether the form asks nothing yet (the page was opened).
func (f searchForm) empty() bool {
	return f == searchForm{} || f == searchForm{Folder: searchFolderAll}
}

// query turns the form into the store's query; the dates are days in
// loc, both included. A date that is no date names its field.
func (f searchForm) query(loc *time.Location) (store.SearchQuery, string) {
	q := store.SearchQuery{Text: f.Q, SenderID: f.Sender, Unread: f.Unread, After: f.After, Limit: searchPageSize}
	switch f.Folder {
	case "", searchFolderAll:
	case searchFolderInbox:
		inbox := store.FolderInbox
		q.Folder = &inbox
	default:
		folder := f.Folder
		q.Folder = &folder
	}
	if f.From != "" {
		d, err := time.ParseInLocation(time.DateOnly, f.From, loc)
		if err != nil {
			return q, "from"
		}
		q.From = d
	}
	if f.To != "" {
		d, err := time.ParseInLocation(time.DateOnly, f.To, loc)
		if err != nil {
			return q, "to"
		}
		q.To = d.AddDate(0, 0, 1)
	}
	return q, ""
}
