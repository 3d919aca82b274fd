package store

import (
	"fmt"
	"strings"
	"time"
)

// NationalID is a validated national identity number: a Danish CPR number
// (10 digits) or a Norwegian fødselsnummer (11 digits). Country is "DK" or
// "NO"; Number holds the digits only.
type NationalID struct {
	Country string
	Number  string
}

// String returns the digits; the length tells the country.
func (n NationalID) String() string { return n.Number }

// IsZero reports whether n is the zero value.
func (n NationalID) IsZero() bool { return n.Number == "" }

// Birthdate returns the date of birth encoded in the number.
func (n NationalID) Birthdate() time.Time {
	d, _ := birthdate(n.Country, n.Number)
	return d
}

// ParseNationalID validates s as a Danish CPR number or a Norwegian
// fødselsnummer. One separator (space or hyphen) after the date is allowed
// ("010170-1234"); anything else, including numbers of other countries, is
// refused with an error wrapping ErrInvalidNationalID that says why.
func ParseNationalID(s string) (NationalID, error) {
	digits := s
	if len(s) > 6 && (s[6] == '-' || s[6] == ' ') {
		digits = s[:6] + s[7:]
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return NationalID{}, fmt.Errorf("%w: only digits, with at most one hyphen after the date", ErrInvalidNationalID)
		}
	}
	var country string
	switch len(digits) {
	case 10:
		country = "DK"
	case 11:
		country = "NO"
		if !norwegianCheckDigitsValid(digits) {
			return NationalID{}, fmt.Errorf("%w: the check digits of the Norwegian fødselsnummer do not match", ErrInvalidNationalID)
		}
	default:
		return NationalID{}, fmt.Errorf("%w: %d digits; a Danish CPR number has 10, a Norwegian fødselsnummer 11", ErrInvalidNationalID, len(digits))
	}
	if _, err := birthdate(country, digits); err != nil {
		return NationalID{}, fmt.Errorf("%w: %v", ErrInvalidNationalID, err)
	}
	return NationalID{Country: country, Number: digits}, nil
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// birthdate decodes and checks the date at the start of a number.
func birthdate(country, digits string) (time.Time, error) {
	day, month, yy := atoi2(digits[0:2]), atoi2(digits[2:4]), atoi2(digits[4:6])
	var year int
	switch country {
	case "DK":
		// CPR: the century follows from the 7th digit and the year, as the
		// CPR office's table gives it (CPR-kontoret, "Personnummeret i CPR").
		switch d7 := int(digits[6] - '0'); {
		case d7 <= 3:
			year = 1900 + yy
		case d7 == 4 || d7 == 9:
			year = 1900 + yy
			if yy <= 36 {
				year = 2000 + yy
			}
		default: // 5–8
			year = 1800 + yy
			if yy <= 57 {
				year = 2000 + yy
			}
		}
	case "NO":
		// Fødselsnummer: D-numbers add 40 to the day, H-numbers 40 to the
		// month, synthetic test numbers 80 to the month (Skatteetaten).
		if day > 40 {
			day -= 40
		}
		if month > 80 {
			month -= 80
		} else if month > 40 {
			month -= 40
		}
		// The individual number (digits 7–9) gives the century.
		switch ind := atoi2(digits[6:8])*10 + int(digits[8]-'0'); {
		case ind <= 499:
			year = 1900 + yy
		case ind <= 749 && yy >= 54:
			year = 1800 + yy
		case ind >= 500 && yy <= 39:
			year = 2000 + yy
		case ind >= 900 && yy >= 40:
			year = 1900 + yy
		default:
			return time.Time{}, fmt.Errorf("individual number %s does not fit the year %02d", digits[6:9], yy)
		}
	}
	if month < 1 || month > 12 || day < 1 {
		return time.Time{}, fmt.Errorf("%s is not a date", digits[0:6])
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || t.Month() != time.Month(month) {
		return time.Time{}, fmt.Errorf("%s is not a date", digits[0:6])
	}
	return t, nil
}

// norwegianCheckDigitsValid checks both mod-11 check digits of an 11-digit
// fødselsnummer.
func norwegianCheckDigitsValid(d string) bool {
	k1 := mod11(d[:9], []int{3, 7, 6, 1, 8, 9, 4, 5, 2})
	k2 := mod11(d[:10], []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
	return k1 >= 0 && k2 >= 0 && k1 == int(d[9]-'0') && k2 == int(d[10]-'0')
}

// mod11 returns the check digit for digits with weights, or -1 when the
// remainder makes no valid check digit.
func mod11(digits string, weights []int) int {
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	k := 11 - sum%11
	switch k {
	case 11:
		return 0
	case 10:
		return -1
	}
	return k
}

// normaliseSpaces trims s and folds runs of white space into one space.
func normaliseSpaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
