package guard

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/postkasse/postkasse/store"
)

// RateLimiter is a token bucket per key (a sender id): rate tokens a
// second, at most burst at once, or the key's own Bucket (Take).
//
// In this process's memory (NewRateLimiter) every request takes its token
// from the bucket. In the store (NewSharedRateLimiter), where the nodes
// on one database share each sender's bucket, a request does not cost a
// transaction: a node takes a chunk of tokens at once (Chunk: a tenth of
// a second of the key's rate, at least one) into a bucket of its own, and spends
// them before it takes the next. The shared bucket gives no more than
// burst at once plus rate a second, and a node allows only what it took;
// since a node may spend a chunk it took earlier, over any stretch of
// time the nodes together allow at most burst + rate × its length + one
// chunk per node (one per request, when requests on one node find its
// bucket empty at the same moment).
type RateLimiter struct {
	clock  func() time.Time
	rate   float64
	burst  float64
	shared bool
	states states[bucketState]

	// local holds, by key, the tokens this node took from the shared
	// bucket and has not spent (shared only).
	mu    sync.Mutex
	local map[string]float64
}

// bucketState is a token bucket: its tokens at a time. The zero value is
// a full bucket.
type bucketState struct {
	Tokens float64
	At     time.Time
}

func (b *bucketState) empty() bool { return b.At.IsZero() }

// take fills the bucket up to now and takes up to want whole tokens, but
// at least least, or none. It returns how many it took; when none, how
// long until there are least.
func (b *bucketState) take(now time.Time, rate, burst, want, least float64) (float64, time.Duration) {
	if b.At.IsZero() {
		b.Tokens, b.At = burst, now
	}
	// A time before the bucket's (another node's clock ahead) adds
	// nothing.
	if elapsed := now.Sub(b.At).Seconds(); elapsed > 0 {
		b.Tokens = min(burst, b.Tokens+elapsed*rate)
		b.At = now
	}
	if b.Tokens < least {
		return 0, time.Duration((least - b.Tokens) / rate * float64(time.Second))
	}
	got := max(least, min(want, math.Floor(b.Tokens)))
	b.Tokens -= got
	return got, 0
}

// NewRateLimiter returns a limiter in this process's memory of rate
// tokens a second and burst at once per key, on clock.
func NewRateLimiter(clock func() time.Time, rate, burst float64) *RateLimiter {
	return &RateLimiter{clock: clock, rate: rate, burst: burst,
		states: newMemoryStates(clock, (*bucketState).empty, func(b bucketState) bucketState { return b })}
}

// NewSharedRateLimiter is NewRateLimiter with the buckets kept in st,
// shared by every node on its database.
func NewSharedRateLimiter(st *store.Store, clock func() time.Time, rate, burst float64) *RateLimiter {
	return &RateLimiter{clock: clock, rate: rate, burst: burst, shared: true,
		states: sharedStates[bucketState]{store: st, empty: (*bucketState).empty}, local: map[string]float64{}}
}

// Allow takes a token for key. When there is none, it returns false and
// how long until there is one. err is the store's failure: no token was
// taken, and the request must not go ahead.
func (l *RateLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	return l.AllowN(ctx, key, 1)
}

// AllowN takes n tokens for key at once (a request that costs more than
// one), or none: when there are fewer, it returns false and how long
// until there are n. n is at most the burst, or it never succeeds.
func (l *RateLimiter) AllowN(ctx context.Context, key string, n int) (bool, time.Duration, error) {
	return l.Take(ctx, key, n, Bucket{})
}

// Bucket is a key's own token bucket: Rate tokens a second, at most
// Burst at once. Zero (either) is the limiter's.
type Bucket struct {
	Rate, Burst float64
}

// Take is AllowN from the key's own bucket b. A key whose bucket changes
// keeps the tokens it has (at most the new burst, from its next fill).
func (l *RateLimiter) Take(ctx context.Context, key string, n int, b Bucket) (bool, time.Duration, error) {
	if n <= 0 {
		return true, 0, nil
	}
	rate, burst := b.Rate, b.Burst
	if rate <= 0 || burst <= 0 {
		rate, burst = l.rate, l.burst
	}
	chunk := l.chunkOf(rate)
	need := float64(n)
	if need > burst {
		return false, time.Duration(need / rate * float64(time.Second)), nil
	}
	var have float64 // this node's own tokens for key (shared only)
	if l.shared {
		l.mu.Lock()
		if have = l.local[key]; have >= need {
			if have-need < 1 {
				delete(l.local, key)
			} else {
				l.local[key] = have - need
			}
			l.mu.Unlock()
			return true, 0, nil
		}
		// Hold them while the shared bucket is asked for the rest, so
		// no other request spends them meanwhile.
		delete(l.local, key)
		l.mu.Unlock()
	}
	least := math.Ceil(need - have)
	now := l.clock()
	// Empty or not, a bucket is full again after burst/rate.
	expires := now.Add(time.Duration(burst/rate*float64(time.Second)) + time.Second)
	var got float64
	var wait time.Duration
	err := l.states.update(ctx, []string{"api-sender:" + key}, expires, func(s []*bucketState) error {
		got, wait = s[0].take(now, rate, burst, max(least, chunk), least)
		return nil
	})
	if err != nil || got == 0 {
		l.keep(key, have) // not spent: give them back
		return false, wait, err
	}
	l.keep(key, have+got-need)
	return true, 0, nil
}

// chunkOf is how many tokens a node takes from a shared bucket of rate at
// once: a tenth of a second's, at least one (one in memory).
func (l *RateLimiter) chunkOf(rate float64) float64 {
	if !l.shared {
		return 1
	}
	return max(1, math.Floor(rate/10))
}

// keep adds n unspent tokens to the node's own for key (shared only: in
// memory a request takes exactly its tokens).
func (l *RateLimiter) keep(key string, n float64) {
	if !l.shared || n < 1 {
		return
	}
	l.mu.Lock()
	l.local[key] += n
	l.mu.Unlock()
}

// Rate and Burst are the limiter's parameters.
func (l *RateLimiter) Rate() float64 { return l.rate }

// Burst is the most tokens a key holds at once.
func (l *RateLimiter) Burst() float64 { return l.burst }

// Chunk is how many tokens a node takes from a shared bucket of the
// limiter's rate at once (1 in memory).
func (l *RateLimiter) Chunk() float64 { return l.chunkOf(l.rate) }
