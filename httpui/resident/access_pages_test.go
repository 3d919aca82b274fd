package resident_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestAccessPageGivenPaged: the people with access to the mailbox are
// listed 20 to a page, oldest first, with links between the pages; a
// page past the last shows the last; a page that is no number is a bad
// request.
func TestAccessPageGivenPaged(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	ctx := context.Background()
	var names []string
	for i := range 25 {
		nid, name := testsupport.NationalID(10+i), fmt.Sprintf("Delegeret %02d", i+1)
		e.AddResident(nid, name)
		names = append(names, name)
		e.withMailbox(uitest.NIDAnna, func(mb *store.Mailbox) {
			if _, err := mb.GrantAccess(ctx, store.GrantRequest{DelegateNationalID: nid, Access: store.AccessRead, Scope: store.ScopeAll}); err != nil {
				t.Fatal(err)
			}
		})
		e.clock.Advance(time.Second)
	}
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	first := html.UnescapeString(e.Get(anna, e.HTTPURL+"/settings/access").Text)
	if !strings.Contains(first, names[0]) || !strings.Contains(first, names[19]) || strings.Contains(first, names[20]) ||
		!strings.Contains(first, "Showing 1–20 of 25 people.") || !strings.Contains(first, `href="/settings/access?given=2#given-heading" rel="next"`) ||
		strings.Contains(first, `rel="prev"`) {
		t.Errorf("the first page:\n%s", first)
	}
	for _, path := range []string{"/settings/access?given=2", "/settings/access?given=9"} {
		page := html.UnescapeString(e.Get(anna, e.HTTPURL+path).Text)
		if strings.Contains(page, names[19]) || !strings.Contains(page, names[24]) || !strings.Contains(page, "Showing 21–25 of 25 people.") ||
			!strings.Contains(page, `href="/settings/access?given=1#given-heading" rel="prev"`) || strings.Contains(page, `rel="next"`) {
			t.Errorf("%s:\n%s", path, page)
		}
	}
	for _, bad := range []string{"0", "-1", "x", "99999999999"} {
		if r := e.Get(anna, e.HTTPURL+"/settings/access?given="+bad); r.StatusCode != http.StatusBadRequest {
			t.Errorf("given=%s: %d", bad, r.StatusCode)
		}
	}
	// One page: no pager.
	if page := e.Get(e.Browser(), e.HTTPURL+"/settings/access"); strings.Contains(page.Text, "Pages of people") {
		t.Error("a pager for a signed-out browser")
	}
}
