package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// ResidentDeleted is the status of an account that was deleted (for
// inactivity, after death, or by the resident): only a tombstone is left,
// so the number looks up as not digital and cannot log in or be enrolled
// again onto the old data.
const ResidentDeleted = storage.ResidentDeleted

// Why an account was deleted, as the tombstone and the audit log say.
const (
	DeletedForInactivity = "inactivity"
	DeletedAfterDeath    = "deceased"
	DeletedByResident    = "resident"
)

// RetentionPolicy is the retention part of the terms of use (DESIGN.md,
// "Policy"). The zero value of a field means its default; main reads the
// values from the configuration and gives them to the store
// (Options.Retention), which applies them and tells residents of them.
type RetentionPolicy struct {
	// Inactivity: an account without login for this long is deleted.
	// Default P5Y.
	Inactivity Period
	// InactivityWarnings: how long before that deletion the resident is
	// warned, one notification each. Default P30D and P7D. Each must be
	// shorter than Inactivity.
	InactivityWarnings []Period
	// DeceasedPublic: after the date of death, letters from public
	// senders are kept this long. Default P5Y.
	DeceasedPublic Period
	// DeceasedPrivate: after the date of death, letters from private
	// senders are kept this long. Default P15M.
	DeceasedPrivate Period
}

// DefaultRetentionPolicy returns the policy of the terms of use: five
// years of inactivity, warnings 30 and 7 days before; after death, five
// years for letters from public senders and 15 months for private ones.
func DefaultRetentionPolicy() RetentionPolicy {
	return RetentionPolicy{
		Inactivity:         Period{Years: 5},
		InactivityWarnings: []Period{{Days: 30}, {Days: 7}},
		DeceasedPublic:     Period{Years: 5},
		DeceasedPrivate:    Period{Months: 15},
	}
}

// WithDefaults fills the zero fields with DefaultRetentionPolicy's.
func (p RetentionPolicy) WithDefaults() RetentionPolicy {
	d := DefaultRetentionPolicy()
	if p.Inactivity.IsZero() {
		p.Inactivity = d.Inactivity
	}
	if p.InactivityWarnings == nil {
		p.InactivityWarnings = d.InactivityWarnings
	}
	if p.DeceasedPublic.IsZero() {
		p.DeceasedPublic = d.DeceasedPublic
	}
	if p.DeceasedPrivate.IsZero() {
		p.DeceasedPrivate = d.DeceasedPrivate
	}
	return p
}

// Validate checks that every warning comes before the deletion it warns
// of, measured from a fixed day (periods of months and years vary in
// length, so a check at one day is the check that matters in practice).
func (p RetentionPolicy) Validate() error {
	p = p.WithDefaults()
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, w := range p.InactivityWarnings {
		if w.IsZero() || w.Years < 0 || w.Months < 0 || w.Days < 0 {
			return fmt.Errorf("inactivity warning %s: must be a positive period", w)
		}
		if !w.AddTo(ref).Before(p.Inactivity.AddTo(ref)) {
			return fmt.Errorf("inactivity warning %s: must be shorter than the inactivity period %s", w, p.Inactivity)
		}
	}
	return nil
}

// leads returns the warnings of a deletion due at due, longest lead first,
// without repeats.
func (p RetentionPolicy) leads(due time.Time) []Period {
	out := slices.Clone(p.InactivityWarnings)
	slices.SortStableFunc(out, func(a, b Period) int { return a.SubFrom(due).Compare(b.SubFrom(due)) })
	return slices.CompactFunc(out, func(a, b Period) bool { return a.SubFrom(due).Equal(b.SubFrom(due)) })
}

// retentionRecord is a resident's retention state as the engine stores
// it: the warnings given and for which last login (WarnBasis: a login
// since makes them void), the date of death (midnight at the start of
// the date, in UTC) and when it was recorded, and the tombstone of a
// deleted account.
type retentionRecord = storage.RetentionRecord

func getRetention(tx storage.Tx, residentID string) (*retentionRecord, error) {
	return tx.Retention().Get(residentID)
}

func putRetention(tx storage.Tx, residentID string, rec *retentionRecord) error {
	return tx.Retention().Put(residentID, rec)
}

// RetentionState is what the retention rules have recorded about one
// resident, for the operator.
type RetentionState struct {
	WarningsGiven int       // inactivity warnings given since the last login
	LastWarning   time.Time // zero when none
	DiedOn        time.Time // date of death; zero when none was recorded
	Deleted       time.Time // when the account was deleted; zero while it exists
	DeletedReason string    // DeletedForInactivity, DeletedAfterDeath or DeletedByResident
}

// RetentionState returns the retention state of a resident (also of a
// deleted one: its tombstone).
func (s *Store) RetentionState(ctx context.Context, residentID string) (RetentionState, error) {
	var out RetentionState
	err := s.view(ctx, func(tx storage.Tx) error {
		if _, err := getResident(tx, residentID); err != nil {
			return err
		}
		rec, err := getRetention(tx, residentID)
		if err != nil {
			return err
		}
		out = RetentionState{WarningsGiven: rec.WarningsGiven, LastWarning: rec.LastWarning,
			DiedOn: rec.DiedOn, Deleted: rec.Deleted, DeletedReason: rec.DeletedReason}
		return nil
	})
	return out, err
}

// inactivityPlan is what the inactivity rule says about one account now.
type inactivityPlan struct {
	basis    time.Time // the last login, or the enrolment before the first login
	due      time.Time // basis + the inactivity period
	leads    []Period  // warnings, longest lead first
	given    int       // warnings given for this basis
	deleteAt time.Time // when the account goes, unless the resident logs in
	warn     int       // when > given: give warning number warn (1-based) now
	delete   bool      // delete the account now
}

// planInactivity applies the inactivity rule:
//
//   - The period counts from the last login (or the enrolment).
//   - Warning i is due at (basis + period − lead i). When several are due
//     at once (the server was down), only the most imminent one is given.
//   - The account is deleted at (basis + period), but never before the
//     last warning (the shortest lead) has been given and that lead has
//     passed since: a resident always gets at least the shortest notice,
//     even when the appliance was down at the time.
//   - A login moves the basis, which voids the warnings given.
func planInactivity(p RetentionPolicy, res *residentRecord, ret *retentionRecord, now time.Time) inactivityPlan {
	basis := res.LastLogin
	if basis.IsZero() {
		basis = res.Created
	}
	pl := inactivityPlan{basis: basis, due: p.Inactivity.AddTo(basis)}
	pl.leads = p.leads(pl.due)
	lastWarning := time.Time{}
	if ret.WarnBasis.Equal(basis) {
		pl.given, lastWarning = ret.WarningsGiven, ret.LastWarning
	}
	n := len(pl.leads)
	pl.deleteAt = pl.due
	if n > 0 {
		shortest := pl.leads[n-1]
		if pl.given >= n {
			pl.deleteAt = later(pl.due, shortest.AddTo(lastWarning))
		} else {
			pl.deleteAt = later(pl.due, shortest.AddTo(now))
		}
	}
	if pl.given >= n && !now.Before(pl.deleteAt) {
		pl.delete = true
		return pl
	}
	for i := range pl.leads {
		if !now.Before(pl.warnAt(i)) && i+1 > pl.given {
			pl.warn = i + 1
		}
	}
	return pl
}

// warnAt is when warning i (0-based, longest lead first) is due: its lead
// before the end of the period.
func (pl inactivityPlan) warnAt(i int) time.Time { return pl.leads[i].SubFrom(pl.due) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// InactivityStatus tells a resident when their account would be deleted
// for inactivity and under which rule.
type InactivityStatus struct {
	// Applies is false when the rule does not apply: the resident is
	// deceased (the death rule applies) or the account is gone.
	Applies bool
	// Period and Warnings are the rule: an account without login for
	// Period is deleted, with a notification each Warnings before.
	Period   Period
	Warnings []Period // longest first
	// LastLogin is what the period counts from: the last login, or the
	// enrolment before the first one.
	LastLogin time.Time
	// DeleteAt is when the account will be deleted unless the resident
	// logs in before.
	DeleteAt time.Time
	// WarningsGiven counts the warnings sent since LastLogin.
	WarningsGiven int
}

// InactivityStatus returns the inactivity rule as it stands for the
// mailbox's owner now. A resident reading this has just logged in, so
// DeleteAt is normally the full period from now.
func (m *Mailbox) InactivityStatus(ctx context.Context) (InactivityStatus, error) {
	return m.s.InactivityStatus(ctx, m.resident.ID)
}

// InactivityStatus returns the inactivity rule as it stands for a
// resident now.
func (s *Store) InactivityStatus(ctx context.Context, residentID string) (InactivityStatus, error) {
	p := s.retention
	now := s.now()
	var out InactivityStatus
	err := s.view(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, residentID)
		if err != nil {
			return err
		}
		ret, err := getRetention(tx, residentID)
		if err != nil {
			return err
		}
		pl := planInactivity(p, res, ret, now)
		out = InactivityStatus{
			Applies:  res.Status == ResidentActive || res.Status == ResidentReserved,
			Period:   p.Inactivity,
			Warnings: pl.leads, LastLogin: pl.basis, DeleteAt: pl.deleteAt, WarningsGiven: pl.given,
		}
		return nil
	})
	return out, err
}

// RetentionAction is what ApplyRetention did.
type RetentionAction string

// Retention actions.
const (
	RetentionNone           RetentionAction = "none"
	RetentionWarned         RetentionAction = "warned"
	RetentionLettersDeleted RetentionAction = "letters-deleted"
	RetentionAccountDeleted RetentionAction = "account-deleted"
)

// RetentionResult is the outcome of ApplyRetention for one resident.
type RetentionResult struct {
	Action         RetentionAction
	LettersDeleted int
	// DeleteAt is the deletion date an inactivity warning announced.
	DeleteAt time.Time
}

// RetentionDue returns the ids of the residents for whom a retention rule
// has something to do now: an inactivity warning or deletion, or, for the
// deceased, letters past their keeping period or an empty account. It only
// reads; ApplyRetention does the work, one resident at a time.
func (s *Store) RetentionDue(ctx context.Context) ([]string, error) {
	p := s.retention
	now := s.now()
	var out []string
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Residents().All(func(res *residentRecord) error {
			due, err := retentionDue(tx, p, res, now)
			if err != nil {
				return err
			}
			if due {
				out = append(out, res.ID)
			}
			return nil
		})
	})
	return out, err
}

func retentionDue(tx storage.Tx, p RetentionPolicy, res *residentRecord, now time.Time) (bool, error) {
	ret, err := getRetention(tx, res.ID)
	if err != nil {
		return false, err
	}
	switch res.Status {
	case ResidentActive, ResidentReserved:
		pl := planInactivity(p, res, ret, now)
		return pl.delete || pl.warn > pl.given, nil
	case ResidentDeceased:
		expired, left, err := deathExpired(tx, p, res, ret, now)
		return len(expired) > 0 || (left == 0 && !ret.DiedOn.IsZero()), err
	}
	return false, nil
}

// deathExpired returns the letters of a deceased resident whose keeping
// period is over, and how many letters would be left without them.
func deathExpired(tx storage.Tx, p RetentionPolicy, res *residentRecord, ret *retentionRecord, now time.Time) (expired []*letterRecord, left int, err error) {
	if ret.DiedOn.IsZero() {
		// Deceased without a recorded date (never through RecordDeath):
		// nothing can be computed, so nothing is deleted.
		return nil, -1, nil
	}
	err = forEachLetterKind(tx, res.ID, func(rec *letterRecord, kind SenderKind) error {
		if !now.Before(keptUntil(p, kind, ret.DiedOn)) {
			expired = append(expired, rec)
		} else {
			left++
		}
		return nil
	})
	return expired, left, err
}

// keptUntil is when a letter from a sender of the kind is deleted after
// its resident died on diedOn: DeceasedPublic after that date for a
// public sender's letter, DeceasedPrivate for a private one's.
func keptUntil(p RetentionPolicy, kind SenderKind, diedOn time.Time) time.Time {
	if kind == SenderPublic {
		return p.DeceasedPublic.AddTo(diedOn)
	}
	return p.DeceasedPrivate.AddTo(diedOn)
}

// forEachLetterKind calls fn for each letter of a resident, in delivery
// order, with the kind of its sender (which the death rule keeps for
// different periods). fn must not change the mailbox.
func forEachLetterKind(tx storage.Tx, residentID string, fn func(*letterRecord, SenderKind) error) error {
	kinds := map[string]SenderKind{}
	return forEachMailboxLetter(tx, residentID, func(rec *letterRecord) error {
		kind, ok := kinds[rec.SenderID]
		if rec.Own != nil {
			// The resident's own document is their private paper, no
			// public record: kept as long as a private sender's letter.
			kind, ok = SenderPrivate, true
		}
		if imp := rec.Imported; imp != nil {
			// Every letter from one other appliance has one SenderID:
			// the kind is the letter's own.
			kind, ok = imp.SenderKind, true
		}
		if !ok {
			snd, err := letterSender(tx, rec)
			if err != nil {
				return err
			}
			kind, kinds[rec.SenderID] = snd.Kind, snd.Kind
		}
		return fn(rec, kind)
	})
}

// forEachMailboxLetter calls fn for each letter of a resident, in delivery
// order. fn must not change the mailbox.
func forEachMailboxLetter(tx storage.Tx, residentID string, fn func(*letterRecord) error) error {
	return tx.Letters().MailboxAll(residentID, func(e storage.MailboxEntry) error {
		rec, err := tx.Letters().Get(e.LetterID)
		if err != nil {
			return err
		}
		return fn(rec)
	})
}

// ApplyRetention does what the retention rules say is due for one
// resident now, in one transaction, and says what it did:
//
//   - active or reserved: give the inactivity warning that is due (one
//     notification on each channel the resident chose), or delete the
//     account when its time has come (see planInactivity);
//   - deceased: delete the letters whose keeping period after the date of
//     death is over (public senders: DeceasedPublic; private:
//     DeceasedPrivate) and, when no letter is left, the account.
//
// It decides from the state in its own transaction, so it is idempotent:
// calling it again, or for a resident with nothing due, does nothing and
// returns RetentionNone. A crash leaves either all of one resident's
// changes or none.
func (s *Store) ApplyRetention(ctx context.Context, residentID string) (RetentionResult, error) {
	p := s.retention
	now := s.now()
	var out RetentionResult
	err := s.update(ctx, func(tx storage.Tx) error {
		out = RetentionResult{Action: RetentionNone}
		res, err := getResident(tx, residentID)
		if err != nil {
			return err
		}
		ret, err := getRetention(tx, residentID)
		if err != nil {
			return err
		}
		switch res.Status {
		case ResidentActive, ResidentReserved:
			pl := planInactivity(p, res, ret, now)
			switch {
			case pl.delete:
				out.Action = RetentionAccountDeleted
				return s.deleteAccount(tx, res, DeletedForInactivity, "system", now)
			case pl.warn > pl.given:
				ret.WarnBasis, ret.WarningsGiven, ret.LastWarning = pl.basis, pl.warn, now
				if err := putRetention(tx, res.ID, ret); err != nil {
					return err
				}
				pl = planInactivity(p, res, ret, now)
				out.Action, out.DeleteAt = RetentionWarned, pl.deleteAt
				if err := s.queueNotification(tx, res.ID, outboxRecord{Kind: NotifyInactivityWarning, DeleteAt: pl.deleteAt}, now); err != nil {
					return err
				}
				return s.appendAudit(tx, now, "system", "warn-inactivity", "resident:"+res.ID)
			}
		case ResidentDeceased:
			expired, left, err := deathExpired(tx, p, res, ret, now)
			if err != nil {
				return err
			}
			for _, rec := range expired {
				if err := deleteLetter(tx, rec); err != nil {
					return err
				}
				if err := s.appendAudit(tx, now, "system", "delete-letter-retention", "letter:"+rec.ID); err != nil {
					return err
				}
			}
			out.LettersDeleted = len(expired)
			if len(expired) > 0 {
				out.Action = RetentionLettersDeleted
				// The letters' words go from the search index too: with
				// no key here to open it, the whole index goes.
				if err := tx.SearchIndexes().Delete(res.ID); err != nil {
					return err
				}
			}
			if left == 0 {
				out.Action = RetentionAccountDeleted
				return s.deleteAccount(tx, res, DeletedAfterDeath, "system", now)
			}
		}
		return nil
	})
	if err != nil {
		return RetentionResult{}, fmt.Errorf("retention of resident %s: %w", residentID, err)
	}
	return out, nil
}

// RecordDeath records a resident's death on the given date (died's date
// in its location). From then the account cannot log in (its sessions are
// ended at once), it takes no letters (lookups say not digital), its
// pending notifications are dropped, and the letters it has are kept for
// the policy's periods after that date. A date in the future is refused;
// recording again corrects the date.
func (s *Store) RecordDeath(ctx context.Context, nid NationalID, died time.Time) (Resident, error) {
	now := s.now()
	day := startOfDay(died)
	if day.After(now.In(died.Location())) {
		return Resident{}, invalid("date", "the date of death %s is in the future", day.Format(time.DateOnly))
	}
	var out Resident
	err := s.update(ctx, func(tx storage.Tx) error {
		res, err := getResidentByNID(tx, nid)
		if err != nil {
			return fmt.Errorf("resident %s: %w", nid, err)
		}
		if res.Status == ResidentDeleted {
			return fmt.Errorf("resident %s: the account was deleted: %w", nid, ErrNotFound)
		}
		res.Status = ResidentDeceased
		// A mailbox still pending can no longer be activated.
		res.ActivationHash, res.ActivationExpires = nil, time.Time{}
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		if err := deleteSessionsOf(tx, res.ID); err != nil {
			return err
		}
		if err := deleteOutboxOf(tx, res.ID); err != nil {
			return err
		}
		// A power of attorney ends with a death, given or held: the
		// grants and every copy of a key they made go.
		if err := s.endDelegationsOf(tx, res.ID, now); err != nil {
			return err
		}
		ret, err := getRetention(tx, res.ID)
		if err != nil {
			return err
		}
		ret.DiedOn, ret.DeathRecorded = day.UTC(), now
		ret.WarnBasis, ret.WarningsGiven, ret.LastWarning = time.Time{}, 0, time.Time{}
		if err := putRetention(tx, res.ID, ret); err != nil {
			return err
		}
		out = residentOf(res)
		return s.appendAudit(tx, now, operatorActor(ctx), "record-death", "resident:"+res.ID)
	})
	return out, err
}

// DeleteMailbox deletes the mailbox's owner's account at their own
// request, after checking their password again: every letter, every
// wrapping of the private key, the sessions, preferences and pending
// notifications; deleted letters cannot be restored. The session ends
// with it. A wrong password is ErrBadCredentials and deletes nothing.
//
// The password check (Argon2id, about 0.2 s and 64 MiB) runs outside any
// transaction, on the password wrapping read before: bbolt has one writer
// at a time, so a check inside the write transaction would hold up every
// delivery and login meanwhile. The write transaction then deletes only if
// the wrapping is still byte for byte the one that was checked; one
// changed in between (a new password) is ErrBadCredentials.
func (m *Mailbox) DeleteMailbox(ctx context.Context, password string) error {
	var checked []byte
	deleted := false
	err := m.s.view(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		deleted = res.Status == ResidentDeleted
		checked = bytes.Clone(res.PasswordWrap)
		return nil
	})
	if err != nil || deleted {
		return err
	}
	if len(password) > 1024 {
		return ErrBadCredentials
	}
	priv, err := crypto.UnwrapWithPassword(checked, []byte(password))
	if err != nil {
		return ErrBadCredentials
	}
	priv.Zero()
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if res.Status == ResidentDeleted {
			return nil
		}
		if !bytes.Equal(res.PasswordWrap, checked) {
			return ErrBadCredentials
		}
		return m.s.deleteAccount(tx, res, DeletedByResident, "resident:"+res.ID, now)
	})
}

// deleteAccount deletes everything of an account within tx and leaves the
// tombstone the package doc describes. Deleting every wrapping of the
// private key is the crypto-shredding: even a copy of a deleted letter's
// record (in a backup, or in the database file's free pages) can no
// longer be opened once no wrapping of the key is left anywhere live.
func (s *Store) deleteAccount(tx storage.Tx, res *residentRecord, reason, actor string, now time.Time) error {
	var letters []*letterRecord
	if err := forEachMailboxLetter(tx, res.ID, func(rec *letterRecord) error {
		letters = append(letters, rec)
		return nil
	}); err != nil {
		return err
	}
	if err := tx.Letters().Tombstones(res.ID, func(id string) error {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		letters = append(letters, rec)
		return nil
	}); err != nil {
		return err
	}
	scheduled, err := scheduledOf(tx, res.ID)
	if err != nil {
		return err
	}
	letters = append(letters, scheduled...)
	for _, rec := range letters {
		if err := deleteLetter(tx, rec); err != nil {
			return err
		}
	}
	// The resident's messages to senders (replies went with their letters).
	if err := tx.Replies().ByResident(res.ID, func(r *storage.Reply) error { return tx.Replies().Delete(r.ID) }); err != nil {
		return err
	}
	if err := deleteSessionsOf(tx, res.ID); err != nil {
		return err
	}
	if err := deleteOutboxOf(tx, res.ID); err != nil {
		return err
	}
	if err := tx.Preferences().Delete(res.ID); err != nil {
		return err
	}
	if err := tx.Terms().DeleteAcceptance(res.ID); err != nil {
		return err
	}
	if err := tx.Terms().DeleteNotices(res.ID); err != nil {
		return err
	}
	if err := deleteSupportOf(tx, res.ID); err != nil {
		return err
	}
	if err := tx.SenderBlocks().Put(res.ID, nil); err != nil {
		return err
	}
	if err := tx.Folders().Put(res.ID, nil); err != nil {
		return err
	}
	if err := tx.SearchIndexes().Delete(res.ID); err != nil {
		return err
	}
	if err := s.endDelegationsOf(tx, res.ID, now); err != nil {
		return err
	}
	tomb := residentRecord{
		ID: res.ID, Country: res.Country, NationalID: res.NationalID, Status: ResidentDeleted,
		Created: res.Created, LastLogin: res.LastLogin,
	}
	if err := tx.Residents().Put(&tomb); err != nil {
		return err
	}
	if err := putRetention(tx, res.ID, &retentionRecord{Deleted: now, DeletedReason: reason}); err != nil {
		return err
	}
	return s.appendAudit(tx, now, actor, "delete-account-"+reason, "resident:"+res.ID)
}

// deleteLetter deletes a letter (or a deleted letter's tombstone) with
// its sealed key, sealed fields, documents, replies and index entries, and a copy
// of it waiting to be printed if unread.
func deleteLetter(tx storage.Tx, rec *letterRecord) error {
	if err := tx.Documents().Delete(rec.ID, len(rec.Documents)); err != nil {
		return err
	}
	if err := deleteReplies(tx, rec.ID); err != nil {
		return err
	}
	if err := cancelUnreadPrint(tx, rec.ID); err != nil {
		return err
	}
	return tx.Letters().Delete(rec)
}
