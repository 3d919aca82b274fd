package store

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/postkasse/postkasse/store/storage"
)

// A signature is confirmed by the resident's password or by one of their
// passkeys (signing.go). A passkey confirmation is a WebAuthn assertion
// with user verification required (the authenticator checked the
// person: a PIN or biometrics), to a challenge of a ceremony for this
// letter and this session only (its binding), answered within
// PasskeyCeremonyLifetime and once: its use is recorded in the
// transaction that stores the signature.

// ceremonySign is the purpose of a passkey ceremony that confirms a
// signature.
const ceremonySign = "sign"

// SignConfirmation is the resident's intent to sign: their password, or a
// passkey's assertion (Passkey set, Password ignored).
type SignConfirmation struct {
	Password string
	Passkey  *PasskeyAssertion
}

// PasskeyAssertion is a browser's answer (Response) to the options of a
// ceremony (State) begun by BeginSignPasskey, at RP.
type PasskeyAssertion struct {
	RP              PasskeyRP
	State, Response string
}

// signBinding binds a signing ceremony to the letter and the session
// (by a digest: the state goes to the browser).
func (m *Mailbox) signBinding(letterID string) string {
	sum := sha256.Sum256([]byte("postkasse/v1/sign-session\x00" + m.sessionID))
	return fmt.Sprintf("%s/%x", letterID, sum[:16])
}

// BeginSignPasskey starts a passkey ceremony that confirms the signature
// of a letter of this mailbox: the options for any of the resident's
// passkeys, asking for user verification. ErrNotFound when the resident
// has no passkey; the letter's errors as Sign's (another resident's is
// ErrNotFound, one answered ErrSignatureAnswered, …).
func (m *Mailbox) BeginSignPasskey(ctx context.Context, rp PasskeyRP, letterID string) (PasskeyCeremony, error) {
	if err := m.gate(); err != nil {
		return PasskeyCeremony{}, err
	}
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	var user passkeyUser
	now := m.s.now()
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		_, dk, _, err := m.signable(tx, letterID, now)
		if err != nil {
			return err
		}
		dk.Zero()
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		if len(res.Passkeys) == 0 {
			return ErrNotFound
		}
		user = passkeyUser{res}
		return nil
	}); err != nil {
		return PasskeyCeremony{}, err
	}
	assertion, session, err := w.BeginLogin(user, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("passkey signature: %w", err)
	}
	return m.s.newCeremony(ctx, ceremonyState{Purpose: ceremonySign, Binding: m.signBinding(letterID), Session: *session},
		assertion.Response, nil)
}

// signPasskey is a checked passkey confirmation, before the write.
type signPasskey struct {
	w      *webauthn.WebAuthn
	st     *ceremonyState
	parsed *protocol.ParsedCredentialAssertionData
}

// openSignPasskey checks a passkey confirmation's ceremony (signed, for
// this letter and session, fresh, unused) and reads its assertion; the
// assertion itself is verified in the write (verifyAssertion). A stale
// or used ceremony is ErrSessionExpired; a response that does not read
// ErrPasskeyResponse.
func (m *Mailbox) openSignPasskey(ctx context.Context, letterID string, a *PasskeyAssertion) (*signPasskey, error) {
	st, err := m.s.openCeremony(ctx, a.State, ceremonySign, m.signBinding(letterID))
	if err != nil {
		return nil, err
	}
	if st.Session.UserVerification != protocol.VerificationRequired {
		return nil, ErrSessionExpired
	}
	parsed, err := parseAssertion(a.Response)
	if err != nil {
		return nil, err
	}
	w, err := a.RP.webauthn()
	if err != nil {
		return nil, err
	}
	return &signPasskey{w: w, st: st, parsed: parsed}, nil
}
