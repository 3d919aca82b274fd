package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ResidentStatus is the state of a resident's mailbox.
type ResidentStatus string

// Resident statuses; package store documents what each allows.
const (
	ResidentPending  ResidentStatus = "pending"
	ResidentActive   ResidentStatus = "active"
	ResidentReserved ResidentStatus = "reserved"
	ResidentClosed   ResidentStatus = "closed"
	ResidentDeceased ResidentStatus = "deceased"
	ResidentDeleted  ResidentStatus = "deleted"
)

// Resident is a resident's record. The private key exists only wrapped.
type Resident struct {
	ID         string
	Country    string // "DK" or "NO"
	NationalID string // the digits
	Name       string
	Status     ResidentStatus
	PublicKey  []byte // X25519; nil while pending
	// MLKEMPublicKey is the ML-KEM-768 encapsulation key (crypto.PublicKeys'
	// MLKEM half): letters to a resident who has one are sealed in v2. A
	// resident activated before envelope v2 has none until the next
	// sign-in; their letters are sealed in v1 until then.
	MLKEMPublicKey []byte `json:",omitempty"`
	PasswordWrap   []byte // the private key wrapped by the password; nil while pending
	RecoveryWrap   []byte // the private key wrapped by the recovery key; nil while pending
	Created        time.Time
	LastLogin      time.Time
	// While pending: the hash of the activation code and when it
	// expires. Both go at activation.
	ActivationHash    []byte    `json:",omitempty"`
	ActivationExpires time.Time `json:",omitzero"`
	// BlockedReason and BlockedAt: the operator blocked access to the
	// account (no sign-in) for this reason, shown to the resident.
	BlockedReason string    `json:",omitempty"`
	BlockedAt     time.Time `json:",omitzero"`
	// TOTP is the resident's two-step verification while it is on; nil
	// when it is off.
	TOTP *TOTP `json:",omitempty"`
	// Passkeys are the resident's registered passkeys (WebAuthn
	// credentials), oldest first; none when empty.
	Passkeys []Passkey `json:",omitempty"`
	// SigningKey is the resident's signing key (package store,
	// signing.go) once made at the first signature; nil before.
	SigningKey *SigningKey `json:",omitempty"`
}

// SigningKey is a resident's ECDSA P-256 signing key: the private key
// (PKCS #8) sealed with a key derived from the resident's mailbox key, so
// that it opens only while the mailbox is open and dies with it, and its
// certificate (DER) from the appliance's signing CA.
type SigningKey struct {
	Sealed      []byte
	Certificate []byte
}

// Passkey is one of a resident's passkeys: a WebAuthn credential record
// (WebAuthn Level 3 §4, "credential record") with the resident's name
// for it. Package store (passkeys.go) says how each field is made;
// nothing in it opens a mailbox without the authenticator.
type Passkey struct {
	ID        []byte // the credential id
	Name      string
	PublicKey []byte // COSE_Key
	// AttestationType and AttestationFormat as go-webauthn records them.
	AttestationType   string   `json:",omitempty"`
	AttestationFormat string   `json:",omitempty"`
	Transports        []string `json:",omitempty"`
	AAGUID            []byte   `json:",omitempty"`
	// The flags of the credential record: UP, UV (latched), BE, BS.
	UserPresent    bool
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
	// SignCount is the authenticator's signature counter at the last use
	// (0 for authenticators that keep none).
	SignCount uint32
	Created   time.Time
	LastUsed  time.Time `json:",omitzero"`
	// PRFWrap is the private key wrapped by a key derived from the
	// passkey's PRF output (crypto's PRF wrapping), when the authenticator
	// gave one at registration; nil otherwise. With it the passkey alone
	// signs in.
	PRFWrap []byte `json:",omitempty"`
}

// TOTP is a resident's two-step verification with time-based one-time
// codes (RFC 6238) and backup codes. Package store (totp.go) says how
// each field is made; nothing in it opens a mailbox or tells a code.
type TOTP struct {
	// Secret is the shared secret sealed with a key derived from the
	// resident's private key: never in clear.
	Secret []byte
	// LastStep is the time step (Unix time / 30 s) of the last code
	// accepted: a code of that step or an earlier one is refused.
	LastStep int64
	// BackupCodes are the hashes of the backup codes not used yet.
	BackupCodes [][]byte `json:",omitempty"`
	// Enabled is when it was turned on.
	Enabled time.Time
}

// SenderKind tells public authorities from private businesses.
type SenderKind string

// Sender kinds.
const (
	SenderPublic  SenderKind = "public"
	SenderPrivate SenderKind = "private"
)

// Sender is a sender's record: an organisation that delivers letters.
type Sender struct {
	ID           string
	Name         string
	OrgNumber    string
	Kind         SenderKind
	Revoked      bool
	RevokedAt    time.Time
	Created      time.Time
	Certificates []SenderCertificate
	// APIRate and APIBurst are the sender's own token bucket on the API
	// (store.Store.SetSenderRate): requests a second sustained, and at
	// once. Zero, as in every record written before they existed, is the
	// default (store.DefaultSenderRate, store.DefaultSenderBurst).
	APIRate  float64 `json:",omitempty"`
	APIBurst int     `json:",omitempty"`
	// ReplyKey is the X25519 public key (32 bytes) residents' replies are
	// sealed to (API.md, "Replies and signatures"); nil until the sender
	// registers one. A letter with replyAllowed needs it.
	ReplyKey []byte `json:",omitempty"`
	// ReplyKeySet is when ReplyKey was registered.
	ReplyKeySet time.Time `json:",omitzero"`
	// AcceptsMessages: residents may start a conversation with the
	// sender (a message, sealed like a reply to ReplyKey).
	AcceptsMessages bool `json:",omitempty"`
}

// SenderCertificate is a client certificate bound to a sender.
type SenderCertificate struct {
	Fingerprint string // SHA-256 of the DER, lowercase hex
	Serial      string // hex
	NotAfter    time.Time
	Revoked     bool
}

// LetterType is what kind of letter it is.
type LetterType string

// Letter types of API v1.
const (
	TypeLetter   LetterType = "letter"
	TypeDecision LetterType = "decision"
	TypeInvoice  LetterType = "invoice"
	TypeNotice   LetterType = "notice"
)

// Letter is a letter's record. Subject, Body and the documents' names are
// sealed with the letter's data key, SealedKey is the data key sealed to
// the recipient; the rest is in clear.
type Letter struct {
	ID              string
	ResidentID      string
	SenderID        string
	SenderReference string
	Type            LetterType
	DueDate         string
	ReplyAllowed    bool
	DeliveredAt     time.Time
	ReadAt          time.Time
	Size            int64
	ContentHash     string
	SealedKey       []byte
	Subject         []byte
	Body            []byte
	Documents       []DocumentRecord
	Receipt         Receipt
	Sensitive       bool `json:",omitempty"`
	// OpeningReceipt: the sender asked for a "read" event at the first
	// opening. In clear, like ReplyAllowed.
	OpeningReceipt bool `json:",omitempty"`
	// Structured is a structured letter's invoice and actions (the JSON
	// of store's structuredData), sealed with the letter's data key as
	// field "structured"; nil for a letter without them.
	Structured []byte `json:",omitempty"`
	// Folder is the folder of the resident's mailbox the letter is in:
	// "" the inbox, "archive", or the id of one of the resident's own.
	Folder string `json:",omitempty"`
	// ReadMark is the resident's own marking of the letter in their
	// mailbox: nil follows the first opening (ReadAt), true marks it
	// read, false unread. It never changes ReadAt, the sender's "read".
	ReadMark *bool `json:",omitempty"`
	// PaidAt is when the resident marked an invoice paid; zero if not.
	PaidAt time.Time `json:",omitzero"`
	// Hold is set while the operator has made the letter inaccessible
	// under a legal obligation; nil otherwise.
	Hold *LetterHold `json:",omitempty"`
	// Listing is what an inbox page shows of the letter (its subject),
	// sealed with the resident's listing key; nil until the letter was
	// first listed.
	Listing []byte `json:",omitempty"`
	// Deleted is when the resident deleted the letter; zero while it
	// lives. A deleted letter's record is its tombstone: it keeps only
	// what its sender's status and a repeated delivery need (ID,
	// ResidentID, SenderID, SenderReference, Type, DeliveredAt, ReadAt,
	// ContentHash, Receipt), never a sealed field or the data key, and it
	// is in no mailbox or folder index, only among the resident's
	// tombstones (Letters.Tombstones).
	Deleted time.Time `json:",omitzero"`
	// ReleaseAt is set while the letter is scheduled (API.md, notBefore):
	// stored and sealed, but in no index of the resident's mailbox (as a
	// tombstone is not), never unread or due, not notified and with no
	// receipt, until the release (package store, ReleaseScheduled) makes
	// it delivered at this time and clears it. Engines keep an index of
	// scheduled letters by this time (Letters.Scheduled).
	ReleaseAt time.Time `json:",omitzero"`
	// InReplyTo is the id of the resident's reply this letter answers
	// (API.md's inReplyTo), empty for a letter that answers none. In
	// clear, like ReplyAllowed: the thread's shape, not its content.
	InReplyTo string `json:",omitempty"`
	// NotBefore is the notBefore its sender gave, as given (zero when
	// none), kept after the release: a repeat of the delivery with
	// another is not the same delivery (package store, repeated).
	NotBefore time.Time `json:",omitzero"`
	// Imported is set for a letter the resident brought from another
	// appliance (an export, store/import.go): its sender there, its
	// id there, and the receipt key that signed its Receipt. SenderID is
	// then "import:" and that key's id, a sender of no appliance.
	Imported *ImportedLetter `json:",omitempty"`
	// Own is set for the resident's own document (store/own.go): files the
	// resident saved in the mailbox, which no sender sent. SenderID is
	// then "own:" and the resident's id, a sender of no appliance;
	// SenderReference is the document's id where it was first saved (its
	// own ID when uploaded here), which makes importing it idempotent. It
	// has no receipt, content hash or sender events.
	Own *OwnDocument `json:",omitempty"`
	// Signature is the answer to the letter's signature request (package
	// store, signing.go): nil while none. In clear: it is for the sender,
	// who fetches it while the resident is not signed in.
	Signature *LetterSignature `json:",omitempty"`
	// DelegateKeys are the letter's data key sealed to the delegates
	// whose grant covers it (package store, delegation.go), one per
	// grant; deleted with the grant, and with the letter.
	DelegateKeys []DelegateKey `json:",omitempty"`
}

// LetterSignature is a resident's answer to a signature request.
type LetterSignature struct {
	// Status is "signed" or "declined".
	Status string
	At     time.Time
	// Reason is why the resident declined, for the sender.
	Reason string `json:",omitempty"`
	// CMS is the detached CMS signature (DER) over the main document, in
	// clear: a digest and the signer's certificate, not the document.
	CMS []byte `json:",omitempty"`
	// Sealed is the signed result sealed to the sender's reply key
	// (crypto's sealed reply v1, bound to ReplyID "signature:<letter
	// id>"): the signed PDF and the CMS for a PDF main document, the CMS
	// for another; ResidentKey its data key sealed to the resident. None
	// when the sender had no reply key (a letter asked before signing
	// needed one): then only CMS is kept.
	Sealed      []byte `json:",omitempty"`
	ResidentKey []byte `json:",omitempty"`
	// SealedPDF: Sealed holds a signed PDF (its first file).
	SealedPDF bool `json:",omitempty"`
	// LetterSealed is the signed PDF (else the CMS) sealed with the
	// letter's data key (label "signed-file"): whoever opens the letter,
	// the resident or a delegate of a grant that covers it, opens it.
	LetterSealed []byte `json:",omitempty"`
	// A delegate's answer on the resident's behalf (a grant of access
	// "act"): the delegate's name and id, the resident's name, the grant.
	// The delegate signs with their own key and certificate.
	SignedBy     string `json:",omitempty"`
	OnBehalfOf   string `json:",omitempty"`
	DelegateID   string `json:",omitempty"`
	DelegationID string `json:",omitempty"`
	// PDF is the signed PDF in clear, on signatures made before the
	// signed result was sealed (CHANGELOG, Unreleased) only: never
	// written now, still served as it was.
	PDF []byte `json:",omitempty"`
}

// DelegateKey is a letter's data key sealed to a delegate's public key,
// bound to the letter, the grantor (the recipient), the sender and the
// delegate (crypto.Binding.Delegate).
type DelegateKey struct {
	DelegationID string
	DelegateID   string
	SealedKey    []byte
}

// DelegationAccess is what a grant lets the delegate do.
type DelegationAccess string

// DelegationScope is which letters a grant covers.
type DelegationScope string

// The accesses and scopes of a grant.
const (
	// AccessRead: list and open the covered letters.
	AccessRead DelegationAccess = "read"
	// AccessAct: AccessRead, and the acts of package store's
	// DelegateActs (mark read or unread, move to a folder).
	AccessAct DelegationAccess = "act"
	// ScopeAll: every letter from a sender.
	ScopeAll DelegationScope = "all"
	// ScopePublic: letters from public-authority senders (SenderPublic)
	// only.
	ScopePublic DelegationScope = "public"
)

// Delegation is a resident's (the grantor's) grant of access to their
// mailbox to another resident of the appliance (the delegate): by the
// grantor, or by the operator as a guardianship. It is pending until the
// delegate accepts it (a guardianship is accepted when recorded); it
// ends when Until passes, or when the grantor, the delegate or (for a
// guardianship) the operator ends it, which deletes the record.
type Delegation struct {
	ID         string
	GrantorID  string
	DelegateID string
	Access     DelegationAccess
	Scope      DelegationScope
	// Until is the end of the grant; zero until it is revoked.
	Until   time.Time `json:",omitzero"`
	Created time.Time
	// Accepted is when the delegate accepted; zero while pending.
	Accepted time.Time `json:",omitzero"`
	// Guardianship is set for a grant the operator recorded (a court's or
	// an authority's decision), with its reference.
	Guardianship bool   `json:",omitempty"`
	Decision     string `json:",omitempty"`
	// Covered is when the letters delivered before the grant were sealed
	// to the delegate (with the grantor's key); zero until then (a
	// guardianship, until the ward next signs in).
	Covered time.Time `json:",omitzero"`
}

// OwnDocument marks a letter record as the resident's own document.
type OwnDocument struct {
	// Imported is when it came in with an export (store.Mailbox.Import);
	// zero for a document uploaded here.
	Imported time.Time `json:",omitzero"`
}

// ImportedLetter is where an imported letter came from. It is in clear,
// like a sender's record: who sent it, not what it says.
type ImportedLetter struct {
	// LetterID is the letter's id on the appliance it came from, which
	// its receipt states.
	LetterID string
	// ReceiptKey is the Ed25519 key of the appliance that signed the
	// receipt; Appliance the name that appliance gave itself.
	ReceiptKey []byte
	Appliance  string `json:",omitempty"`
	// SenderReference is the sender's reference there.
	SenderReference string
	SenderName      string
	SenderOrgNumber string
	SenderKind      SenderKind
	Imported        time.Time
}

// IsTombstone reports whether the record is a deleted letter's tombstone.
func (l *Letter) IsTombstone() bool { return !l.Deleted.IsZero() }

// IsScheduled reports whether the letter is scheduled and not yet
// released (Letter.ReleaseAt).
func (l *Letter) IsScheduled() bool { return !l.ReleaseAt.IsZero() }

// ListingFields returns the letter with only the fields a line of a
// mailbox's page shows and the checks before it need (Letters.Listed):
// who it is from and to, its type, dates, marks, folder, hold, listing,
// where it came from and the number of its documents (Documents has as
// many elements, each zero). The sealed key, subject, body, documents'
// names, structured data and receipt are left out.
func (l *Letter) ListingFields() *Letter {
	return &Letter{ID: l.ID, ResidentID: l.ResidentID, SenderID: l.SenderID, Type: l.Type, DueDate: l.DueDate,
		DeliveredAt: l.DeliveredAt, ReadAt: l.ReadAt, Size: l.Size, Documents: make([]DocumentRecord, len(l.Documents)),
		Folder: l.Folder, ReadMark: l.ReadMark, PaidAt: l.PaidAt, Hold: l.Hold, Listing: l.Listing, Deleted: l.Deleted,
		ReleaseAt: l.ReleaseAt, Imported: l.Imported, Own: l.Own}
}

// InMailbox reports whether the letter is in its resident's mailbox: not
// a tombstone and not scheduled. Only such a letter is in the mailbox's
// indexes, and only such a letter may its resident see.
func (l *Letter) InMailbox() bool { return !l.IsTombstone() && !l.IsScheduled() }

// Unread reports whether the resident has the letter as unread: their own
// mark when they set one, else whether they never opened it. Engines keep
// an index of unread letters by this rule (Letters.FolderUnread). A
// tombstone or a scheduled letter is never unread.
func (l *Letter) Unread() bool { return l.InMailbox() && IsUnread(l.ReadAt, l.ReadMark) }

// Due returns the letter's due date (YYYY-MM-DD) while it is one the
// resident has to act on: a letter in the inbox with a due date, not
// marked paid. "" otherwise. Engines keep an index of these by date
// (Letters.Due); archiving a letter, or marking it paid, takes it off.
func (l *Letter) Due() string {
	if !l.InMailbox() || l.Folder != "" || !l.PaidAt.IsZero() || len(l.DueDate) != len("2006-01-02") {
		return ""
	}
	return l.DueDate
}

// IsUnread is the rule of Letter.Unread, from a first opening and a mark.
func IsUnread(readAt time.Time, mark *bool) bool {
	if mark != nil {
		return !*mark
	}
	return readAt.IsZero()
}

// DocumentRecord describes one document of a letter; its sealed content
// is a blob (Documents).
// LetterHold is why, since when and on whose order a letter was made
// inaccessible.
type LetterHold struct {
	At     time.Time
	Reason string
	Order  string
}

type DocumentRecord struct {
	Name        []byte // sealed
	ContentType string
	Size        int64
	// Sent, sealed with the data key, is what the sender sent when it
	// differs from what is kept (a file name with a folder, a content
	// type with parameters, HTML before sanitising): its name, type and
	// SHA-256, which the letter's content hash covers (store.SentDocument).
	// Nil when the document is kept as sent, or was delivered before
	// this was recorded.
	Sent []byte `json:",omitempty"`
}

// Receipt is the appliance's signed statement that a letter was
// delivered. Payload is the JSON statement exactly as signed.
type Receipt struct {
	Payload   []byte
	Signature []byte
	KeyID     string
}

type receiptJSON struct {
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
}

// MarshalJSON encodes the receipt as the API shows it: payload and
// signature in standard base64.
func (r Receipt) MarshalJSON() ([]byte, error) {
	return json.Marshal(receiptJSON{
		Payload:   base64.StdEncoding.EncodeToString(r.Payload),
		Signature: base64.StdEncoding.EncodeToString(r.Signature),
		KeyID:     r.KeyID,
		Algorithm: "ed25519",
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (r *Receipt) UnmarshalJSON(b []byte) error {
	var j receiptJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	return r.fromJSON(j)
}

// fromJSON decodes the receipt's base64 fields.
func (r *Receipt) fromJSON(j receiptJSON) error {
	p, err := base64.StdEncoding.DecodeString(j.Payload)
	if err != nil {
		return fmt.Errorf("receipt payload: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(j.Signature)
	if err != nil {
		return fmt.Errorf("receipt signature: %w", err)
	}
	*r = Receipt{Payload: p, Signature: sig, KeyID: j.KeyID}
	return nil
}

// UnmarshalJSONFrom is UnmarshalJSON for the decoder of
// github.com/go-json-experiment/json, which the embedded engine reads its
// records with: the same receipt from the same bytes, without a second
// pass over them (TestReceiptDecoders).
func (r *Receipt) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var j receiptJSON
	if err := jsonv2.UnmarshalDecode(dec, &j); err != nil {
		return err
	}
	return r.fromJSON(j)
}

// Session is a resident's login. Wrap is the resident's private key
// wrapped with the secret only the session cookie holds. UserAgent and
// Address are the browser's User-Agent header (cut short) and the
// client's address at sign-in, shown to the resident among their
// sessions; empty for a session from before they were kept.
type Session struct {
	ResidentID string
	Wrap       []byte
	Created    time.Time
	LastSeen   time.Time
	Expires    time.Time
	UserAgent  string `json:",omitempty"`
	Address    string `json:",omitempty"`
	// SecondStep is set while the record is only the first step of a
	// sign-in with two-step verification: the password was right and the
	// code is still to come. Such a record is no session: it opens no
	// mailbox, and Wrap is bound to another label than a session's.
	SecondStep *SecondStep `json:",omitempty"`
}

// SecondStep is what the first step of a sign-in keeps for the second.
type SecondStep struct {
	// PasswordWrap is the password wrapping the password was checked
	// against: a change of it meanwhile voids the sign-in.
	PasswordWrap []byte
	// Rewrap, when set, replaces it when the sign-in completes: the
	// private key wrapped by the same password under the current
	// Argon2id policy (as safe at rest as the wrapping it replaces).
	Rewrap []byte `json:",omitempty"`
}

// NotificationKind is what a notification is about.
type NotificationKind string

// Notification kinds; package store documents them.
const (
	NotifyLetter            NotificationKind = "letter"
	NotifyInactivityWarning NotificationKind = "inactivity-warning"
	NotifyMailboxReset      NotificationKind = "mailbox-reset"
)

// Channel is how a notification reaches a resident.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// NotificationState is where a notification is in its life.
type NotificationState string

// Notification states.
const (
	NotificationPending NotificationState = "pending"
	NotificationSent    NotificationState = "sent"
	NotificationDead    NotificationState = "dead"
)

// Notification is one message to one resident on one channel. It never
// holds a letter's subject or content.
type Notification struct {
	Seq         uint64
	ResidentID  string
	Kind        NotificationKind
	Channel     Channel
	To          string
	Language    string     `json:",omitempty"`
	SenderName  string     `json:",omitempty"`
	LetterType  LetterType `json:",omitempty"`
	DeliveredAt time.Time  `json:",omitzero"`
	DeleteAt    time.Time  `json:",omitzero"`
	Created     time.Time
	State       NotificationState
	Attempts    int
	NextAttempt time.Time `json:",omitzero"` // while pending
	LastError   string    `json:",omitempty"`
	SentAt      time.Time `json:",omitzero"`
	Updated     time.Time
}

// TermsVersion is a published version of the terms of use.
type TermsVersion struct {
	Version       int
	Text          string
	Published     time.Time
	EffectiveDate string    // YYYY-MM-DD
	Effective     time.Time // the start of that day in the operator's zone
	NoticesDone   time.Time `json:",omitzero"`
}

// TermsAcceptance is the highest version a resident accepted, and when.
type TermsAcceptance struct {
	Version  int
	Accepted time.Time
}

// RetentionRecord is what the retention rules recorded about a resident:
// inactivity warnings given, the date of death, and for a deleted
// account its tombstone.
type RetentionRecord struct {
	WarnBasis     time.Time `json:",omitzero"`
	WarningsGiven int       `json:",omitempty"`
	LastWarning   time.Time `json:",omitzero"`
	DiedOn        time.Time `json:",omitzero"`
	DeathRecorded time.Time `json:",omitzero"`
	Deleted       time.Time `json:",omitzero"`
	DeletedReason string    `json:",omitempty"`
}

// IsZero reports whether nothing is recorded.
func (r *RetentionRecord) IsZero() bool { return *r == RetentionRecord{} }

// PreferencesRecord is a resident's preferences: how to be notified, and
// the language of pages and notifications.
type PreferencesRecord struct {
	Email    string
	EmailOn  bool
	Phone    string
	SMSOn    bool
	Language string `json:",omitempty"`
}

// JobOutcome is how a job's run ended.
type JobOutcome string

// Job outcomes; package store documents them.
const (
	JobRunning  JobOutcome = "running"
	JobOK       JobOutcome = "ok"
	JobFailed   JobOutcome = "failed"
	JobPanicked JobOutcome = "panicked"
	JobStopped  JobOutcome = "stopped"
)

// JobRun is the record of a job's last run.
type JobRun struct {
	Job      string
	Started  time.Time
	Finished time.Time
	Outcome  JobOutcome
	Items    int
	Detail   string
}

// SupportRequest is a resident's request for help, addressed to the
// operator and therefore in clear: it never holds a national identity
// number in its text (the store refuses such a request).
type SupportRequest struct {
	ID          string
	ResidentID  string
	Category    string
	Subject     string
	Description string
	// NationalID is the dedicated field for a national identity number
	// the request is about (digits), or "".
	NationalID string `json:",omitempty"`
	Created    time.Time
	// Answer, AnsweredAt and AnswerLetterID once the operator answered:
	// the answer went to the resident's mailbox as that letter.
	Answer         string    `json:",omitempty"`
	AnsweredAt     time.Time `json:",omitzero"`
	AnswerLetterID string    `json:",omitempty"`
}

// SenderBlock is a resident's block of a private sender: asked for at
// Requested, in force from Effective (seven days later).
type SenderBlock struct {
	SenderID  string
	Requested time.Time
	Effective time.Time
}

// Event is a change of a letter that its sender may know (API.md,
// "Events and callbacks").
type Event struct {
	Seq             uint64
	SenderID        string
	Type            string // "delivered", "read", "paid-marked", "made-inaccessible", "signed", …
	LetterID        string
	SenderReference string
	At              time.Time
	// ReplyID names the reply of a "reply" event (empty for the others).
	ReplyID string `json:",omitempty"`
	// SignedBy names who answered a signature request on the recipient's
	// behalf ("signed" or "signature-declined" of a delegate); nil when
	// the recipient answered.
	SignedBy *Deputy `json:",omitempty"`
	// WrittenBy names who wrote a reply on the recipient's behalf (a
	// delegate); nil when the recipient wrote it.
	WrittenBy *Deputy `json:",omitempty"`
}

// Deputy is who acted on the recipient's behalf (wrote a reply, answered
// a signature request), as the sender's event says: their name, and
// "delegate" (a power of attorney the recipient gave) or "guardian" (a
// guardianship or lasting power of attorney the municipality recorded).
type Deputy struct {
	Name string
	Role string
}

// Callback is where a sender's events are POSTed (API.md, "Events and
// callbacks") and how their delivery goes. Package store documents the
// rules (store/callbacks.go).
type Callback struct {
	SenderID string
	URL      string
	Set      time.Time // when the URL was registered
	// Delivered is the Seq of the last event the receiver acknowledged;
	// DeliveredAt when. Zero: none yet.
	Delivered   uint64    `json:",omitempty"`
	DeliveredAt time.Time `json:",omitzero"`
	// While the event at the head of the outbox fails: the failed
	// attempts, the first failure, the last error and the next attempt.
	Attempts     int       `json:",omitempty"`
	FirstFailure time.Time `json:",omitzero"`
	LastError    string    `json:",omitempty"`
	NextAttempt  time.Time `json:",omitzero"`
	// GivenUp is when delivery was given up (zero while it goes on):
	// nothing more is queued until the URL is registered again.
	// GivenUpFrom is the Seq of the first event not delivered then, from
	// which the sender reads the feed.
	GivenUp     time.Time `json:",omitzero"`
	GivenUpFrom uint64    `json:",omitempty"`
}

// Folder is a folder a resident made in their mailbox.
type Folder struct {
	ID string
	// Name is the folder's name sealed by the domain (store/folders.go):
	// the engine never sees it in clear.
	Name    []byte
	Created time.Time
}

// Limit is one value of Limits: opaque bytes that its owner encodes, and
// when the record may be deleted.
type Limit struct {
	Key     string
	Expires time.Time
	Value   []byte
}

// SearchIndex is a resident's search index. Sealed is opened only by
// package store; Version, in clear, is set by the store to a new value at
// every Put, so that a node holding an opened copy can tell whether it is
// still the stored one without reading the sealed bytes.
type SearchIndex struct {
	Version uint64
	Sealed  []byte
}

// PrintLetter is a letter in the print queue (API.md, "More message
// fields", print): a copy to be printed and posted by the municipality's
// print provider. Package store documents the rules (store/print.go).
// Only the ids, the reference, the times and the counts are in clear: the
// address and the documents are sealed with a data key of their own,
// itself sealed to the appliance's print key.
type PrintLetter struct {
	ID              string
	SenderID        string
	SenderReference string
	// ContentHash covers the letter and its address (a repeat must have
	// both); LetterHash the letter alone, as a letter's ContentHash.
	ContentHash string
	LetterHash  string
	Reason      string // why it is printed: "not-digital" or "unread-after"
	// WaitUntil, for "unread-after", is when the letter (then in its
	// resident's mailbox, under the same ID) is printed if still unread;
	// zero once queued. QueuedAt is when it was queued (zero while it
	// waits).
	// For "not-digital", WaitUntil is the sender's notBefore while the
	// letter waits for it (API.md, "More message fields").
	WaitUntil time.Time `json:",omitzero"`
	QueuedAt  time.Time `json:",omitzero"`
	// NotBefore is the sender's notBefore (zero: none), which a repeat
	// of the delivery must have too.
	NotBefore time.Time `json:",omitzero"`
	Documents int       // how many documents
	Pages     int       // their pages in all
	// SealedKey is the data key sealed to the print key; Sealed the
	// address and documents sealed with it. Both are nil once printed.
	SealedKey []byte `json:",omitempty"`
	Sealed    []byte `json:",omitempty"`
	// Batch is the export batch it went out in, and when (empty and zero
	// until exported); PrintedAt when that batch was marked printed.
	Batch      string    `json:",omitempty"`
	ExportedAt time.Time `json:",omitzero"`
	PrintedAt  time.Time `json:",omitzero"`
}

// Printed reports whether the letter was printed (its data deleted).
func (p *PrintLetter) Printed() bool { return !p.PrintedAt.IsZero() }

// Waiting reports whether the letter waits to see if it is read in time.
func (p *PrintLetter) Waiting() bool { return !p.WaitUntil.IsZero() }

// Reply is a resident's reply to a letter (API.md, "Replies and
// signatures"). Package store documents the rules (store/replies.go).
// The ids, the time and the sizes are in clear; the text, the attachments
// and their names are in Sealed (crypto's sealed reply v1, the sender's
// copy), whose data key is also sealed to the resident in ResidentKey.
type Reply struct {
	ID string
	// LetterID is the letter replied to; empty for a message that starts
	// a conversation with a sender that accepts messages.
	LetterID    string
	ResidentID  string
	SenderID    string
	Created     time.Time
	Attachments int // how many
	Size        int // of Sealed, in bytes
	Sealed      []byte
	ResidentKey []byte
	// Answers are the ids of the sender's letters that answer it
	// (Letter.InReplyTo), in the order delivered.
	Answers []string `json:",omitempty"`
	// WrittenBy is the delegate who wrote the reply on the resident's
	// behalf through the grant DelegationID (access "act"); empty when
	// the resident wrote it. DelegateKey is the reply's data key sealed
	// to that delegate (crypto.ReplyBinding.Delegate), removed when the
	// grant ends.
	WrittenBy    string `json:",omitempty"`
	DelegationID string `json:",omitempty"`
	DelegateKey  []byte `json:",omitempty"`
}
