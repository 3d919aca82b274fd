package store

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"
)

// AuditLogName is the name of the audit log's checkpoint key: the origin
// line of every checkpoint. The key hash beside it tells one appliance's
// checkpoints from another's.
const AuditLogName = "postkasse/audit"

// AuditVerifier returns the verifier of the appliance's checkpoints: what
// an auditor needs beside a data folder, besides the receipt key it is
// made from.
func (s *Store) AuditVerifier() (note.Verifier, error) {
	return auditlog.NewNoteVerifier(AuditLogName, s.signer.PublicKey())
}

// SignCheckpoint returns a checkpoint of the audit log as it is now,
// signed with the appliance's key (a note: origin, size, root hash), and
// the size it states. Kept outside the database (a file, a witness), it
// catches a later rewrite or rollback of the log.
func (s *Store) SignCheckpoint(ctx context.Context) (signed []byte, size int64, err error) {
	var root tlog.Hash
	err = s.view(ctx, func(tx storage.Tx) error {
		if size, err = tx.Audit().Size(); err != nil {
			return err
		}
		if size == 0 {
			return nil
		}
		root, err = auditlog.TreeHash(size, tx.Audit())
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("checkpoint: %w", err)
	}
	signer, err := auditlog.NewNoteSigner(AuditLogName, s.signer)
	if err != nil {
		return nil, 0, err
	}
	signed, err = auditlog.SignCheckpoint(signer, size, root)
	return signed, size, err
}

// VerifyAudit checks the whole audit log in one read transaction against
// itself (every entry at its index, the stored hashes, the recorded size)
// and against the evidence given (checkpoints, receipts), and reports
// everything it finds wrong. Its error is only for a log that cannot be
// read.
func (s *Store) VerifyAudit(ctx context.Context, ev auditlog.Evidence) (*auditlog.Report, error) {
	v, err := s.AuditVerifier()
	if err != nil {
		return nil, err
	}
	var report *auditlog.Report
	err = s.view(ctx, func(tx storage.Tx) error {
		var err error
		report, err = auditlog.Verify(tx.Audit(), v, ev)
		return err
	})
	return report, err
}
