package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/postkasse/postkasse/store/storage"
)

// ErrInaccessible: the operator has made the letter inaccessible under a
// legal obligation (DESIGN.md, "Policy"). The mailbox returns an
// *InaccessibleError wrapping it, with the hold to show.
var ErrInaccessible = errors.New("the letter has been made inaccessible")

// InaccessibleError says when, why and on whose order a letter was made
// inaccessible.
type InaccessibleError struct{ Hold LetterHold }

func (e *InaccessibleError) Error() string {
	return fmt.Sprintf("%v on %s: %s (order: %s)", ErrInaccessible, e.Hold.At.Format("2006-01-02"), e.Hold.Reason, e.Hold.Order)
}
func (e *InaccessibleError) Unwrap() error { return ErrInaccessible }

// MakeInaccessible makes a letter inaccessible to its resident under a
// legal obligation: the resident sees, where the letter was, that it was
// made inaccessible, when, why (reason) and on whose order (order); it
// opens nothing; it is not deleted (retention still applies). Audited.
// Doing it again replaces the reason and order.
func (s *Store) MakeInaccessible(ctx context.Context, letterID, reason, order string) (LetterHold, error) {
	reason, err := checkReason("reason", reason)
	if err != nil {
		return LetterHold{}, err
	}
	if order, err = checkReason("order", order); err != nil {
		return LetterHold{}, err
	}
	now := s.now()
	hold := LetterHold{At: now, Reason: reason, Order: order}
	err = s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(letterID)
		if err != nil {
			return fmt.Errorf("letter %s: %w", letterID, err)
		}
		if rec.IsTombstone() {
			return fmt.Errorf("letter %s was deleted by its resident: %w", letterID, ErrNotFound)
		}
		// The sender hears of it once, and not of a letter it has not
		// delivered yet (scheduled).
		if rec.Hold == nil && rec.InMailbox() {
			if err := appendEvent(tx, rec, EventMadeInaccessible, now); err != nil {
				return err
			}
		}
		rec.Hold = &hold
		if err := tx.Letters().Put(rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, operatorActor(ctx), "make-inaccessible", "letter:"+letterID)
	})
	return hold, err
}

// MakeAccessible lifts a letter's hold. Audited.
func (s *Store) MakeAccessible(ctx context.Context, letterID string) error {
	now := s.now()
	return s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(letterID)
		if err != nil {
			return fmt.Errorf("letter %s: %w", letterID, err)
		}
		if rec.Hold == nil {
			return fmt.Errorf("letter %s is not inaccessible: %w", letterID, ErrNotFound)
		}
		rec.Hold = nil
		if err := tx.Letters().Put(rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, operatorActor(ctx), "make-accessible", "letter:"+letterID)
	})
}

// held returns the hold of a letter as the mailbox's error, or nil.
func held(rec *letterRecord) error {
	if rec.Hold == nil {
		return nil
	}
	return &InaccessibleError{Hold: *rec.Hold}
}

// heldLine is the inbox line of a letter made inaccessible: where it was,
// without its subject.
func heldLine(rec *letterRecord) LetterSummary {
	hold := *rec.Hold
	return LetterSummary{ID: rec.ID, SenderID: rec.SenderID, Type: rec.Type, DeliveredAt: rec.DeliveredAt, ReadAt: rec.ReadAt, Hold: &hold}
}
