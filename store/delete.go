package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// Deleting a letter is crypto-shredding (DESIGN.md, "Keys"): in one
// transaction every wrapping of its data key (today the one sealed to the
// resident), its sealed subject, body and file names, its sealed listing
// and its sealed documents go, and with them its place in the mailbox
// and its folder. What is left is the letter's tombstone
// (storage.Letter.IsTombstone): the record with only the clear facts its
// sender already has (ids, senderReference, type, content hash, times,
// the signed receipt) and when it was deleted. The tombstone lets the
// sender see "deleted" in the letter's status and keeps the
// senderReference taken, so that a repeated delivery returns the original
// result rather than a new letter. It goes with the account.
//
// A letter the operator made inaccessible is not deleted: the hold is an
// act under a legal obligation whose scope the appliance does not know
// (it may be an order to keep the letter), so DeleteLetters refuses with
// the hold (*InaccessibleError) until the operator lifts it; retention
// deletes it like any other.

// MaxDeleteLetters is the most letters one DeleteLetters may delete: a
// page of the mailbox and then some, so one transaction stays small.
const MaxDeleteLetters = 500

// deletable returns the records of the letters ids names, each once, in
// the order first named, after the checks DeleteLetters makes: at least
// one and at most MaxDeleteLetters, every one a letter of this mailbox
// (another resident's, an unknown id or one already deleted is
// ErrNotFound) that is not held (*InaccessibleError).
func (m *Mailbox) deletable(tx storage.Tx, ids []string) ([]*letterRecord, error) {
	var unique []string
	for _, id := range ids {
		if !slices.Contains(unique, id) {
			unique = append(unique, id)
		}
	}
	switch {
	case len(unique) == 0:
		return nil, invalid("id", "no letter chosen")
	case len(unique) > MaxDeleteLetters:
		return nil, invalid("id", "%d letters: at most %d at once", len(unique), MaxDeleteLetters)
	}
	out := make([]*letterRecord, 0, len(unique))
	for _, id := range unique {
		rec, err := m.own(tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// LettersToDelete returns the summaries of the letters ids names (each
// once), for the resident to confirm that they are to be deleted. It
// refuses what DeleteLetters would refuse, with the same error, and
// changes nothing: a letter listed here is not marked read.
func (m *Mailbox) LettersToDelete(ctx context.Context, ids []string) ([]LetterSummary, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	lk, err := m.listingKey()
	if err != nil {
		return nil, err
	}
	var out []LetterSummary
	err = m.s.view(ctx, func(tx storage.Tx) error {
		recs, err := m.deletable(tx, ids)
		if err != nil {
			return err
		}
		out = make([]LetterSummary, 0, len(recs))
		senders := map[string]*senderRecord{}
		for _, rec := range recs {
			sum, _, err := m.pageLine(tx, lk, rec.ID, senders)
			if err != nil {
				return err
			}
			out = append(out, sum)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteLetters deletes letters of the mailbox for good, all or none, in
// one transaction: each leaves only its tombstone (see above), its sender
// gets a "deleted" event, and the audit log a "delete-letter" entry. An
// id that is not a letter of this mailbox is ErrNotFound and a held
// letter *InaccessibleError; then nothing is deleted. On the cluster
// engine the sealed documents' objects are deleted once the transaction
// has committed (storage.Documents.Delete).
func (m *Mailbox) DeleteLetters(ctx context.Context, ids []string) error {
	if err := m.gate(); err != nil {
		return err
	}
	actor := "resident:" + m.resident.ID
	return m.s.update(ctx, func(tx storage.Tx) error {
		now := m.s.now()
		recs, err := m.deletable(tx, ids)
		if err != nil {
			return err
		}
		if err := m.forgetInIndex(tx, ids); err != nil {
			return fmt.Errorf("take the letters out of the search index: %w", err)
		}
		for _, rec := range recs {
			if err := shredLetter(tx, rec, now); err != nil {
				return fmt.Errorf("delete letter %s: %w", rec.ID, err)
			}
			if err := appendEvent(tx, rec, EventDeleted, now); err != nil {
				return err
			}
			if err := m.s.appendAudit(tx, now, actor, "delete-letter", "letter:"+rec.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// shredLetter deletes a letter's sealed documents, its replies (and a copy of it
// waiting to be printed if unread) and replaces its record with its
// tombstone, within tx.
func shredLetter(tx storage.Tx, rec *letterRecord, now time.Time) error {
	if err := tx.Documents().Delete(rec.ID, len(rec.Documents)); err != nil {
		return err
	}
	if err := deleteReplies(tx, rec.ID); err != nil {
		return err
	}
	if err := cancelUnreadPrint(tx, rec.ID); err != nil {
		return err
	}
	return tx.Letters().Put(tombstone(rec, now))
}

// tombstone is what stays of a letter deleted at the time given: the
// facts its sender knows (and, for an imported letter, where it came
// from, and for an own document that it was one, so that importing it
// again adds nothing), never a sealed field or
// a wrapping of its key.
func tombstone(rec *letterRecord, deleted time.Time) *letterRecord {
	return &letterRecord{
		ID: rec.ID, ResidentID: rec.ResidentID, SenderID: rec.SenderID, SenderReference: rec.SenderReference,
		Type: rec.Type, DeliveredAt: rec.DeliveredAt, ReadAt: rec.ReadAt, ContentHash: rec.ContentHash,
		Receipt: rec.Receipt, Imported: rec.Imported, Own: rec.Own, NotBefore: rec.NotBefore, Deleted: deleted,
	}
}

// checkTombstone reports what a tombstone holds that it must not.
func checkTombstone(rec *letterRecord) []string {
	var left []string
	for what, b := range map[string][]byte{"data key": rec.SealedKey, "subject": rec.Subject, "body": rec.Body, "listing": rec.Listing, "structured": rec.Structured} {
		if b != nil {
			left = append(left, what)
		}
	}
	if len(rec.Documents) > 0 {
		left = append(left, "documents")
	}
	if rec.Signature != nil {
		left = append(left, "signature") // a signed PDF holds the document
	}
	if len(rec.DelegateKeys) > 0 {
		left = append(left, "wrappings to delegates")
	}
	if rec.Folder != FolderInbox || rec.ReadMark != nil || !rec.PaidAt.IsZero() || rec.Hold != nil {
		left = append(left, "the resident's sorting or a hold")
	}
	slices.Sort(left)
	return left
}

// forgetInIndex takes letters out of the resident's stored search index,
// in the transaction that deletes them, so that no word of a deleted
// letter stays anywhere: the index is opened, the letters marked gone,
// and it is sealed again and stored as the next version (sessions that
// hold it open see the version change and read it again). An index that
// does not open is deleted; the next search makes it again.
func (m *Mailbox) forgetInIndex(tx storage.Tx, ids []string) error {
	stored, err := tx.SearchIndexes().Get(m.resident.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	key, err := m.searchKey()
	if err != nil {
		return err
	}
	ix, err := m.openIndex(key, stored)
	if err != nil {
		return tx.SearchIndexes().Delete(m.resident.ID)
	}
	ix.markGone(ids...)
	compressed, err := ix.encode()
	if err != nil {
		return err
	}
	sealed, err := key.SealDocument(m.s.rand, searchLabel(m.resident.ID), compressed)
	if err != nil {
		return err
	}
	return tx.SearchIndexes().Put(m.resident.ID, &storage.SearchIndex{Version: stored.Version + 1, Sealed: sealed})
}
