package store

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/postkasse/postkasse/store/storage"
)

// Each sender's default token bucket on the API, for a sender with no
// rate of its own (SetSenderRate). A bulk sender delivering with many
// concurrent requests is bound by the store's group commit (hundreds of
// letters a second on one disk), not by this bucket; the bucket stops a
// runaway client from starving the other senders.
const (
	DefaultSenderRate  = 200 // requests a second, sustained
	DefaultSenderBurst = 400 // requests at once
)

// Bounds of a sender's own rate: at least one request a minute, and a
// burst of at least one request and at most a minute's worth at the
// highest rate.
const (
	MinSenderRate  = 1.0 / 60
	MaxSenderRate  = 100_000
	MaxSenderBurst = 6_000_000
)

// CheckSenderRate validates a sender's own rate (requests a second) and
// burst (requests at once). Both zero is the default.
func CheckSenderRate(rate float64, burst int) error {
	if rate == 0 && burst == 0 {
		return nil
	}
	if math.IsNaN(rate) || rate < MinSenderRate || rate > MaxSenderRate {
		return invalid("rate", "between %s and %d requests a second (0 with burst 0 for the default)",
			strconv.FormatFloat(MinSenderRate, 'g', 4, 64), MaxSenderRate)
	}
	if burst < 1 || burst > MaxSenderBurst {
		return invalid("burst", "between 1 and %d requests at once (0 with rate 0 for the default)", MaxSenderBurst)
	}
	return nil
}

// SenderRate returns the sender's token bucket on the API: its own, or
// the default rate and burst given (the appliance's, normally
// DefaultSenderRate and DefaultSenderBurst).
func SenderRate(s Sender, defaultRate float64, defaultBurst int) (rate float64, burst int) {
	if s.APIRate == 0 {
		return defaultRate, defaultBurst
	}
	return s.APIRate, s.APIBurst
}

// SetSenderRate sets a sender's own token bucket on the API (rate
// requests a second, burst at once; both zero goes back to the default)
// and returns the sender. The API reads the sender on every request, so
// it applies from the next request on, on every node; the bucket itself
// keeps the tokens it had.
func (s *Store) SetSenderRate(ctx context.Context, id string, rate float64, burst int) (Sender, error) {
	if err := CheckSenderRate(rate, burst); err != nil {
		return Sender{}, err
	}
	now := s.now()
	var out Sender
	err := s.update(ctx, func(tx storage.Tx) error {
		rec, err := activeSender(tx, id)
		if err != nil {
			return err
		}
		rec.APIRate, rec.APIBurst = rate, burst
		if err := tx.Senders().Put(rec); err != nil {
			return err
		}
		out = senderOf(rec)
		detail := "default"
		if rate != 0 {
			detail = fmt.Sprintf("rate %s burst %d", strconv.FormatFloat(rate, 'g', -1, 64), burst)
		}
		return s.appendAuditDetail(tx, now, operatorActor(ctx), "set-sender-rate", "sender:"+id, detail)
	})
	if err != nil {
		return Sender{}, err
	}
	return out, nil
}
