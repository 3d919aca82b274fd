package resident

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/postkasse/postkasse/store"
)

// The forms of the terms and settings pages. They only parse; the store
// checks the values. A body over maxFormSize or malformed leaves the
// fields empty, which the store then refuses like any bad value.

// termsForm is the acceptance of one version of the terms of use.
type termsForm struct {
	Version int // 0 when missing or not a number: never the version in force
}

func parseTermsForm(w http.ResponseWriter, r *http.Request) termsForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	v, err := strconv.Atoi(r.PostForm.Get("version"))
	if err != nil || v < 0 {
		v = 0
	}
	return termsForm{Version: v}
}

// notificationsForm is the notification preferences as sent. A checkbox
// is on when it is sent at all.
func parseNotificationsForm(w http.ResponseWriter, r *http.Request) store.NotificationPreferences {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return store.NotificationPreferences{
		Email:   strings.TrimSpace(r.PostForm.Get("email")),
		EmailOn: r.PostForm.Has("emailOn"),
		Phone:   strings.TrimSpace(r.PostForm.Get("phone")),
		SMSOn:   r.PostForm.Has("smsOn"),
	}
}

// deleteMailboxForm is the confirmation of deleting the mailbox.
type deleteMailboxForm struct {
	Password string
}

func parseDeleteMailboxForm(w http.ResponseWriter, r *http.Request) deleteMailboxForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return deleteMailboxForm{Password: r.PostForm.Get("password")}
}

// parseLanguageForm returns the language chosen on the settings page.
func parseLanguageForm(w http.ResponseWriter, r *http.Request) string {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return strings.TrimSpace(r.PostForm.Get("lang"))
}
