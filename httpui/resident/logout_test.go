package resident_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestSignOutClearsCache: signing out, over HTTP and HTTPS, tells the
// browser to drop the cached pages of the mailbox (Clear-Site-Data:
// "cache"), so that Back shows none of them; so does a request whose
// session had ended elsewhere. A request that keeps its session does not.
func TestSignOutClearsCache(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	for _, base := range []string{e.HTTPURL, e.HTTPSURL} {
		b := e.Browser()
		e.Login(b, base, uitest.NIDAnna)
		if r := e.Get(b, base+"/"); r.StatusCode != http.StatusOK || r.Header.Get("Clear-Site-Data") != "" {
			t.Errorf("%s inbox: %d, Clear-Site-Data %q", base, r.StatusCode, r.Header.Get("Clear-Site-Data"))
		}
		r := e.PostForm(b, base+"/logout", nil, nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Clear-Site-Data") != `"cache"` {
			t.Errorf("%s sign-out: %d, Clear-Site-Data %q; want 303 and \"cache\"", base, r.StatusCode, r.Header.Get("Clear-Site-Data"))
		}
	}
	// Signed out from another device: the next request of this one is
	// sent to sign in, and its cache cleared.
	laptop, phone := e.Browser(), e.Browser()
	e.Login(laptop, e.HTTPURL, uitest.NIDAnna)
	e.Login(phone, e.HTTPURL, uitest.NIDAnna)
	if r := e.PostForm(laptop, e.HTTPURL+"/settings/sessions/end-others", url.Values{}, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("sign out everywhere else: %d", r.StatusCode)
	}
	if r := e.Get(phone, e.HTTPURL+"/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Errorf("the phone after it was signed out: %d, Clear-Site-Data %q", r.StatusCode, r.Header.Get("Clear-Site-Data"))
	}
}
