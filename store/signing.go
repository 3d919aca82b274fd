package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/crypto/signing"
	"github.com/postkasse/postkasse/store/storage"
)

// Signing agreements (DESIGN.md, "Signing"; API.md, signatureRequest).
//
// A sender asks the resident to sign a letter's main document by a
// deadline. The request (deadline, description) is sealed with the
// letter like its invoice (field "structured"), so the operator does not
// read it. The resident signs while signed in, confirming with their
// password or a passkey (signing_passkey.go), or declines with a reason
// (or a delegate does, on their behalf: signing_delegated.go); either is
// final and is recorded
// on the letter (storage.Letter.Signature) with its sender event
// (EventSigned, EventSignatureDeclined) and an audit entry in one
// transaction.
//
// The resident's signing key is an ECDSA P-256 key made at their first
// signature. Its private key (PKCS #8) is sealed with a key derived from
// the resident's mailbox key (crypto.PrivateKey.DeriveDataKey, purpose
// "signing-key", owner the resident's id), label "signing-key": it opens
// exactly when the mailbox does (password, recovery key, passkey PRF,
// session) and no wrapping of it is left once the mailbox is deleted. Its
// certificate is the appliance's signing CA's (crypto/signing), naming
// the resident and a pseudonym ("PK-" and the resident's id), never the
// national identity number. The CA and the time-stamping key live in the
// database's meta record "signing-authority", made on the first start
// that lacks them.
//
// A signature request needs a sender with a reply key (like
// replyAllowed; an *InvalidError of the field "signatureRequest"): the
// signed result (the signed PDF of a PDF main document, and the detached
// CMS) is sealed to it at signing, in crypto's sealed reply format under
// the binding crypto.SignatureReplyID(letter id), with a second copy of
// its key sealed to the resident (storage.LetterSignature.Sealed,
// ResidentKey), so that neither the signed PDF nor the document is in
// clear at rest. The detached CMS (a digest and the resident's
// certificate) is also kept in clear. The sender fetches the sealed
// result (Store.LetterSignature) and opens it with its reply key's
// private key; the resident opens it with their mailbox key
// (Mailbox.SignedFile); a copy of the signed file is sealed with the
// letter's data key (LetterSealed), so that a delegate whose grant covers
// the letter downloads it too (DelegatedMailbox.SignedFile). Signatures
// made before this kept the signed PDF in clear (LetterSignature.PDF);
// they stay as they are. A letter asked
// for a signature before a reply key was needed, whose sender has none
// at signing, keeps only the CMS.

// SignatureRequest asks the resident to sign the letter's main document.
type SignatureRequest struct {
	// Deadline is the last day to sign, YYYY-MM-DD: the request can be
	// answered until the end of that day in the appliance's time zone
	// (Options.Location, jobs.time_zone).
	Deadline    string `json:"deadline"`
	Description string `json:"description"`
}

// LetterSignature is a resident's answer to a signature request.
type LetterSignature = storage.LetterSignature

// Answers to a signature request (LetterSignature.Status).
const (
	SignatureSigned   = "signed"
	SignatureDeclined = "declined"
)

// Limits of signing.
const (
	maxSignatureDescription = 500
	MaxDeclineReason        = 1000
)

const keySigningAuthority = "signing-authority"

// checkSignatureRequest checks a delivery's signature request: a real
// deadline not before today (now's date: now is in the appliance's time
// zone), a description of one paragraph, and a
// main document; a PDF main document must be one the signer can read
// (else the resident could not sign it).
func checkSignatureRequest(d *Delivery, now time.Time) error {
	r := d.SignatureRequest
	if r == nil {
		return nil
	}
	if r.Deadline == "" {
		return invalid("signatureRequest.deadline", "missing")
	}
	day, err := time.Parse(time.DateOnly, r.Deadline)
	if err != nil {
		return invalid("signatureRequest.deadline", "%q is not a date of the form YYYY-MM-DD", r.Deadline)
	}
	if today := now.Format(time.DateOnly); r.Deadline < today {
		return invalid("signatureRequest.deadline", "%s is in the past (today is %s)", day.Format(time.DateOnly), today)
	}
	if day.After(now.AddDate(2, 0, 0)) {
		return invalid("signatureRequest.deadline", "%s is more than two years ahead", r.Deadline)
	}
	if strings.TrimSpace(r.Description) == "" {
		return invalid("signatureRequest.description", "missing")
	}
	if len(r.Description) > maxSignatureDescription {
		return invalid("signatureRequest.description", "longer than %d bytes", maxSignatureDescription)
	}
	if !isText([]byte(r.Description)) {
		return invalid("signatureRequest.description", "must be UTF-8 text")
	}
	if err := checkNoFormatChar("signatureRequest.description", r.Description); err != nil {
		return err
	}
	if len(d.Documents) == 0 {
		return invalid("signatureRequest", "the letter has no document to sign: the first document is the one signed")
	}
	switch main := d.Documents[0]; main.ContentType {
	case "application/pdf":
		if err := signing.CheckPDF(main.Content); err != nil {
			return invalid("documents[0]", "a signature is requested, but the PDF cannot be signed: %v", err)
		}
	case "text/html":
		// HTML is kept sanitised (content.go): the resident would sign
		// other bytes than those sent, which the sender could not verify.
		return invalid("documents[0]", "a signature is requested of an HTML document, which is kept sanitised, not as sent: send the document to sign as PDF or plain text")
	}
	return nil
}

// checkImportedSignatureRequest checks the signature request of a letter
// in an export archive (untrusted): its shape only, as its deadline may
// have passed long ago and it cannot be answered here.
func checkImportedSignatureRequest(r *SignatureRequest) error {
	if r == nil {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, r.Deadline); err != nil {
		return invalid("signatureRequest.deadline", "%q is not a date of the form YYYY-MM-DD", r.Deadline)
	}
	if len(r.Description) > maxSignatureDescription || !isText([]byte(r.Description)) {
		return invalid("signatureRequest.description", "not UTF-8 text of at most %d bytes", maxSignatureDescription)
	}
	return checkNoFormatChar("signatureRequest.description", r.Description)
}

// expired reports whether a request's deadline day has ended at now in
// loc, the appliance's time zone.
func (r *SignatureRequest) expired(now time.Time, loc *time.Location) bool {
	return now.In(loc).Format(time.DateOnly) > r.Deadline
}

// SignatureDeadlineEnd is the moment a request's deadline day ends: the
// next midnight in the appliance's time zone, for the pages to show
// with the zone. False for a deadline that is no date.
func (s *Store) SignatureDeadlineEnd(deadline string) (time.Time, bool) {
	day, err := time.ParseInLocation(time.DateOnly, deadline, s.loc)
	if err != nil {
		return time.Time{}, false
	}
	return day.AddDate(0, 0, 1), true
}

// SignatureExpired reports whether a request's deadline day has ended
// now, in the appliance's time zone.
func (s *Store) SignatureExpired(r *SignatureRequest) bool { return r.expired(s.now(), s.loc) }

// checkSignatureKey refuses a letter with a signature request from a
// sender without a reply key, which the signed result is sealed to.
func checkSignatureKey(d *Delivery, sender *senderRecord) error {
	if d.SignatureRequest != nil && len(sender.ReplyKey) == 0 {
		return &InvalidError{Field: "signatureRequest", Reason: "the sender has no reply key, which the signed document is sealed to: register one first (PUT /api/v1/reply-key)", Err: ErrNoReplyKey}
	}
	return nil
}

// signingAuthority returns the appliance's signing CA, made and stored
// the first time when create is set (so an appliance from before signing
// gets one on its first start); ErrNotFound when there is none and
// create is not set.
func (s *Store) signingAuthority(ctx context.Context, create bool) (*signing.Authority, error) {
	var b []byte
	err := s.view(ctx, func(tx storage.Tx) error {
		var err error
		b, err = tx.Meta().Get(keySigningAuthority)
		return err
	})
	if err == nil {
		return signing.UnmarshalAuthority(b)
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if !create {
		return nil, fmt.Errorf("signing CA: %w", ErrNotFound)
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		if b, err = tx.Meta().Get(keySigningAuthority); err == nil {
			return nil
		}
		a, err := signing.NewAuthority(s.rand, "Postkasse signing CA", s.now())
		if err != nil {
			return err
		}
		if b, err = a.Marshal(); err != nil {
			return err
		}
		return tx.Meta().Put(keySigningAuthority, b)
	})
	if err != nil {
		return nil, err
	}
	return signing.UnmarshalAuthority(b)
}

// SigningCA returns the signing CA's certificate in PEM: what a verifier
// of residents' signatures trusts (`openssl cms -verify -CAfile`).
// Nil for a read-only store of a database that has none.
func (s *Store) SigningCA() []byte {
	if s.signing == nil {
		return nil
	}
	return s.signing.CertPEM()
}

// signable opens a letter of the mailbox with a signature request that
// can still be answered at now, and its resident's record.
func (m *Mailbox) signable(tx storage.Tx, id string, now time.Time) (*letterRecord, *crypto.DataKey, *SignatureRequest, error) {
	rec, dk, err := m.open(tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	return checkSignable(rec, dk, id, now, m.s.loc)
}

// checkSignable checks that an opened letter has a signature request
// that can still be answered at now; on an error it zeroes dk.
func checkSignable(rec *letterRecord, dk *crypto.DataKey, id string, now time.Time, loc *time.Location) (*letterRecord, *crypto.DataKey, *SignatureRequest, error) {
	st, err := openStructured(dk, rec)
	if err != nil {
		dk.Zero()
		return nil, nil, nil, err
	}
	switch {
	case st.SignatureRequest == nil || len(rec.Documents) == 0 || rec.Imported != nil || rec.Own != nil:
		// An imported letter's request was another appliance's to answer.
		err = fmt.Errorf("letter %s: %w", id, ErrNoSignatureRequest)
	case rec.Signature != nil:
		err = fmt.Errorf("letter %s: %w", id, ErrSignatureAnswered)
	case st.SignatureRequest.expired(now, loc):
		err = fmt.Errorf("letter %s: %w", id, ErrSignatureExpired)
	}
	if err != nil {
		dk.Zero()
		return nil, nil, nil, err
	}
	return rec, dk, st.SignatureRequest, nil
}

// Sign signs the main document of a letter of the mailbox that asks for
// a signature, confirmed by the resident's password or a passkey (their
// intent; signing_passkey.go). A wrong password, or a passkey assertion
// that does not verify, is ErrBadCredentials; a stale or used passkey
// ceremony ErrSessionExpired; an expired request ErrSignatureExpired;
// one answered ErrSignatureAnswered; a letter that asks none
// ErrNoSignatureRequest. On any error nothing is stored.
func (m *Mailbox) Sign(ctx context.Context, id string, c SignConfirmation) (LetterSignature, error) {
	if err := m.gate(); err != nil {
		return LetterSignature{}, err
	}
	if m.s.signing == nil {
		return LetterSignature{}, errors.New("sign: the store has no signing CA (opened read-only)")
	}
	var pk *signPasskey
	if c.Passkey != nil {
		var err error
		if pk, err = m.openSignPasskey(ctx, id, c.Passkey); err != nil {
			return LetterSignature{}, err
		}
	}
	t := m.ownTarget(id)
	sig, err := m.sign(ctx, id, c.Password, pk, t)
	if errors.Is(err, errKeyMadeMeanwhile) {
		// The first two signatures at once both made a key; the one that
		// lost signs again with the key that was kept.
		sig, err = m.sign(ctx, id, c.Password, pk, t)
	}
	return sig, err
}

// errKeyMadeMeanwhile: Sign made the resident's first signing key, but
// another signature stored one first.
var errKeyMadeMeanwhile = errors.New("signing key made meanwhile")

// signTarget is the letter a signer answers: their own (ownTarget), or
// a grantor's through a grant (DelegatedMailbox.target).
type signTarget struct {
	// signable opens the letter, checked as Mailbox.signable does, in tx.
	signable func(tx storage.Tx, now time.Time) (*letterRecord, *crypto.DataKey, error)
	// document opens its main document.
	document func(ctx context.Context) (Document, error)
	// ownerID is the letter's resident (the sealed result's second copy
	// goes to them); delegationID the grant it is answered through ("" for
	// the owner).
	ownerID, delegationID string
	// guardian: the grant is a guardianship (the event's role).
	guardian bool
}

// ownTarget is a letter of this mailbox.
func (m *Mailbox) ownTarget(id string) *signTarget {
	return &signTarget{
		signable: func(tx storage.Tx, now time.Time) (*letterRecord, *crypto.DataKey, error) {
			rec, dk, _, err := m.signable(tx, id, now)
			return rec, dk, err
		},
		document: func(ctx context.Context) (Document, error) { return m.Document(ctx, id, 0) },
		ownerID:  m.resident.ID,
	}
}

// answered records a signature request's answer on the letter, with the
// sender's event and the audit entry, in tx: by the owner, or by a
// delegate on the owner's behalf (then the answer, the event and the
// audit entry say so).
func (m *Mailbox) answered(tx storage.Tx, t *signTarget, rec *letterRecord, sig *LetterSignature, typ, action, detail string, now time.Time) error {
	e := &Event{SenderID: rec.SenderID, Type: typ, LetterID: rec.ID, SenderReference: rec.SenderReference, At: now}
	auditDetail := detail
	if t.delegationID != "" {
		owner, err := getResident(tx, t.ownerID)
		if err != nil {
			return err
		}
		sig.SignedBy, sig.OnBehalfOf, sig.DelegateID, sig.DelegationID = m.resident.Name, owner.Name, m.resident.ID, t.delegationID
		e.SignedBy = &storage.Deputy{Name: m.resident.Name, Role: deputyRole(t.guardian)}
		action = "delegate-" + action
		auditDetail = strings.TrimSpace(fmt.Sprintf("grantor:%s delegation:%s %s", t.ownerID, t.delegationID, detail))
	}
	rec.Signature = sig
	if err := tx.Letters().Put(rec); err != nil {
		return err
	}
	if rec.Imported == nil && rec.Own == nil {
		if err := tx.Events().Append(e); err != nil {
			return err
		}
		if err := queueCallback(tx, e); err != nil {
			return err
		}
	}
	return m.s.appendAuditDetail(tx, now, "resident:"+m.resident.ID, action, "letter:"+rec.ID, auditDetail)
}

func (m *Mailbox) sign(ctx context.Context, id, password string, pk *signPasskey, t *signTarget) (LetterSignature, error) {
	now := m.s.now()
	var checked, sealedKey, certDER, senderKey []byte
	var isPDF bool
	var senderID string
	var owner *residentRecord
	err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, dk, err := t.signable(tx, now)
		if err != nil {
			return err
		}
		dk.Zero()
		isPDF = rec.Documents[0].ContentType == "application/pdf"
		senderID = rec.SenderID
		if snd, err := getSender(tx, rec.SenderID); err != nil {
			return err
		} else {
			senderKey = bytes.Clone(snd.ReplyKey)
		}
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if owner, err = getResident(tx, t.ownerID); err != nil {
			return err
		}
		checked = bytes.Clone(res.PasswordWrap)
		if k := res.SigningKey; k != nil {
			sealedKey, certDER = bytes.Clone(k.Sealed), bytes.Clone(k.Certificate)
		}
		return nil
	})
	if err != nil {
		return LetterSignature{}, err
	}
	// The password check (Argon2id) runs outside any transaction, as in
	// DeleteMailbox; the write below re-checks the wrapping. A passkey's
	// assertion is verified in the write.
	if pk == nil {
		if len(password) > 1024 || len(checked) == 0 {
			return LetterSignature{}, ErrBadCredentials
		}
		priv, err := crypto.UnwrapWithPassword(checked, []byte(password))
		if err != nil {
			return LetterSignature{}, ErrBadCredentials
		}
		priv.Zero()
	}
	doc, err := t.document(ctx)
	if err != nil {
		return LetterSignature{}, err
	}
	wrapKey, err := m.key.DeriveDataKey("signing-key", m.resident.ID)
	if err != nil {
		return LetterSignature{}, err
	}
	defer wrapKey.Zero()
	var keyDER []byte
	newKey := sealedKey == nil
	if newKey {
		if keyDER, err = signing.NewKey(m.s.rand); err != nil {
			return LetterSignature{}, err
		}
		if certDER, err = m.s.signing.Certify(m.s.rand, keyDER, m.resident.Name, "PK-"+m.resident.ID, now); err != nil {
			return LetterSignature{}, err
		}
		if sealedKey, err = wrapKey.SealField(m.s.rand, "signing-key", keyDER); err != nil {
			return LetterSignature{}, err
		}
	} else if keyDER, err = wrapKey.OpenField("signing-key", sealedKey); err != nil {
		return LetterSignature{}, fmt.Errorf("open signing key: %w", err)
	}
	defer clear(keyDER)
	sig, err := m.s.signing.Sign(doc.Content, isPDF, keyDER, certDER, now)
	if errors.Is(err, signing.ErrBadPDF) {
		return LetterSignature{}, invalid("documents[0]", "the PDF cannot be signed: %v", err)
	} else if err != nil {
		return LetterSignature{}, err
	}
	out := LetterSignature{Status: SignatureSigned, At: now, CMS: sig.CMS}
	if len(senderKey) != 0 {
		if out.Sealed, out.ResidentKey, err = m.s.sealSignature(id, senderID, senderKey, owner, sig); err != nil {
			return LetterSignature{}, err
		}
		out.SealedPDF = sig.PDF != nil
	}
	defer clear(sig.PDF)
	// The signed file (the signed PDF, or the CMS) is also sealed with
	// the letter's data key, in the write, so that whoever opens the
	// letter (the resident, a delegate of a grant that covers it) can
	// download it (SignedFile, DelegatedMailbox.SignedFile).
	signedFile := sig.CMS
	if sig.PDF != nil {
		signedFile = sig.PDF
	}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		// Re-check what was read: still signable, the same password, the
		// same sender key and resident keys sealed to.
		rec, dk, err := t.signable(tx, now)
		if err != nil {
			return err
		}
		if out.Sealed != nil {
			out.LetterSealed, err = dk.SealField(m.s.rand, signedFileLabel, signedFile)
		}
		dk.Zero()
		if err != nil {
			return err
		}
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		cur := res
		if t.ownerID != m.resident.ID {
			if cur, err = getResident(tx, t.ownerID); err != nil {
				return err
			}
		}
		if pk != nil {
			if _, err := m.s.verifyAssertion(pk.w, res, pk.st, pk.parsed, now, false); err != nil {
				return err
			}
			if err := m.s.useCeremony(ctx, tx, pk.st); err != nil {
				return err
			}
		} else if !bytes.Equal(res.PasswordWrap, checked) {
			return ErrBadCredentials
		}
		if !bytes.Equal(cur.PublicKey, owner.PublicKey) || !bytes.Equal(cur.MLKEMPublicKey, owner.MLKEMPublicKey) {
			return ErrSessionExpired
		}
		if snd, err := getSender(tx, rec.SenderID); err != nil {
			return err
		} else if !bytes.Equal(snd.ReplyKey, senderKey) {
			return fmt.Errorf("the sender's reply key changed meanwhile: %w", ErrSessionExpired)
		}
		if newKey {
			if res.SigningKey != nil {
				return errKeyMadeMeanwhile
			}
			res.SigningKey = &storage.SigningKey{Sealed: sealedKey, Certificate: certDER}
		}
		if newKey || pk != nil { // a new key, or the passkey's counter and last use
			if err := tx.Residents().Put(res); err != nil {
				return err
			}
		}
		how := "password"
		if pk != nil {
			how = "passkey"
		}
		stored := out
		if err := m.answered(tx, t, rec, &stored, EventSigned, "sign", "confirmed with "+how, now); err != nil {
			return err
		}
		out = stored
		return nil
	})
	if err != nil {
		return LetterSignature{}, err
	}
	return out, nil
}

// signedFileLabel is the label of the signed file sealed with the
// letter's data key (LetterSignature.LetterSealed).
const signedFileLabel = "signed-file"

// signatureFileNames are the names of the signed files in a sealed
// signature: the signed PDF and the detached CMS.
func signatureFileNames(letterID string) (pdf, cms string) {
	return letterID + ".pdf", letterID + ".p7s"
}

// sealSignature seals a signature's files (crypto/reply.go) to the
// sender's reply key and to the resident.
func (s *Store) sealSignature(letterID, senderID string, senderKey []byte, owner *residentRecord, sig *signing.Signature) (sealed, residentKey []byte, err error) {
	pub, err := crypto.ParseReplyPublicKey(senderKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sender %s reply key: %w", senderID, err)
	}
	to, err := recipientKeys(owner)
	if err != nil {
		return nil, nil, err
	}
	pdfName, cmsName := signatureFileNames(letterID)
	var r crypto.Reply
	if sig.PDF != nil {
		r.Attachments = append(r.Attachments, crypto.ReplyAttachment{Name: pdfName, ContentType: "application/pdf", Content: sig.PDF})
	}
	r.Attachments = append(r.Attachments, crypto.ReplyAttachment{Name: cmsName, ContentType: "application/pkcs7-signature", Content: sig.CMS})
	sr, err := crypto.SealReply(s.rand, r, pub, to, signatureBinding(letterID, senderID, owner.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("seal signature: %w", err)
	}
	return sr.ForSender, sr.ResidentKey, nil
}

// signatureBinding is what a letter's sealed signature is bound to.
func signatureBinding(letterID, senderID, residentID string) crypto.ReplyBinding {
	return crypto.ReplyBinding{ReplyID: crypto.SignatureReplyID(letterID), SenderID: senderID, ResidentID: residentID}
}

// SignedFile opens the resident's signature of a letter of this mailbox:
// the signed PDF of a PDF main document, else the detached CMS, named as
// in the sealed signature. A letter not signed (or another's) is
// ErrNotFound.
func (m *Mailbox) SignedFile(ctx context.Context, letterID string) (crypto.ReplyAttachment, error) {
	if err := m.gate(); err != nil {
		return crypto.ReplyAttachment{}, err
	}
	var out crypto.ReplyAttachment
	err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, err := m.own(tx, letterID)
		if err != nil {
			return err
		}
		sig := rec.Signature
		if sig == nil || sig.Status != SignatureSigned || rec.Imported != nil || rec.Own != nil {
			return fmt.Errorf("letter %s signature: %w", letterID, ErrNotFound)
		}
		pdfName, cmsName := signatureFileNames(letterID)
		switch {
		case sig.Sealed != nil:
			r, err := m.key.OpenReplyWithKey(sig.Sealed, sig.ResidentKey, signatureBinding(letterID, rec.SenderID, m.resident.ID))
			if err != nil {
				return fmt.Errorf("open signature of letter %s: %w", letterID, err)
			}
			out = r.Attachments[0] // the signed PDF if any, else the CMS
		case sig.PDF != nil: // signed before the result was sealed
			out = crypto.ReplyAttachment{Name: pdfName, ContentType: "application/pdf", Content: bytes.Clone(sig.PDF)}
		default:
			out = crypto.ReplyAttachment{Name: cmsName, ContentType: "application/pkcs7-signature", Content: bytes.Clone(sig.CMS)}
		}
		return nil
	})
	return out, err
}

// DeclineSignature declines a letter's signature request with a reason
// for the sender (one to MaxDeclineReason bytes of text). The same
// errors as Sign but for the password.
func (m *Mailbox) DeclineSignature(ctx context.Context, id, reason string) error {
	if err := m.gate(); err != nil {
		return err
	}
	return m.decline(ctx, m.ownTarget(id), reason)
}

func (m *Mailbox) decline(ctx context.Context, t *signTarget, reason string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return invalid("reason", "missing")
	case len(reason) > MaxDeclineReason:
		return invalid("reason", "longer than %d bytes", MaxDeclineReason)
	case !isText([]byte(reason)):
		return invalid("reason", "must be UTF-8 text")
	}
	if err := checkNoFormatChar("reason", reason); err != nil {
		return err
	}
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		rec, dk, err := t.signable(tx, now)
		if err != nil {
			return err
		}
		dk.Zero()
		return m.answered(tx, t, rec, &LetterSignature{Status: SignatureDeclined, At: now, Reason: reason}, EventSignatureDeclined, "decline-signature", "", now)
	})
}

// LetterSignature returns the resident's answer to the signature request
// of a letter the sender sent: ErrNotFound for another sender's letter
// (or none), ErrNoSignatureRequest while there is no answer. A signature
// holds the CMS and, sealed to the sender, the signed files (Sealed, with
// the ids of its binding: crypto.SignatureReplyID, the sender, Resident);
// ResidentKey is left out.
func (s *Store) LetterSignature(ctx context.Context, senderID, letterID string) (out LetterSignature, resident string, err error) {
	err = s.view(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(letterID)
		if err != nil {
			return err
		}
		if rec.SenderID != senderID || rec.Imported != nil || rec.Own != nil {
			return fmt.Errorf("letter %s: %w", letterID, ErrNotFound)
		}
		if rec.Signature == nil {
			return fmt.Errorf("letter %s: %w", letterID, ErrNoSignatureRequest)
		}
		out = *rec.Signature
		out.ResidentKey, out.LetterSealed = nil, nil
		resident = rec.ResidentID
		return nil
	})
	return out, resident, err
}
