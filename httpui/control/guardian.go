package control

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/store"
)

// Guardianship (a guardian, or a lasting power of attorney, appointed by
// a court's or an authority's decision): the operator records it with
// `postkasse resident guardian add` and ends it with `… remove`. It is a
// grant of access "act" to all of the ward's post (store, delegation.go):
// new letters are readable to the guardian at once, earlier ones once the
// ward next signs in. The store audits both as the operator's.

// GuardianRequest names a ward and a guardian by national identity
// number.
type GuardianRequest struct {
	Ward     string `json:"ward"`
	Guardian string `json:"guardian"`
	// Until is the last day, YYYY-MM-DD in the appliance's time zone;
	// empty for until removed. Only for add.
	Until string `json:"until,omitempty"`
	// Decision names the court's or authority's decision (its case
	// number); kept with the grant. Only for add.
	Decision string `json:"decision,omitempty"`
}

// GuardianInfo is a recorded guardianship.
type GuardianInfo struct {
	ID           string     `json:"id"`
	WardName     string     `json:"wardName"`
	GuardianName string     `json:"guardianName"`
	Until        *time.Time `json:"until,omitempty"`
	// EarlierLetters is false until the ward signs in and the letters
	// from before are made readable to the guardian.
	EarlierLetters bool `json:"earlierLetters"`
}

// maxDecision is the longest decision reference.
const maxDecision = 200

func (o *Operator) guardianNIDs(req GuardianRequest) (ward, guardian store.NationalID, err error) {
	if ward, err = store.ParseNationalID(req.Ward); err != nil {
		return ward, guardian, fmt.Errorf("ward: %w", err)
	}
	if guardian, err = store.ParseNationalID(req.Guardian); err != nil {
		return ward, guardian, fmt.Errorf("guardian: %w", err)
	}
	return ward, guardian, nil
}

// AddGuardian records a guardianship.
func (o *Operator) AddGuardian(ctx context.Context, req GuardianRequest) (GuardianInfo, error) {
	ward, guardian, err := o.guardianNIDs(req)
	if err != nil {
		return GuardianInfo{}, err
	}
	if len(req.Decision) > maxDecision {
		return GuardianInfo{}, fmt.Errorf("%w: decision: at most %d bytes", ErrBadRequest, maxDecision)
	}
	var until time.Time
	if req.Until != "" {
		if until, err = o.parseDate("until", req.Until); err != nil {
			return GuardianInfo{}, err
		}
	}
	g, err := o.Store.AddGuardianship(ctx, ward, guardian, until, req.Decision)
	if err != nil {
		return GuardianInfo{}, err
	}
	info := GuardianInfo{ID: g.ID, WardName: g.GrantorName, GuardianName: g.DelegateName, EarlierLetters: !g.Covered.IsZero()}
	if !g.Until.IsZero() {
		info.Until = &g.Until
	}
	return info, nil
}

// RemoveGuardian ends a guardianship: the guardian's copies of the
// ward's data keys are deleted at once.
func (o *Operator) RemoveGuardian(ctx context.Context, req GuardianRequest) (GuardianInfo, error) {
	ward, guardian, err := o.guardianNIDs(req)
	if err != nil {
		return GuardianInfo{}, err
	}
	return GuardianInfo{}, o.Store.RemoveGuardianship(ctx, ward, guardian)
}

// AddGuardian implements Operations.
func (c *Client) AddGuardian(ctx context.Context, req GuardianRequest) (GuardianInfo, error) {
	var out GuardianInfo
	err := c.do(ctx, http.MethodPost, "/v1/residents/guardian", req, &out)
	return out, err
}

// RemoveGuardian implements Operations.
func (c *Client) RemoveGuardian(ctx context.Context, req GuardianRequest) (GuardianInfo, error) {
	var out GuardianInfo
	err := c.do(ctx, http.MethodPost, "/v1/residents/guardian/remove", req, &out)
	return out, err
}
