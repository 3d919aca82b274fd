package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
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
}

// NotificationKind is what a notification is about.
type NotificationKind string

// Notification kinds; package store documents them.
const (
	NotifyLetter            NotificationKind = "letter"
	NotifyInactivityWarning NotificationKind = "inactivity-warning"
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
	Type            string // "delivered", "read", "paid-marked", "made-inaccessible", …
	LetterID        string
	SenderReference string
	At              time.Time
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
