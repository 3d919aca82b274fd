package resident

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// invoiceView is the invoice box of a structured letter: what to pay,
// where to and with which reference, each to copy into an online bank.
type invoiceView struct {
	Amount, Account, Reference, DueDate string
}

// actionView is one action a sender offers: a button that leaves
// Postkasse for an https address (URL, Host), an appointment with its
// calendar file (At, CalendarURL), or only its label and deadline.
type actionView struct {
	Label       string
	URL, Host   string
	Deadline    string
	At          string
	AtISO       string
	CalendarURL string
}

// structuredViews makes a letter's invoice box and actions in the
// language.
func (s *Handlers) structuredViews(lang *i18n.Lang, l store.Letter) (*invoiceView, []actionView) {
	var inv *invoiceView
	if i := l.Invoice; i != nil {
		inv = &invoiceView{Amount: lang.Money(i.Amount, i.Currency), Account: i.Account, Reference: i.PaymentReference}
		if i.DueDate != "" {
			inv.DueDate = lang.DateOnly(i.DueDate)
		}
	}
	var actions []actionView
	for n, a := range l.Actions {
		v := actionView{Label: a.Label}
		// The store let only https addresses in; checked again, as a
		// link is what a resident trusts the page for.
		if u, err := url.Parse(a.URL); err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil {
			v.URL, v.Host = u.String(), u.Hostname()
		}
		if a.Deadline != "" {
			v.Deadline = lang.T("structured.actions.deadline", "Date", lang.DateOnly(a.Deadline))
		}
		if t := a.Time(); !t.IsZero() {
			v.At, v.AtISO = lang.DateTime(t.In(s.loc)), t.UTC().Format(time.RFC3339)
			if a.Type == store.ActionAppointment {
				v.CalendarURL = s.pages.MustURL(routeLetterAppointment, "id", l.ID, "n", strconv.Itoa(n))
			}
		}
		actions = append(actions, v)
	}
	return inv, actions
}

// letterAppointment sends an appointment of a letter as an iCalendar file
// (RFC 5545) for the resident's calendar. Opening it is opening the
// letter. A letter without that appointment is a 404.
func (s *Handlers) letterAppointment(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	id := mux.Vars(r)["id"]
	n, ok := s.numberVar(w, r, resident)
	if !ok {
		return
	}
	l, err := mb.Letter(r.Context(), id)
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	if n >= len(l.Actions) || l.Actions[n].Type != store.ActionAppointment || l.Actions[n].Time().IsZero() {
		s.pages.ErrorPageFor(w, r, &resident, http.StatusNotFound)
		return
	}
	a := l.Actions[n]
	lang := s.web.Lang(r)
	ev := icsEvent{
		UID:         "letter-" + l.ID + "-action-" + strconv.Itoa(n) + "@postkasse",
		Stamp:       s.clock(),
		Start:       a.Time(),
		Summary:     a.Label,
		Description: lang.T("structured.ics.description", "Sender", l.SenderName),
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="appointment-`+strconv.Itoa(n+1)+`.ics"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, ev.calendar())
}
