package store

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/auditlog"
	"github.com/postkasse/postkasse/store/storage"
)

// Errors of the store. Callers at the edges (httpui, main) map them to
// problem codes and messages with errors.Is; InvalidError with errors.As.
var (
	// ErrNotFound: no such object, or not one the caller may see. A sender
	// asking for another sender's letter and a resident asking for another
	// resident's letter both get ErrNotFound, never a hint that it exists.
	ErrNotFound = storage.ErrNotFound
	// ErrExists: the object (resident, sender) exists already.
	ErrExists = errors.New("already exists")
	// ErrInvalidNationalID: not a valid Danish CPR or Norwegian fødselsnummer.
	ErrInvalidNationalID = errors.New("invalid national identity number")
	// ErrUnknownRecipient: no mailbox for that national identity number.
	ErrUnknownRecipient = errors.New("no mailbox for that national identity number")
	// ErrRecipientNotDigital: the mailbox exists but takes no digital post
	// (reserved, closed or deceased).
	ErrRecipientNotDigital = errors.New("recipient does not take digital post")
	// ErrDuplicateReference: the sender reused a senderReference for
	// different content.
	ErrDuplicateReference = errors.New("sender reference already used for different content")
	// ErrUnknownSender: the client certificate is bound to no sender.
	ErrUnknownSender = errors.New("certificate bound to no sender")
	// ErrSenderRevoked: the sender (or the certificate) was revoked.
	ErrSenderRevoked = errors.New("sender revoked")
	// ErrDocumentTooLarge: a document, or the letter, is over the limits.
	ErrDocumentTooLarge = errors.New("document too large")
	// ErrUnsupportedDocumentType: the declared type is not supported, or
	// the content does not match it.
	ErrUnsupportedDocumentType = errors.New("unsupported document type")
	// ErrNotScheduled: the letter is not scheduled (any more), so it
	// cannot be withdrawn: it was released, or was never scheduled.
	ErrNotScheduled = errors.New("letter is not scheduled")
	// ErrBadCredentials: a login failed. Unknown account, wrong password
	// and an account that may not log in (a pending one among them) look
	// the same.
	ErrBadCredentials = errors.New("wrong national identity number or password")
	// ErrBadActivation: an activation failed. Unknown account, an account
	// that is not pending, a wrong, expired or used code look the same.
	ErrBadActivation = errors.New("wrong national identity number or activation code, or the code has expired or was used")
	// ErrBadResetCode: a reset with a code from the operator failed.
	// Unknown account, an account that cannot be reset, a wrong, expired
	// or used code look the same.
	ErrBadResetCode = errors.New("wrong national identity number or reset code, or the code has expired or was used")
	// ErrResetCodePending: the code given to reset a mailbox is the
	// activation code of a mailbox never activated, which is activated
	// with it instead.
	ErrResetCodePending = errors.New("the mailbox was never activated: use the activation code to activate it")
	// ErrEIDExpired: a sign-in with eID was not found: its handshake or
	// proof is unknown, was used, or expired (EIDLifetime).
	ErrEIDExpired = errors.New("the sign-in with eID expired or was used")
	// ErrNoMailbox: the resident proved who they are with eID, but has
	// no mailbox that may sign in.
	ErrNoMailbox = errors.New("no mailbox that may sign in for that national identity number")
	// ErrSessionExpired: the session cookie names no live session.
	ErrSessionExpired = errors.New("session expired")
	// ErrUnavailable: the database could not store the change (disk full,
	// I/O error). Nothing was stored; the caller may try again.
	ErrUnavailable = storage.ErrUnavailable
	// ErrClosed: the store is closed or closing.
	ErrClosed = errors.New("store closed")
	// ErrTermsNoticePeriod: new terms of use must take effect at least one
	// calendar month after they are published.
	ErrTermsNoticePeriod = errors.New("terms of use need at least one month's notice")
	// ErrTermsOutdated: the resident accepted a version of the terms that
	// is not the one in force (any more).
	ErrTermsOutdated = errors.New("not the terms of use in force")
	// ErrTermsNotAccepted: terms of use are in force that the mailbox's
	// owner has not accepted; until they do, the mailbox opens nothing
	// but the terms (Mailbox.PendingTerms, AcceptTerms) and deleting it.
	ErrTermsNotAccepted = errors.New("the terms of use in force are not accepted")
	// ErrNoMunicipality: no active public sender is configured to deliver
	// the appliance's own letters (Municipality).
	ErrNoMunicipality = errors.New("the municipality must be an active public sender")
	// ErrNoSignatureRequest: the letter asks for no signature, or (for
	// its sender) has no signature or refusal yet.
	ErrNoSignatureRequest = errors.New("no signature request, or not answered yet")
	// ErrSignatureExpired: the signature request's deadline has passed.
	ErrSignatureExpired = errors.New("the deadline to sign has passed")
	// ErrSignatureAnswered: the resident has signed or declined already.
	ErrSignatureAnswered = errors.New("the signature request was answered already")
	// ErrDelegateSelf: a resident tried to give access to their mailbox
	// to themselves (delegation.go).
	ErrDelegateSelf = errors.New("a grant of access cannot be given to oneself")
	// ErrDelegateUnknown: the delegate (or ward) named has no open
	// mailbox on this appliance: unknown, pending, closed or deceased.
	ErrDelegateUnknown = errors.New("no open mailbox for that national identity number")
	// ErrDelegationUntilPast: the last day of a grant is before today.
	ErrDelegationUntilPast = errors.New("the last day of the grant is in the past")
	// ErrDelegationInvalid: a grant's access or scope is none of the
	// known ones.
	ErrDelegationInvalid = errors.New("unknown access or scope of a grant")
	// ErrDelegationExists: the grantor already gave the delegate a grant.
	ErrDelegationExists = errors.New("that resident already has a grant to this mailbox")
	// ErrDelegationReadOnly: a delegate with read access tried an act.
	ErrDelegationReadOnly = errors.New("the grant gives read access only")
	// ErrGuardianship: a guardianship is ended by the operator only.
	ErrGuardianship = errors.New("a guardianship is ended by the operator")
)

// InvalidError is a request that breaks a rule about one field. Field names
// are those of the sender API ("subject", "document[1]").
type InvalidError struct {
	Field  string
	Reason string
	// Err, when set, is the sentinel of the rule that failed (such as
	// ErrPasswordGuessable), for errors.Is.
	Err error
}

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason) }

// Unwrap returns the rule's sentinel, if any.
func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ResidentStatus is the state of a resident's mailbox.
type ResidentStatus = storage.ResidentStatus

// Resident statuses. Only an active mailbox takes digital post; a reserved
// one has opted out but may still log in. A pending one was enrolled by the
// operator and has no key pair yet: it takes no post and cannot log in
// until the resident activates it (Activate). A deleted one is a
// tombstone (see ResidentDeleted).
const (
	ResidentPending  = storage.ResidentPending
	ResidentActive   = storage.ResidentActive
	ResidentReserved = storage.ResidentReserved
	ResidentClosed   = storage.ResidentClosed
	ResidentDeceased = storage.ResidentDeceased
)

// Resident is a person with a mailbox. Everything here is in clear in the
// database; the private key exists only wrapped.
type Resident struct {
	ID         string
	NationalID NationalID
	Name       string
	Status     ResidentStatus
	PublicKey  crypto.PublicKey // zero while pending
	Created    time.Time
	LastLogin  time.Time // zero before the first login
	// ActivationExpires is when a pending mailbox's activation code
	// expires; zero once the mailbox is activated.
	ActivationExpires time.Time
	// Blocked is why the operator blocked access to the account, and
	// BlockedAt since when; "" when it is not blocked.
	Blocked   string
	BlockedAt time.Time
	// HasPassword is false for a mailbox made with eID and a passkey,
	// until the resident chooses a password (Mailbox.ChoosePassword):
	// what asks for the current password cannot be answered then.
	HasPassword bool
}

// SenderKind tells public authorities from private businesses: the first
// cannot be blocked by residents, the second can.
type SenderKind = storage.SenderKind

// Sender kinds.
const (
	SenderPublic  = storage.SenderPublic
	SenderPrivate = storage.SenderPrivate
)

// Sender is an organisation that delivers letters through the API, as
// the store keeps it.
type Sender = storage.Sender

// SenderCertificate is a client certificate bound to a sender.
type SenderCertificate = storage.SenderCertificate

// LetterType is what kind of letter it is. It is in clear.
type LetterType = storage.LetterType

// Letter types of API v1.
const (
	TypeLetter   = storage.TypeLetter
	TypeDecision = storage.TypeDecision
	TypeInvoice  = storage.TypeInvoice
	TypeNotice   = storage.TypeNotice
)

// Delivery is a letter as a sender hands it in.
type Delivery struct {
	Recipient       NationalID
	Subject         string
	Body            string // optional short text shown above the documents
	SenderReference string
	Type            LetterType
	DueDate         string // optional, YYYY-MM-DD
	ReplyAllowed    bool
	// InReplyTo names the resident's reply this letter answers (API.md's
	// inReplyTo, store/replies.go): a reply to this sender from this
	// recipient; "" for none.
	InReplyTo string
	Documents []DocumentInput // the first is the main document
	// Sensitive letters are notified without the sender's name (a
	// notification never has the subject or content of any letter).
	Sensitive bool
	// OpeningReceipt: the sender gets a "read" event when the resident
	// first opens the letter (its status says "read" either way).
	OpeningReceipt bool
	// Invoice and Actions make a structured letter (store/structured.go);
	// they are sealed with the letter.
	Invoice *Invoice
	Actions []Action
	// SignatureRequest asks the resident to sign the main document
	// (store/signing.go); sealed with the letter like Invoice.
	SignatureRequest *SignatureRequest
	// NotBefore, when later than the time of delivery, schedules the
	// letter (API.md, notBefore): stored and sealed now, released into
	// the mailbox at that time by ReleaseScheduled, delivered as of it.
	// Zero, or a time that has come, delivers at once. At most a year
	// ahead.
	NotBefore time.Time
	// Print, when set, has the letter printed and posted instead when
	// its recipient takes no digital post (store/print.go): its
	// documents must then all be PDF.
	Print *PrintRequest

	// printPages are the pages of each document, counted by checkLetterDocuments
	// when Print is set.
	printPages []int
	// answersResident marks the answer to the resident's own support
	// request: it reaches a resident who opted out of digital post too
	// (reserved), who asked in the mailbox and expects the answer there.
	answersResident bool
}

// DocumentInput is one document of a Delivery.
type DocumentInput struct {
	Name        string
	ContentType string // as declared by the sender, without parameters
	Content     []byte
	// Reader, when set, is the content as a stream instead of Content:
	// Documents.Add reads it once, to its end or a limit, and never
	// holds it whole.
	Reader io.Reader
}

// LetterStatus is what the sender may know about a letter it sent.
type LetterStatus struct {
	ID          string
	Status      string // "scheduled", "delivered", "read", "deleted", "queued-for-print" or "printed"
	DeliveredAt time.Time
	ReadAt      time.Time // zero while unread
}

// DeliveryResult is the answer to a delivery.
type DeliveryResult struct {
	Letter  LetterStatus
	Receipt Receipt
	// Repeated is true when the senderReference had been delivered before
	// with the same content: Letter and Receipt are the original ones.
	Repeated bool
}

// LetterHold is why, since when and on whose order a letter was made
// inaccessible.
type LetterHold = storage.LetterHold

// Receipt is the appliance's signed statement that a letter was delivered.
// Payload is the JSON of a ReceiptPayload exactly as signed. It encodes in
// JSON as the API shows it: payload and signature in standard base64.
type Receipt = storage.Receipt

// ReceiptPayload is what a receipt states.
type ReceiptPayload struct {
	Version         int       `json:"version"`
	LetterID        string    `json:"letterId"`
	SenderID        string    `json:"senderId"`
	SenderOrgNumber string    `json:"senderOrgNumber"`
	Recipient       string    `json:"recipient"` // national identity number
	SenderReference string    `json:"senderReference"`
	ContentHash     string    `json:"contentHash"` // "sha256:" + hex, see ContentHash
	DeliveredAt     time.Time `json:"deliveredAt"`
	// Audit proves that the delivery's entry is in the audit log
	// (version 2 on); version-1 receipts have none.
	Audit *auditlog.ReceiptProof `json:"audit,omitempty"`
}

// LetterSummary is a line of the inbox, opened for its resident.
type LetterSummary struct {
	ID          string
	SenderID    string
	SenderName  string
	SenderKind  SenderKind
	Subject     string
	Type        LetterType
	DeliveredAt time.Time
	ReadAt      time.Time // zero until the resident first opened it (the sender's "read")
	// ReadMark is the resident's own marking: nil follows ReadAt, true
	// marked read, false marked unread (Mailbox.MarkRead).
	ReadMark *bool
	// PaidAt is when the resident marked an invoice paid; zero if not.
	PaidAt    time.Time
	DueDate   string // YYYY-MM-DD or empty
	Documents int
	Size      int64
	// Folder is the folder the letter is in (FolderInbox, FolderArchive
	// or the id of an own folder).
	Folder string
	// Hold, when set, says the operator made the letter inaccessible
	// under a legal obligation: when, why and on whose order. The letter
	// is listed where it was, without its subject, and opens nothing
	// (ErrInaccessible) until it is made accessible again.
	Hold *LetterHold
	// Own is set for the resident's own document (Mailbox.Upload): no
	// sender sent it (SenderName is empty) and it has no receipt.
	Own bool
	// ImportedFrom is set for a letter the resident brought from another
	// appliance (Mailbox.Import); nil for one delivered here.
	ImportedFrom *LetterOrigin
	// Error is why the letter cannot be opened (its record is damaged, or
	// its key does not open with the resident's), nil for a letter that
	// opens. Inbox lists such a letter with its ID and DeliveredAt only,
	// rather than failing the whole inbox; show it as "This letter cannot
	// be opened", not with the error's text.
	Error error
}

// LetterOrigin is the appliance an imported letter came from: the name
// it gave itself, the id of the receipt key that signed the letter's
// receipt, and when the letter was imported.
type LetterOrigin struct {
	Appliance string
	KeyID     string
	Imported  time.Time
}

// Unread reports whether the resident has not opened the letter yet.
func (l LetterSummary) Unread() bool { return storage.IsUnread(l.ReadAt, l.ReadMark) }

// Letter is a letter opened for its resident, without document contents.
type Letter struct {
	LetterSummary
	Body            string
	ReplyAllowed    bool
	SenderReference string
	Documents       []DocumentInfo
	Receipt         Receipt
	// Invoice and Actions are a structured letter's (nil when none).
	Invoice *Invoice
	Actions []Action
	// SignatureRequest is the sender's request to sign the main document
	// (nil when none), Signature the resident's answer (nil while none).
	SignatureRequest *SignatureRequest
	Signature        *LetterSignature
}

// DocumentInfo describes one document of an opened letter.
type DocumentInfo struct {
	Index       int
	Name        string
	ContentType string
	Size        int64
}

// Document is an opened document with its content.
type Document struct {
	DocumentInfo
	Content []byte
}

// Session is a resident's login. Token is the cookie's value: it names the
// session and carries the secret that unwraps the session's copy of the
// resident's private key; the server never stores it.
type Session struct {
	Token      string
	ResidentID string
	Expires    time.Time
	// NewRecoveryKey is set when this sign-in gave the resident's key
	// pair its ML-KEM-768 half (envelope v2): the recovery key that now
	// opens the mailbox, to show the resident once. The old one no longer
	// works. Nil on every other sign-in.
	NewRecoveryKey *crypto.RecoveryKey
	// SecondStep is set when the password was right and the resident has
	// two-step verification on: Token is then no session but the first
	// step of the sign-in, which CompleteLogin completes with a code
	// within SecondStepLifetime.
	SecondStep bool
}

// AuditEntry is one fact in the audit log: who did what to which object,
// when. Seq is its position from 1 (its index in the Merkle tree log plus
// one).
type AuditEntry struct {
	Seq    uint64
	Time   time.Time
	Actor  string // "sender:<id>", "resident:<id>", "operator", "system"
	Action string // "deliver", "read", "login", ...
	Object string // "letter:<id>", "resident:<id>", ...
	Detail string // optional
}
