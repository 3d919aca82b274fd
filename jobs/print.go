package jobs

import (
	"context"
	"fmt"
)

// runPrintUnread queues for print the letters still unread at their
// unreadAfter (store.QueueUnread): every minute, on the minute. The due
// times are data, so the first run after a downtime catches up.
func (s *Scheduler) runPrintUnread(ctx context.Context, r *runState) error {
	n, err := s.st.QueueUnread(ctx)
	for range n {
		r.item()
	}
	r.detail = fmt.Sprintf("%d unread letters queued for print", n)
	return err
}
