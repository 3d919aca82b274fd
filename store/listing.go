package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// An inbox page must cost work in proportion to the page, not to the
// mailbox, and opening a letter's data key is a public-key operation
// (X25519, and ML-KEM for v2). So each resident has a listing key, a
// symmetric key derived from their private key (both halves: it is as
// strong as the envelope). The first time a letter is listed, its listing
// (the subject) is sealed with the listing key and kept in the letter's
// record; later pages need only symmetric seals.
//
// The listing key is derived, not stored: a key sealed to the resident's
// public key could be replaced by whoever can write the database with one
// they know, who would then read every subject sealed afterwards and
// could write listings of their choosing. A derived key is known only to
// whoever holds the private key, and goes with it: a deleted account
// keeps nothing that derives it. A listing that does not open (written by
// someone else, or under the key pair before it gained its ML-KEM half)
// is ignored and made again from the letter.
//
// A sender cannot write a letter's listing, so a new letter costs one
// public-key operation, once, when it is first listed.

// listingPurpose names the listing key among keys derived from a
// resident's private key.
const listingPurpose = "listing"

// listingLabel binds a letter's sealed listing to the letter.
func listingLabel(letterID string) string { return "listing/" + letterID }

// listing is what a page shows of a letter, as sealed in Listing.
type listing struct {
	Subject string `json:"subject"`
}

// listingKey returns the resident's listing key, derived from the
// mailbox's private key once.
func (m *Mailbox) listingKey() (*crypto.DataKey, error) {
	if m.listKey == nil {
		k, err := m.key.DeriveDataKey(listingPurpose, m.resident.ID)
		if err != nil {
			return nil, err
		}
		m.listKey = k
	}
	return m.listKey, nil
}

// InboxPage is FolderPage of the inbox.
func (m *Mailbox) InboxPage(ctx context.Context, cursor string, limit int) ([]LetterSummary, string, error) {
	return m.FolderPage(ctx, FolderInbox, cursor, limit)
}

// FolderPage returns up to limit letters of a folder of the mailbox,
// newest first, after the cursor ("" for the newest), and the cursor of
// the next page ("" after the last). Its work is in proportion to the
// page: one public-key operation for the listing key, and one for each
// letter on the page that was never listed before (its listing is then
// kept). A letter that cannot be opened is listed with Error set, as in
// Inbox. An unknown folder, or a cursor of another folder, is
// ErrNotFound.
func (m *Mailbox) FolderPage(ctx context.Context, folder, cursor string, limit int) ([]LetterSummary, string, error) {
	return m.listPage(ctx, limit, nil, m.folderIndex(folder, cursor, limit))
}

// PageView is what a page of a folder, or of the due list, shows: the
// letters of the page, the cursor of the next, and the navigation (the
// folders with their counts, and how many letters the due list has),
// read in one transaction.
type PageView struct {
	Folders  []Folder
	DueCount int
	Letters  []LetterSummary
	Next     string
}

// FolderView is FolderPage with the navigation, in one read transaction.
func (m *Mailbox) FolderView(ctx context.Context, folder, cursor string, limit int) (PageView, error) {
	var v PageView
	var err error
	v.Letters, v.Next, err = m.listPage(ctx, limit, m.navigation(&v), m.folderIndex(folder, cursor, limit))
	return v, err
}

// DueView is DuePage with the navigation, in one read transaction.
func (m *Mailbox) DueView(ctx context.Context, cursor string, limit int) (PageView, error) {
	var v PageView
	var err error
	v.Letters, v.Next, err = m.listPage(ctx, limit, m.navigation(&v), m.dueIndex(cursor, limit))
	return v, err
}

// navigation reads a page's navigation into v.
func (m *Mailbox) navigation(v *PageView) func(tx storage.Tx) error {
	return func(tx storage.Tx) error {
		var err error
		if v.Folders, err = m.folders(tx); err != nil {
			return err
		}
		v.DueCount, err = tx.Letters().DueCount(m.resident.ID)
		return err
	}
}

// folderIndex reads a page of a folder's index, for listPage.
func (m *Mailbox) folderIndex(folder, cursor string, limit int) func(tx storage.Tx) ([]LetterSummary, string, error) {
	return func(tx storage.Tx) ([]LetterSummary, string, error) {
		if ok, err := knownFolder(tx, m.resident.ID, folder); err != nil {
			return nil, "", err
		} else if !ok {
			return nil, "", fmt.Errorf("folder %s: %w", folder, ErrNotFound)
		}
		page, next, err := tx.Letters().Folder(m.resident.ID, folder, cursor, limit)
		lines := make([]LetterSummary, len(page))
		for i, e := range page {
			lines[i] = LetterSummary{ID: e.LetterID, DeliveredAt: e.DeliveredAt}
		}
		return lines, next, err
	}
}

// DuePage returns up to limit letters of the inbox with a due date that
// is not marked paid, the soonest due first, after the cursor ("" for the
// first), and the cursor of the next page ("" after the last): the
// resident's list of what to pay or answer. Its work is in proportion to
// the page, as FolderPage's. A cursor that is not DuePage's is
// ErrNotFound.
func (m *Mailbox) DuePage(ctx context.Context, cursor string, limit int) ([]LetterSummary, string, error) {
	return m.listPage(ctx, limit, nil, m.dueIndex(cursor, limit))
}

// dueIndex reads a page of the index of due dates, for listPage.
func (m *Mailbox) dueIndex(cursor string, limit int) func(tx storage.Tx) ([]LetterSummary, string, error) {
	return func(tx storage.Tx) ([]LetterSummary, string, error) {
		page, next, err := tx.Letters().Due(m.resident.ID, cursor, limit)
		lines := make([]LetterSummary, len(page))
		for i, e := range page {
			lines[i] = LetterSummary{ID: e.LetterID, DueDate: e.Due}
		}
		return lines, next, err
	}
}

// listPage lists a page of letters that index reads in the transaction
// (each as the line shown when the letter cannot be opened: its id and
// what the index knows), with their listings, sealing and keeping those
// of letters never listed before. also, if not nil, reads more in the
// same transaction (the page's navigation).
func (m *Mailbox) listPage(ctx context.Context, limit int, also func(tx storage.Tx) error, index func(tx storage.Tx) ([]LetterSummary, string, error)) ([]LetterSummary, string, error) {
	if err := m.gate(); err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > 500 {
		return nil, "", invalid("limit", "a page of %d letters: 1 to 500", limit)
	}
	lk, err := m.listingKey()
	if err != nil {
		return nil, "", err
	}
	var out []LetterSummary
	var next string
	fresh := map[string][]byte{} // letter id → its new sealed listing
	err = m.s.view(ctx, func(tx storage.Tx) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		page, after, err := index(tx)
		if err != nil {
			return err
		}
		next, out = after, out[:0]
		senders := map[string]*senderRecord{}
		for _, unopened := range page {
			sum, sealed, err := m.pageLine(tx, lk, unopened.ID, senders)
			if err != nil {
				m.s.log.Error("list: a letter cannot be opened", "resident", m.resident.ID, "letter", unopened.ID, "err", err)
				sum = unopened
				sum.Error = err
			}
			if sealed != nil {
				fresh[unopened.ID] = sealed
			}
			out = append(out, sum)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(fresh) > 0 {
		m.keepListings(ctx, fresh)
	}
	return out, next, nil
}

// DueCount returns the number of letters DuePage lists.
func (m *Mailbox) DueCount(ctx context.Context) (int, error) {
	if err := m.gate(); err != nil {
		return 0, err
	}
	var n int
	err := m.s.view(ctx, func(tx storage.Tx) error {
		var err error
		n, err = tx.Letters().DueCount(m.resident.ID)
		return err
	})
	return n, err
}

// pageLine returns a letter's line from its listing, or, for a letter
// never listed, from the letter itself, with its listing sealed anew to
// keep.
func (m *Mailbox) pageLine(tx storage.Tx, lk *crypto.DataKey, id string, senders map[string]*senderRecord) (LetterSummary, []byte, error) {
	// What a line shows, without the sealed fields (read below only for a
	// letter never listed).
	rec, err := tx.Letters().Listed(id)
	if err != nil {
		return LetterSummary{}, nil, err
	}
	if rec.ResidentID != m.resident.ID || !rec.InMailbox() {
		return LetterSummary{}, nil, fmt.Errorf("letter %s: %w", id, ErrNotFound)
	}
	if rec.Hold != nil {
		return heldLine(rec), nil, nil
	}
	if rec.Listing != nil {
		var l listing
		b, err := lk.OpenField(listingLabel(id), rec.Listing)
		if err == nil {
			err = json.Unmarshal(b, &l)
		}
		if err == nil {
			sum, err := m.line(tx, rec, l.Subject, senders)
			return sum, nil, err
		}
		m.s.log.Warn("inbox: a listing does not open; made again from the letter", "resident", m.resident.ID, "letter", id, "err", err)
	}
	if rec, err = tx.Letters().Get(id); err != nil {
		return LetterSummary{}, nil, err
	}
	dk, err := m.key.OpenDataKey(rec.SealedKey, letterBinding(rec))
	if err != nil {
		return LetterSummary{}, nil, fmt.Errorf("open letter %s: %w", id, err)
	}
	defer dk.Zero()
	sum, err := m.summary(tx, rec, dk, senders)
	if err != nil {
		return LetterSummary{}, nil, err
	}
	b, err := json.Marshal(listing{Subject: sum.Subject})
	if err != nil {
		return LetterSummary{}, nil, err
	}
	sealed, err := lk.SealField(m.s.rand, listingLabel(id), b)
	return sum, sealed, err
}

// keepListings stores letters' new listings, replacing any that did not
// open. A failure costs only speed (the next page seals them again), so it
// is logged, not returned.
func (m *Mailbox) keepListings(ctx context.Context, fresh map[string][]byte) {
	err := m.s.update(ctx, func(tx storage.Tx) error {
		for id, sealed := range fresh {
			rec, err := tx.Letters().Get(id)
			if errors.Is(err, storage.ErrNotFound) {
				continue // deleted meanwhile
			} else if err != nil {
				return err
			}
			if rec.ResidentID != m.resident.ID || !rec.InMailbox() {
				continue // deleted meanwhile: nothing sealed may be kept
			}
			rec.Listing = sealed
			if err := tx.Letters().Put(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		m.s.log.Error("inbox: keep listings", "resident", m.resident.ID, "err", err)
	}
}
