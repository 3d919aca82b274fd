package store

import (
	"context"
	"net/mail"
	"strings"

	"github.com/postkasse/postkasse/store/storage"
)

// NotificationPreferences are how a resident wants to hear of new mail:
// by e-mail, by SMS, both or neither, and the addresses. An address may be
// kept while its channel is off.
type NotificationPreferences struct {
	Email   string // an e-mail address (RFC 5322 addr-spec), or empty
	EmailOn bool
	Phone   string // an international number in E.164 form ("+4512345678"), or empty
	SMSOn   bool
}

// Channels returns the channels that are on, e-mail first.
func (p NotificationPreferences) Channels() []Channel {
	var out []Channel
	if p.EmailOn && p.Email != "" {
		out = append(out, ChannelEmail)
	}
	if p.SMSOn && p.Phone != "" {
		out = append(out, ChannelSMS)
	}
	return out
}

// Languages are the languages of the appliance's pages, e-mails and
// SMS, as BCP 47 tags: English, Danish and Norwegian Bokmål.
var Languages = []string{"en", "da", "nb"}

// ValidLanguage reports whether lang is one of Languages.
func ValidLanguage(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// preferencesRecord is a resident's preferences as the engine stores
// them: how to be notified, and the language of pages and notifications
// ("" until the resident chooses one).
type preferencesRecord = storage.PreferencesRecord

func preferencesOf(r *preferencesRecord) NotificationPreferences {
	return NotificationPreferences{Email: r.Email, EmailOn: r.EmailOn, Phone: r.Phone, SMSOn: r.SMSOn}
}

// normalise checks the preferences and returns them as stored: the
// e-mail address without surrounding spaces, the phone number without
// spaces, dashes or parentheses, "00" as "+".
func (p NotificationPreferences) normalise() (NotificationPreferences, error) {
	p.Email = strings.TrimSpace(p.Email)
	if p.Email != "" {
		addr, err := mail.ParseAddress(p.Email)
		// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an
		// address at most 254.
		if err != nil || addr.Name != "" || addr.Address != p.Email || len(p.Email) > 254 || !strings.Contains(p.Email, "@") {
			return p, invalid("email", "%q is not an e-mail address", p.Email)
		}
	}
	phone := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -()./", r) {
			return -1
		}
		return r
	}, p.Phone)
	if rest, ok := strings.CutPrefix(phone, "00"); ok {
		phone = "+" + rest
	}
	if phone != "" && !validE164(phone) {
		return p, invalid("phone", "%q is not an international phone number (+ country code and number)", p.Phone)
	}
	p.Phone = phone
	if p.EmailOn && p.Email == "" {
		return p, invalid("email", "missing: notifications by e-mail need an address")
	}
	if p.SMSOn && p.Phone == "" {
		return p, invalid("phone", "missing: notifications by SMS need a phone number")
	}
	return p, nil
}

// validE164 reports whether s is "+" and a number of at most 15 digits
// that does not start with 0 (ITU-T E.164 §6), at least 8 in all so a
// typo of a local number is caught.
func validE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// NotificationPreferences returns the mailbox owner's preferences (none
// chosen: all off).
func (m *Mailbox) NotificationPreferences(ctx context.Context) (NotificationPreferences, error) {
	if err := m.gate(); err != nil {
		return NotificationPreferences{}, err
	}
	return m.s.NotificationPreferences(ctx, m.resident.ID)
}

// SetNotificationPreferences stores the mailbox owner's preferences and
// returns them as stored. Invalid addresses are an *InvalidError with the
// field "email" or "phone".
func (m *Mailbox) SetNotificationPreferences(ctx context.Context, p NotificationPreferences) (NotificationPreferences, error) {
	if err := m.gate(); err != nil {
		return NotificationPreferences{}, err
	}
	return m.s.setPreferences(ctx, m.resident.ID, p, "resident:"+m.resident.ID)
}

// NotificationPreferences returns a resident's preferences.
func (s *Store) NotificationPreferences(ctx context.Context, residentID string) (NotificationPreferences, error) {
	var out NotificationPreferences
	err := s.view(ctx, func(tx storage.Tx) error {
		if _, err := getResident(tx, residentID); err != nil {
			return err
		}
		rec, err := tx.Preferences().Get(residentID)
		if err != nil {
			return err
		}
		out = preferencesOf(rec)
		return nil
	})
	return out, err
}

// SetNotificationPreferences stores a resident's preferences on the
// operator's behalf (enrolment, the demo).
func (s *Store) SetNotificationPreferences(ctx context.Context, residentID string, p NotificationPreferences) (NotificationPreferences, error) {
	return s.setPreferences(ctx, residentID, p, operatorActor(ctx))
}

func (s *Store) setPreferences(ctx context.Context, residentID string, p NotificationPreferences, actor string) (NotificationPreferences, error) {
	p, err := p.normalise()
	if err != nil {
		return NotificationPreferences{}, err
	}
	now := s.now()
	err = s.update(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, residentID)
		if err != nil {
			return err
		}
		if res.Status == ResidentDeleted {
			return ErrNotFound
		}
		rec, err := tx.Preferences().Get(residentID)
		if err != nil {
			return err
		}
		rec.Email, rec.EmailOn, rec.Phone, rec.SMSOn = p.Email, p.EmailOn, p.Phone, p.SMSOn
		if err := tx.Preferences().Put(residentID, rec); err != nil {
			return err
		}
		return s.appendAudit(tx, now, actor, "set-notifications", "resident:"+residentID)
	})
	if err != nil {
		return NotificationPreferences{}, err
	}
	return p, nil
}

// Language returns the language the mailbox's owner chose for pages and
// notifications, "" when they have not chosen one.
func (m *Mailbox) Language() string { return m.language }

// SetLanguage stores the language the mailbox's owner chose (one of
// Languages) for pages and notifications. Another value is an
// *InvalidError for "lang".
func (m *Mailbox) SetLanguage(ctx context.Context, lang string) error {
	if !ValidLanguage(lang) {
		return invalid("lang", "%q is not one of %s", lang, strings.Join(Languages, ", "))
	}
	err := m.s.update(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if res.Status == ResidentDeleted {
			return ErrNotFound
		}
		rec, err := tx.Preferences().Get(m.resident.ID)
		if err != nil {
			return err
		}
		if rec.Language == lang {
			return nil
		}
		rec.Language = lang
		return tx.Preferences().Put(m.resident.ID, rec)
	})
	if err == nil {
		m.language = lang
	}
	return err
}
