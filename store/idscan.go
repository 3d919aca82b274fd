package store

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Finding national identity numbers in free text. The terms of use (e-Boks
// §5.1, DESIGN.md "Policy") say a support request whose subject or
// description holds a national identity number is deleted at once: such a
// number belongs only in the dedicated field. FindNationalIDs recognises
// the numbers of the four Nordic countries by their own date and check
// rules, as they are written with or without a separator, and not every
// run of 10 or 11 digits.
//
// What counts as one number: a maximal run of ASCII digits (so never part
// of a longer run of digits), optionally followed by exactly one separator
// and a second maximal run — '-' or ' ' after the date, '+' in a Swedish
// number for someone aged 100 or more, and the century sign of a Finnish
// HETU. Offsets are in bytes, so text[Start:End] is the number as written.
//
// The rules, country by country:
//
//   - DK, CPR number (CPR-kontoret, "Personnummeret i CPR"): DDMMYY-SSSS,
//     a real date whose century follows from the 7th digit (birthdate in
//     nationalid.go). There is no modulus-11 requirement: numbers without
//     a valid modulus-11 sum have been issued since 1 October 2007
//     (CPR-kontoret, "Personnumre uden kontrolciffer"). So the date is the
//     only check, and to keep from flagging any 10 digits a CPR number is
//     either 6 digits, one '-' or ' ', 4 digits, or exactly 10 digits
//     bounded by non-digits. The trade-off: 366 of the 10,000 values of
//     DDMM are days, so about one in 27 arbitrary 10-digit numbers (an
//     invoice, customer or account number of exactly 10 digits, or written
//     6 + 4) passes for a CPR number and its request is refused: a request
//     is refused rather than a CPR number kept. Runs of 8, 9, 11 or more digits and numbers grouped otherwise
//     ("12 34 56 78", IBANs in groups of four) are never CPR numbers here.
//   - NO, fødselsnummer (Skatteetaten, "Fødselsnummer"), D-number (day +
//     40, Skatteetaten, "D-nummer") and H-number (month + 40, the health
//     services' "hjelpenummer"): 11 digits, optionally with one '-' or ' '
//     after the date, both modulus-11 check digits right
//     (norwegianCheckDigitsValid) and a real date whose century fits the
//     individual number (birthdate). Skatteetaten's synthetic test numbers
//     (month + 80) are reported as fødselsnummer.
//   - SE, personnummer (Skatteverket, SKV 704 "Personnummer"): YYMMDD-NNNC,
//     YYMMDD+NNNC ('+' once the person is 100), YYMMDDNNNC, or the 12-digit
//     YYYYMMDDNNNC (also with '-' or ' ' before NNNC, as Swedish forms
//     print it), with the Luhn check digit C over the 10-digit form and a
//     real date; samordningsnummer (Skatteverket, SKV 707) add 60 to the
//     day. A 12-digit number's year is 1800–2099. In the 10-digit forms the
//     century is unknown, so 29 February is accepted in every year divisible
//     by four, 00 included.
//   - FI, henkilötunnus (Digi- ja väestötietovirasto, "Henkilötunnus"):
//     DDMMYYCZZZQ, C the century sign ('+' 1800s; '-', Y, X, W, V, U 1900s;
//     A–F 2000s, the letters since 1 January 2023), ZZZ 002–999, and Q =
//     "0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYZZZ mod 31]; letters are
//     accepted in either case.
//
// A text may match in more than one country at the same place (a 10-digit
// number can be both a CPR number and a Swedish personnummer): each is
// reported.

// IDMatch is a national identity number found in text: text[Start:End].
type IDMatch struct {
	Country string // "DK", "NO", "SE" or "FI"
	// Kind is "cpr" (DK), "fødselsnummer", "d-number" or "h-number" (NO),
	// "personnummer" or "samordningsnummer" (SE), "hetu" (FI).
	Kind       string
	Start, End int // byte offsets in the text
}

// ContainsNationalID reports whether text holds a national identity number
// that FindNationalIDs recognises.
func ContainsNationalID(text string) bool { return len(FindNationalIDs(text)) > 0 }

// NormaliseForIDScan rewrites the ways a number is written that
// FindNationalIDs does not read, so that a number typed or pasted in them
// is found all the same: full-width digits become ASCII digits; every
// Unicode dash and minus becomes '-'; no-break, thin and other Unicode
// spaces become ' '; invisible characters (zero-width spaces and joiners,
// the word joiner, the byte order mark, the soft hyphen) are removed; and
// a '.' or '/' between two digits is removed, so a date written
// 01.01.90-1234 or 01/01/90-1234 reads as 010190-1234. Offsets in the
// result are not offsets in text.
func NormaliseForIDScan(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r >= '０' && r <= '９':
			b.WriteByte(byte('0' + r - '０'))
		case r == '\u2010', r == '\u2011', r == '\u2012', r == '\u2013', r == '\u2014', r == '\u2015',
			r == '\u2212', r == '\uFE58', r == '\uFE63', r == '\uFF0D':
			b.WriteByte('-')
		case r == '\u00A0', r == '\u2007', r == '\u2009', r == '\u200A', r == '\u202F', r == '\u205F',
			r == '\u3000', r >= '\u2000' && r <= '\u2006', r == '\u2008':
			b.WriteByte(' ')
		case r == '\u200B', r == '\u200C', r == '\u200D', r == '\u2060', r == '\uFEFF', r == '\u00AD':
			// invisible: removed
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	// Remove '.' and '/' between digits.
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c == '.' || c == '/') && len(out) > 0 && isDigit(out[len(out)-1]) && i+1 < len(s) && isDigit(s[i+1]) {
			continue
		}
		out = append(out, c)
	}
	if !utf8.Valid(out) {
		return s
	}
	return string(out)
}

// FindNationalIDs returns the national identity numbers in text, in the
// order they start (see the rules above), or nil when there are none.
func FindNationalIDs(text string) []IDMatch {
	var out []IDMatch
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		j := digitRunEnd(text, i)
		out = matchAt(text, i, j, out)
		i = j
	}
	return out
}

// matchAt appends the numbers that start with the digit run text[i:j].
func matchAt(text string, i, j int, out []IDMatch) []IDMatch {
	run := text[i:j]
	add := func(country, kind string, end int) {
		out = append(out, IDMatch{Country: country, Kind: kind, Start: i, End: end})
	}
	switch len(run) {
	case 10:
		if cprValid(run) {
			add("DK", "cpr", j)
		}
		if kind, ok := swedishKind(run[:6], run[6:], false); ok {
			add("SE", kind, j)
		}
	case 11:
		if kind, ok := norwegianKind(run); ok {
			add("NO", kind, j)
		}
	case 12:
		if kind, ok := swedishKind(run[:8], run[8:], false); ok {
			add("SE", kind, j)
		}
	}
	if j >= len(text) || (len(run) != 6 && len(run) != 8) {
		return out
	}
	// A separator after the date, then the rest.
	sep := text[j]
	rest := ""
	if j+1 < len(text) && isDigit(text[j+1]) {
		rest = text[j+1 : digitRunEnd(text, j+1)]
	}
	end := j + 1 + len(rest)
	if len(run) == 8 {
		if (sep == '-' || sep == ' ') && len(rest) == 4 {
			if kind, ok := swedishKind(run, rest, false); ok {
				add("SE", kind, end)
			}
		}
		return out
	}
	if (sep == '-' || sep == ' ') && len(rest) == 4 && cprValid(run+rest) {
		add("DK", "cpr", end)
	}
	if (sep == '-' || sep == ' ') && len(rest) == 5 {
		if kind, ok := norwegianKind(run + rest); ok {
			add("NO", kind, end)
		}
	}
	if (sep == '-' || sep == '+' || sep == ' ') && len(rest) == 4 {
		if kind, ok := swedishKind(run, rest, sep == '+'); ok {
			add("SE", kind, end)
		}
	}
	// HETU: the sign, three digits and the check character, which is a
	// digit (then rest is the four digits) or a letter after three digits
	// and before a non-digit.
	if len(rest) == 3 && end < len(text) && !isDigit(text[end]) && (end+1 == len(text) || !isDigit(text[end+1])) {
		end++
	} else if len(rest) != 4 {
		return out
	}
	if hetuValid(run, sep, rest[:3], text[end-1]) {
		add("FI", "hetu", end)
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digitRunEnd returns the end of the run of digits that starts at i.
func digitRunEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// cprValid checks the 10 digits of a CPR number: a real date, the century
// from the 7th digit.
func cprValid(digits string) bool {
	_, err := birthdate("DK", digits)
	return err == nil
}

// norwegianKind checks 11 digits as a Norwegian number and says which
// kind it is.
func norwegianKind(digits string) (string, bool) {
	if !norwegianCheckDigitsValid(digits) {
		return "", false
	}
	if _, err := birthdate("NO", digits); err != nil {
		return "", false
	}
	switch day, month := atoi2(digits[0:2]), atoi2(digits[2:4]); {
	case day > 40:
		return "d-number", true
	case month > 40 && month <= 52:
		return "h-number", true
	}
	return "fødselsnummer", true
}

// swedishKind checks a Swedish number given as its date (YYMMDD or
// YYYYMMDD) and its last four digits NNNC. plus is true when it was
// written with '+' (100 years or older), which only the 6-digit date
// takes.
func swedishKind(date, last4 string, plus bool) (string, bool) {
	year := -1 // unknown century
	if len(date) == 8 {
		year = atoi2(date[0:2])*100 + atoi2(date[2:4])
		if year < 1800 || year > 2099 {
			return "", false
		}
		date = date[2:]
	}
	if !luhnValid(date + last4) {
		return "", false
	}
	yy, month, day := atoi2(date[0:2]), atoi2(date[2:4]), atoi2(date[4:6])
	kind := "personnummer"
	if day > 60 {
		kind, day = "samordningsnummer", day-60
	}
	if year < 0 {
		year = 2000 + yy // for the length of February only: 00 counts as a leap year
	}
	if !realDate(year, month, day) {
		return "", false
	}
	return kind, true
}

// luhnValid checks the Luhn (modulus 10) check digit that ends digits:
// from the left, every other digit doubled starting with the first, the
// digits of the products summed (Skatteverket, SKV 704 §2.5).
func luhnValid(digits string) bool {
	sum := 0
	for i := range len(digits) - 1 {
		d := int(digits[i] - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10-sum%10)%10 == int(digits[len(digits)-1]-'0')
}

// hetuCheck is the alphabet of a HETU's check character, indexed by
// DDMMYYZZZ mod 31.
const hetuCheck = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// hetuValid checks a Finnish HETU given as its date DDMMYY, century sign,
// individual number ZZZ and check character.
func hetuValid(date string, sign byte, zzz string, check byte) bool {
	var century int
	switch upper(sign) {
	case '+':
		century = 1800
	case '-', 'Y', 'X', 'W', 'V', 'U':
		century = 1900
	case 'A', 'B', 'C', 'D', 'E', 'F':
		century = 2000
	default:
		return false
	}
	for _, c := range []byte(zzz) {
		if !isDigit(c) {
			return false
		}
	}
	if n := atoi2(zzz[0:2])*10 + int(zzz[2]-'0'); n < 2 {
		return false // 000 and 001 are not used
	}
	if !realDate(century+atoi2(date[4:6]), atoi2(date[2:4]), atoi2(date[0:2])) {
		return false
	}
	n := 0
	for _, c := range []byte(date + zzz) {
		n = n*10 + int(c-'0')
	}
	return hetuCheck[n%31] == upper(check)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// realDate reports whether year-month-day is a day of the Gregorian
// calendar.
func realDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t.Day() == day
}
