package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// residentRecord is a resident as the engine stores it
// (storage.Resident). While pending (activation.go) it has the hash of
// the activation code and when the code expires, and no keys.
type residentRecord = storage.Resident

func residentOf(r *residentRecord) Resident {
	out := Resident{
		ID:         r.ID,
		NationalID: NationalID{Country: r.Country, Number: r.NationalID},
		Name:       r.Name,
		Status:     r.Status,
		Created:    r.Created,
		LastLogin:  r.LastLogin,

		ActivationExpires: r.ActivationExpires,
		Blocked:           r.BlockedReason,
		BlockedAt:         r.BlockedAt,
		HasPassword:       len(r.PasswordWrap) > 0,
	}
	copy(out.PublicKey[:], r.PublicKey)
	return out
}

// AddResident enrols a resident and activates the mailbox at once with
// the given password: EnrolResident followed by Activate, for the demo and
// for tests. The caller learns the password and the recovery key, which
// open every letter of the resident, in the database and in every backup:
// never use it for production enrolment, where the operator must not hold
// either (use EnrolResident and let the resident activate the mailbox).
//
// The number, name and password are checked first, and a number that has
// a resident (a pending one too) is ErrExists, so a refused call changes
// nothing. The recovery key is returned once; it is not stored.
func (s *Store) AddResident(ctx context.Context, nid NationalID, name, password string) (Resident, crypto.RecoveryKey, error) {
	if err := checkEnrolment(nid, normaliseSpaces(name)); err != nil {
		return Resident{}, crypto.RecoveryKey{}, err
	}
	if err := CheckPassword(password, name, nid.Number); err != nil {
		return Resident{}, crypto.RecoveryKey{}, err
	}
	var exists bool
	if err := s.view(ctx, func(tx storage.Tx) error {
		_, err := tx.Residents().ByNationalID(nid.Number)
		exists = err == nil
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}); err != nil {
		return Resident{}, crypto.RecoveryKey{}, err
	}
	if exists {
		return Resident{}, crypto.RecoveryKey{}, fmt.Errorf("resident %s: %w", nid, ErrExists)
	}
	r, code, err := s.EnrolResident(ctx, nid, name)
	if err != nil {
		return Resident{}, crypto.RecoveryKey{}, err
	}
	rk, err := s.Activate(ctx, nid.String(), code, password)
	if err != nil {
		return Resident{}, crypto.RecoveryKey{}, fmt.Errorf("activate resident %s: %w", r.ID, err)
	}
	if r, err = s.Resident(ctx, r.ID); err != nil {
		clear(rk[:])
		return Resident{}, crypto.RecoveryKey{}, err
	}
	return r, rk, nil
}

func getResident(tx storage.Tx, id string) (*residentRecord, error) {
	rec, err := tx.Residents().Get(id)
	if err != nil {
		return nil, fmt.Errorf("resident %s: %w", id, err)
	}
	return rec, nil
}

func getResidentByNID(tx storage.Tx, nid NationalID) (*residentRecord, error) {
	return tx.Residents().ByNationalID(nid.Number)
}

// Resident returns the resident with the given id.
func (s *Store) Resident(ctx context.Context, id string) (Resident, error) {
	var out Resident
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := getResident(tx, id)
		if err != nil {
			return err
		}
		out = residentOf(rec)
		return nil
	})
	return out, err
}

// ResidentByNationalID returns the resident with the given number.
func (s *Store) ResidentByNationalID(ctx context.Context, nid NationalID) (Resident, error) {
	var out Resident
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := getResidentByNID(tx, nid)
		if err != nil {
			return fmt.Errorf("resident %s: %w", nid, err)
		}
		out = residentOf(rec)
		return nil
	})
	return out, err
}

// Residents returns all residents, ordered by national identity number.
func (s *Store) Residents(ctx context.Context) ([]Resident, error) {
	var out []Resident
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Residents().All(func(rec *residentRecord) error {
			out = append(out, residentOf(rec))
			return nil
		})
	})
	return out, err
}

// IsDigital reports whether the person takes digital post here: false when
// there is no mailbox, or it is pending, reserved, closed or deceased. This is the
// sender API's recipient lookup.
func (s *Store) IsDigital(ctx context.Context, nid NationalID) (bool, error) {
	var digital bool
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := getResidentByNID(tx, nid)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		digital = rec.Status == ResidentActive
		return nil
	})
	return digital, err
}

// recipientFor returns the active resident a letter to nid goes to; with
// reserved, a resident who opted out of digital post too (the answer to
// their own request).
func recipientFor(tx storage.Tx, nid NationalID, reserved bool) (*residentRecord, error) {
	rec, err := getResidentByNID(tx, nid)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnknownRecipient
	} else if err != nil {
		return nil, err
	}
	if rec.Status != ResidentActive && !(reserved && rec.Status == ResidentReserved) {
		return nil, ErrRecipientNotDigital
	}
	return rec, nil
}

// residentByText returns the resident with the national identity number a
// person typed (at login, at activation). Text that is no valid number and
// a number that names nobody are both ErrNotFound: the caller refuses them
// alike, so that neither tells anything about who has a mailbox.
func (s *Store) residentByText(ctx context.Context, nationalID string) (*residentRecord, error) {
	nid, err := ParseNationalID(nationalID)
	if err != nil {
		return nil, ErrNotFound
	}
	var rec *residentRecord
	err = s.view(ctx, func(tx storage.Tx) error {
		var err error
		rec, err = getResidentByNID(tx, nid)
		return err
	})
	return rec, err
}
