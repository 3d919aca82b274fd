package guard

import (
	"sync"
	"time"
)

// RateLimiter is a token bucket per key (a sender id): rate tokens a
// second, at most burst at once.
type RateLimiter struct {
	clock func() time.Time
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewRateLimiter returns a limiter of rate tokens a second and burst at
// once per key, on clock.
func NewRateLimiter(clock func() time.Time, rate, burst float64) *RateLimiter {
	return &RateLimiter{clock: clock, rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

// Allow takes a token for key. When there is none, it returns false and
// how long until there is one.
func (l *RateLimiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// Rate and Burst are the limiter's parameters.
func (l *RateLimiter) Rate() float64 { return l.rate }

// Burst is the most tokens a key holds at once.
func (l *RateLimiter) Burst() float64 { return l.burst }
