package store

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/currency"

	"github.com/postkasse/postkasse/crypto"
)

// Structured letters (API.md, "More message fields"): an invoice's payment
// details and up to five actions a sender offers the resident. They are
// part of what the letter says, so they are sealed with the letter's data
// key like its subject (field "structured", the JSON of structuredData):
// the operator reads neither an amount nor an account at rest. Only the
// letter's type is in clear, and a notification names only that.

// Invoice is what an invoice asks the resident to pay.
type Invoice struct {
	// Amount is a decimal string with at most two decimals, as the sender
	// wrote it: "1249.50", "80".
	Amount string `json:"amount"`
	// Currency is an ISO 4217 alphabetic code: "DKK", "NOK", "EUR".
	Currency         string `json:"currency"`
	Account          string `json:"account,omitempty"`
	PaymentReference string `json:"paymentReference,omitempty"`
	// DueDate (YYYY-MM-DD) is the letter's due date (Delivery.DueDate).
	DueDate string `json:"dueDate,omitempty"`
}

// ActionType is what an action does.
type ActionType string

// Action types of API v1.
const (
	ActionLink        ActionType = "link"
	ActionAppointment ActionType = "appointment"
	ActionPay         ActionType = "pay"
	ActionSign        ActionType = "sign"
	ActionReply       ActionType = "reply"
)

// Action is a thing the sender offers the resident to do: follow a link
// (https only), come to an appointment (its time At, offered as a
// calendar file), pay, sign or reply, perhaps by a deadline.
type Action struct {
	Type  ActionType `json:"type"`
	Label string     `json:"label"`
	URL   string     `json:"url,omitempty"`
	// At is an appointment's time, RFC 3339 as the sender wrote it.
	At string `json:"at,omitempty"`
	// Deadline is the last day to act, YYYY-MM-DD.
	Deadline string `json:"deadline,omitempty"`
}

// Time returns an appointment's time; zero when the action has none.
func (a Action) Time() time.Time {
	t, err := time.Parse(time.RFC3339, a.At)
	if err != nil {
		return time.Time{}
	}
	return t
}

// MaxActions is how many actions a letter may have.
const MaxActions = 5

// Limits of the structured fields, in bytes.
const (
	maxActionLabel = 100
	maxActionURL   = 2048
	maxInvoiceText = 70 // an account or a payment reference (an IBAN is 34, an FI code 71-… with its number)
)

// structuredData is what the sealed field "structured" holds. Its JSON is
// also what ContentHash covers of it.
type structuredData struct {
	Invoice *Invoice `json:"invoice,omitempty"`
	Actions []Action `json:"actions,omitempty"`
	// SignatureRequest (store/signing.go) is sealed with them.
	SignatureRequest *SignatureRequest `json:"signatureRequest,omitempty"`
}

func (d structuredData) empty() bool {
	return d.Invoice == nil && len(d.Actions) == 0 && d.SignatureRequest == nil
}

// encode is the data's canonical JSON, "" when there is none.
func (d structuredData) encode() string {
	if d.empty() {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("store: encode structured data: %v", err)) // strings only: cannot fail
	}
	return string(b)
}

// checkStructured checks a delivery's invoice and actions. An invoice
// makes the letter an invoice (an empty type becomes "invoice"; another
// type is refused), and its due date is the letter's: one due date, kept
// and listed by the rule of storage.Letter.Due.
func checkStructured(d *Delivery) error {
	if inv := d.Invoice; inv != nil {
		if err := checkAmount(inv.Amount); err != nil {
			return err
		}
		if err := checkCurrency(inv.Currency); err != nil {
			return err
		}
		for _, f := range []struct{ field, value string }{
			{"invoice.account", inv.Account}, {"invoice.paymentReference", inv.PaymentReference},
		} {
			if err := checkLine(f.field, f.value, maxInvoiceText); err != nil {
				return err
			}
		}
		if err := checkDate("invoice.dueDate", inv.DueDate); err != nil {
			return err
		}
		switch d.Type {
		case "":
			d.Type = TypeInvoice
		case TypeInvoice:
		default:
			return invalid("invoice", "only a letter of type invoice has one (the type is %q)", d.Type)
		}
		switch {
		case inv.DueDate == "":
		case d.DueDate == "":
			d.DueDate = inv.DueDate
		case d.DueDate != inv.DueDate:
			return invalid("invoice.dueDate", "%s differs from the letter's dueDate %s", inv.DueDate, d.DueDate)
		}
	}
	if len(d.Actions) > MaxActions {
		return invalid("actions", "at most %d actions, not %d", MaxActions, len(d.Actions))
	}
	for i, a := range d.Actions {
		if err := checkAction(fmt.Sprintf("actions[%d]", i), a); err != nil {
			return err
		}
	}
	return nil
}

func checkAction(field string, a Action) error {
	switch a.Type {
	case ActionLink, ActionAppointment, ActionPay, ActionSign, ActionReply:
	case "":
		return invalid(field+".type", "missing")
	default:
		return invalid(field+".type", "%q is not one of link, appointment, pay, sign, reply", a.Type)
	}
	if strings.TrimSpace(a.Label) == "" {
		return invalid(field+".label", "missing")
	}
	if err := checkLine(field+".label", a.Label, maxActionLabel); err != nil {
		return err
	}
	if a.URL != "" {
		if err := checkHTTPS(field+".url", a.URL); err != nil {
			return err
		}
	} else if a.Type == ActionLink || a.Type == ActionPay || a.Type == ActionSign {
		return invalid(field+".url", "missing: a %s action needs an https URL", a.Type)
	}
	if a.At != "" {
		// RFC 3339 §5.6 date-time; time.Parse also checks the day exists.
		if _, err := time.Parse(time.RFC3339, a.At); err != nil {
			return invalid(field+".at", "%q is not an RFC 3339 time such as 2027-01-31T09:30:00+01:00", a.At)
		}
	} else if a.Type == ActionAppointment {
		return invalid(field+".at", "missing: an appointment needs its time")
	}
	return checkDate(field+".deadline", a.Deadline)
}

// checkAmount checks an invoice's amount: a decimal number of at most 15
// digits before the point and two after it, not negative, with a point as
// the decimal separator and no grouping ("1249.50", not "1.249,50").
func checkAmount(s string) error {
	const field = "invoice.amount"
	if s == "" {
		return invalid(field, "missing")
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	digits := func(x string) bool {
		for _, c := range x {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case strings.HasPrefix(s, "-"):
		return invalid(field, "%q is negative", s)
	case whole == "" || !digits(whole) || !digits(frac) || (hasPoint && frac == ""):
		return invalid(field, "%q is not a decimal number written with a point, such as \"1249.50\"", s)
	case len(frac) > 2:
		return invalid(field, "%q has more than two decimals", s)
	case len(whole) > 15:
		return invalid(field, "%q is too large", s)
	case len(whole) > 1 && whole[0] == '0':
		return invalid(field, "%q has a leading zero", s)
	}
	return nil
}

// checkCurrency checks an ISO 4217 alphabetic currency code, in capitals.
func checkCurrency(s string) error {
	const field = "invoice.currency"
	if s == "" {
		return invalid(field, "missing")
	}
	if len(s) != 3 || strings.ToUpper(s) != s {
		return invalid(field, "%q is not an ISO 4217 code of three capital letters such as DKK", s)
	}
	u, err := currency.ParseISO(s)
	if err != nil || u == (currency.Unit{}) { // XXX: "no currency"
		return invalid(field, "%q is not an ISO 4217 currency code", s)
	}
	return nil
}

// checkHTTPS checks a URL the resident may follow: absolute https with a
// host, no user name or password in it.
func checkHTTPS(field, s string) error {
	if len(s) > maxActionURL {
		return invalid(field, "longer than %d bytes", maxActionURL)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !isText([]byte(s)) || strings.ContainsAny(s, " \t\r\n"):
		return invalid(field, "not a URL")
	case u.Scheme != "https":
		return invalid(field, "must be an https URL (not %q)", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return invalid(field, "has no host")
	case u.User != nil:
		return invalid(field, "must not hold a user name or password")
	}
	return checkNoFormatChar(field, s)
}

// checkDate checks an optional date: "" or a real date YYYY-MM-DD.
func checkDate(field, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return invalid(field, "%q is not a date of the form YYYY-MM-DD", s)
	}
	return nil
}

// checkLine checks an optional one-line text of at most max bytes.
func checkLine(field, s string, max int) error {
	switch {
	case len(s) > max:
		return invalid(field, "longer than %d bytes", max)
	case !isText([]byte(s)) || strings.ContainsAny(s, "\r\n\t\f"):
		return invalid(field, "must be one line of UTF-8 text")
	}
	return checkNoFormatChar(field, s)
}

// sealStructured seals a letter's invoice and actions with its data key
// (field "structured"); nil when it has none.
func sealStructured(rand io.Reader, dk *crypto.DataKey, d structuredData) ([]byte, error) {
	if d.empty() {
		return nil, nil
	}
	return dk.SealField(rand, "structured", []byte(d.encode()))
}

// openStructured opens what sealStructured sealed.
func openStructured(dk *crypto.DataKey, rec *letterRecord) (structuredData, error) {
	var d structuredData
	if len(rec.Structured) == 0 {
		return d, nil
	}
	b, err := dk.OpenField("structured", rec.Structured)
	if err != nil {
		return d, fmt.Errorf("open letter %s structured data: %w", rec.ID, err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("letter %s structured data: %w", rec.ID, err)
	}
	return d, nil
}
