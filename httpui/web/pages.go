package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// Pages renders the pages of the faces: every template parsed once per
// language at start-up (so a missing or broken view fails then, not at
// request time), the error pages, the static files under their content
// hash and URLs built from the names of the router's routes.
type Pages struct {
	kit      *Kit
	router   *mux.Router
	loc      *time.Location
	required []string
	formPage func(p *Pages, path string) string
	byLang   map[string]map[string]*template.Template // by language, then page
	static   map[string]staticFile                    // by file name
}

// PagesConfig is what NewPages needs.
type PagesConfig struct {
	Kit *Kit
	// Router is the appliance's router, whose named routes the templates
	// and handlers build URLs from.
	Router *mux.Router
	// Location is the zone of the dates on pages; nil is time.Local.
	Location *time.Location
	// Files holds templates/ and static/ (package assets).
	Files fs.FS
	// Required are the pages the faces render: NewPages fails when one
	// is missing. The error page is always required.
	Required []string
	// FormPage is the page that shows the form a POST to path came from,
	// for the footer's links to the page in the other languages; nil is
	// path itself.
	FormPage func(p *Pages, path string) string
}

// RouteStatic is the name of the route of StaticFile, with the variables
// "hash" and "file"; NewPages adds it.
const RouteStatic = "static"

// pageError is the page of ErrorPage.
const pageError = "error"

// NewPages hashes the static files, parses every template and adds the
// route of the static files (RouteStatic) to the router.
func NewPages(cfg PagesConfig) (*Pages, error) {
	p := &Pages{kit: cfg.Kit, router: cfg.Router, loc: cfg.Location, required: cfg.Required, formPage: cfg.FormPage}
	if p.loc == nil {
		p.loc = time.Local
	}
	if p.formPage == nil {
		p.formPage = func(_ *Pages, path string) string { return path }
	}
	var err error
	if p.static, err = loadStatic(cfg.Files); err != nil {
		return nil, err
	}
	if p.byLang, err = p.parseTemplates(cfg.Files); err != nil {
		return nil, err
	}
	p.router.Handle("/static/{hash:[0-9a-f]+}/{file}", http.HandlerFunc(p.StaticFile)).Methods(http.MethodGet, http.MethodHead).Name(RouteStatic)
	return p, nil
}

// URLFor returns the path of a named route with its variables.
func (p *Pages) URLFor(name string, pairs ...string) (string, error) {
	route := p.router.Get(name)
	if route == nil {
		return "", fmt.Errorf("no route named %q", name)
	}
	u, err := route.URLPath(pairs...)
	if err != nil {
		return "", fmt.Errorf("route %q: %w", name, err)
	}
	return u.Path, nil
}

// MustURL is URLFor for handlers: the route names and variables are the
// faces' own, checked by their tests, so an error is a bug.
func (p *Pages) MustURL(name string, pairs ...string) string {
	u, err := p.URLFor(name, pairs...)
	if err != nil {
		panic("web: " + err.Error())
	}
	return u
}

// View is what every page template gets: the layout's fields and the
// page's own data.
type View struct {
	Title    string          // the page's name; the layout adds " — Postkasse"
	Resident *store.Resident // nil when nobody is signed in
	Data     any
	// Set by Render: the page's key (its template's name, which the
	// navigation compares), the language's code and the footer's links
	// to the page in every language.
	Page      string
	Lang      string
	Languages []LangLink
	// Mailboxes are the switcher's, for a signed-in resident with access
	// to another's mailbox (WithMailboxes); Path is the page's path.
	Mailboxes []MailboxLink
	Path      string
}

// parseTemplates parses every page once per language, with the layout
// and the functions bound to that language, from files (package assets'
// in httpui.New). The pages are the files of templates/ other than the layout,
// found by listing the folder; each is named by its file name.
func (p *Pages) parseTemplates(files fs.FS) (map[string]map[string]*template.Template, error) {
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
		base, err := template.New("layout.html").Funcs(p.templateFuncs(p.kit.Cat.Lang(code))).Parse(string(layout))
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
		for _, name := range append([]string{pageError}, p.required...) {
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
// escaped), the formats of dates and amounts (in øre), URLs, and dict
// (pairs of name and value as a map: the data of a shared block).
func (p *Pages) templateFuncs(l *i18n.Lang) template.FuncMap {
	return template.FuncMap{
		"T":         l.T,
		"TH":        func(id string, args ...any) template.HTML { return trustedMessage(l, id, args...) },
		"url":       p.URLFor,
		"staticURL": p.StaticURL,
		"date":      func(t time.Time) string { return l.ShortDate(t.In(p.loc)) },
		"datetime":  func(t time.Time) string { return l.DateTime(t.In(p.loc)) },
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"typeLabel": func(t store.LetterType) string { return TypeLabel(l, t) },
		"amount":    l.Amount,
		"dict":      dict,
	}
}

// dict makes a map of pairs of name and value, for a template that
// passes several values to a shared block.
func dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("dict: %d arguments, want pairs", len(pairs))
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: name %v is not a string", pairs[i])
		}
		m[k] = pairs[i+1]
	}
	return m, nil
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

// Render executes a page into a buffer first, so that a failing template
// gives a clean 500 instead of half a page. The page is in the request's
// language (Lang).
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, page string, v View) {
	l := p.kit.Lang(r)
	t, ok := p.byLang[l.Code][page]
	if !ok {
		p.kit.Log.Error("no such page", "page", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	v.Page, v.Lang, v.Languages, v.Path = page, l.Code, p.LanguageLinks(r), r.URL.Path
	if v.Resident != nil {
		v.Mailboxes = mailboxes(r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		p.kit.Log.Error("render page", "page", page, "err", err)
		if page != pageError {
			p.ErrorPage(w, r, http.StatusInternalServerError)
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

// ErrorPage renders an error page in the site's layout, without the
// resident's name (it may be shown without a session).
func (p *Pages) ErrorPage(w http.ResponseWriter, r *http.Request, status int) {
	p.ErrorPageFor(w, r, nil, status)
}

// ErrorPageFor is ErrorPage with the signed-in resident's name.
func (p *Pages) ErrorPageFor(w http.ResponseWriter, r *http.Request, resident *store.Resident, status int) {
	l := p.kit.Lang(r)
	ev := errorView{Heading: l.T("error.other", "Status", status)}
	if errorStatuses[status] {
		code := strconv.Itoa(status)
		ev = errorView{Heading: l.T("error." + code), Message: l.T("error." + code + ".text")}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter(UnavailableRetry))
	}
	p.Render(w, r, status, pageError, View{Title: ev.Heading, Resident: resident, Data: ev})
}

// PageError answers a failed store call on a page: 404 for what the
// resident may not see, 503 when the store is unavailable, otherwise a
// logged 500.
func (p *Pages) PageError(w http.ResponseWriter, r *http.Request, resident *store.Resident, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.ErrorPageFor(w, r, resident, http.StatusNotFound)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		p.kit.Log.Warn("store unavailable", "route", RouteName(r), "err", err, "id", RequestID(r))
		p.ErrorPageFor(w, r, resident, http.StatusServiceUnavailable)
	default:
		p.kit.Log.Error("internal error", "method", r.Method, "route", RouteName(r), "err", err, "id", RequestID(r))
		p.ErrorPageFor(w, r, resident, http.StatusInternalServerError)
	}
}

// TypeLabel names a kind of letter in the language.
func TypeLabel(l *i18n.Lang, t store.LetterType) string {
	switch t {
	case store.TypeLetter, store.TypeDecision, store.TypeInvoice, store.TypeNotice:
		return l.T("type." + string(t))
	}
	return string(t)
}

// staticFile is an embedded static file, served under its content hash.
type staticFile struct {
	hash        string // first 16 hex digits of the SHA-256 of content
	contentType string
	content     []byte
}

// loadStatic reads and hashes the static files (static/*.css and
// static/*.js of package assets in httpui.New) once.
func loadStatic(files fs.FS) (map[string]staticFile, error) {
	out := map[string]staticFile{}
	for pattern, contentType := range map[string]string{
		"static/*.css": "text/css; charset=utf-8",
		// The one script: the passkey pages' (passkeys.js), which only
		// the pages that send web.CSPScriptPage may run.
		"static/*.js": "text/javascript; charset=utf-8",
	} {
		names, err := fs.Glob(files, pattern)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			b, err := fs.ReadFile(files, name)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			sum := sha256.Sum256(b)
			out[path.Base(name)] = staticFile{hash: hex.EncodeToString(sum[:8]), contentType: contentType, content: b}
		}
	}
	if _, ok := out["style.css"]; !ok {
		return nil, fmt.Errorf("static/style.css is missing")
	}
	return out, nil
}

// StaticURL is the URL of a static file with its hash, for templates.
func (p *Pages) StaticURL(name string) (string, error) {
	f, ok := p.static[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return p.URLFor(RouteStatic, "hash", f.hash, "file", name)
}

// StaticFile serves an embedded file under RouteStatic. The hash in the URL changes with the
// content, so a response may be cached for good (RFC 8246 immutable).
func (p *Pages) StaticFile(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	f, ok := p.static[vars["file"]]
	if !ok || f.hash != vars["hash"] {
		p.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+f.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.content))
}
