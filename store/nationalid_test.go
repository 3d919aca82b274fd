package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Norwegian fødselsnummer check digits (Skatteetaten): k1 over digits 1–9
// with weights 3 7 6 1 8 9 4 5 2, k2 over digits 1–10 with weights
// 5 4 3 2 7 6 5 4 3 2; k = 11 - sum mod 11, 11 → 0, 10 → no valid number.
// Written out again here rather than calling mod11, so the test does not
// trust the code it tests.
func noCheckDigit(digits string, weights []int) (int, bool) {
	sum := 0
	for i, w := range weights {
		sum += int(digits[i]-'0') * w
	}
	switch k := 11 - sum%11; k {
	case 11:
		return 0, true
	case 10:
		return 0, false
	default:
		return k, true
	}
}

var (
	noWeights1 = []int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	noWeights2 = []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
)

// withCheckDigits appends both check digits to nine digits; ok is false
// when either would be 10.
func withCheckDigits(nine string) (string, bool) {
	k1, ok := noCheckDigit(nine, noWeights1)
	if !ok {
		return "", false
	}
	ten := nine + fmt.Sprint(k1)
	k2, ok := noCheckDigit(ten, noWeights2)
	if !ok {
		return "", false
	}
	return ten + fmt.Sprint(k2), true
}

// fnr returns the first valid fødselsnummer for the date (DDMMYY as
// written, D- and H-number offsets included) with an individual number in
// [lo, hi].
func fnr(t testing.TB, date string, lo, hi int) string {
	t.Helper()
	for ind := lo; ind <= hi; ind++ {
		if n, ok := withCheckDigits(fmt.Sprintf("%s%03d", date, ind)); ok {
			return n
		}
	}
	t.Fatalf("no valid fødselsnummer for %s with individual number %d–%d", date, lo, hi)
	return ""
}

// fnrFirstCheckTen returns nine digits for date whose first check digit
// would be 10.
func fnrFirstCheckTen(t testing.TB, date string) string {
	t.Helper()
	for ind := 0; ind <= 499; ind++ {
		nine := fmt.Sprintf("%s%03d", date, ind)
		if _, ok := noCheckDigit(nine, noWeights1); !ok {
			return nine
		}
	}
	t.Fatalf("no individual number for %s gives a first check digit of 10", date)
	return ""
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseNationalIDValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		country string
		number  string
		born    time.Time
	}{
		// DK CPR: the century from the 7th digit and the year (CPR-kontoret).
		{"dk 7th digit 0 is 1900s", "0101000123", "DK", "0101000123", date(1900, 1, 1)},
		{"dk 7th digit 3 is 1900s", "3112993999", "DK", "3112993999", date(1999, 12, 31)},
		{"dk 7th digit 4 year 36 is 2036", "0101364000", "DK", "0101364000", date(2036, 1, 1)},
		{"dk 7th digit 4 year 37 is 1937", "0101374000", "DK", "0101374000", date(1937, 1, 1)},
		{"dk 7th digit 9 year 00 is 2000", "0101009000", "DK", "0101009000", date(2000, 1, 1)},
		{"dk 7th digit 9 year 99 is 1999", "0101999000", "DK", "0101999000", date(1999, 1, 1)},
		{"dk 7th digit 5 year 57 is 2057", "0101575000", "DK", "0101575000", date(2057, 1, 1)},
		{"dk 7th digit 8 year 58 is 1858", "0101588000", "DK", "0101588000", date(1858, 1, 1)},
		{"dk 7th digit 6 year 00 is 2000", "0101006000", "DK", "0101006000", date(2000, 1, 1)},
		{"dk 29 feb 1996", "2902961234", "DK", "2902961234", date(1996, 2, 29)},
		{"dk 29 feb 2000", "2902004123", "DK", "2902004123", date(2000, 2, 29)},
		{"dk with hyphen", "010170-1234", "DK", "0101701234", date(1970, 1, 1)},
		{"dk with space", "010170 1234", "DK", "0101701234", date(1970, 1, 1)},

		// NO fødselsnummer: the century from the individual number.
		{"no 000-499 is 1900s", fnr(t, "150585", 0, 499), "NO", "", date(1985, 5, 15)},
		{"no 500-749 with year 54-99 is 1854-1899", fnr(t, "010160", 500, 749), "NO", "", date(1860, 1, 1)},
		{"no 500-999 with year 00-39 is 2000s", fnr(t, "010105", 500, 999), "NO", "", date(2005, 1, 1)},
		{"no 900-999 with year 40-99 is 1940s", fnr(t, "010145", 900, 999), "NO", "", date(1945, 1, 1)},
		{"no 29 feb 2000", fnr(t, "290200", 500, 999), "NO", "", date(2000, 2, 29)},
		{"no D-number: day + 40", fnr(t, "410170", 0, 499), "NO", "", date(1970, 1, 1)},
		{"no D-number on the 31st", fnr(t, "711270", 0, 499), "NO", "", date(1970, 12, 31)},
		{"no H-number: month + 40", fnr(t, "015270", 0, 499), "NO", "", date(1970, 12, 1)},
		{"no synthetic: month + 80", fnr(t, "018170", 0, 499), "NO", "", date(1970, 1, 1)},
		{"no synthetic D-number", fnr(t, "419270", 0, 499), "NO", "", date(1970, 12, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := ParseNationalID(tt.in)
			if err != nil {
				t.Fatalf("ParseNationalID(%q): %v", tt.in, err)
			}
			want := tt.number
			if want == "" {
				want = strings.ReplaceAll(tt.in, "-", "")
			}
			if n.Country != tt.country || n.Number != want || n.String() != want {
				t.Errorf("ParseNationalID(%q) = %+v, want %s %s", tt.in, n, tt.country, want)
			}
			if got := n.Birthdate(); !got.Equal(tt.born) {
				t.Errorf("Birthdate() = %s, want %s", got.Format(time.DateOnly), tt.born.Format(time.DateOnly))
			}
			if n.IsZero() {
				t.Error("IsZero() of a parsed number")
			}
		})
	}
}

func TestParseNationalIDInvalid(t *testing.T) {
	t.Parallel()
	valid := fnr(t, "150585", 0, 499)
	// Change one check digit and recompute the other, so only that one is
	// wrong.
	wrongK1 := func() string {
		k1 := (int(valid[9]-'0') + 1) % 10
		ten := valid[:9] + fmt.Sprint(k1)
		k2, ok := noCheckDigit(ten, noWeights2)
		if !ok {
			k2 = 0
		}
		return ten + fmt.Sprint(k2)
	}()
	wrongK2 := valid[:10] + fmt.Sprint((int(valid[10]-'0')+1)%10)
	nineTen := fnrFirstCheckTen(t, "150585")

	tests := []struct {
		name string
		in   string
		why  string // part of the error message
	}{
		{"empty", "", "0 digits"},
		{"dk 31 april", "3104701234", "not a date"},
		{"dk 29 feb non-leap 1997", "2902971234", "not a date"},
		{"dk 29 feb 1900 is no leap year", "2902001234", "not a date"},
		{"dk day 0", "0001701234", "not a date"},
		{"dk month 13", "0113701234", "not a date"},
		{"dk month 0", "0100701234", "not a date"},
		{"dk D-number offset is Norwegian only", "4101701234", "not a date"},
		{"dk letters", "01017O1234", "only digits"},
		{"dk letters in the serial", "010170ABCD", "only digits"},
		{"dk 9 digits", "010170123", "9 digits"},
		{"dk 12 digits", "010170123456", "12 digits"},
		{"hyphen in the wrong place", "01017-01234", "only digits"},
		{"two hyphens", "010170--1234", "only digits"},
		{"hyphen at the end", "0101701234-", "only digits"},
		{"leading space", " 0101701234", "only digits"},
		{"full-width digits", "０１０１７０１２３４", "only digits"},
		{"swedish personnummer", "19700101-1234", "only digits"},
		{"no wrong first check digit", wrongK1, "check digits"},
		{"no wrong second check digit", wrongK2, "check digits"},
		{"no first check digit would be 10 (0)", nineTen + "00", "check digits"},
		{"no first check digit would be 10 (last digits 10)", nineTen[:9] + "10", "check digits"},
		{"no individual 500-749 does not fit year 40-53", fnr(t, "010145", 500, 749), "individual number"},
		{"no individual 750-899 does not fit year 40-99", fnr(t, "010170", 750, 899), "individual number"},
		{"no 31 april", fnr(t, "310470", 0, 499), "not a date"},
		{"no 29 feb non-leap", fnr(t, "290297", 0, 499), "not a date"},
		{"no D-number day 72", fnr(t, "720170", 0, 499), "not a date"},
		{"no month 13", fnr(t, "011370", 0, 499), "not a date"},
		{"no H-number month 53", fnr(t, "015370", 0, 499), "not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := ParseNationalID(tt.in)
			if err == nil {
				t.Fatalf("ParseNationalID(%q) = %+v, want an error", tt.in, n)
			}
			if !errors.Is(err, ErrInvalidNationalID) {
				t.Errorf("error %q does not wrap ErrInvalidNationalID", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			if !n.IsZero() {
				t.Errorf("a refused number returned %+v", n)
			}
		})
	}
}

// TestNorwegianCheckDigitsAgree compares the store's mod-11 check with the
// test's own for every individual number of one date.
func TestNorwegianCheckDigitsAgree(t *testing.T) {
	t.Parallel()
	for ind := 0; ind <= 999; ind++ {
		nine := fmt.Sprintf("010105%03d", ind)
		for last := 0; last < 100; last++ {
			n := fmt.Sprintf("%s%02d", nine, last)
			want, ok := withCheckDigits(nine)
			if got := norwegianCheckDigitsValid(n); got != (ok && want == n) {
				t.Fatalf("norwegianCheckDigitsValid(%s) = %v", n, got)
			}
		}
	}
}

func FuzzParseNationalID(f *testing.F) {
	for _, s := range []string{
		"0101701234", "010170-1234", "2902004123", "3104701234", "01017O1234",
		"15058512345", "41017012345", "010170-12345", "", "-", "0101701-234",
		"\xff\xfe0101701234", "010170\x001234",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNationalID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidNationalID) {
				t.Fatalf("ParseNationalID(%q): error %q does not wrap ErrInvalidNationalID", s, err)
			}
			if !n.IsZero() {
				t.Fatalf("ParseNationalID(%q) refused but returned %+v", s, n)
			}
			return
		}
		switch {
		case len(n.Number) == 10 && n.Country == "DK":
		case len(n.Number) == 11 && n.Country == "NO":
		default:
			t.Fatalf("ParseNationalID(%q) = %+v: wrong length or country", s, n)
		}
		for _, c := range []byte(n.Number) {
			if c < '0' || c > '9' {
				t.Fatalf("ParseNationalID(%q) = %+v: not only digits", s, n)
			}
		}
		again, err := ParseNationalID(n.Number)
		if err != nil || again != n {
			t.Fatalf("ParseNationalID(%q) = %+v, but its number re-parses to %+v, %v", s, n, again, err)
		}
		if n.Birthdate().IsZero() {
			t.Fatalf("ParseNationalID(%q) = %+v has no birth date", s, n)
		}
	})
}
