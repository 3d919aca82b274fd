package resident

import (
	"errors"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
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
	// Language is the resident's language (the page's), Languages the
	// choices; LanguageSaved: the choice was just stored.
	Language      string
	Languages     []web.LangLink
	LanguageSaved bool
	// Inactivity is the inactivity rule as it stands for the resident;
	// nil when it does not apply.
	Inactivity *inactivityView
	// Reserved: the resident opted out of digital post; DigitalSaved: the
	// choice was just changed.
	Reserved     bool
	DigitalSaved bool
}

// inactivityView is the inactivity rule in words.
type inactivityView struct {
	DeleteAt string // "22 November 2031", "22. november 2031"
	Period   string // "5 years", "5 år"
	Warnings string // "30 days and 7 days", "30 dage og 7 dage"; "" when none
	Notified bool   // the resident has chosen a channel the warnings go to
}

// savedNotifications and savedLanguage are the queries that say the
// preferences or the language were saved.
const (
	savedNotifications = "saved=notifications"
	savedLanguage      = "saved=language"
	savedDigital       = "saved=digital"
)

// settingsPage shows the resident's settings: notification preferences
// and the inactivity rule.
func (s *Handlers) settingsPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	prefs, err := mb.NotificationPreferences(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	q := r.URL.Query().Get("saved")
	s.renderSettings(w, r, mb, http.StatusOK, settingsView{Prefs: prefs, Saved: "saved="+q == savedNotifications, LanguageSaved: "saved="+q == savedLanguage,
		DigitalSaved: "saved="+q == savedDigital})
}

// settingsDigital opts the resident out of digital post or back in
// (store.Mailbox.Reserve, Unreserve): Denmark's fritagelse, Norway's
// reservasjon. Their letters stay, and they still sign in.
func (s *Handlers) settingsDigital(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	var err error
	switch r.PostForm.Get("digital") {
	case "out":
		err = mb.Reserve(r.Context())
	case "in":
		err = mb.Unreserve(r.Context())
	default:
		http.Redirect(w, r, s.pages.MustURL(routeSettings), http.StatusSeeOther)
		return
	}
	if err != nil {
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	http.Redirect(w, r, s.pages.MustURL(routeSettings)+"?"+savedDigital, http.StatusSeeOther)
}

// settingsNotifications stores the notification preferences. A refused
// address is shown next to its field, with what was entered.
func (s *Handlers) settingsNotifications(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	prefs := parseNotificationsForm(w, r)
	_, err := mb.SetNotificationPreferences(r.Context(), prefs)
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &invalid) && (invalid.Field == "email" || invalid.Field == "phone"):
		v := settingsView{Prefs: prefs, Errors: map[string]string{invalid.Field: fieldMessage(s.web.Lang(r), invalid.Field, prefs)}}
		s.renderSettings(w, r, mb, http.StatusUnprocessableEntity, v)
	case err != nil:
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
	default:
		http.Redirect(w, r, s.pages.MustURL(routeSettings)+"?"+savedNotifications, http.StatusSeeOther)
	}
}

// settingsLanguage stores the resident's language for pages, e-mails and
// SMS (store.Mailbox.SetLanguage) and remembers it in the browser too.
func (s *Handlers) settingsLanguage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	code := parseLanguageForm(w, r)
	if err := mb.SetLanguage(r.Context(), code); err != nil {
		var invalid *store.InvalidError
		if errors.As(err, &invalid) {
			// Not one of the choices the form offers: show them again.
			http.Redirect(w, r, s.pages.MustURL(routeSettings), http.StatusSeeOther)
			return
		}
		resident := mb.Resident()
		s.pages.PageError(w, r, &resident, err)
		return
	}
	web.RememberLanguage(w, r, code)
	http.Redirect(w, r, s.pages.MustURL(routeSettings)+"?"+savedLanguage, http.StatusSeeOther)
}

// fieldMessage says what is wrong with a refused field and how to put it
// right, in the language l.
func fieldMessage(l *i18n.Lang, field string, p store.NotificationPreferences) string {
	switch {
	case field == "email" && p.Email == "":
		return l.T("settings.error.emailMissing")
	case field == "email":
		return l.T("settings.error.email")
	case p.Phone == "":
		return l.T("settings.error.phoneMissing")
	default:
		return l.T("settings.error.phone")
	}
}

func (s *Handlers) renderSettings(w http.ResponseWriter, r *http.Request, mb *store.Mailbox, status int, v settingsView) {
	resident := mb.Resident()
	st, err := mb.InactivityStatus(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	l := s.web.Lang(r)
	if st.Applies {
		iv := &inactivityView{DeleteAt: s.longDate(l, st.DeleteAt), Period: periodText(l, st.Period), Notified: len(v.Prefs.Channels()) > 0}
		var leads []string
		for _, p := range st.Warnings {
			leads = append(leads, periodText(l, p))
		}
		iv.Warnings = joinAnd(l, leads)
		v.Inactivity = iv
	}
	v.Language, v.Languages = l.Code, s.pages.LanguageLinks(r)
	v.Reserved = resident.Status == store.ResidentReserved
	s.pages.Render(w, r, status, pageSettings, web.View{Title: l.T("settings.title"), Resident: &resident, Data: v})
}

// periodText writes a period in words in the language l: "5 years",
// "15 months", "1 year and 6 months", "30 days".
func periodText(l *i18n.Lang, p store.Period) string {
	var parts []string
	for _, u := range []struct {
		n  int
		id string
	}{{p.Years, "period.years"}, {p.Months, "period.months"}, {p.Days, "period.days"}} {
		if u.n > 0 {
			parts = append(parts, l.T(u.id, "Count", u.n))
		}
	}
	if len(parts) == 0 {
		return l.T("period.none")
	}
	return joinAnd(l, parts)
}

// joinAnd joins words as a list in prose: "a", "a and b", "a, b and c"
// ("a, b og c").
func joinAnd(l *i18n.Lang, words []string) string {
	switch n := len(words); n {
	case 0:
		return ""
	case 1:
		return words[0]
	default:
		return l.T("list.pair", "First", strings.Join(words[:n-1], l.T("list.comma")), "Last", words[n-1])
	}
}
