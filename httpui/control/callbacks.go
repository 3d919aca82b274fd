package control

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/postkasse/postkasse/store"
)

// CallbackRequest registers a sender's callback URL: the sender by its
// id or organisation number, and the URL.
type CallbackRequest struct {
	ID        string `json:"id,omitempty"`
	OrgNumber string `json:"orgNumber,omitempty"`
	URL       string `json:"url"`
}

// CallbackInfo is a sender's callback as the operator sees it
// (store.Callback).
type CallbackInfo struct {
	SenderID     string     `json:"senderId"`
	SenderName   string     `json:"senderName"`
	OrgNumber    string     `json:"orgNumber"`
	URL          string     `json:"url"`
	Set          time.Time  `json:"set"`
	State        string     `json:"state"` // ok, pending, retrying, given-up
	Queued       int        `json:"queued"`
	Delivered    string     `json:"delivered,omitempty"` // the feed's cursor of the last event acknowledged
	DeliveredAt  *time.Time `json:"deliveredAt,omitempty"`
	Attempts     int        `json:"attempts,omitempty"`
	FirstFailure *time.Time `json:"firstFailure,omitempty"`
	LastError    string     `json:"lastError,omitempty"`
	NextAttempt  *time.Time `json:"nextAttempt,omitempty"`
	GivenUp      *time.Time `json:"givenUp,omitempty"`
	ResumeAfter  string     `json:"resumeAfter,omitempty"` // given up: the feed's cursor the missed events follow
}

// CallbackRemoved says whether there was a callback to remove.
type CallbackRemoved struct {
	Removed bool `json:"removed"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (o *Operator) callbackInfo(ctx context.Context, cb store.Callback) (CallbackInfo, error) {
	s, err := o.Store.Sender(ctx, cb.SenderID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return CallbackInfo{}, err
	}
	out := CallbackInfo{SenderID: cb.SenderID, SenderName: s.Name, OrgNumber: s.OrgNumber, URL: cb.URL, Set: cb.Set,
		State: cb.State(), Queued: cb.Queued, DeliveredAt: timePtr(cb.DeliveredAt), Attempts: cb.Attempts,
		FirstFailure: timePtr(cb.FirstFailure), LastError: cb.LastError, NextAttempt: timePtr(cb.NextAttempt), GivenUp: timePtr(cb.GivenUp)}
	if cb.Delivered != 0 {
		out.Delivered = strconv.FormatUint(cb.Delivered, 10)
	}
	if cb.GivenUpFrom != 0 {
		out.ResumeAfter = strconv.FormatUint(cb.GivenUpFrom-1, 10)
	}
	return out, nil
}

// SetCallback registers a sender's callback URL, checked as the API
// checks it (CheckCallback): the operator's way for a sender whose
// systems cannot call the API for it.
func (o *Operator) SetCallback(ctx context.Context, req CallbackRequest) (CallbackInfo, error) {
	id, err := o.senderID(SenderRef{ID: req.ID, OrgNumber: req.OrgNumber})
	if err != nil {
		return CallbackInfo{}, err
	}
	if o.CheckCallback != nil {
		if err := o.CheckCallback(ctx, req.URL); err != nil {
			return CallbackInfo{}, err
		}
	}
	cb, err := o.Store.SetCallback(ctx, id, req.URL, o.CallbackPolicy, false)
	if err != nil {
		return CallbackInfo{}, err
	}
	return o.callbackInfo(ctx, cb)
}

// RemoveCallback removes a sender's callback; the events stay in its
// feed.
func (o *Operator) RemoveCallback(ctx context.Context, ref SenderRef) (CallbackRemoved, error) {
	id, err := o.senderID(ref)
	if err != nil {
		return CallbackRemoved{}, err
	}
	had, err := o.Store.RemoveCallback(ctx, id, false)
	return CallbackRemoved{Removed: had}, err
}

// Callbacks lists every sender's callback with how its delivery goes.
func (o *Operator) Callbacks(ctx context.Context) ([]CallbackInfo, error) {
	cbs, err := o.Store.Callbacks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CallbackInfo, 0, len(cbs))
	for _, cb := range cbs {
		info, err := o.callbackInfo(ctx, cb)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// SetCallback implements Operations.
func (c *Client) SetCallback(ctx context.Context, req CallbackRequest) (CallbackInfo, error) {
	var out CallbackInfo
	err := c.do(ctx, http.MethodPost, "/v1/callbacks", req, &out)
	return out, err
}

// RemoveCallback implements Operations.
func (c *Client) RemoveCallback(ctx context.Context, ref SenderRef) (CallbackRemoved, error) {
	var out CallbackRemoved
	err := c.do(ctx, http.MethodPost, "/v1/callbacks/remove", ref, &out)
	return out, err
}

// Callbacks implements Operations.
func (c *Client) Callbacks(ctx context.Context) ([]CallbackInfo, error) {
	var out []CallbackInfo
	err := c.do(ctx, http.MethodGet, "/v1/callbacks", nil, &out)
	return out, err
}
