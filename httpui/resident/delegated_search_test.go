package resident_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestDelegatedSearchPage: the delegate's list of the grantor's letters
// has a labelled search form; a search shows the covered letters with the
// words (a word of Carl's own reply on Anna's behalf finds its letter),
// says when none match, and a query the search refuses says why (400)
// and lists all the letters; in Danish too.
func TestDelegatedSearchPage(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.AddReplyKey(e.sendersEnv.public)
	letter := deliverLetter(t, e.Env, e.sendersEnv.public, "hoering-1", true)
	g := e.actGrantToCarl(t)
	carl := e.Browser()
	e.Login(carl, e.HTTPURL, e.nidCarl)
	base := e.HTTPURL + "/mailboxes/" + g.ID
	if r := postMultipart(e.Env, carl, base+"/letters/"+letter+"/reply", "Tagrenden er løs.", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.StatusCode)
	}
	page := html.UnescapeString(e.Get(carl, base).Text)
	if !strings.Contains(page, `<label for="search-q">Search Anna Jensen's letters</label>`) || !strings.Contains(page, `role="search"`) {
		t.Errorf("the list lacks the search form:\n%s", page)
	}
	get := func(q string, extra ...string) *uitest.Response {
		v := url.Values{"q": {q}}
		if len(extra) > 0 {
			v.Set("lang", extra[0])
		}
		return e.Get(carl, base+"?"+v.Encode())
	}
	r := get("tagrende")
	page = html.UnescapeString(r.Text)
	if r.StatusCode != http.StatusOK || !strings.Contains(page, "Letters that match “tagrende”") || !strings.Contains(page, `id="letter-`+letter+`"`) ||
		strings.Contains(page, `id="letter-`+e.public+`"`) || strings.Contains(page, `id="letter-`+e.private+`"`) {
		t.Errorf("a search by Carl's reply: %d\n%s", r.StatusCode, page)
	}
	if r := get("vandmåler"); !strings.Contains(r.Text, `id="search-none"`) || strings.Contains(r.Text, `id="letter-`) {
		t.Errorf("a search that finds nothing:\n%s", r.Text)
	}
	r = get(" ")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, `id="search-error"`) || !strings.Contains(r.Text, `aria-invalid="true"`) ||
		!strings.Contains(r.Text, `id="letter-`+e.private+`"`) {
		t.Errorf("an empty search: %d\n%s", r.StatusCode, r.Text)
	}
	if r := get("tagrende", "da"); !strings.Contains(html.UnescapeString(r.Text), "Breve, der matcher »tagrende«") {
		t.Errorf("the Danish search:\n%s", r.Text)
	}
}
