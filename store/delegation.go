package store

// Delegation (power of attorney): a resident (the grantor) gives another
// resident of the appliance (the delegate) access to their mailbox, read
// or read-and-act, to all post from senders or to post from public
// authorities only, until a date or until it is ended. No private key is
// shared (DESIGN.md, "Delegation never shares a private key"): the data
// key of every covered letter is also sealed to the delegate's public key
// (storage.Letter.DelegateKeys, crypto.Binding.Delegate) —
//
//   - at the grant, for the letters already in the mailbox, with the
//     grantor's private key (the grantor is signed in then);
//   - at delivery, for each new covered letter (deliver.go);
//   - for a guardianship the operator records (AddGuardianship), new
//     letters at once and the earlier ones when the ward next signs in
//     (OpenSession calls coverGrants): until then a guardian reads only
//     what came after.
//
// Ending a grant (the grantor, the delegate, the operator for a
// guardianship, or the sweep when its date has passed) deletes the grant
// and every wrapping to its delegate in the same transaction; deleting a
// letter deletes its wrappings with its other sealed fields. Every read
// through a grant checks in its transaction that the grant exists, was
// accepted and has not passed its date, so an expired grant opens nothing
// even before the sweep.
//
// Acts: a delegate with access "act" may mark letters read or unread,
// move them between the inbox and the archive, and reply on the
// grantor's behalf (DelegateActs; delegated_reply.go); nothing else. Every opening and act of a delegate is audited (actor the
// delegate, object the letter, detail "grantor:<id> delegation:<id>"),
// and the grantor sees them (Mailbox.DelegateActivity).

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// DelegationAccess is what a grant lets the delegate do.
type DelegationAccess = storage.DelegationAccess

// DelegationScope is which letters a grant covers.
type DelegationScope = storage.DelegationScope

// The accesses and scopes of a grant (storage's).
const (
	AccessRead  = storage.AccessRead
	AccessAct   = storage.AccessAct
	ScopeAll    = storage.ScopeAll
	ScopePublic = storage.ScopePublic
)

// DelegateActs are the acts a delegate with access "act" may do in the
// grantor's mailbox, in the order shown to the grantor. Replying
// (delegated_reply.go) and signing or declining a signature request
// (signing_delegated.go, with the delegate's own key) are on the
// grantor's behalf.
var DelegateActs = []string{"mark-read", "move", "reply", "sign"}

// Grant is a delegation as the grantor or the delegate sees it.
type Grant struct {
	ID           string
	GrantorID    string
	GrantorName  string
	DelegateID   string
	DelegateName string
	Access       storage.DelegationAccess
	Scope        storage.DelegationScope
	// Until is the last day of the grant, a date at midnight UTC (its end
	// is the start of the next day in the appliance's time zone,
	// Options.Location); zero until ended.
	Until        time.Time
	Created      time.Time
	Accepted     time.Time
	Guardianship bool
	Decision     string
	// Covered is when the letters from before the grant were made
	// readable to the delegate; zero while they wait for the grantor's
	// key (a guardianship whose ward has not signed in since).
	Covered time.Time
	// Active: accepted and not past its date.
	Active bool
}

// GrantRequest is what a grantor asks for.
type GrantRequest struct {
	// DelegateNationalID is the delegate's national identity number as
	// typed.
	DelegateNationalID string
	Access             storage.DelegationAccess
	Scope              storage.DelegationScope
	// Until is the last day of the grant (a date: its time of day is
	// ignored); zero for until ended.
	Until time.Time
}

// delegationEnd is the instant a grant with the last day until (a date:
// its own year, month and day) ends: the start of the next day in loc,
// the appliance's time zone; zero for none.
func delegationEnd(until time.Time, loc *time.Location) time.Time {
	if until.IsZero() {
		return time.Time{}
	}
	y, m, d := until.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()
}

// lastDay is the last day of a grant that ends at end, as a date at
// midnight UTC: the day before end in loc.
func lastDay(end time.Time, loc *time.Location) time.Time {
	y, m, d := end.In(loc).AddDate(0, 0, -1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// delegationActive reports whether a grant lets its delegate in at now.
func delegationActive(d *storage.Delegation, now time.Time) bool {
	return !d.Accepted.IsZero() && !delegationPast(d, now)
}

// delegationPast reports whether a grant's date has passed at now.
func delegationPast(d *storage.Delegation, now time.Time) bool {
	return !d.Until.IsZero() && !now.Before(d.Until)
}

// covers reports whether a grant covers a letter: a letter from a sender
// (not the resident's own document) in the grantor's mailbox, from a
// public authority for a grant of public post.
func covers(d *storage.Delegation, rec *letterRecord, kind storage.SenderKind) bool {
	if rec.ResidentID != d.GrantorID || rec.Own != nil {
		return false
	}
	return d.Scope == storage.ScopeAll || kind == storage.SenderPublic
}

func delegateBinding(rec *letterRecord, delegateID string) crypto.Binding {
	b := letterBinding(rec)
	b.Delegate = delegateID
	return b
}

func (s *Store) grantOf(tx storage.Tx, d *storage.Delegation, now time.Time) (Grant, error) {
	g := Grant{ID: d.ID, GrantorID: d.GrantorID, DelegateID: d.DelegateID, Access: d.Access, Scope: d.Scope,
		Created: d.Created, Accepted: d.Accepted, Guardianship: d.Guardianship, Decision: d.Decision,
		Covered: d.Covered, Active: delegationActive(d, now)}
	if !d.Until.IsZero() {
		g.Until = lastDay(d.Until, s.loc)
	}
	for _, p := range []struct {
		id   string
		name *string
	}{{d.GrantorID, &g.GrantorName}, {d.DelegateID, &g.DelegateName}} {
		r, err := getResident(tx, p.id)
		if err != nil {
			return Grant{}, fmt.Errorf("delegation %s: %w", d.ID, err)
		}
		*p.name = r.Name
	}
	return g, nil
}

// checkGrantTerms checks a grant's access, scope and last day.
func checkGrantTerms(access storage.DelegationAccess, scope storage.DelegationScope, until, now time.Time, loc *time.Location) error {
	if access != storage.AccessRead && access != storage.AccessAct {
		return fmt.Errorf("access %q: %w", access, ErrDelegationInvalid)
	}
	if scope != storage.ScopeAll && scope != storage.ScopePublic {
		return fmt.Errorf("scope %q: %w", scope, ErrDelegationInvalid)
	}
	if !until.IsZero() && !now.Before(delegationEnd(until, loc)) {
		return ErrDelegationUntilPast
	}
	return nil
}

// delegateFor returns the resident a grant may be given to: an active (or
// reserved) mailbox of someone else.
func delegateFor(tx storage.Tx, grantorID string, nid NationalID) (*residentRecord, error) {
	rec, err := getResidentByNID(tx, nid)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrDelegateUnknown
	} else if err != nil {
		return nil, err
	}
	if rec.ID == grantorID {
		return nil, ErrDelegateSelf
	}
	if (rec.Status != ResidentActive && rec.Status != ResidentReserved) || len(rec.PublicKey) == 0 {
		return nil, ErrDelegateUnknown
	}
	return rec, nil
}

// GrantAccess gives the resident with the national identity number access
// to this mailbox. The grant is pending until the delegate accepts it;
// the letters already here are sealed to the delegate now. Granting
// oneself, someone with no open mailbox here, an unknown access or scope,
// a last day before today, or a second grant to the same delegate is
// refused and changes nothing.
func (m *Mailbox) GrantAccess(ctx context.Context, req GrantRequest) (Grant, error) {
	if err := m.gate(); err != nil {
		return Grant{}, err
	}
	now := m.s.now()
	if err := checkGrantTerms(req.Access, req.Scope, req.Until, now, m.s.loc); err != nil {
		return Grant{}, err
	}
	nid, err := ParseNationalID(req.DelegateNationalID)
	if err != nil {
		return Grant{}, ErrDelegateUnknown
	}
	id, err := m.s.newID()
	if err != nil {
		return Grant{}, err
	}
	d := &storage.Delegation{ID: id, GrantorID: m.resident.ID, Access: req.Access, Scope: req.Scope,
		Until: delegationEnd(req.Until, m.s.loc), Created: now}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		del, err := delegateFor(tx, m.resident.ID, nid)
		if err != nil {
			return err
		}
		given, err := tx.Delegations().OfGrantor(m.resident.ID)
		if err != nil {
			return err
		}
		for _, g := range given {
			if g.DelegateID == del.ID {
				return ErrDelegationExists
			}
		}
		d.DelegateID = del.ID
		if err := tx.Delegations().Put(d); err != nil {
			return err
		}
		return m.s.appendAuditDetail(tx, now, "resident:"+m.resident.ID, "delegation-grant", "resident:"+del.ID,
			fmt.Sprintf("delegation:%s access:%s scope:%s", d.ID, d.Access, d.Scope))
	})
	if err != nil {
		return Grant{}, err
	}
	if err := m.coverGrants(ctx, false); err != nil {
		return Grant{}, err
	}
	var g Grant
	err = m.s.view(ctx, func(tx storage.Tx) error {
		cur, err := tx.Delegations().Get(id)
		if err != nil {
			return err
		}
		g, err = m.s.grantOf(tx, cur, now)
		return err
	})
	return g, err
}

// Grants returns the grants this resident gave and those given to them,
// oldest first.
func (m *Mailbox) Grants(ctx context.Context) (given, received []Grant, err error) {
	now := m.s.now()
	err = m.s.view(ctx, func(tx storage.Tx) error {
		for _, q := range []struct {
			of  func(string) ([]*storage.Delegation, error)
			out *[]Grant
		}{{tx.Delegations().OfGrantor, &given}, {tx.Delegations().OfDelegate, &received}} {
			ds, err := q.of(m.resident.ID)
			if err != nil {
				return err
			}
			for _, d := range ds {
				if delegationPast(d, now) {
					continue // ended; the sweep deletes it
				}
				g, err := m.s.grantOf(tx, d, now)
				if err != nil {
					return err
				}
				*q.out = append(*q.out, g)
			}
		}
		return nil
	})
	// The engines list a resident's grants by id: oldest first here.
	for _, gs := range [][]Grant{given, received} {
		slices.SortStableFunc(gs, func(a, b Grant) int { return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID)) })
	}
	return given, received, err
}

// AcceptGrant accepts a grant given to this resident. A grant given to
// someone else, ended or past its date is ErrNotFound; accepting twice
// is no error.
func (m *Mailbox) AcceptGrant(ctx context.Context, id string) error {
	if err := m.gate(); err != nil {
		return err
	}
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		d, err := tx.Delegations().Get(id)
		if errors.Is(err, ErrNotFound) || (err == nil && (d.DelegateID != m.resident.ID || delegationPast(d, now))) {
			return fmt.Errorf("delegation %s: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if !d.Accepted.IsZero() {
			return nil
		}
		d.Accepted = now
		if err := tx.Delegations().Put(d); err != nil {
			return err
		}
		return m.s.appendAuditDetail(tx, now, "resident:"+m.resident.ID, "delegation-accept", "resident:"+d.GrantorID, "delegation:"+d.ID)
	})
}

// EndGrant ends a grant this resident gave or was given (a guardianship
// only the operator ends): the grant and every wrapping to its delegate
// are deleted at once. Another's grant is ErrNotFound.
func (m *Mailbox) EndGrant(ctx context.Context, id string) error {
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		d, err := tx.Delegations().Get(id)
		if errors.Is(err, ErrNotFound) || (err == nil && d.GrantorID != m.resident.ID && d.DelegateID != m.resident.ID) {
			return fmt.Errorf("delegation %s: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		if d.Guardianship {
			return ErrGuardianship
		}
		return m.s.endDelegation(tx, d, now, "resident:"+m.resident.ID, "delegation-end")
	})
}

// endDelegation deletes a grant and every wrapping of a letter's data key
// to its delegate, with an audit entry, in tx.
func (s *Store) endDelegation(tx storage.Tx, d *storage.Delegation, now time.Time, actor, action string) error {
	if err := dropWrappings(tx, d); err != nil {
		return err
	}
	if err := tx.Delegations().Delete(d.ID); err != nil {
		return err
	}
	return s.appendAuditDetail(tx, now, actor, action, "resident:"+d.GrantorID,
		fmt.Sprintf("delegation:%s delegate:%s", d.ID, d.DelegateID))
}

// endDelegationsOf ends every grant a resident gave or was given, for a
// deleted account or a mailbox reset with a new key pair.
func (s *Store) endDelegationsOf(tx storage.Tx, residentID string, now time.Time) error {
	for _, of := range []func(string) ([]*storage.Delegation, error){tx.Delegations().OfGrantor, tx.Delegations().OfDelegate} {
		ds, err := of(residentID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := s.endDelegation(tx, d, now, "system", "delegation-end-account"); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropWrappings deletes the wrappings to a grant's delegate from every
// letter of the grantor, in the mailbox or scheduled, and from the replies
// the delegate wrote on the grantor's behalf.
func dropWrappings(tx storage.Tx, d *storage.Delegation) error {
	if err := dropReplyCopies(tx, d); err != nil {
		return err
	}
	ids, err := lettersOf(tx, d.GrantorID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rec, err := tx.Letters().Get(id)
		if err != nil {
			return err
		}
		n := len(rec.DelegateKeys)
		rec.DelegateKeys = slices.DeleteFunc(rec.DelegateKeys, func(k storage.DelegateKey) bool { return k.DelegationID == d.ID })
		if len(rec.DelegateKeys) == n {
			continue
		}
		if len(rec.DelegateKeys) == 0 {
			rec.DelegateKeys = nil
		}
		if err := tx.Letters().Put(rec); err != nil {
			return err
		}
	}
	return nil
}

// EndExpiredDelegations ends every grant whose last day has passed, as
// EndGrant does, and returns how many. The job "delegations" runs it; a
// read through a grant past its date is refused before that.
func (s *Store) EndExpiredDelegations(ctx context.Context) (int, error) {
	now := s.now()
	var n int
	err := s.update(ctx, func(tx storage.Tx) error {
		n = 0
		var past []*storage.Delegation
		if err := tx.Delegations().All(func(d *storage.Delegation) error {
			if delegationPast(d, now) {
				past = append(past, d)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, d := range past {
			if err := s.endDelegation(tx, d, now, "system", "delegation-expire"); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// coverGrants seals the letters of this mailbox (in it or scheduled)
// that a grant covers and that are not sealed to its delegate yet, with
// the owner's private key, and marks the grant covered. GrantAccess calls
// it for a new grant and OpenSession when a grant waits for it (a
// guardianship), both with all false (the grants not covered yet);
// Import with all true (every live grant, for the letters it brought).
func (m *Mailbox) coverGrants(ctx context.Context, all bool) error {
	now := m.s.now()
	var waiting []*storage.Delegation
	var made []coverWrapping
	err := m.s.view(ctx, func(tx storage.Tx) error {
		ds, err := tx.Delegations().OfGrantor(m.resident.ID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if (all || d.Covered.IsZero()) && !delegationPast(d, now) {
				waiting = append(waiting, d)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		keys := map[string]crypto.PublicKeys{}
		for _, d := range waiting {
			del, err := getResident(tx, d.DelegateID)
			if err != nil {
				return err
			}
			if keys[d.ID], err = recipientKeys(del); err != nil {
				return err
			}
		}
		ids, err := lettersOf(tx, m.resident.ID)
		if err != nil {
			return err
		}
		senders := map[string]storage.SenderKind{}
		for _, id := range ids {
			w, err := m.coverLetter(tx, id, waiting, keys, senders)
			if err != nil {
				return err
			}
			made = append(made, w...)
		}
		return nil
	})
	if err != nil || len(waiting) == 0 {
		return err
	}
	return m.s.update(ctx, func(tx storage.Tx) error {
		// Checked again in the write: a grant ended, or a letter deleted,
		// since gets nothing.
		live := map[string]*storage.Delegation{}
		for _, d := range waiting {
			cur, err := tx.Delegations().Get(d.ID)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			live[d.ID] = cur
		}
		for _, w := range made {
			if live[w.key.DelegationID] == nil {
				continue
			}
			rec, err := tx.Letters().Get(w.letterID)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if rec.IsTombstone() || rec.ResidentID != m.resident.ID ||
				slices.ContainsFunc(rec.DelegateKeys, func(k storage.DelegateKey) bool { return k.DelegationID == w.key.DelegationID }) {
				continue
			}
			rec.DelegateKeys = append(rec.DelegateKeys, w.key)
			if err := tx.Letters().Put(rec); err != nil {
				return err
			}
		}
		// A grant is covered only when no letter it covers lacks a copy:
		// one delivered since the view stays for the next call.
		ids, err := lettersOf(tx, m.resident.ID)
		if err != nil {
			return err
		}
		senders := map[string]storage.SenderKind{}
		for _, id := range ids {
			rec, err := tx.Letters().Get(id)
			if err != nil {
				return err
			}
			kind, err := senderKindOf(tx, rec, senders)
			if err != nil {
				return err
			}
			for gid, d := range live {
				if covers(d, rec, kind) && !slices.ContainsFunc(rec.DelegateKeys, func(k storage.DelegateKey) bool { return k.DelegationID == gid }) {
					delete(live, gid)
				}
			}
		}
		for _, d := range live {
			d.Covered = now
			if err := tx.Delegations().Put(d); err != nil {
				return err
			}
		}
		return nil
	})
}

// lettersOf returns the ids of a resident's letters in the mailbox and
// scheduled.
func lettersOf(tx storage.Tx, residentID string) ([]string, error) {
	var ids []string
	if err := tx.Letters().MailboxAll(residentID, func(e storage.MailboxEntry) error {
		ids = append(ids, e.LetterID)
		return nil
	}); err != nil {
		return nil, err
	}
	err := tx.Letters().Scheduled(time.Unix(1<<40, 0), func(letterID, rid string, _ time.Time) (bool, error) {
		if rid == residentID {
			ids = append(ids, letterID)
		}
		return true, nil
	})
	return ids, err
}

// senderKindOf returns the kind of a letter's sender ("" for an own
// document), remembered in senders.
func senderKindOf(tx storage.Tx, rec *letterRecord, senders map[string]storage.SenderKind) (storage.SenderKind, error) {
	if rec.Own != nil {
		return "", nil
	}
	if kind, ok := senders[rec.SenderID]; ok {
		return kind, nil
	}
	snd, err := letterSender(tx, rec)
	if err != nil {
		return "", err
	}
	if rec.Imported == nil {
		senders[rec.SenderID] = snd.Kind
	}
	return snd.Kind, nil
}

// coverWrapping is a copy of a letter's data key made for a delegate, to
// be stored.
type coverWrapping struct {
	letterID string
	key      storage.DelegateKey
}

// coverLetter makes the copies of a letter's data key that the grants
// cover and the letter lacks.
func (m *Mailbox) coverLetter(tx storage.Tx, id string, grants []*storage.Delegation, keys map[string]crypto.PublicKeys, senders map[string]storage.SenderKind) ([]coverWrapping, error) {
	rec, err := tx.Letters().Get(id)
	if err != nil {
		return nil, err
	}
	kind, err := senderKindOf(tx, rec, senders)
	if err != nil {
		return nil, err
	}
	var out []coverWrapping
	var dk *crypto.DataKey
	defer func() { dk.Zero() }()
	for _, d := range grants {
		if !covers(d, rec, kind) || slices.ContainsFunc(rec.DelegateKeys, func(k storage.DelegateKey) bool { return k.DelegationID == d.ID }) {
			continue
		}
		if dk == nil {
			if dk, err = m.key.OpenDataKey(rec.SealedKey, letterBinding(rec)); err != nil {
				return nil, fmt.Errorf("open letter %s: %w", rec.ID, err)
			}
		}
		sealed, err := crypto.SealDataKey(m.s.rand, dk, keys[d.ID], delegateBinding(rec, d.DelegateID))
		if err != nil {
			return nil, fmt.Errorf("seal letter %s to delegate %s: %w", rec.ID, d.DelegateID, err)
		}
		out = append(out, coverWrapping{rec.ID, storage.DelegateKey{DelegationID: d.ID, DelegateID: d.DelegateID, SealedKey: sealed}})
	}
	return out, nil
}

// uncoveredGrants reports whether a resident gave a grant whose earlier
// letters wait for the resident's key.
func uncoveredGrants(tx storage.Tx, residentID string, now time.Time) (bool, error) {
	ds, err := tx.Delegations().OfGrantor(residentID)
	if err != nil {
		return false, err
	}
	for _, d := range ds {
		if d.Covered.IsZero() && !delegationPast(d, now) {
			return true, nil
		}
	}
	return false, nil
}

// delegatesFor returns the grants of a recipient that cover a new letter
// from a sender of the kind, with their delegates' keys: deliver.go seals
// the letter to each.
func delegatesFor(tx storage.Tx, recipientID string, kind storage.SenderKind, now time.Time) ([]delegateTarget, error) {
	ds, err := tx.Delegations().OfGrantor(recipientID)
	if err != nil {
		return nil, err
	}
	var out []delegateTarget
	for _, d := range ds {
		if delegationPast(d, now) || (d.Scope == storage.ScopePublic && kind != storage.SenderPublic) {
			continue
		}
		del, err := getResident(tx, d.DelegateID)
		if err != nil {
			return nil, err
		}
		keys, err := recipientKeys(del)
		if err != nil {
			return nil, err
		}
		out = append(out, delegateTarget{delegationID: d.ID, delegateID: d.DelegateID, keys: keys})
	}
	return out, nil
}

// delegateTarget is a delegate a new letter is sealed to.
type delegateTarget struct {
	delegationID, delegateID string
	keys                     crypto.PublicKeys
}

// settleWrappings makes a letter about to be stored agree with the
// grants of its resident at the commit: it drops the copies for grants
// that ended since it was sealed, and a grant made since (which it has
// no copy for, and the data key is gone) is marked not covered, so that
// the grantor's next request seals the letter to it (coverGrants).
func settleWrappings(tx storage.Tx, rec *letterRecord, kind storage.SenderKind, now time.Time) error {
	ds, err := tx.Delegations().OfGrantor(rec.ResidentID)
	if err != nil {
		return err
	}
	if len(ds) == 0 && len(rec.DelegateKeys) == 0 {
		return nil
	}
	byID := map[string]*storage.Delegation{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	var keep []storage.DelegateKey
	for _, k := range rec.DelegateKeys {
		if d := byID[k.DelegationID]; d != nil && d.DelegateID == k.DelegateID && !delegationPast(d, now) {
			keep = append(keep, k)
		}
	}
	rec.DelegateKeys = keep
	for _, d := range ds {
		if delegationPast(d, now) || !covers(d, rec, kind) || d.Covered.IsZero() ||
			slices.ContainsFunc(keep, func(k storage.DelegateKey) bool { return k.DelegationID == d.ID }) {
			continue
		}
		d.Covered = time.Time{}
		if err := tx.Delegations().Put(d); err != nil {
			return err
		}
	}
	return nil
}

// DelegatedMailbox is a grantor's mailbox as a delegate sees it through a
// grant: only the letters the grant covers, opened with the delegate's
// own key. Close it with the delegate's Mailbox.
type DelegatedMailbox struct {
	m     *Mailbox // the delegate's
	grant Grant
}

// Delegated opens the mailbox of a grant given to this resident. A grant
// given to someone else, not accepted, ended or past its date is
// ErrNotFound.
func (m *Mailbox) Delegated(ctx context.Context, grantID string) (*DelegatedMailbox, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	var g Grant
	err := m.s.view(ctx, func(tx storage.Tx) error {
		d, err := m.activeGrant(tx, grantID)
		if err != nil {
			return err
		}
		g, err = m.s.grantOf(tx, d, m.s.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &DelegatedMailbox{m: m, grant: g}, nil
}

// activeGrant returns a grant given to this mailbox's owner that lets
// them in now; any other is ErrNotFound.
func (m *Mailbox) activeGrant(tx storage.Tx, id string) (*storage.Delegation, error) {
	d, err := tx.Delegations().Get(id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("delegation %s: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	if d.DelegateID != m.resident.ID || !delegationActive(d, m.s.now()) {
		return nil, fmt.Errorf("delegation %s: %w", id, ErrNotFound)
	}
	return d, nil
}

// Grant returns the grant the mailbox was opened through.
func (dm *DelegatedMailbox) Grant() Grant { return dm.grant }

// letter returns a covered letter of the grantor with the grant, checked
// in tx; another letter is ErrNotFound.
func (dm *DelegatedMailbox) letter(tx storage.Tx, id string) (*storage.Delegation, *letterRecord, storage.DelegateKey, error) {
	d, err := dm.m.activeGrant(tx, dm.grant.ID)
	if err != nil {
		return nil, nil, storage.DelegateKey{}, err
	}
	rec, err := tx.Letters().Get(id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, storage.DelegateKey{}, fmt.Errorf("letter %s: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, nil, storage.DelegateKey{}, err
	}
	if rec.ResidentID != d.GrantorID || !rec.InMailbox() {
		return nil, nil, storage.DelegateKey{}, fmt.Errorf("letter %s: %w", id, ErrNotFound)
	}
	i := slices.IndexFunc(rec.DelegateKeys, func(k storage.DelegateKey) bool {
		return k.DelegationID == d.ID && k.DelegateID == dm.m.resident.ID
	})
	if i < 0 {
		return nil, nil, storage.DelegateKey{}, fmt.Errorf("letter %s: %w", id, ErrNotFound)
	}
	snd, err := letterSender(tx, rec)
	if err != nil {
		return nil, nil, storage.DelegateKey{}, err
	}
	if !covers(d, rec, snd.Kind) {
		return nil, nil, storage.DelegateKey{}, fmt.Errorf("letter %s: %w", id, ErrNotFound)
	}
	if err := held(rec); err != nil {
		return nil, nil, storage.DelegateKey{}, err
	}
	return d, rec, rec.DelegateKeys[i], nil
}

// open returns a covered letter and its data key, opened with the
// delegate's key.
func (dm *DelegatedMailbox) open(tx storage.Tx, id string) (*storage.Delegation, *letterRecord, *crypto.DataKey, error) {
	d, rec, k, err := dm.letter(tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	dk, err := dm.m.key.OpenDataKey(k.SealedKey, delegateBinding(rec, dm.m.resident.ID))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open letter %s as delegate: %w", id, err)
	}
	return d, rec, dk, nil
}

func (dm *DelegatedMailbox) detail(d *storage.Delegation) string {
	return fmt.Sprintf("grantor:%s delegation:%s", d.GrantorID, d.ID)
}

// Letters returns the covered letters of the grantor's mailbox, newest
// first.
func (dm *DelegatedMailbox) Letters(ctx context.Context) ([]LetterSummary, error) {
	var out []LetterSummary
	err := dm.m.s.view(ctx, func(tx storage.Tx) error {
		out = out[:0]
		return dm.covered(tx, func(_ *storage.Delegation, _ *letterRecord, _ *crypto.DataKey, sum LetterSummary) (bool, error) {
			out = append(out, sum)
			return true, nil
		})
	})
	return out, err
}

// covered calls fn with each letter of the grantor's mailbox the grant
// covers, newest first, opened, with its summary, in tx, while fn
// answers true. The grant is checked first (activeGrant); fn must not
// keep dk, which is zeroed when fn returns.
func (dm *DelegatedMailbox) covered(tx storage.Tx, fn func(d *storage.Delegation, rec *letterRecord, dk *crypto.DataKey, sum LetterSummary) (bool, error)) error {
	d, err := dm.m.activeGrant(tx, dm.grant.ID)
	if err != nil {
		return err
	}
	senders := map[string]*senderRecord{}
	var ids []string
	if err := tx.Letters().MailboxAll(d.GrantorID, func(e storage.MailboxEntry) error {
		ids = append(ids, e.LetterID)
		return nil
	}); err != nil {
		return err
	}
	for _, id := range slices.Backward(ids) {
		_, rec, dk, err := dm.open(tx, id)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInaccessible) {
			continue
		} else if err != nil {
			return err
		}
		sum, err := dm.m.summary(tx, rec, dk, senders)
		if err != nil {
			dk.Zero()
			return err
		}
		more, err := fn(d, rec, dk, sum)
		dk.Zero()
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Letter opens a covered letter, audited as the delegate's reading. It
// does not mark the letter read for the grantor or the sender.
func (dm *DelegatedMailbox) Letter(ctx context.Context, id string) (Letter, error) {
	var out Letter
	now := dm.m.s.now()
	err := dm.m.s.update(ctx, func(tx storage.Tx) error {
		d, rec, dk, err := dm.open(tx, id)
		if err != nil {
			return err
		}
		defer dk.Zero()
		if out, err = dm.m.letterView(tx, rec, dk); err != nil {
			return err
		}
		return dm.m.s.appendAuditDetail(tx, now, "resident:"+dm.m.resident.ID, "delegate-read", "letter:"+id, dm.detail(d))
	})
	return out, err
}

// Document opens a document of a covered letter.
func (dm *DelegatedMailbox) Document(ctx context.Context, letterID string, index int) (Document, error) {
	var out Document
	err := dm.m.s.view(ctx, func(tx storage.Tx) error {
		_, rec, dk, err := dm.open(tx, letterID)
		if err != nil {
			return err
		}
		defer dk.Zero()
		out, err = openDocument(tx, rec, dk, index)
		return err
	})
	return out, err
}

// act runs a write act on covered letters: refused with
// ErrDelegationReadOnly on a read grant, before anything changes.
func (dm *DelegatedMailbox) act(ctx context.Context, ids []string, action string, fn func(rec *letterRecord) bool) error {
	now := dm.m.s.now()
	return dm.m.s.update(ctx, func(tx storage.Tx) error {
		for _, id := range ids {
			d, rec, _, err := dm.letter(tx, id)
			if err != nil {
				return err
			}
			if d.Access != storage.AccessAct {
				return ErrDelegationReadOnly
			}
			if !fn(rec) {
				continue
			}
			if err := tx.Letters().Put(rec); err != nil {
				return err
			}
			if err := dm.m.s.appendAuditDetail(tx, now, "resident:"+dm.m.resident.ID, action, "letter:"+id, dm.detail(d)); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkRead marks covered letters read or unread for the grantor (act).
func (dm *DelegatedMailbox) MarkRead(ctx context.Context, ids []string, read bool) error {
	action := "delegate-mark-unread"
	if read {
		action = "delegate-mark-read"
	}
	return dm.act(ctx, ids, action, func(rec *letterRecord) bool {
		mark := read
		rec.ReadMark = &mark
		if read == !rec.ReadAt.IsZero() {
			rec.ReadMark = nil
		}
		return true
	})
}

// Move moves covered letters to the grantor's inbox ("") or archive
// ("archive") (act). The grantor's own folders are not offered: their
// names are sealed with the grantor's key.
func (dm *DelegatedMailbox) Move(ctx context.Context, ids []string, folder string) error {
	if folder != "" && folder != FolderArchive {
		return fmt.Errorf("folder %s: %w", folder, ErrNotFound)
	}
	return dm.act(ctx, ids, "delegate-move", func(rec *letterRecord) bool {
		if rec.Folder == folder {
			return false
		}
		rec.Folder = folder
		return true
	})
}

// DelegateActivity returns what delegates did in this mailbox (from the
// audit log), oldest first.
func (m *Mailbox) DelegateActivity(ctx context.Context) ([]AuditEntry, error) {
	entries, err := m.s.AuditLog(ctx)
	if err != nil {
		return nil, err
	}
	mark := "grantor:" + m.resident.ID + " "
	var out []AuditEntry
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "delegate-") && strings.HasPrefix(e.Detail, mark) {
			out = append(out, e)
		}
	}
	return out, nil
}

// AddGuardianship records a guardianship or lasting power of attorney
// decided by a court or an authority: a grant of access "act" to all post
// of the ward to the guardian, accepted at once, until the last day given
// (zero: until removed). New letters are sealed to the guardian at once;
// the earlier ones when the ward next signs in.
func (s *Store) AddGuardianship(ctx context.Context, ward, guardian NationalID, until time.Time, decision string) (Grant, error) {
	now := s.now()
	if err := checkGrantTerms(storage.AccessAct, storage.ScopeAll, until, now, s.loc); err != nil {
		return Grant{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Grant{}, err
	}
	var g Grant
	err = s.update(ctx, func(tx storage.Tx) error {
		w, err := getResidentByNID(tx, ward)
		if errors.Is(err, ErrNotFound) {
			return ErrDelegateUnknown
		} else if err != nil {
			return err
		}
		if w.Status != ResidentActive && w.Status != ResidentReserved {
			return ErrDelegateUnknown
		}
		gd, err := delegateFor(tx, w.ID, guardian)
		if err != nil {
			return err
		}
		given, err := tx.Delegations().OfGrantor(w.ID)
		if err != nil {
			return err
		}
		for _, x := range given {
			if x.DelegateID == gd.ID {
				return ErrDelegationExists
			}
		}
		d := &storage.Delegation{ID: id, GrantorID: w.ID, DelegateID: gd.ID, Access: storage.AccessAct, Scope: storage.ScopeAll,
			Until: delegationEnd(until, s.loc), Created: now, Accepted: now, Guardianship: true, Decision: decision}
		if err := tx.Delegations().Put(d); err != nil {
			return err
		}
		if g, err = s.grantOf(tx, d, now); err != nil {
			return err
		}
		return s.appendAuditDetail(tx, now, operatorActor(ctx), "guardianship-add", "resident:"+w.ID,
			fmt.Sprintf("delegation:%s guardian:%s", d.ID, gd.ID))
	})
	return g, err
}

// RemoveGuardianship ends the guardianship of the guardian over the ward,
// as EndGrant does. None is ErrNotFound.
func (s *Store) RemoveGuardianship(ctx context.Context, ward, guardian NationalID) error {
	now := s.now()
	return s.update(ctx, func(tx storage.Tx) error {
		w, err := getResidentByNID(tx, ward)
		if err != nil {
			return fmt.Errorf("ward: %w", ErrNotFound)
		}
		gd, err := getResidentByNID(tx, guardian)
		if err != nil {
			return fmt.Errorf("guardian: %w", ErrNotFound)
		}
		given, err := tx.Delegations().OfGrantor(w.ID)
		if err != nil {
			return err
		}
		for _, d := range given {
			if d.DelegateID == gd.ID && d.Guardianship {
				return s.endDelegation(tx, d, now, operatorActor(ctx), "guardianship-remove")
			}
		}
		return fmt.Errorf("guardianship: %w", ErrNotFound)
	})
}

// deputyRole is the role a sender's event gives who acted on a resident's
// behalf through a grant (EventJSON.WrittenBy, SignedBy): "guardian" for
// a guardianship or lasting power of attorney, else "delegate".
func deputyRole(guardianship bool) string {
	if guardianship {
		return "guardian"
	}
	return "delegate"
}
