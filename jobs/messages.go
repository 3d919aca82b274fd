package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/postkasse/postkasse/jobs/notify"
	"github.com/postkasse/postkasse/store"
)

// compose writes a notification's message. What it may say is limited by
// the terms of use: never a letter's subject or content; for a letter
// marked sensitive not even who sent it (the store leaves SenderName
// empty) nor what kind of letter it is.
func (s *Scheduler) compose(n store.Notification) notify.Message {
	msg := notify.Message{ID: n.ID, To: n.To}
	name := s.cfg.ServiceName
	link := ""
	if s.cfg.BaseURL != "" {
		link = s.cfg.BaseURL
	}
	switch n.Kind {
	case store.NotifyInactivityWarning:
		when := s.date(n.DeleteAt)
		period := periodWords(s.st.RetentionPolicy().Inactivity)
		msg.Subject = "Your digital mailbox will be deleted on " + when
		if n.Channel == store.ChannelSMS {
			msg.Text = fmt.Sprintf("%s: your digital mailbox will be deleted on %s, as you have not logged in for %s. Log in before then to keep it%s",
				name, when, period, suffix(": ", link, "."))
			return msg
		}
		msg.Text = fmt.Sprintf("Hello,\n\n"+
			"You have not logged in to your digital mailbox for a long time. Under the terms of use, "+
			"a mailbox without a login for %s is deleted together with all its letters.\n\n"+
			"Your mailbox will be deleted on %s unless you log in before then.\n%s\n"+
			"— %s\n", period, when, suffix("\nLog in: ", link, "\n"), name)
	default: // store.NotifyLetter
		what := "a new letter"
		if n.SenderName != "" {
			what = fmt.Sprintf("a new %s from %s", letterWord(n.LetterType), n.SenderName)
		}
		msg.Subject = "New letter in your digital mailbox"
		if n.Channel == store.ChannelSMS {
			msg.Text = fmt.Sprintf("%s: you have %s in your digital mailbox.%s", name, what, suffix(" Log in to read it: ", link, ""))
			return msg
		}
		msg.Text = fmt.Sprintf("Hello,\n\n"+
			"You have received %s in your digital mailbox on %s.\n%s\n"+
			"This notification does not contain the letter. You can change how you are notified "+
			"in the settings of your mailbox.\n\n"+
			"— %s\n", what, s.date(n.DeliveredAt), suffix("\nLog in to read it: ", link, "\n"), name)
	}
	return msg
}

// date formats a time as a date in the appliance's time zone.
func (s *Scheduler) date(t time.Time) string { return t.In(s.cfg.Location).Format("2 January 2006") }

func suffix(before, s, after string) string {
	if s == "" {
		return ""
	}
	return before + s + after
}

func letterWord(t store.LetterType) string {
	switch t {
	case store.TypeDecision, store.TypeInvoice, store.TypeNotice:
		return string(t)
	}
	return "letter"
}

// periodWords says a period in words: "5 years", "1 year and 6 months".
func periodWords(p store.Period) string {
	var parts []string
	for _, part := range []struct {
		n          int
		one, other string
	}{{p.Years, "year", "years"}, {p.Months, "month", "months"}, {p.Days, "day", "days"}} {
		switch {
		case part.n == 1:
			parts = append(parts, "1 "+part.one)
		case part.n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", part.n, part.other))
		}
	}
	if len(parts) == 0 {
		return "0 days"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
