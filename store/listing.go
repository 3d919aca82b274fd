package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// An inbox page must cost work in proportion to the page, not to the
// mailbox, and opening a letter's data key is a public-key operation
// (X25519, and ML-KEM for v2). So each resident has a listing key: a
// random symmetric key sealed to the resident's public key exactly like a
// letter's data key (bound to the resident: listingBinding), kept in the
// resident's record. The first time a letter is
// listed, its listing (the subject) is sealed anew with the listing key
// and kept in the letter's record; later pages open one public-key seal
// (the listing key's) and only symmetric seals after it.
//
// A sender cannot write a letter's listing (it has no listing key), so a
// new letter costs one public-key operation, once, when it is first
// listed. The listing key is as secret as the private key it is sealed
// to: it goes with the account (a deleted account's record keeps none).

// listingBinding binds a resident's sealed listing key to the resident
// (under letter id "listing" from sender "appliance", names no letter or
// sender has).
func listingBinding(residentID string) crypto.Binding {
	return crypto.Binding{LetterID: "listing", RecipientID: residentID, SenderID: "appliance"}
}

// listingLabel binds a letter's sealed listing to the letter.
func listingLabel(letterID string) string { return "listing/" + letterID }

// listing is what a page shows of a letter, as sealed in Listing.
type listing struct {
	Subject string `json:"subject"`
}

// listingKey returns the resident's listing key, opened with the
// mailbox's private key, or nil when the resident has none yet.
func (m *Mailbox) listingKey(tx storage.Tx) (*crypto.DataKey, error) {
	if m.listKey != nil {
		return m.listKey, nil
	}
	rec, err := tx.Residents().Get(m.resident.ID)
	if err != nil {
		return nil, err
	}
	if rec.ListingKey == nil {
		return nil, nil
	}
	k, err := m.key.OpenDataKey(rec.ListingKey, listingBinding(rec.ID))
	if err != nil {
		return nil, fmt.Errorf("open the listing key: %w", err)
	}
	m.listKey = k
	return k, nil
}

// ensureListingKey gives the resident a listing key if they have none,
// and returns it.
func (m *Mailbox) ensureListingKey() (*crypto.DataKey, error) {
	var k *crypto.DataKey
	err := m.s.view(func(tx storage.Tx) error {
		var err error
		k, err = m.listingKey(tx)
		return err
	})
	if err != nil || k != nil {
		return k, err
	}
	fresh, err := crypto.NewDataKey(m.s.rand)
	if err != nil {
		return nil, err
	}
	pub := m.key.PublicKeys()
	var to crypto.Recipient = pub
	if !m.key.HasMLKEM() {
		to = pub.X25519
	}
	sealed, err := crypto.SealDataKey(m.s.rand, fresh, to, listingBinding(m.resident.ID))
	if err != nil {
		return nil, err
	}
	err = m.s.update(func(tx storage.Tx) error {
		rec, err := tx.Residents().Get(m.resident.ID)
		if err != nil {
			return err
		}
		if rec.ListingKey != nil {
			return nil // another request made one: use that
		}
		rec.ListingKey = sealed
		return tx.Residents().Put(rec)
	})
	if err != nil {
		return nil, err
	}
	fresh.Zero()
	err = m.s.view(func(tx storage.Tx) error {
		var err error
		k, err = m.listingKey(tx)
		return err
	})
	if err == nil && k == nil {
		err = errors.New("listing key not stored")
	}
	return k, err
}

// InboxPage is FolderPage of the inbox.
func (m *Mailbox) InboxPage(cursor string, limit int) ([]LetterSummary, string, error) {
	return m.FolderPage(FolderInbox, cursor, limit)
}

// FolderPage returns up to limit letters of a folder of the mailbox,
// newest first, after the cursor ("" for the newest), and the cursor of
// the next page ("" after the last). Its work is in proportion to the
// page: one public-key operation for the listing key, and one for each
// letter on the page that was never listed before (its listing is then
// kept). A letter that cannot be opened is listed with Error set, as in
// Inbox. An unknown folder, or a cursor of another folder, is
// ErrNotFound.
func (m *Mailbox) FolderPage(folder, cursor string, limit int) ([]LetterSummary, string, error) {
	if err := m.gate(); err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > 500 {
		return nil, "", invalid("limit", "a page of %d letters: 1 to 500", limit)
	}
	lk, err := m.ensureListingKey()
	if err != nil {
		return nil, "", err
	}
	var out []LetterSummary
	var next string
	fresh := map[string][]byte{} // letter id → its new sealed listing
	err = m.s.view(func(tx storage.Tx) error {
		if ok, err := knownFolder(tx, m.resident.ID, folder); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("folder %s: %w", folder, ErrNotFound)
		}
		page, after, err := tx.Letters().Folder(m.resident.ID, folder, cursor, limit)
		if err != nil {
			return err
		}
		next = after
		senders := map[string]*senderRecord{}
		for _, e := range page {
			sum, sealed, err := m.pageLine(tx, lk, e.LetterID, senders)
			if err != nil {
				m.s.log.Error("inbox: a letter cannot be opened", "resident", m.resident.ID, "letter", e.LetterID, "err", err)
				sum = LetterSummary{ID: e.LetterID, DeliveredAt: e.DeliveredAt, Error: err}
			}
			if sealed != nil {
				fresh[e.LetterID] = sealed
			}
			out = append(out, sum)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(fresh) > 0 {
		m.keepListings(fresh)
	}
	return out, next, nil
}

// pageLine returns a letter's line from its listing, or, for a letter
// never listed, from the letter itself, with its listing sealed anew to
// keep.
func (m *Mailbox) pageLine(tx storage.Tx, lk *crypto.DataKey, id string, senders map[string]*senderRecord) (LetterSummary, []byte, error) {
	rec, err := tx.Letters().Get(id)
	if err != nil {
		return LetterSummary{}, nil, err
	}
	if rec.ResidentID != m.resident.ID {
		return LetterSummary{}, nil, fmt.Errorf("letter %s: %w", id, ErrNotFound)
	}
	if rec.Hold != nil {
		return heldLine(rec), nil, nil
	}
	if rec.Listing != nil {
		b, err := lk.OpenField(listingLabel(id), rec.Listing)
		if err != nil {
			return LetterSummary{}, nil, fmt.Errorf("open the listing of letter %s: %w", id, err)
		}
		var l listing
		if err := json.Unmarshal(b, &l); err != nil {
			return LetterSummary{}, nil, fmt.Errorf("listing of letter %s: %w", id, err)
		}
		sum, err := m.line(tx, rec, l.Subject, senders)
		return sum, nil, err
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

// keepListings stores letters' new listings. A failure costs only speed
// (the next page seals them again), so it is logged, not returned.
func (m *Mailbox) keepListings(fresh map[string][]byte) {
	err := m.s.update(func(tx storage.Tx) error {
		for id, sealed := range fresh {
			rec, err := tx.Letters().Get(id)
			if errors.Is(err, storage.ErrNotFound) {
				continue // deleted meanwhile
			} else if err != nil {
				return err
			}
			if rec.Listing != nil || rec.ResidentID != m.resident.ID {
				continue
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
