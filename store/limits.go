package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// The limits on requests that the nodes of a cluster share: the login
// throttle's failures and checks under way per account and per client
// address, and each sender's token bucket (package httpui/guard owns the
// rules and encodes their state; the store keeps it). Each is a record of
// storage.Limits under a key that names what it counts; the store never
// stores that name in clear, since it is a national identity number or a
// client's address: the record's key is HMAC-SHA256 of it under a secret
// of the appliance (the meta value "limits-key", made the first time it is
// needed), in hex. The secret is in the same database, so this keeps the
// numbers out of sight, not out of reach: whoever holds a copy of the
// database holds the secret too and can confirm a guessed number (there
// are few). What protects them is that the records are few and short-lived:
// a failure counts for the throttle's window (15 minutes by default) and
// the daily sweep deletes expired records.

// keyLimits is the meta key of the secret that the limits' keys are
// derived under.
const keyLimits = "limits-key"

// limitsKeyLabel separates the derivation of a limit's key from any other
// use of HMAC-SHA256.
const limitsKeyLabel = "postkasse limit key v1\x00"

// LimitSweepBatch is how many expired limits one transaction of
// DeleteExpiredLimits deletes.
const LimitSweepBatch = 1000

// UpdateLimits runs fn in one transaction on the values of the limits
// named by keys (in that order; nil for one that has none) and stores what
// fn returns in their place, each expiring at expires; a nil value deletes
// the limit, and a value equal to the one read is not written again. An
// expired limit that the sweep has not deleted yet is passed as it is:
// the value must tell by itself what of it is out of date. fn may run
// more than once (the cluster engine runs a transaction again after a
// conflict with another node's), so it must only compute. An error from
// fn is returned as it is, and nothing is stored.
func (s *Store) UpdateLimits(ctx context.Context, keys []string, expires time.Time, fn func(values [][]byte) ([][]byte, error)) error {
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		return err
	}
	hashed := make([]string, len(keys))
	for i, k := range keys {
		hashed[i] = limitKey(secret, k)
	}
	return s.update(ctx, func(tx storage.Tx) error {
		old := make([][]byte, len(hashed))
		for i, k := range hashed {
			l, err := tx.Limits().Get(k)
			switch {
			case errors.Is(err, storage.ErrNotFound):
			case err != nil:
				return err
			default:
				old[i] = l.Value
			}
		}
		values, err := fn(old)
		if err != nil {
			return err
		}
		if len(values) != len(hashed) {
			return fmt.Errorf("store: limits: %d values for %d keys", len(values), len(hashed))
		}
		for i, k := range hashed {
			switch {
			case values[i] == nil && old[i] == nil:
			case values[i] == nil:
				err = tx.Limits().Delete(k)
			case old[i] != nil && bytes.Equal(values[i], old[i]):
			default:
				err = tx.Limits().Put(&storage.Limit{Key: k, Expires: expires.UTC(), Value: values[i]})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// limitKey derives the key of a limit's record from what it counts.
func limitKey(secret []byte, key string) string {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, limitsKeyLabel)
	io.WriteString(m, key)
	return hex.EncodeToString(m.Sum(nil))
}

// limitsSecret returns the secret of the limits' keys, made and stored
// the first time. Two nodes that make it at once do so in transactions
// that conflict: one commits, the other runs again and reads it.
func (s *Store) limitsSecret(ctx context.Context) ([]byte, error) {
	s.limitsMu.Lock()
	defer s.limitsMu.Unlock()
	if s.limitsKey != nil {
		return s.limitsKey, nil
	}
	var secret []byte
	err := s.update(ctx, func(tx storage.Tx) error {
		var err error
		if secret, err = tx.Meta().Get(keyLimits); err == nil {
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		secret = make([]byte, sha256.Size)
		if _, err := io.ReadFull(s.rand, secret); err != nil {
			return fmt.Errorf("read random limits key: %w", err)
		}
		return tx.Meta().Put(keyLimits, secret)
	})
	if err != nil {
		return nil, fmt.Errorf("limits key: %w", err)
	}
	s.limitsKey = secret
	return secret, nil
}

// DeleteExpiredLimits deletes the limits that expired before now, in
// transactions of LimitSweepBatch, and returns how many.
func (s *Store) DeleteExpiredLimits(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for {
		var n int
		err := s.update(ctx, func(tx storage.Tx) error {
			var err error
			n, err = tx.Limits().DeleteExpired(now, LimitSweepBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("delete expired limits: %w", err)
		}
		total += n
		if n < LimitSweepBatch {
			return total, nil
		}
	}
}
