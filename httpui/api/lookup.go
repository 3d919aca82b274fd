package api

import (
	"fmt"
	"io"
	"net/http"

	"github.com/postkasse/postkasse/store"
)

// lookupRequest is the body of a bulk lookup (API.md, "Look up many
// recipients").
type lookupRequest struct {
	NationalIDs []string `json:"nationalIds"`
}

// lookupResponse answers it, in the order asked.
type lookupResponse struct {
	Recipients []recipientResponse `json:"recipients"`
}

// lookupCost is how many of the sender's rate-limit tokens a bulk lookup
// of n numbers takes: one per ten numbers (a single lookup takes one), so
// that a sender cannot look up a thousand times as many people as its
// rate allows.
func lookupCost(n int) int { return (n + 9) / 10 }

// maxLookupBody bounds a bulk lookup's body: MaxLookup numbers of a few
// dozen characters each, quoted, with room for white space.
const maxLookupBody = store.MaxLookup * 64

// lookup: POST /api/v1/recipients/lookup. It answers for each number what
// the single lookup would, in one transaction. The body is strict: one
// JSON object with nationalIds only, 1 to store.MaxLookup numbers, each
// valid; the first fault is a 400 naming it by its place in the list
// (not by the number, which is a personal datum).
func (a *API) lookup(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	req, err := readLookup(w, r)
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	if !a.charge(w, r, sender, lookupCost(len(req.NationalIDs))-1) {
		return
	}
	nids := make([]store.NationalID, len(req.NationalIDs))
	for i, s := range req.NationalIDs {
		if nids[i], err = store.ParseNationalID(s); err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, &store.InvalidError{Field: fmt.Sprintf("nationalIds[%d]", i), Reason: err.Error()}))
			return
		}
	}
	digital, err := a.store.IsDigitalForMany(r.Context(), sender.ID, nids)
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	resp := lookupResponse{Recipients: make([]recipientResponse, len(nids))}
	for i, nid := range nids {
		resp.Recipients[i] = recipientResponse{NationalID: nid.Number, Digital: digital[i]}
	}
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", resp)
}

// readLookup reads and checks a bulk lookup's body.
func readLookup(w http.ResponseWriter, r *http.Request) (*lookupRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLookupBody)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err, "body", "reading: %v", err)
	}
	var req lookupRequest
	if err := decodeStrict(raw, &req, "body"); err != nil {
		return nil, err
	}
	switch n := len(req.NationalIDs); {
	case req.NationalIDs == nil || n == 0:
		return nil, invalidf("nationalIds", "missing or empty")
	case n > store.MaxLookup:
		return nil, invalidf("nationalIds", "%d numbers; at most %d at once", n, store.MaxLookup)
	}
	return &req, nil
}
