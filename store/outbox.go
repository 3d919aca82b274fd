package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// NotificationKind is what a notification is about.
type NotificationKind string

// Notification kinds.
const (
	// NotifyLetter: a letter was delivered. The notification names the
	// sender (unless the letter is sensitive) and the letter type, never
	// the subject or the content.
	NotifyLetter NotificationKind = "letter"
	// NotifyInactivityWarning: the account will be deleted for inactivity
	// on DeleteAt unless the resident logs in.
	NotifyInactivityWarning NotificationKind = "inactivity-warning"
)

// Channel is how a notification reaches a resident.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// NotificationState is where a notification is in its life:
// pending → sent, or pending → (retry later, still pending) → dead after
// the last attempt or a permanent failure.
type NotificationState string

// Notification states.
const (
	NotificationPending NotificationState = "pending"
	NotificationSent    NotificationState = "sent"
	NotificationDead    NotificationState = "dead"
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

// outboxRecord is a notification in the outbox bucket, keyed by
// residentID | uint64 sequence.
type outboxRecord struct {
	Seq         uint64
	ResidentID  string
	Kind        NotificationKind
	Channel     Channel
	To          string
	Language    string     `json:",omitempty"`
	SenderName  string     `json:",omitempty"`
	LetterType  LetterType `json:",omitempty"`
	DeliveredAt time.Time  `json:",omitzero"`
	DeleteAt    time.Time  `json:",omitzero"`
	Created     time.Time
	State       NotificationState
	Attempts    int
	NextAttempt time.Time `json:",omitzero"`
	LastError   string    `json:",omitempty"`
	SentAt      time.Time `json:",omitzero"`
	Updated     time.Time
}

func (r *outboxRecord) key() []byte {
	return binary.BigEndian.AppendUint64([]byte(r.ResidentID), r.Seq)
}

func (r *outboxRecord) dueKey() []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(r.NextAttempt.UnixNano()))
	return append(k, r.key()...)
}

func (r *outboxRecord) notification() Notification {
	return Notification{
		ID: r.ResidentID + fmt.Sprintf("%016x", r.Seq), ResidentID: r.ResidentID, Kind: r.Kind,
		Channel: r.Channel, To: r.To, Language: r.Language, SenderName: r.SenderName, LetterType: r.LetterType,
		DeliveredAt: r.DeliveredAt, DeleteAt: r.DeleteAt, Created: r.Created, State: r.State,
		Attempts: r.Attempts, NextAttempt: r.NextAttempt, LastError: r.LastError, SentAt: r.SentAt,
		Updated: r.Updated,
	}
}

// outboxKey turns a notification id back into its outbox key.
func outboxKey(id string) ([]byte, error) {
	if len(id) != 48 {
		return nil, fmt.Errorf("notification %q: %w", id, ErrNotFound)
	}
	seq, err := hex.DecodeString(id[32:])
	if err != nil {
		return nil, fmt.Errorf("notification %q: %w", id, ErrNotFound)
	}
	return append([]byte(id[:32]), seq...), nil
}

// queueNotification adds tmpl to the outbox once for each channel the
// resident has turned on, due now. With no channel on it adds nothing.
func (s *Store) queueNotification(tx *bolt.Tx, residentID string, tmpl outboxRecord, now time.Time) error {
	prefs, err := getPreferenceRecord(tx, residentID)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketOutbox)
	for _, ch := range prefs.Channels() {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec := tmpl
		rec.Seq, rec.ResidentID, rec.Channel, rec.Language = seq, residentID, ch, prefs.Language
		rec.To = prefs.Email
		if ch == ChannelSMS {
			rec.To = prefs.Phone
		}
		rec.Created, rec.Updated, rec.NextAttempt, rec.State = now, now, now, NotificationPending
		if err := putJSON(b, rec.key(), &rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutboxDue).Put(rec.dueKey(), nil); err != nil {
			return err
		}
	}
	return nil
}

// queueLetterNotification queues the notifications of a delivered letter
// in the delivery's transaction. The sender's name is left out when the
// letter is sensitive; the subject and content are never part of it.
func (s *Store) queueLetterNotification(tx *bolt.Tx, rec *letterRecord, now time.Time) error {
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
// not, with its due index entry.
func deleteOutboxOf(tx *bolt.Tx, residentID string) error {
	b, due := tx.Bucket(bucketOutbox), tx.Bucket(bucketOutboxDue)
	var recs []outboxRecord
	c := b.Cursor()
	prefix := []byte(residentID)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var rec outboxRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode notification %x: %w", k, err)
		}
		recs = append(recs, rec)
	}
	for _, rec := range recs {
		if rec.State == NotificationPending {
			if err := due.Delete(rec.dueKey()); err != nil {
				return err
			}
		}
		if err := b.Delete(rec.key()); err != nil {
			return err
		}
	}
	return nil
}

// DueNotifications returns up to limit pending notifications whose next
// attempt is due now, the longest waiting first.
func (s *Store) DueNotifications(limit int) ([]Notification, error) {
	now := s.now()
	var out []Notification
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		c := tx.Bucket(bucketOutboxDue).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) > now.UnixNano() {
				break
			}
			var rec outboxRecord
			if err := getJSON(b, k[8:], &rec); err != nil {
				return fmt.Errorf("outbox-due %x: %w", k, err)
			}
			out = append(out, rec.notification())
		}
		return nil
	})
	return out, err
}

// changeNotification runs fn on a notification in one transaction and
// keeps its due index entry in step with its state and next attempt.
func (s *Store) changeNotification(id string, fn func(rec *outboxRecord, now time.Time)) (Notification, error) {
	key, err := outboxKey(id)
	if err != nil {
		return Notification{}, err
	}
	now := s.now()
	var out Notification
	err = s.update(func(tx *bolt.Tx) error {
		b, due := tx.Bucket(bucketOutbox), tx.Bucket(bucketOutboxDue)
		var rec outboxRecord
		if err := getJSON(b, key, &rec); err != nil {
			return fmt.Errorf("notification %s: %w", id, err)
		}
		if rec.State == NotificationPending {
			if err := due.Delete(rec.dueKey()); err != nil {
				return err
			}
		}
		fn(&rec, now)
		if rec.State == NotificationPending {
			if err := due.Put(rec.dueKey(), nil); err != nil {
				return err
			}
		}
		out = rec.notification()
		return putJSON(b, key, &rec)
	})
	return out, err
}

// MarkNotificationSent records that a notification was handed to the
// mail server or SMS gateway. Marking a notification that is no longer
// pending changes nothing; one whose account was deleted meanwhile is
// ErrNotFound.
func (s *Store) MarkNotificationSent(id string) error {
	_, err := s.changeNotification(id, func(rec *outboxRecord, now time.Time) {
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
func (s *Store) MarkNotificationFailed(id, reason string, permanent bool, p RetryPolicy) (Notification, error) {
	p = p.WithDefaults()
	reason = truncateUTF8(strings.ToValidUTF8(reason, "?"), 500)
	return s.changeNotification(id, func(rec *outboxRecord, now time.Time) {
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
func (s *Store) DeferNotification(id string, until time.Time) error {
	_, err := s.changeNotification(id, func(rec *outboxRecord, now time.Time) {
		if rec.State == NotificationPending {
			rec.NextAttempt = until.UTC().Round(time.Microsecond)
		}
	})
	return err
}

// RequeueNotification makes a dead notification pending again, due now,
// with its attempts counted from zero: the operator's retry after fixing
// the mail server or gateway.
func (s *Store) RequeueNotification(id string) error {
	_, err := s.changeNotification(id, func(rec *outboxRecord, now time.Time) {
		if rec.State == NotificationDead {
			rec.State, rec.Attempts, rec.NextAttempt, rec.Updated = NotificationPending, 0, now, now
		}
	})
	return err
}

// Notifications returns up to limit notifications in the given state
// (all states when state is empty), in the outbox's order, for the
// operator.
func (s *Store) Notifications(state NotificationState, limit int) ([]Notification, error) {
	var out []Notification
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var rec outboxRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode notification %x: %w", k, err)
			}
			if state == "" || rec.State == state {
				out = append(out, rec.notification())
			}
		}
		return nil
	})
	return out, err
}

// OutboxCounts returns how many notifications are in each state.
func (s *Store) OutboxCounts() (map[NotificationState]int, error) {
	out := map[NotificationState]int{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var rec struct{ State NotificationState }
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode notification %x: %w", k, err)
			}
			out[rec.State]++
			return nil
		})
	})
	return out, err
}

// PruneNotifications deletes the sent and dead notifications whose last
// change is before the given time and returns how many it deleted.
// Pending ones are kept whatever their age.
func (s *Store) PruneNotifications(before time.Time) (int, error) {
	// Look first, so a prune with nothing to do costs no write (and no
	// fsync).
	var found bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var rec struct {
				State   NotificationState
				Updated time.Time
			}
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode notification %x: %w", k, err)
			}
			found = found || (rec.State != NotificationPending && rec.Updated.Before(before))
			return nil
		})
	}); err != nil || !found {
		return 0, err
	}
	var n int
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		n, err = deleteWhere(tx.Bucket(bucketOutbox), func(k, v []byte) (bool, error) {
			var rec outboxRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return false, fmt.Errorf("decode notification %x: %w", k, err)
			}
			return rec.State != NotificationPending && rec.Updated.Before(before), nil
		})
		return err
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
