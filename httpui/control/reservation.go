package control

import (
	"context"
	"net/http"

	"github.com/postkasse/postkasse/store"
)

// Reservation (opting out of digital post) made in person, at the citizen
// service: the operator records it with `postkasse resident reserve`, and
// an opt-in again with `postkasse resident unreserve`. The resident can
// do either on the settings page too. The store audits both.

// ReserveResident records an opt-out of digital post: lookups then say
// not digital and deliveries are refused; the letters the resident has
// stay readable, and they still sign in.
func (o *Operator) ReserveResident(ctx context.Context, req ResidentRef) (ResidentInfo, error) {
	nid, err := store.ParseNationalID(req.NationalID)
	if err != nil {
		return ResidentInfo{}, err
	}
	r, err := o.Store.ReserveResident(ctx, nid)
	if err != nil {
		return ResidentInfo{}, err
	}
	return residentInfo(r), nil
}

// UnreserveResident records an opt-in to digital post again.
func (o *Operator) UnreserveResident(ctx context.Context, req ResidentRef) (ResidentInfo, error) {
	nid, err := store.ParseNationalID(req.NationalID)
	if err != nil {
		return ResidentInfo{}, err
	}
	r, err := o.Store.UnreserveResident(ctx, nid)
	if err != nil {
		return ResidentInfo{}, err
	}
	return residentInfo(r), nil
}

// ReserveResident implements Operations.
func (c *Client) ReserveResident(ctx context.Context, req ResidentRef) (ResidentInfo, error) {
	var out ResidentInfo
	err := c.do(ctx, http.MethodPost, "/v1/residents/reserve", req, &out)
	return out, err
}

// UnreserveResident implements Operations.
func (c *Client) UnreserveResident(ctx context.Context, req ResidentRef) (ResidentInfo, error) {
	var out ResidentInfo
	err := c.do(ctx, http.MethodPost, "/v1/residents/unreserve", req, &out)
	return out, err
}
