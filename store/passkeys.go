package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Passkeys (WebAuthn Level 3, verified by github.com/go-webauthn/webauthn).
// A resident registers passkeys from the settings, names them and removes
// them. A resident with a passkey signs in with the password and then one
// of their passkeys, as with a TOTP code (secondstep.go). A passkey whose
// authenticator has the PRF extension also unlocks the mailbox alone: at
// registration the browser asks the authenticator for the passkey's PRF
// at crypto.PRFInput, the server wraps the private key with a key that
// crypto.WrapWithPRF derives from that output and forgets the output; at a
// sign-in with the passkey alone the browser asks for the same output, the
// server opens the wrapping with it, and forgets it again. The server
// stores the wrapping (with its salt) and nothing that opens it: the PRF
// output exists only in the authenticator, and for the length of one
// ceremony in the browser and the server's memory, as a password does.
//
// A ceremony's state (its challenge and what the response must match) is
// not stored: it goes to the browser with the options, as a token that the
// appliance signs (HMAC-SHA-256 under the limits' secret, with a label of
// its own) and that names what it is for (registration for one resident,
// the second step of one sign-in, or a sign-in with a passkey alone) and
// when it expires. Its use is recorded among the limits until then, in the
// transaction that acts on it, so a response is accepted once.
//
// The user handle of a resident's passkeys is the resident's id, which
// tells nothing about the person; the name the authenticator shows is the
// resident's name.
//
// Every passkey is a second factor, so a resident who has one signs in
// with the password in two steps; the key pair gains no ML-KEM half while
// the resident has one (as with TOTP), so the PRF wrappings always hold
// the key pair as it is. Recovering the account with the recovery key
// removes the passkeys (the lost device may be the passkey).

// Limits of passkeys.
const (
	// MaxPasskeys is how many passkeys a resident may have.
	MaxPasskeys = 10
	// MaxPasskeyName is the longest name of a passkey, in characters.
	MaxPasskeyName = 60
	// PasskeyCeremonyLifetime is how long a ceremony's options may be
	// answered.
	PasskeyCeremonyLifetime = 5 * time.Minute
	// maxPasskeyResponse bounds a browser's response, in bytes.
	maxPasskeyResponse = 64 << 10

	passkeyStateLabel = "postkasse/v1/passkey-ceremony\x00"
	passkeyUsedPrefix = "passkey-ceremony-used:"

	ceremonyRegister   = "register"
	ceremonySecondStep = "second-step"
	ceremonySignIn     = "sign-in"
)

// Errors of passkeys.
var (
	// ErrPasskeyResponse: the browser's response is not a WebAuthn
	// response this ceremony can read (malformed, or of another ceremony).
	ErrPasskeyResponse = errors.New("not a readable passkey response")
	// ErrPasskeyNoUnlock: the passkey signs in only after the password
	// (its authenticator gave no PRF output at registration, or none now).
	ErrPasskeyNoUnlock = errors.New("this passkey does not unlock the mailbox alone")
	// ErrPasskeysUnavailable: the appliance was reached at an address
	// that cannot be a WebAuthn relying party (an IP address: WebAuthn
	// §5.1.4 wants a domain), so no passkey ceremony can run there.
	ErrPasskeysUnavailable = errors.New("passkeys need the appliance's host name, not an address")
	// ErrTooManyPasskeys: the resident has MaxPasskeys already.
	ErrTooManyPasskeys = errors.New("too many passkeys")
)

// PasskeyRP is the relying party of the ceremonies: the appliance's host
// name (the RP ID, WebAuthn §5.1.4) and the origin its pages are served
// from (scheme, host and port), as the resident's browser sees them.
type PasskeyRP struct {
	ID     string
	Origin string
}

func (rp PasskeyRP) webauthn() (*webauthn.WebAuthn, error) {
	if net.ParseIP(strings.Trim(rp.ID, "[]")) != nil || rp.ID == "" {
		return nil, ErrPasskeysUnavailable
	}
	w, err := webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: "Postkasse", RPOrigins: []string{rp.Origin}})
	if err != nil {
		return nil, fmt.Errorf("passkeys: relying party %q at %q: %w", rp.ID, rp.Origin, err)
	}
	return w, nil
}

// PasskeyCeremony is what a page gives the browser for one ceremony.
type PasskeyCeremony struct {
	// Options are the publicKey options in JSON, as
	// PublicKeyCredential.parseCreationOptionsFromJSON (registration) or
	// parseRequestOptionsFromJSON (sign-in) read them.
	Options string
	// Unlock, at registration, are request options for an assertion of the
	// new passkey that asks for its PRF output, for authenticators that
	// give none while creating the passkey (the page adds the new
	// credential's id to allowCredentials).
	Unlock string `json:",omitempty"`
	// State is the ceremony's signed state, sent back with the response.
	State string
}

// PasskeyInfo is what the settings page shows of a passkey.
type PasskeyInfo struct {
	ID       string // the credential id, base64url
	Name     string
	Created  time.Time
	LastUsed time.Time // zero if never used to sign in
	Unlocks  bool      // signs in and unlocks the mailbox alone
}

// ceremonyState is the state of one ceremony (signed, in the browser).
type ceremonyState struct {
	Purpose string
	Binding string // the resident's id, the first step's id (hex), or ""
	Expires time.Time
	Session webauthn.SessionData
	Unlock  *webauthn.SessionData `json:",omitempty"`
}

// passkeyUser is a resident as go-webauthn sees them.
type passkeyUser struct{ rec *residentRecord }

func (u passkeyUser) WebAuthnID() []byte { return []byte(u.rec.ID) }
func (u passkeyUser) WebAuthnName() string {
	if u.rec.Name != "" {
		return u.rec.Name
	}
	return "Postkasse"
}
func (u passkeyUser) WebAuthnDisplayName() string { return u.WebAuthnName() }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.rec.Passkeys))
	for _, p := range u.rec.Passkeys {
		out = append(out, credentialOf(p))
	}
	return out
}

func credentialOf(p storage.Passkey) webauthn.Credential {
	c := webauthn.Credential{
		ID: p.ID, PublicKey: p.PublicKey, AttestationType: p.AttestationType, AttestationFormat: p.AttestationFormat,
		Flags: webauthn.CredentialFlags{UserPresent: p.UserPresent, UserVerified: p.UserVerified,
			BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

func passkeyOf(c *webauthn.Credential, name string, now time.Time) storage.Passkey {
	p := storage.Passkey{
		ID: c.ID, Name: name, PublicKey: c.PublicKey, AttestationType: c.AttestationType, AttestationFormat: c.AttestationFormat,
		AAGUID: c.Authenticator.AAGUID, UserPresent: c.Flags.UserPresent, UserVerified: c.Flags.UserVerified,
		BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState, SignCount: c.Authenticator.SignCount,
		Created: now,
	}
	for _, t := range c.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	return p
}

// findPasskey returns the index of the resident's passkey with the
// credential id, or -1.
func findPasskey(rec *residentRecord, id []byte) int {
	for i, p := range rec.Passkeys {
		if bytes.Equal(p.ID, id) {
			return i
		}
	}
	return -1
}

// newCeremony signs a ceremony's state for the browser.
func (s *Store) newCeremony(ctx context.Context, st ceremonyState, options any, unlock any) (PasskeyCeremony, error) {
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	st.Expires = s.now().Add(PasskeyCeremonyLifetime).UTC()
	// go-webauthn checks an expiry against the system clock; the store's
	// clock decides (Expires above).
	st.Session.Expires = time.Time{}
	if st.Unlock != nil {
		st.Unlock.Expires = time.Time{}
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	c := PasskeyCeremony{State: base64.RawURLEncoding.EncodeToString(raw) + "." +
		base64.RawURLEncoding.EncodeToString(ceremonyMAC(secret, raw))}
	opt, err := json.Marshal(options)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	c.Options = string(opt)
	if unlock != nil {
		u, err := json.Marshal(unlock)
		if err != nil {
			return PasskeyCeremony{}, err
		}
		c.Unlock = string(u)
	}
	return c, nil
}

func ceremonyMAC(secret, raw []byte) []byte {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, passkeyStateLabel)
	m.Write(raw)
	return m.Sum(nil)
}

// openCeremony checks a ceremony's state from the browser: signed by this
// appliance, for purpose and binding, not expired. Anything else is
// ErrSessionExpired (the page starts a new ceremony).
func (s *Store) openCeremony(ctx context.Context, state, purpose, binding string) (*ceremonyState, error) {
	if len(state) > maxPasskeyResponse {
		return nil, ErrSessionExpired
	}
	rawText, macText, ok := strings.Cut(state, ".")
	if !ok {
		return nil, ErrSessionExpired
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(rawText)
	mac, err2 := base64.RawURLEncoding.DecodeString(macText)
	if err1 != nil || err2 != nil {
		return nil, ErrSessionExpired
	}
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(mac, ceremonyMAC(secret, raw)) {
		return nil, ErrSessionExpired
	}
	var st ceremonyState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, ErrSessionExpired
	}
	if st.Purpose != purpose || st.Binding != binding || !s.now().Before(st.Expires) {
		return nil, ErrSessionExpired
	}
	// Answered before: say so before any other check (useCeremony checks
	// again in the transaction that acts on it).
	key := limitKey(secret, passkeyUsedPrefix+st.Session.Challenge)
	err = s.view(ctx, func(tx storage.Tx) error {
		_, err := tx.Limits().Get(key)
		return err
	})
	if err == nil {
		return nil, ErrSessionExpired
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	return &st, nil
}

// useCeremony records in tx that the ceremony was answered; a ceremony
// answered before is ErrSessionExpired.
func (s *Store) useCeremony(ctx context.Context, tx storage.Tx, st *ceremonyState) error {
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		return err
	}
	key := limitKey(secret, passkeyUsedPrefix+st.Session.Challenge)
	if _, err := tx.Limits().Get(key); err == nil {
		return ErrSessionExpired
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return tx.Limits().Put(&storage.Limit{Key: key, Expires: st.Expires.UTC(), Value: []byte{1}})
}

// parseAssertion reads a browser's assertion (PublicKeyCredential.toJSON
// of navigator.credentials.get's result).
func parseAssertion(response string) (*protocol.ParsedCredentialAssertionData, error) {
	if len(response) == 0 || len(response) > maxPasskeyResponse {
		return nil, ErrPasskeyResponse
	}
	p, err := protocol.ParseCredentialRequestResponseBytes([]byte(response))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPasskeyResponse, err)
	}
	return p, nil
}

// prfOutput returns the PRF output (at crypto.PRFInput) in a response's
// client extension results, or nil.
func prfOutput(r protocol.AuthenticationExtensionsClientOutputs) []byte {
	if r.PRF == nil || r.PRF.Results == nil || len(r.PRF.Results.First) != crypto.PRFOutputSize {
		return nil
	}
	return r.PRF.Results.First
}

// prfExtension asks for the PRF output at crypto.PRFInput.
func prfExtension() webauthn.ExtensionOption {
	return webauthn.WithExtensionPRF(protocol.PRFValues{First: crypto.PRFInput})
}

// checkPasskeyName checks and tidies a passkey's name.
func checkPasskeyName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return "", invalid("name", "empty")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyName:
		return "", invalid("name", "longer than %d characters", MaxPasskeyName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", invalid("name", "control characters")
		}
	}
	return name, nil
}

// BeginPasskeyRegistration starts the registration of a passkey for the
// mailbox's owner. The passkey must be discoverable (a resident key) so
// that it can sign in alone; the options ask for its PRF output.
func (m *Mailbox) BeginPasskeyRegistration(ctx context.Context, rp PasskeyRP) (PasskeyCeremony, error) {
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	var rec *residentRecord
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, err = getResident(tx, m.resident.ID)
		return err
	}); err != nil {
		return PasskeyCeremony{}, err
	}
	if len(rec.Passkeys) >= MaxPasskeys {
		return PasskeyCeremony{}, ErrTooManyPasskeys
	}
	creation, assertion, session, unlock, err := beginRegistration(w, passkeyUser{rec})
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return m.s.newCeremony(ctx, ceremonyState{Purpose: ceremonyRegister, Binding: rec.ID, Session: *session, Unlock: unlock},
		creation, assertion)
}

// beginRegistration makes the options of the registration of a passkey
// for user (discoverable, so that it can sign in alone, and asked for its
// PRF output), and those of the assertion that asks the new passkey for
// its PRF output when its creation gave none.
func beginRegistration(w *webauthn.WebAuthn, user passkeyUser) (creation, assertion any, session, unlock *webauthn.SessionData, err error) {
	c, session, err := w.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(user.WebAuthnCredentials()).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithExtensions(prfExtension()))
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("passkey registration: %w", err)
	}
	a, unlock, err := w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred),
		webauthn.WithAssertionExtensions(prfExtension()))
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("passkey registration: %w", err)
	}
	return c.Response, a.Response, session, unlock, nil
}

// parseRegistration reads the browser's answers to a registration's
// options: the creation, and the unlock assertion ("" when none).
func parseRegistration(creation, unlock string) (*protocol.ParsedCredentialCreationData, *protocol.ParsedCredentialAssertionData, error) {
	if len(creation) == 0 || len(creation) > maxPasskeyResponse || len(unlock) > maxPasskeyResponse {
		return nil, nil, ErrPasskeyResponse
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(creation))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrPasskeyResponse, err)
	}
	var unlockParsed *protocol.ParsedCredentialAssertionData
	if unlock != "" {
		if unlockParsed, err = parseAssertion(unlock); err != nil {
			return nil, nil, err
		}
	}
	return parsed, unlockParsed, nil
}

// registeredPasskey verifies a registration for the resident rec (its id
// and name) against the ceremony st, and returns the new passkey, named
// name, with its PRF output from the creation or, when that gave none,
// from the unlock assertion (verified as any sign-in is); the output is
// nil when the authenticator gave none. A registration that does not
// verify is ErrBadCredentials.
func (s *Store) registeredPasskey(w *webauthn.WebAuthn, rec *residentRecord, st *ceremonyState, parsed *protocol.ParsedCredentialCreationData,
	unlockParsed *protocol.ParsedCredentialAssertionData, name string, now time.Time) (storage.Passkey, []byte, error) {
	cred, err := w.CreateCredential(passkeyUser{rec}, st.Session, parsed)
	if err != nil {
		s.log.Info("passkey registration refused", "resident", rec.ID, "err", err)
		return storage.Passkey{}, nil, ErrBadCredentials
	}
	pk := passkeyOf(cred, name, now)
	out := prfOutput(parsed.ClientExtensionResults)
	if out == nil && unlockParsed != nil && st.Unlock != nil {
		only := &residentRecord{ID: rec.ID, Name: rec.Name, Passkeys: []storage.Passkey{pk}}
		if _, err := w.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			return passkeyUser{only}, nil
		}, *st.Unlock, unlockParsed); err != nil {
			s.log.Info("passkey registration: the unlock assertion refused", "resident", rec.ID, "err", err)
			return storage.Passkey{}, nil, ErrBadCredentials
		}
		out = prfOutput(unlockParsed.ClientExtensionResults)
		pk.SignCount = unlockParsed.Response.AuthenticatorData.Counter
	}
	return pk, out, nil
}

// AddPasskey finishes the registration of a passkey for the mailbox's
// owner, after checking their password: creation is the browser's
// response to the options of BeginPasskeyRegistration (state), unlock its
// response to the Unlock options ("" when the creation gave the PRF output
// already, or the authenticator has no PRF). When either gave the PRF
// output, the private key is wrapped for the passkey to unlock it alone.
// A wrong password is ErrBadCredentials; a bad name an *InvalidError; a
// response that does not read ErrPasskeyResponse; one that does not verify
// (another challenge, origin or RP ID, a bad signature) ErrBadCredentials;
// a stale or used state ErrSessionExpired. Nothing is stored on any error.
// Audited.
func (m *Mailbox) AddPasskey(ctx context.Context, rp PasskeyRP, state, password, name, creation, unlock string) (PasskeyInfo, error) {
	name, err := checkPasskeyName(name)
	if err != nil {
		return PasskeyInfo{}, err
	}
	st, err := m.s.openCeremony(ctx, state, ceremonyRegister, m.resident.ID)
	if err != nil {
		return PasskeyInfo{}, err
	}
	parsed, unlockParsed, err := parseRegistration(creation, unlock)
	if err != nil {
		return PasskeyInfo{}, err
	}
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyInfo{}, err
	}
	checked, priv, err := m.checkPassword(ctx, password)
	if err != nil {
		return PasskeyInfo{}, err
	}
	defer priv.Zero()
	var rec *residentRecord
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, err = m.passwordChecked(tx, checked)
		return err
	}); err != nil {
		return PasskeyInfo{}, err
	}
	now := m.s.now()
	pk, out, err := m.s.registeredPasskey(w, rec, st, parsed, unlockParsed, name, now)
	if err != nil {
		return PasskeyInfo{}, err
	}
	if out != nil {
		if pk.PRFWrap, err = crypto.WrapWithPRF(m.s.rand, priv, out, pk.ID); err != nil {
			return PasskeyInfo{}, err
		}
		clear(out)
	}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		res, err := m.passwordChecked(tx, checked)
		if err != nil {
			return err
		}
		if len(res.Passkeys) >= MaxPasskeys {
			return ErrTooManyPasskeys
		}
		if findPasskey(res, pk.ID) >= 0 {
			return invalid("passkey", "registered already")
		}
		if err := m.s.useCeremony(ctx, tx, st); err != nil {
			return err
		}
		res.Passkeys = append(res.Passkeys, pk)
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		action := "passkey-add"
		if pk.PRFWrap != nil {
			action = "passkey-add-unlock"
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, action, "resident:"+res.ID)
	})
	if err != nil {
		return PasskeyInfo{}, err
	}
	return infoOf(pk), nil
}

func infoOf(p storage.Passkey) PasskeyInfo {
	return PasskeyInfo{ID: base64.RawURLEncoding.EncodeToString(p.ID), Name: p.Name, Created: p.Created,
		LastUsed: p.LastUsed, Unlocks: p.PRFWrap != nil}
}

// Passkeys lists the owner's passkeys, oldest first.
func (m *Mailbox) Passkeys(ctx context.Context) ([]PasskeyInfo, error) {
	var out []PasskeyInfo
	err := m.s.view(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		for _, p := range res.Passkeys {
			out = append(out, infoOf(p))
		}
		return nil
	})
	return out, err
}

// changePasskey runs fn on the owner's passkey with the id (base64url) in
// a transaction and stores the record; ErrNotFound when the owner has no
// such passkey (another resident's is none of theirs).
func (m *Mailbox) changePasskey(ctx context.Context, id string, fn func(res *residentRecord, i int) (action string, err error)) error {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) == 0 {
		return ErrNotFound
	}
	now := m.s.now()
	return m.s.update(ctx, func(tx storage.Tx) error {
		res, err := getResident(tx, m.resident.ID)
		if err != nil {
			return err
		}
		i := findPasskey(res, raw)
		if i < 0 {
			return ErrNotFound
		}
		action, err := fn(res, i)
		if err != nil {
			return err
		}
		if err := tx.Residents().Put(res); err != nil {
			return err
		}
		return m.s.appendAudit(tx, now, "resident:"+res.ID, action, "resident:"+res.ID)
	})
}

// RenamePasskey renames one of the owner's passkeys. A bad name is an
// *InvalidError; ErrNotFound when the owner has no such passkey. Audited.
func (m *Mailbox) RenamePasskey(ctx context.Context, id, name string) error {
	name, err := checkPasskeyName(name)
	if err != nil {
		return err
	}
	return m.changePasskey(ctx, id, func(res *residentRecord, i int) (string, error) {
		res.Passkeys[i].Name = name
		return "passkey-rename", nil
	})
}

// RemovePasskey removes one of the owner's passkeys, with its PRF
// wrapping of the private key. ErrNotFound when the owner has no such
// passkey. Audited.
func (m *Mailbox) RemovePasskey(ctx context.Context, id string) error {
	return m.changePasskey(ctx, id, func(res *residentRecord, i int) (string, error) {
		res.Passkeys = append(res.Passkeys[:i:i], res.Passkeys[i+1:]...)
		return "passkey-remove", nil
	})
}

// SecondStepFactors reports whether the resident whose sign-in waits
// under token has passkeys, and TOTP, for the page of the second step.
func (s *Store) SecondStepFactors(ctx context.Context, token string) (passkeys, totp bool, err error) {
	res, _, priv, err := s.openFirstStep(ctx, token)
	if err != nil {
		return false, false, err
	}
	priv.Zero()
	return len(res.Passkeys) > 0, res.TOTP != nil, nil
}

// BeginPasskeySecondStep starts the second step of a sign-in with one of
// the resident's passkeys; token names the first step (as for
// CompleteLogin). ErrNotFound when the resident has no passkey.
func (s *Store) BeginPasskeySecondStep(ctx context.Context, rp PasskeyRP, token string) (PasskeyCeremony, error) {
	res, _, priv, err := s.openFirstStep(ctx, token)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	priv.Zero()
	if len(res.Passkeys) == 0 {
		return PasskeyCeremony{}, ErrNotFound
	}
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	assertion, session, err := w.BeginLogin(passkeyUser{res}, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	id, _, _ := parseToken(token)
	return s.newCeremony(ctx, ceremonyState{Purpose: ceremonySecondStep, Binding: fmt.Sprintf("%x", id), Session: *session},
		assertion.Response, nil)
}

// verifyAssertion checks an assertion against the resident's record cur
// and returns the index of the passkey that made it, updated (counter,
// flags, last use at now). A response that does not verify is
// ErrBadCredentials, as is a signature counter that went back (a cloned
// authenticator, WebAuthn §6.1.1).
func (s *Store) verifyAssertion(w *webauthn.WebAuthn, cur *residentRecord, st *ceremonyState, parsed *protocol.ParsedCredentialAssertionData, now time.Time, discoverable bool) (int, error) {
	user := passkeyUser{cur}
	var cred *webauthn.Credential
	var err error
	if discoverable {
		cred, err = w.ValidateDiscoverableLogin(func(_, userHandle []byte) (webauthn.User, error) {
			if string(userHandle) != cur.ID {
				return nil, ErrBadCredentials
			}
			return user, nil
		}, st.Session, parsed)
	} else {
		cred, err = w.ValidateLogin(user, st.Session, parsed)
	}
	if err != nil {
		s.log.Info("passkey assertion refused", "resident", cur.ID, "err", err)
		return -1, ErrBadCredentials
	}
	if cred.Authenticator.CloneWarning {
		s.log.Warn("passkey: the signature counter went back (a cloned authenticator?)", "resident", cur.ID)
		return -1, ErrBadCredentials
	}
	i := findPasskey(cur, cred.ID)
	if i < 0 {
		return -1, ErrBadCredentials
	}
	p := &cur.Passkeys[i]
	p.SignCount = cred.Authenticator.SignCount
	p.UserVerified, p.BackupState = cred.Flags.UserVerified, cred.Flags.BackupState
	p.LastUsed = now
	return i, nil
}

// CompletePasskeyLogin takes the second step of a sign-in with a passkey:
// response is the browser's answer to BeginPasskeySecondStep's options
// (state). As CompleteLogin: a response that does not verify is
// ErrBadCredentials and the first step stays; a token that names no first
// step, or a stale or used state, is ErrSessionExpired; a response that
// does not read is ErrPasskeyResponse. Audited.
func (s *Store) CompletePasskeyLogin(ctx context.Context, rp PasskeyRP, token, state, response string) (Session, error) {
	id, _, err := parseToken(token)
	if err != nil {
		return Session{}, ErrSessionExpired
	}
	st, err := s.openCeremony(ctx, state, ceremonySecondStep, fmt.Sprintf("%x", id))
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
	return s.completeSecondStep(ctx, token, func(tx storage.Tx, cur *residentRecord, _ *crypto.PrivateKey, now time.Time) error {
		if _, err := s.verifyAssertion(w, cur, st, parsed, now, false); err != nil {
			return err
		}
		if err := s.useCeremony(ctx, tx, st); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+cur.ID, "passkey-used", "resident:"+cur.ID)
	})
}

// BeginPasskeySignIn starts a sign-in with a passkey alone: any of the
// appliance's passkeys (discoverable), with user verification, and the
// PRF output that unlocks the mailbox.
func (s *Store) BeginPasskeySignIn(ctx context.Context, rp PasskeyRP) (PasskeyCeremony, error) {
	w, err := rp.webauthn()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	assertion, session, err := w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired),
		webauthn.WithAssertionExtensions(prfExtension()))
	if err != nil {
		return PasskeyCeremony{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	return s.newCeremony(ctx, ceremonyState{Purpose: ceremonySignIn, Session: *session}, assertion.Response, nil)
}

// PasskeySignIn signs in with a passkey alone: response is the browser's
// answer to BeginPasskeySignIn's options (state), with the passkey's PRF
// output, which opens the passkey's PRF wrapping of the private key. A
// response that does not verify, of a passkey nobody has, or whose output
// does not open the wrapping is ErrBadCredentials; a passkey without a
// PRF wrapping, or an answer without the output, is ErrPasskeyNoUnlock
// (sign in with the password, then the passkey); a stale or used state
// ErrSessionExpired; a response that does not read ErrPasskeyResponse; a
// blocked account *BlockedError. The second factor is the passkey's own
// user verification. Audited.
func (s *Store) PasskeySignIn(ctx context.Context, rp PasskeyRP, state, response string) (Session, error) {
	st, err := s.openCeremony(ctx, state, ceremonySignIn, "")
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
	residentID := string(parsed.Response.UserHandle)
	if residentID == "" || len(residentID) > 200 {
		return Session{}, ErrBadCredentials
	}
	var rec *residentRecord
	err = s.view(ctx, func(tx storage.Tx) error {
		rec, err = getResident(tx, residentID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, err
	}
	return s.unlockWithPasskey(ctx, w, st, parsed, rec, true, "login-passkey", nil)
}

// openPRFWrap opens the PRF wrapping of rec's passkey pk with the PRF
// output of the assertion parsed, which verified for it: the resident's
// key pair. A passkey without a PRF wrapping, or an answer without the
// output, is ErrPasskeyNoUnlock; an output that does not open it, or a
// wrapping of another key pair than the account's, ErrBadCredentials.
func (s *Store) openPRFWrap(rec *residentRecord, pk storage.Passkey, parsed *protocol.ParsedCredentialAssertionData) (*crypto.PrivateKey, error) {
	out := prfOutput(parsed.ClientExtensionResults)
	if pk.PRFWrap == nil || out == nil {
		return nil, ErrPasskeyNoUnlock
	}
	priv, err := crypto.UnwrapWithPRF(pk.PRFWrap, out, pk.ID)
	clear(out)
	if err != nil {
		s.log.Info("passkey: the PRF output does not open the wrapping", "resident", rec.ID, "err", err)
		return nil, ErrBadCredentials
	}
	if pub := priv.PublicKeys(); !bytes.Equal(pub.X25519[:], rec.PublicKey) || !bytes.Equal(pub.MLKEM, rec.MLKEMPublicKey) {
		priv.Zero()
		s.log.Error("passkey: the PRF wrapping holds another key pair than the account's", "resident", rec.ID)
		return nil, ErrBadCredentials
	}
	return priv, nil
}

// unlockWithPasskey ends a sign-in with a passkey that unlocks the
// mailbox: the assertion (parsed, answering the ceremony st) must verify
// for the resident rec (any of their passkeys, discoverable or not), its
// PRF output must open that passkey's PRF wrapping, and a session starts
// in the transaction that also runs inTx (nil: nothing more). Errors as
// PasskeySignIn's. Audited as action.
func (s *Store) unlockWithPasskey(ctx context.Context, w *webauthn.WebAuthn, st *ceremonyState, parsed *protocol.ParsedCredentialAssertionData,
	rec *residentRecord, discoverable bool, action string, inTx func(tx storage.Tx, now time.Time) error) (Session, error) {
	if rec.Status != ResidentActive && rec.Status != ResidentReserved {
		return Session{}, ErrBadCredentials
	}
	now := s.now()
	i, err := s.verifyAssertion(w, rec, st, parsed, now, discoverable)
	if err != nil {
		return Session{}, err
	}
	pk := rec.Passkeys[i]
	priv, err := s.openPRFWrap(rec, pk, parsed)
	if err != nil {
		return Session{}, err
	}
	defer priv.Zero()
	if err := blocked(rec); err != nil {
		return Session{}, err
	}
	token, sessID, sess, err := s.newSession(ctx, priv, rec.ID)
	if err != nil {
		return Session{}, err
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		cur, err := getResident(tx, rec.ID)
		if err != nil {
			return err
		}
		if cur.Status != ResidentActive && cur.Status != ResidentReserved {
			return ErrBadCredentials
		}
		if err := blocked(cur); err != nil {
			return err
		}
		// The passkey, with the wrapping that was opened, must still be
		// the account's: removed meanwhile, it signs nobody in.
		j := findPasskey(cur, pk.ID)
		if j < 0 || !bytes.Equal(cur.Passkeys[j].PRFWrap, pk.PRFWrap) {
			return ErrBadCredentials
		}
		if cur.Passkeys[j].SignCount > rec.Passkeys[i].SignCount {
			return ErrBadCredentials // used again meanwhile with a higher count
		}
		cur.Passkeys[j] = rec.Passkeys[i]
		cur.LastLogin = now
		if err := s.useCeremony(ctx, tx, st); err != nil {
			return err
		}
		if inTx != nil {
			if err := inTx(tx, now); err != nil {
				return err
			}
		}
		if err := tx.Residents().Put(cur); err != nil {
			return err
		}
		if err := tx.Sessions().Put(sessID, sess); err != nil {
			return err
		}
		return s.appendAudit(tx, now, "resident:"+cur.ID, action, "resident:"+cur.ID)
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrBadCredentials
	} else if err != nil {
		return Session{}, err
	}
	return Session{Token: token, ResidentID: rec.ID, Expires: sess.Expires}, nil
}
