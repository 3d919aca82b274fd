package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store/storage"
)

// NotificationKind is what a notification is about.
type NotificationKind = storage.NotificationKind

// Notification kinds.
const (
	// NotifyLetter: a letter was delivered. The notification names the
	// sender (unless the letter is sensitive) and the letter type, never
	// the subject or the content.
	NotifyLetter = storage.NotifyLetter
	// NotifyInactivityWarning: the account will be deleted for inactivity
	// on DeleteAt unless the resident logs in.
	NotifyInactivityWarning = storage.NotifyInactivityWarning
	// NotifyMailboxReset: the mailbox was reset (reset.go) at Created,
	// with a reset code or eID: its letters deleted, a new password
	// chosen. If the resident did not do it, they must act at once.
	NotifyMailboxReset = storage.NotifyMailboxReset
)

// Channel is how a notification reaches a resident.
type Channel = storage.Channel

// Channels.
const (
	ChannelEmail = storage.ChannelEmail
	ChannelSMS   = storage.ChannelSMS
)

// NotificationState is where a notification is in its life:
// pending → sent, or pending → (retry later, still pending) → dead after
// the last attempt or a permanent failure.
type NotificationState = storage.NotificationState

// Notification states.
const (
	NotificationPending = storage.NotificationPending
	NotificationSent    = storage.NotificationSent
	NotificationDead    = storage.NotificationDead
)

// Notification is one message to one resident on one channel, as the
// outbox holds it. It never holds a letter's subject or content; for a
// letter marked sensitive not even the sender's name.
type Notification struct {
	// ID names the notification; it is the idempotency key a sender of
	// e-mail or SMS passes on (Message-ID, gateway header), so a message
	// sent twice after a crash can be recognised as one.
	ID          string
	ResidentID  string
	Kind        NotificationKind
	Channel     Channel
	To          string     // e-mail address or E.164 phone number, as chosen when queued
	Language    string     // the resident's language when queued (Languages), "" when not chosen
	SenderName  string     // NotifyLetter, unless the letter is sensitive
	LetterType  LetterType // NotifyLetter
	DeliveredAt time.Time  // NotifyLetter
	DeleteAt    time.Time  // NotifyInactivityWarning
	Created     time.Time
	State       NotificationState
	Attempts    int
	NextAttempt time.Time // while pending
	LastError   string
	SentAt      time.Time
	Updated     time.Time // last change of state
}

// outboxRecord is a notification as the engine stores it, keyed by
// resident and sequence number.
type outboxRecord = storage.Notification

// notificationID names a notification outside the store: the resident id
// and the sequence number in 16 hex digits.
func notificationID(r *outboxRecord) string { return r.ResidentID + fmt.Sprintf("%016x", r.Seq) }

func notificationOf(r *outboxRecord) Notification {
	return Notification{
		ID: notificationID(r), ResidentID: r.ResidentID, Kind: r.Kind,
		Channel: r.Channel, To: r.To, Language: r.Language, SenderName: r.SenderName, LetterType: r.LetterType,
		DeliveredAt: r.DeliveredAt, DeleteAt: r.DeleteAt, Created: r.Created, State: r.State,
		Attempts: r.Attempts, NextAttempt: r.NextAttempt, LastError: r.LastError, SentAt: r.SentAt,
		Updated: r.Updated,
	}
}

// parseNotificationID splits a notification id into its resident and
// sequence number.
func parseNotificationID(id string) (residentID string, seq uint64, err error) {
	if len(id) != 48 {
		return "", 0, fmt.Errorf("notification %q: %w", id, ErrNotFound)
	}
	raw, err := hex.DecodeString(id[32:])
	if err != nil {
		return "", 0, fmt.Errorf("notification %q: %w", id, ErrNotFound)
	}
	return id[:32], binary.BigEndian.Uint64(raw), nil
}

// queueNotification adds tmpl to the outbox once for each channel the
// resident has turned on, due now. With no channel on it adds nothing.
func (s *Store) queueNotification(tx storage.Tx, residentID string, tmpl outboxRecord, now time.Time) error {
	prefs, err := tx.Preferences().Get(residentID)
	if err != nil {
		return err
	}
	for _, ch := range preferencesOf(prefs).Channels() {
		rec := tmpl
		rec.ResidentID, rec.Channel, rec.Language = residentID, ch, prefs.Language
		rec.To = prefs.Email
		if ch == ChannelSMS {
			rec.To = prefs.Phone
		}
		rec.Created, rec.Updated, rec.NextAttempt, rec.State = now, now, now, NotificationPending
		if err := tx.Outbox().Add(&rec); err != nil {
			return err
		}
	}
	return nil
}

// queueLetterNotification queues the notifications of a delivered letter
// in the delivery's transaction. The sender's name is left out when the
// letter is sensitive; the subject and content are never part of it.
func (s *Store) queueLetterNotification(tx storage.Tx, rec *letterRecord, now time.Time) error {
	n := outboxRecord{Kind: NotifyLetter, LetterType: rec.Type, DeliveredAt: rec.DeliveredAt}
	if !rec.Sensitive {
		snd, err := getSender(tx, rec.SenderID)
		if err != nil {
			return err
		}
		n.SenderName = snd.Name
	}
	return s.queueNotification(tx, rec.ResidentID, n, now)
}

// deleteOutboxOf deletes every notification of a resident, pending or
// not.
func deleteOutboxOf(tx storage.Tx, residentID string) error {
	recs, err := tx.Outbox().OfResident(residentID)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := tx.Outbox().Delete(rec); err != nil {
			return err
		}
	}
	return nil
}

// DueNotifications returns up to limit pending notifications whose next
// attempt is due now, the longest waiting first.
func (s *Store) DueNotifications(ctx context.Context, limit int) ([]Notification, error) {
	now := s.now()
	var out []Notification
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Outbox().Due(now, func(rec *outboxRecord) bool {
			if len(out) >= limit {
				return false
			}
			out = append(out, notificationOf(rec))
			return true
		})
	})
	return out, err
}

// changeNotification runs fn on a notification in one transaction and
// keeps its due index entry in step with its state and next attempt.
func (s *Store) changeNotification(ctx context.Context, id string, fn func(rec *outboxRecord, now time.Time)) (Notification, error) {
	residentID, seq, err := parseNotificationID(id)
	if err != nil {
		return Notification{}, err
	}
	now := s.now()
	var out Notification
	err = s.update(ctx, func(tx storage.Tx) error {
		rec, err := tx.Outbox().Get(residentID, seq)
		if err != nil {
			return fmt.Errorf("notification %s: %w", id, err)
		}
		fn(rec, now)
		out = notificationOf(rec)
		return tx.Outbox().Put(rec)
	})
	return out, err
}

// MarkNotificationSent records that a notification was handed to the
// mail server or SMS gateway. Marking a notification that is no longer
// pending changes nothing; one whose account was deleted meanwhile is
// ErrNotFound.
func (s *Store) MarkNotificationSent(ctx context.Context, id string) error {
	_, err := s.changeNotification(ctx, id, func(rec *outboxRecord, now time.Time) {
		if rec.State != NotificationPending {
			return
		}
		rec.Attempts++
		rec.State, rec.SentAt, rec.Updated, rec.NextAttempt, rec.LastError = NotificationSent, now, now, time.Time{}, ""
	})
	return err
}

// RetryPolicy says how often and how soon a failed notification is tried
// again. Zero fields are the defaults.
type RetryPolicy struct {
	MaxAttempts  int           // attempts in all before the notification is dead; default 10
	FirstBackoff time.Duration // wait after the first failure, doubled after each; default 1 minute
	MaxBackoff   time.Duration // longest wait; default 6 hours
}

// WithDefaults fills the zero fields.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.FirstBackoff <= 0 {
		p.FirstBackoff = time.Minute
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 6 * time.Hour
	}
	return p
}

// Backoff returns the wait after the given number of failed attempts
// (1 for the first): FirstBackoff doubled for each further one, at most
// MaxBackoff.
func (p RetryPolicy) Backoff(attempts int) time.Duration {
	p = p.WithDefaults()
	d := p.FirstBackoff
	for i := 1; i < attempts && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// MarkNotificationFailed records a failed attempt. A permanent failure
// (the server refused the address for good), or the policy's last
// attempt, makes the notification dead; otherwise it is due again after
// the policy's backoff. The reason is kept for the operator (at most 500
// bytes). It returns the notification as it now is.
func (s *Store) MarkNotificationFailed(ctx context.Context, id, reason string, permanent bool, p RetryPolicy) (Notification, error) {
	p = p.WithDefaults()
	reason = truncateUTF8(strings.ToValidUTF8(reason, "?"), 500)
	return s.changeNotification(ctx, id, func(rec *outboxRecord, now time.Time) {
		if rec.State != NotificationPending {
			return
		}
		rec.Attempts++
		rec.LastError, rec.Updated = reason, now
		if permanent || rec.Attempts >= p.MaxAttempts {
			rec.State, rec.NextAttempt = NotificationDead, time.Time{}
			return
		}
		rec.NextAttempt = now.Add(p.Backoff(rec.Attempts))
	})
}

// DeferNotification makes a pending notification due again at until
// without counting an attempt: an SMS due outside the sending hours waits
// for their start.
func (s *Store) DeferNotification(ctx context.Context, id string, until time.Time) error {
	_, err := s.changeNotification(ctx, id, func(rec *outboxRecord, now time.Time) {
		if rec.State == NotificationPending {
			rec.NextAttempt = until.UTC().Round(time.Microsecond)
		}
	})
	return err
}

// RequeueNotification makes a dead notification pending again, due now,
// with its attempts counted from zero: the operator's retry after fixing
// the mail server or gateway.
func (s *Store) RequeueNotification(ctx context.Context, id string) error {
	_, err := s.changeNotification(ctx, id, func(rec *outboxRecord, now time.Time) {
		if rec.State == NotificationDead {
			rec.State, rec.Attempts, rec.NextAttempt, rec.Updated = NotificationPending, 0, now, now
		}
	})
	return err
}

// Notifications returns up to limit notifications in the given state
// (all states when state is empty), in the outbox's order, for the
// operator.
func (s *Store) Notifications(ctx context.Context, state NotificationState, limit int) ([]Notification, error) {
	var out []Notification
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Outbox().All(func(rec *outboxRecord) bool {
			if len(out) >= limit {
				return false
			}
			if state == "" || rec.State == state {
				out = append(out, notificationOf(rec))
			}
			return true
		})
	})
	return out, err
}

// OutboxCounts returns how many notifications are in each state.
func (s *Store) OutboxCounts(ctx context.Context) (map[NotificationState]int, error) {
	out := map[NotificationState]int{}
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Outbox().All(func(rec *outboxRecord) bool {
			out[rec.State]++
			return true
		})
	})
	return out, err
}

// PruneNotifications deletes the sent and dead notifications whose last
// change is before the given time and returns how many it deleted.
// Pending ones are kept whatever their age.
func (s *Store) PruneNotifications(ctx context.Context, before time.Time) (int, error) {
	// Look first, so a prune with nothing to do costs no write (and no
	// fsync).
	prunable := func(rec *outboxRecord) bool {
		return rec.State != NotificationPending && rec.Updated.Before(before)
	}
	var doomed []*outboxRecord
	if err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Outbox().All(func(rec *outboxRecord) bool {
			if prunable(rec) {
				doomed = append(doomed, rec)
			}
			return true
		})
	}); err != nil || len(doomed) == 0 {
		return 0, err
	}
	var n int
	err := s.update(ctx, func(tx storage.Tx) error {
		n = 0
		for _, d := range doomed {
			rec, err := tx.Outbox().Get(d.ResidentID, d.Seq)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if !prunable(rec) {
				continue // changed since
			}
			if err := tx.Outbox().Delete(rec); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// SendingHours is the part of the day in which SMS may be sent: from
// From:00 up to To:00 local time in Location (9 and 20 for "09–20"). A
// notification due outside them waits for the next start. The zero value
// allows every hour.
type SendingHours struct {
	From, To int
	Location *time.Location // nil = UTC
}

// Validate checks the hours.
func (h SendingHours) Validate() error {
	if h.From == 0 && h.To == 0 {
		return nil
	}
	if h.From < 0 || h.To > 24 || h.From >= h.To {
		return fmt.Errorf("sending hours %02d–%02d: want 0 ≤ from < to ≤ 24", h.From, h.To)
	}
	return nil
}

func (h SendingHours) loc() *time.Location {
	if h.Location == nil {
		return time.UTC
	}
	return h.Location
}

// Allows reports whether t is within the sending hours.
func (h SendingHours) Allows(t time.Time) bool {
	if h.From == 0 && (h.To == 0 || h.To == 24) {
		return true
	}
	hour := t.In(h.loc()).Hour()
	return hour >= h.From && hour < h.To
}

// Next returns t when it is within the sending hours, else the next start
// of them (From:00 local time, today or tomorrow).
func (h SendingHours) Next(t time.Time) time.Time {
	if h.Allows(t) || h.Validate() != nil {
		return t
	}
	local := t.In(h.loc())
	y, m, d := local.Date()
	start := time.Date(y, m, d, h.From, 0, 0, 0, h.loc())
	if !start.After(local) {
		start = time.Date(y, m, d+1, h.From, 0, 0, 0, h.loc())
	}
	return start
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
