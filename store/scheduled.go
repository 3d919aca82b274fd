package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// Scheduled letters (API.md, "More message fields", notBefore).
//
// A delivery with a notBefore in the future is checked, sealed and stored
// like any other, in one transaction, with the record's ReleaseAt set:
// such a letter is in no index of the resident's mailbox (storage.Letters
// keeps it out of the mailbox, its folders, the unread and due counts), so
// no listing, count, search, export or retention rule of the resident sees
// it, and a direct request for it is ErrNotFound (Mailbox.open, own). It
// has no receipt and no "delivered" event, and no notification is queued:
// the audit log has a "schedule" entry. Its sender's status says
// "scheduled", with the time it will be delivered at.
//
// ReleaseScheduled, run every minute by the job "release" (package jobs),
// releases every letter whose time has come, each in the transaction of
// its batch: the "deliver" audit entry, the "delivered" event, the
// receipt, the letter into the mailbox's indexes and the notification,
// all as of the letter's notBefore (DeliveredAt) except the notification,
// which is sent when it is released. A run after a downtime releases
// what came due meanwhile; a crash before the commit leaves the letters
// scheduled for the next run, after it leaves them released.
//
// Until its release the sender may withdraw it (WithdrawScheduled): its
// record with the sealed data key and fields, and its sealed documents,
// are deleted as a resident's account deletion deletes letters; only the
// audit log's "schedule" and "withdraw" entries, which name the letter's
// id and its sender and nothing of its content, remain.

// releaseBatch is how many scheduled letters one transaction releases.
const releaseBatch = 200

// ReleaseScheduled releases the scheduled letters whose time has come,
// in transactions of up to releaseBatch letters, and returns how many it
// released. A letter to a resident whose status changed meanwhile
// (reserved, closed, deceased) is released all the same, as a letter
// delivered just before the change would be there; a deleted account's
// scheduled letters were deleted with it. A letter whose sender was
// revoked meanwhile, or whose resident's block of the sender has taken
// effect by then, is not released but deleted (audited), as a delivery
// would be refused.
func (s *Store) ReleaseScheduled(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.releaseSome(ctx, releaseBatch)
		total += n
		if err != nil || n < releaseBatch {
			return total, err
		}
	}
}

// releaseSome releases up to max of the letters due, in one transaction.
func (s *Store) releaseSome(ctx context.Context, max int) (int, error) {
	var n int
	err := s.update(ctx, func(tx storage.Tx) error {
		n = 0
		now := s.now()
		var ids []string
		if err := tx.Letters().Scheduled(now, func(id, _ string, _ time.Time) (bool, error) {
			ids = append(ids, id)
			return len(ids) < max, nil
		}); err != nil {
			return err
		}
		senders := map[string]*senderRecord{}
		for _, id := range ids {
			rec, err := tx.Letters().Get(id)
			if err != nil {
				return fmt.Errorf("scheduled letter %s: %w", id, err)
			}
			if !rec.IsScheduled() || rec.ReleaseAt.After(now) {
				continue
			}
			res, err := getResident(tx, rec.ResidentID)
			if err != nil {
				return fmt.Errorf("scheduled letter %s: %w", id, err)
			}
			snd, ok := senders[rec.SenderID]
			if !ok {
				if snd, err = getSender(tx, rec.SenderID); err != nil {
					return fmt.Errorf("scheduled letter %s: %w", id, err)
				}
				senders[rec.SenderID] = snd
			}
			// A sender revoked meanwhile delivers no more, and a block
			// that has taken effect by now refuses the letter as it would
			// refuse a delivery: it is not released but deleted.
			blocked, err := senderBlocked(tx, rec.ResidentID, rec.SenderID, now)
			if err != nil {
				return err
			}
			if snd.Revoked || blocked {
				if err := deleteLetter(tx, rec); err != nil {
					return err
				}
				why := "not-released (sender blocked)"
				if snd.Revoked {
					why = "not-released (sender revoked)"
				}
				if err := s.appendAudit(tx, now, "system", why, "letter:"+id); err != nil {
					return err
				}
				continue
			}
			rec.DeliveredAt, rec.ReleaseAt = rec.ReleaseAt, time.Time{}
			nid := NationalID{Country: res.Country, Number: res.NationalID}
			if _, err := s.completeDelivery(tx, rec, nid, snd.OrgNumber, now); err != nil {
				return fmt.Errorf("release letter %s: %w", id, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// WithdrawScheduled deletes a scheduled letter of the sender before its
// release, in one transaction: its record (with the sealed data key and
// fields) and its sealed documents, leaving no tombstone; the audit log
// gets a "withdraw" entry. The sender's reference is free again. Another
// sender's letter, or none, is ErrNotFound; a letter delivered, or whose
// time has come, is ErrNotScheduled.
func (s *Store) WithdrawScheduled(ctx context.Context, senderID, letterID string) error {
	return s.update(ctx, func(tx storage.Tx) error {
		now := s.now()
		rec, err := tx.Letters().Get(letterID)
		if errors.Is(err, ErrNotFound) {
			return s.withdrawPrint(tx, now, senderID, letterID)
		} else if err != nil {
			return fmt.Errorf("letter %s: %w", letterID, err)
		}
		if rec.SenderID != senderID {
			return fmt.Errorf("letter %s: %w", letterID, ErrNotFound)
		}
		if !rec.IsScheduled() || !rec.ReleaseAt.After(now) {
			return fmt.Errorf("letter %s: %w", letterID, ErrNotScheduled)
		}
		if err := held(rec); err != nil {
			return err // kept for the authority that holds it
		}
		if err := deleteLetter(tx, rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "sender:"+senderID, "withdraw", "letter:"+letterID)
	})
}

// withdrawPrint withdraws a letter scheduled for print (to a recipient
// who takes no digital post): its copy is deleted before it is queued.
func (s *Store) withdrawPrint(tx storage.Tx, now time.Time, senderID, letterID string) error {
	p, err := tx.Print().Get(letterID)
	if err != nil {
		return fmt.Errorf("letter %s: %w", letterID, err)
	}
	if p.SenderID != senderID {
		return fmt.Errorf("letter %s: %w", letterID, ErrNotFound)
	}
	if p.Reason != PrintNotDigital || !p.Waiting() || !p.WaitUntil.After(now) {
		return fmt.Errorf("letter %s: %w", letterID, ErrNotScheduled)
	}
	if err := tx.Print().Delete(letterID); err != nil {
		return err
	}
	return s.appendAudit(tx, now, "sender:"+senderID, "withdraw", "letter:"+letterID)
}

// scheduledOf returns a resident's scheduled letters, for the deletion of
// the account.
func scheduledOf(tx storage.Tx, residentID string) ([]*letterRecord, error) {
	var ids []string
	// Any release time: a letter is scheduled at most a year ahead.
	endOfTime := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	if err := tx.Letters().Scheduled(endOfTime, func(id, resident string, _ time.Time) (bool, error) {
		if resident == residentID {
			ids = append(ids, id)
		}
		return true, nil
	}); err != nil {
		return nil, err
	}
	out := make([]*letterRecord, 0, len(ids))
	for _, id := range ids {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return nil, fmt.Errorf("scheduled letter %s: %w", id, err)
		}
		out = append(out, rec)
	}
	return out, nil
}
