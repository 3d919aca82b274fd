package resident

import (
	"net/http"
	"net/url"
	"strconv"
)

// The access page shows the people with access to the mailbox a page at
// a time (givenPageSize, oldest grant first), with links to the pages
// before and after: ?given=N, the page's number from 1. A page past the
// last shows the last; one that is not a number from 1 is a bad request.

// givenPageSize is how many grants one page of the access page lists.
const givenPageSize = 20

// givenPage is the page of the grants given that the access page shows:
// from and to index the grants; Prev and Next are the URLs of the pages
// around it ("" for none).
type givenPage struct {
	from, to        int
	From, To, Total int // for people: from 1
	Prev, Next      string
	Paged           bool // more than one page
}

// pageOfGiven reads ?given= for total grants; ok is false for a value
// that is not a page number.
func (s *Handlers) pageOfGiven(r *http.Request, total int) (givenPage, bool) {
	n := 1
	if v := r.URL.Query().Get("given"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || len(v) > 6 {
			return givenPage{}, false
		}
	}
	last := max(1, (total+givenPageSize-1)/givenPageSize)
	n = min(n, last)
	p := givenPage{from: (n - 1) * givenPageSize, Total: total, Paged: last > 1}
	p.to = min(total, p.from+givenPageSize)
	p.From, p.To = p.from+1, p.to
	link := func(page int) string {
		return s.pages.MustURL(routeAccess) + "?" + url.Values{"given": {strconv.Itoa(page)}}.Encode() + "#given-heading"
	}
	if n > 1 {
		p.Prev = link(n - 1)
	}
	if n < last {
		p.Next = link(n + 1)
	}
	return p, true
}
