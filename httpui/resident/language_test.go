package resident_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// getWith is a GET with extra request headers.
func getWith(e *uitest.Env, c *http.Client, u string, header http.Header) *uitest.Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.T.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

func pageLang(body string) string {
	m := regexp.MustCompile(`<html lang="([^"]*)">`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestLanguageChoice: the lang parameter beats the cookie it sets, the
// cookie beats the resident's saved choice, which beats Accept-Language,
// which beats the configured default; <html lang>, Content-Language and
// the footer's switch say which. The API's problem titles follow
// Accept-Language, their codes stay.
func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	accept := func(v string) http.Header { return http.Header{"Accept-Language": {v}} }

	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		want   string
	}{
		{"nothing", "/login", nil, "en"},
		{"Accept-Language da", "/login", accept("da-DK,da;q=0.9,en;q=0.5"), "da"},
		{"Accept-Language no", "/login", accept("no"), "nb"},
		{"Accept-Language nb-NO", "/login", accept("nb-NO,en;q=0.3"), "nb"},
		{"Accept-Language unknown", "/login", accept("fr-FR,de;q=0.8"), "en"},
		{"lang beats Accept-Language", "/login?lang=nb", accept("da"), "nb"},
		{"unknown lang", "/login?lang=sv", accept("da"), "da"},
		{"error page", "/no-such-page", accept("nb"), "nb"},
	} {
		r := getWith(e, e.Browser(), e.HTTPURL+tc.path, tc.header)
		if got := pageLang(r.Text); got != tc.want || r.Header.Get("Content-Language") != tc.want {
			t.Errorf("%s: <html lang=%q>, Content-Language %q, want %s", tc.name, got, r.Header.Get("Content-Language"), tc.want)
		}
	}

	// The parameter sets a cookie, which then beats Accept-Language.
	b := e.Browser()
	r := getWith(e, b, e.HTTPURL+"/login?lang=nb", accept("da"))
	if !strings.Contains(r.Header.Get("Set-Cookie"), web.LangCookie+"=nb") {
		t.Errorf("Set-Cookie %q", r.Header.Get("Set-Cookie"))
	}
	if r := getWith(e, b, e.HTTPURL+"/login", accept("da")); pageLang(r.Text) != "nb" {
		t.Errorf("cookie nb, Accept-Language da: %s", pageLang(r.Text))
	}
	if r := getWith(e, b, e.HTTPURL+"/login?lang=en", accept("da")); pageLang(r.Text) != "en" {
		t.Errorf("lang=en over the cookie: %s", pageLang(r.Text))
	}
	// The footer links the page in every language, the current one marked.
	if r := e.Get(b, e.HTTPURL+"/activate?lang=da"); !strings.Contains(r.Text, `<a href="/activate?lang=nb" hreflang="nb" lang="nb">Norsk bokmål</a>`) ||
		!strings.Contains(r.Text, `<a href="/activate?lang=da" hreflang="da" lang="da" aria-current="true">Dansk</a>`) {
		t.Errorf("language switch:\n%s", r.Text)
	}

	// The resident saves Danish on the settings page: it is stored, and
	// it is the language of a browser that has no cookie, whatever it
	// accepts; a cookie still wins.
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	r = e.PostForm(b, e.HTTPURL+"/settings/language", url.Values{"lang": {"da"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings?saved=language" {
		t.Fatalf("save language: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.Get(b, e.HTTPURL+"/settings?saved=language"); pageLang(r.Text) != "da" || !strings.Contains(r.Text, uitest.Catalogue.Lang("da").T("settings.language.saved")) {
		t.Errorf("settings after saving: %s", pageLang(r.Text))
	}
	fresh := e.Browser()
	e.Login(fresh, e.HTTPURL, uitest.NIDAnna)
	if r := getWith(e, fresh, e.HTTPURL+"/", accept("nb")); pageLang(r.Text) != "da" {
		t.Errorf("saved da, Accept-Language nb: %s", pageLang(r.Text))
	}
	if r := getWith(e, fresh, e.HTTPURL+"/?lang=en", accept("nb")); pageLang(r.Text) != "en" {
		t.Errorf("saved da, lang=en: %s", pageLang(r.Text))
	}
	if r := e.PostForm(fresh, e.HTTPURL+"/settings/language", url.Values{"lang": {"xx"}}, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings" {
		t.Errorf("unknown language: %d %s", r.StatusCode, r.Header.Get("Location"))
	}

	// The configured default applies when nothing else decides.
	dk := apptest.NewEnv(t, apptest.Options{DefaultLanguage: "da"})
	if r := getWith(dk, dk.Browser(), dk.HTTPURL+"/login", accept("fr")); pageLang(r.Text) != "da" {
		t.Errorf("default da: %s", pageLang(r.Text))
	}

	// Problems: the title in the language asked for, the code as ever.
	req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/api/v1/receipt-key", nil)
	req.Header.Set("Accept-Language", "da")
	p := uitest.WantProblem(t, e.Do(e.Browser(), req), http.StatusUnauthorized, "UNAUTHENTICATED")
	if p.Title != "Ikke godkendt" {
		t.Errorf("problem title %q", p.Title)
	}
}

// englishFragments are the parts of the English messages, between their
// placeholders, of three words or more: none of them may show on a page
// in another language.
func englishFragments(cat *i18n.Catalogue) map[string]string {
	out := map[string]string{}
	split := regexp.MustCompile(`{{[^}]*}}|<[^>]*>`)
	for _, id := range cat.IDs("en") {
		for _, text := range cat.Forms("en", id) {
			for _, frag := range split.Split(text, -1) {
				frag = strings.TrimSpace(frag)
				if len(strings.Fields(frag)) >= 3 {
					out[frag] = id
				}
			}
		}
	}
	return out
}

var (
	tagPattern  = regexp.MustCompile(`(?s)<[^>]*>`)
	attrPattern = regexp.MustCompile(`(?:aria-label|title|placeholder|alt)="([^"]*)"`)
)

// pageText is what a page says: its text and the attributes people hear
// or see.
func pageText(body string) string {
	var b strings.Builder
	for _, m := range attrPattern.FindAllStringSubmatch(body, -1) {
		b.WriteString(html.UnescapeString(m[1]) + "\n")
	}
	b.WriteString(html.UnescapeString(tagPattern.ReplaceAllString(body, " ")))
	return strings.Join(strings.Fields(b.String()), " ")
}

// TestPagesTranslated renders every page, in its states, in each
// language and finds no message id on any, and on the Danish and
// Norwegian pages no English message of the catalogue (of three words or
// more). Dates and sizes are written the language's way.
func TestPagesTranslated(t *testing.T) {
	t.Parallel()
	formats := map[string][]string{
		"en": {"inbox:22 Nov 2026", "inbox:Due 25 Nov 2026 · in 3 days", "letter:22 Nov 2026 at 10:00", "settings:22 November 2031", "letter:bytes)"},
		"da": {"inbox:22. nov. 2026", "inbox:Frist 25. nov. 2026 · om 3 dage", "letter:22. nov. 2026 kl. 10.00", "settings:22. november 2031", "terms accepted:22. december 2026"},
		"nb": {"inbox:22. nov. 2026", "inbox:Frist 25. nov. 2026 · om 3 dager", "letter:22. nov. 2026 kl. 10.00", "settings:22. november 2031", "terms accepted:22. desember 2026"},
	}
	for _, lang := range []string{"en", "da", "nb"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			pages := walkPages(t, lang)
			if len(pages) < 20 {
				t.Fatalf("only %d pages", len(pages))
			}
			cat, err := i18n.Load(assets.FS(), "")
			if err != nil {
				t.Fatal(err)
			}
			english := englishFragments(cat)
			// A message id, known or not, starts with the first part of
			// some id of the catalogue: "inbox.", "receipt." …
			prefixes := map[string]bool{}
			for _, id := range cat.IDs("en") {
				if p, _, ok := strings.Cut(id, "."); ok {
					prefixes[regexp.QuoteMeta(p)] = true
				}
			}
			var alt []string
			for p := range prefixes {
				alt = append(alt, p)
			}
			idPattern := regexp.MustCompile(`\b(?:` + strings.Join(alt, "|") + `)\.[A-Za-z0-9_.]+`)
			for name, body := range pages {
				if got := pageLang(body); got != lang {
					t.Errorf("%s: <html lang=%q>", name, got)
				}
				text := pageText(body)
				for frag, id := range english {
					if lang == "en" {
						break
					}
					if strings.Contains(text, frag) {
						t.Errorf("%s: English %q (%s)", name, frag, id)
					}
				}
				for _, id := range idPattern.FindAllString(text, -1) {
					t.Errorf("%s: message id %q", name, id)
				}
			}
			for _, f := range formats[lang] {
				page, want, _ := strings.Cut(f, ":")
				if !strings.Contains(pageText(pages[page]), want) {
					t.Errorf("%s lacks %q", page, want)
				}
			}
		})
	}
}

// walkPages returns every page of the web UI, in each of its states, in
// the language lang, by name.
func walkPages(t *testing.T, lang string) map[string]string {
	storeClock := testsupport.NewClock()
	e := apptest.NewEnv(t, apptest.Options{StoreClock: storeClock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	nid, err := store.ParseNationalID(uitest.NIDNobody)
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := e.Store.EnrolResident(context.Background(), nid, "Carl Ny")
	if err != nil {
		t.Fatal(err)
	}
	snd := e.AddSender("Aarhus Kommune", "55133018")
	e.AddReplyKey(snd)
	inv := uitest.LetterMessage(uitest.NIDAnna, "Ejendomsskat", "walk-1")
	inv["type"] = "invoice"
	inv["dueDate"] = "2026-11-25"
	inv["replyAllowed"] = true
	r := e.Deliver(snd.Client, uitest.MessagePart(inv), uitest.DocumentPart("skat.pdf", "application/pdf", uitest.PDFDoc), uitest.DocumentPart("bilag.txt", "text/plain", uitest.TextDoc))
	letterID := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	e.Deliver(snd.Client, uitest.ValidDelivery("walk-2")...)

	pages := map[string]string{}
	keep := func(name string, r *uitest.Response, status int) {
		t.Helper()
		if r.StatusCode != status {
			t.Fatalf("%s: %d, want %d\n%s", name, r.StatusCode, status, r.Text)
		}
		pages[name] = r.Text
	}
	b := e.Browser()
	keep("login", e.Get(b, e.HTTPURL+"/login?lang="+lang), http.StatusOK)
	keep("login refused", e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {"wrong password!"}}, nil), http.StatusUnauthorized)
	keep("activate", e.Get(b, e.HTTPURL+"/activate"), http.StatusOK)
	keep("activate empty", e.PostForm(b, e.HTTPURL+"/activate", url.Values{}, nil), http.StatusBadRequest)
	keep("activate passwords differ", e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDNobody, code, password, password+"!"), nil), http.StatusBadRequest)
	keep("activate short password", e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDNobody, code, "short", "short"), nil), http.StatusBadRequest)
	keep("activate wrong code", e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDNobody, "WRONG-CODE", password, password), nil), http.StatusUnauthorized)
	keep("reset", e.Get(b, e.HTTPURL+"/reset"), http.StatusOK)
	keep("reset empty", e.PostForm(b, e.HTTPURL+"/reset", url.Values{}, nil), http.StatusBadRequest)
	keep("reset wrong code", e.PostForm(b, e.HTTPURL+"/reset", uitest.Reset(uitest.NIDAnna, "WRONG-CODE", "a brand new passphrase"), nil), http.StatusUnauthorized)
	keep("reset pending", e.PostForm(b, e.HTTPURL+"/reset", uitest.Reset(uitest.NIDNobody, code, "a brand new passphrase"), nil), http.StatusConflict)
	keep("activated", e.PostForm(b, e.HTTPURL+"/activate", uitest.Activation(uitest.NIDNobody, code, password, password), nil), http.StatusOK)
	keep("not found", e.Get(b, e.HTTPURL+"/no/such/page"), http.StatusNotFound)
	keep("method not allowed", e.PostForm(b, e.HTTPURL+"/healthz", url.Values{}, nil), http.StatusMethodNotAllowed)
	keep("cross-site", e.PostForm(b, e.HTTPURL+"/login", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}), http.StatusForbidden)

	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	keep("inbox", e.Get(b, e.HTTPURL+"/"), http.StatusOK)
	keep("letter", e.Get(b, e.HTTPURL+"/letters/"+letterID), http.StatusOK)
	keep("settings", e.Get(b, e.HTTPURL+"/settings"), http.StatusOK)
	keep("settings saved", e.Get(b, e.HTTPURL+"/settings?saved=notifications"), http.StatusOK)
	keep("settings language saved", e.Get(b, e.HTTPURL+"/settings?saved=language"), http.StatusOK)
	e.PostForm(b, e.HTTPURL+"/settings/digital-post", url.Values{"digital": {"out"}}, nil)
	keep("settings opted out", e.Get(b, e.HTTPURL+"/settings?saved=digital"), http.StatusOK)
	e.PostForm(b, e.HTTPURL+"/settings/digital-post", url.Values{"digital": {"in"}}, nil)
	keep("settings opted in", e.Get(b, e.HTTPURL+"/settings?saved=digital"), http.StatusOK)
	keep("settings refused", e.PostForm(b, e.HTTPURL+"/settings/notifications", url.Values{"emailOn": {"on"}, "smsOn": {"on"}, "phone": {"12"}}, nil), http.StatusUnprocessableEntity)
	keep("settings refused e-mail", e.PostForm(b, e.HTTPURL+"/settings/notifications", url.Values{"emailOn": {"on"}, "email": {"not an address"}}, nil), http.StatusUnprocessableEntity)
	keep("terms none", e.Get(b, e.HTTPURL+"/terms"), http.StatusOK)
	keep("delete mailbox", e.Get(b, e.HTTPURL+"/settings/delete"), http.StatusOK)
	keep("delete refused", e.PostForm(b, e.HTTPURL+"/settings/delete", url.Values{"password": {"wrong password!"}}, nil), http.StatusUnauthorized)

	// Access for others and the delegate's view of Anna's mailbox
	// (access.go, delegated.go): Carl, activated above, gets read access
	// to her public post.
	keep("access", e.Get(b, e.HTTPURL+"/settings/access"), http.StatusOK)
	keep("access refused", e.PostForm(b, e.HTTPURL+"/settings/access", url.Values{"nationalId": {uitest.NIDAnna}, "access": {"read"}, "scope": {"all"}}, nil), http.StatusUnprocessableEntity)
	if r := e.PostForm(b, e.HTTPURL+"/settings/access", url.Values{"nationalId": {uitest.NIDNobody}, "access": {"read"}, "scope": {"public"}, "until": {"2027-06-30"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant: %d\n%s", r.StatusCode, r.Text)
	}
	keep("access granted", e.Get(b, e.HTTPURL+"/settings/access?done=granted"), http.StatusOK)
	d := e.Browser()
	e.Get(d, e.HTTPURL+"/login?lang="+lang)
	e.Login(d, e.HTTPURL, uitest.NIDNobody)
	keep("access received", e.Get(d, e.HTTPURL+"/settings/access"), http.StatusOK)
	m := regexp.MustCompile(`/settings/access/([0-9a-f]{32})/accept`).FindStringSubmatch(pages["access received"])
	if m == nil {
		t.Fatalf("no grant to accept:\n%s", pages["access received"])
	}
	e.PostForm(d, e.HTTPURL+"/settings/access/"+m[1]+"/accept", nil, nil)
	keep("access accepted", e.Get(d, e.HTTPURL+"/settings/access?done=accepted"), http.StatusOK)
	keep("delegated", e.Get(d, e.HTTPURL+"/mailboxes/"+m[1]), http.StatusOK)
	keep("delegated letter", e.Get(d, e.HTTPURL+"/mailboxes/"+m[1]+"/letters/"+letterID), http.StatusOK)
	keep("delegated act refused", e.PostForm(d, e.HTTPURL+"/mailboxes/"+m[1]+"/letters/"+letterID+"/act", url.Values{"act": {"archive"}}, nil), http.StatusForbidden)
	keep("access activity", e.Get(b, e.HTTPURL+"/settings/access"), http.StatusOK)
	// A guardianship (or lasting power of attorney) the municipality
	// recorded: Anna is Carl's guardian; Carl sees it given and cannot
	// end it.
	anna, err := store.ParseNationalID(uitest.NIDAnna)
	if err != nil {
		t.Fatal(err)
	}
	guardianship, err := e.Store.AddGuardianship(context.Background(), nid, anna, time.Time{}, "Familieretshuset 2026-1234")
	if err != nil {
		t.Fatal(err)
	}
	keep("access guardian", e.Get(b, e.HTTPURL+"/settings/access"), http.StatusOK)
	keep("access ward", e.Get(d, e.HTTPURL+"/settings/access"), http.StatusOK)
	keep("access ward cannot end", e.PostForm(d, e.HTTPURL+"/settings/access/"+guardianship.ID+"/end", nil, nil), http.StatusUnprocessableEntity)
	l := uitest.Catalogue.Lang(lang)
	for page, id := range map[string]string{"access guardian": "access.guardianship", "access ward": "access.guardianshipGiven",
		"access ward cannot end": "access.error.guardianship"} {
		if !strings.Contains(html.UnescapeString(pages[page]), l.T(id)) {
			t.Errorf("%s lacks %q", page, l.T(id))
		}
	}

	c := e.Browser()
	e.Get(c, e.HTTPURL+"/login?lang="+lang)
	e.Login(c, e.HTTPURL, uitest.NIDBjorn)
	keep("inbox empty", e.Get(c, e.HTTPURL+"/"), http.StatusOK)
	keep("mailbox deleted", e.PostForm(c, e.HTTPURL+"/settings/delete", url.Values{"password": {password}}, nil), http.StatusOK)

	// New terms in force: the page to accept them; then the terms
	// accepted.
	publishTerms(e, "§1 Postkassen er din.", "2026-12-22")
	storeClock.Advance(31 * 24 * time.Hour)
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	keep("terms pending", e.Get(b, e.HTTPURL+"/terms"), http.StatusOK)
	keep("terms changed", e.PostForm(b, e.HTTPURL+"/terms/accept", url.Values{"version": {"0"}}, nil), http.StatusConflict)
	if r := e.PostForm(b, e.HTTPURL+"/terms/accept", url.Values{"version": {"1"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d", r.StatusCode)
	}
	keep("terms accepted", e.Get(b, e.HTTPURL+"/terms"), http.StatusOK)

	// Changing the password: the form, its refusals, and changed.
	const newPassword = "a new and longer passphrase"
	keep("password", e.Get(b, e.HTTPURL+"/settings/password"), http.StatusOK)
	keep("password differ", e.PostForm(b, e.HTTPURL+"/settings/password", url.Values{"current": {password}, "new": {newPassword}, "confirm": {newPassword + "!"}}, nil), http.StatusBadRequest)
	keep("password short", e.PostForm(b, e.HTTPURL+"/settings/password", url.Values{"current": {password}, "new": {"short"}, "confirm": {"short"}}, nil), http.StatusBadRequest)
	keep("password wrong", e.PostForm(b, e.HTTPURL+"/settings/password", url.Values{"current": {"wrong password!"}, "new": {newPassword}, "confirm": {newPassword}}, nil), http.StatusUnauthorized)
	keep("password changed", e.PostForm(b, e.HTTPURL+"/settings/password", url.Values{"current": {password}, "new": {newPassword}, "confirm": {newPassword}}, nil), http.StatusOK)

	// A forgotten password: the form, its refusals, and the new key.
	rnid, rkey := addResidentWithKey(t, e, 8)
	f := e.Browser()
	e.Get(f, e.HTTPURL+"/login?lang="+lang)
	keep("recover", e.Get(f, e.HTTPURL+"/recover"), http.StatusOK)
	keep("recover not a key", e.PostForm(f, e.HTTPURL+"/recover", url.Values{"nationalId": {rnid}, "recoveryKey": {"x"}, "new": {newPassword}, "confirm": {newPassword}}, nil), http.StatusBadRequest)
	keep("recover wrong", e.PostForm(f, e.HTTPURL+"/recover", url.Values{"nationalId": {uitest.NIDNobody}, "recoveryKey": {rkey}, "new": {newPassword}, "confirm": {newPassword}}, nil), http.StatusUnauthorized)
	keep("recovered", e.PostForm(f, e.HTTPURL+"/recover", url.Values{"nationalId": {rnid}, "recoveryKey": {rkey}, "new": {newPassword}, "confirm": {newPassword}}, nil), http.StatusOK)

	// The new recovery key after an upgrading sign-in.
	old := apptest.NewEnv(t, apptest.Options{Seed: schema4})
	o := old.Browser()
	old.Get(o, old.HTTPURL+"/login?lang="+lang)
	keep("new recovery key", old.PostForm(o, old.HTTPURL+"/login", url.Values{"nationalId": {schema4Anna}, "password": {schema4Password}}, nil), http.StatusOK)
	return pages
}
