package resident

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// Access for others (store, delegation.go): the resident gives another
// resident access to the mailbox, sees and ends the grants, sees what
// the delegates did; a delegate accepts a grant and ends it. The
// delegate's view of the grantor's mailbox is delegated.go.

// accessView is the data of the access page.
type accessView struct {
	Notice, Error string
	Form          grantForm
	Given         []grantLine
	// GivenPage is the page of Given shown (access_pages.go).
	GivenPage givenPage
	Received  []grantLine
	Activity  []activityLine
	// Acts are the acts of access "act", in words (store.DelegateActs).
	Acts []string
}

// grantLine is one grant on the access page or a banner.
type grantLine struct {
	ID           string
	Name         string // the other resident's
	Access       string // in words
	Scope        string // in words
	Until        string // the last day in words; "" until ended
	Act          bool
	Pending      bool
	Active       bool
	Guardianship bool
	// Waiting: earlier letters wait for the grantor to sign in (a
	// guardianship).
	Waiting bool
}

// activityLine is one thing a delegate did.
type activityLine struct {
	When, Who, What, LetterID string
}

// The queries that say what was just done on the access page.
const (
	doneGranted  = "granted"
	doneAccepted = "accepted"
	doneEnded    = "ended"
)

func (s *Handlers) grantLine(l *i18n.Lang, g store.Grant, name string) grantLine {
	line := grantLine{ID: g.ID, Name: name, Access: l.T("access.access." + string(g.Access)), Scope: l.T("access.scope." + string(g.Scope)),
		Act: g.Access == store.AccessAct, Pending: g.Accepted.IsZero(), Active: g.Active, Guardianship: g.Guardianship,
		Waiting: g.Covered.IsZero()}
	if !g.Until.IsZero() {
		line.Until = l.ShortDate(g.Until)
	}
	return line
}

// accessPage shows the grants given and received and the delegates'
// activity.
func (s *Handlers) accessPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	l := s.web.Lang(r)
	notice := ""
	if done := r.URL.Query().Get("done"); done == doneGranted || done == doneAccepted || done == doneEnded {
		notice = l.T("access.done." + done)
	}
	s.renderAccess(w, r, mb, http.StatusOK, grantForm{Access: string(store.AccessRead), Scope: string(store.ScopeAll)}, notice, "")
}

func (s *Handlers) renderAccess(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, form grantForm, notice, errText string) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	given, received, err := mb.Grants(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	activity, err := mb.DelegateActivity(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v := accessView{Notice: notice, Error: errText, Form: form}
	names := map[string]string{}
	for _, g := range given {
		names["resident:"+g.DelegateID] = g.DelegateName
	}
	page, ok := s.pageOfGiven(r, len(given))
	if !ok {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusBadRequest)
		return
	}
	for _, g := range given[page.from:page.to] {
		v.Given = append(v.Given, s.grantLine(l, g, g.DelegateName))
	}
	v.GivenPage = page
	for _, g := range received {
		v.Received = append(v.Received, s.grantLine(l, g, g.GrantorName))
	}
	for _, e := range activity {
		who, ok := names[e.Actor]
		if !ok {
			who = l.T("access.activity.former")
		}
		v.Activity = append(v.Activity, activityLine{When: l.DateTime(e.Time.In(s.loc)), Who: who,
			What: l.T("access.activity." + strings.TrimPrefix(e.Action, "delegate-")), LetterID: strings.TrimPrefix(e.Object, "letter:")})
	}
	for _, a := range store.DelegateActs {
		v.Acts = append(v.Acts, l.T("access.act."+a))
	}
	s.pages.Render(w, r, status, pageAccess, web.View{Title: l.T("access.title"), Resident: &resident, Data: v})
}

// accessGrant gives another resident access. Refused input is shown
// again with why, and nothing is stored.
func (s *Handlers) accessGrant(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	l := s.web.Lang(r)
	form := parseGrantForm(w, r)
	req, ok := form.request()
	if !ok {
		s.renderAccess(w, r, mb, http.StatusUnprocessableEntity, form, "", l.T("access.error.date"))
		return
	}
	_, err := mb.GrantAccess(r.Context(), req)
	if key := grantErrorKey(err); key != "" {
		s.renderAccess(w, r, mb, http.StatusUnprocessableEntity, form, "", l.T(key))
		return
	} else if err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.redirectAccess(w, r, doneGranted)
}

// grantErrorKey is the message of a refused grant; "" for no such error.
func grantErrorKey(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, store.ErrDelegateSelf):
		return "access.error.self"
	case errors.Is(err, store.ErrDelegateUnknown):
		return "access.error.unknown"
	case errors.Is(err, store.ErrDelegationUntilPast):
		return "access.error.past"
	case errors.Is(err, store.ErrDelegationInvalid):
		return "access.error.choice"
	case errors.Is(err, store.ErrDelegationExists):
		return "access.error.exists"
	case errors.Is(err, store.ErrGuardianship):
		return "access.error.guardianship"
	}
	return ""
}

// accessAccept accepts a grant given to the resident.
func (s *Handlers) accessAccept(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	if err := mb.AcceptGrant(r.Context(), mux.Vars(r)["id"]); err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.redirectAccess(w, r, doneAccepted)
}

// accessEnd ends a grant the resident gave or received.
func (s *Handlers) accessEnd(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	err := mb.EndGrant(r.Context(), mux.Vars(r)["id"])
	if errors.Is(err, store.ErrGuardianship) {
		l := s.web.Lang(r)
		s.renderAccess(w, r, mb, http.StatusUnprocessableEntity, grantForm{Access: string(store.AccessRead), Scope: string(store.ScopeAll)}, "", l.T("access.error.guardianship"))
		return
	} else if err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	s.redirectAccess(w, r, doneEnded)
}

// redirectAccess sends the browser back to the access page, which says
// what was done.
func (s *Handlers) redirectAccess(w http.ResponseWriter, r *http.Request, done string) {
	http.Redirect(w, r, s.pages.MustURL(routeAccess)+"?"+url.Values{"done": {done}}.Encode(), http.StatusSeeOther)
}
