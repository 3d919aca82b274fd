package jobs

import (
	"context"
	"errors"
	"fmt"
)

// runSessionSweep deletes the sessions that have expired
// (store.SweepSessions), and ends the grants of access to a mailbox whose
// last day has passed, with the delegates' copies of the letters' keys
// (store.EndExpiredDelegations; a grant past its day opens nothing before
// that either).
func (s *Scheduler) runSessionSweep(ctx context.Context, r *runState) error {
	n, err := s.st.SweepSessions(ctx, s.cfg.Clock())
	for range n {
		r.item()
	}
	r.detail = fmt.Sprintf("%d expired sessions deleted", n)
	g, gerr := s.st.EndExpiredDelegations(ctx)
	for range g {
		r.item()
	}
	if g > 0 {
		r.detail += fmt.Sprintf("; %d expired grants of access ended", g)
	}
	return errors.Join(err, gerr)
}
