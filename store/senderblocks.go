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
// its letters are there, and the resident's block of it, if any.
type MailboxSender struct {
	Sender  Sender
	Letters int
	Block   *SenderBlock
}

// Senders returns every sender who has letters in the mailbox, by name,
// with the resident's blocks.
func (m *Mailbox) Senders(ctx context.Context) ([]MailboxSender, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	var out []MailboxSender
	err := m.s.view(ctx, func(tx storage.Tx) error {
		count := map[string]int{}
		if err := tx.Letters().MailboxAll(m.resident.ID, func(e storage.MailboxEntry) error {
			rec, err := tx.Letters().Get(e.LetterID)
			if err != nil {
				return err
			}
			if rec.Imported == nil { // a sender of another appliance cannot be blocked here
				count[rec.SenderID]++
			}
			return nil
		}); err != nil {
			return err
		}
		blocks, err := tx.SenderBlocks().Get(m.resident.ID)
		if err != nil {
			return err
		}
		for id, n := range count {
			snd, err := tx.Senders().Get(id)
			if err != nil {
				return err
			}
			ms := MailboxSender{Sender: senderOf(snd), Letters: n}
			if i := slices.IndexFunc(blocks, func(b SenderBlock) bool { return b.SenderID == id }); i >= 0 {
				b := blocks[i]
				ms.Block = &b
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

// hasLetterFrom reports whether a resident's mailbox holds a letter from
// the sender.
func hasLetterFrom(tx storage.Tx, residentID, senderID string) (bool, error) {
	found := errors.New("found")
	err := tx.Letters().MailboxAll(residentID, func(e storage.MailboxEntry) error {
		rec, err := tx.Letters().Get(e.LetterID)
		if err != nil {
			return err
		}
		if rec.SenderID == senderID {
			return found
		}
		return nil
	})
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
	return slices.ContainsFunc(blocks, func(b SenderBlock) bool { return b.SenderID == senderID && !now.Before(b.Effective) }), nil
}

// IsDigitalFor reports whether a letter from the sender to nid would be
// delivered digitally: the resident has an active mailbox and has not
// blocked the sender. What a sender's lookup answers.
func (s *Store) IsDigitalFor(ctx context.Context, senderID string, nid NationalID) (bool, error) {
	now := s.now()
	var digital bool
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := recipientFor(tx, nid, false)
		if errors.Is(err, ErrUnknownRecipient) || errors.Is(err, ErrRecipientNotDigital) {
			return nil
		} else if err != nil {
			return err
		}
		blocked, err := senderBlocked(tx, rec.ID, senderID, now)
		digital = !blocked
		return err
	})
	return digital, err
}
