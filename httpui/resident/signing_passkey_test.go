package resident_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/webauthntest"
)

// TestLetterSigningWithPasskey: a resident with a passkey may confirm a
// signature with it instead of the password: the letter page offers the
// ceremony (under the script policy). An assertion to another
// ceremony's challenge, one without user verification, a ceremony of
// another letter, another resident, a cross-site form, and a replay of
// the assertion that signed sign nothing; the right one signs, audited
// as confirmed with a passkey.
func TestLetterSigningWithPasskey(t *testing.T) {
	t.Parallel()
	e := newPasskeyEnv(t)
	anna := e.Browser()
	e.Login(anna, e.url, uitest.NIDAnna)
	wantRedirect(t, "add", e.add(anna, "Telefon"), "/settings/passkeys?saved=added-unlocks")
	bjorn := e.Browser()
	e.Login(bjorn, e.url, uitest.NIDBjorn)
	s := e.AddSender("Aarhus Kommune", "55133018")
	e.AddReplyKey(s)
	var ids []string
	for _, ref := range []string{"aftale-1", "aftale-2"} {
		m := uitest.LetterMessage(uitest.NIDAnna, "Lejeaftale", ref)
		m["signatureRequest"] = map[string]any{"deadline": time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly), "description": "Lejeaftale"}
		r := e.Deliver(s.Client, uitest.MessagePart(m), uitest.DocumentPart("aftale.pdf", "application/pdf", testsupport.PDF("Lejeaftale")))
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
		}
		ids = append(ids, uitest.DecodeJSON[struct {
			ID string `json:"id"`
		}](t, r).ID)
	}
	one, two := ids[0], ids[1]
	page := e.Get(anna, e.url+"/letters/"+one)
	if page.Header.Get("Content-Security-Policy") != web.CSPLetterScriptPage || !strings.Contains(page.Text, `id="sign-passkey-form"`) ||
		!strings.Contains(page.Text, `id="sign-password"`) {
		t.Fatalf("the letter page offers no passkey: CSP %q\n%s", page.Header.Get("Content-Security-Policy"), page.Text)
	}
	options, _, state := ceremonyOf(t, page)
	if !strings.Contains(options, `"userVerification":"required"`) {
		t.Errorf("the ceremony does not require user verification: %s", options)
	}
	signWith := func(b *http.Client, id, state, response string, header http.Header) *uitest.Response {
		return e.PostForm(b, e.url+"/letters/"+id+"/sign", url.Values{"confirm": {"yes"}, "state": {state}, "response": {response}}, header)
	}
	// Another ceremony's challenge.
	otherOptions, _, _ := ceremonyOf(t, e.Get(anna, e.url+"/letters/"+one))
	wrong, err := e.auth.Get(otherOptions)
	if err != nil {
		t.Fatal(err)
	}
	if r := signWith(anna, one, state, wrong, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("an assertion to another challenge: %d", r.StatusCode)
	}
	// No user verification.
	noUV := &webauthntest.Authenticator{Origin: e.auth.Origin, NoUserVerification: true, Credentials: e.auth.Credentials}
	unverified, err := noUV.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	if r := signWith(anna, one, state, unverified, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("an assertion without user verification: %d", r.StatusCode)
	}
	good, err := e.auth.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	// The ceremony of one letter does not sign another.
	if r := signWith(anna, two, state, good, nil); r.StatusCode != http.StatusConflict {
		t.Errorf("letter one's ceremony for letter two: %d", r.StatusCode)
	}
	if r := signWith(bjorn, one, state, good, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("Bjørn posts Anna's assertion: %d", r.StatusCode)
	}
	if r := signWith(anna, one, state, good, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d", r.StatusCode)
	}
	// No tick: nothing signed.
	if r := e.PostForm(anna, e.url+"/letters/"+one+"/sign", url.Values{"state": {state}, "response": {good}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("without the tick: %d", r.StatusCode)
	}
	if n := e.AuditCount("sign"); n != 0 {
		t.Fatalf("%d signed after the refusals", n)
	}
	good, err = e.auth.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, "sign with a passkey", signWith(anna, one, state, good, nil), "/letters/"+one+"?saved=signed#signature")
	if n := e.AuditCount("sign"); n != 1 {
		t.Fatalf("%d signed", n)
	}
	if got := e.Get(anna, e.url+"/letters/"+one); !strings.Contains(html.UnescapeString(got.Text), uitest.English.T("signing.signedOn", "Date", "")[:10]) ||
		strings.Contains(got.Text, `id="sign-passkey-form"`) {
		t.Errorf("the page after signing:\n%s", got.Text)
	}
	// The same ceremony again, on the other letter's page state: used.
	options2, _, state2 := ceremonyOf(t, e.Get(anna, e.url+"/letters/"+two))
	good2, err := e.auth.Get(options2)
	if err != nil {
		t.Fatal(err)
	}
	if r := signWith(anna, one, state, good, nil); r.StatusCode != http.StatusConflict {
		t.Errorf("the assertion replayed: %d", r.StatusCode)
	}
	wantRedirect(t, "sign two", signWith(anna, two, state2, good2, nil), "/letters/"+two+"?saved=signed#signature")
	if r := signWith(anna, two, state2, good2, nil); r.StatusCode != http.StatusConflict || e.AuditCount("sign") != 2 {
		t.Errorf("the second assertion replayed: %d", r.StatusCode)
	}
}
