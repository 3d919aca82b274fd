package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/crypto/signing"
	"github.com/postkasse/postkasse/store/storage"
)

// TestSignOnBehalf: a delegate with an "act" grant signs the grantor's
// signature request with the delegate's own key and certificate; the
// answer, the sender's event and the audit entry say who signed on whose
// behalf, and the grantor sees it among the delegates' activity and
// downloads the signed PDF. A read grant, a public-only grant on a
// private sender's letter and an ended grant sign and decline nothing.
func TestSignOnBehalf(t *testing.T) {
	t.Parallel()
	df := newDelegationFixture(t)
	ctx := df.ctx
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, snd := range []Sender{df.sender, df.bank} {
		pub := k.Public()
		if err := df.s.SetSenderReplyKey(ctx, snd.ID, pub[:], false); err != nil {
			t.Fatal(err)
		}
	}
	ask := func(from Sender, ref string) string {
		r, err := df.s.Deliver(ctx, from.ID, signatureDelivery(t, df.nid, ref))
		if err != nil {
			t.Fatal(err)
		}
		return r.Letter.ID
	}
	public, private, declined := ask(df.sender, "sign-public"), ask(df.bank, "sign-private"), ask(df.sender, "sign-declined")

	// A read grant of all post: refused.
	g := df.grant(t, storage.AccessRead, storage.ScopeAll, time.Time{})
	dm, err := df.boMailbox.Delegated(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := countKeys(t, df.s)
	if _, err := dm.Sign(ctx, public, testPassword); !errors.Is(err, ErrDelegationReadOnly) {
		t.Errorf("Sign on a read grant: %v", err)
	}
	if err := dm.DeclineSignature(ctx, public, "nej"); !errors.Is(err, ErrDelegationReadOnly) {
		t.Errorf("DeclineSignature on a read grant: %v", err)
	}
	if after := countKeys(t, df.s); !reflect.DeepEqual(before, after) {
		t.Errorf("a read grant stored something: %v, then %v", before, after)
	}
	if err := df.boMailbox.EndGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	// Ended: the mailbox opened before signs nothing.
	if _, err := dm.Sign(ctx, public, testPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("Sign on an ended grant: %v", err)
	}

	// An act grant of public post: not the private sender's letter.
	g = df.grant(t, storage.AccessAct, storage.ScopePublic, time.Time{})
	if dm, err = df.boMailbox.Delegated(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Sign(ctx, private, testPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("Sign of a letter the grant does not cover: %v", err)
	}
	if err := dm.DeclineSignature(ctx, private, "nej"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeclineSignature of a letter the grant does not cover: %v", err)
	}
	// The delegate's password, not the grantor's session, confirms.
	if _, err := dm.Sign(ctx, public, "wrong password"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Sign with a wrong password: %v", err)
	}

	sig, err := dm.Sign(ctx, public, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if sig.SignedBy != "Bo Berg" || sig.OnBehalfOf != "Anna Andersen" || sig.DelegateID != df.bo.ID || sig.DelegationID != g.ID {
		t.Errorf("the answer: by %q for %q", sig.SignedBy, sig.OnBehalfOf)
	}
	// Bo's own key and certificate: Bo's name, never Anna's key.
	v, err := signing.VerifyCMS(agreementPDF(t), sig.CMS, signingCA(t, df.s).Cert)
	if err != nil || v.Signer.Subject.CommonName != "Bo Berg" || v.Signer.Subject.SerialNumber != "PK-"+df.bo.ID {
		t.Errorf("signer %v, %v", v, err)
	}
	if rawResident(t, df.s, df.resident.ID).SigningKey != nil {
		t.Error("the grantor got a signing key")
	}
	// The sender opens it; the grantor downloads the signed PDF.
	got, resident, err := df.s.LetterSignature(ctx, df.sender.ID, public)
	if err != nil || resident != df.resident.ID {
		t.Fatal(err)
	}
	r, err := k.OpenReply(got.Sealed, crypto.ReplyBinding{ReplyID: crypto.SignatureReplyID(public), SenderID: df.sender.ID, ResidentID: resident})
	if err != nil || len(r.Attachments) != 2 {
		t.Fatalf("open the signature: %v", err)
	}
	mine, err := df.anna.SignedFile(ctx, public)
	if err != nil || mine.ContentType != "application/pdf" {
		t.Fatalf("the grantor's signed PDF: %v", err)
	}
	// The delegate downloads the same signed PDF with the letter's key.
	if f, err := dm.SignedFile(ctx, public); err != nil || f.ContentType != "application/pdf" || !bytes.Equal(f.Content, mine.Content) {
		t.Errorf("the delegate's signed PDF: %v", err)
	}
	if got.LetterSealed != nil {
		t.Error("the sender is given the letter's copy")
	}
	if _, err := dm.SignedFile(ctx, private); !errors.Is(err, ErrNotFound) {
		t.Errorf("the signed file of a letter the grant does not cover: %v", err)
	}
	evs, _, err := df.s.Events(ctx, df.sender.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	last := EventJSONOf(evs[len(evs)-1])
	if last.Type != EventSigned || last.SignedBy == nil || *last.SignedBy != (DeputyJSON{Name: "Bo Berg", Role: "delegate"}) {
		t.Errorf("the event %+v", last)
	}
	if err := dm.DeclineSignature(ctx, declined, "Anna er på hospitalet"); err != nil {
		t.Fatal(err)
	}
	actions := delegateActions(t, df.anna)
	if !reflect.DeepEqual(actions, []string{"delegate-sign", "delegate-decline-signature"}) {
		t.Errorf("the grantor's activity: %v", actions)
	}
	// Answered once, by anyone.
	if _, err := df.anna.Sign(ctx, public, SignConfirmation{Password: testPassword}); !errors.Is(err, ErrSignatureAnswered) {
		t.Errorf("the grantor signs after the delegate: %v", err)
	}
}
