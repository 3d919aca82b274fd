package resident

import (
	"errors"
	"net/http"

	"github.com/postkasse/postkasse/store"
)

// The delegate's search of the grantor's mailbox
// (store.DelegatedMailbox.Search): the list of letters with ?q= shows
// the covered letters that have the words, in the letter or in the
// delegate's own replies on the grantor's behalf. A query the search
// refuses shows all the letters, and says why (400).

// delegatedSearch is the search form and what it found.
type delegatedSearch struct {
	Q        string
	Searched bool
	Error    string
}

// delegatedLetters returns the letters the list shows: all, or those the
// search ?q= finds.
func (s *Handlers) delegatedLetters(r *http.Request, dm *store.DelegatedMailbox) ([]store.LetterSummary, delegatedSearch, error) {
	var search delegatedSearch
	_, asked := r.URL.Query()["q"]
	if !asked || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		letters, err := dm.Letters(r.Context())
		return letters, search, err
	}
	search.Q = r.URL.Query().Get("q")
	letters, err := dm.Search(r.Context(), search.Q)
	var invalid *store.InvalidError
	if errors.As(err, &invalid) {
		search.Error = s.web.Lang(r).T("search.error.q")
		letters, err = dm.Letters(r.Context())
		return letters, search, err
	}
	search.Searched = err == nil
	return letters, search, err
}
