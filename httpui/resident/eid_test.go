package resident_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport/oidctest"
	"github.com/postkasse/postkasse/store"
)

// eidEnv is an appliance that signs in with eID at a real provider
// (oidctest), where Anna, Bjørn and Nobody (who has no mailbox) can sign
// in with the password "provider-pw", and Broken's number is invalid.
type eidEnv struct {
	*uitest.Env
	op *oidctest.Provider
}

func newEIDEnv(t testing.TB) *eidEnv {
	t.Helper()
	p := oidctest.New(t)
	rp, err := eid.New(eid.Config{Issuer: p.Issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		Scopes: []string{"profile"}, Claim: oidctest.Claim, Name: "MitID"})
	if err != nil {
		t.Fatal(err)
	}
	e := apptest.NewEnv(t, apptest.Options{EID: rp})
	p.Register(t, e.HTTPURL+"/eid/callback", e.HTTPSURL+"/eid/callback")
	p.AddUser(oidctest.User{Username: "anna", Password: "provider-pw", NationalID: uitest.NIDAnna, First: "Anna", Last: "Jensen"})
	p.AddUser(oidctest.User{Username: "bjorn", Password: "provider-pw", NationalID: uitest.NIDBjorn, First: "Bjørn", Last: "Olsen"})
	p.AddUser(oidctest.User{Username: "nobody", Password: "provider-pw", NationalID: uitest.NIDNobody, First: "Nina", Last: "Nobody"})
	p.AddUser(oidctest.User{Username: "broken", Password: "provider-pw", NationalID: "0101701235x", First: "Bo", Last: "Broken"})
	return &eidEnv{Env: e, op: p}
}

// start follows the sign-in page's eID link with b and returns where the
// appliance sends the browser.
func (e *eidEnv) start(t testing.TB, b *http.Client, base, purpose string) string {
	t.Helper()
	r := e.Get(b, base+"/eid/start?purpose="+purpose)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), e.op.Issuer) {
		t.Fatalf("start: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	return r.Header.Get("Location")
}

// callback signs in at the provider as user and returns the URL the
// provider sends the browser back to.
func (e *eidEnv) callback(t *testing.T, b *http.Client, base, purpose, user string) string {
	t.Helper()
	back := e.op.SignIn(t, &http.Client{Timeout: 10 * time.Second}, e.start(t, b, base, purpose), user, "provider-pw")
	return back.String()
}

// proved signs in with eID as user with b and follows the callback to
// the eID page, which it returns.
func (e *eidEnv) proved(t *testing.T, b *http.Client, base, purpose, user string) *uitest.Response {
	t.Helper()
	r := e.Get(b, e.callback(t, b, base, purpose, user))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/eid" {
		t.Fatalf("callback: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	return e.Get(b, base+"/eid")
}

// TestEIDCreateAndSignIn: a resident with no mailbox makes one with eID
// and a password, is shown the recovery key and is signed in; later eID
// alone opens nothing, eID and the password do.
func TestEIDCreateAndSignIn(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	nid := uitest.NIDNobody
	for _, base := range []string{e.HTTPSURL, e.HTTPURL} {
		b := e.Browser()
		if r := e.Get(b, base+"/login"); !strings.Contains(r.Text, "Sign in with MitID") {
			t.Fatalf("the sign-in page offers no eID:\n%s", r.Text)
		}
		page := e.proved(t, b, base, "sign-in", "nobody")
		if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, "Create your mailbox") || !strings.Contains(page.Text, "Nina Nobody") {
			t.Fatalf("eID page: %d\n%s", page.StatusCode, page.Text)
		}
		if r := e.Get(b, base+"/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("eID alone opened the mailbox: %d", r.StatusCode)
		}
		// A weak password or two that differ: refused, nothing made.
		r := e.PostForm(b, base+"/eid/create", url.Values{"password": {"password123"}, "passwordConfirm": {"password123"}}, nil)
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("weak password: %d", r.StatusCode)
		}
		r = e.PostForm(b, base+"/eid/create", url.Values{"password": {password}, "passwordConfirm": {password + "x"}}, nil)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "not the same") {
			t.Fatalf("passwords differ: %d\n%s", r.StatusCode, r.Text)
		}
		if _, err := e.Store.ResidentByNationalID(context.Background(), mustNID(t, nid)); err == nil {
			t.Fatal("a refused form made a mailbox")
		}
		r = e.PostForm(b, base+"/eid/create", url.Values{"password": {password}, "passwordConfirm": {password}}, nil)
		if r.StatusCode != http.StatusOK || !recoveryKeyPattern.MatchString(r.Text) || !strings.Contains(r.Text, "Your mailbox has been created") {
			t.Fatalf("create: %d\n%s", r.StatusCode, r.Text)
		}
		if r := e.Get(b, base+"/"); r.StatusCode != http.StatusOK {
			t.Fatalf("inbox after create: %d", r.StatusCode)
		}
		// The proof was used: the form again is the expired page.
		if r := e.PostForm(b, base+"/eid/create", url.Values{"password": {password}, "passwordConfirm": {password}}, nil); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("proof used twice: %d", r.StatusCode)
		}

		// Signing in: eID, then the password.
		b2 := e.Browser()
		page = e.proved(t, b2, base, "sign-in", "nobody")
		if !strings.Contains(page.Text, "Unlock your mailbox") {
			t.Fatalf("eID page for a mailbox:\n%s", page.Text)
		}
		if r := e.PostForm(b2, base+"/eid/password", url.Values{"password": {"wrong password here"}}, nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.StatusCode)
		}
		r = e.PostForm(b2, base+"/eid/password", url.Values{"password": {password}}, nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Fatalf("password: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Text)
		}
		if r := e.Get(b2, base+"/"); r.StatusCode != http.StatusOK {
			t.Fatalf("inbox: %d", r.StatusCode)
		}
		// The mailbox made over HTTPS exists now; the loop's second round
		// uses another person.
		if base == e.HTTPSURL {
			e.op.AddUser(oidctest.User{Username: "nobody", Password: "provider-pw", NationalID: testNIDFree, First: "Nina", Last: "Nobody"})
			nid = testNIDFree
		}
	}
	if n := e.AuditCount("activate-eid"); n != 2 {
		t.Errorf("%d activate-eid entries", n)
	}
	if n := e.AuditCount("login-eid"); n != 2 {
		t.Errorf("%d login-eid entries", n)
	}
}

// testNIDFree is a valid number of nobody in these tests.
const testNIDFree = "0404904567"

func mustNID(t *testing.T, s string) store.NationalID {
	t.Helper()
	nid, err := store.ParseNationalID(s)
	if err != nil {
		t.Fatal(err)
	}
	return nid
}

// TestEIDReset: a resident who lost password and recovery key resets the
// mailbox with eID after the plain warning and the confirmation; the
// letters are gone.
func TestEIDReset(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	if r := e.Deliver(s.Client, uitest.ValidDelivery("ref-1")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	b := e.Browser()
	if r := e.Get(b, e.HTTPSURL+"/recover"); !strings.Contains(r.Text, "Start again with MitID") {
		t.Fatalf("the recover page offers no reset:\n%s", r.Text)
	}
	page := e.proved(t, b, e.HTTPSURL, "reset", "anna")
	if !strings.Contains(page.Text, "All your letters will be deleted") {
		t.Fatalf("reset page:\n%s", page.Text)
	}
	const next = "a brand new passphrase"
	// Not confirmed: nothing happens.
	r := e.PostForm(b, e.HTTPSURL+"/eid/reset", url.Values{"password": {next}, "passwordConfirm": {next}}, nil)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "Tick the box") {
		t.Fatalf("unconfirmed: %d\n%s", r.StatusCode, r.Text)
	}
	e.Login(e.Browser(), e.HTTPSURL, uitest.NIDAnna) // the old password still works
	r = e.PostForm(b, e.HTTPSURL+"/eid/reset", url.Values{"password": {next}, "passwordConfirm": {next}, "confirm": {"yes"}}, nil)
	if r.StatusCode != http.StatusOK || !recoveryKeyPattern.MatchString(r.Text) || !strings.Contains(r.Text, "Your mailbox has been reset") {
		t.Fatalf("reset: %d\n%s", r.StatusCode, r.Text)
	}
	inbox := e.Get(b, e.HTTPSURL+"/")
	if inbox.StatusCode != http.StatusOK || strings.Contains(inbox.Text, "/letters/") {
		t.Fatalf("inbox after the reset: %d\n%s", inbox.StatusCode, inbox.Text)
	}
	if r := e.PostForm(e.Browser(), e.HTTPSURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old password after the reset: %d", r.StatusCode)
	}
	if n := e.AuditCount("reset-eid (1 letters deleted)"); n != 1 {
		t.Errorf("%d reset-eid entries", n)
	}
}

// TestEIDCallbackRefused: a malformed, forged, replayed or refused
// callback is a page that says so (never a 500), and starts nothing.
func TestEIDCallbackRefused(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	base := e.HTTPSURL
	wantFailed := func(t *testing.T, b *http.Client, u string, status int, text string) {
		t.Helper()
		r := e.Get(b, u)
		if r.StatusCode != status || !strings.Contains(r.Text, text) {
			t.Fatalf("GET %s: %d, want %d with %q\n%s", u, r.StatusCode, status, text, r.Text)
		}
		if strings.Contains(r.Header.Get("Set-Cookie"), "eid-proof=") && !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("a proof after a refused callback")
		}
	}
	t.Run("no handshake", func(t *testing.T) {
		b := e.Browser()
		for _, q := range []string{"", "?code=x&state=y", "?state=" + strings.Repeat("x", 5000), "?error=%ff%fe", "?code=%00"} {
			wantFailed(t, b, base+"/eid/callback"+q, http.StatusBadRequest, "took too long")
		}
	})
	t.Run("state mismatch", func(t *testing.T) {
		b := e.Browser()
		u, _ := url.Parse(e.callback(t, b, base, "sign-in", "anna"))
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		wantFailed(t, b, u.String(), http.StatusBadRequest, "could not confirm")
	})
	t.Run("replayed", func(t *testing.T) {
		b := e.Browser()
		u := e.callback(t, b, base, "sign-in", "anna")
		if r := e.Get(b, u); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first: %d", r.StatusCode)
		}
		wantFailed(t, b, u, http.StatusBadRequest, "took too long")
		// And in another browser, with a handshake of its own.
		b2 := e.Browser()
		e.start(t, b2, base, "sign-in")
		wantFailed(t, b2, u, http.StatusBadRequest, "could not confirm")
	})
	t.Run("cancelled", func(t *testing.T) {
		b := e.Browser()
		u, _ := url.Parse(e.callback(t, b, base, "sign-in", "anna"))
		q := u.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		u.RawQuery = q.Encode()
		wantFailed(t, b, u.String(), http.StatusBadRequest, "cancelled")
	})
	t.Run("invalid national id", func(t *testing.T) {
		b := e.Browser()
		wantFailed(t, b, e.callback(t, b, base, "sign-in", "broken"), http.StatusBadRequest, "could not confirm")
	})
	if n := e.AuditCount("login-eid") + e.AuditCount("activate-eid"); n != 0 {
		t.Errorf("%d eID sign-ins after refused callbacks", n)
	}
}

// TestEIDAuthorization: without the browser's proof, the steps after the
// provider change nothing; another browser's session does not stand in
// for it; cross-site forms are refused; with eID off the routes are 404.
func TestEIDAuthorization(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Olsen")
	base := e.HTTPSURL
	form := url.Values{"password": {password}, "passwordConfirm": {password}, "confirm": {"yes"}}
	paths := []string{"/eid/password", "/eid/create", "/eid/reset"}

	// Signed out, no proof.
	for _, p := range paths {
		if r := e.PostForm(e.Browser(), base+p, form, nil); r.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s with no proof: %d", p, r.StatusCode)
		}
	}
	if r := e.Get(e.Browser(), base+"/eid"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /eid with no proof: %d", r.StatusCode)
	}
	// Bjørn, signed in, in his own browser: no proof of Anna's.
	bjorn := e.Browser()
	e.Login(bjorn, base, uitest.NIDBjorn)
	for _, p := range paths {
		if r := e.PostForm(bjorn, base+p, form, nil); r.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s by another resident: %d", p, r.StatusCode)
		}
	}
	// Anna's proof in her browser; cross-site forms with it.
	anna := e.Browser()
	e.proved(t, anna, base, "sign-in", "anna")
	for _, p := range paths {
		if r := e.PostForm(anna, base+p, form, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d", p, r.StatusCode)
		}
	}
	// A proof for signing in resets nothing, and a reset needs one of
	// its own.
	if r := e.PostForm(anna, base+"/eid/reset", form, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/eid" {
		t.Errorf("reset with a sign-in's proof: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if n := e.AuditCount("login-eid") + e.AuditCount("activate-eid") + e.AuditCount("reset-eid (0 letters deleted)"); n != 0 {
		t.Errorf("%d eID changes", n)
	}
	// The proof still works for its own step.
	if r := e.PostForm(anna, base+"/eid/password", url.Values{"password": {password}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the proof's own step: %d", r.StatusCode)
	}

	// eID off: every route is 404.
	off := apptest.NewEnv(t, apptest.Options{})
	for _, p := range []string{"/eid/password", "/eid/create", "/eid/reset"} {
		if r := off.PostForm(off.Browser(), off.HTTPSURL+p, form, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("eID off: POST %s: %d", p, r.StatusCode)
		}
	}
	for _, p := range []string{"/eid", "/eid/start", "/eid/callback?code=x&state=y"} {
		if r := off.Get(off.Browser(), off.HTTPSURL+p); r.StatusCode != http.StatusNotFound {
			t.Errorf("eID off: GET %s: %d", p, r.StatusCode)
		}
	}
	if r := off.Get(off.Browser(), off.HTTPSURL+"/login"); strings.Contains(r.Text, "eid/start") || r.StatusCode != http.StatusOK {
		t.Error("eID off: the sign-in page offers eID")
	}
}

// FuzzEIDCallback: whatever query the browser brings back to the
// callback, with or without a live handshake, the answer is the page that
// says the sign-in did not work (400) or, for a provider's answer that
// passes every check, the redirect to the next step; never a 500.
func FuzzEIDCallback(f *testing.F) {
	e := newEIDEnv(f)
	for _, seed := range []string{"", "code=x&state=y", "error=access_denied", "state=%ff%fe&code=%00", "code=" + strings.Repeat("c", 5000),
		"state=a&state=b&code=1&code=2", "code=\x01&state=\x7f\n", "error=&error_description=%3Cscript%3E", ";;;&&&==", "code=x&state=y&iss=https://evil.example"} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	base := e.Browser() // its transport; each input gets a jar of its own
	f.Fuzz(func(t *testing.T, query string, handshake bool) {
		// A browser sends control characters in a URL percent-encoded
		// (net/url refuses them raw); so does this client.
		var q strings.Builder
		for i := range len(query) {
			if c := query[i]; c < 0x20 || c == 0x7f {
				fmt.Fprintf(&q, "%%%02X", c)
			} else {
				q.WriteByte(c)
			}
		}
		query = q.String()
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		b := *base
		b.Jar = jar
		get := func(u *url.URL) (*http.Response, string) {
			resp, err := b.Do(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp, string(body)
		}
		if handshake {
			start, _ := url.Parse(e.HTTPURL + "/eid/start?purpose=sign-in")
			if resp, _ := get(start); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("start: %d", resp.StatusCode)
			}
		}
		u, err := url.Parse(e.HTTPURL + "/eid/callback")
		if err != nil {
			t.Fatal(err)
		}
		u.RawQuery = query // as the browser sent it: not parsed here
		resp, text := get(u)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("callback ?%q: %d\n%s", query, resp.StatusCode, text)
		}
	})
}
