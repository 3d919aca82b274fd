package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// withdraw: DELETE /api/v1/messages/{id}. A scheduled letter of the
// sender is deleted before its release, with nothing of it left (store,
// WithdrawScheduled): 204. Another sender's letter is 404, the same as
// one that does not exist; a letter delivered (or whose time has come)
// is 409 NOT_SCHEDULED.
func (a *API) withdraw(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	if err := a.store.WithdrawScheduled(r.Context(), sender.ID, mux.Vars(r)["id"]); err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
