package i18n_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/i18n"
)

func load(t *testing.T) *i18n.Catalogue {
	t.Helper()
	c, err := i18n.Load(assets.FS(), "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var placeholder = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// TestCatalogueComplete: every message of any language exists in every
// language, with the same placeholders in every plural form, and with
// markup only where its key says so ("_html").
func TestCatalogueComplete(t *testing.T) {
	c := load(t)
	all := map[string]bool{}
	for _, lang := range i18n.Languages {
		for _, id := range c.IDs(lang) {
			all[id] = true
		}
	}
	if len(all) < 100 {
		t.Fatalf("only %d messages", len(all))
	}
	for id := range all {
		want := placeholders(strings.Join(mapValues(c.Forms("en", id)), " "))
		for _, lang := range i18n.Languages {
			forms := c.Forms(lang, id)
			if forms == nil {
				t.Errorf("%s: no message %q", lang, id)
				continue
			}
			for form, text := range forms {
				got := placeholders(text)
				// A form for one may leave the count out ("Document").
				if form == "one" {
					got = appendMissing(got, "Count", want)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s %q (%s): placeholders %v, English has %v", lang, id, form, got, want)
				}
				if strings.ContainsAny(text, "<>") != strings.HasSuffix(id, "_html") {
					t.Errorf("%s %q: markup only in, and always in, keys ending _html: %q", lang, id, text)
				}
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func appendMissing(got []string, name string, want []string) []string {
	if slices.Contains(want, name) && !slices.Contains(got, name) {
		got = append(got, name)
		slices.Sort(got)
	}
	return got
}

// TestFormats: dates, numbers and amounts as each language writes them.
func TestFormats(t *testing.T) {
	c := load(t)
	d := time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang, long, short, datetime, amount, integer, decimal string
	}{
		{"en", "1 December 2026", "1 Dec 2026", "1 Dec 2026 at 14:05", "kr 1,249.50", "1,234,567", "10.5"},
		{"da", "1. december 2026", "1. dec. 2026", "1. dec. 2026 kl. 14.05", "1.249,50 kr.", "1.234.567", "10,5"},
		{"nb", "1. desember 2026", "1. des. 2026", "1. des. 2026 kl. 14.05", "kr 1\u00a0249,50", "1\u00a0234\u00a0567", "10,5"},
	} {
		l := c.Lang(tc.lang)
		for _, got := range []struct{ name, got, want string }{
			{"Date", l.Date(d), tc.long},
			{"ShortDate", l.ShortDate(d), tc.short},
			{"DateTime", l.DateTime(d), tc.datetime},
			{"DateOnly", l.DateOnly("2026-12-01"), tc.long},
			{"Amount", l.Amount(124950), tc.amount},
			{"Integer", l.Integer(1234567), tc.integer},
			{"Decimal", l.Decimal(10.46, 1), tc.decimal},
		} {
			if got.got != got.want {
				t.Errorf("%s %s = %q, want %q", tc.lang, got.name, got.got, got.want)
			}
		}
	}
	if got := c.Lang("da").Amount(-5); got != "-0,05 kr." {
		t.Errorf("negative amount %q", got)
	}
	if got := c.Lang("en").Amount(7); got != "kr 0.07" {
		t.Errorf("small amount %q", got)
	}
}

// TestPlurals: the count chooses the CLDR form.
func TestPlurals(t *testing.T) {
	c := load(t)
	for _, tc := range []struct {
		lang  string
		n     int
		wants string
	}{
		{"en", 1, "1 letter"}, {"en", 2, "2 letters"}, {"en", 0, "0 letters"},
		{"da", 1, "1 brev"}, {"da", 5, "5 breve"},
		{"nb", 1, "1 brev"}, {"nb", 5, "5 brev"},
	} {
		if got := c.Lang(tc.lang).T("inbox.letters", "Count", tc.n); got != tc.wants {
			t.Errorf("%s %d: %q, want %q", tc.lang, tc.n, got, tc.wants)
		}
	}
	if got := c.Lang("da").T("no.such.message"); got != "no.such.message" {
		t.Errorf("missing message: %q", got)
	}
}

// TestMatch: Accept-Language finds the closest language of the
// catalogue; none at all leaves the default.
func TestMatch(t *testing.T) {
	c := load(t)
	for header, want := range map[string]string{
		"":                        "en",
		"da":                      "da",
		"da-DK,da;q=0.9,en;q=0.8": "da",
		"nb-NO":                   "nb",
		"no":                      "nb",
		"nn-NO,nb;q=0.9":          "nb",
		"en-GB,en;q=0.9":          "en",
		"de-DE,da;q=0.5":          "da",
		"fr":                      "en",
		"sv-SE,nb;q=0.8,da;q=0.7": "nb",
		"*":                       "en",
		"garbage;;;q=x":           "en",
	} {
		l, _ := c.Match(header)
		if l.Code != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, l.Code, want)
		}
	}
	dk, err := i18n.Load(assets.FS(), "da")
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := dk.Match("fr"); ok || l.Code != "da" {
		t.Errorf("default da: %s, %v", l.Code, ok)
	}
	if _, err := i18n.Load(assets.FS(), "sv"); err == nil {
		t.Error("a default outside the catalogue was accepted")
	}
}

// TestCatalogueParts: a part's file (i18n/<part>.<lang>.toml) adds its
// messages to its language; a message written twice for one language is
// refused, naming the file, and a language without its main file too.
func TestCatalogueParts(t *testing.T) {
	files := func(extra map[string]string) fstest.MapFS {
		fsys := fstest.MapFS{}
		for _, code := range i18n.Languages {
			fsys["i18n/"+code+".toml"] = &fstest.MapFile{Data: []byte(`"hello" = "hello ` + code + `"` + "\n")}
		}
		for name, text := range extra {
			fsys[name] = &fstest.MapFile{Data: []byte(text)}
		}
		return fsys
	}
	c, err := i18n.Load(files(map[string]string{"i18n/inbox.da.toml": `"inbox.title" = "Indbakke"` + "\n"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Lang("da").T("inbox.title"); got != "Indbakke" {
		t.Errorf("a part's message: %q", got)
	}
	if got := c.Lang("da").T("hello"); got != "hello da" {
		t.Errorf("the main file's message beside a part: %q", got)
	}
	_, err = i18n.Load(files(map[string]string{"i18n/inbox.da.toml": `"hello" = "hej"` + "\n"}), "")
	if err == nil || !strings.Contains(err.Error(), "inbox.da.toml") || !strings.Contains(err.Error(), `"hello"`) {
		t.Errorf("a message written twice: %v", err)
	}
	fsys := files(nil)
	delete(fsys, "i18n/nb.toml")
	fsys["i18n/inbox.nb.toml"] = &fstest.MapFile{Data: []byte(`"hello" = "hei"` + "\n")}
	if _, err := i18n.Load(fsys, ""); err == nil {
		t.Error("a language with a part but no main file was loaded")
	}
}
