package httpui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// view is what every page template gets: the layout's fields and the
// page's own data.
type view struct {
	Title    string          // the page's name; the layout adds " — Postkasse"
	Resident *store.Resident // nil when nobody is signed in
	Data     any
	// Set by render: the page's key (its template's name, which the
	// navigation compares), the language's code and the footer's links
	// to the page in every language.
	Page      string
	Lang      string
	Languages []langLink
}

// The pages the handlers render, by the name of their template
// (templates/<name>.html). parseTemplates fails when one is missing, so a
// missing view fails at start-up, not at request time; the layout's
// navigation compares these keys, never a page's title.
const (
	pageLogin          = "login"
	pageActivate       = "activate"
	pageInbox          = "inbox"
	pageLetter         = "letter"
	pageError          = "error"
	pageTerms          = "terms"
	pageSettings       = "settings"
	pageDeleteMailbox  = "delete-mailbox"
	pageMailboxDeleted = "mailbox-deleted"
	pageRecoveryKey    = "recovery-key"
)

var renderedPages = []string{pageLogin, pageActivate, pageInbox, pageLetter, pageError, pageTerms,
	pageSettings, pageDeleteMailbox, pageMailboxDeleted, pageRecoveryKey}

// parseTemplates parses every page once per language, with the layout
// and the functions bound to that language, from files (package assets'
// in New). The pages are the files of templates/ other than the layout,
// found by listing the folder; each is named by its file name.
func (s *Server) parseTemplates(files fs.FS) (map[string]map[string]*template.Template, error) {
	layout, err := fs.ReadFile(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("read layout: %w", err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	byLang := make(map[string]map[string]*template.Template, len(i18n.Languages))
	for _, code := range i18n.Languages {
		base, err := template.New("layout.html").Funcs(s.templateFuncs(s.cat.Lang(code))).Parse(string(layout))
		if err != nil {
			return nil, fmt.Errorf("parse layout: %w", err)
		}
		pages := make(map[string]*template.Template, len(names))
		for _, file := range names {
			name := strings.TrimSuffix(path.Base(file), ".html")
			if name == "layout" {
				continue
			}
			src, err := fs.ReadFile(files, file)
			if err != nil {
				return nil, fmt.Errorf("read page %s: %w", name, err)
			}
			t, err := base.Clone()
			if err != nil {
				return nil, fmt.Errorf("page %s: %w", name, err)
			}
			if _, err := t.Parse(string(src)); err != nil {
				return nil, fmt.Errorf("parse page %s: %w", name, err)
			}
			if t.Lookup("content") == nil {
				return nil, fmt.Errorf("page %s defines no \"content\" template", name)
			}
			pages[name] = t
		}
		for _, name := range renderedPages {
			if pages[name] == nil {
				return nil, fmt.Errorf("no page %s (templates/%s.html)", name, name)
			}
		}
		byLang[code] = pages
	}
	return byLang, nil
}

// templateFuncs are the functions of the templates of one language: T
// (a message of the catalogue, with pairs of placeholder name and value),
// TH (the same for a message whose key ends "_html", with its values
// escaped), the formats of dates and amounts (in øre), and URLs.
func (s *Server) templateFuncs(l *i18n.Lang) template.FuncMap {
	return template.FuncMap{
		"T":         l.T,
		"TH":        func(id string, args ...any) template.HTML { return trustedMessage(l, id, args...) },
		"url":       s.urlFor,
		"staticURL": s.staticURL,
		"date":      func(t time.Time) string { return l.ShortDate(t.In(s.loc)) },
		"datetime":  func(t time.Time) string { return l.DateTime(t.In(s.loc)) },
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"typeLabel": func(t store.LetterType) string { return typeLabel(l, t) },
		"amount":    l.Amount,
	}
}

// trustedMessage is a message with markup ("_html" keys only) as HTML:
// the catalogue's markup is trusted, the values put into it are escaped.
func trustedMessage(l *i18n.Lang, id string, args ...any) template.HTML {
	if !strings.HasSuffix(id, "_html") {
		return template.HTML(template.HTMLEscapeString(l.T(id, args...)))
	}
	esc := make([]any, len(args))
	for i, a := range args {
		if i%2 == 1 {
			a = template.HTMLEscapeString(fmt.Sprint(a))
		}
		esc[i] = a
	}
	return template.HTML(l.T(id, esc...))
}

// render executes a page into a buffer first, so that a failing template
// gives a clean 500 instead of half a page. The page is in the request's
// language (lang).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	l := s.web.Lang(r)
	t, ok := s.pages[l.Code][page]
	if !ok {
		s.log.Error("no such page", "page", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	v.Page, v.Lang, v.Languages = page, l.Code, s.languageLinks(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		if page != pageError {
			s.errorPage(w, r, http.StatusInternalServerError)
			return
		}
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l.Code)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorView is the data of the error page.
type errorView struct {
	Heading string
	Message string
}

// errorStatuses are the statuses the error page explains in words
// (messages "error.<status>" and "error.<status>.text").
var errorStatuses = map[int]bool{
	http.StatusForbidden: true, http.StatusNotFound: true, http.StatusMethodNotAllowed: true,
	http.StatusInternalServerError: true, http.StatusServiceUnavailable: true,
}

// errorPage renders an error page in the site's layout, without the
// resident's name (it may be shown without a session).
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	s.errorPageFor(w, r, nil, status)
}

func (s *Server) errorPageFor(w http.ResponseWriter, r *http.Request, resident *store.Resident, status int) {
	l := s.web.Lang(r)
	ev := errorView{Heading: l.T("error.other", "Status", status)}
	if errorStatuses[status] {
		code := strconv.Itoa(status)
		ev = errorView{Heading: l.T("error." + code), Message: l.T("error." + code + ".text")}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", web.RetryAfter(web.UnavailableRetry))
	}
	s.render(w, r, status, pageError, view{Title: ev.Heading, Resident: resident, Data: ev})
}

// pageError answers a failed store call on a page: 404 for what the
// resident may not see, 503 when the store is unavailable, otherwise a
// logged 500.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, resident *store.Resident, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.errorPageFor(w, r, resident, http.StatusNotFound)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		s.log.Warn("store unavailable", "route", web.RouteName(r), "err", err)
		s.errorPageFor(w, r, resident, http.StatusServiceUnavailable)
	default:
		s.log.Error("internal error", "method", r.Method, "route", web.RouteName(r), "err", err)
		s.errorPageFor(w, r, resident, http.StatusInternalServerError)
	}
}

// notFound answers a request no route matched: a problem under /api/, a
// page elsewhere.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if web.IsAPI(r) {
		s.web.WriteProblem(w, r, web.Problem{Status: http.StatusNotFound, Code: "NOT_FOUND",
			Detail: "no such API resource"})
		return
	}
	s.errorPage(w, r, http.StatusNotFound)
}

// methodNotAllowed answers a known path with a method it does not take,
// naming the methods it does take (RFC 9110 §15.5.6).
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowedMethods(r); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if web.IsAPI(r) {
		s.web.WriteProblem(w, r, web.Problem{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
			Detail: r.Method + " is not allowed here"})
		return
	}
	s.errorPage(w, r, http.StatusMethodNotAllowed)
}

// allowedMethods lists the methods some route takes for r's path.
func (s *Server) allowedMethods(r *http.Request) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

// typeLabel names a kind of letter in the language.
func typeLabel(l *i18n.Lang, t store.LetterType) string {
	switch t {
	case store.TypeLetter, store.TypeDecision, store.TypeInvoice, store.TypeNotice:
		return l.T("type." + string(t))
	}
	return string(t)
}

// dueView is a letter's due date as pages show it. The state is always in
// words (Note), never in colour alone.
type dueView struct {
	Text    string // "Due 31 Jan 2027", "Frist 31. jan. 2027"
	Note    string // "in 5 days", "tomorrow", "today", "overdue"; "" when not soon
	Soon    bool   // within 7 days
	Overdue bool   // the day has passed
}

// dueSoon is how close a due date is highlighted.
const dueSoon = 7 * 24 * time.Hour

// due describes a YYYY-MM-DD due date in the zone loc relative to now,
// in the language l; nil when there is none. A date that does not parse
// is shown as it is.
func due(l *i18n.Lang, date string, now time.Time, loc *time.Location) *dueView {
	if date == "" {
		return nil
	}
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return &dueView{Text: l.T("due.date", "Date", date)}
	}
	// Due at the end of the day.
	end := d.AddDate(0, 0, 1)
	v := &dueView{
		Text:    l.T("due.date", "Date", l.ShortDate(d)),
		Overdue: !now.Before(end),
		Soon:    now.Before(end) && end.Sub(now) <= dueSoon+24*time.Hour,
	}
	switch {
	case v.Overdue:
		v.Note = l.T("due.overdue")
	case v.Soon:
		// Whole calendar days from today's date to the due date.
		y, m, dd := now.In(loc).Date()
		today := time.Date(y, m, dd, 0, 0, 0, 0, loc)
		switch days := int(d.Sub(today).Hours()+12) / 24; days {
		case 0:
			v.Note = l.T("due.today")
		case 1:
			v.Note = l.T("due.tomorrow")
		default:
			v.Note = l.T("due.inDays", "Count", days)
		}
	}
	return v
}

// formatSize writes a byte count for people: "812 bytes", "12 KB",
// "1.4 MB" (in the language's words and decimal sign).
func formatSize(l *i18n.Lang, n int64) string {
	switch {
	case n < 1000:
		return l.T("size.bytes", "Count", n)
	case n < 1000*1000:
		return l.T("size.kb", "N", l.Integer((n+500)/1000))
	default:
		return l.T("size.mb", "N", l.Decimal(float64(n)/1e6, 1))
	}
}
