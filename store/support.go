package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store/storage"
)

// SupportRequest is a resident's request for help, addressed to the
// operator (e-Boks' terms of use, section 5.1).
type SupportRequest = storage.SupportRequest

// SupportCategories are the kinds of help a resident may ask for.
var SupportCategories = []string{"sign-in", "letters", "notifications", "settings", "other"}

// ErrNationalIDInText: a support request's subject or description holds a
// national identity number. The request is deleted at once (nothing of it
// is stored) and not processed; a national identity number belongs in the
// dedicated field only. The error is a *NationalIDInTextError.
var ErrNationalIDInText = errors.New("a national identity number in the subject or description")

// NationalIDInTextError says which kinds of number were found ("cpr",
// "fødselsnummer", …), for the answer to the resident.
type NationalIDInTextError struct{ Kinds []string }

func (e *NationalIDInTextError) Error() string {
	return ErrNationalIDInText.Error() + " (" + strings.Join(e.Kinds, ", ") + ")"
}
func (e *NationalIDInTextError) Unwrap() error { return ErrNationalIDInText }

// Limits of a support request's texts, in bytes.
const (
	maxSupportSubject     = 200
	maxSupportDescription = 5000
	maxSupportAnswer      = 10000
)

// checkText checks free text: not empty, at most max bytes, valid UTF-8,
// no control or format characters except, where lines are allowed, line
// breaks and tabs.
func checkText(field, s string, max int, lines bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalid(field, "empty")
	case len(s) > max:
		return "", invalid(field, "%d bytes, at most %d", len(s), max)
	case !utf8.ValidString(s):
		return "", invalid(field, "not valid UTF-8")
	}
	if strings.IndexFunc(s, func(r rune) bool {
		if lines && (r == '\n' || r == '\t' || r == '\r') {
			return false
		}
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	}) >= 0 {
		return "", invalid(field, "holds control or format characters")
	}
	return s, nil
}

// SubmitSupportRequest files a request for help from the mailbox's owner.
// A national identity number the request is about goes in nationalID
// (or ""); one found in the subject or description makes the request
// refused and deleted at once (*NationalIDInTextError): nothing of it is
// stored, and the audit log says only that a request was refused.
func (m *Mailbox) SubmitSupportRequest(ctx context.Context, category, subject, description, nationalID string) (SupportRequest, error) {
	if !slices.Contains(SupportCategories, category) {
		return SupportRequest{}, invalid("category", "%q is none of %s", category, strings.Join(SupportCategories, ", "))
	}
	subject, err := checkText("subject", subject, maxSupportSubject, false)
	if err != nil {
		return SupportRequest{}, err
	}
	if description, err = checkText("description", description, maxSupportDescription, true); err != nil {
		return SupportRequest{}, err
	}
	var number string
	if strings.TrimSpace(nationalID) != "" {
		nid, err := ParseNationalID(nationalID)
		if err != nil {
			return SupportRequest{}, invalid("nationalId", "not a national identity number")
		}
		number = nid.Number
	}
	now := m.s.now()
	text := subject + "\n" + description
	found := FindNationalIDs(text)
	if len(found) == 0 {
		// The same text with the number written in other characters
		// (a pasted en dash, full-width digits, dots in the date).
		found = FindNationalIDs(NormaliseForIDScan(text))
	}
	if len(found) > 0 {
		var kinds []string
		for _, f := range found {
			if !slices.Contains(kinds, f.Kind) {
				kinds = append(kinds, f.Kind)
			}
		}
		err := m.s.update(ctx, func(tx storage.Tx) error {
			return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, "refuse-support-request", "resident:"+m.resident.ID)
		})
		if err != nil {
			return SupportRequest{}, err
		}
		return SupportRequest{}, &NationalIDInTextError{Kinds: kinds}
	}
	id, err := m.s.newID()
	if err != nil {
		return SupportRequest{}, err
	}
	req := SupportRequest{ID: id, ResidentID: m.resident.ID, Category: category, Subject: subject,
		Description: description, NationalID: number, Created: now}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		if err := tx.Support().Put(&req); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+m.resident.ID, "support-request", "support:"+id)
	})
	return req, err
}

// SupportRequests returns the mailbox owner's own requests, oldest first.
func (m *Mailbox) SupportRequests(ctx context.Context) ([]SupportRequest, error) {
	var out []SupportRequest
	err := m.s.view(ctx, func(tx storage.Tx) error {
		rs, err := tx.Support().OfResident(m.resident.ID)
		for _, r := range rs {
			out = append(out, *r)
		}
		return err
	})
	return out, err
}

// SupportRequests returns every request, oldest first, for the operator;
// with open, only those not answered yet.
func (s *Store) SupportRequests(ctx context.Context, open bool) ([]SupportRequest, error) {
	var out []SupportRequest
	err := s.view(ctx, func(tx storage.Tx) error {
		return tx.Support().All(func(r *SupportRequest) error {
			if !open || r.AnsweredAt.IsZero() {
				out = append(out, *r)
			}
			return nil
		})
	})
	return out, err
}

// SupportRequest returns one request, for the operator.
func (s *Store) SupportRequest(ctx context.Context, id string) (SupportRequest, error) {
	var out SupportRequest
	err := s.view(ctx, func(tx storage.Tx) error {
		r, err := tx.Support().Get(id)
		if err != nil {
			return fmt.Errorf("support request %s: %w", id, err)
		}
		out = *r
		return nil
	})
	return out, err
}

// SupportAnswerLetter is the wording of the letter that carries an
// answer, in the resident's language (the caller takes it from the
// message catalogue): its subject and the answer document's file name.
type SupportAnswerLetter struct {
	Subject  string
	FileName string
}

// SupportAnswerWording words the answer letter in a language ("" when
// the resident chose none): the operator's side takes it from the
// message catalogue.
type SupportAnswerWording func(language string) SupportAnswerLetter

// AnswerSupportRequest answers a request: the answer goes to the
// resident's mailbox as a letter from senderID (the municipality, a public
// sender), with the answer as its body and as a text document, and the
// request records it. Once-only: a request is answered once, and the
// letter's fixed senderReference ("support-<id>") makes an answer whose
// letter was delivered before a crash a repeat, not a second letter.
func (s *Store) AnswerSupportRequest(ctx context.Context, id, senderID, answer string, wording SupportAnswerWording) (SupportRequest, error) {
	answer, err := checkText("answer", answer, maxSupportAnswer, true)
	if err != nil {
		return SupportRequest{}, err
	}
	var req *SupportRequest
	var nid NationalID
	var letter SupportAnswerLetter
	err = s.view(ctx, func(tx storage.Tx) error {
		snd, err := activeSender(tx, senderID)
		if err != nil {
			return err
		}
		if snd.Kind != SenderPublic {
			return fmt.Errorf("answers come from the municipality as a public sender; sender %s is %s", snd.ID, snd.Kind)
		}
		if req, err = tx.Support().Get(id); err != nil {
			return fmt.Errorf("support request %s: %w", id, err)
		}
		res, err := getResident(tx, req.ResidentID)
		if err != nil {
			return err
		}
		nid = NationalID{Country: res.Country, Number: res.NationalID}
		prefs, err := tx.Preferences().Get(res.ID)
		if err != nil {
			return err
		}
		letter = wording(prefs.Language)
		return nil
	})
	if err != nil {
		return SupportRequest{}, err
	}
	if !req.AnsweredAt.IsZero() {
		return SupportRequest{}, fmt.Errorf("support request %s was answered on %s: %w", id, req.AnsweredAt.Format("2006-01-02"), ErrExists)
	}
	result, err := s.Deliver(ctx, senderID, Delivery{
		Recipient: nid, Subject: letter.Subject, Body: answer, SenderReference: "support-" + id, Type: TypeLetter,
		Documents:       []DocumentInput{{Name: letter.FileName, ContentType: "text/plain", Content: []byte(answer)}},
		answersResident: true,
	})
	if err != nil {
		return SupportRequest{}, fmt.Errorf("deliver the answer to support request %s: %w", id, err)
	}
	now := s.now()
	var out SupportRequest
	err = s.update(ctx, func(tx storage.Tx) error {
		cur, err := tx.Support().Get(id)
		if err != nil {
			return err
		}
		if !cur.AnsweredAt.IsZero() {
			out = *cur
			return nil
		}
		cur.Answer, cur.AnsweredAt, cur.AnswerLetterID = answer, now, result.Letter.ID
		if err := tx.Support().Put(cur); err != nil {
			return err
		}
		out = *cur
		return s.appendAudit(tx, now, operatorActor(ctx), "answer-support-request", "support:"+id)
	})
	return out, err
}

// deleteSupportOf deletes a resident's support requests (their account is
// being deleted).
func deleteSupportOf(tx storage.Tx, residentID string) error {
	rs, err := tx.Support().OfResident(residentID)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := tx.Support().Delete(r); err != nil {
			return err
		}
	}
	return nil
}
