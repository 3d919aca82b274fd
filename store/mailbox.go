package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Mailbox is a resident's mailbox opened by a live session: it holds the
// resident's unwrapped private key for the length of one request. Only
// letters addressed to this resident can be read through it.
type Mailbox struct {
	s         *Store
	resident  Resident
	key       *crypto.PrivateKey
	sessionID string
	language  string // the owner's chosen language, "" when none
	// termsPending: terms of use are in force that the owner has not
	// accepted (as of OpenSession); the mailbox opens no mail until
	// AcceptTerms (gate).
	termsPending bool
	// listKey is the resident's listing key once opened (listing.go).
	listKey *crypto.DataKey
	// foldKey seals the names of the resident's folders (folders.go).
	foldKey *crypto.DataKey
	// findKey seals the resident's search index (search.go).
	findKey *crypto.DataKey
}

// gate is ErrTermsNotAccepted while the owner has terms of use to
// accept: every operation that shows or changes the mailbox asks it
// first. The terms, accepting them, the language and deleting the
// mailbox pass.
func (m *Mailbox) gate() error {
	if m.termsPending {
		return ErrTermsNotAccepted
	}
	return nil
}

// Resident returns the mailbox's owner.
func (m *Mailbox) Resident() Resident { return m.resident }

// Close forgets the private key and the listing key.
func (m *Mailbox) Close() {
	m.key.Zero()
	if m.foldKey != nil {
		m.foldKey.Zero()
	}
	if m.listKey != nil {
		m.listKey.Zero()
	}
	if m.findKey != nil {
		m.findKey.Zero()
	}
}

// open returns the letter's data key; a letter of another resident is
// ErrNotFound.
func (m *Mailbox) open(tx storage.Tx, letterID string) (*letterRecord, *crypto.DataKey, error) {
	rec, err := tx.Letters().Get(letterID)
	if err != nil {
		return nil, nil, err
	}
	if rec.ResidentID != m.resident.ID || !rec.InMailbox() {
		return nil, nil, fmt.Errorf("letter %s: %w", letterID, ErrNotFound)
	}
	if err := held(rec); err != nil {
		return rec, nil, err
	}
	dk, err := m.key.OpenDataKey(rec.SealedKey, letterBinding(rec))
	if err != nil {
		return nil, nil, fmt.Errorf("open letter %s: %w", letterID, err)
	}
	return rec, dk, nil
}

func (m *Mailbox) summary(tx storage.Tx, rec *letterRecord, dk *crypto.DataKey, senders map[string]*senderRecord) (LetterSummary, error) {
	subject, err := dk.OpenField("subject", rec.Subject)
	if err != nil {
		return LetterSummary{}, fmt.Errorf("open letter %s: %w", rec.ID, err)
	}
	return m.line(tx, rec, string(subject), senders)
}

// line is a letter's summary with its subject opened.
func (m *Mailbox) line(tx storage.Tx, rec *letterRecord, subject string, senders map[string]*senderRecord) (LetterSummary, error) {
	var err error
	sender, ok := senders[rec.SenderID]
	if rec.Own != nil {
		sender, ok = &senderRecord{ID: rec.SenderID}, true // no sender: the resident's own
	}
	if rec.Imported != nil {
		// Every letter from one other appliance has one SenderID; the
		// sender is the letter's own.
		ok = false
	}
	if !ok {
		if sender, err = letterSender(tx, rec); err != nil {
			return LetterSummary{}, err
		}
		if rec.Imported == nil {
			senders[rec.SenderID] = sender
		}
	}
	sum := LetterSummary{
		ID: rec.ID, SenderID: rec.SenderID, SenderName: sender.Name, SenderKind: sender.Kind,
		Subject: subject, Type: rec.Type, DeliveredAt: rec.DeliveredAt, ReadAt: rec.ReadAt, ReadMark: rec.ReadMark, PaidAt: rec.PaidAt,
		DueDate: rec.DueDate, Documents: len(rec.Documents), Size: rec.Size, Folder: rec.Folder,
		Own: rec.Own != nil,
	}
	if imp := rec.Imported; imp != nil {
		sum.ImportedFrom = &LetterOrigin{Appliance: imp.Appliance, KeyID: crypto.KeyID(imp.ReceiptKey), Imported: imp.Imported}
	}
	return sum, nil
}

// Inbox returns the mailbox's letters, newest first. A letter that cannot
// be opened is listed with its Error set (and logged) rather than failing
// the inbox: one damaged record must not hide every other letter.
func (m *Mailbox) Inbox(ctx context.Context) ([]LetterSummary, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	var out []LetterSummary
	err := m.s.view(ctx, func(tx storage.Tx) error {
		senders := map[string]*senderRecord{}
		after := ""
		for {
			page, next, err := tx.Letters().Mailbox(m.resident.ID, after, 256)
			if err != nil {
				return err
			}
			for _, e := range page {
				sum, err := m.inboxLine(tx, e.LetterID, senders)
				if err != nil {
					m.s.log.Error("inbox: a letter cannot be opened", "resident", m.resident.ID, "letter", e.LetterID, "err", err)
					sum = LetterSummary{ID: e.LetterID, DeliveredAt: e.DeliveredAt, Error: err}
				}
				out = append(out, sum)
			}
			if next == "" {
				return nil
			}
			after = next
		}
	})
	return out, err
}

// inboxLine opens one letter's summary for Inbox.
func (m *Mailbox) inboxLine(tx storage.Tx, letterID string, senders map[string]*senderRecord) (LetterSummary, error) {
	rec, dk, err := m.open(tx, letterID)
	if errors.Is(err, ErrInaccessible) {
		return heldLine(rec), nil
	} else if err != nil {
		return LetterSummary{}, err
	}
	defer dk.Zero()
	return m.summary(tx, rec, dk, senders)
}

// Letter opens a letter of this mailbox and marks it read at the first
// opening. Another resident's letter is ErrNotFound.
func (m *Mailbox) Letter(ctx context.Context, id string) (Letter, error) {
	if err := m.gate(); err != nil {
		return Letter{}, err
	}
	var out Letter
	err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, dk, err := m.open(tx, id)
		if err != nil {
			return err
		}
		defer dk.Zero()
		out, err = m.letterView(tx, rec, dk)
		return err
	})
	if err != nil {
		return Letter{}, err
	}
	if out.ReadAt.IsZero() || out.ReadMark != nil {
		if out.ReadAt, err = m.markRead(ctx, id); err != nil {
			return Letter{}, err
		}
		out.ReadMark = nil
	}
	return out, nil
}

// letterView is an opened letter: its summary, body, structured data and
// documents' names.
func (m *Mailbox) letterView(tx storage.Tx, rec *letterRecord, dk *crypto.DataKey) (Letter, error) {
	var out Letter
	sum, err := m.summary(tx, rec, dk, map[string]*senderRecord{})
	if err != nil {
		return out, err
	}
	body, err := dk.OpenField("body", rec.Body)
	if err != nil {
		return out, fmt.Errorf("open letter %s body: %w", rec.ID, err)
	}
	out = Letter{LetterSummary: sum, Body: string(body), ReplyAllowed: rec.ReplyAllowed,
		SenderReference: rec.SenderReference, Receipt: rec.Receipt}
	if rec.Imported != nil {
		out.SenderReference = rec.Imported.SenderReference
	}
	structured, err := openStructured(dk, rec)
	if err != nil {
		return out, err
	}
	out.Invoice, out.Actions = structured.Invoice, structured.Actions
	out.SignatureRequest, out.Signature = structured.SignatureRequest, rec.Signature
	for i, doc := range rec.Documents {
		name, err := dk.OpenField(fmt.Sprintf("document/%d/name", i), doc.Name)
		if err != nil {
			return out, fmt.Errorf("open letter %s document %d: %w", rec.ID, i, err)
		}
		out.Documents = append(out.Documents, DocumentInfo{Index: i, Name: string(name), ContentType: doc.ContentType, Size: doc.Size})
	}
	return out, nil
}

// markRead records the first opening of a letter and returns its time;
// opening a letter also ends a marking of it as unread.
func (m *Mailbox) markRead(ctx context.Context, id string) (readAt time.Time, err error) {
	now := m.s.now()
	err = m.s.update(ctx, func(tx storage.Tx) error {
		// Checked again in the write: the letter may have been made
		// inaccessible since it was opened.
		rec, err := m.own(tx, id)
		if err != nil {
			return err
		}
		first := rec.ReadAt.IsZero()
		if !first && rec.ReadMark == nil {
			readAt = rec.ReadAt
			return nil
		}
		if first {
			rec.ReadAt = now
		}
		rec.ReadMark, readAt = nil, rec.ReadAt
		if err := tx.Letters().Put(rec); err != nil {
			return err
		}
		if !first {
			return nil
		}
		// Read in time: a copy waiting to be printed if unread is not
		// needed any more (store/print.go).
		if err := cancelUnreadPrint(tx, id); err != nil {
			return err
		}
		// The sender's status says "read" either way; an event only
		// when it asked for an opening receipt (API.md).
		if rec.OpeningReceipt {
			if err := appendEvent(tx, rec, EventRead, now); err != nil {
				return err
			}
		}
		return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, "read", "letter:"+id)
	})
	return readAt, err
}

// MarkRead marks letters of the mailbox read (read true) or unread, as the
// resident sorts their mail. It changes only the resident's marking: a
// letter marked read was not opened, and the sender's "read" (the first
// opening) never changes. Another resident's letter is ErrNotFound and
// changes nothing. Not audited, like moving a letter between folders: a
// mark is the resident's own sorting; the first opening is audited.
func (m *Mailbox) MarkRead(ctx context.Context, ids []string, read bool) error {
	if err := m.gate(); err != nil {
		return err
	}
	return m.s.update(ctx, func(tx storage.Tx) error {
		for _, id := range ids {
			rec, err := m.own(tx, id)
			if err != nil {
				return err
			}
			mark := read
			rec.ReadMark = &mark
			if read == !rec.ReadAt.IsZero() {
				rec.ReadMark = nil // the same as the opening says
			}
			if err := tx.Letters().Put(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkPaid marks an invoice of the mailbox paid (paid true) or not paid.
// A letter that is no invoice is an InvalidError. Audited: the sender
// will learn of it (the events issue).
func (m *Mailbox) MarkPaid(ctx context.Context, id string, paid bool) error {
	if err := m.gate(); err != nil {
		return err
	}
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		rec, err := m.own(tx, id)
		if err != nil {
			return err
		}
		if rec.Type != TypeInvoice {
			return invalid("letter", "a %s, not an invoice", rec.Type)
		}
		if paid == !rec.PaidAt.IsZero() {
			return nil
		}
		action := "mark-unpaid"
		rec.PaidAt = time.Time{}
		if paid {
			action, rec.PaidAt = "mark-paid", now
			if err := appendEvent(tx, rec, EventPaidMarked, now); err != nil {
				return err
			}
		}
		if err := tx.Letters().Put(rec); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, action, "letter:"+id)
	})
}

// own returns a letter of this mailbox's owner that is not held;
// another's, a deleted letter's tombstone or a scheduled letter is
// ErrNotFound.
func (m *Mailbox) own(tx storage.Tx, id string) (*letterRecord, error) {
	rec, err := tx.Letters().Get(id)
	if err != nil {
		return nil, fmt.Errorf("letter %s: %w", id, err)
	}
	if rec.ResidentID != m.resident.ID || !rec.InMailbox() {
		return nil, fmt.Errorf("letter %s: %w", id, ErrNotFound)
	}
	if err := held(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Document opens one document of a letter of this mailbox.
func (m *Mailbox) Document(ctx context.Context, letterID string, index int) (Document, error) {
	if err := m.gate(); err != nil {
		return Document{}, err
	}
	var out Document
	err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, dk, err := m.open(tx, letterID)
		if err != nil {
			return err
		}
		defer dk.Zero()
		out, err = openDocument(tx, rec, dk, index)
		return err
	})
	return out, err
}

// openDocument opens one document of a letter with its data key.
func openDocument(tx storage.Tx, rec *letterRecord, dk *crypto.DataKey, index int) (Document, error) {
	letterID := rec.ID
	if index < 0 || index >= len(rec.Documents) {
		return Document{}, fmt.Errorf("letter %s document %d: %w", letterID, index, ErrNotFound)
	}
	doc := rec.Documents[index]
	name, err := dk.OpenField(fmt.Sprintf("document/%d/name", index), doc.Name)
	if err != nil {
		return Document{}, fmt.Errorf("open letter %s document %d: %w", letterID, index, err)
	}
	r, err := tx.Documents().Open(letterID, index)
	if errors.Is(err, ErrNotFound) {
		return Document{}, errors.New("document content missing")
	} else if err != nil {
		return Document{}, err
	}
	sealed, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return Document{}, fmt.Errorf("read letter %s document %d: %w", letterID, index, err)
	}
	content, err := dk.OpenDocument(fmt.Sprintf("document/%d", index), sealed)
	if err != nil {
		return Document{}, fmt.Errorf("open letter %s document %d: %w", letterID, index, err)
	}
	return Document{DocumentInfo: DocumentInfo{Index: index, Name: string(name), ContentType: doc.ContentType, Size: doc.Size}, Content: content}, nil
}

// Receipt returns the signed receipt of a letter of this mailbox, the
// same the sender got at delivery, without opening the letter or marking
// it read. Another resident's letter, a deleted one, or an own document
// (which has no receipt) is ErrNotFound;
// a held letter *InaccessibleError.
func (m *Mailbox) Receipt(ctx context.Context, id string) (Receipt, error) {
	if err := m.gate(); err != nil {
		return Receipt{}, err
	}
	var out Receipt
	err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, err := m.own(tx, id)
		if err != nil {
			return err
		}
		if rec.Own != nil {
			return fmt.Errorf("letter %s is an own document, with no receipt: %w", id, ErrNotFound)
		}
		out = rec.Receipt
		return nil
	})
	return out, err
}
