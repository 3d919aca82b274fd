package store

import (
	"context"
	"fmt"

	"github.com/postkasse/postkasse/store/storage"
)

// Reservation is opting out of digital post (Denmark's "fritagelse",
// Norway's "reservasjon"): a reserved resident's lookups say not digital
// and deliveries are refused (ErrRecipientNotDigital) until they opt in
// again; the mail they have stays readable and they still sign in.

// Reserve opts the mailbox's owner out of digital post. Audited.
func (m *Mailbox) Reserve(ctx context.Context) error {
	_, err := m.s.setReserved(ctx, NationalID{}, m.resident.ID, true, "resident:"+m.resident.ID)
	return err
}

// Unreserve opts the mailbox's owner back in. Audited.
func (m *Mailbox) Unreserve(ctx context.Context) error {
	_, err := m.s.setReserved(ctx, NationalID{}, m.resident.ID, false, "resident:"+m.resident.ID)
	return err
}

// ReserveResident records an opt-out the resident made in person, at the
// citizen service: the operator's `postkasse resident reserve`. It
// returns the resident as now recorded; one already reserved stays so.
// Only an active or reserved mailbox can be reserved: a pending one
// takes no digital post until its resident activates it, and a deceased
// or deleted one none at all (InvalidError, field "status"). Audited.
func (s *Store) ReserveResident(ctx context.Context, nid NationalID) (Resident, error) {
	return s.setReserved(ctx, nid, "", true, operatorActor(ctx))
}

// UnreserveResident records an opt-in made in person, like
// ReserveResident. Audited.
func (s *Store) UnreserveResident(ctx context.Context, nid NationalID) (Resident, error) {
	return s.setReserved(ctx, nid, "", false, operatorActor(ctx))
}

// setReserved moves a resident, named by national id or by id, between
// active and reserved, and returns it as recorded.
func (s *Store) setReserved(ctx context.Context, nid NationalID, residentID string, reserved bool, actor string) (Resident, error) {
	now := s.now()
	var out Resident
	err := s.update(ctx, func(tx storage.Tx) error {
		var res *residentRecord
		var err error
		if residentID != "" {
			res, err = getResident(tx, residentID)
		} else {
			res, err = getResidentByNID(tx, nid)
		}
		if err != nil {
			return fmt.Errorf("resident %s%s: %w", nid.Number, residentID, err)
		}
		from, to, action := ResidentActive, ResidentReserved, "reserve"
		if !reserved {
			from, to, action = ResidentReserved, ResidentActive, "unreserve"
		}
		switch res.Status {
		case to:
			out = residentOf(res)
			return nil // already so
		case from:
		default:
			return invalid("status", "a %s mailbox cannot be %sd", res.Status, action)
		}
		res.Status = to
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		out = residentOf(res)
		return s.appendAudit(tx, now, actor, action, "resident:"+res.ID)
	})
	return out, err
}
