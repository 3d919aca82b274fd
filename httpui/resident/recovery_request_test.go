package resident_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestNewRecoveryKeyOnRequest: from the settings page a resident gets a
// new recovery key by confirming the password; it is shown once and
// never kept; the old key stops working and the new one works; a wrong
// password makes nothing and counts like a failed login.
func TestNewRecoveryKeyOnRequest(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	nid, oldKey := addResidentWithKey(t, e, 8)
	b := e.Browser()
	if r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {nid}, "password": {password}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	if r := e.Get(b, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/recovery-key">Get a new recovery key</a>`) {
		t.Errorf("the settings page does not link to the new recovery key")
	}
	if r := e.Get(b, e.HTTPURL+"/settings/recovery-key"); !strings.Contains(r.Text, "<h1>Get a new recovery key</h1>") ||
		!strings.Contains(r.Text, `autocomplete="current-password"`) {
		t.Errorf("the form:\n%s", r.Text)
	}
	ask := func(pw string) *uitest.Response {
		return e.PostForm(b, e.HTTPURL+"/settings/recovery-key", url.Values{"password": {pw}}, nil)
	}
	if r := ask("not my password"); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, "The password is wrong.") ||
		shownKey.MatchString(r.Text) {
		t.Fatalf("a wrong password: %d", r.StatusCode)
	}
	if n := e.AuditCount("new-recovery-key"); n != 0 {
		t.Fatalf("a wrong password made a key (%d audit entries)", n)
	}
	r := ask(password)
	m := shownKey.FindStringSubmatch(r.Text)
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(r.Text, "You asked for a new recovery key") || m[1] == oldKey {
		t.Fatalf("the new key: %d\n%s", r.StatusCode, r.Text)
	}
	if r.Header.Get("Cache-Control") != "no-store" || strings.Contains(e.Logs.String(), m[1]) {
		t.Error("the new recovery key may be kept: cached or logged")
	}
	recoverWith := func(key string) int {
		return e.PostForm(e.Browser(), e.HTTPURL+"/recover", url.Values{"nationalId": {nid}, "recoveryKey": {key},
			"new": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}}, nil).StatusCode
	}
	if code := recoverWith(oldKey); code != http.StatusUnauthorized {
		t.Errorf("the old recovery key after a new one: %d", code)
	}
	if code := recoverWith(m[1]); code != http.StatusOK {
		t.Errorf("the new recovery key: %d", code)
	}
	if n := e.AuditCount("new-recovery-key"); n != 1 {
		t.Errorf("%d new-recovery-key audit entries, want 1", n)
	}
}
