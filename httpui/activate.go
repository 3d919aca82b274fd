package httpui

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/postkasse/postkasse/crypto"
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

// Messages of the activation page.
const (
	msgBadActivation = "The national identity number or the activation code is wrong, or the code has expired or was used already. " +
		"Check both against the letter with your code. If they are right and it still fails, ask the municipality for a new code: " +
		"if someone else has used yours, they will see it."
	msgPasswordsDiffer = "The two passwords are not the same. Type the same password in both fields."
)

const activateTitle = "Activate your mailbox"

// activatePage shows the activation form.
func (s *Server) activatePage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "activate", view{Title: activateTitle, Data: activateView{MinLength: store.MinPasswordLength}})
}

// activateSubmit activates a pending mailbox (store.Store.Activate) and
// shows the recovery key once. The attempt runs under the login throttle
// and the bound on password checks (checkPassword), like a login: a wrong
// code counts as a failure of the account and of the address, and costs
// the server the same Argon2id work.
func (s *Server) activateSubmit(w http.ResponseWriter, r *http.Request) {
	form := parseActivateForm(w, r)
	v := activateView{NationalID: form.NationalID, Code: form.Code, MinLength: store.MinPasswordLength, Errors: map[string]string{}}
	if form.NationalID == "" {
		v.Errors["nationalId"] = "Enter your national identity number."
	}
	if form.Code == "" {
		v.Errors["code"] = "Enter the activation code from your letter."
	}
	if form.Password == "" {
		v.Errors["password"] = fmt.Sprintf("Choose a password of at least %d characters.", store.MinPasswordLength)
	} else if form.Password != form.PasswordConfirm {
		v.Errors["passwordConfirm"] = msgPasswordsDiffer
	}
	if len(v.Errors) > 0 {
		s.renderActivate(w, r, http.StatusBadRequest, v)
		return
	}

	var rk crypto.RecoveryKey
	defer clear(rk[:])
	err := s.checkPassword(r.Context(), form.account(), clientAddress(r), func() error {
		var err error
		rk, err = s.store.Activate(form.NationalID, form.Code, form.Password)
		if errors.Is(err, store.ErrBadActivation) {
			// A wrong code is a wrong credential: checkPassword counts it
			// as a failure (errors.Is still finds ErrBadActivation).
			return fmt.Errorf("%w: %w", store.ErrBadCredentials, err)
		}
		return err
	})
	var throttled *throttledError
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", retryAfter(throttled.wait))
		v.Error, v.Throttled = "Too many failed attempts. Wait "+waitText(throttled.wait)+" before you try again.", true
		s.renderActivate(w, r, http.StatusTooManyRequests, v)
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", retryAfter(busyRetry))
		v.Error, v.Busy = msgBusy, true
		s.renderActivate(w, r, http.StatusServiceUnavailable, v)
	case errors.Is(err, store.ErrBadActivation):
		v.Error = msgBadActivation
		s.renderActivate(w, r, http.StatusUnauthorized, v)
	case errors.As(err, &invalid) && invalid.Field == "password":
		v.Errors["password"] = "Choose a password of " + invalid.Reason + "."
		s.renderActivate(w, r, http.StatusBadRequest, v)
	case err != nil:
		s.pageError(w, r, nil, err)
	default:
		// Shown once: the page must not stay in any cache (the
		// middleware says no-store for every page; this one depends on
		// it).
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, http.StatusOK, "activate", view{Title: "Your mailbox is activated", Data: activateView{
			RecoveryKey: formatRecoveryKey(rk),
		}})
	}
}

func (s *Server) renderActivate(w http.ResponseWriter, r *http.Request, status int, v activateView) {
	s.render(w, r, status, "activate", view{Title: activateTitle, Data: v})
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
