package control

import (
	"context"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/store"
)

// NewResetCode is a reset code for a resident who lost both the password
// and the recovery key (store.Store.IssueResetCode): shown once, only its
// hash is stored. With it the resident starts again with an empty
// mailbox in the browser; the operator never sees the new password or
// recovery key.
type NewResetCode struct {
	Resident  ResidentInfo `json:"resident"`
	ResetCode string       `json:"resetCode"`
	Expires   time.Time    `json:"expires"`
}

// IssueResetCode gives a new reset code for an active or reserved
// mailbox; the one issued before stops working.
func (o *Operator) IssueResetCode(ctx context.Context, req ResidentRef) (NewResetCode, error) {
	nid, err := store.ParseNationalID(req.NationalID)
	if err != nil {
		return NewResetCode{}, err
	}
	rc, err := o.Store.IssueResetCode(ctx, nid)
	if err != nil {
		return NewResetCode{}, err
	}
	return NewResetCode{Resident: residentInfo(rc.Resident), ResetCode: rc.Code, Expires: rc.Expires}, nil
}

// IssueResetCode implements Operations.
func (c *Client) IssueResetCode(ctx context.Context, req ResidentRef) (NewResetCode, error) {
	var out NewResetCode
	err := c.do(ctx, http.MethodPost, "/v1/residents/reset-code", req, &out)
	return out, err
}
