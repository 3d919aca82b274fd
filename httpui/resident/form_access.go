package resident

import (
	"net/http"
	"strings"
	"time"

	"github.com/postkasse/postkasse/store"
)

// grantForm is the form that gives another resident access to the
// mailbox (POST /settings/access), as written, to show it again.
type grantForm struct {
	NationalID, Access, Scope, Until string
}

// parseGrantForm reads the form. It only parses: the store checks the
// rules.
func parseGrantForm(w http.ResponseWriter, r *http.Request) grantForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	f := r.PostForm
	return grantForm{NationalID: strings.TrimSpace(f.Get("nationalId")), Access: f.Get("access"), Scope: f.Get("scope"),
		Until: strings.TrimSpace(f.Get("until"))}
}

// request turns the form into the store's request; ok is false when the
// last day is no date YYYY-MM-DD (a browser's date field sends that).
func (f grantForm) request() (store.GrantRequest, bool) {
	req := store.GrantRequest{DelegateNationalID: f.NationalID, Access: store.DelegationAccess(f.Access), Scope: store.DelegationScope(f.Scope)}
	if f.Until != "" {
		day, err := time.Parse(time.DateOnly, f.Until)
		if err != nil {
			return req, false
		}
		req.Until = day
	}
	return req, true
}

// parseActForm reads what a delegate does to a letter
// (POST /mailboxes/{grant}/letters/{id}/act): "read", "unread",
// "archive" or "inbox".
func parseActForm(w http.ResponseWriter, r *http.Request) string {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	_ = r.ParseForm()
	return r.PostForm.Get("act")
}
