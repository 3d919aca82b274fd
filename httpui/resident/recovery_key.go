package resident

import (
	"net/http"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// A sign-in that gave the resident's key pair its ML-KEM-768 half
// (store.Store.Login) had to replace the recovery wrapping, and with it
// the recovery key: the old one stops working. The new one is in
// store.Session.NewRecoveryKey, and the answer to that sign-in is the page
// that shows it, once, before the inbox. It is rendered straight into the
// answer to the login form, so the key is never kept on the server, in a
// cookie or in a URL; the page is no-store like every page, and the key
// is never logged.

// newRecoveryKeyView is the data of the page with the new recovery key.
type newRecoveryKeyView struct {
	RecoveryKey string
	// Recovered: the key replaces the one just used to recover the
	// mailbox (recover.go), not one the upgrade replaced.
	Recovered bool
	// Requested: the resident asked for a new key (recovery_request.go).
	Requested bool
	// Created: the mailbox was just made with eID; Reset: it was just
	// reset with eID (eid.go).
	Created, Reset bool
}

// newRecoveryKeyPage shows the recovery key rk that the sign-in of the
// session token made, with a link on to the mailbox. The page is in the
// resident's saved language unless the browser chose one.
func (s *Handlers) newRecoveryKeyPage(w http.ResponseWriter, r *http.Request, token string, rk *crypto.RecoveryKey) {
	s.recoveryKeyPage(w, r, token, rk, false)
}

// recoveryKeyPage is newRecoveryKeyPage, saying why there is a new key.
func (s *Handlers) recoveryKeyPage(w http.ResponseWriter, r *http.Request, token string, rk *crypto.RecoveryKey, recovered bool) {
	defer clear(rk[:])
	var resident *store.Resident
	if mb, err := s.store.OpenSession(r.Context(), token); err == nil {
		res := mb.Resident()
		resident = &res
		s.web.UseSavedLanguage(r, mb.Language())
		mb.Close()
	}
	s.renderRecoveryKey(w, r, resident, newRecoveryKeyView{RecoveryKey: formatRecoveryKey(*rk), Recovered: recovered})
}

// renderRecoveryKey renders the page that shows a new recovery key once.
func (s *Handlers) renderRecoveryKey(w http.ResponseWriter, r *http.Request, resident *store.Resident, v newRecoveryKeyView) {
	// Shown once: the page must not stay in any cache (the middleware
	// says no-store for every page; this one depends on it).
	w.Header().Set("Cache-Control", "no-store")
	s.pages.Render(w, r, http.StatusOK, pageRecoveryKey, web.View{Title: s.web.Lang(r).T("recovery.new.title"), Resident: resident, Data: v})
}
