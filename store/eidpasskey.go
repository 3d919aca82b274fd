package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Making a mailbox with eID and a passkey instead of a password (issue
// 11, "they choose a password or a passkey there"): the passkey must
// have the WebAuthn PRF extension, since it is then all that unlocks the
// mailbox. The key pair is wrapped by a key derived from the passkey's
// PRF output (crypto's PRF wrapping, as for a passkey added in the
// settings: passkeys.go) and by a new recovery key, and by no password.
// A passkey whose authenticator gives no PRF output makes no mailbox
// (ErrPasskeyNoUnlock): the page offers the password instead.
//
// Such a resident signs in with the passkey alone (PasskeySignIn). What
// asks for the password (changing it, a new recovery key, two-step
// settings, a sign-in with the password) finds none and refuses as for a
// wrong one; the recovery key sets a password, signed in
// (Mailbox.ChoosePassword, shown by Resident.HasPassword) or not
// (Recover).

// ceremonyEIDCreate is the purpose of the registration of the passkey
// that makes a mailbox with eID; its binding is the proof's key.
const ceremonyEIDCreate = "eid-create"

// BeginEIDPasskey starts the registration of the passkey that is to make
// and unlock the mailbox of the resident the proof (token) vouches for
// (ActivateWithEIDPasskey). The passkey's user handle is the mailbox's
// id: the pending record's, or a new one. A used or expired proof is
// ErrEIDExpired; a number whose mailbox exists, or was deleted, is
// ErrExists; an appliance reached at an IP address
// ErrPasskeysUnavailable.
func (s *Store) BeginEIDPasskey(ctx context.Context, rp PasskeyRP, token string) (PasskeyCeremony, error) {
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	key, rec, err := s.proofNumber(ctx, token, EIDSignIn)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	id, err := s.newID()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	cur, err := s.residentByNumber(ctx, rec.Number)
	switch {
	case err == nil && cur.Status != ResidentPending:
		return PasskeyCeremony{}, fmt.Errorf("resident %s: %w", cur.ID, ErrExists)
	case err == nil:
		id = cur.ID
	case !errors.Is(err, ErrNotFound):
		return PasskeyCeremony{}, err
	}
	creation, assertion, session, unlock, err := beginRegistration(w, passkeyUser{&residentRecord{ID: id, Name: rec.Name}})
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return s.newCeremony(ctx, ceremonyState{Purpose: ceremonyEIDCreate, Binding: key, Session: *session, Unlock: unlock},
		creation, assertion)
}

// ActivateWithEIDPasskey makes the mailbox of the resident the proof
// (token) vouches for, as ActivateWithEID does, but unlocked by the
// passkey the browser just made (creation and unlock answer the options
// of BeginEIDPasskey, state) instead of a password: the new key pair is
// wrapped by the passkey's PRF output and by a new recovery key, the
// passkey (named name) is the mailbox's first, and a session starts (its
// NewRecoveryKey is the recovery key, to show once). A passkey that gave
// no PRF output is ErrPasskeyNoUnlock and makes nothing (the resident
// chooses a password instead); a registration that does not verify is
// ErrBadCredentials; one that does not read ErrPasskeyResponse; a stale
// or used ceremony ErrSessionExpired; a bad name an *InvalidError; a used
// or expired proof ErrEIDExpired; a number whose mailbox exists ErrExists.
// The proof and the ceremony are used in the transaction. Audited as
// "activate-eid-passkey".
func (s *Store) ActivateWithEIDPasskey(ctx context.Context, rp PasskeyRP, token, state, name, creation, unlock string) (Session, error) {
	name, err := checkPasskeyName(name)
	if err != nil {
		return Session{}, err
	}
	key, rec, err := s.proofNumber(ctx, token, EIDSignIn)
	if err != nil {
		return Session{}, err
	}
	st, err := s.openCeremony(ctx, state, ceremonyEIDCreate, key)
	if err != nil {
		return Session{}, err
	}
	parsed, unlockParsed, err := parseRegistration(creation, unlock)
	if err != nil {
		return Session{}, err
	}
	w, err := rp.webauthn()
	if err != nil {
		return Session{}, err
	}
	id := string(st.Session.UserID)
	pk, out, err := s.registeredPasskey(w, &residentRecord{ID: id, Name: rec.Name}, st, parsed, unlockParsed, name, s.now())
	if err != nil {
		return Session{}, err
	}
	if out == nil {
		return Session{}, ErrPasskeyNoUnlock
	}
	defer clear(out)
	keys, err := s.newKeysWithoutPassword()
	if err != nil {
		return Session{}, err
	}
	defer keys.zero()
	if pk.PRFWrap, err = crypto.WrapWithPRF(s.rand, keys.priv, out, pk.ID); err != nil {
		return Session{}, err
	}
	return s.activateWithEID(ctx, key, rec, keys, id, "activate-eid-passkey", func(tx storage.Tx, cur *residentRecord) error {
		if err := s.useCeremony(ctx, tx, st); err != nil {
			return err
		}
		cur.Passkeys = []storage.Passkey{pk}
		return nil
	})
}

// ceremonyEIDSignIn is the purpose of the assertion that unlocks the
// mailbox after a sign-in with eID; its binding is the proof's key.
const ceremonyEIDSignIn = "eid-sign-in"

// BeginEIDPasskeySignIn starts the step after eID that unlocks the
// mailbox with a passkey instead of the password (EIDPasskeySignIn): an
// assertion, with user verification and the PRF, limited to the passkeys
// of the resident the proof (token) vouches for. A used or expired proof
// is ErrEIDExpired; a number with no mailbox that may sign in
// ErrNoMailbox; a mailbox with no passkey that unlocks it
// ErrPasskeyNoUnlock (the password is the way); an appliance reached at
// an IP address ErrPasskeysUnavailable.
func (s *Store) BeginEIDPasskeySignIn(ctx context.Context, rp PasskeyRP, token string) (PasskeyCeremony, error) {
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	key, rec, err := s.eidResident(ctx, token)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return s.beginUnlock(ctx, w, rec, ceremonyEIDSignIn, key)
}

// beginUnlock starts an assertion, with user verification and the PRF,
// limited to rec's passkeys, for a ceremony of purpose bound to binding;
// a resident with no passkey that unlocks the mailbox is
// ErrPasskeyNoUnlock.
func (s *Store) beginUnlock(ctx context.Context, w *webauthn.WebAuthn, rec *residentRecord, purpose, binding string) (PasskeyCeremony, error) {
	unlocks := false
	for _, p := range rec.Passkeys {
		unlocks = unlocks || p.PRFWrap != nil
	}
	if !unlocks {
		return PasskeyCeremony{}, ErrPasskeyNoUnlock
	}
	assertion, session, err := w.BeginLogin(passkeyUser{rec}, webauthn.WithUserVerification(protocol.VerificationRequired),
		webauthn.WithAssertionExtensions(prfExtension()))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("passkey assertion: %w", err)
	}
	return s.newCeremony(ctx, ceremonyState{Purpose: purpose, Binding: binding, Session: *session}, assertion.Response, nil)
}

// ceremonyChoosePassword is the purpose of the assertion with which a
// resident without a password confirms the one they choose; its binding
// is the resident's id.
const ceremonyChoosePassword = "choose-password"

// BeginChoosePassword starts the assertion with which the owner of a
// mailbox without a password confirms the one they choose
// (ChoosePasswordWithPasskey): one of their passkeys that unlocks the
// mailbox. A mailbox with no such passkey is ErrPasskeyNoUnlock (the
// recovery key is the way: ChoosePassword); one with a password
// ErrBadCredentials; an appliance reached at an IP address
// ErrPasskeysUnavailable.
func (m *Mailbox) BeginChoosePassword(ctx context.Context, rp PasskeyRP) (PasskeyCeremony, error) {
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	rec, err := m.withoutPassword(ctx)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return m.s.beginUnlock(ctx, w, rec, ceremonyChoosePassword, rec.ID)
}

// withoutPassword reads the owner's record, which must have no password
// (ErrBadCredentials).
func (m *Mailbox) withoutPassword(ctx context.Context) (rec *residentRecord, err error) {
	err = m.s.view(ctx, func(tx storage.Tx) error {
		rec, err = getResident(tx, m.resident.ID)
		if err == nil && len(rec.PasswordWrap) > 0 {
			err = ErrBadCredentials
		}
		return err
	})
	return rec, err
}

// ChoosePasswordWithPasskey is ChoosePassword confirmed with one of the
// owner's passkeys instead of the recovery key: response answers
// BeginChoosePassword's options (state), and its PRF output opens the
// passkey's wrapping of the key pair, which the new password (next) then
// wraps too. Another resident's passkey, or one that does not verify, is
// ErrBadCredentials; a passkey without the PRF wrapping or output
// ErrPasskeyNoUnlock; a stale or used ceremony, or one of another
// resident, ErrSessionExpired; a response that does not read
// ErrPasskeyResponse; a password the rules refuse an *InvalidError.
// Nothing is stored on any error. Audited as "choose-password".
func (m *Mailbox) ChoosePasswordWithPasskey(ctx context.Context, rp PasskeyRP, state, response, next string, keepOtherSessions bool) error {
	if err := CheckPassword(next, m.resident.Name, m.resident.NationalID.Number); err != nil {
		return err
	}
	st, err := m.s.openCeremony(ctx, state, ceremonyChoosePassword, m.resident.ID)
	if err != nil {
		return err
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return err
	}
	w, err := rp.webauthn()
	if err != nil {
		return err
	}
	rec, err := m.withoutPassword(ctx)
	if err != nil {
		return err
	}
	i, err := m.s.verifyAssertion(w, rec, st, parsed, m.s.now(), false)
	if err != nil {
		return err
	}
	pk := rec.Passkeys[i]
	priv, err := m.s.openPRFWrap(rec, pk, parsed)
	if err != nil {
		return err
	}
	defer priv.Zero()
	return m.choosePassword(ctx, priv, next, keepOtherSessions, func(tx storage.Tx, res *residentRecord) error {
		// The passkey, with the wrapping that was opened, must still be
		// the account's, and not used since with a higher count.
		j := findPasskey(res, pk.ID)
		if j < 0 || !bytes.Equal(res.Passkeys[j].PRFWrap, pk.PRFWrap) || res.Passkeys[j].SignCount > pk.SignCount {
			return ErrBadCredentials
		}
		res.Passkeys[j] = pk
		return m.s.useCeremony(ctx, tx, st)
	})
}

// EIDPasskeySignIn signs in the resident the proof (token) vouches for
// with one of their own passkeys instead of the password (response
// answers BeginEIDPasskeySignIn's options, state): eID proves who the
// resident is, the passkey's PRF output opens the mailbox, as
// PasskeySignIn's does. Another resident's passkey, or one that does not
// verify, is ErrBadCredentials and leaves the proof, as a wrong password
// does after eID; a passkey without the PRF wrapping or output
// ErrPasskeyNoUnlock; a used or expired proof ErrEIDExpired; a stale or
// used ceremony, or one of another proof, ErrSessionExpired; a response
// that does not read ErrPasskeyResponse; a number with no mailbox that
// may sign in ErrNoMailbox. The proof is used in the transaction that
// starts the session. Audited as "login-eid-passkey".
func (s *Store) EIDPasskeySignIn(ctx context.Context, rp PasskeyRP, token, state, response string) (Session, error) {
	key, rec, err := s.eidResident(ctx, token)
	if err != nil {
		return Session{}, err
	}
	st, err := s.openCeremony(ctx, state, ceremonyEIDSignIn, key)
	if err != nil {
		return Session{}, err
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return Session{}, err
	}
	w, err := rp.webauthn()
	if err != nil {
		return Session{}, err
	}
	return s.unlockWithPasskey(ctx, w, st, parsed, rec, false, "login-eid-passkey", func(tx storage.Tx, now time.Time) error {
		proof, err := useEIDProof(tx, key, now, EIDSignIn)
		if err != nil {
			return err
		}
		if proof.Number != rec.NationalID {
			return ErrEIDExpired
		}
		return nil
	})
}

// eidResident reads a live sign-in proof (token) and the record of the
// mailbox of the number it vouches for: ErrNoMailbox when there is none
// that may sign in.
func (s *Store) eidResident(ctx context.Context, token string) (string, *residentRecord, error) {
	key, proof, err := s.proofNumber(ctx, token, EIDSignIn)
	if err != nil {
		return "", nil, err
	}
	rec, err := s.residentByNumber(ctx, proof.Number)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", nil, ErrNoMailbox
	case err != nil:
		return "", nil, err
	case rec.Status != ResidentActive && rec.Status != ResidentReserved:
		return "", nil, ErrNoMailbox
	}
	return key, rec, nil
}
