package store

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckOrgNumberValid(t *testing.T) {
	t.Parallel()
	// Real, public organisation numbers (CVR register at datacvr.virk.dk,
	// Enhetsregisteret at brreg.no).
	tests := []struct {
		org, country, who string
	}{
		{"34051178", "DK", "Digitaliseringsstyrelsen"},
		{"64942212", "DK", "Københavns Kommune"},
		{"55133018", "DK", "Aarhus Kommune"},
		{"35209115", "DK", "Odense Kommune"},
		{"974760673", "NO", "Brønnøysundregistrene"},
		{"958935420", "NO", "Oslo kommune"},
		{"964338531", "NO", "Bergen kommune"},
		{"974761076", "NO", "Skatteetaten"},
		{"889640782", "NO", "Arbeids- og velferdsetaten (NAV)"},
		{"991825827", "NO", "Digitaliseringsdirektoratet"},
		// The check digit 0 of a CVR number, and an organisasjonsnummer
		// whose check digit is 0 because 11 − 0 = 11.
		{"10000009", "DK", "constructed: weighted sum 11"},
		{"800000130", "NO", "constructed: weighted sum 33, 11 − 0 = 11 → 0"},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			t.Parallel()
			country, err := CheckOrgNumber(tt.org)
			if err != nil || country != tt.country {
				t.Fatalf("CheckOrgNumber(%q) = %q, %v; want %q, nil", tt.org, country, err, tt.country)
			}
		})
	}
}

func TestCheckOrgNumberInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, org, reason string
	}{
		{"empty", "", "not 0"},
		{"seven digits", "3405117", "not 7"},
		{"ten digits", "3405117800", "not 10"},
		{"cvr last digit changed", "34051179", "check digit of the CVR number"},
		{"cvr two digits swapped", "43051178", "check digit of the CVR number"},
		{"cvr sequential digits", "12345678", "check digit of the CVR number"},
		{"cvr leading 0 with a valid sum", "01000004", "does not start with 0"},
		{"no last digit changed", "974760674", "check digit of the organisasjonsnummer"},
		{"no two digits swapped", "974706673", "check digit of the organisasjonsnummer"},
		{"no remainder 1 leaves no check digit", "900000090", "leaves no check digit"},
		{"no starts with 7, valid sum", "700000001", "starts with 8 or 9"},
		{"spaces as printed in Norway", "974 760 673", "only digits"},
		{"country prefix", "DK34051178", "only digits"},
		{"hyphen", "34-05-11-78", "only digits"},
		{"MVA suffix", "974760673MVA", "only digits"},
		{"non-ASCII digits", "３４０５１１７８", "only digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			country, err := CheckOrgNumber(tt.org)
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != "org" {
				t.Fatalf("CheckOrgNumber(%q) = %q, %v; want an *InvalidError on org", tt.org, country, err)
			}
			if country != "" {
				t.Errorf("country %q with an error", country)
			}
			if !strings.Contains(inv.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", inv.Reason, tt.reason)
			}
		})
	}
}

// TestCheckOrgNumberSingleDigitErrors: changing any one digit of a valid
// number to any other digit is caught: 11 is prime and no weight is a
// multiple of 11, so a change of δ in a digit of weight w moves the sum by
// w·δ, which is never 0 modulo 11.
func TestCheckOrgNumberSingleDigitErrors(t *testing.T) {
	t.Parallel()
	for _, valid := range []string{"34051178", "64942212", "974760673", "958935420"} {
		for i := range len(valid) {
			for d := byte('0'); d <= '9'; d++ {
				if d == valid[i] {
					continue
				}
				changed := valid[:i] + string(d) + valid[i+1:]
				if country, err := CheckOrgNumber(changed); err == nil {
					t.Errorf("CheckOrgNumber(%q) (from %s, digit %d changed) = %q, nil; want an error", changed, valid, i+1, country)
				}
			}
		}
	}
}
