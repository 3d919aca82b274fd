package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// Event is a change of a letter that its sender may know, in the sender's
// feed (API.md, "Events and callbacks"). Its Seq, as a decimal string, is
// the feed's cursor.
type Event = storage.Event

// Types of events.
const (
	EventDelivered        = "delivered"
	EventRead             = "read"
	EventPaidMarked       = "paid-marked"
	EventMadeInaccessible = "made-inaccessible"
	EventDeleted          = "deleted"
	// EventSigned and EventSignatureDeclined: the resident answered the
	// letter's signature request (signing.go).
	EventSigned            = "signed"
	EventSignatureDeclined = "signature-declined"
)

// EventJSON is an event as the API shows it, in the feed and as the body
// of a callback (API.md, "Events and callbacks"). Cursor is the feed's
// cursor after it: a receiver of callbacks recognises an event sent twice
// by it.
type EventJSON struct {
	Cursor          string    `json:"cursor"`
	Type            string    `json:"type"`
	LetterID        string    `json:"letterId"`
	SenderReference string    `json:"senderReference"`
	At              time.Time `json:"at"`
	// ReplyID names the reply of a "reply" event (GET
	// /api/v1/replies/{id}); absent from the others.
	ReplyID string `json:"replyId,omitempty"`
	// WrittenBy says who wrote a reply on the recipient's behalf (a
	// delegate with access to their mailbox); absent when the recipient
	// wrote it, and from other events.
	WrittenBy *DeputyJSON `json:"writtenBy,omitempty"`
	// SignedBy says who answered a signature request on the recipient's
	// behalf ("signed" or "signature-declined"), with their own signing
	// key; absent when the recipient answered, and from other events.
	SignedBy *DeputyJSON `json:"signedBy,omitempty"`
}

// DeputyJSON is EventJSON.WrittenBy and SignedBy: the name of the one
// who acted on the recipient's behalf, and role "delegate" (a power of
// attorney the recipient gave) or "guardian" (a guardianship or lasting
// power of attorney recorded by the municipality).
type DeputyJSON struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// EventJSONOf returns the event as the API shows it.
func EventJSONOf(e Event) EventJSON {
	out := EventJSON{Cursor: strconv.FormatUint(e.Seq, 10), Type: e.Type, LetterID: e.LetterID,
		SenderReference: e.SenderReference, At: e.At, ReplyID: e.ReplyID}
	if d := e.WrittenBy; d != nil {
		out.WrittenBy = &DeputyJSON{Name: d.Name, Role: d.Role}
	}
	if d := e.SignedBy; d != nil {
		out.SignedBy = &DeputyJSON{Name: d.Name, Role: d.Role}
	}
	return out
}

// KeepEvents is how long a sender's events are kept at least.
const KeepEvents = 180 * 24 * time.Hour

// appendEvent records an event of a letter for its sender, within the
// transaction of the change, and in the sender's callback outbox when it
// has a callback (callbacks.go); an imported letter's changes, and an own
// document's, are no sender's events here.
func appendEvent(tx storage.Tx, rec *letterRecord, typ string, at time.Time) error {
	if rec.Imported != nil || rec.Own != nil {
		// An imported letter's sender is another appliance's, and hears
		// nothing from this one; an own document has no sender.
		return nil
	}
	e := &Event{SenderID: rec.SenderID, Type: typ, LetterID: rec.ID, SenderReference: rec.SenderReference, At: at}
	if err := tx.Events().Append(e); err != nil {
		return err
	}
	return queueCallback(tx, e)
}

// Events returns up to limit (1 to 1,000) of a sender's events after the
// cursor ("" for the first), oldest first, and the cursor to ask with
// next (the last event's, or the one given when there was none).
func (s *Store) Events(ctx context.Context, senderID, after string, limit int) ([]Event, string, error) {
	if limit < 1 || limit > 1000 {
		return nil, "", invalid("limit", "%d: 1 to 1000", limit)
	}
	var from uint64
	if after != "" {
		n, err := strconv.ParseUint(after, 10, 64)
		if err != nil {
			return nil, "", invalid("after", "not a cursor of this feed")
		}
		from = n
	}
	var out []Event
	err := s.view(ctx, func(tx storage.Tx) error {
		// A cursor never passes an event that commits after a later one.
		if err := tx.Events().Settle(senderID); err != nil {
			return err
		}
		evs, err := tx.Events().After(senderID, from, limit)
		for _, e := range evs {
			out = append(out, *e)
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := after
	if len(out) > 0 {
		next = strconv.FormatUint(out[len(out)-1].Seq, 10)
	}
	return out, next, nil
}

// PruneEvents deletes events older than KeepEvents and returns how many.
func (s *Store) PruneEvents(ctx context.Context) (int, error) {
	before := s.now().Add(-KeepEvents)
	var n int
	err := s.update(ctx, func(tx storage.Tx) error {
		var err error
		n, err = tx.Events().Prune(before)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return n, nil
}
