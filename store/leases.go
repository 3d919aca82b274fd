package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// LeaseJobs is the lease of the scheduled jobs: on several nodes sharing
// one database (the cluster engine), the node that holds it runs the jobs.
const LeaseJobs = "jobs"

// AcquireLease gives the named lease to holder until ttl from now (the
// store's clock) when it is free, expired, or holder's already (a
// renewal), and reports whether holder has it now.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, fmt.Errorf("store: lease %q for %q of %s: name, holder and a positive time needed", name, holder, ttl)
	}
	var held bool
	err := s.update(ctx, func(tx storage.Tx) error {
		var err error
		held, err = tx.Leases().Acquire(name, holder, s.now(), ttl)
		return err
	})
	return held, err
}

// ReleaseLease ends holder's lease early, so another node may take it at
// once; another holder's lease stays.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.update(ctx, func(tx storage.Tx) error { return tx.Leases().Release(name, holder) })
}

// LeaseHolder returns who holds the named lease and until when; "" when
// no one ever took it.
func (s *Store) LeaseHolder(ctx context.Context, name string) (holder string, expires time.Time, err error) {
	err = s.view(ctx, func(tx storage.Tx) error {
		holder, expires, err = tx.Leases().Get(name)
		if errors.Is(err, storage.ErrNotFound) {
			holder, expires, err = "", time.Time{}, nil
		}
		return err
	})
	return holder, expires, err
}
