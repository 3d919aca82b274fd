package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/postkasse/postkasse/store"
)

// states keep the state of a limit, one value of S for each key: in this
// process's memory (memoryStates), which is exact for one process, or in
// the store (sharedStates), where every node on the same database counts
// together. The rules (throttle.go, ratelimit.go) work on the values;
// update is their only way to read and change them.
type states[S any] interface {
	// update runs fn on the states of keys, all at once (the zero S for
	// a key that has none) and keeps what fn left in them until expires;
	// a state that fn left empty is dropped. fn may run more than once
	// (the store runs its transaction again after a conflict with
	// another node's), so it must only compute; when it returns an error
	// nothing is kept. The expiry must be no earlier than the time when
	// the zero S means the same as what fn left.
	update(ctx context.Context, keys []string, expires time.Time, fn func(states []*S) error) error
}

// memorySweepEvery is how often memoryStates drops the states that have
// expired.
const memorySweepEvery = time.Minute

// memoryStates keep states in a map, under one mutex: today's behaviour
// of one process, which a restart forgets.
type memoryStates[S any] struct {
	clock func() time.Time
	empty func(*S) bool
	// clone copies a state, so that what fn changes is kept only when
	// it returns no error.
	clone func(S) S

	mu        sync.Mutex
	m         map[string]memoryState[S]
	lastSweep time.Time
}

type memoryState[S any] struct {
	expires time.Time
	state   S
}

func newMemoryStates[S any](clock func() time.Time, empty func(*S) bool, clone func(S) S) *memoryStates[S] {
	return &memoryStates[S]{clock: clock, empty: empty, clone: clone, m: map[string]memoryState[S]{}}
}

func (m *memoryStates[S]) update(_ context.Context, keys []string, expires time.Time, fn func([]*S) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	states := make([]*S, len(keys))
	for i, k := range keys {
		states[i] = new(S)
		if e, ok := m.m[k]; ok && now.Before(e.expires) {
			*states[i] = m.clone(e.state)
		}
	}
	if err := fn(states); err != nil {
		return err
	}
	for i, k := range keys {
		if m.empty(states[i]) {
			delete(m.m, k)
		} else {
			m.m[k] = memoryState[S]{expires: expires, state: *states[i]}
		}
	}
	if now.Sub(m.lastSweep) >= memorySweepEvery {
		for k, e := range m.m {
			if !now.Before(e.expires) {
				delete(m.m, k)
			}
		}
		m.lastSweep = now
	}
	return nil
}

// len returns how many keys have a state, for tests.
func (m *memoryStates[S]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// sharedStates keep states in the store (store.UpdateLimits), in JSON:
// one transaction per update, whichever node runs it.
type sharedStates[S any] struct {
	store *store.Store
	empty func(*S) bool
}

func (s sharedStates[S]) update(ctx context.Context, keys []string, expires time.Time, fn func([]*S) error) error {
	return s.store.UpdateLimits(ctx, keys, expires, func(values [][]byte) ([][]byte, error) {
		states := make([]*S, len(values))
		for i, v := range values {
			states[i] = new(S)
			if v == nil {
				continue
			}
			// The error names no key: a key is a national identity
			// number or an address.
			if err := json.Unmarshal(v, states[i]); err != nil {
				return nil, fmt.Errorf("decode the state of a limit: %w", err)
			}
		}
		if err := fn(states); err != nil {
			return nil, err
		}
		out := make([][]byte, len(states))
		for i, st := range states {
			if s.empty(st) {
				continue
			}
			var err error
			if out[i], err = json.Marshal(st); err != nil {
				return nil, fmt.Errorf("encode the state of a limit: %w", err)
			}
		}
		return out, nil
	})
}

// cloneSlice is slices.Clone that keeps an empty slice nil.
func cloneSlice[E any](s []E) []E {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
