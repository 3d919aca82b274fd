package resident_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// schema4 is a database written before envelope v2: its residents' key
// pairs have no ML-KEM-768 half (store/embedded/testdata, made by
// schema4-generator.go.txt). Anna Andersen chose Danish there.
const (
	schema4         = "../../store/embedded/testdata/schema4.db.gz"
	schema4Anna     = "0101900123"
	schema4Password = "correct horse battery staple"
)

// TestNewRecoveryKeyAfterUpgrade: the sign-in that gives a resident's
// keys their ML-KEM half answers with the new recovery key, once, before
// the inbox: in the resident's language, explaining that the old key no
// longer works, never cached nor logged; the key shown is the one that
// now recovers the mailbox, and the next sign-in goes straight to the
// inbox.
func TestNewRecoveryKeyAfterUpgrade(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Seed: schema4})
	c := e.Browser()
	login := url.Values{"nationalId": {schema4Anna}, "password": {schema4Password}}
	r := e.PostForm(c, e.HTTPURL+"/login", login, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("upgrading sign-in: %d, want 200 with the key; %s", r.StatusCode, r.Text)
	}
	m := recoveryKeyPattern.FindStringSubmatch(r.Text)
	if m == nil {
		t.Fatalf("no recovery key on the page: %s", r.Text)
	}
	// Anna's saved language is Danish.
	da := uitest.Catalogue.Lang("da")
	for _, want := range []string{
		`<html lang="da">`, da.T("recovery.new.heading"), da.T("recovery.new.oldGone"), da.T("recovery.writeDown"),
		`<a class="button" href="/">` + da.T("recovery.new.continue") + `</a>`,
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	key := m[1]
	if strings.Contains(e.Logs.String(), key) || strings.Contains(e.Logs.String(), strings.ReplaceAll(key, "-", "")) {
		t.Error("the recovery key is in the log")
	}
	// The session works: on to the inbox.
	if inbox := e.Get(c, e.HTTPURL+"/"); inbox.StatusCode != http.StatusOK || !strings.Contains(inbox.Text, da.T("inbox.title")) {
		t.Fatalf("inbox after the key: %d", inbox.StatusCode)
	}
	// The next sign-in renews nothing and goes to the inbox.
	signInToInbox(e, c, login)

	// The key shown recovers the mailbox.
	var rk crypto.RecoveryKey
	raw, err := hex.DecodeString(strings.ReplaceAll(key, "-", ""))
	if err != nil || len(raw) != len(rk) {
		t.Fatalf("key %q: %v", key, err)
	}
	copy(rk[:], raw)
	if _, err := e.Store.Recover(context.Background(), schema4Anna, rk, "a new passphrase for Anna"); err != nil {
		t.Errorf("the key shown does not recover the mailbox: %v", err)
	}
}

// TestNewRecoveryKeyLanguages: the page exists in every language.
func TestNewRecoveryKeyLanguages(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "nb"} {
		e := apptest.NewEnv(t, apptest.Options{Seed: schema4})
		c := e.Browser()
		r := e.PostForm(c, e.HTTPURL+"/login?lang="+lang, url.Values{"nationalId": {schema4Anna}, "password": {schema4Password}}, nil)
		l := uitest.Catalogue.Lang(lang)
		if r.StatusCode != http.StatusOK || !recoveryKeyPattern.MatchString(r.Text) || !strings.Contains(r.Text, `<html lang="`+lang+`">`) ||
			!strings.Contains(r.Text, l.T("recovery.new.oldGone")) || !strings.Contains(r.Text, l.T("recovery.new.continue")) {
			t.Errorf("%s: %d %s", lang, r.StatusCode, r.Text)
		}
	}
}

// signInToInbox signs in with the form values and wants the inbox at once.
func signInToInbox(e *uitest.Env, c *http.Client, form url.Values) {
	e.T.Helper()
	r := e.PostForm(c, e.HTTPURL+"/login", form, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || recoveryKeyPattern.MatchString(r.Text) {
		e.T.Fatalf("second sign-in: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}
