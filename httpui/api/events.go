package api

import (
	"net/http"
	"strconv"

	"github.com/postkasse/postkasse/store"
)

// eventJSON is one event of a sender's feed (API.md, "Events and
// callbacks"), as a callback's body has it too.
type eventJSON = store.EventJSON

// eventsResponse is a page of the feed and the cursor to ask with next
// (the one given when the page is empty: ask again later).
type eventsResponse struct {
	Events []eventJSON `json:"events"`
	Next   string      `json:"next"`
}

// defaultEventsLimit is a page of the feed when the sender names none.
const defaultEventsLimit = 100

// events: GET /api/v1/events?after=CURSOR&limit=N. The sender's own
// events only, oldest first; a bad cursor or limit is 400.
func (a *API) events(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	q := r.URL.Query()
	limit := defaultEventsLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, &store.InvalidError{Field: "limit", Reason: "not a number: 1 to 1000"}))
			return
		}
		limit = n
	}
	evs, next, err := a.store.Events(r.Context(), sender.ID, q.Get("after"), limit)
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	resp := eventsResponse{Events: make([]eventJSON, 0, len(evs)), Next: next}
	for _, e := range evs {
		resp.Events = append(resp.Events, store.EventJSONOf(e))
	}
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", resp)
}
