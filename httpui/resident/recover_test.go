package resident_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// addResidentWithKey enrols and activates a resident and returns the
// number and the recovery key as the resident wrote it down.
func addResidentWithKey(t *testing.T, e *uitest.Env, i int) (string, string) {
	t.Helper()
	nid, err := store.ParseNationalID(testsupport.NationalID(i))
	if err != nil {
		t.Fatal(err)
	}
	_, rk, err := e.Store.AddResident(context.Background(), nid, "Dora Dam", password)
	if err != nil {
		t.Fatal(err)
	}
	return nid.String(), writtenKey(rk)
}

// writtenKey is a recovery key as the activation page shows it: groups of
// eight hex digits with dashes.
func writtenKey(rk crypto.RecoveryKey) string {
	const hexdigits = "0123456789abcdef"
	var b strings.Builder
	for i, c := range rk {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

var shownKey = regexp.MustCompile(`<code>([0-9a-f]{8}(?:-[0-9a-f]{8}){7})</code>`)

// TestRecover: a resident who forgot the password signs in with the
// recovery key (typed in upper case with spaces) and a new password; the
// page then shows a new recovery key once; the old key and the old
// password stop working, the new password and the new key work; wrong
// keys and numbers are refused alike and counted by the throttle.
func TestRecover(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	nid, key := addResidentWithKey(t, e, 7)
	b := e.Browser()
	if r := e.Get(b, e.HTTPURL+"/login"); !strings.Contains(r.Text, `<a href="/recover">Forgot your password?</a>`) {
		t.Errorf("the login page does not link to the recovery")
	}
	const next = "a brand new passphrase"
	post := func(c *http.Client, nidText, k, pw, confirm string) *uitest.Response {
		return e.PostForm(c, e.HTTPURL+"/recover", url.Values{"nationalId": {nidText}, "recoveryKey": {k}, "new": {pw}, "confirm": {confirm}}, nil)
	}
	other := writtenKey(crypto.RecoveryKey{1, 2, 3})
	for _, tc := range []struct {
		name         string
		nid, key, pw string
		confirm      string
		status       int
		text         string
	}{
		{"not a key", nid, "my key", next, next, http.StatusBadRequest, "A recovery key has 64 letters"},
		{"differ", nid, key, next, next + "!", http.StatusBadRequest, "The two new passwords are not the same."},
		{"short", nid, key, "kort", "kort", http.StatusBadRequest, "at least 10 characters"},
		{"wrong key", nid, other, next, next, http.StatusUnauthorized, "Wrong national identity number or recovery key."},
		{"nobody", uitest.NIDNobody, key, next, next, http.StatusUnauthorized, "Wrong national identity number or recovery key."},
	} {
		r := post(e.Browser(), tc.nid, tc.key, tc.pw, tc.confirm)
		if r.StatusCode != tc.status || !strings.Contains(r.Text, tc.text) {
			t.Errorf("%s: %d, want %d with %q", tc.name, r.StatusCode, tc.status, tc.text)
		}
	}
	typed := strings.ToUpper(strings.ReplaceAll(key, "-", " "))
	r := post(b, nid, typed, next, next)
	m := shownKey.FindStringSubmatch(r.Text)
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(r.Text, "The recovery key you just used no longer works") {
		t.Fatalf("recovery: %d\n%s", r.StatusCode, r.Text)
	}
	if r.Header.Get("Cache-Control") != "no-store" || strings.Contains(e.Logs.String(), m[1]) || strings.Contains(e.Logs.String(), key) {
		t.Error("the new recovery key may be kept: cached or logged")
	}
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Errorf("signed in after the recovery: %d", r.StatusCode)
	}
	login := func(pw string) int {
		return e.PostForm(e.Browser(), e.HTTPURL+"/login", url.Values{"nationalId": {nid}, "password": {pw}}, nil).StatusCode
	}
	if login(password) != http.StatusUnauthorized || login(next) != http.StatusSeeOther {
		t.Error("after the recovery: the old password signs in, or the new one does not")
	}
	if r := post(e.Browser(), nid, key, "yet another passphrase", "yet another passphrase"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the used recovery key again: %d", r.StatusCode)
	}
	if r := post(e.Browser(), nid, m[1], "yet another passphrase", "yet another passphrase"); r.StatusCode != http.StatusOK {
		t.Errorf("the new recovery key: %d", r.StatusCode)
	}
	if n := e.AuditCount("recover"); n != 2 {
		t.Errorf("%d recoveries audited, want 2", n)
	}
}
