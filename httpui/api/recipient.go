package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// recipientResponse is the answer to a recipient lookup (API.md, "Look up
// a recipient").
type recipientResponse struct {
	NationalID string `json:"nationalId"`
	Digital    bool   `json:"digital"`
}

// recipient: GET /api/v1/recipients/{nationalId}. It says whether a
// letter from this sender to that person can be delivered here (not when
// the person has blocked the sender); an invalid number is 400.
func (a *API) recipient(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	nid, err := store.ParseNationalID(mux.Vars(r)["nationalId"])
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, &store.InvalidError{Field: "nationalId", Reason: err.Error()}))
		return
	}
	digital, err := a.store.IsDigitalFor(r.Context(), sender.ID, nid)
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", recipientResponse{NationalID: nid.Number, Digital: digital})
}
