package store

import (
	"context"
	"slices"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// RetentionPreview is what the retention rules will delete of one
// resident's account, when and why, as things stand now. It is computed
// by the rule functions the retention job applies through RetentionDue
// and ApplyRetention (planInactivity, keptUntil, forEachLetterKind), so
// what it says is what the job does at its first run from each time on —
// unless something changes first: a login starts the inactivity period
// again, a recorded death puts the death rule in place of the inactivity
// rule, a letter delivered or deleted changes what there is to delete.
//
// Letters have no expiry of their own: a letter goes when its resident
// deletes it, with the account, or after its resident's death.
type RetentionPreview struct {
	// Status is the resident's status: the inactivity rule applies to an
	// active or reserved account, the death rule to a deceased one.
	Status ResidentStatus
	// Policy is the retention policy in force, with its periods.
	Policy RetentionPolicy
	// Inactivity is the inactivity rule's plan for the account; nil when
	// the rule does not apply.
	Inactivity *InactivityPreview
	// DiedOn is the recorded date of death; zero while the resident
	// lives.
	DiedOn time.Time
	// PublicLetters and PrivateLetters count the letters in the mailbox
	// by their sender's kind: after death the first are kept
	// Policy.DeceasedPublic, the second Policy.DeceasedPrivate.
	PublicLetters, PrivateLetters int
	// Deletions are the deletions the rules will make, earliest first.
	Deletions []PlannedDeletion
}

// InactivityPreview is the inactivity rule's plan for one account.
type InactivityPreview struct {
	// LastLogin is what the period counts from: the last login, or the
	// enrolment before the first.
	LastLogin time.Time
	// DeleteAt is when the account is deleted unless the resident logs
	// in before.
	DeleteAt time.Time
	// Warnings are the warnings before it, longest lead first.
	Warnings []PlannedWarning
}

// PlannedWarning is one inactivity warning: due at At, Lead before the
// deletion; Given once it was given (for this last login).
type PlannedWarning struct {
	Lead  Period
	At    time.Time
	Given bool
}

// PlannedDeletion is one deletion the retention rules will make at At:
// the letters named, and with Account the account with everything left
// in it.
type PlannedDeletion struct {
	At time.Time
	// Reason is DeletedForInactivity or DeletedAfterDeath.
	Reason string
	// Kind is, after death, the kind of sender whose letters' keeping
	// period ends at At ("" for the inactivity rule, or an account that
	// goes without letters).
	Kind    SenderKind
	Letters []string // letter ids
	Account bool
}

// RetentionPreview returns what the retention rules will delete of the
// mailbox's owner's account, when and why.
func (m *Mailbox) RetentionPreview(ctx context.Context) (RetentionPreview, error) {
	if err := m.gate(); err != nil {
		return RetentionPreview{}, err
	}
	return m.s.RetentionPreview(ctx, m.resident.ID)
}

// RetentionPreview returns what the retention rules will delete of a
// resident's account, when and why, as things stand now.
func (s *Store) RetentionPreview(ctx context.Context, residentID string) (RetentionPreview, error) {
	p := s.retention
	now := s.now()
	var out RetentionPreview
	err := s.view(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, residentID)
		if err != nil {
			return err
		}
		ret, err := getRetention(tx, residentID)
		if err != nil {
			return err
		}
		out = RetentionPreview{Status: res.Status, Policy: p, DiedOn: ret.DiedOn}
		out.Policy.InactivityWarnings = slices.Clone(p.InactivityWarnings) // the caller's to keep
		var all []string
		byKind := map[SenderKind][]string{}
		if err := forEachLetterKind(tx, res.ID, func(rec *letterRecord, kind SenderKind) error {
			all = append(all, rec.ID)
			byKind[kind] = append(byKind[kind], rec.ID)
			return nil
		}); err != nil {
			return err
		}
		out.PublicLetters, out.PrivateLetters = len(byKind[SenderPublic]), len(byKind[SenderPrivate])
		switch res.Status {
		case ResidentActive, ResidentReserved:
			pl := planInactivity(p, res, ret, now)
			iv := &InactivityPreview{LastLogin: pl.basis, DeleteAt: pl.deleteAt}
			for i, lead := range pl.leads {
				iv.Warnings = append(iv.Warnings, PlannedWarning{Lead: lead, At: pl.warnAt(i), Given: i < pl.given})
			}
			out.Inactivity = iv
			out.Deletions = []PlannedDeletion{{At: pl.deleteAt, Reason: DeletedForInactivity, Letters: all, Account: true}}
		case ResidentDeceased:
			out.Deletions = plannedAfterDeath(p, ret.DiedOn, byKind, now)
		}
		return nil
	})
	return out, err
}

// plannedAfterDeath is the death rule's deletions: each kind's letters at
// the end of its keeping period (keptUntil), the account with the last of
// them, or at once when it has none (as ApplyRetention deletes it). With
// no recorded date of death nothing is planned, as nothing is deleted.
func plannedAfterDeath(p RetentionPolicy, diedOn time.Time, byKind map[SenderKind][]string, now time.Time) []PlannedDeletion {
	if diedOn.IsZero() {
		return nil
	}
	var out []PlannedDeletion
	for _, kind := range []SenderKind{SenderPublic, SenderPrivate} {
		if ids := byKind[kind]; len(ids) > 0 {
			out = append(out, PlannedDeletion{At: keptUntil(p, kind, diedOn), Reason: DeletedAfterDeath, Kind: kind, Letters: ids})
		}
	}
	if len(out) == 0 {
		return []PlannedDeletion{{At: now, Reason: DeletedAfterDeath, Account: true}}
	}
	slices.SortStableFunc(out, func(a, b PlannedDeletion) int { return a.At.Compare(b.At) })
	out[len(out)-1].Account = true
	return out
}
