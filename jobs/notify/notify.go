// Package notify delivers the appliance's notifications to residents: e-mail
// over SMTP (RFC 5321) with STARTTLS (RFC 3207) or implicit TLS (RFC 8314)
// and SMTP AUTH (RFC 4954), through github.com/wneessen/go-mail, and SMS
// through an HTTP gateway configured by URL, method, an authentication
// header and a body template.
//
// It knows nothing of the store or of letters: it takes a Message (an
// address, a text and an idempotency key) and hands it over, and it says
// whether a failure is permanent (IsPermanent), so that the caller gives
// up at once, or temporary, so that it tries again later. Package jobs
// composes the messages, which never hold a letter's subject or content.
package notify

import "errors"

// Message is one notification to one address.
type Message struct {
	// ID is the notification's idempotency key. E-mail carries it in the
	// Message-ID, the SMS gateway in the Idempotency-Key header, so a
	// message handed over twice (a crash between sending and recording)
	// can be recognised as one.
	ID      string
	To      string // e-mail address, or E.164 phone number for SMS
	Subject string // e-mail only
	Text    string // plain text
}

// permanentError marks a failure that retrying will not mend: the mail
// server refused the recipient, the gateway refused the request.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying will not mend.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err (or an error it wraps) was marked
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
