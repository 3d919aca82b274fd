package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// The rule for a password a resident chooses (at activation, when
// changing it, when recovering with the recovery key, and AddResident's),
// in one place: CheckPassword. It follows NIST SP 800-63B §5.1.1.2
// ("Memorized Secret Verifiers"): at least MinPasswordLength characters
// (the SP's floor is 8), any characters at all, spaces included, and no
// composition rules (no demand for digits or capitals); a password that
// is common, breached, or otherwise easy to guess is refused, with the
// reason said. The password is all that stands between a stolen backup
// and the resident's mail: an attacker holding a copy guesses offline,
// at the Argon2id policy's pace.
//
// "Easy to guess" is the estimate of zxcvbn (github.com/trustelem/zxcvbn,
// a Go port of Dropbox's zxcvbn): it matches the password against its
// frequency lists (the 30,000 most common passwords of leaked password
// sets, English words, names and surnames, TV and film words), keyboard
// patterns, sequences, repeats, dates and l33t substitutions, and against
// what the resident's own account holds (their name and number), and
// estimates how many guesses find it. A password needs a score of
// MinPasswordScore: at least 10^8 guesses.

// MinPasswordLength is the shortest password a resident may choose, in
// characters.
const MinPasswordLength = 10

// maxPasswordBytes is the longest, in bytes: Argon2id's input is not
// bounded, but a request's should be.
const maxPasswordBytes = 1024

// MinPasswordScore is the least zxcvbn score a password must have (0–4;
// 3 is "safely unguessable: moderate protection from an offline
// slow-hash scenario", at least 10^8 guesses).
const MinPasswordScore = 3

// The rules a password can fail, wrapped in the *InvalidError (field
// "password") that CheckPassword and the operations that take a new
// password return, so that the pages say which.
var (
	ErrPasswordShort     = errors.New("password too short")
	ErrPasswordLong      = errors.New("password too long")
	ErrPasswordGuessable = errors.New("password too easy to guess")
)

// CheckPassword checks a password a resident chooses against the rule
// above. personal are what the account holds that a guesser may know
// (the name, the national identity number): a password made of them is
// easy to guess.
func CheckPassword(password string, personal ...string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return &InvalidError{Field: "password", Reason: fmt.Sprintf("at least %d characters", MinPasswordLength), Err: ErrPasswordShort}
	case len(password) > maxPasswordBytes:
		return &InvalidError{Field: "password", Reason: fmt.Sprintf("at most %d bytes", maxPasswordBytes), Err: ErrPasswordLong}
	}
	var inputs []string
	for _, p := range personal {
		inputs = append(inputs, strings.Fields(strings.ToLower(p))...)
	}
	// zxcvbn's matching grows faster than the password: like zxcvbn's
	// own later versions, estimate the first zxcvbnMax characters, which
	// for a longer password are a strong password already unless they
	// are a pattern.
	if zxcvbn.PasswordStrength(firstRunes(password, zxcvbnMax), inputs).Score < MinPasswordScore {
		return &InvalidError{Field: "password", Reason: "common, or otherwise easy to guess", Err: ErrPasswordGuessable}
	}
	return nil
}

// zxcvbnMax is how many characters of a password zxcvbn estimates.
const zxcvbnMax = 100

// firstRunes returns s's first n characters.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
