package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// EnrolmentGrace is how long a pending mailbox is kept after its
// activation code expired: the operator can still see it and give the
// resident a new code (EnrolResident again) before it goes.
const EnrolmentGrace = 30 * 24 * time.Hour

// DeleteExpiredEnrolments deletes the pending mailboxes whose activation
// code expired EnrolmentGrace ago or more, and returns how many. A
// pending mailbox holds a name, a number and the hash of a code that no
// longer works, and no key, letter or session: nothing is left of it,
// and the number may be enrolled afresh. Each is deleted in a
// transaction of its own that checks it again (a new code given
// meanwhile keeps it), and audited. The retention job calls it daily.
func (s *Store) DeleteExpiredEnrolments(ctx context.Context) (int, error) {
	now := s.now()
	expired := func(r *residentRecord) bool {
		return r.Status == ResidentPending && !now.Before(r.ActivationExpires.Add(EnrolmentGrace))
	}
	var ids []string
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Residents().All(func(r *residentRecord) error {
			if expired(r) {
				ids = append(ids, r.ID)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("expired enrolments: %w", err)
	}
	n := 0
	for _, id := range ids {
		deleted := false
		err := s.update(ctx, func(tx storage.Tx) error {
			deleted = false
			r, err := getResident(tx, id)
			if errors.Is(err, ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			if !expired(r) {
				return nil // a new code, or activated, meanwhile
			}
			if err := tx.Preferences().Delete(id); err != nil {
				return err
			}
			if err := tx.Residents().Delete(id); err != nil {
				return err
			}
			deleted = true
			return s.appendAudit(tx, now, "system", "delete-expired-enrolment", "resident:"+id)
		})
		if err != nil {
			return n, fmt.Errorf("delete the expired enrolment of resident %s: %w", id, err)
		}
		if deleted {
			n++
		}
	}
	return n, nil
}
