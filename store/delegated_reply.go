package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Replies on the grantor's behalf (issue 14): a delegate with a grant of
// access "act" that covers a letter taking replies replies to it from the
// grantor's mailbox (DelegatedMailbox.Reply). The reply is the grantor's:
// it is in their thread, sealed to the sender's reply key and its data key
// to the grantor's public keys (sealing needs no private key), with a
// third copy of the data key to the delegate (crypto.SealReplyOnBehalf),
// so that the delegate sees what they wrote (DelegatedMailbox.Thread). The
// record, the sender's "reply" event (writtenBy), the audit entry
// ("delegate-reply", in the grantor's activity) and the grantor's thread
// say who wrote it. The delegate's copy is removed when the grant ends
// (dropReplyCopies), as the letters' wrappings are.

// Reply writes a reply on the grantor's behalf to a covered letter that
// takes replies, and returns its id. A grant of read access is
// ErrDelegationReadOnly; a letter the grant does not cover (or an ended
// grant) ErrNotFound; a held letter ErrInaccessible; a letter that takes
// no replies ErrReplyNotAllowed; bad text or files as Mailbox.Reply.
// Nothing is stored on any error.
func (dm *DelegatedMailbox) Reply(ctx context.Context, letterID string, in ReplyInput) (string, error) {
	by := &onBehalf{grantorID: dm.grant.GrantorID}
	return dm.m.sealAndStore(ctx, letterID, in, func(tx storage.Tx) (*senderRecord, string, error) {
		d, rec, _, err := dm.letter(tx, letterID)
		if err != nil {
			return nil, "", err
		}
		if d.Access != storage.AccessAct {
			return nil, "", ErrDelegationReadOnly
		}
		sender, err := replyTarget(tx, rec)
		if err != nil {
			return nil, "", err
		}
		by.grant = d
		return sender, rec.SenderReference, nil
	}, by)
}

// Thread returns the replies to a covered letter that this delegate wrote
// on the grantor's behalf through this grant, opened with the delegate's
// copy of their key, oldest first (the grantor's own replies have no copy
// for the delegate). A letter the grant does not cover is ErrNotFound.
func (dm *DelegatedMailbox) Thread(ctx context.Context, letterID string) ([]ReplyView, error) {
	var out []ReplyView
	err := dm.m.s.view(ctx, func(tx storage.Tx) error {
		d, _, _, err := dm.letter(tx, letterID)
		if err != nil {
			return err
		}
		out = out[:0]
		return tx.Replies().ByLetter(letterID, func(r *storage.Reply) error {
			if r.WrittenBy != dm.m.resident.ID || r.DelegationID != d.ID || len(r.DelegateKey) == 0 {
				return nil
			}
			opened, err := dm.m.key.OpenReplyWithKey(r.Sealed, r.DelegateKey,
				crypto.ReplyBinding{ReplyID: r.ID, SenderID: r.SenderID, ResidentID: r.ResidentID, Delegate: dm.m.resident.ID})
			if err != nil {
				return fmt.Errorf("open reply %s as delegate: %w", r.ID, err)
			}
			v := ReplyView{ID: r.ID, Created: r.Created, Text: opened.Text, Answers: r.Answers}
			for i, a := range opened.Attachments {
				v.Attachments = append(v.Attachments, ReplyAttachmentInfo{Index: i, Name: a.Name, ContentType: a.ContentType, Size: len(a.Content)})
			}
			out = append(out, v)
			return nil
		})
	})
	return out, err
}

// dropReplyCopies deletes the copies of reply keys sealed to a grant's
// delegate from the grantor's replies, in tx.
func dropReplyCopies(tx storage.Tx, d *storage.Delegation) error {
	var drop []*storage.Reply
	if err := tx.Replies().ByResident(d.GrantorID, func(r *storage.Reply) error {
		if r.DelegationID == d.ID && len(r.DelegateKey) > 0 {
			drop = append(drop, r)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, r := range drop {
		r.DelegateKey = nil
		if err := tx.Replies().Put(r); err != nil {
			return err
		}
	}
	return nil
}

// writtenBy returns the name of the delegate who wrote a reply on the
// resident's behalf, "" for the resident's own (or a delegate whose
// account is gone).
func writtenBy(tx storage.Tx, r *storage.Reply, names map[string]string) string {
	if r.WrittenBy == "" {
		return ""
	}
	if n, ok := names[r.WrittenBy]; ok {
		return n
	}
	name := ""
	if res, err := getResident(tx, r.WrittenBy); err == nil {
		name = res.Name
	}
	names[r.WrittenBy] = name
	return name
}

// ReplyAttachment opens one attachment of a reply this delegate wrote on
// the grantor's behalf through this grant, with their copy of its key. A
// reply the grantor or another delegate wrote, to a letter the grant no
// longer covers, or no reply, is ErrNotFound.
func (dm *DelegatedMailbox) ReplyAttachment(ctx context.Context, replyID string, index int) (crypto.ReplyAttachment, error) {
	var out crypto.ReplyAttachment
	err := dm.m.s.view(ctx, func(tx storage.Tx) error {
		r, err := tx.Replies().Get(replyID)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("reply %s: %w", replyID, ErrNotFound)
		} else if err != nil {
			return err
		}
		if r.WrittenBy != dm.m.resident.ID || r.DelegationID != dm.grant.ID || len(r.DelegateKey) == 0 || r.LetterID == "" {
			return fmt.Errorf("reply %s: %w", replyID, ErrNotFound)
		}
		if _, _, _, err := dm.letter(tx, r.LetterID); err != nil {
			return err
		}
		opened, err := dm.m.key.OpenReplyWithKey(r.Sealed, r.DelegateKey,
			crypto.ReplyBinding{ReplyID: r.ID, SenderID: r.SenderID, ResidentID: r.ResidentID, Delegate: dm.m.resident.ID})
		if err != nil {
			return fmt.Errorf("open reply %s as delegate: %w", r.ID, err)
		}
		if index < 0 || index >= len(opened.Attachments) {
			return fmt.Errorf("reply %s attachment %d: %w", replyID, index, ErrNotFound)
		}
		out = opened.Attachments[index]
		return nil
	})
	return out, err
}
