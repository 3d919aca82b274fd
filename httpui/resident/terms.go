package resident

import (
	"errors"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// termsView is the data of the terms page.
type termsView struct {
	// Terms is the version shown: the one to accept when Pending, else
	// the one in force. Zero (Version 0) before any is in force.
	Terms store.Terms
	// Effective is the date it took effect, in words ("1 March 2027",
	// "1. marts 2027").
	Effective string
	// Pending: the resident must accept Terms before using the mailbox.
	Pending bool
	// Changed: the resident accepted a version that is not the one in
	// force (any more); Terms is the newer one.
	Changed bool
	// Accepted is when the resident accepted the version shown, in words;
	// "" when pending or never.
	Accepted string
	// Public: nobody is signed in; the page shows the terms in force.
	Public bool
}

// termsGateOpen are the routes a resident with pending terms may use:
// the terms themselves, deleting the mailbox instead of accepting, and
// signing other devices out (a resident who fears misuse need not accept
// first). (Logout and static files need no session, so the gate never
// sees them.)
var termsGateOpen = map[string]bool{
	routeTerms: true, routeTermsAccept: true, routeDeleteMailbox: true, routeDeleteMailboxSubmit: true,
	routeSessions: true, routeSessionsEnd: true, routeSessionsEndOthers: true,
}

// termsGate sends a resident who has not accepted the terms of use in
// force to the terms page, from every route but those of termsGateOpen
// (DESIGN.md, "Policy": after the effective date the resident accepts to
// go on). It reports whether it answered the request.
func (s *Handlers) termsGate(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) bool {
	if termsGateOpen[web.RouteName(r)] {
		return false
	}
	_, pending, err := mb.PendingTerms(r.Context())
	if err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return true
	}
	if pending {
		http.Redirect(w, r, s.pages.MustURL(routeTerms), http.StatusSeeOther)
		return true
	}
	return false
}

// terms serves /terms, which every page's footer links: a signed-in
// resident's terms page (termsPage), or the terms in force to anyone else,
// who may read them before activating a mailbox.
func (s *Handlers) terms() http.Handler {
	signedIn := s.withMailbox(s.termsPage)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sessionToken(r) != "" {
			signedIn.ServeHTTP(w, r)
			return
		}
		l := s.web.Lang(r)
		terms, err := s.store.CurrentTerms(r.Context())
		if errors.Is(err, store.ErrNotFound) {
			terms, err = store.Terms{}, nil
		}
		if err != nil {
			s.pages.PageError(w, r, nil, err)
			return
		}
		v := termsView{Terms: terms, Public: true, Effective: l.DateOnly(terms.EffectiveDate)}
		s.pages.Render(w, r, http.StatusOK, pageTerms, web.View{Title: l.T("terms.title"), Data: v})
	})
}

// termsPage shows the terms of use in full: the version to accept, with
// the choice of accepting it or deleting the mailbox, or else the version
// in force.
func (s *Handlers) termsPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderTerms(w, r, mb, http.StatusOK, false)
}

// termsAccept records the resident's acceptance of the version the form
// showed. When that is no longer the version in force, the page shows the
// new one to accept instead.
func (s *Handlers) termsAccept(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	form := parseTermsForm(w, r)
	err := mb.AcceptTerms(r.Context(), form.Version)
	switch {
	case errors.Is(err, store.ErrTermsOutdated):
		s.renderTerms(w, r, mb, http.StatusConflict, true)
	case err != nil:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
	default:
		http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
	}
}

// renderTerms renders the terms page; changed says the resident tried to
// accept another version than the one shown now.
func (s *Handlers) renderTerms(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, changed bool) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	terms, pending, err := mb.PendingTerms(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	v := termsView{Terms: terms, Pending: pending, Changed: changed && pending}
	if !pending {
		if changed {
			// Nothing to accept (any more): the mailbox is open.
			http.Redirect(w, r, s.pages.MustURL(routeInbox), http.StatusSeeOther)
			return
		}
		v.Terms, err = s.store.CurrentTerms(r.Context())
		if errors.Is(err, store.ErrNotFound) {
			v.Terms, err = store.Terms{}, nil
		}
		if err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
		version, at, err := s.store.TermsAccepted(r.Context(), resident.ID)
		if err != nil {
			s.pages.PageError(w, r, &resident, err)
			return
		}
		if v.Terms.Version > 0 && version >= v.Terms.Version {
			v.Accepted = s.longDate(l, at)
		}
	}
	v.Effective = l.DateOnly(v.Terms.EffectiveDate)
	title := l.T("terms.title")
	if pending {
		title = l.T("terms.new.title")
	}
	s.pages.Render(w, r, status, pageTerms, web.View{Title: title, Resident: &resident, Data: v})
}

// longDate writes the date of t, in the appliance's time zone, in words
// in the language l.
func (s *Handlers) longDate(l *i18n.Lang, t time.Time) string { return l.Date(t.In(s.loc)) }
