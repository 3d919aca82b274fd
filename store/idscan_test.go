package store

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// found is a match as a test states it: the number as written in the text.
type found struct{ country, kind, number string }

// The numbers below were worked out by hand from each country's rules (the
// Norwegian check digits with the weights 3 7 6 1 8 9 4 5 2 and
// 5 4 3 2 7 6 5 4 3 2, the Swedish Luhn digit, the HETU's mod-31
// character), not by the code under test; several are the authorities' own
// published examples.
var idScanTests = []struct {
	name string
	text string
	want []found
}{
	// DK: the spellings a resident types.
	{"dk with hyphen", "Mit CPR-nummer er 120386-1234, tak.", []found{{"DK", "cpr", "120386-1234"}}},
	{"dk with space", "cpr 120386 1234", []found{{"DK", "cpr", "120386 1234"}}},
	{"dk ten digits", "CPR:1203861234.", []found{{"DK", "cpr", "1203861234"}}},
	{"dk at start and end of text", "0101701234", []found{{"DK", "cpr", "0101701234"}}},
	{"dk after letters", "ID0101701234", []found{{"DK", "cpr", "0101701234"}}},
	{"dk without modulus 11 (issued since 2007)", "010170-1235", []found{{"DK", "cpr", "010170-1235"}}},
	{"dk 29 feb 2000 from the 7th digit 4", "290200-4123", []found{{"DK", "cpr", "290200-4123"}}},
	{"dk two numbers", "120386-1234 og 010170 1234", []found{{"DK", "cpr", "120386-1234"}, {"DK", "cpr", "010170 1234"}}},
	{"dk in Danish prose with æøå", "Søn: 241205-4321, født på Ærø", []found{{"DK", "cpr", "241205-4321"}}},
	// 12 December 1912 is a CPR number and, by its Luhn digit, the Swedish
	// test person Tolvan Tolvansson's personnummer: both are reported.
	{"dk and se at once", "121212-1212", []found{{"DK", "cpr", "121212-1212"}, {"SE", "personnummer", "121212-1212"}}},

	// NO.
	{"no fødselsnummer", "fnr 12038612377", []found{{"NO", "fødselsnummer", "12038612377"}}},
	{"no with space after the date", "fnr 120386 12377", []found{{"NO", "fødselsnummer", "120386 12377"}}},
	{"no with hyphen after the date", "120386-12377", []found{{"NO", "fødselsnummer", "120386-12377"}}},
	{"no born 2005", "01010550048", []found{{"NO", "fødselsnummer", "01010550048"}}},
	{"no D-number", "D-nummer 52038600044", []found{{"NO", "d-number", "52038600044"}}},
	{"no H-number", "12438600033", []found{{"NO", "h-number", "12438600033"}}},

	// SE.
	{"se with hyphen (Skatteverket's example)", "pnr 811218-9876", []found{{"SE", "personnummer", "811218-9876"}}},
	{"se ten digits", "8112189876", []found{{"SE", "personnummer", "8112189876"}}},
	{"se twelve digits", "198112189876", []found{{"SE", "personnummer", "198112189876"}}},
	{"se twelve digits with hyphen", "19811218-9876", []found{{"SE", "personnummer", "19811218-9876"}}},
	{"se plus: 100 years or older", "190303+9996", []found{{"SE", "personnummer", "190303+9996"}}},
	{"se samordningsnummer: day + 60", "701063-2383", []found{{"SE", "samordningsnummer", "701063-2383"}}},

	// FI.
	{"fi 1900s (DVV's example)", "HETU 131052-308T", []found{{"FI", "hetu", "131052-308T"}}},
	{"fi lower case", "131052-308t", []found{{"FI", "hetu", "131052-308t"}}},
	{"fi new 1900s sign Y", "010594Y9032", []found{{"FI", "hetu", "010594Y9032"}}},
	{"fi 2000s sign A", "010110A0023 ", []found{{"FI", "hetu", "010110A0023"}}},
	{"fi 1800s sign +", "010150+002D", []found{{"FI", "hetu", "010150+002D"}}},

	// Near misses: nothing found.
	{"brief's 11 digits: not CPR (10 digits), NO check digits would be 77", "12038612345", nil},
	{"danish phone number", "Ring +45 12 34 56 78", nil},
	{"danish phone number, 8 digits", "tlf. 12345678", nil},
	{"swedish mobile", "070-123 45 67", nil},
	{"invoice number", "Faktura nr. 2024-000123", nil},
	{"ten-digit invoice number, invalid date", "Faktura 4500123456", nil},
	{"ten digits, day 32", "3213861234", nil},
	{"ten digits, month 13", "1213861234 1", nil},
	{"dk 29 feb 1900 from the 7th digit 1", "290200-1234", nil},
	{"danish IBAN", "DK50 0040 0440 1162 43", nil},
	{"danish IBAN without spaces", "DK5000400440116243", nil},
	{"norwegian IBAN", "NO93 8601 1117 947", nil},
	{"norwegian account number", "1234.56.78903", nil},
	{"no wrong second check digit", "12038612378", nil},
	{"no wrong first check digit", "12038612387", nil},
	{"cpr inside a longer run", "91203861234", nil},
	{"cpr inside a much longer run", "120386123456789", nil},
	{"two separators", "12-03-86-1234", nil},
	{"double separator", "120386--1234", nil},
	{"spaced separator", "120386 - 1234", nil},
	{"separator then five digits and more", "120386-123456", nil},
	{"cpr with a non-breaking space", "120386\u00a01234", nil},
	{"se wrong Luhn digit", "811218-9875", nil},
	{"se twelve digits, year 2181", "218112189876", nil},
	{"se twelve digits, year 1781", "178112189876", nil},
	{"fi wrong check character", "131052-308U", nil},
	{"fi unknown century sign", "131052G308T", nil},
	{"fi individual number 001", "010110A0012", nil},
	{"fi followed by a digit", "131052-308T5", nil},
	{"empty", "", nil},
}

func TestFindNationalIDs(t *testing.T) {
	t.Parallel()
	for _, tt := range idScanTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []IDMatch
			for _, f := range tt.want {
				start := strings.Index(tt.text, f.number)
				if start < 0 || strings.Count(tt.text, f.number) != 1 {
					t.Fatalf("bad test: %q must be in %q once", f.number, tt.text)
				}
				want = append(want, IDMatch{Country: f.country, Kind: f.kind, Start: start, End: start + len(f.number)})
			}
			got := FindNationalIDs(tt.text)
			if !slices.Equal(got, want) {
				t.Errorf("FindNationalIDs(%q)\n got %+v\nwant %+v", tt.text, got, want)
			}
			if c := ContainsNationalID(tt.text); c != (len(want) > 0) {
				t.Errorf("ContainsNationalID(%q) = %v", tt.text, c)
			}
		})
	}
}

// TestFindNationalIDsEveryDate: over every day of a leap year and a
// common year the DK rule flags exactly the ten-digit runs with a real
// date, so it is the date, not the length, that decides.
func TestFindNationalIDsEveryDate(t *testing.T) {
	t.Parallel()
	flagged, real := 0, 0
	for _, yy := range []string{"96", "97"} { // 1996 is a leap year
		for mm := 0; mm <= 13; mm++ {
			for dd := 0; dd <= 32; dd++ {
				number := twoDigits(dd) + twoDigits(mm) + yy + "1234" // 7th digit 1: 1900s
				isReal := realDate(1900+atoi2(yy), mm, dd)
				if isReal {
					real++
				}
				got := slices.ContainsFunc(FindNationalIDs(number), func(m IDMatch) bool { return m.Country == "DK" })
				if got != isReal {
					t.Errorf("%s: DK found %v, real date %v", number, got, isReal)
				}
				if got {
					flagged++
				}
			}
		}
	}
	if real != 366+365 || flagged != real {
		t.Errorf("flagged %d of %d real dates; want all %d", flagged, real, 366+365)
	}
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

var idKinds = map[string][]string{
	"DK": {"cpr"},
	"NO": {"fødselsnummer", "d-number", "h-number"},
	"SE": {"personnummer", "samordningsnummer"},
	"FI": {"hetu"},
}

// FuzzFindNationalIDs: the recogniser never panics; its matches lie within
// the text, in order, bounded by non-digits, of a known country and kind;
// each matched substring is found again, whole, on its own (the match does
// not depend on what lies around it beyond the boundary); and a DK or NO
// match is a number ParseNationalID accepts for the same country.
func FuzzFindNationalIDs(f *testing.F) {
	for _, tt := range idScanTests {
		f.Add(tt.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ms := FindNationalIDs(text)
		if ContainsNationalID(text) != (len(ms) > 0) {
			t.Fatalf("ContainsNationalID disagrees with FindNationalIDs on %q", text)
		}
		if n := NormaliseForIDScan(text); utf8.ValidString(text) && !utf8.ValidString(n) {
			t.Fatalf("NormaliseForIDScan made invalid UTF-8 of %q: %q", text, n)
		}
		for i, m := range ms {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
				t.Fatalf("match %+v out of bounds of %d bytes", m, len(text))
			}
			if i > 0 && ms[i-1].Start > m.Start {
				t.Fatalf("matches out of order: %+v", ms)
			}
			if !slices.Contains(idKinds[m.Country], m.Kind) {
				t.Fatalf("unknown country or kind in %+v", m)
			}
			if (m.Start > 0 && isDigit(text[m.Start-1])) || (m.End < len(text) && isDigit(text[m.End])) {
				t.Fatalf("match %+v inside a longer run of digits in %q", m, text)
			}
			sub := text[m.Start:m.End]
			again := IDMatch{Country: m.Country, Kind: m.Kind, Start: 0, End: len(sub)}
			if !slices.Contains(FindNationalIDs(sub), again) {
				t.Fatalf("%q matched as %s %s in %q but not on its own: %+v", sub, m.Country, m.Kind, text, FindNationalIDs(sub))
			}
			if m.Country == "DK" || m.Country == "NO" {
				n, err := ParseNationalID(sub)
				if err != nil || n.Country != m.Country {
					t.Fatalf("%q matched as %s but ParseNationalID says %+v, %v", sub, m.Country, n, err)
				}
			}
		}
	})
}
