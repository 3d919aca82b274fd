package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Period is a length of calendar time in years, months and days, as the
// terms of use state retention ("5 years", "15 months", "30 days"). It is
// written as the date part of an ISO 8601 duration (ISO 8601-1:2019
// §5.5.2.4): "P5Y", "P15M", "P30D", "P1Y6M", "P2W" (two weeks = 14 days).
//
// A period is added in calendar terms with time.AddDate, so "P1M" from
// 31 January is 3 March in a common year (AddDate normalises 31 February);
// rules that need "at least one month" by date use addMonthsClamped.
type Period struct {
	Years, Months, Days int
}

// ParsePeriod parses the date part of an ISO 8601 duration: "P" followed by
// one or more of nY, nM, nW, nD in that order (W alone or with D).
// Only whole, non-negative numbers are accepted; "P0D" is the zero period.
func ParsePeriod(s string) (Period, error) {
	rest, ok := strings.CutPrefix(strings.ToUpper(strings.TrimSpace(s)), "P")
	if !ok || rest == "" {
		return Period{}, fmt.Errorf("period %q: want an ISO 8601 duration such as P5Y, P15M or P30D", s)
	}
	var p Period
	order := "YMWD"
	for rest != "" {
		i := strings.IndexAny(rest, order)
		if i <= 0 {
			return Period{}, fmt.Errorf("period %q: want numbers followed by Y, M, W or D, in that order", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 || n > 10000 {
			return Period{}, fmt.Errorf("period %q: %q is not a whole number up to 10000", s, rest[:i])
		}
		unit := rest[i]
		switch unit {
		case 'Y':
			p.Years = n
		case 'M':
			p.Months = n
		case 'W':
			p.Days += 7 * n
		case 'D':
			p.Days += n
		}
		order = order[strings.IndexByte(order, unit)+1:]
		rest = rest[i+1:]
	}
	return p, nil
}

// MustParsePeriod is ParsePeriod for constants; it panics on a bad period.
func MustParsePeriod(s string) Period {
	p, err := ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the period as ParsePeriod reads it ("P5Y", "P1Y3M",
// "P0D" for zero).
func (p Period) String() string {
	if p.IsZero() {
		return "P0D"
	}
	var b strings.Builder
	b.WriteByte('P')
	for _, part := range []struct {
		n    int
		unit byte
	}{{p.Years, 'Y'}, {p.Months, 'M'}, {p.Days, 'D'}} {
		if part.n != 0 {
			b.WriteString(strconv.Itoa(part.n))
			b.WriteByte(part.unit)
		}
	}
	return b.String()
}

// IsZero reports whether the period is empty.
func (p Period) IsZero() bool { return p == Period{} }

// AddTo returns t plus the period in t's location.
func (p Period) AddTo(t time.Time) time.Time { return t.AddDate(p.Years, p.Months, p.Days) }

// SubFrom returns t minus the period in t's location.
func (p Period) SubFrom(t time.Time) time.Time { return t.AddDate(-p.Years, -p.Months, -p.Days) }

// MarshalText writes the ISO 8601 form, so periods read and write as
// strings in TOML and JSON.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads the ISO 8601 form.
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// addMonthsClamped adds n calendar months to t's date, keeping the day of
// the month but clamping it to the target month's last day: 31 January
// plus one month is 28 (or 29) February, as "one month later" is read in
// everyday and legal use, not 3 March as time.AddDate would make it.
func addMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// startOfDay returns midnight at the start of t's date in t's location.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}
