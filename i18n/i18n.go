// Package i18n owns the appliance's languages: the message catalogue
// (package assets, i18n/<lang>.toml and i18n/<part>.<lang>.toml: English,
// Danish and Norwegian Bokmål),
// the choice of a language from what a browser accepts, and the way each
// language writes dates, numbers and amounts.
//
// Messages are github.com/nicksnyder/go-i18n/v2 messages: one TOML file
// per language that a translator can edit, a flat key per message
// ("inbox.title"), text/template placeholders ("{{.Name}}") and, where a
// count decides the form, CLDR plural categories ("one", "other"). The
// language is matched with golang.org/x/text/language, so "no" and
// "nb-NO" find Bokmål and "en-GB" English.
//
// Nothing here holds user-facing text of its own: month names, the
// separators of numbers and the form of a date or an amount are messages
// of the catalogue too ("date.*", "number.*", "amount").
package i18n

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages are the languages of the catalogue, as BCP 47 tags, the
// default first.
var Languages = []string{"en", "da", "nb"}

// Catalogue is the loaded message catalogue. It is safe for concurrent
// use.
type Catalogue struct {
	bundle   *goi18n.Bundle
	matcher  language.Matcher
	tags     []language.Tag
	langs    map[string]*Lang
	fallback string
	// messages holds each language's messages as written, by id (tests
	// and the completeness check read them).
	messages map[string]map[string]*goi18n.Message
}

// Load reads the catalogue's files, i18n/<lang>.toml and any
// i18n/<part>.<lang>.toml (the messages of one part of the appliance, so
// that a feature's texts can live in files of their own), from fsys
// (package assets' FS), found by listing the folder. Every language of
// Languages must have its main file; a message id may be written once
// per language. fallback is the language used when nothing else
// decides ("" = English); it must be one of Languages.
func Load(fsys fs.FS, fallback string) (*Catalogue, error) {
	if fallback == "" {
		fallback = Languages[0]
	}
	if !slices.Contains(Languages, fallback) {
		return nil, fmt.Errorf("i18n: default language %q is not one of %s", fallback, strings.Join(Languages, ", "))
	}
	c := &Catalogue{
		bundle:   goi18n.NewBundle(language.English),
		langs:    make(map[string]*Lang, len(Languages)),
		fallback: fallback,
		messages: make(map[string]map[string]*goi18n.Message, len(Languages)),
	}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	files, err := fs.Glob(fsys, "i18n/*.toml")
	if err != nil {
		return nil, fmt.Errorf("i18n: list catalogue: %w", err)
	}
	main := make(map[string]bool, len(Languages))
	for _, name := range files {
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		mf, err := c.bundle.ParseMessageFileBytes(buf, path.Base(name))
		if err != nil {
			return nil, fmt.Errorf("i18n: parse %s: %w", name, err)
		}
		code := mf.Tag.String()
		if !slices.Contains(Languages, code) {
			return nil, fmt.Errorf("i18n: %s: language %q is not one of %s", name, code, strings.Join(Languages, ", "))
		}
		if path.Base(name) == code+".toml" {
			main[code] = true
		}
		byID := c.messages[code]
		if byID == nil {
			byID = make(map[string]*goi18n.Message, len(mf.Messages))
			c.messages[code] = byID
		}
		for _, m := range mf.Messages {
			if _, dup := byID[m.ID]; dup {
				return nil, fmt.Errorf("i18n: %s: message %q is also in another file of %q", name, m.ID, code)
			}
			byID[m.ID] = m
		}
	}
	for _, code := range Languages {
		if !main[code] {
			return nil, fmt.Errorf("i18n: no catalogue file for %q (i18n/%s.toml)", code, code)
		}
		tag := language.MustParse(code)
		c.tags = append(c.tags, tag)
		c.langs[code] = &Lang{Code: code, loc: goi18n.NewLocalizer(c.bundle, code)}
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// Default is the language used when nothing else decides.
func (c *Catalogue) Default() *Lang { return c.langs[c.fallback] }

// Lang returns the language with the code (one of Languages), or the
// default for any other code.
func (c *Catalogue) Lang(code string) *Lang {
	if l, ok := c.langs[code]; ok {
		return l
	}
	return c.Default()
}

// Supported reports whether code is one of Languages.
func (c *Catalogue) Supported(code string) bool {
	_, ok := c.langs[code]
	return ok
}

// Match returns the language that best suits an Accept-Language header
// (RFC 9110 §12.5.4), and false when none of them is acceptable at all.
func (c *Catalogue) Match(acceptLanguage string) (*Lang, bool) {
	if strings.TrimSpace(acceptLanguage) == "" {
		return c.Default(), false
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return c.Default(), false
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return c.Default(), false
	}
	return c.langs[Languages[i]], true
}

// IDs returns the ids of the messages written in the language's file,
// sorted.
func (c *Catalogue) IDs(code string) []string {
	ids := make([]string, 0, len(c.messages[code]))
	for id := range c.messages[code] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Forms returns the message's texts in the language as written, one per
// plural form it has ("one", "other" …), without placeholders filled in.
func (c *Catalogue) Forms(code, id string) map[string]string {
	m := c.messages[code][id]
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for form, s := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if s != "" {
			out[form] = s
		}
	}
	return out
}

// Lang is one language of the catalogue: its messages and its way of
// writing dates, numbers and amounts.
type Lang struct {
	Code string // BCP 47: "en", "da", "nb"
	loc  *goi18n.Localizer
}

// ErrMissing is what Translate reports for an id the catalogue lacks.
var ErrMissing = errors.New("i18n: no such message")

// T returns the message id in the language, with placeholders filled from
// args: pairs of a name and a value ("Name", "Anna", "Count", 3). A
// "Count" also chooses the plural form. An id the catalogue lacks comes
// back as it is, so a page shows what is missing rather than nothing.
func (l *Lang) T(id string, args ...any) string {
	s, err := l.Translate(id, args...)
	if err != nil {
		return id
	}
	return s
}

// Translate is T with the error of a missing id or a bad template.
func (l *Lang) Translate(id string, args ...any) (string, error) {
	var data map[string]any
	var count any
	if len(args) > 0 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			k := fmt.Sprint(args[i])
			data[k] = args[i+1]
			if k == "Count" {
				count = args[i+1]
			}
		}
	}
	s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	var nf *goi18n.MessageNotFoundErr
	if errors.As(err, &nf) {
		return "", fmt.Errorf("%w: %q", ErrMissing, id)
	}
	return s, err
}

// Date writes the date of t, in t's zone, in words: "1 December 2026",
// "1. december 2026", "1. desember 2026".
func (l *Lang) Date(t time.Time) string {
	return l.T("date.long", "Day", t.Day(), "Month", l.T("date.month."+strconv.Itoa(int(t.Month()))), "Year", t.Year())
}

// ShortDate writes the date of t with the month abbreviated: "1 Dec
// 2026", "1. dec. 2026", "1. des. 2026".
func (l *Lang) ShortDate(t time.Time) string {
	return l.T("date.short", "Day", t.Day(), "Month", l.T("date.mon."+strconv.Itoa(int(t.Month()))), "Year", t.Year())
}

// DateTime writes the date and time of day of t: "1 Dec 2026 at 14:05",
// "1. dec. 2026 kl. 14.05".
func (l *Lang) DateTime(t time.Time) string {
	return l.T("date.time", "Date", l.ShortDate(t), "Hour", fmt.Sprintf("%02d", t.Hour()), "Minute", fmt.Sprintf("%02d", t.Minute()))
}

// DateOnly writes a YYYY-MM-DD date in words (Date); one that does not
// parse as it is.
func (l *Lang) DateOnly(date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return l.Date(d)
}

// Integer writes n with the language's digit grouping: "12,345",
// "12.345", "12 345".
func (l *Lang) Integer(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	digits := strconv.FormatInt(n, 10)
	group := l.T("number.group")
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(d)
	}
	return b.String()
}

// Decimal writes x with the given number of decimals, grouped:
// "1,249.50", "1.249,50", "1 249,50".
func (l *Lang) Decimal(x float64, decimals int) string {
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := l.Integer(n)
	if n == 0 && strings.HasPrefix(whole, "-") {
		out = "-" + out
	}
	if frac == "" {
		return out
	}
	return out + l.T("number.decimal") + frac
}

// Amount writes an amount of kroner given in øre: "kr 1,249.50",
// "1.249,50 kr.", "kr 1 249,50".
func (l *Lang) Amount(ore int64) string {
	neg := ore < 0
	if neg {
		ore = -ore
	}
	n := l.Integer(ore/100) + l.T("number.decimal") + fmt.Sprintf("%02d", ore%100)
	if neg {
		n = "-" + n
	}
	return l.T("amount", "Number", n)
}
