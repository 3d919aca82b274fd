package resident_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/resident"
)

// TestDeviceCookieLockout: someone who knows Anna's number and guesses
// passwords locks her account out for 15 minutes in every browser but
// the one she signed in with before (its device cookie, as OWASP
// describes); that browser has a lockout of its own. Another account's
// device cookie, or a forged one, is no way past the lockout.
func TestDeviceCookieLockout(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 3, AddressFailures: 100}})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	signIn := func(c *http.Client, nid, password string) int {
		t.Helper()
		return e.PostForm(c, e.HTTPURL+"/login", url.Values{"nationalId": {nid}, "password": {password}}, nil).StatusCode
	}
	deviceCookie := func(c *http.Client) *http.Cookie {
		u, _ := url.Parse(e.HTTPURL)
		for _, k := range c.Jar.Cookies(u) {
			if k.Name == resident.DeviceCookieHTTP {
				return k
			}
		}
		return nil
	}

	annas := e.Browser()
	if got := signIn(annas, uitest.NIDAnna, uitest.Password); got != http.StatusSeeOther {
		t.Fatalf("Anna signs in: %d", got)
	}
	if deviceCookie(annas) == nil {
		t.Fatal("no device cookie after signing in")
	}
	e.PostForm(annas, e.HTTPURL+"/logout", nil, nil)
	if deviceCookie(annas) == nil {
		t.Fatal("signing out forgot the device cookie")
	}
	// Bjørn's browser knows Bjørn.
	bjorns := e.Browser()
	if got := signIn(bjorns, uitest.NIDBjorn, uitest.Password); got != http.StatusSeeOther {
		t.Fatalf("Bjørn signs in: %d", got)
	}

	attacker := e.Browser()
	for range 3 {
		if got := signIn(attacker, uitest.NIDAnna, "guess"); got != http.StatusUnauthorized {
			t.Fatalf("a guess: %d", got)
		}
	}
	// Locked out: the attacker, a new browser with the right password,
	// and Bjørn's browser (its cookie names Bjørn).
	if got := signIn(attacker, uitest.NIDAnna, uitest.Password); got != http.StatusTooManyRequests {
		t.Errorf("the attacker after three guesses: %d, want 429", got)
	}
	if got := signIn(e.Browser(), uitest.NIDAnna, uitest.Password); got != http.StatusTooManyRequests {
		t.Errorf("a new browser while locked out: %d, want 429", got)
	}
	if got := signIn(bjorns, uitest.NIDAnna, uitest.Password); got != http.StatusTooManyRequests {
		t.Errorf("Bjørn's browser with Anna's number: %d, want 429", got)
	}
	// A copy of Anna's cookie with a changed signature is no cookie.
	forged := e.Browser()
	c := *deviceCookie(annas)
	c.Value = c.Value[:len(c.Value)-2] + "AA"
	u, _ := url.Parse(e.HTTPURL)
	forged.Jar.SetCookies(u, []*http.Cookie{&c})
	if got := signIn(forged, uitest.NIDAnna, uitest.Password); got != http.StatusTooManyRequests {
		t.Errorf("a forged device cookie: %d, want 429", got)
	}

	// Anna's own browser signs in.
	if got := signIn(annas, uitest.NIDAnna, uitest.Password); got != http.StatusSeeOther {
		t.Fatalf("Anna's browser while her account is locked out for others: %d, want 303", got)
	}
	e.PostForm(annas, e.HTTPURL+"/logout", nil, nil)
	// It has a lockout of its own.
	for range 3 {
		if got := signIn(annas, uitest.NIDAnna, "typo"); got != http.StatusUnauthorized {
			t.Fatalf("a typo in Anna's browser: %d", got)
		}
	}
	if got := signIn(annas, uitest.NIDAnna, uitest.Password); got != http.StatusTooManyRequests {
		t.Errorf("Anna's browser after three failures of its own: %d, want 429", got)
	}
}
