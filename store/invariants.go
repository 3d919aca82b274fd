package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"
)

// CheckInvariants checks the domain's invariants across records, where
// Check checks the engine's storage and indexes: every letter, session,
// notification and notice belongs to a resident whose account exists, a
// pending account has an activation code and no keys (and no other
// account has an activation code), and a deleted account has only its
// tombstone left (no name, keys, preferences or acceptance; its letters,
// sessions, notices and notifications gone), a deleted letter only its
// tombstone (no sealed field, no wrapping of its key, no documents), and
// a grant of access is between two living residents and every copy of a
// letter's key for a delegate is under a grant of the letter's resident,
// a sender's callback belongs to an active sender and its outbox holds
// only events of that sender's feed, a reply belongs to a living letter
// of its resident and sender that allows replies, and
// the audit log verifies by itself (VerifyAudit without evidence). The tests run it after every
// simulated crash; an auditor can run it on a copy. It returns every
// problem it finds.
func (s *Store) CheckInvariants(ctx context.Context) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	err := s.view(ctx, func(tx storage.Tx) error {
		residents := map[string]*residentRecord{}
		if err := tx.Residents().All(func(rec *residentRecord) error {
			residents[rec.ID] = rec
			if rec.Status == ResidentPending {
				if rec.PublicKey != nil || rec.PasswordWrap != nil || rec.RecoveryWrap != nil || rec.TOTP != nil || rec.Passkeys != nil {
					bad("pending resident %s: has keys", rec.ID)
				}
				if len(rec.ActivationHash) != sha256.Size || rec.ActivationExpires.IsZero() {
					bad("pending resident %s: no activation code", rec.ID)
				}
			} else if rec.ActivationHash != nil || !rec.ActivationExpires.IsZero() {
				bad("resident %s (%s): an activation code left", rec.ID, rec.Status)
			}
			// A key pair is made at activation and kept until the account
			// is deleted (closed and deceased mailboxes still open).
			if rec.PublicKey != nil || rec.Status == ResidentActive || rec.Status == ResidentReserved {
				if _, err := recipientKeys(rec); err != nil {
					bad("%v", err)
				}
				// Every wrapping holds the key pair the record's public
				// keys are of: both halves once it has an ML-KEM key (a
				// wrapping without it would lose the half at its use).
				want := 1
				if len(rec.MLKEMPublicKey) > 0 {
					want = 2
				}
				for what, w := range map[string][]byte{"password": rec.PasswordWrap, "recovery": rec.RecoveryWrap} {
					if len(w) == 0 {
						continue // a record made by hand in a test of old schemas
					}
					if f, err := crypto.WrappingFormat(w); err != nil || f != want {
						bad("resident %s: the %s wrapping is of format %d (%v), the public keys want %d", rec.ID, what, f, err, want)
					}
				}
			} else if rec.MLKEMPublicKey != nil {
				bad("resident %s (%s): an ML-KEM key without a key pair", rec.ID, rec.Status)
			}
			for _, p := range rec.Passkeys {
				if p.PRFWrap != nil {
					if err := crypto.CheckPRFWrapping(p.PRFWrap); err != nil {
						bad("resident %s: passkey %x: %v", rec.ID, p.ID, err)
					}
				}
			}
			if rec.Status != ResidentDeleted {
				return nil
			}
			if rec.Name != "" || rec.PublicKey != nil || rec.MLKEMPublicKey != nil || rec.PasswordWrap != nil || rec.RecoveryWrap != nil || rec.TOTP != nil || rec.Passkeys != nil {
				bad("deleted resident %s: name or keys left", rec.ID)
			}
			if p, err := tx.Preferences().Get(rec.ID); err != nil {
				return err
			} else if *p != (preferencesRecord{}) {
				bad("deleted resident %s: preferences left", rec.ID)
			}
			if a, err := tx.Terms().Acceptance(rec.ID); err != nil {
				return err
			} else if *a != (termsAcceptance{}) {
				bad("deleted resident %s: terms acceptance left", rec.ID)
			}
			ret, err := getRetention(tx, rec.ID)
			if err != nil {
				return err
			}
			if ret.Deleted.IsZero() {
				bad("deleted resident %s: no tombstone in retention", rec.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		liveResident := func(id string) bool { r := residents[id]; return r != nil && r.Status != ResidentDeleted }

		grants := map[string]*storage.Delegation{}
		if err := tx.Delegations().All(func(d *storage.Delegation) error {
			grants[d.ID] = d
			if !liveResident(d.GrantorID) || !liveResident(d.DelegateID) {
				bad("delegation %s: grantor %s or delegate %s missing or deleted", d.ID, d.GrantorID, d.DelegateID)
			}
			if d.GrantorID == d.DelegateID {
				bad("delegation %s: granted to its grantor", d.ID)
			}
			if checkGrantTerms(d.Access, d.Scope, time.Time{}, d.Created, time.UTC) != nil {
				bad("delegation %s: access %q, scope %q", d.ID, d.Access, d.Scope)
			}
			return nil
		}); err != nil {
			return err
		}

		withDocuments := map[string]bool{}
		if err := tx.Documents().Letters(func(id string) error { withDocuments[id] = true; return nil }); err != nil {
			return err
		}
		if err := tx.Letters().All(func(rec *letterRecord) error {
			if !liveResident(rec.ResidentID) {
				bad("letter %s: resident %s missing or deleted", rec.ID, rec.ResidentID)
			}
			if rec.IsTombstone() {
				if left := checkTombstone(rec); len(left) > 0 {
					bad("letter %s: deleted, but its tombstone holds %s", rec.ID, strings.Join(left, ", "))
				}
				if withDocuments[rec.ID] {
					bad("letter %s: deleted, but documents of it are stored", rec.ID)
				}
				return nil
			}
			for _, k := range rec.DelegateKeys {
				d := grants[k.DelegationID]
				if d == nil || d.GrantorID != rec.ResidentID || d.DelegateID != k.DelegateID {
					bad("letter %s: a copy of its key for delegate %s under no grant of its resident (%s)", rec.ID, k.DelegateID, k.DelegationID)
				}
				if crypto.SealedDataKeyVersion(k.SealedKey) == 0 {
					bad("letter %s: the copy of its key for delegate %s in no known format", rec.ID, k.DelegateID)
				}
			}
			if rec.IsScheduled() && (len(rec.Receipt.Payload) > 0 || !rec.DeliveredAt.Equal(rec.ReleaseAt)) {
				bad("letter %s: scheduled, but with a receipt or another delivery time", rec.ID)
			}
			switch crypto.SealedDataKeyVersion(rec.SealedKey) {
			case 0:
				bad("letter %s: sealed data key in no known format", rec.ID)
			case 2:
				if r := residents[rec.ResidentID]; r != nil && r.Status != ResidentDeleted && len(r.MLKEMPublicKey) == 0 {
					bad("letter %s: sealed in v2 to resident %s, who has no ML-KEM key", rec.ID, rec.ResidentID)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Sessions().All(func(id []byte, rec *sessionRecord) error {
			if !liveResident(rec.ResidentID) {
				bad("session %x: resident %s missing or deleted", id, rec.ResidentID)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Outbox().All(func(rec *outboxRecord) bool {
			if !liveResident(rec.ResidentID) {
				bad("notification %s: resident %s missing or deleted", notificationID(rec), rec.ResidentID)
			}
			return true
		}); err != nil {
			return err
		}
		if err := tx.Preferences().All(func(residentID string) error {
			if residents[residentID] == nil {
				bad("preferences of resident %s: no such resident", residentID)
			}
			return nil
		}); err != nil {
			return err
		}
		folders := map[string]bool{}
		if err := tx.Folders().All(func(residentID string, own []storage.Folder) error {
			if !liveResident(residentID) {
				bad("folders of resident %s: resident missing or deleted", residentID)
			}
			for _, f := range own {
				folders[residentID+"/"+f.ID] = true
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Letters().All(func(rec *letterRecord) error {
			if rec.Folder != FolderInbox && rec.Folder != FolderArchive && !folders[rec.ResidentID+"/"+rec.Folder] {
				bad("letter %s: in folder %q, which its resident does not have", rec.ID, rec.Folder)
			}
			return nil
		}); err != nil {
			return err
		}
		// A callback belongs to an active sender, and its outbox holds
		// only that sender's events, each one of its feed (a revoked
		// sender's callback is removed with the revocation).
		if err := tx.Callbacks().All(func(cb *storage.Callback) error {
			snd, err := tx.Senders().Get(cb.SenderID)
			if errors.Is(err, ErrNotFound) || (err == nil && snd.Revoked) {
				bad("callback of sender %s: sender missing or revoked", cb.SenderID)
				return nil
			} else if err != nil {
				return err
			}
			queued, err := tx.Callbacks().Queued(cb.SenderID, 1<<30)
			if err != nil {
				return err
			}
			for _, e := range queued {
				if e.SenderID != cb.SenderID {
					bad("callback outbox of sender %s: event %d of sender %s", cb.SenderID, e.Seq, e.SenderID)
					continue
				}
				inFeed, err := tx.Events().After(cb.SenderID, e.Seq-1, 1)
				if err != nil {
					return err
				}
				if len(inFeed) == 0 || inFeed[0].Seq != e.Seq || inFeed[0].LetterID != e.LetterID {
					bad("callback outbox of sender %s: event %d is not in its feed", cb.SenderID, e.Seq)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		// A reply belongs to a letter of its resident's mailbox that
		// allows replies, from the reply's sender, and is sealed (a
		// deleted letter's replies go with it).
		if err := tx.Replies().All(func(r *storage.Reply) error {
			if r.LetterID == "" {
				// A message to a sender: its resident lives, its sender is known.
				if !liveResident(r.ResidentID) {
					bad("message %s: resident %s missing or deleted", r.ID, r.ResidentID)
				}
				if _, err := tx.Senders().Get(r.SenderID); errors.Is(err, ErrNotFound) {
					bad("message %s: sender %s missing", r.ID, r.SenderID)
				} else if err != nil {
					return err
				}
				return nil
			}
			l, err := tx.Letters().Get(r.LetterID)
			if errors.Is(err, ErrNotFound) {
				bad("reply %s: letter %s missing", r.ID, r.LetterID)
				return nil
			} else if err != nil {
				return err
			}
			switch {
			case l.IsTombstone():
				bad("reply %s: letter %s deleted, the reply left", r.ID, r.LetterID)
			case l.ResidentID != r.ResidentID || l.SenderID != r.SenderID:
				bad("reply %s: not of letter %s's resident and sender", r.ID, r.LetterID)
			case !l.ReplyAllowed:
				bad("reply %s: letter %s allows no replies", r.ID, r.LetterID)
			case len(r.Sealed) == 0 || crypto.SealedDataKeyVersion(r.ResidentKey) == 0:
				bad("reply %s: not sealed", r.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		// A letter of the print queue is a sender's; one printed because
		// its recipient is not digital is no letter of a mailbox, one
		// waiting to be printed if unread is an unread letter there; one
		// to print scheduled waits for its notBefore; until
		// printed it holds its sealed copy, and once printed nothing of
		// it; it is printed only from a batch.
		if err := tx.Print().All(func(p *storage.PrintLetter) error {
			if _, err := tx.Senders().Get(p.SenderID); errors.Is(err, ErrNotFound) {
				bad("print letter %s: sender %s missing", p.ID, p.SenderID)
			} else if err != nil {
				return err
			}
			l, err := tx.Letters().Get(p.ID)
			if errors.Is(err, ErrNotFound) {
				l = nil
			} else if err != nil {
				return err
			}
			switch {
			case p.Reason == PrintNotDigital && l != nil:
				bad("print letter %s: not digital, yet a letter of a mailbox", p.ID)
			case p.Reason == PrintNotDigital && p.Waiting() && !p.WaitUntil.Equal(p.NotBefore):
				bad("print letter %s: scheduled for %v, yet its notBefore is %v", p.ID, p.WaitUntil, p.NotBefore)
			case p.Reason != PrintNotDigital && p.Waiting() && (l == nil || l.IsTombstone() || !l.ReadAt.IsZero()):
				bad("print letter %s: waits to be printed if unread, but its letter is gone or read", p.ID)
			case p.Waiting() && (!p.QueuedAt.IsZero() || p.Batch != ""):
				bad("print letter %s: waiting, yet queued", p.ID)
			case !p.Waiting() && p.QueuedAt.IsZero():
				bad("print letter %s: neither waiting nor queued", p.ID)
			}
			switch {
			case p.Printed() && (p.Sealed != nil || p.SealedKey != nil):
				bad("print letter %s: printed, its copy still stored", p.ID)
			case !p.Printed() && (len(p.Sealed) == 0 || len(p.SealedKey) == 0):
				bad("print letter %s: queued without its sealed copy", p.ID)
			case p.Printed() && p.Batch == "":
				bad("print letter %s: printed in no batch", p.ID)
			case (p.Batch == "") != p.ExportedAt.IsZero():
				bad("print letter %s: batch %q exported at %v", p.ID, p.Batch, p.ExportedAt)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.SenderBlocks().All(func(residentID string, _ []SenderBlock) error {
			if !liveResident(residentID) {
				bad("sender blocks of resident %s: resident missing or deleted", residentID)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.SearchIndexes().All(func(residentID string, _ *storage.SearchIndex) error {
			if !liveResident(residentID) {
				bad("search index of resident %s: resident missing or deleted", residentID)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Support().All(func(r *SupportRequest) error {
			if !liveResident(r.ResidentID) {
				bad("support request %s: resident %s missing or deleted", r.ID, r.ResidentID)
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Terms().Notices(func(version int, residentID, _ string) error {
			if !liveResident(residentID) {
				bad("terms notice %d %s: resident missing or deleted", version, residentID)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	// The audit log verifies by itself: every entry at its index, the
	// stored hashes, the recorded size.
	report, err := s.VerifyAudit(ctx, auditlog.Evidence{})
	if err != nil {
		return err
	}
	if !report.OK() {
		bad("audit log: %s", report)
	}
	return errors.Join(errs...)
}
