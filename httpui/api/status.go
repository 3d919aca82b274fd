package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/store"
)

// statusResponse is a letter's status for its sender (API.md, "Status of a
// letter"). ReadAt is null while the letter is unread.
type statusResponse struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	DeliveredAt time.Time  `json:"deliveredAt,omitzero"` // none for a letter to print
	ReadAt      *time.Time `json:"readAt"`
}

// status: GET /api/v1/messages/{id}. Another sender's letter is 404,
// the same as one that does not exist.
func (a *API) status(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	st, err := a.store.LetterStatus(r.Context(), sender.ID, mux.Vars(r)["id"])
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	resp := statusResponse{ID: st.ID, Status: st.Status, DeliveredAt: st.DeliveredAt}
	if !st.ReadAt.IsZero() {
		resp.ReadAt = &st.ReadAt
	}
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", resp)
}
