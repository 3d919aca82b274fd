package resident

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// The resident activates the mailbox the operator enrolled (store's
// EnrolResident, `postkasse resident add`): with the activation code from
// the operator's letter they choose a password, and are shown the
// recovery key once. The operator never learns either (DESIGN.md, "Key
// hierarchy").

// activateView is the data of the activation page: the form (with what
// the resident typed, never the passwords, and errors beside their
// fields), or after the activation the recovery key.
type activateView struct {
	NationalID string
	Code       string
	MinLength  int
	// Errors by field: nationalId, code, password, passwordConfirm.
	Errors map[string]string
	// Error is the alert above the form: a wrong or used code, too many
	// attempts, a busy server.
	Error     string
	Throttled bool
	Busy      bool
	// RecoveryKey is set once the mailbox is activated: the page shows it
	// and nothing else of the form.
	RecoveryKey string
}

// activatePage shows the activation form.
func (s *Handlers) activatePage(w http.ResponseWriter, r *http.Request) {
	s.pages.Render(w, r, http.StatusOK, pageActivate, web.View{Title: s.web.Lang(r).T("activate.title"), Data: activateView{MinLength: store.MinPasswordLength}})
}

// activateSubmit activates a pending mailbox (store.Store.Activate) and
// shows the recovery key once. The attempt runs under the login throttle
// and the bound on password checks (checkPassword), like a login: a wrong
// code counts as a failure of the account and of the address, and costs
// the server the same Argon2id work.
func (s *Handlers) activateSubmit(w http.ResponseWriter, r *http.Request) {
	form := parseActivateForm(w, r)
	l := s.web.Lang(r)
	v := activateView{NationalID: form.NationalID, Code: form.Code, MinLength: store.MinPasswordLength, Errors: map[string]string{}}
	if form.NationalID == "" {
		v.Errors["nationalId"] = l.T("activate.error.nationalId")
	}
	if form.Code == "" {
		v.Errors["code"] = l.T("activate.error.code")
	}
	if err := store.CheckPassword(form.Password); err != nil {
		v.Errors["password"] = newPasswordProblem(l, err, "activate.error.password")
	} else if form.Password != form.PasswordConfirm {
		v.Errors["passwordConfirm"] = l.T("activate.error.passwordsDiffer")
	}
	if len(v.Errors) > 0 {
		s.renderActivate(w, r, http.StatusBadRequest, v)
		return
	}

	var rk crypto.RecoveryKey
	defer clear(rk[:])
	err := s.checkPassword(r.Context(), form.account(), clientAddress(r), func() error {
		var err error
		rk, err = s.store.Activate(r.Context(), form.NationalID, form.Code, form.Password)
		if errors.Is(err, store.ErrBadActivation) {
			// A wrong code is a wrong credential: checkPassword counts it
			// as a failure (errors.Is still finds ErrBadActivation).
			return fmt.Errorf("%w: %w", store.ErrBadCredentials, err)
		}
		return err
	})
	if ref, ok := refusedCheck(w, l, err); ok {
		v.Error, v.Throttled, v.Busy = l.T("common.busy"), ref.Throttled, !ref.Throttled
		if ref.Throttled {
			v.Error = l.T("activate.error.throttled", "Wait", ref.Wait)
		}
		s.renderActivate(w, r, ref.Status, v)
		return
	}
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrBadActivation):
		v.Error = l.T("activate.error.bad")
		s.renderActivate(w, r, http.StatusUnauthorized, v)
	case errors.As(err, &invalid) && invalid.Field == "password":
		v.Errors["password"] = newPasswordProblem(l, err, "activate.error.password")
		s.renderActivate(w, r, http.StatusBadRequest, v)
	case err != nil:
		s.pages.PageError(w, r, nil, err)
	default:
		// Shown once: the page must not stay in any cache (the
		// middleware says no-store for every page; this one depends on
		// it).
		w.Header().Set("Cache-Control", "no-store")
		s.pages.Render(w, r, http.StatusOK, pageActivate, web.View{Title: l.T("activate.done.title"), Data: activateView{
			RecoveryKey: formatRecoveryKey(rk),
		}})
	}
}

// maxPasswordBytes is the store's longest password, in bytes.
const maxPasswordBytes = 1024

func (s *Handlers) renderActivate(w http.ResponseWriter, r *http.Request, status int, v activateView) {
	s.pages.Render(w, r, status, pageActivate, web.View{Title: s.web.Lang(r).T("activate.title"), Data: v})
}

// formatRecoveryKey writes a recovery key for a person to copy: 64 hex
// digits in eight groups of eight.
func formatRecoveryKey(rk crypto.RecoveryKey) string {
	h := hex.EncodeToString(rk[:])
	groups := make([]string, 0, len(h)/8)
	for i := 0; i < len(h); i += 8 {
		groups = append(groups, h[i:i+8])
	}
	return strings.Join(groups, "-")
}
