package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// getLimit reads the record of a limit by what it counts, through the
// derived key; nil when there is none.
func getLimit(t *testing.T, s *Store, key string) *storage.Limit {
	t.Helper()
	secret, err := s.limitsSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var l *storage.Limit
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		var err error
		if l, err = tx.Limits().Get(limitKey(secret, key)); errors.Is(err, storage.ErrNotFound) {
			l, err = nil, nil
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestUpdateLimits: fn sees the values of its keys (nil for none) and
// what it returns is stored, under a key derived from the name, never
// the name itself; nil deletes; an unchanged value keeps its expiry; an
// error from fn stores nothing.
func TestUpdateLimits(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	ctx := context.Background()
	keys := []string{"account:0101701234", "address:192.0.2.1"}
	exp1 := clock.Now().Add(time.Minute)
	update := func(expires time.Time, fn func([][]byte) ([][]byte, error)) error {
		t.Helper()
		return s.UpdateLimits(ctx, keys, expires, fn)
	}
	if err := update(exp1, func(v [][]byte) ([][]byte, error) {
		if len(v) != 2 || v[0] != nil || v[1] != nil {
			return nil, fmt.Errorf("first values %q, want two nils", v)
		}
		return [][]byte{[]byte("a1"), []byte("b1")}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if l := getLimit(t, s, keys[0]); l == nil || string(l.Value) != "a1" || !l.Expires.Equal(exp1) {
		t.Fatalf("the account's limit: %+v", l)
	}
	if err := s.view(ctx, func(tx storage.Tx) error {
		_, err := tx.Limits().Get(keys[0])
		if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("a limit stored under the national identity number: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The account's value unchanged, the address's deleted.
	if err := update(exp1.Add(time.Hour), func(v [][]byte) ([][]byte, error) {
		if string(v[0]) != "a1" || string(v[1]) != "b1" {
			return nil, fmt.Errorf("second values %q", v)
		}
		return [][]byte{v[0], nil}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if l := getLimit(t, s, keys[0]); l == nil || !l.Expires.Equal(exp1) {
		t.Fatalf("an unchanged limit was written again: %+v", l)
	}
	if l := getLimit(t, s, keys[1]); l != nil {
		t.Fatalf("a deleted limit: %+v", l)
	}

	refused := errors.New("refused")
	if err := update(exp1, func(v [][]byte) ([][]byte, error) {
		return [][]byte{[]byte("a2"), []byte("b2")}, refused
	}); !errors.Is(err, refused) {
		t.Fatalf("fn's error: %v", err)
	}
	if l := getLimit(t, s, keys[0]); l == nil || string(l.Value) != "a1" {
		t.Fatalf("stored after fn's error: %+v", l)
	}
}

// TestDeleteExpiredLimits: the sweep deletes every limit that expired, in
// more than one transaction when there are many, and only those.
func TestDeleteExpiredLimits(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	ctx := context.Background()
	n := LimitSweepBatch + 2
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("sender:%d", i)
	}
	fill := func(v [][]byte) ([][]byte, error) {
		out := make([][]byte, len(v))
		for i := range out {
			out[i] = []byte("x")
		}
		return out, nil
	}
	if err := s.UpdateLimits(ctx, keys, clock.Now().Add(time.Minute), fill); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateLimits(ctx, []string{"sender:later"}, clock.Now().Add(time.Hour), fill); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DeleteExpiredLimits(ctx); err != nil || got != 0 {
		t.Fatalf("before any expired: %d, %v", got, err)
	}
	clock.Advance(2 * time.Minute)
	if got, err := s.DeleteExpiredLimits(ctx); err != nil || got != n {
		t.Fatalf("deleted %d, %v; want %d", got, err, n)
	}
	if getLimit(t, s, keys[0]) != nil || getLimit(t, s, "sender:later") == nil {
		t.Fatal("the sweep deleted the wrong limits")
	}
}

// TestLimitsSharedByNodes: two stores on one database of the cluster
// engine (whichever engine the other tests run on: only the cluster's
// database takes two), started at once, make one secret between them and
// see each other's limits.
func TestLimitsSharedByNodes(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "nodes")
	a, err := openClusterStore(t, path, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeTestStore(t, a) })
	b, err := openClusterStore(t, path, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeTestStore(t, b) })
	ctx := context.Background()
	count := func(v [][]byte) ([][]byte, error) {
		return [][]byte{append(v[0], 'x')}, nil
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*Store{a, b} {
		wg.Go(func() { errs[i] = s.UpdateLimits(ctx, []string{"k"}, clock.Now().Add(time.Minute), count) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{a, b} {
		if l := getLimit(t, s, "k"); l == nil || string(l.Value) != "xx" {
			t.Fatalf("the limit both nodes counted: %+v", l)
		}
	}
}
