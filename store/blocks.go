package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store/storage"
)

// ErrBlocked: the operator has blocked access to the account (e-Boks'
// terms of use, section 4.7). Login returns a *BlockedError wrapping it,
// with the reason to show, only to whoever gave the right password.
var ErrBlocked = errors.New("access to the mailbox is blocked")

// BlockedError says why and since when an account is blocked.
type BlockedError struct {
	Reason string
	Since  time.Time
}

func (e *BlockedError) Error() string { return ErrBlocked.Error() + ": " + e.Reason }
func (e *BlockedError) Unwrap() error { return ErrBlocked }

// maxBlockReason bounds a block's reason: a sentence or two.
const maxBlockReason = 500

// checkReason checks a reason or order text the operator gives: one
// line of printable text.
func checkReason(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalid(field, "empty")
	case len(s) > maxBlockReason:
		return "", invalid(field, "%d bytes, at most %d", len(s), maxBlockReason)
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return "", invalid(field, "not one line of printable text")
	}
	return s, nil
}

// BlockResident blocks access to a resident's account: every session ends
// at once and sign-in is refused with the reason (ErrBlocked) until
// UnblockResident. Letters are still delivered to the mailbox. Audited.
// Blocking again replaces the reason.
func (s *Store) BlockResident(ctx context.Context, nid NationalID, reason string) (Resident, error) {
	reason, err := checkReason("reason", reason)
	if err != nil {
		return Resident{}, err
	}
	return s.setBlock(ctx, nid, reason)
}

// UnblockResident lifts a block. Audited.
func (s *Store) UnblockResident(ctx context.Context, nid NationalID) (Resident, error) {
	return s.setBlock(ctx, nid, "")
}

func (s *Store) setBlock(ctx context.Context, nid NationalID, reason string) (Resident, error) {
	now := s.now()
	var out Resident
	err := s.update(ctx, func(tx storage.Tx) error {
		res, err := getResidentByNID(tx, nid)
		if err != nil {
			return fmt.Errorf("resident %s: %w", nid, err)
		}
		if res.Status == ResidentDeleted {
			return fmt.Errorf("resident %s: the account was deleted: %w", nid, ErrNotFound)
		}
		action := "block"
		if reason == "" {
			if res.BlockedReason == "" {
				return fmt.Errorf("resident %s: not blocked: %w", nid, ErrNotFound)
			}
			action = "unblock"
			res.BlockedAt = time.Time{}
		} else {
			res.BlockedAt = now
			if err := deleteSessionsOf(tx, res.ID); err != nil {
				return err
			}
		}
		res.BlockedReason = reason
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		out = residentOf(res)
		return s.appendAudit(tx, now, operatorActor(ctx), action, "resident:"+res.ID)
	})
	return out, err
}

// blocked returns the block of a resident's record, or nil.
func blocked(rec *residentRecord) error {
	if rec.BlockedReason == "" {
		return nil
	}
	return &BlockedError{Reason: rec.BlockedReason, Since: rec.BlockedAt}
}
