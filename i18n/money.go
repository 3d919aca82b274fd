package i18n

import (
	"strings"

	"golang.org/x/text/currency"
)

// Money writes an amount in a currency as the language writes it: its
// own currency with the language's word ("1.249,50 kr." in Danish for
// DKK, "kr 1 249,50" in Bokmål for NOK, by the message "amount"), any
// other with the ISO 4217 code ("DKK 1,249.50", "1.249,50 EUR", "DKK
// 1 249,50", by "structured.amount.code"). amount is a decimal string
// with a point, as a sender wrote it ("1249.5"); it gets at least the
// currency's usual number of decimals. One that is not such a decimal is
// returned as it is with the code, never rounded through a float.
func (l *Lang) Money(amount, code string) string {
	whole, frac, _ := strings.Cut(amount, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) || len(whole) > 18 {
		return code + " " + amount
	}
	decimals := 2
	if u, err := currency.ParseISO(code); err == nil {
		decimals, _ = currency.Standard.Rounding(u)
	}
	for len(frac) < decimals {
		frac += "0"
	}
	var b strings.Builder
	group := l.T("number.group")
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString(l.T("number.decimal") + frac)
	}
	if code == l.T("structured.currency.home") {
		return l.T("amount", "Number", b.String())
	}
	return l.T("structured.amount.code", "Number", b.String(), "Currency", code)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
