package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// A resident may refuse mail from a private sender, with seven days'
// notice (e-Boks' terms of use): the block is asked for now and takes
// effect a week later, so that a sender's letters on their way still
// arrive and the sender can turn to paper. Public authorities cannot be
// blocked: their letters have legal effect.

// SenderBlockNotice is how long after it is asked for a block takes effect.
const SenderBlockNotice = 7 * 24 * time.Hour

// ErrSenderBlocked: the recipient has blocked this (private) sender, and
// the block is in effect.
var ErrSenderBlocked = errors.New("the recipient has blocked this sender")

// ErrPublicSender: a public authority cannot be blocked.
var ErrPublicSender = errors.New("a public authority cannot be blocked")

// SenderBlock is a resident's block of a sender.
type SenderBlock = storage.SenderBlock

// MailboxSender is a sender who has written to the mailbox: how many of
// its letters are there, and the resident's block of it, if any, with
// whether that block is in effect yet.
type MailboxSender struct {
	Sender  Sender
	Letters int
	Block   *SenderBlock
	// Blocked: Block is in effect (its notice has run out): the sender's
	// lookups say not digital and its letters are refused.
	Blocked bool
}

// Senders returns every sender who has written to the mailbox, by name,
// with the number of its letters there and the resident's blocks, and
// every sender the resident has blocked. A sender whose letters the
// resident all deleted is listed with none: it wrote, and may be blocked.
func (m *Mailbox) Senders(ctx context.Context) ([]MailboxSender, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	now := m.s.now()
	var out []MailboxSender
	err := m.s.view(ctx, func(tx storage.Tx) error {
		count := map[string]int{}
		if err := tx.Letters().MailboxAll(m.resident.ID, func(e storage.MailboxEntry) error {
			rec, err := tx.Letters().Get(e.LetterID)
			if err != nil {
				return err
			}
			if rec.Imported == nil && rec.Own == nil { // a sender of another appliance cannot be blocked here, and an own document has none
				count[rec.SenderID]++
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Letters().Tombstones(m.resident.ID, func(id string) error {
			rec, err := tx.Letters().Get(id)
			if err != nil {
				return err
			}
			if _, ok := count[rec.SenderID]; !ok && rec.Imported == nil && rec.Own == nil {
				count[rec.SenderID] = 0 // wrote, but none of its letters is left
			}
			return nil
		}); err != nil {
			return err
		}
		blocks, err := tx.SenderBlocks().Get(m.resident.ID)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			if _, ok := count[b.SenderID]; !ok {
				count[b.SenderID] = 0
			}
		}
		for id, n := range count {
			snd, err := tx.Senders().Get(id)
			if err != nil {
				return err
			}
			ms := MailboxSender{Sender: senderOf(snd), Letters: n}
			if i := slices.IndexFunc(blocks, func(b SenderBlock) bool { return b.SenderID == id }); i >= 0 {
				b := blocks[i]
				ms.Block, ms.Blocked = &b, blockInEffect(b, now)
			}
			out = append(out, ms)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b MailboxSender) int {
		if a.Sender.Name != b.Sender.Name {
			if a.Sender.Name < b.Sender.Name {
				return -1
			}
			return 1
		}
		if a.Sender.ID < b.Sender.ID {
			return -1
		}
		return 1
	})
	return out, err
}

// BlockSender blocks a private sender who has written to the mailbox,
// effective SenderBlockNotice from now; asking again changes nothing.
// A public sender is ErrPublicSender; a sender without letters here is
// ErrNotFound. Audited.
func (m *Mailbox) BlockSender(ctx context.Context, senderID string) (SenderBlock, error) {
	if err := m.gate(); err != nil {
		return SenderBlock{}, err
	}
	now := m.s.now()
	var out SenderBlock
	err := m.s.update(ctx, func(tx storage.Tx) error {
		snd, err := tx.Senders().Get(senderID)
		if err != nil {
			return fmt.Errorf("sender %s: %w", senderID, err)
		}
		if snd.Kind == SenderPublic {
			return ErrPublicSender
		}
		if has, err := hasLetterFrom(tx, m.resident.ID, senderID); err != nil {
			return err
		} else if !has {
			return fmt.Errorf("sender %s has no letters in this mailbox: %w", senderID, ErrNotFound)
		}
		blocks, err := tx.SenderBlocks().Get(m.resident.ID)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(blocks, func(b SenderBlock) bool { return b.SenderID == senderID }); i >= 0 {
			out = blocks[i]
			return nil
		}
		out = SenderBlock{SenderID: senderID, Requested: now, Effective: now.Add(SenderBlockNotice)}
		if err := tx.SenderBlocks().Put(m.resident.ID, append(blocks, out)); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, "block-sender", "sender:"+senderID)
	})
	return out, err
}

// UnblockSender withdraws a block, before or after it took effect.
// Audited.
func (m *Mailbox) UnblockSender(ctx context.Context, senderID string) error {
	if err := m.gate(); err != nil {
		return err
	}
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		blocks, err := tx.SenderBlocks().Get(m.resident.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(blocks, func(b SenderBlock) bool { return b.SenderID == senderID })
		if i < 0 {
			return fmt.Errorf("sender %s is not blocked: %w", senderID, ErrNotFound)
		}
		if err := tx.SenderBlocks().Put(m.resident.ID, slices.Delete(blocks, i, i+1)); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, "unblock-sender", "sender:"+senderID)
	})
}

// hasLetterFrom reports whether the sender has written to a resident: a
// letter from it is in the mailbox, or was and was deleted.
func hasLetterFrom(tx storage.Tx, residentID, senderID string) (bool, error) {
	found := errors.New("found")
	from := func(id string) error {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		if rec.SenderID == senderID {
			return found
		}
		return nil
	}
	err := tx.Letters().MailboxAll(residentID, func(e storage.MailboxEntry) error { return from(e.LetterID) })
	if err == nil {
		err = tx.Letters().Tombstones(residentID, from)
	}
	if errors.Is(err, found) {
		return true, nil
	}
	return false, err
}

// senderBlocked reports whether the resident's block of the sender is in
// effect at now.
func senderBlocked(tx storage.Tx, residentID, senderID string, now time.Time) (bool, error) {
	blocks, err := tx.SenderBlocks().Get(residentID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(blocks, func(b SenderBlock) bool { return b.SenderID == senderID && blockInEffect(b, now) }), nil
}

// blockInEffect reports whether a block's notice has run out at now: from
// its Effective time on, it refuses the sender's letters.
func blockInEffect(b SenderBlock, now time.Time) bool { return !now.Before(b.Effective) }

// IsDigitalFor reports whether a letter from the sender to nid would be
// delivered digitally: the resident has an active mailbox and has not
// blocked the sender. What a sender's lookup answers.
func (s *Store) IsDigitalFor(ctx context.Context, senderID string, nid NationalID) (bool, error) {
	digital, err := s.IsDigitalForMany(ctx, senderID, []NationalID{nid})
	if err != nil {
		return false, err
	}
	return digital[0], nil
}

// MaxLookup is how many numbers one IsDigitalForMany may ask about (a
// sender's bulk lookup).
const MaxLookup = 1000

// IsDigitalForMany is IsDigitalFor of many numbers, in their order, in one
// transaction. More than MaxLookup is an InvalidError.
func (s *Store) IsDigitalForMany(ctx context.Context, senderID string, nids []NationalID) ([]bool, error) {
	if len(nids) > MaxLookup {
		return nil, invalid("nationalIds", "%d numbers; at most %d at once", len(nids), MaxLookup)
	}
	now := s.now()
	digital := make([]bool, len(nids))
	err := s.view(ctx, func(tx storage.Tx) error {
		for i, nid := range nids {
			rec, err := recipientFor(tx, nid, false)
			if errors.Is(err, ErrUnknownRecipient) || errors.Is(err, ErrRecipientNotDigital) {
				continue
			} else if err != nil {
				return err
			}
			blocked, err := senderBlocked(tx, rec.ID, senderID, now)
			if err != nil {
				return err
			}
			digital[i] = !blocked
		}
		return nil
	})
	return digital, err
}
