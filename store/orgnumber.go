package store

// Organisation numbers: a sender is registered under its Danish CVR number
// or its Norwegian organisasjonsnummer, and each is checked with its own
// modulus-11 rule, so a mistyped number is refused when the operator adds
// the sender rather than printed on every receipt.

// CheckOrgNumber validates an organisation number given as digits only and
// says whose it is: "DK" for a CVR number (8 digits), "NO" for an
// organisasjonsnummer (9 digits). Anything else, and a number whose check
// digit does not match, is an *InvalidError on the field "org".
//
// DK, CVR number: 8 digits, not starting with 0; with the weights
// 2, 7, 6, 5, 4, 3, 2, 1 the weighted sum of all eight digits is divisible
// by 11 (Erhvervsstyrelsen, "Modulus 11-kontrol af CVR-nummer"; the last
// digit is the check digit).
//
// NO, organisasjonsnummer: 9 digits, starting with 8 or 9; the ninth digit
// is the check digit, 11 − (Σ dᵢ·wᵢ mod 11) with the weights 3, 2, 7, 6, 5,
// 4, 3, 2 on the first eight digits, where 11 becomes 0 and 10 means that
// no valid number has these first eight digits (Brønnøysundregistrene,
// "Organisasjonsnummeret"; the same modulus-11 rule as the fødselsnummer's
// check digits, store/nationalid.go).
func CheckOrgNumber(org string) (country string, err error) {
	for _, c := range []byte(org) {
		if c < '0' || c > '9' {
			return "", invalid("org", "an organisation number has only digits: 8 for a Danish CVR number, 9 for a Norwegian organisasjonsnummer")
		}
	}
	switch len(org) {
	case 8:
		if org[0] == '0' {
			return "", invalid("org", "a CVR number does not start with 0")
		}
		sum := 0
		for i, w := range []int{2, 7, 6, 5, 4, 3, 2, 1} {
			sum += int(org[i]-'0') * w
		}
		if sum%11 != 0 {
			return "", invalid("org", "the check digit of the CVR number %s does not match (modulus 11)", org)
		}
		return "DK", nil
	case 9:
		if org[0] != '8' && org[0] != '9' {
			return "", invalid("org", "a Norwegian organisasjonsnummer starts with 8 or 9")
		}
		k := mod11(org[:8], []int{3, 2, 7, 6, 5, 4, 3, 2})
		if k < 0 {
			return "", invalid("org", "no organisasjonsnummer starts with %s (modulus 11 leaves no check digit)", org[:8])
		}
		if k != int(org[8]-'0') {
			return "", invalid("org", "the check digit of the organisasjonsnummer %s does not match (modulus 11)", org)
		}
		return "NO", nil
	}
	return "", invalid("org", "an organisation number has 8 digits (Danish CVR number) or 9 (Norwegian organisasjonsnummer), not %d", len(org))
}
