package store

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckPassword: NIST SP 800-63B's rules: long enough, not too long,
// any characters and no composition rules, and nothing common or easy to
// guess (zxcvbn), the resident's own name and number included.
func TestCheckPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		password string
		personal []string
		want     error
	}{
		{"password123", nil, ErrPasswordGuessable},
		{"qwertyuiop", nil, ErrPasswordGuessable},
		{"1234567890", nil, ErrPasswordGuessable},
		{"hunter2hunter2", nil, ErrPasswordGuessable},
		{"aaaaaaaaaaaaaaaaaaaa", nil, ErrPasswordGuessable},
		{"jensen0101701234", []string{"Anna Jensen", "0101701234"}, ErrPasswordGuessable},
		{"short", nil, ErrPasswordShort},
		{"ninechars", nil, ErrPasswordShort},
		{strings.Repeat("x", 1025), nil, ErrPasswordLong},
		// No composition rules: lowercase words and spaces are fine.
		{"correct horse battery staple", []string{"Anna Jensen"}, nil},
		{"ikke så let at gætte", nil, nil},
		{"sommerferie i skagen", nil, nil},
		{"Tr0ub4dor&3x", nil, nil},
		// A long password: only its start is estimated.
		{"a long enough password " + strings.Repeat("z", 900), nil, nil},
	} {
		err := CheckPassword(tc.password, tc.personal...)
		var invalid *InvalidError
		if tc.want == nil && err != nil || tc.want != nil && (!errors.Is(err, tc.want) || !errors.As(err, &invalid) || invalid.Field != "password") {
			t.Errorf("CheckPassword(%.30q) = %v, want %v", tc.password, err, tc.want)
		}
	}
}
