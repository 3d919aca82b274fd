package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// The print queue (API.md, "More message fields", print; DESIGN.md,
// "Policy the appliance enforces").
//
// A delivery with print details (Delivery.Print) to a recipient who does
// not take digital post (no mailbox, reserved, closed, deceased) is not
// refused with ErrUnknownRecipient or ErrRecipientNotDigital: it is
// queued for print, in one transaction with its "queue-for-print" audit
// entry and its sender's "queued-for-print" event. Its documents must all
// be PDF (their pages are counted then, for the print provider); its
// address is checked (checkPrint). There is no receipt: nothing reached a
// mailbox. The sender's status of it says "queued-for-print", then
// "printed".
//
// The queued copy (the address, the documents' names and content) is
// sealed with a data key of its own, sealed to the appliance's print key
// and bound to the letter and its sender. The print key's private half is
// stored only wrapped by the operator's print key (NewPrintKey), which
// the appliance never keeps: the queue is no more readable at rest, in a
// backup or to someone holding the data folder, than residents' mail is.
// Only an export, given the operator's key, opens it. Without a print key
// nothing can be queued: a letter to print is refused as before
// (ErrNoPrintKey with ErrRecipientNotDigital, or a 400 for unread-after).
//
// ExportPrint puts every queued letter that is in no batch yet into a new
// batch (one transaction: "print-export" audit entry), then opens them for
// the operator's export; ExportPrintBatch opens an exported batch again
// (the files were lost) without changing anything. PrintDone marks a
// batch printed: each letter's sealed copy is deleted, its "printed"
// event written, in one transaction; a batch already done is no error and
// changes nothing, so each letter is printed (and reported printed) once.
// The record of a printed letter stays, with no content, so that its
// status and its reference stay known.
//
// With PrintUnreadAfter a letter to a digital recipient is delivered as
// any other, and its sealed copy is stored waiting (PrintLetter.WaitUntil,
// under the letter's id) in the same transaction. Opening the letter, or
// deleting it by any path (shredLetter, deleteLetter), deletes the
// waiting copy; QueueUnread (the job "print-unread") queues those still
// unopened at their time, with their "queued-for-print" event.

// PrintAddress is the postal address a letter is printed to.
type PrintAddress struct {
	Name       string   `json:"name"`
	Lines      []string `json:"lines"`
	PostalCode string   `json:"postalCode"`
	City       string   `json:"city"`
	Country    string   `json:"country"` // ISO 3166-1 alpha-2
}

// PrintRequest is a delivery's print details.
type PrintRequest struct {
	Address PrintAddress
	// When is when it is printed: PrintNotDigital (the default: only
	// when the recipient takes no digital post) or PrintUnreadAfter (also
	// when the letter is still unopened at UnreadAfter).
	When        string
	UnreadAfter time.Time
}

// When a letter is printed.
const (
	PrintNotDigital  = "not-digital"
	PrintUnreadAfter = "unread-after"
)

// Events and statuses of the print queue.
const (
	EventQueuedForPrint = "queued-for-print"
	EventPrinted        = "printed"
)

const (
	maxAddressField = 100
	maxAddressLines = 4
	// maxPrintBatch is how many letters one export takes at most; the
	// rest wait for the next.
	maxPrintBatch = 1000
	// maxPrintBatchBytes bounds the documents one export holds.
	maxPrintBatchBytes = 128 << 20
)

var (
	country2      = regexp.MustCompile(`^[A-Z]{2}$`)
	postalDigits4 = regexp.MustCompile(`^[0-9]{4}$`)
	postalDigits5 = regexp.MustCompile(`^[0-9]{3} ?[0-9]{2}$`)
	postalOther   = regexp.MustCompile(`^[0-9A-Z][0-9A-Z -]{0,9}$`)
)

// checkPrint checks a delivery's print details and its documents (all
// PDF, each readable with at least one page) and returns the pages of
// each document.
func checkPrint(p *PrintRequest, docs []DocumentInput, now time.Time) ([]int, error) {
	switch p.When {
	case "", PrintNotDigital:
		p.When = PrintNotDigital
		if !p.UnreadAfter.IsZero() {
			return nil, invalid("print.unreadAfter", "only with when unread-after")
		}
	case PrintUnreadAfter:
		switch u := p.UnreadAfter; {
		case u.IsZero():
			return nil, invalid("print.unreadAfter", "missing: when unread-after needs the time")
		case !u.After(now):
			return nil, invalid("print.unreadAfter", "%s has passed", u.UTC().Format(time.RFC3339))
		case u.After(now.AddDate(1, 0, 0)):
			return nil, invalid("print.unreadAfter", "%s is more than a year ahead", u.UTC().Format(time.RFC3339))
		}
	default:
		return nil, invalid("print.when", "%q is not not-digital or unread-after", p.When)
	}
	a := &p.Address
	line := func(field, v string, required bool) error {
		switch {
		case strings.TrimSpace(v) == "" && required:
			return invalid(field, "missing")
		case len(v) > maxAddressField:
			return invalid(field, "longer than %d bytes", maxAddressField)
		case !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n\t"):
			return invalid(field, "must be one line of UTF-8 text")
		}
		return checkNoFormatChar(field, v)
	}
	if err := line("print.address.name", a.Name, true); err != nil {
		return nil, err
	}
	if len(a.Lines) == 0 {
		return nil, invalid("print.address.lines", "missing: at least the street line")
	}
	if len(a.Lines) > maxAddressLines {
		return nil, invalid("print.address.lines", "at most %d lines", maxAddressLines)
	}
	for i, l := range a.Lines {
		if err := line(fmt.Sprintf("print.address.lines[%d]", i), l, true); err != nil {
			return nil, err
		}
	}
	if err := line("print.address.city", a.City, true); err != nil {
		return nil, err
	}
	if !country2.MatchString(a.Country) {
		return nil, invalid("print.address.country", "%q is not a country code of two capital letters (ISO 3166-1, e.g. DK)", a.Country)
	}
	var postal *regexp.Regexp
	switch a.Country {
	case "DK", "NO":
		postal = postalDigits4
	case "SE", "FI":
		postal = postalDigits5
	default:
		postal = postalOther
	}
	if a.PostalCode == "" {
		return nil, invalid("print.address.postalCode", "missing")
	}
	if !postal.MatchString(a.PostalCode) {
		return nil, invalid("print.address.postalCode", "%q is not a postal code of %s", a.PostalCode, a.Country)
	}
	pages := make([]int, len(docs))
	for i, d := range docs {
		field := fmt.Sprintf("document[%d]", i)
		if d.ContentType != "application/pdf" {
			return nil, invalid(field, "a letter to print has PDF documents only, not %s", d.ContentType)
		}
		n, err := pdfPages(d.Content)
		if err != nil {
			return nil, invalid(field, "not a PDF whose pages can be counted for print: %v", err)
		}
		pages[i] = n
	}
	return pages, nil
}

// pdfPages counts a PDF's pages. The library panics on some damaged
// files: that is a refusal like any other.
func pdfPages(b []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("damaged PDF (%v)", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return 0, err
	}
	if n = r.NumPage(); n < 1 {
		return 0, errors.New("no pages")
	}
	return n, nil
}

// printHash is the content hash of a letter queued for print: the
// letter's (ContentHash) and its address. A repeat must have both.
func printHash(contentHash string, a PrintAddress) string {
	b, _ := json.Marshal(a) // strings only: cannot fail
	h := sha256.New()
	h.Write([]byte(contentHash))
	h.Write([]byte{0})
	h.Write(b)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// repeatedPrint is repeated for a reference that is no letter's: a letter
// queued for print with the same content (whatever its address: a
// delivery to the mailbox has none) is the original result and true,
// with other content ErrDuplicateReference, none false.
func repeatedPrint(tx storage.Tx, senderID, ref, hash string, notBefore time.Time) (DeliveryResult, bool, error) {
	id, err := tx.Print().ByReference(senderID, ref)
	if errors.Is(err, ErrNotFound) {
		return DeliveryResult{}, false, nil
	} else if err != nil {
		return DeliveryResult{}, false, err
	}
	p, err := tx.Print().Get(id)
	if err != nil {
		return DeliveryResult{}, false, err
	}
	if p.LetterHash != hash || !p.NotBefore.Equal(notBefore) {
		return DeliveryResult{}, false, fmt.Errorf("senderReference %q: %w", ref, ErrDuplicateReference)
	}
	return DeliveryResult{Letter: printStatus(p), Repeated: true}, true, nil
}

// samePrint checks that a repeat found by repeated, if it is a letter
// queued for print, had the same address as d: a repeat must (a letter
// delivered to a mailbox has none to compare).
func samePrint(tx storage.Tx, d *Delivery, hash string, repeat DeliveryResult) error {
	old, err := tx.Print().Get(repeat.Letter.ID)
	if errors.Is(err, ErrNotFound) {
		return nil // in a mailbox, with no copy to print
	} else if err != nil {
		return err
	}
	if old.Reason != PrintNotDigital {
		return nil // a mailbox letter's copy, printed if unread
	}
	if d.Print == nil || old.ContentHash != printHash(hash, d.Print.Address) {
		return fmt.Errorf("senderReference %q: %w", d.SenderReference, ErrDuplicateReference)
	}
	return nil
}

// printStatus is a queued letter's status for its sender.
func printStatus(p *storage.PrintLetter) LetterStatus {
	st := LetterStatus{ID: p.ID, Status: EventQueuedForPrint}
	switch {
	case p.Printed():
		st.Status = EventPrinted
	case p.Waiting():
		// Scheduled: queued at the sender's notBefore.
		st.Status, st.DeliveredAt = "scheduled", p.WaitUntil
	}
	return st
}

// printBinding binds a print copy's data key to the letter and its sender.
func printBinding(id, senderID string) crypto.Binding {
	return crypto.Binding{LetterID: id, RecipientID: "print", SenderID: senderID}
}

// Meta keys of the print key: its public half, and its private half
// wrapped with the operator's print key (a crypto.RecoveryKey), which the
// appliance never stores.
const (
	keyPrintPublic  = "print-key-public"
	keyPrintWrapped = "print-key-wrapped"
)

// PrintKeySize is the length of the operator's print key.
const PrintKeySize = len(crypto.RecoveryKey{})

// NewPrintKey makes the appliance's print key pair and returns the key
// that unwraps its private half, for the operator to keep outside the
// appliance: `postkasse print export` needs it, and nothing else can open
// the queued copies. There is one print key; a second is ErrExists (the
// copies queued are sealed to the first).
func (s *Store) NewPrintKey(ctx context.Context) ([]byte, error) {
	k, err := crypto.GenerateKeyPair(s.rand)
	if err != nil {
		return nil, err
	}
	defer k.Zero()
	rk, err := crypto.NewRecoveryKey(s.rand)
	if err != nil {
		return nil, err
	}
	defer clear(rk[:])
	wrapped, err := crypto.WrapWithRecoveryKey(s.rand, k, rk)
	if err != nil {
		return nil, err
	}
	pub := k.Public()
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Meta().Get(keyPrintPublic); err == nil {
			return fmt.Errorf("print key: %w", ErrExists)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.Meta().Put(keyPrintWrapped, wrapped); err != nil {
			return err
		}
		if err := tx.Meta().Put(keyPrintPublic, pub[:]); err != nil {
			return err
		}
		return s.appendAudit(tx, s.now(), operatorActor(ctx), "print-key", "appliance")
	})
	if err != nil {
		return nil, err
	}
	return bytes.Clone(rk[:]), nil
}

// printPublicKey returns the print key's public half; none is
// ErrNoPrintKey.
func printPublicKey(tx storage.Tx) (crypto.PublicKey, error) {
	var pub crypto.PublicKey
	b, err := tx.Meta().Get(keyPrintPublic)
	if errors.Is(err, ErrNotFound) {
		return pub, ErrNoPrintKey
	} else if err != nil {
		return pub, err
	}
	if len(b) != len(pub) {
		return pub, fmt.Errorf("print key: public key of %d bytes: %w", len(b), crypto.ErrFormat)
	}
	copy(pub[:], b)
	return pub, nil
}

// ErrNoPrintKey: the operator has not made the print key yet
// (`postkasse print key`), so nothing can be queued for print.
var ErrNoPrintKey = errors.New("the appliance has no print key yet (postkasse print key)")

// ErrWrongPrintKey: the key given does not open the print key.
var ErrWrongPrintKey = errors.New("not this appliance's print key")

// openPrintKey opens the print key's private half with the operator's
// key. The caller zeroes it.
func (s *Store) openPrintKey(ctx context.Context, key []byte) (*crypto.PrivateKey, error) {
	var wrapped []byte
	err := s.view(ctx, func(tx storage.Tx) error {
		if _, err := printPublicKey(tx); err != nil {
			return err
		}
		var err error
		wrapped, err = tx.Meta().Get(keyPrintWrapped)
		return err
	})
	if err != nil {
		return nil, err
	}
	var rk crypto.RecoveryKey
	if len(key) != len(rk) {
		return nil, fmt.Errorf("print key of %d bytes, want %d: %w", len(key), len(rk), ErrWrongPrintKey)
	}
	copy(rk[:], key)
	defer clear(rk[:])
	k, err := crypto.UnwrapWithRecoveryKey(wrapped, rk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWrongPrintKey, err)
	}
	return k, nil
}

// printCopy is what a print copy seals: the address and the documents.
type printCopy struct {
	Address   PrintAddress
	Documents []DocumentInput
}

// notDigital reports whether a delivery was refused because its recipient
// takes no digital post: what print details turn into a print.
func notDigital(err error) bool {
	return errors.Is(err, ErrUnknownRecipient) || errors.Is(err, ErrRecipientNotDigital)
}

// queueForPrint seals a checked delivery with print details to the print
// key and queues it, in one transaction that checks again that its
// sender is active, its reference new and its recipient not digital.
func (s *Store) queueForPrint(ctx context.Context, senderID string, d *Delivery, docs []DocumentInput, hash string) (DeliveryResult, error) {
	id, err := s.newLetterID()
	if err != nil {
		return DeliveryResult{}, err
	}
	rec, err := s.sealPrintCopy(ctx, id, senderID, d, docs, hash)
	if err != nil {
		return DeliveryResult{}, err
	}
	var out DeliveryResult
	err = s.update(ctx, func(tx storage.Tx) error {
		now := s.now()
		if _, err := activeSender(tx, senderID); err != nil {
			return err
		}
		if repeat, isRepeat, err := repeated(tx, senderID, d.SenderReference, hash, d.NotBefore); err != nil {
			return err
		} else if isRepeat {
			// The same letter went to the mailbox (the recipient was
			// digital then), or to print: its result stands, if the
			// print copy had this address.
			if err := samePrint(tx, d, hash, repeat); err != nil {
				return err
			}
			out = repeat
			return nil
		}
		if _, err := recipientFor(tx, d.Recipient, false); err == nil {
			return fmt.Errorf("recipient became digital during delivery: %w", ErrUnavailable)
		} else if !notDigital(err) {
			return err
		}
		rec.NotBefore = d.NotBefore
		if d.NotBefore.After(now) {
			// Scheduled: QueueUnread queues it at notBefore, with its
			// event then.
			rec.WaitUntil = d.NotBefore.UTC()
			if err := tx.Print().Put(rec); err != nil {
				return err
			}
			if err := s.appendAudit(tx, now, "sender:"+senderID, "schedule", "letter:"+id); err != nil {
				return err
			}
			out = DeliveryResult{Letter: printStatus(rec)}
			return nil
		}
		rec.QueuedAt = now
		if err := tx.Print().Put(rec); err != nil {
			return err
		}
		if err := s.appendAudit(tx, now, "sender:"+senderID, "queue-for-print", "letter:"+id); err != nil {
			return err
		}
		if err := appendEvent(tx, &letterRecord{ID: id, SenderID: senderID, SenderReference: d.SenderReference}, EventQueuedForPrint, now); err != nil {
			return err
		}
		out = DeliveryResult{Letter: printStatus(rec)}
		return nil
	})
	return out, err
}

// sealPrintCopy makes the print queue's record of a checked delivery
// with print details, its address and documents sealed to the print key;
// neither queued nor waiting yet.
func (s *Store) sealPrintCopy(ctx context.Context, id, senderID string, d *Delivery, docs []DocumentInput, hash string) (*storage.PrintLetter, error) {
	var pub crypto.PublicKey
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		pub, err = printPublicKey(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	dk, err := crypto.NewDataKey(s.rand)
	if err != nil {
		return nil, err
	}
	defer dk.Zero()
	rec := &storage.PrintLetter{
		ID: id, SenderID: senderID, SenderReference: d.SenderReference,
		ContentHash: printHash(hash, d.Print.Address), LetterHash: hash,
		Reason: d.Print.When, Documents: len(docs),
	}
	for _, n := range d.printPages {
		rec.Pages += n
	}
	if rec.SealedKey, err = crypto.SealDataKey(s.rand, dk, pub, printBinding(id, senderID)); err != nil {
		return nil, err
	}
	plain, err := json.Marshal(printCopy{Address: d.Print.Address, Documents: docs})
	if err != nil {
		return nil, err
	}
	rec.Sealed, err = dk.SealDocument(s.rand, "print", plain)
	clear(plain)
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// cancelUnreadPrint deletes the copy of a letter waiting to be printed if
// unread (its resident read it, or it is gone); none is no error.
func cancelUnreadPrint(tx storage.Tx, letterID string) error {
	p, err := tx.Print().Get(letterID)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if !p.Waiting() {
		return nil
	}
	return tx.Print().Delete(letterID)
}

// QueueUnread queues for print the letters still unread at their
// unreadAfter and the letters to print scheduled (notBefore) for now or
// earlier, each with its "queued-for-print" event, in transactions of
// up to releaseBatch letters; a letter read, or no longer in its
// mailbox (deleted by its resident, with the account, by retention), has
// its copy deleted instead. It returns how many it queued.
func (s *Store) QueueUnread(ctx context.Context) (int, error) {
	total := 0
	for {
		seen, queued := 0, 0
		err := s.update(ctx, func(tx storage.Tx) error {
			seen, queued = 0, 0
			now := s.now()
			var due []*storage.PrintLetter
			if err := tx.Print().Waiting(now, func(p *storage.PrintLetter) (bool, error) {
				due = append(due, p)
				return len(due) < releaseBatch, nil
			}); err != nil {
				return err
			}
			seen = len(due)
			for _, p := range due {
				// A letter scheduled for print is in no mailbox.
				rec := &letterRecord{ID: p.ID, SenderID: p.SenderID, SenderReference: p.SenderReference}
				if p.Reason != PrintNotDigital {
					var err error
					rec, err = tx.Letters().Get(p.ID)
					if err != nil && !errors.Is(err, ErrNotFound) {
						return err
					}
					if err != nil || rec.IsTombstone() || !rec.ReadAt.IsZero() {
						if err := tx.Print().Delete(p.ID); err != nil {
							return err
						}
						continue
					}
				}
				p.WaitUntil, p.QueuedAt = time.Time{}, now
				if err := tx.Print().Put(p); err != nil {
					return err
				}
				if err := s.appendAudit(tx, now, "sender:"+p.SenderID, "queue-for-print", "letter:"+p.ID); err != nil {
					return err
				}
				if err := appendEvent(tx, rec, EventQueuedForPrint, now); err != nil {
					return err
				}
				queued++
			}
			return nil
		})
		total += queued
		if err != nil || seen < releaseBatch {
			return total, err
		}
	}
}

// PrintBatch is a batch of letters to print, opened for the operator's
// export.
type PrintBatch struct {
	ID       string
	Exported time.Time
	Letters  []PrintItem
}

// PrintItem is one letter of a batch: its address and its documents.
type PrintItem struct {
	ID              string
	SenderID        string
	SenderName      string
	SenderOrgNumber string
	SenderReference string
	QueuedAt        time.Time
	Address         PrintAddress
	Pages           int
	Documents       []PrintDocument
}

// PrintDocument is a document of a letter to print.
type PrintDocument struct {
	Name    string
	Pages   int
	Content []byte
}

// ExportPrint puts the queued letters that are in no batch yet (at most
// maxPrintBatch, and maxPrintBatchBytes of documents) into a new batch and
// returns it opened. With nothing queued it returns ErrNotFound.
func (s *Store) ExportPrint(ctx context.Context, key []byte) (PrintBatch, error) {
	// The key first: a wrong one must not put letters in a batch.
	k, err := s.openPrintKey(ctx, key)
	if err != nil {
		return PrintBatch{}, err
	}
	defer k.Zero()
	batchID, err := s.newLetterID()
	if err != nil {
		return PrintBatch{}, err
	}
	var recs []*storage.PrintLetter
	var at time.Time
	err = s.update(ctx, func(tx storage.Tx) error {
		recs, at = nil, s.now()
		size := 0
		err := tx.Print().Pending(func(p *storage.PrintLetter) (bool, error) {
			if p.Batch != "" {
				return true, nil
			}
			if len(recs) > 0 && size+len(p.Sealed) > maxPrintBatchBytes {
				return false, nil
			}
			size += len(p.Sealed)
			p.Batch, p.ExportedAt = batchID, at
			recs = append(recs, p)
			return len(recs) < maxPrintBatch, nil
		})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return fmt.Errorf("letters to print: %w", ErrNotFound)
		}
		for _, p := range recs {
			if err := tx.Print().Put(p); err != nil {
				return err
			}
		}
		return s.appendAuditDetail(tx, at, operatorActor(ctx), "print-export", "print-batch:"+batchID,
			fmt.Sprintf("%d letters", len(recs)))
	})
	if err != nil {
		return PrintBatch{}, err
	}
	return s.openBatch(ctx, k, batchID, at, recs)
}

// ExportPrintBatch opens an exported batch again, for an export whose
// files were lost; it changes nothing. A batch already printed has no
// content left: ErrNotFound, as an unknown batch.
func (s *Store) ExportPrintBatch(ctx context.Context, batchID string, key []byte) (PrintBatch, error) {
	k, err := s.openPrintKey(ctx, key)
	if err != nil {
		return PrintBatch{}, err
	}
	defer k.Zero()
	var recs []*storage.PrintLetter
	err = s.view(ctx, func(tx storage.Tx) error {
		var err error
		recs, err = batchLetters(tx, batchID)
		return err
	})
	if err != nil {
		return PrintBatch{}, err
	}
	if len(recs) == 0 {
		return PrintBatch{}, fmt.Errorf("print batch %q not waiting to be printed: %w", batchID, ErrNotFound)
	}
	return s.openBatch(ctx, k, batchID, recs[0].ExportedAt, recs)
}

// batchLetters returns the letters of a batch not printed yet.
func batchLetters(tx storage.Tx, batchID string) ([]*storage.PrintLetter, error) {
	var out []*storage.PrintLetter
	err := tx.Print().Pending(func(p *storage.PrintLetter) (bool, error) {
		if p.Batch == batchID {
			out = append(out, p)
		}
		return true, nil
	})
	return out, err
}

// openBatch opens the print copies of a batch with the print key.
func (s *Store) openBatch(ctx context.Context, k *crypto.PrivateKey, batchID string, at time.Time, recs []*storage.PrintLetter) (PrintBatch, error) {
	senders := map[string]*senderRecord{}
	err := s.view(ctx, func(tx storage.Tx) error {
		for _, p := range recs {
			if senders[p.SenderID] != nil {
				continue
			}
			sr, err := tx.Senders().Get(p.SenderID)
			if err != nil {
				return fmt.Errorf("sender of print letter %s: %w", p.ID, err)
			}
			senders[p.SenderID] = sr
		}
		return nil
	})
	if err != nil {
		return PrintBatch{}, err
	}
	b := PrintBatch{ID: batchID, Exported: at}
	for _, p := range recs {
		dk, err := k.OpenDataKey(p.SealedKey, printBinding(p.ID, p.SenderID))
		if err != nil {
			return PrintBatch{}, fmt.Errorf("open print letter %s: %w", p.ID, err)
		}
		plain, err := dk.OpenDocument("print", p.Sealed)
		dk.Zero()
		if err != nil {
			return PrintBatch{}, fmt.Errorf("open print letter %s: %w", p.ID, err)
		}
		var c printCopy
		if err := json.Unmarshal(plain, &c); err != nil {
			return PrintBatch{}, fmt.Errorf("decode print letter %s: %w", p.ID, err)
		}
		item := PrintItem{ID: p.ID, SenderID: p.SenderID, SenderName: senders[p.SenderID].Name,
			SenderOrgNumber: senders[p.SenderID].OrgNumber, SenderReference: p.SenderReference,
			QueuedAt: p.QueuedAt, Address: c.Address, Pages: p.Pages}
		for _, d := range c.Documents {
			n, err := pdfPages(d.Content)
			if err != nil {
				return PrintBatch{}, fmt.Errorf("print letter %s: %w", p.ID, err)
			}
			item.Documents = append(item.Documents, PrintDocument{Name: d.Name, Pages: n, Content: d.Content})
		}
		b.Letters = append(b.Letters, item)
	}
	return b, nil
}

// PrintDone marks every letter of an exported batch printed: its sealed
// copy is deleted and its sender gets a "printed" event, in one
// transaction. It returns how many letters it marked; a batch whose
// letters are all printed already gives 0 and no error (done twice), an
// unknown batch ErrNotFound.
func (s *Store) PrintDone(ctx context.Context, batchID string) (int, error) {
	var n int
	err := s.update(ctx, func(tx storage.Tx) error {
		now := s.now()
		recs, err := batchLetters(tx, batchID)
		if err != nil {
			return err
		}
		n = len(recs)
		if n == 0 {
			// Done before, or never exported.
			known := false
			err := tx.Print().All(func(p *storage.PrintLetter) error {
				known = known || p.Batch == batchID
				return nil
			})
			if err == nil && !known {
				err = fmt.Errorf("print batch %q: %w", batchID, ErrNotFound)
			}
			return err
		}
		for _, p := range recs {
			p.PrintedAt, p.SealedKey, p.Sealed = now, nil, nil
			if err := tx.Print().Put(p); err != nil {
				return err
			}
			if err := appendEvent(tx, &letterRecord{ID: p.ID, SenderID: p.SenderID, SenderReference: p.SenderReference}, EventPrinted, now); err != nil {
				return err
			}
		}
		return s.appendAuditDetail(tx, now, operatorActor(ctx), "print-done", "print-batch:"+batchID, fmt.Sprintf("%d letters", n))
	})
	return n, err
}

// PrintQueueStatus is the state of the print queue for the operator.
type PrintQueueStatus struct {
	// Queued letters in no batch yet, and their pages.
	Queued, QueuedPages int
	// Batches exported and not yet marked printed, oldest first.
	Exported []PrintBatchStatus
	// Printed letters so far.
	Printed int
}

// PrintBatchStatus is an exported batch waiting to be marked printed.
type PrintBatchStatus struct {
	ID       string
	Exported time.Time
	Letters  int
	Pages    int
}

// PrintStatus returns the state of the print queue.
func (s *Store) PrintStatus(ctx context.Context) (PrintQueueStatus, error) {
	var st PrintQueueStatus
	err := s.view(ctx, func(tx storage.Tx) error {
		st = PrintQueueStatus{}
		batches := map[string]int{} // batch id → index in st.Exported
		return tx.Print().Pending(func(p *storage.PrintLetter) (bool, error) {
			if p.Batch == "" {
				st.Queued++
				st.QueuedPages += p.Pages
				return true, nil
			}
			i, ok := batches[p.Batch]
			if !ok {
				i = len(st.Exported)
				batches[p.Batch] = i
				st.Exported = append(st.Exported, PrintBatchStatus{ID: p.Batch, Exported: p.ExportedAt})
			}
			st.Exported[i].Letters++
			st.Exported[i].Pages += p.Pages
			return true, nil
		})
	})
	if err != nil {
		return st, err
	}
	err = s.view(ctx, func(tx storage.Tx) error {
		return tx.Print().All(func(p *storage.PrintLetter) error {
			if p.Printed() {
				st.Printed++
			}
			return nil
		})
	})
	return st, err
}
