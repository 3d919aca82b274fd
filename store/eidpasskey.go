package store

import (
	"context"
	"errors"
	"fmt"

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
