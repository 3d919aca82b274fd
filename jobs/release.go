package jobs

import (
	"context"
	"fmt"
)

// runRelease releases the scheduled letters whose time has come
// (store.ReleaseScheduled): every minute, on the minute, so that a letter
// scheduled for a whole minute is in its mailbox at that minute; and at
// every start (Start), so that letters that came due while the server was
// down are released at once, as of their notBefore.
func (s *Scheduler) runRelease(ctx context.Context, r *runState) error {
	n, err := s.st.ReleaseScheduled(ctx)
	for range n {
		r.item()
	}
	r.detail = fmt.Sprintf("%d scheduled letters released", n)
	return err
}
