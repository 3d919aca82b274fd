package httpui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/postkasse/postkasse/store"
)

// settingsView is the data of the settings page.
type settingsView struct {
	// Prefs are the notification preferences: as stored, or as the
	// resident entered them when they were refused.
	Prefs store.NotificationPreferences
	// Errors are messages about the fields "email" and "phone".
	Errors map[string]string
	// Saved: the preferences were just stored.
	Saved bool
	// Inactivity is the inactivity rule as it stands for the resident;
	// nil when it does not apply.
	Inactivity *inactivityView
}

// inactivityView is the inactivity rule in words.
type inactivityView struct {
	DeleteAt string // "22 November 2031"
	Period   string // "5 years"
	Warnings string // "30 days and 7 days"; "" when none
	Notified bool   // the resident has chosen a channel the warnings go to
}

// savedNotifications is the query that says the preferences were saved.
const savedNotifications = "saved=notifications"

// settingsPage shows the resident's settings: notification preferences
// and the inactivity rule.
func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	prefs, err := mb.NotificationPreferences()
	if err != nil {
		s.pageError(w, r, &resident, err)
		return
	}
	s.renderSettings(w, r, mb, http.StatusOK, settingsView{Prefs: prefs, Saved: r.URL.RawQuery == savedNotifications})
}

// settingsNotifications stores the notification preferences. A refused
// address is shown next to its field, with what was entered.
func (s *Server) settingsNotifications(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	prefs := parseNotificationsForm(w, r)
	_, err := mb.SetNotificationPreferences(prefs)
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &invalid) && (invalid.Field == "email" || invalid.Field == "phone"):
		v := settingsView{Prefs: prefs, Errors: map[string]string{invalid.Field: fieldMessage(invalid.Field, prefs)}}
		s.renderSettings(w, r, mb, http.StatusUnprocessableEntity, v)
	case err != nil:
		resident := mb.Resident()
		s.pageError(w, r, &resident, err)
	default:
		http.Redirect(w, r, s.mustURL(routeSettings)+"?"+savedNotifications, http.StatusSeeOther)
	}
}

// fieldMessage says what is wrong with a refused field and how to put it
// right.
func fieldMessage(field string, p store.NotificationPreferences) string {
	switch {
	case field == "email" && p.Email == "":
		return "Enter an e-mail address to be notified by e-mail, or turn e-mail off."
	case field == "email":
		return "Enter an e-mail address in the form name@example.dk."
	case p.Phone == "":
		return "Enter a mobile number to be notified by SMS, or turn SMS off."
	default:
		return "Enter a mobile number with its country code, such as +45 12 34 56 78."
	}
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v settingsView) {
	resident := mb.Resident()
	st, err := mb.InactivityStatus()
	if err != nil {
		s.pageError(w, r, &resident, err)
		return
	}
	if st.Applies {
		iv := &inactivityView{DeleteAt: s.longDate(st.DeleteAt), Period: periodText(st.Period), Notified: len(v.Prefs.Channels()) > 0}
		var leads []string
		for _, p := range st.Warnings {
			leads = append(leads, periodText(p))
		}
		iv.Warnings = joinAnd(leads)
		v.Inactivity = iv
	}
	s.render(w, r, status, "settings", view{Title: "Settings", Resident: &resident, Data: v})
}

// periodText writes a period in words: "5 years", "15 months",
// "1 year and 6 months", "30 days".
func periodText(p store.Period) string {
	var parts []string
	for _, u := range []struct {
		n          int
		one, other string
	}{{p.Years, "year", "years"}, {p.Months, "month", "months"}, {p.Days, "day", "days"}} {
		switch {
		case u.n == 1:
			parts = append(parts, "1 "+u.one)
		case u.n > 1:
			parts = append(parts, strconv.Itoa(u.n)+" "+u.other)
		}
	}
	if len(parts) == 0 {
		return "no time"
	}
	return joinAnd(parts)
}

// joinAnd joins words as a list in prose: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	switch n := len(words); n {
	case 0:
		return ""
	case 1:
		return words[0]
	default:
		return strings.Join(words[:n-1], ", ") + " and " + words[n-1]
	}
}
