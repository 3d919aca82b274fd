package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Signing on the grantor's behalf (signing.go, delegation.go). A delegate
// whose grant of access "act" covers a letter may sign or decline its
// signature request for the grantor. The delegate signs with their own
// signing key and certificate, confirmed with their own password: no
// private key of the grantor is used or shared. The answer records who
// answered on whose behalf (LetterSignature.SignedBy, OnBehalfOf), as do
// the sender's event and the audit entry ("delegate-sign",
// "delegate-decline-signature", with the grantor and the grant, so the
// grantor sees it among the delegates' activity). The signed result is
// sealed to the sender and, as for the grantor's own signature, to the
// grantor, who downloads it from their letter.

// target is a covered letter of the grantor, answerable through an "act"
// grant only (ErrDelegationReadOnly on a read grant).
func (dm *DelegatedMailbox) target(id string) *signTarget {
	return &signTarget{
		signable: func(tx storage.Tx, now time.Time) (*letterRecord, *crypto.DataKey, error) {
			d, rec, dk, err := dm.open(tx, id)
			if err != nil {
				return nil, nil, err
			}
			if d.Access != storage.AccessAct {
				dk.Zero()
				return nil, nil, ErrDelegationReadOnly
			}
			rec, dk, _, err = checkSignable(rec, dk, id, now, dm.m.s.loc)
			return rec, dk, err
		},
		document:     func(ctx context.Context) (Document, error) { return dm.Document(ctx, id, 0) },
		ownerID:      dm.grant.GrantorID,
		delegationID: dm.grant.ID,
		guardian:     dm.grant.Guardianship,
	}
}

// Sign signs a covered letter's main document for the grantor with the
// delegate's signing key, confirmed with the delegate's password. The
// errors of Mailbox.Sign, and ErrDelegationReadOnly on a read grant, a
// letter the grant does not cover ErrNotFound.
func (dm *DelegatedMailbox) Sign(ctx context.Context, id, password string) (LetterSignature, error) {
	m := dm.m
	if err := m.gate(); err != nil {
		return LetterSignature{}, err
	}
	if m.s.signing == nil {
		return LetterSignature{}, errors.New("sign: the store has no signing CA (opened read-only)")
	}
	t := dm.target(id)
	sig, err := m.sign(ctx, id, password, nil, t)
	if errors.Is(err, errKeyMadeMeanwhile) {
		sig, err = m.sign(ctx, id, password, nil, t)
	}
	return sig, err
}

// SignedFile opens the signed file of a covered letter that is signed
// (by the grantor or on their behalf), with the letter's data key: the
// signed PDF of a PDF, else the detached CMS. Any grant that covers the
// letter opens it; a letter not signed, or signed before the file was
// sealed with the letter, is ErrNotFound.
func (dm *DelegatedMailbox) SignedFile(ctx context.Context, letterID string) (crypto.ReplyAttachment, error) {
	var out crypto.ReplyAttachment
	err := dm.m.s.view(ctx, func(tx storage.Tx) error {
		_, rec, dk, err := dm.open(tx, letterID)
		if err != nil {
			return err
		}
		defer dk.Zero()
		sig := rec.Signature
		if sig == nil || sig.Status != SignatureSigned || sig.LetterSealed == nil || rec.Imported != nil {
			return fmt.Errorf("letter %s signature: %w", letterID, ErrNotFound)
		}
		content, err := dk.OpenField(signedFileLabel, sig.LetterSealed)
		if err != nil {
			return fmt.Errorf("open the signed file of letter %s: %w", letterID, err)
		}
		pdfName, cmsName := signatureFileNames(letterID)
		out = crypto.ReplyAttachment{Name: cmsName, ContentType: "application/pkcs7-signature", Content: content}
		if sig.SealedPDF {
			out.Name, out.ContentType = pdfName, "application/pdf"
		}
		return nil
	})
	return out, err
}

// DeclineSignature declines a covered letter's signature request for the
// grantor, with a reason for the sender. The errors of Sign but for the
// password.
func (dm *DelegatedMailbox) DeclineSignature(ctx context.Context, id, reason string) error {
	if err := dm.m.gate(); err != nil {
		return err
	}
	return dm.m.decline(ctx, dm.target(id), reason)
}
