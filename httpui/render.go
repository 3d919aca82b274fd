package httpui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// Pages: each is templates/<name>.html parsed with templates/layout.html.
var pageNames = []string{"login", "activate", "inbox", "letter", "error", "terms", "settings", "delete-mailbox", "mailbox-deleted"}

// view is what every page template gets: the layout's fields and the
// page's own data.
type view struct {
	Title    string          // the page's name; the layout adds " — Postkasse"
	Resident *store.Resident // nil when nobody is signed in
	Data     any
}

// parseTemplates parses every page once, with the layout and the
// functions, from files (package assets' in New).
func (s *Server) parseTemplates(files fs.FS) (map[string]*template.Template, error) {
	layout, err := fs.ReadFile(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("read layout: %w", err)
	}
	base, err := template.New("layout.html").Funcs(s.templateFuncs()).Parse(string(layout))
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		src, err := fs.ReadFile(files, "templates/"+name+".html")
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
	return pages, nil
}

func (s *Server) templateFuncs() template.FuncMap {
	return template.FuncMap{
		"url":       s.urlFor,
		"staticURL": s.staticURL,
		"date":      func(t time.Time) string { return t.In(s.loc).Format("2 Jan 2006") },
		"datetime":  func(t time.Time) string { return t.In(s.loc).Format("2 Jan 2006 at 15:04") },
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"typeLabel": typeLabel,
	}
}

// render executes a page into a buffer first, so that a failing template
// gives a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	t, ok := s.pages[page]
	if !ok {
		s.log.Error("no such page", "page", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		if page != "error" {
			s.errorPage(w, r, http.StatusInternalServerError)
			return
		}
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
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

var errorTexts = map[int]errorView{
	http.StatusForbidden: {"Request refused",
		"The request came from another web site, so it was refused to protect your mailbox. Go back to Postkasse and try again from there."},
	http.StatusNotFound: {"Page not found",
		"There is no page at this address. If you followed a link to a letter, the letter may have been deleted, or it belongs to another mailbox."},
	http.StatusMethodNotAllowed: {"Not available",
		"This address does not take that kind of request."},
	http.StatusInternalServerError: {"Something went wrong",
		"The mailbox could not show this page. Try again in a moment."},
	http.StatusServiceUnavailable: {"The mailbox is unavailable right now",
		"Nothing was lost. Try again in a few minutes."},
}

// errorPage renders an error page in the site's layout, without the
// resident's name (it may be shown without a session).
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	s.errorPageFor(w, r, nil, status)
}

func (s *Server) errorPageFor(w http.ResponseWriter, r *http.Request, resident *store.Resident, status int) {
	ev, ok := errorTexts[status]
	if !ok {
		ev = errorView{Heading: http.StatusText(status), Message: ""}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter(unavailableRetry))
	}
	s.render(w, r, status, "error", view{Title: ev.Heading, Resident: resident, Data: ev})
}

// pageError answers a failed store call on a page: 404 for what the
// resident may not see, 503 when the store is unavailable, otherwise a
// logged 500.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, resident *store.Resident, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.errorPageFor(w, r, resident, http.StatusNotFound)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		s.log.Warn("store unavailable", "route", routeName(r), "err", err)
		s.errorPageFor(w, r, resident, http.StatusServiceUnavailable)
	default:
		s.log.Error("internal error", "method", r.Method, "route", routeName(r), "err", err)
		s.errorPageFor(w, r, resident, http.StatusInternalServerError)
	}
}

// notFound answers a request no route matched: a problem under /api/, a
// page elsewhere.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		s.writeProblem(w, r, problem{Status: http.StatusNotFound, Code: "NOT_FOUND", Title: "Not found",
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
	if isAPI(r) {
		s.writeProblem(w, r, problem{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED", Title: "Method not allowed",
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

func typeLabel(t store.LetterType) string {
	switch t {
	case store.TypeLetter:
		return "Letter"
	case store.TypeDecision:
		return "Decision"
	case store.TypeInvoice:
		return "Invoice"
	case store.TypeNotice:
		return "Notice"
	}
	return string(t)
}

// dueView is a letter's due date as pages show it. The state is always in
// words (Note), never in colour alone.
type dueView struct {
	Text    string // "Due 31 Jan 2027"
	Note    string // "in 5 days", "tomorrow", "today", "overdue"; "" when not soon
	Soon    bool   // within 7 days
	Overdue bool   // the day has passed
}

// dueSoon is how close a due date is highlighted.
const dueSoon = 7 * 24 * time.Hour

// due describes a YYYY-MM-DD due date in the zone loc relative to now;
// nil when there is none. A date that does not parse is shown as it is.
func due(date string, now time.Time, loc *time.Location) *dueView {
	if date == "" {
		return nil
	}
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return &dueView{Text: "Due " + date}
	}
	// Due at the end of the day.
	end := d.AddDate(0, 0, 1)
	v := &dueView{
		Text:    "Due " + d.Format("2 Jan 2006"),
		Overdue: !now.Before(end),
		Soon:    now.Before(end) && end.Sub(now) <= dueSoon+24*time.Hour,
	}
	switch {
	case v.Overdue:
		v.Note = "overdue"
	case v.Soon:
		// Whole calendar days from today's date to the due date.
		y, m, dd := now.In(loc).Date()
		today := time.Date(y, m, dd, 0, 0, 0, 0, loc)
		switch days := int(d.Sub(today).Hours()+12) / 24; days {
		case 0:
			v.Note = "today"
		case 1:
			v.Note = "tomorrow"
		default:
			v.Note = "in " + strconv.Itoa(days) + " days"
		}
	}
	return v
}

// formatSize writes a byte count for people: "812 bytes", "12 KB", "1.4 MB".
func formatSize(n int64) string {
	switch {
	case n < 1000:
		if n == 1 {
			return "1 byte"
		}
		return strconv.FormatInt(n, 10) + " bytes"
	case n < 1000*1000:
		return strconv.FormatInt((n+500)/1000, 10) + " KB"
	default:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
	}
}
