package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
)

// maxItemErrors: a run stops collecting (and goes on past) item errors
// after this many, so one broken record cannot fill the log.
const maxItemErrors = 10

// runTerms delivers the notices of new terms of use: for each version
// whose notice has not reached every active mailbox, one letter from the
// municipality to each mailbox that lacks it.
func (s *Scheduler) runTerms(ctx context.Context, r *runState) error {
	pending, err := s.st.TermsNoticesPending(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		r.detail = "no notice pending"
		return nil
	}
	sender, err := s.municipality()
	if err != nil {
		return err
	}
	var delivered int
	var errs []error
	for _, t := range pending {
		ids, err := s.st.TermsNoticeRecipients(ctx, t.Version)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			ok, err := s.st.DeliverTermsNotice(ctx, sender.ID, t.Version, id, s.termsWording)
			if err != nil {
				if errs = append(errs, err); len(errs) >= maxItemErrors {
					return errors.Join(errs...)
				}
				continue
			}
			if ok {
				delivered++
			}
			r.item()
		}
		left, err := s.st.FinishTermsNotices(ctx, t.Version)
		if err != nil {
			return err
		}
		r.detail = fmt.Sprintf("%d notices delivered; version %d: %d mailboxes left", delivered, t.Version, left)
	}
	if len(errs) == 0 {
		r.detail = fmt.Sprintf("%d notices delivered", delivered)
	}
	return errors.Join(errs...)
}

// municipality returns the public sender that delivers terms notices
// (store.Store.Municipality has the rule).
func (s *Scheduler) municipality() (store.Sender, error) {
	snd, err := s.st.Municipality(context.Background(), s.cfg.Municipality)
	if errors.Is(err, store.ErrNoMunicipality) && strings.TrimSpace(s.cfg.Municipality) == "" {
		return store.Sender{}, errors.New("no municipality sender configured: set the organisation number of the municipality's public sender ([jobs] municipality) so that notices of new terms can be delivered")
	}
	return snd, err
}

// runRetention applies the retention rules to every resident for whom
// something is due.
func (s *Scheduler) runRetention(ctx context.Context, r *runState) error {
	ids, err := s.st.RetentionDue(ctx)
	if err != nil {
		return err
	}
	var warned, accounts, letters int
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := s.st.ApplyRetention(ctx, id)
		if err != nil {
			if errs = append(errs, err); len(errs) >= maxItemErrors {
				return errors.Join(errs...)
			}
			continue
		}
		switch res.Action {
		case store.RetentionWarned:
			warned++
		case store.RetentionAccountDeleted:
			accounts++
		}
		letters += res.LettersDeleted
		r.item()
	}
	// Senders' events are kept KeepEvents (180 days), then go.
	events, err := s.st.PruneEvents(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	// Pending mailboxes whose activation code expired go after a grace
	// period (store.EnrolmentGrace).
	enrolments, err := s.st.DeleteExpiredEnrolments(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for range enrolments {
		r.item()
	}
	r.detail = fmt.Sprintf("%d warned, %d accounts deleted, %d letters of deceased residents deleted, %d old events pruned, %d expired enrolments deleted",
		warned, accounts, letters, events, enrolments)
	return errors.Join(errs...)
}

// pruneEvery is how often the notifications job prunes old ones.
const pruneEvery = time.Hour

// notConfiguredWait is how long a notification waits when its channel has
// no server configured.
const notConfiguredWait = time.Hour

// runNotifications sends the due notifications and prunes old ones.
func (s *Scheduler) runNotifications(ctx context.Context, r *runState) error {
	now := s.cfg.Clock()
	due, err := s.st.DueNotifications(ctx, s.cfg.Batch)
	if err != nil {
		return err
	}
	hours := s.cfg.sendingHours()
	var session *notify.MailSession
	var sessionErr error
	defer func() {
		if session != nil {
			session.Close()
		}
	}()
	var sent, failed, dead, deferred int
	for _, n := range due {
		if err := ctx.Err(); err != nil {
			return err
		}
		var sendErr error
		wait := time.Time{}
		switch n.Channel {
		case store.ChannelSMS:
			switch {
			case s.sms == nil:
				wait = now.Add(notConfiguredWait)
			case !hours.Allows(now):
				wait = hours.Next(now)
			default:
				sendErr = s.sms.Send(ctx, s.compose(n))
			}
		case store.ChannelEmail:
			switch {
			case s.mailer == nil:
				wait = now.Add(notConfiguredWait)
			case sessionErr != nil:
				// The server could not be reached in this run: every
				// e-mail fails the same way, without trying again now.
				sendErr = sessionErr
			default:
				if session == nil {
					session, sessionErr = s.mailer.Open(ctx)
				}
				if sessionErr != nil {
					sendErr = sessionErr
				} else if sendErr = session.Send(s.compose(n)); sendErr != nil && !notify.IsPermanent(sendErr) {
					// The connection may be broken: open a new one for
					// the next message.
					session.Close()
					session = nil
				}
			}
		default:
			sendErr = notify.Permanent(fmt.Errorf("unknown channel %q", n.Channel))
		}
		var markErr error
		switch {
		case !wait.IsZero():
			deferred++
			markErr = s.st.DeferNotification(ctx, n.ID, wait)
		case sendErr == nil:
			sent++
			markErr = s.st.MarkNotificationSent(ctx, n.ID)
		default:
			var after store.Notification
			after, markErr = s.st.MarkNotificationFailed(ctx, n.ID, sendErr.Error(), notify.IsPermanent(sendErr), s.cfg.Retry)
			if after.State == store.NotificationDead {
				dead++
				s.log.Warn("notification dead", "id", n.ID, "channel", n.Channel, "attempts", after.Attempts, "err", sendErr)
			} else {
				failed++
			}
		}
		if markErr != nil && !errors.Is(markErr, store.ErrNotFound) {
			// ErrNotFound: the account was deleted meanwhile.
			return markErr
		}
		r.item()
	}
	pruned := 0
	if now.Sub(s.lastPrune) >= pruneEvery || now.Before(s.lastPrune) {
		if pruned, err = s.st.PruneNotifications(ctx, now.Add(-s.cfg.KeepSent)); err != nil {
			return err
		}
		s.lastPrune = now
	}
	r.detail = fmt.Sprintf("%d sent, %d to retry, %d dead, %d waiting (SMS outside %02d–%02d or no server configured), %d old pruned",
		sent, failed, dead, deferred, s.cfg.SMSHours.From, s.cfg.SMSHours.To, pruned)
	return nil
}
