package api

import (
	"net/http"
	"time"

	"github.com/postkasse/postkasse/store"
)

// deliveryResponse is the answer to a delivery (API.md, "Deliver a
// letter"). A scheduled letter has no receipt yet: it is issued at the
// release, and a repeat of the delivery then answers with it.
type deliveryResponse struct {
	ID          string         `json:"id"`
	Status      string         `json:"status"`
	DeliveredAt time.Time      `json:"deliveredAt,omitzero"` // none for a letter to print
	Receipt     *store.Receipt `json:"receipt,omitempty"`
}

// deliver takes a letter: POST /api/v1/messages. It answers 201 only
// after the store has durably committed the letter; a repeat of a
// delivered senderReference with the same content answers 200 with the
// original result.
func (a *API) deliver(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	limits := a.store.Limits()
	release, ok := a.holdBody(w, r, maxRequestSize(limits))
	if !ok {
		return
	}
	defer release()
	// The documents are sealed as their parts stream in (store.Documents);
	// whatever is not delivered is discarded.
	ds, err := a.store.NewDocuments()
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	defer ds.Discard()
	d, err := parseDelivery(r, limits, func(doc store.DocumentInput) error { return ds.Add(r.Context(), doc) })
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	res, err := a.store.DeliverDocuments(r.Context(), sender.ID, d, ds)
	a.answerDelivery(w, r, res, err)
}

// deliverLetter delivers a parsed letter and answers as API.md "Deliver a
// letter" says: the one path of every way a sender delivers (POST
// /api/v1/messages, POST /api/v1/memo).
func (a *API) deliverLetter(w http.ResponseWriter, r *http.Request, sender store.Sender, d store.Delivery) {
	res, err := a.store.Deliver(r.Context(), sender.ID, d)
	a.answerDelivery(w, r, res, err)
}

// answerDelivery answers a delivery's result (deliverLetter).
func (a *API) answerDelivery(w http.ResponseWriter, r *http.Request, res store.DeliveryResult, err error) {
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	status := http.StatusCreated
	if res.Repeated {
		status = http.StatusOK
	}
	w.Header().Set("Location", a.mustURL(routeStatus, "id", res.Letter.ID))
	resp := deliveryResponse{ID: res.Letter.ID, Status: res.Letter.Status, DeliveredAt: res.Letter.DeliveredAt}
	if len(res.Receipt.Payload) > 0 {
		resp.Receipt = &res.Receipt
	}
	a.web.WriteJSON(w, r, status, "application/json", resp)
}
