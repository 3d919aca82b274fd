package resident

import (
	"net/http"
	"strings"
)

// activateForm is the activation form as sent. It only parses; the store
// checks the code and the password.
type activateForm struct {
	NationalID      string
	Code            string
	Password        string
	PasswordConfirm string
}

func parseActivateForm(w http.ResponseWriter, r *http.Request) activateForm {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	// A body over the limit or malformed leaves the fields empty, which
	// the page asks the resident to fill in.
	_ = r.ParseForm()
	return activateForm{
		NationalID:      strings.TrimSpace(r.PostForm.Get("nationalId")),
		Code:            strings.TrimSpace(r.PostForm.Get("code")),
		Password:        r.PostForm.Get("password"),
		PasswordConfirm: r.PostForm.Get("passwordConfirm"),
	}
}

// account is the key the form's attempts are counted under in the login
// throttle: the same as a login's for the number, so wrong activation
// codes and wrong passwords for one person share one limit.
func (f activateForm) account() string {
	return loginForm{NationalID: f.NationalID}.account()
}
