package jobs

import (
	"context"
	"fmt"

	"github.com/postkasse/postkasse/store/auditlog"
)

// runCheckpoint signs a checkpoint of the audit log when it has grown since
// the last one, appends it to the checkpoint file and posts it to the
// witness. Kept where the database is not, checkpoints catch a later
// rewrite or rollback of the log (`postkasse audit verify --checkpoint`).
func (s *Scheduler) runCheckpoint(ctx context.Context, r *runState) error {
	signed, size, err := s.st.SignCheckpoint(ctx)
	if err != nil {
		return err
	}
	if size == 0 || size == s.checkpointed {
		r.detail = fmt.Sprintf("log of %d entries: no new checkpoint", size)
		return nil
	}
	if s.cfg.CheckpointFile != "" {
		if err := auditlog.AppendCheckpointFile(s.cfg.CheckpointFile, signed); err != nil {
			return err
		}
	}
	s.checkpointed = size
	r.detail = fmt.Sprintf("checkpoint of %d entries", size)
	r.item()
	if s.cfg.Witness != "" {
		if err := auditlog.PostCheckpoint(ctx, s.cfg.HTTPClient, s.cfg.Witness, signed); err != nil {
			return err
		}
		r.detail += ", sent to the witness"
	}
	return nil
}

// runBlobSweep deletes the documents' blobs no letter refers to (left by
// deliveries that crashed before their commit) in the cluster engine's
// object store, which the embedded engine has none of, and the limits
// that the nodes share (the login throttle, the senders' rate limits:
// store.UpdateLimits) that have expired.
func (s *Scheduler) runBlobSweep(ctx context.Context, r *runState) error {
	limits, err := s.st.DeleteExpiredLimits(ctx)
	if err != nil {
		return err
	}
	for range limits {
		r.item()
	}
	n, swept, err := s.st.SweepBlobs(ctx)
	if err != nil {
		return err
	}
	if !swept {
		r.detail = fmt.Sprintf("the embedded engine keeps documents in its file: nothing to sweep; %d expired limits deleted", limits)
		return nil
	}
	for range n {
		r.item()
	}
	r.detail = fmt.Sprintf("%d orphaned documents deleted, %d expired limits deleted", n, limits)
	return nil
}
