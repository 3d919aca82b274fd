package resident

import (
	"errors"
	"net/http"

	"github.com/medama-io/go-useragent/agents"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// The sessions page (settings → sessions and devices) lists where the
// resident is signed in (store.Mailbox.Sessions) and ends one session or
// every other (store.Mailbox.EndSession, EndOtherSessions): a resident who
// sees a device that is not theirs signs it out, then changes the
// password. Sessions are named by their handles, never by anything of a
// cookie.

// sessionsView is the data of the sessions page.
type sessionsView struct {
	Sessions []sessionLine
	// Ended: one session was signed out; OthersEnded: every other was,
	// EndedCount of them; Gone: the session to sign out had ended
	// already (or was never the resident's).
	Ended       bool
	OthersEnded bool
	EndedCount  int
	Gone        bool
	// Others: a session other than this device's is listed.
	Others bool
}

// sessionLine is one session, for the list.
type sessionLine struct {
	Handle   string
	Device   string // "Firefox on Linux", in words
	Address  string // "" when unknown
	Started  string
	LastSeen string
	Current  bool
}

// sessionsPage lists the resident's sessions.
func (s *Handlers) sessionsPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	s.renderSessions(w, r, mb, http.StatusOK, sessionsView{})
}

// sessionsEnd signs out one of the resident's sessions, named by the
// form's handle. A handle that names none of theirs changes nothing and
// says the session has ended already: another resident's session is not
// told apart from one signed out before.
func (s *Handlers) sessionsEnd(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	err := mb.EndSession(r.Context(), r.PostForm.Get("session"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderSessions(w, r, mb, http.StatusNotFound, sessionsView{Gone: true})
	case errors.Is(err, store.ErrSessionExpired):
		// This device's own session ended meanwhile.
		clearSessionCookie(w, r)
		http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
	case err != nil:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
	default:
		s.renderSessions(w, r, mb, http.StatusOK, sessionsView{Ended: true})
	}
}

// sessionsEndOthers signs out every session of the resident but this
// device's.
func (s *Handlers) sessionsEndOthers(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	n, err := mb.EndOtherSessions(r.Context())
	switch {
	case errors.Is(err, store.ErrSessionExpired):
		clearSessionCookie(w, r)
		http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
	case err != nil:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
	default:
		s.renderSessions(w, r, mb, http.StatusOK, sessionsView{OthersEnded: true, EndedCount: n})
	}
}

// renderSessions renders the sessions page with v and the resident's
// sessions. A resident who signed this device out from its own line is
// sent to the sign-in page.
func (s *Handlers) renderSessions(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v sessionsView) {
	resident := mb.Resident()
	l := s.web.Lang(r)
	list, err := mb.Sessions(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	current := false
	for _, x := range list {
		current = current || x.Current
		v.Others = v.Others || !x.Current
		v.Sessions = append(v.Sessions, sessionLine{Handle: x.Handle, Device: s.deviceName(l, x.UserAgent), Address: x.Address,
			Started: l.DateTime(x.Created.In(s.loc)), LastSeen: l.DateTime(x.LastSeen.In(s.loc)), Current: x.Current})
	}
	if !current {
		clearSessionCookie(w, r)
		http.Redirect(w, r, s.pages.MustURL(routeLogin), http.StatusSeeOther)
		return
	}
	s.pages.Render(w, r, status, pageSessions, web.View{Title: l.T("sessions.title"), Resident: &resident, Data: v})
}

// deviceName says which browser on which system a User-Agent header
// names, in words ("Firefox on Linux"), as far as the parser
// (github.com/medama-io/go-useragent) can tell.
func (s *Handlers) deviceName(l *i18n.Lang, header string) string {
	if header == "" {
		return l.T("sessions.device.unknown")
	}
	ua := s.agents.Parse(header)
	browser, system := string(ua.Browser()), string(ua.OS())
	if ua.OS() == agents.OSMacOS {
		system = "macOS"
	}
	switch {
	case browser != "" && system != "":
		return l.T("sessions.device", "Browser", browser, "System", system)
	case browser != "":
		return browser
	case system != "":
		return l.T("sessions.device.onSystem", "System", system)
	}
	return l.T("sessions.device.unknown")
}
