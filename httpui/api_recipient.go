package httpui

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

// apiRecipient: GET /api/v1/recipients/{nationalId}. It says whether a
// letter from this sender to that person can be delivered here (not when
// the person has blocked the sender); an invalid number is 400.
func (s *Server) apiRecipient(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	nid, err := store.ParseNationalID(mux.Vars(r)["nationalId"])
	if err != nil {
		s.web.WriteProblem(w, r, s.web.ProblemFor(r, &store.InvalidError{Field: "nationalId", Reason: err.Error()}))
		return
	}
	digital, err := s.store.IsDigitalFor(r.Context(), sender.ID, nid)
	if err != nil {
		s.web.WriteProblem(w, r, s.web.ProblemFor(r, err))
		return
	}
	s.web.WriteJSON(w, r, http.StatusOK, "application/json", recipientResponse{NationalID: nid.Number, Digital: digital})
}
