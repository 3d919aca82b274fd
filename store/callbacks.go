package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"
)

// Callbacks (API.md, "Events and callbacks"). A sender may register one
// callback URL. From then on every event appended to its feed is also put
// in its callback outbox, in the same transaction (appendEvent), and the
// callbacks job POSTs the outbox's events to the URL one at a time, in
// order of the feed, each taken out only when the receiver answered 2xx.
// While the event at the head fails, nothing behind it is sent (the order
// of each letter's events is kept: a letter's events are made by
// transactions that each change the letter, so they commit in the order
// of their numbers, on either engine), and it is tried again after a
// backoff that doubles up to a ceiling. When it has failed for longer
// than the policy's GiveUpAfter, the callback is given up: its outbox is
// emptied and nothing more is queued until the URL is registered again;
// the sender reads what it missed from the feed, from GivenUpFrom. The
// feed stays the source of truth: an event is never only in the outbox.
//
// Whether the URL's host is a public address is not a rule of the store
// (it needs the network): the callers check it when the URL is registered
// and the job at each connection.

// Callback is a sender's callback as the sender and the operator see it.
type Callback struct {
	storage.Callback
	// Queued is how many events wait in its outbox.
	Queued int
}

// State names where a callback is: "ok" (nothing waits), "pending"
// (events wait and none failed yet), "retrying" (the event at the head
// failed and waits for its next attempt) or "given-up".
func (c Callback) State() string {
	switch {
	case !c.GivenUp.IsZero():
		return "given-up"
	case c.Attempts > 0:
		return "retrying"
	case c.Queued > 0:
		return "pending"
	}
	return "ok"
}

// CallbackPolicy says how callbacks are registered and retried. Zero
// fields are the defaults.
type CallbackPolicy struct {
	// AllowHTTP accepts http:// URLs (the demo, on one machine); else only
	// https:// is accepted.
	AllowHTTP bool
	// FirstBackoff is the wait after the first failure, doubled after
	// each; default 30 seconds. MaxBackoff is the longest; default 1 hour.
	FirstBackoff, MaxBackoff time.Duration
	// GiveUpAfter is how long the event at the head may go on failing
	// before the callback is given up; default 72 hours, at most
	// KeepEvents.
	GiveUpAfter time.Duration
}

// WithDefaults fills the zero fields.
func (p CallbackPolicy) WithDefaults() CallbackPolicy {
	if p.FirstBackoff <= 0 {
		p.FirstBackoff = 30 * time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = time.Hour
	}
	if p.GiveUpAfter <= 0 {
		p.GiveUpAfter = 72 * time.Hour
	}
	return p
}

// Validate checks a policy with its defaults.
func (p CallbackPolicy) Validate() error {
	p = p.WithDefaults()
	if p.MaxBackoff < p.FirstBackoff {
		return fmt.Errorf("callback retries: the longest wait %s is shorter than the first %s", p.MaxBackoff, p.FirstBackoff)
	}
	if p.GiveUpAfter > KeepEvents {
		return fmt.Errorf("callback retries: giving up after %s is longer than events are kept (%s)", p.GiveUpAfter, KeepEvents)
	}
	return nil
}

// Backoff returns the wait after the given number of failed attempts (1
// for the first).
func (p CallbackPolicy) Backoff(attempts int) time.Duration {
	return RetryPolicy{FirstBackoff: p.FirstBackoff, MaxBackoff: p.MaxBackoff}.Backoff(attempts)
}

// maxCallbackURL bounds a callback URL's length.
const maxCallbackURL = 2000

// CheckCallbackURL checks a callback URL's form and returns it parsed:
// https (http only when allowed), a host, no user name or password, no
// fragment, at most 2,000 bytes of printable ASCII. Errors are
// *InvalidError of the field "url".
func CheckCallbackURL(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, invalid("url", "required: the https:// address events are POSTed to")
	}
	if len(raw) > maxCallbackURL || !utf8.ValidString(raw) {
		return nil, invalid("url", "at most %d bytes", maxCallbackURL)
	}
	for _, c := range raw {
		if c <= ' ' || c >= 0x7f {
			return nil, invalid("url", "only printable ASCII without spaces (percent-encode the rest)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid("url", "not a URL")
	}
	switch {
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme != "https":
		return nil, invalid("url", "must be https://")
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, invalid("url", "has no host")
	}
	if u.User != nil {
		return nil, invalid("url", "must not hold a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, invalid("url", "must not have a fragment (#…)")
	}
	return u, nil
}

// SetCallback registers (or replaces) a sender's callback URL. The
// events already waiting are sent to the new URL; a callback that was
// given up goes on with the events from now on. The caller has checked
// the URL's host (package netguard). A revoked sender is
// ErrSenderRevoked. bySender says who asked, for the audit log: the
// sender (the API) or the operator.
func (s *Store) SetCallback(ctx context.Context, senderID, rawURL string, p CallbackPolicy, bySender bool) (Callback, error) {
	u, err := CheckCallbackURL(rawURL, p.AllowHTTP)
	if err != nil {
		return Callback{}, err
	}
	actor := operatorActor(ctx)
	if bySender {
		actor = "sender:" + senderID
	}
	now := s.now()
	var out Callback
	err = s.update(ctx, func(tx storage.Tx) error {
		snd, err := getSender(tx, senderID)
		if err != nil {
			return err
		}
		if snd.Revoked {
			return ErrSenderRevoked
		}
		rec := &storage.Callback{SenderID: senderID}
		if old, err := tx.Callbacks().Get(senderID); err == nil {
			rec.Delivered, rec.DeliveredAt = old.Delivered, old.DeliveredAt
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		rec.URL, rec.Set = u.String(), now
		if err := tx.Callbacks().Put(rec); err != nil {
			return err
		}
		n, err := tx.Callbacks().Count(senderID)
		if err != nil {
			return err
		}
		out = Callback{Callback: *rec, Queued: n}
		return s.appendAuditDetail(tx, now, actor, "set-callback", "sender:"+senderID, truncateUTF8(rec.URL, auditlog.MaxFieldSize))
	})
	return out, err
}

// RemoveCallback removes a sender's callback and the events waiting in
// its outbox (they stay in the feed). It reports whether there was one.
func (s *Store) RemoveCallback(ctx context.Context, senderID string, bySender bool) (bool, error) {
	actor := operatorActor(ctx)
	if bySender {
		actor = "sender:" + senderID
	}
	now := s.now()
	var had bool
	err := s.update(ctx, func(tx storage.Tx) error {
		had = false
		if _, err := getSender(tx, senderID); err != nil {
			return err
		}
		if _, err := tx.Callbacks().Get(senderID); errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		had = true
		if err := tx.Callbacks().Delete(senderID); err != nil {
			return err
		}
		return s.appendAudit(tx, now, actor, "remove-callback", "sender:"+senderID)
	})
	return had, err
}

// CallbackOf returns a sender's callback; none is ErrNotFound.
func (s *Store) CallbackOf(ctx context.Context, senderID string) (Callback, error) {
	var out Callback
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := tx.Callbacks().Get(senderID)
		if err != nil {
			return err
		}
		n, err := tx.Callbacks().Count(senderID)
		out = Callback{Callback: *rec, Queued: n}
		return err
	})
	return out, err
}

// Callbacks returns every sender's callback, for the operator.
func (s *Store) Callbacks(ctx context.Context) ([]Callback, error) {
	var out []Callback
	err := s.view(ctx, func(tx storage.Tx) error {
		out = out[:0]
		return tx.Callbacks().All(func(rec *storage.Callback) error {
			n, err := tx.Callbacks().Count(rec.SenderID)
			out = append(out, Callback{Callback: *rec, Queued: n})
			return err
		})
	})
	return out, err
}

// queueCallback puts an event in its sender's callback outbox, within the
// transaction that appended it, when the sender has a callback that is
// not given up.
func queueCallback(tx storage.Tx, e *Event) error {
	cb, err := tx.Callbacks().Get(e.SenderID)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if !cb.GivenUp.IsZero() {
		return nil
	}
	return tx.Callbacks().Queue(e)
}

// CallbackDelivery is the next event to POST to a sender's callback.
type CallbackDelivery struct {
	SenderID string
	URL      string
	// Set is when the URL was registered: a result reported for a
	// delivery to a URL replaced since is ignored.
	Set   time.Time
	Event Event
}

// NextCallback returns the event at the head of a sender's outbox when
// its callback is due (not given up, no failure waiting for a later
// attempt); ok is false when there is none.
func (s *Store) NextCallback(ctx context.Context, senderID string) (d CallbackDelivery, ok bool, err error) {
	now := s.now()
	err = s.view(ctx, func(tx storage.Tx) error {
		ok = false
		// No event is POSTed before an earlier one that commits later.
		if err := tx.Events().Settle(senderID); err != nil {
			return err
		}
		evs, err := tx.Callbacks().Queued(senderID, 1)
		if err != nil || len(evs) == 0 {
			return err
		}
		cb, err := tx.Callbacks().Get(senderID)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if !cb.GivenUp.IsZero() || cb.NextAttempt.After(now) {
			return nil
		}
		d, ok = CallbackDelivery{SenderID: senderID, URL: cb.URL, Set: cb.Set, Event: *evs[0]}, true
		return nil
	})
	return d, ok, err
}

// DueCallbacks returns the senders whose callback has an event due now.
func (s *Store) DueCallbacks(ctx context.Context) ([]string, error) {
	now := s.now()
	var out []string
	err := s.view(ctx, func(tx storage.Tx) error {
		out = out[:0]
		return tx.Callbacks().All(func(cb *storage.Callback) error {
			if !cb.GivenUp.IsZero() || cb.NextAttempt.After(now) {
				return nil
			}
			evs, err := tx.Callbacks().Queued(cb.SenderID, 1)
			if len(evs) > 0 {
				out = append(out, cb.SenderID)
			}
			return err
		})
	})
	return out, err
}

// changeCallback runs fn on the callback a delivery was made to, in one
// transaction; a callback removed or registered again since is left as
// it is (fn is not called).
func (s *Store) changeCallback(ctx context.Context, d CallbackDelivery, fn func(tx storage.Tx, cb *storage.Callback, now time.Time) error) error {
	now := s.now()
	return s.update(ctx, func(tx storage.Tx) error {
		cb, err := tx.Callbacks().Get(d.SenderID)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if !cb.Set.Equal(d.Set) || cb.URL != d.URL {
			return nil
		}
		if err := fn(tx, cb, now); err != nil {
			return err
		}
		return tx.Callbacks().Put(cb)
	})
}

// CallbackDelivered records that the receiver acknowledged the event
// (answered 2xx): it leaves the outbox and the failures are forgotten.
func (s *Store) CallbackDelivered(ctx context.Context, d CallbackDelivery) error {
	return s.changeCallback(ctx, d, func(tx storage.Tx, cb *storage.Callback, now time.Time) error {
		if err := tx.Callbacks().Dequeue(d.SenderID, d.Event.Seq); err != nil {
			return err
		}
		cb.Delivered, cb.DeliveredAt = d.Event.Seq, now
		cb.Attempts, cb.FirstFailure, cb.LastError, cb.NextAttempt = 0, time.Time{}, "", time.Time{}
		return nil
	})
}

// CallbackFailed records a failed attempt to POST the event (no answer,
// a time-out, an answer other than 2xx; the reason, at most 500 bytes, is
// kept for the operator) and when it is due again. When the head event
// has been failing for longer than the policy's GiveUpAfter, the
// callback is given up: its outbox is emptied (the events stay in the
// feed) and nothing more is queued until the URL is registered again.
// It returns the callback as it now is.
func (s *Store) CallbackFailed(ctx context.Context, d CallbackDelivery, reason string, p CallbackPolicy) (Callback, error) {
	p = p.WithDefaults()
	reason = truncateUTF8(strings.ToValidUTF8(reason, "?"), 500)
	var out Callback
	err := s.changeCallback(ctx, d, func(tx storage.Tx, cb *storage.Callback, now time.Time) error {
		if cb.Attempts == 0 {
			cb.FirstFailure = now
		}
		cb.Attempts++
		cb.LastError = reason
		cb.NextAttempt = now.Add(p.Backoff(cb.Attempts))
		if now.Sub(cb.FirstFailure) >= p.GiveUpAfter {
			cb.GivenUp, cb.GivenUpFrom, cb.NextAttempt = now, d.Event.Seq, time.Time{}
			if _, err := tx.Callbacks().Clear(d.SenderID); err != nil {
				return err
			}
			if err := s.appendAuditDetail(tx, now, "appliance", "give-up-callback", "sender:"+d.SenderID,
				truncateUTF8(fmt.Sprintf("from event %d: %s", d.Event.Seq, reason), auditlog.MaxFieldSize)); err != nil {
				return err
			}
		}
		n, err := tx.Callbacks().Count(d.SenderID)
		out = Callback{Callback: *cb, Queued: n}
		return err
	})
	return out, err
}
