package jobs

import (
	"context"
	"fmt"
)

// runSessionSweep deletes the sessions that have expired
// (store.SweepSessions).
func (s *Scheduler) runSessionSweep(ctx context.Context, r *runState) error {
	n, err := s.st.SweepSessions(ctx, s.cfg.Clock())
	for range n {
		r.item()
	}
	r.detail = fmt.Sprintf("%d expired sessions deleted", n)
	return err
}
