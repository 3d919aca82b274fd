package jobs

import (
	"strings"
	"time"

	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
)

// compose writes a notification's message, in the language the resident
// chose when it was queued (the configured default when none), from the
// catalogue's "notify.*" messages. What it may say is limited by the terms
// of use: never a letter's subject or content; for a letter marked
// sensitive not even who sent it (the store leaves SenderName empty) nor
// what kind of letter it is.
func (s *Scheduler) compose(n store.Notification) notify.Message {
	msg := notify.Message{ID: n.ID, To: n.To}
	l := s.cat.Lang(n.Language)
	name, link := s.cfg.ServiceName, s.cfg.BaseURL
	switch n.Kind {
	case store.NotifyInactivityWarning:
		when := s.date(l, n.DeleteAt)
		period := periodWords(l, s.st.RetentionPolicy().Inactivity)
		msg.Subject = l.T("notify.inactivity.subject", "Date", when)
		if n.Channel == store.ChannelSMS {
			id := "notify.inactivity.sms"
			if link != "" {
				id = "notify.inactivity.smsLink"
			}
			msg.Text = l.T(id, "Service", name, "Date", when, "Period", period, "Link", link)
			return msg
		}
		var b strings.Builder
		b.WriteString(l.T("notify.inactivity.email", "Period", period, "Date", when))
		if link != "" {
			b.WriteString("\n" + l.T("notify.inactivity.emailLink", "Link", link) + "\n")
		}
		b.WriteString("\n" + l.T("notify.inactivity.emailEnd", "Service", name) + "\n")
		msg.Text = b.String()
	case store.NotifyMailboxReset:
		when := s.date(l, n.Created)
		msg.Subject = l.T("notify.reset.subject")
		if n.Channel == store.ChannelSMS {
			msg.Text = l.T("notify.reset.sms", "Service", name, "Date", when)
			return msg
		}
		msg.Text = l.T("notify.reset.email", "Date", when) + "\n" + l.T("notify.reset.emailEnd", "Service", name) + "\n"
	default: // store.NotifyLetter
		what := l.T("notify.what.any")
		if n.SenderName != "" {
			what = l.T(letterWhat(n.LetterType), "Sender", n.SenderName)
		}
		msg.Subject = l.T("notify.letter.subject")
		if n.Channel == store.ChannelSMS {
			id := "notify.letter.sms"
			if link != "" {
				id = "notify.letter.smsLink"
			}
			msg.Text = l.T(id, "Service", name, "What", what, "Link", link)
			return msg
		}
		var b strings.Builder
		b.WriteString(l.T("notify.letter.email", "What", what, "Date", s.date(l, n.DeliveredAt)))
		if link != "" {
			b.WriteString("\n" + l.T("notify.letter.emailLink", "Link", link) + "\n")
		}
		b.WriteString("\n" + l.T("notify.letter.emailEnd", "Service", name))
		msg.Text = b.String()
	}
	return msg
}

// date writes a time as a date in the appliance's time zone, in words.
func (s *Scheduler) date(l *i18n.Lang, t time.Time) string { return l.Date(t.In(s.cfg.Location)) }

// letterWhat is the message that says "a new <kind> from <sender>".
func letterWhat(t store.LetterType) string {
	switch t {
	case store.TypeDecision, store.TypeInvoice, store.TypeNotice:
		return "notify.what." + string(t)
	}
	return "notify.what.letter"
}

// periodWords says a period in words: "5 years", "1 year and 6 months".
func periodWords(l *i18n.Lang, p store.Period) string {
	var parts []string
	for _, part := range []struct {
		n  int
		id string
	}{{p.Years, "period.years"}, {p.Months, "period.months"}, {p.Days, "period.days"}} {
		if part.n > 0 {
			parts = append(parts, l.T(part.id, "Count", part.n))
		}
	}
	switch len(parts) {
	case 0:
		return l.T("period.days", "Count", 0)
	case 1:
		return parts[0]
	}
	return l.T("list.pair", "First", strings.Join(parts[:len(parts)-1], l.T("list.comma")), "Last", parts[len(parts)-1])
}

// termsWording words the notice of new terms in the resident's language
// from the catalogue (store.TermsNoticeWording).
func (s *Scheduler) termsWording(language string, version int, effective string) store.TermsNoticeText {
	l := s.cat.Lang(language)
	date := effective
	if t, err := time.ParseInLocation(time.DateOnly, effective, s.cfg.Location); err == nil {
		date = l.Date(t)
	}
	return store.TermsNoticeText{
		Subject:  l.T("terms.notice.subject", "Date", date),
		Body:     l.T("terms.notice.body", "Date", date, "Version", version),
		FileName: l.T("terms.notice.file", "Version", version),
	}
}
