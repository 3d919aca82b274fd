package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/postkasse/postkasse/crypto"
)

// TestLoginFailureCostsCurrentPolicy: after the operator raises the
// Argon2id policy, a wrong password for a resident whose wrapping is
// still under the old one costs as much work as one for an unknown
// number (the current policy): the old wrapping's derivation and the
// difference. Once the resident signs in, the wrapping is the current
// policy's and nothing more is spent.
func TestLoginFailureCostsCurrentPolicy(t *testing.T) {
	t.Parallel()
	old := crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	f := newFixtureWith(t, func(o *Options) { o.KDF = old })
	ctx := context.Background()
	// The operator raises the policy (postkasse.toml, then a restart).
	current := crypto.KDFParams{Time: 2, MemoryKiB: 256, Threads: 1}
	f.s.kdf = current
	var mu sync.Mutex
	var spent []crypto.KDFParams
	f.s.spendWork = func(password []byte, p crypto.KDFParams) {
		mu.Lock()
		spent = append(spent, p)
		mu.Unlock()
		crypto.SpendPasswordWork(password, p)
	}
	cost := func(ps ...crypto.KDFParams) (n uint64) {
		for _, p := range ps {
			n += uint64(p.Time) * uint64(p.MemoryKiB)
		}
		return n
	}
	take := func() []crypto.KDFParams {
		mu.Lock()
		defer mu.Unlock()
		out := spent
		spent = nil
		return out
	}

	if _, err := f.s.Login(ctx, testNID(t, 9).String(), "wrong password"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown number: %v", err)
	}
	unknown := cost(take()...)
	if unknown != cost(current) {
		t.Fatalf("an unknown number cost %d, want the current policy's %d", unknown, cost(current))
	}
	if _, err := f.s.Login(ctx, f.nid.String(), "wrong password"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	// The wrapping's own derivation (old) plus what was spent beside it.
	if known := cost(old) + cost(take()...); known < unknown {
		t.Errorf("a wrong password under the old policy cost %d, an unknown number %d", known, unknown)
	}

	// Signing in wraps the key under the current policy; a wrong
	// password then costs that derivation alone.
	if _, err := f.s.Login(ctx, f.nid.String(), testPassword); err != nil {
		t.Fatal(err)
	}
	take()
	if _, err := f.s.Login(ctx, f.nid.String(), "wrong password"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if extra := take(); len(extra) != 0 {
		t.Errorf("under the current policy a wrong password spent %+v more", extra)
	}
}
