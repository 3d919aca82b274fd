package resident_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestSearchPageReplies: the search page finds a letter by the words of
// the resident's reply to it and shows them, saying they are the reply's,
// not a document's; in Danish too.
func TestSearchPageReplies(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	e.AddReplyKey(s)
	letter := deliverLetter(t, e, s, "hoering-1", true)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if r := postReply(e, b, letter, "Kloakledningen er utæt ved skellet.", nil, nil); r.StatusCode != 303 {
		t.Fatalf("reply: %d", r.StatusCode)
	}
	page := html.UnescapeString(e.Get(b, e.HTTPURL+"/search?"+url.Values{"q": {"kloakledning"}}.Encode()).Text)
	if !strings.Contains(page, `href="/letters/`+letter+`"`) || !strings.Contains(page, "In your reply:") ||
		!strings.Contains(page, "<mark>Kloakledningen</mark>") || strings.Contains(page, "Found in an attached document.") {
		t.Errorf("the search page:\n%s", page)
	}
	if page := html.UnescapeString(e.Get(b, e.HTTPURL+"/search?"+url.Values{"q": {"kloakledning"}, "lang": {"da"}}.Encode()).Text); !strings.Contains(page, "I dit svar:") {
		t.Errorf("the Danish search page:\n%s", page)
	}
}
