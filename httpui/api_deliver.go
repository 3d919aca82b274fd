package httpui

import (
	"net/http"
	"time"

	"github.com/postkasse/postkasse/store"
)

// deliveryResponse is the answer to a delivery (API.md, "Deliver a
// letter").
type deliveryResponse struct {
	ID          string        `json:"id"`
	Status      string        `json:"status"`
	DeliveredAt time.Time     `json:"deliveredAt"`
	Receipt     store.Receipt `json:"receipt"`
}

// apiDeliver takes a letter: POST /api/v1/messages. It answers 201 only
// after the store has durably committed the letter; a repeat of a
// delivered senderReference with the same content answers 200 with the
// original result.
func (s *Server) apiDeliver(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	limits := s.store.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestSize(limits))
	d, err := parseDelivery(r, limits)
	if err != nil {
		s.web.WriteProblem(w, r, s.web.ProblemFor(r, err))
		return
	}
	res, err := s.store.Deliver(r.Context(), sender.ID, d)
	if err != nil {
		s.web.WriteProblem(w, r, s.web.ProblemFor(r, err))
		return
	}
	status := http.StatusCreated
	if res.Repeated {
		status = http.StatusOK
	}
	w.Header().Set("Location", s.mustURL(routeAPIStatus, "id", res.Letter.ID))
	s.web.WriteJSON(w, r, status, "application/json", deliveryResponse{
		ID: res.Letter.ID, Status: res.Letter.Status, DeliveredAt: res.Letter.DeliveredAt, Receipt: res.Receipt,
	})
}
