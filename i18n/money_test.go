package i18n_test

import "testing"

// TestMoney: an invoice's amount as each language writes it, in its own
// currency and in others, from the decimal string a sender sent.
func TestMoney(t *testing.T) {
	c := load(t)
	for _, tc := range []struct {
		lang, amount, code, want string
	}{
		{"da", "1249.50", "DKK", "1.249,50 kr."},
		{"nb", "1249.50", "NOK", "kr 1\u00a0249,50"},
		{"en", "1249.50", "DKK", "DKK 1,249.50"},
		{"da", "1249.50", "EUR", "1.249,50 EUR"},
		{"nb", "1249.50", "DKK", "DKK 1\u00a0249,50"},
		{"en", "1249.50", "NOK", "NOK 1,249.50"},
		{"da", "80", "DKK", "80,00 kr."},
		{"da", "0.5", "DKK", "0,50 kr."},
		{"en", "1234567890.05", "EUR", "EUR 1,234,567,890.05"},
		{"da", "999", "DKK", "999,00 kr."},
		{"da", "1000", "DKK", "1.000,00 kr."},
		{"en", "1500", "JPY", "JPY 1,500"}, // no minor unit
		{"en", "12,5", "DKK", "DKK 12,5"},  // not a decimal: as it is
	} {
		if got := c.Lang(tc.lang).Money(tc.amount, tc.code); got != tc.want {
			t.Errorf("%s Money(%q, %s) = %q, want %q", tc.lang, tc.amount, tc.code, got, tc.want)
		}
	}
}
