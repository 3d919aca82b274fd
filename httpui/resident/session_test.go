package resident_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
)

// TestSessionExpiry: an idle session sends the browser back to the login
// page and clears the cookie.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	clock := testsupport.NewClock()
	e := apptest.NewEnv(t, apptest.Options{StoreClock: clock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Fatalf("inbox: %d", r.StatusCode)
	}
	clock.Advance(31 * time.Minute) // the store's default idle limit is 30 minutes
	r := e.Get(b, e.HTTPURL+"/")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("expired session: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	cleared := false
	for _, c := range r.Cookies() {
		cleared = cleared || (c.Name == "postkasse" && c.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("cookie not cleared: %v", r.Header["Set-Cookie"])
	}
	// A forged or garbled token is the same as none.
	for _, token := range []string{"garbage", strings.Repeat("A", 64), ""} {
		c := e.Browser()
		req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/letters/"+strings.Repeat("0", 32), nil)
		req.AddCookie(&http.Cookie{Name: "postkasse", Value: token})
		if r := e.Do(c, req); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("token %q: %d", token, r.StatusCode)
		}
	}
}
