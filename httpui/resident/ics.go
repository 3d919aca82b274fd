package resident

import (
	"strings"
	"time"
	"unicode/utf8"
)

// icsEvent is one appointment as an iCalendar object (RFC 5545).
type icsEvent struct {
	UID          string
	Stamp, Start time.Time
	Summary      string
	Description  string
}

// calendar writes the event as a VCALENDAR with one VEVENT: CRLF line
// ends and lines folded at 75 octets (§3.1), text values escaped
// (§3.3.11), times in UTC (§3.3.5, form 2). An event with a DTSTART and
// neither DTEND nor DURATION ends when it starts (§3.6.1), which is all a
// letter says of an appointment.
func (e icsEvent) calendar() string {
	utc := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	var b strings.Builder
	for _, line := range []string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//Postkasse//Postkasse//EN",
		"CALSCALE:GREGORIAN",
		"METHOD:PUBLISH",
		"BEGIN:VEVENT",
		"UID:" + icsText(e.UID),
		"DTSTAMP:" + utc(e.Stamp),
		"DTSTART:" + utc(e.Start),
		"SUMMARY:" + icsText(e.Summary),
		"DESCRIPTION:" + icsText(e.Description),
		"END:VEVENT",
		"END:VCALENDAR",
	} {
		icsFold(&b, line)
	}
	return b.String()
}

// icsText escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon,
// comma and line breaks.
func icsText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

// icsFold writes a content line folded so that no line is longer than 75
// octets, never splitting a UTF-8 character (RFC 5545 §3.1): each
// continuation starts with a space.
func icsFold(b *strings.Builder, line string) {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut] + "\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line + "\r\n")
}
