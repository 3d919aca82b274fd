package resident

import (
	"time"

	"github.com/postkasse/postkasse/i18n"
)

// dueView is a letter's due date as pages show it. The state is always in
// words (Note), never in colour alone.
type dueView struct {
	Text    string // "Due 31 Jan 2027", "Frist 31. jan. 2027"
	Note    string // "in 5 days", "tomorrow", "today", "overdue"; "" when not soon
	Soon    bool   // within 7 days
	Overdue bool   // the day has passed
}

// dueSoon is how close a due date is highlighted.
const dueSoon = 7 * 24 * time.Hour

// due describes a YYYY-MM-DD due date in the zone loc relative to now,
// in the language l; nil when there is none. A date that does not parse
// is shown as it is.
func due(l *i18n.Lang, date string, now time.Time, loc *time.Location) *dueView {
	if date == "" {
		return nil
	}
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return &dueView{Text: l.T("due.date", "Date", date)}
	}
	// Due at the end of the day.
	end := d.AddDate(0, 0, 1)
	v := &dueView{
		Text:    l.T("due.date", "Date", l.ShortDate(d)),
		Overdue: !now.Before(end),
		Soon:    now.Before(end) && end.Sub(now) <= dueSoon+24*time.Hour,
	}
	switch {
	case v.Overdue:
		v.Note = l.T("due.overdue")
	case v.Soon:
		// Whole calendar days from today's date to the due date.
		y, m, dd := now.In(loc).Date()
		today := time.Date(y, m, dd, 0, 0, 0, 0, loc)
		switch days := int(d.Sub(today).Hours()+12) / 24; days {
		case 0:
			v.Note = l.T("due.today")
		case 1:
			v.Note = l.T("due.tomorrow")
		default:
			v.Note = l.T("due.inDays", "Count", days)
		}
	}
	return v
}

// formatSize writes a byte count for people: "812 bytes", "12 KB",
// "1.4 MB" (in the language's words and decimal sign).
func formatSize(l *i18n.Lang, n int64) string {
	switch {
	case n < 1000:
		return l.T("size.bytes", "Count", n)
	case n < 1000*1000:
		return l.T("size.kb", "N", l.Integer((n+500)/1000))
	default:
		return l.T("size.mb", "N", l.Decimal(float64(n)/1e6, 1))
	}
}
