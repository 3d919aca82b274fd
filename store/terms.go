package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postkasse/postkasse/store/storage"
)

// MaxTermsSize is the largest text of the terms of use, in bytes.
const MaxTermsSize = 1 << 20

// Terms is one published version of the terms of use.
type Terms struct {
	Version int
	Text    string // in full, as the resident is shown it
	// Published is when the operator published it.
	Published time.Time
	// EffectiveDate is the date it takes effect (YYYY-MM-DD), and
	// Effective the start of that day in the operator's time zone.
	EffectiveDate string
	Effective     time.Time
	// NoticesDone is when the notice letter had reached every active
	// mailbox; zero while the notice job is still at it.
	NoticesDone time.Time
}

// termsRecord is a version as the engine stores it.
type termsRecord = storage.TermsVersion

func termsOf(r *termsRecord) Terms { return Terms(*r) }

// termsAcceptance is what a resident accepted.
type termsAcceptance = storage.TermsAcceptance

func getTerms(tx storage.Tx, version int) (*termsRecord, error) {
	rec, err := tx.Terms().Get(version)
	if err != nil {
		return nil, fmt.Errorf("terms version %d: %w", version, err)
	}
	return rec, nil
}

// currentTerms returns the version in force at now: the newest whose
// effective time has come. None is ErrNotFound.
func currentTerms(tx storage.Tx, now time.Time) (*termsRecord, error) {
	all, err := tx.Terms().All()
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if !now.Before(all[i].Effective) {
			return all[i], nil
		}
	}
	return nil, fmt.Errorf("terms in force: %w", ErrNotFound)
}

// PublishTerms publishes a new version of the terms of use, effective
// from the start of effective's date in effective's location (the
// operator's time zone). The terms of use require at least one month's
// notice: a date earlier than one calendar month after today's date there
// is refused with ErrTermsNoticePeriod, naming the earliest date allowed
// (one month after 31 January is the last day of February). The date must
// also be after the effective date of the version before.
//
// Publishing stores the text; the jobs then deliver the notice letter to
// every active mailbox (DeliverTermsNotice), and from the effective date
// PendingTerms asks each resident to accept it.
func (s *Store) PublishTerms(ctx context.Context, text string, effective time.Time) (Terms, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	switch {
	case strings.TrimSpace(text) == "":
		return Terms{}, invalid("text", "the terms of use are empty")
	case len(text) > MaxTermsSize || int64(len(text)) > s.limits.MaxDocumentSize:
		return Terms{}, invalid("text", "longer than %d bytes", min(MaxTermsSize, s.limits.MaxDocumentSize))
	case !isText([]byte(text)):
		return Terms{}, invalid("text", "must be UTF-8 text without control characters")
	}
	now := s.now()
	day := startOfDay(effective)
	earliest := addMonthsClamped(startOfDay(now.In(effective.Location())), 1)
	if day.Before(earliest) {
		return Terms{}, fmt.Errorf("effective date %s is less than one month after publishing on %s; the earliest effective date is %s: %w",
			day.Format(time.DateOnly), now.In(effective.Location()).Format(time.DateOnly), earliest.Format(time.DateOnly), ErrTermsNoticePeriod)
	}
	var out Terms
	err := s.update(ctx, func(tx storage.Tx) error {
		versions, err := tx.Terms().All()
		if err != nil {
			return err
		}
		version := 1
		if n := len(versions); n > 0 {
			last := versions[n-1]
			if !day.After(last.Effective) {
				return invalid("effective", "%s is not after %s, when version %d takes effect",
					day.Format(time.DateOnly), last.EffectiveDate, last.Version)
			}
			version = last.Version + 1
		}
		rec := termsRecord{Version: version, Text: text, Published: now,
			EffectiveDate: day.Format(time.DateOnly), Effective: day.UTC()}
		if err := tx.Terms().Put(&rec); err != nil {
			return err
		}
		out = termsOf(&rec)
		return s.appendAudit(tx, now, operatorActor(ctx), "publish-terms", fmt.Sprintf("terms:%d", version))
	})
	return out, err
}

// AllTerms returns every published version, oldest first.
func (s *Store) AllTerms(ctx context.Context) ([]Terms, error) {
	var out []Terms
	err := s.view(ctx, func(tx storage.Tx) error {
		recs, err := tx.Terms().All()
		for _, r := range recs {
			out = append(out, termsOf(r))
		}
		return err
	})
	return out, err
}

// TermsVersion returns one version of the terms.
func (s *Store) TermsVersion(ctx context.Context, version int) (Terms, error) {
	var out Terms
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := getTerms(tx, version)
		if err != nil {
			return err
		}
		out = termsOf(rec)
		return nil
	})
	return out, err
}

// CurrentTerms returns the version in force now; ErrNotFound before the
// first takes effect.
func (s *Store) CurrentTerms(ctx context.Context) (Terms, error) {
	now := s.now()
	var out Terms
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := currentTerms(tx, now)
		if err != nil {
			return err
		}
		out = termsOf(rec)
		return nil
	})
	return out, err
}

// PendingTerms returns the terms the mailbox's owner must accept before
// seeing the mailbox: the version in force, when they have not accepted
// it (nor a later one). ok is false when nothing is pending. The web UI
// asks this after login and shows the terms in full, with the choice of
// accepting (AcceptTerms) or deleting the mailbox (DeleteMailbox).
func (m *Mailbox) PendingTerms(ctx context.Context) (terms Terms, ok bool, err error) {
	now := m.s.now()
	err = m.s.view(ctx, func(tx storage.Tx) error {
		var err error
		terms, ok, err = pendingTerms(tx, m.resident.ID, now)
		return err
	})
	return terms, ok, err
}

// pendingTerms returns the terms in force at now when the resident has
// not accepted them (nor a later version).
func pendingTerms(tx storage.Tx, residentID string, now time.Time) (Terms, bool, error) {
	cur, err := currentTerms(tx, now)
	if errors.Is(err, ErrNotFound) {
		return Terms{}, false, nil
	} else if err != nil {
		return Terms{}, false, err
	}
	acc, err := getAcceptance(tx, residentID)
	if err != nil {
		return Terms{}, false, err
	}
	if acc.Version < cur.Version {
		return termsOf(cur), true, nil
	}
	return Terms{}, false, nil
}

func getAcceptance(tx storage.Tx, residentID string) (termsAcceptance, error) {
	acc, err := tx.Terms().Acceptance(residentID)
	if err != nil {
		return termsAcceptance{}, err
	}
	return *acc, nil
}

// AcceptTerms records that the mailbox's owner accepted the given
// version. Only the version in force can be accepted: another (a form
// shown before a newer version took effect) is ErrTermsOutdated, and the
// UI shows the current one. Accepting again is no error.
func (m *Mailbox) AcceptTerms(ctx context.Context, version int) error {
	now := m.s.now()
	err := m.s.update(ctx, func(tx storage.Tx) error {
		cur, err := currentTerms(tx, now)
		if errors.Is(err, ErrNotFound) || (err == nil && cur.Version != version) {
			return fmt.Errorf("terms version %d: %w", version, ErrTermsOutdated)
		} else if err != nil {
			return err
		}
		acc, err := getAcceptance(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if acc.Version >= version {
			return nil
		}
		acc = termsAcceptance{Version: version, Accepted: now}
		if err := tx.Terms().PutAcceptance(m.resident.ID, &acc); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, "accept-terms", fmt.Sprintf("terms:%d", version))
	})
	if err == nil {
		m.termsPending = false
	}
	return err
}

// TermsAccepted returns the highest version a resident accepted and when
// (0 and the zero time when none).
func (s *Store) TermsAccepted(ctx context.Context, residentID string) (version int, at time.Time, err error) {
	err = s.view(ctx, func(tx storage.Tx) error {
		acc, err := getAcceptance(tx, residentID)
		version, at = acc.Version, acc.Accepted
		return err
	})
	return version, at, err
}

// TermsNoticesPending returns the versions whose notice has not yet
// reached every active mailbox, oldest first.
func (s *Store) TermsNoticesPending(ctx context.Context) ([]Terms, error) {
	var out []Terms
	err := s.view(ctx, func(tx storage.Tx) error {
		recs, err := tx.Terms().All()
		for _, r := range recs {
			if r.NoticesDone.IsZero() {
				out = append(out, termsOf(r))
			}
		}
		return err
	})
	return out, err
}

// noticeRecipients returns the active residents that have no notice of
// the version yet.
func noticeRecipients(tx storage.Tx, version int) ([]string, error) {
	var out []string
	err := tx.Residents().All(func(res *residentRecord) error {
		if res.Status != ResidentActive {
			return nil
		}
		_, err := tx.Terms().Notice(version, res.ID)
		if errors.Is(err, ErrNotFound) {
			out = append(out, res.ID)
			return nil
		}
		return err
	})
	return out, err
}

// TermsNoticeRecipients returns the ids of the active residents that have
// not yet had the notice of a version.
func (s *Store) TermsNoticeRecipients(ctx context.Context, version int) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx storage.Tx) error {
		if _, err := getTerms(tx, version); err != nil {
			return err
		}
		var err error
		out, err = noticeRecipients(tx, version)
		return err
	})
	return out, err
}

// TermsNoticeText is what a notice of new terms says, in one language.
type TermsNoticeText struct {
	Subject, Body string
	// FileName is the attached terms' file name (the text of the terms
	// is attached as published).
	FileName string
}

// TermsNoticeWording words the notice of a version of the terms
// (effective on the date given, YYYY-MM-DD) in a language ("" when the
// resident chose none): the jobs take it from the message catalogue. It
// must give the same text for the same arguments.
type TermsNoticeWording func(language string, version int, effective string) TermsNoticeText

// termsNotice is the notice letter of a version for one resident. It is
// the same every time it is made for the same language, so that
// delivering it again after a crash is a repeat of the same
// senderReference and content.
func termsNotice(t *termsRecord, res *residentRecord, text TermsNoticeText) Delivery {
	return Delivery{
		Recipient:       NationalID{Country: res.Country, Number: res.NationalID},
		Subject:         text.Subject,
		Body:            text.Body,
		SenderReference: termsNoticeReference(t.Version, res.ID),
		Type:            TypeNotice,
		Documents: []DocumentInput{{
			Name: text.FileName, ContentType: "text/plain", Content: []byte(t.Text),
		}},
	}
}

// termsNoticeReference is the fixed senderReference of a version's notice
// to a resident.
func termsNoticeReference(version int, residentID string) string {
	return fmt.Sprintf("terms-%d-%s", version, residentID)
}

// DeliverTermsNotice delivers the notice of a version of the terms to one
// resident, from senderID (the municipality, a public sender), through
// the normal delivery path, and marks it delivered. It is once-only: the
// marker makes later calls do nothing, and the notice's fixed
// senderReference ("terms-<version>-<residentID>") makes a delivery that
// committed before a crash, but whose marker did not, a repeat rather
// than a second letter. delivered is true when this call delivered the
// letter. A resident that is not active (any more) is skipped. The notice
// is worded in the resident's language by wording.
func (s *Store) DeliverTermsNotice(ctx context.Context, senderID string, version int, residentID string, wording TermsNoticeWording) (delivered bool, err error) {
	var d Delivery
	var done bool
	err = s.view(ctx, func(tx storage.Tx) error {
		snd, err := activeSender(tx, senderID)
		if err != nil {
			return err
		}
		if snd.Kind != SenderPublic {
			return fmt.Errorf("terms notices come from the municipality as a public sender; sender %s (%s) is %s",
				snd.ID, snd.Name, snd.Kind)
		}
		t, err := getTerms(tx, version)
		if err != nil {
			return err
		}
		res, err := getResident(tx, residentID)
		if err != nil {
			return err
		}
		if res.Status != ResidentActive {
			done = true
			return nil
		}
		if _, err := tx.Terms().Notice(version, residentID); err == nil {
			done = true
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		prefs, err := tx.Preferences().Get(residentID)
		if err != nil {
			return err
		}
		d = termsNotice(t, res, wording(prefs.Language, t.Version, t.EffectiveDate))
		return nil
	})
	if err != nil || done {
		return false, err
	}
	result, err := s.Deliver(ctx, senderID, d)
	switch {
	case errors.Is(err, ErrRecipientNotDigital) || errors.Is(err, ErrUnknownRecipient):
		return false, nil
	case errors.Is(err, ErrDuplicateReference):
		// Delivered before with other wording (a program upgrade between
		// a crash and now): the resident has their notice.
	case err != nil:
		return false, fmt.Errorf("deliver terms notice %d to resident %s: %w", version, residentID, err)
	}
	if s.hookNoticeDelivered != nil {
		s.hookNoticeDelivered()
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		// The resident was checked in another transaction: write the
		// marker only while the account is still active. A marker for an
		// account deleted meanwhile would outlive its deletion.
		res, err := getResident(tx, residentID)
		if err != nil {
			return err
		}
		if res.Status != ResidentActive {
			return nil
		}
		if _, err := tx.Terms().Notice(version, residentID); err == nil {
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		letterID := result.Letter.ID
		if letterID == "" {
			if letterID, err = tx.Letters().ByReference(senderID, d.SenderReference); err != nil {
				return err
			}
		}
		return tx.Terms().PutNotice(version, residentID, letterID)
	})
	if err != nil {
		return false, err
	}
	return !result.Repeated && result.Letter.ID != "", nil
}

// FinishTermsNotices marks a version's notice as done when every active
// resident has had it, and returns how many have not (0 when done).
// Residents who become active later accept the terms in force when they
// log in, which shows the text in full.
func (s *Store) FinishTermsNotices(ctx context.Context, version int) (remaining int, err error) {
	now := s.now()
	err = s.update(ctx, func(tx storage.Tx) error {
		rec, err := getTerms(tx, version)
		if err != nil {
			return err
		}
		left, err := noticeRecipients(tx, version)
		if err != nil {
			return err
		}
		if remaining = len(left); remaining > 0 || !rec.NoticesDone.IsZero() {
			return nil
		}
		rec.NoticesDone = now
		if err := tx.Terms().Put(rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "system", "terms-notices-done", fmt.Sprintf("terms:%d", version))
	})
	return remaining, err
}
