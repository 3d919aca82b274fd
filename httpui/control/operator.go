// Package control is the operator's way into a running appliance: the
// control socket DATA/ctl.sock, a unix socket that only the appliance's
// own user (and root) may use, over which the command line (postkasse
// sender …, resident …, terms …, jobs status) asks the server to act. bbolt lets one
// process open the database, so while the server runs the command line
// cannot; with the server stopped, the command line runs the same
// operations directly on the data folder.
//
// Operator carries the operations out on a store (both ways use it);
// Handler serves them as HTTP with JSON bodies on the socket; Client is
// the command line's side. Both Operator and Client implement Operations.
//
// # Protocol
//
// HTTP/1.1 over the unix socket, JSON bodies, errors as
// {"error": "…", "code": "…"} with a status code:
//
//	GET  /v1/status           → {"pid": 1234}
//	GET  /v1/senders          → [SenderInfo]
//	POST /v1/senders          SenderRequest → 201 NewSender (with the new key: the socket is owner-only)
//	POST /v1/senders/revoke   RevokeRequest → SenderInfo
//	POST /v1/senders/certificates  SenderRef → 201 NewSender (another certificate and key)
//	POST /v1/senders/rate     RateRequest → SenderInfo
//	POST /v1/senders/reply-key ReplyKeyRequest → SenderInfo
//	POST /v1/senders/messages MessagesRequest → SenderInfo
//	GET  /v1/residents        → [ResidentInfo]
//	POST /v1/residents        ResidentRequest → 201 NewResident (with the activation code: the socket is owner-only)
//	POST /v1/residents/death  DeathRequest → ResidentInfo
//	GET  /v1/terms            → [TermsInfo]
//	POST /v1/terms            TermsRequest → 201 TermsInfo (up to 8 MiB: the full text)
//	GET  /v1/jobs             → [JobInfo]
//	GET  /v1/callbacks        → [CallbackInfo]
//	POST /v1/callbacks        CallbackRequest → CallbackInfo
//	POST /v1/callbacks/remove SenderRef → CallbackRemoved
//
// Codes: INVALID (400), TERMS_NOTICE_PERIOD (400: an effective date less
// than one month ahead), NOT_FOUND (404), EXISTS and REVOKED (409),
// UNAVAILABLE (503: no scheduler), INTERNAL (500). Client errors match
// the sentinels they came from with errors.Is.
package control

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store"
)

// Operations are what the operator may do through the command line.
type Operations interface {
	AddSender(ctx context.Context, req SenderRequest) (NewSender, error)
	Senders(ctx context.Context) ([]SenderInfo, error)
	RevokeSender(ctx context.Context, req RevokeRequest) (SenderInfo, error)
	IssueCertificate(ctx context.Context, req SenderRef) (NewSender, error)
	EnrolResident(ctx context.Context, req ResidentRequest) (NewResident, error)
	Residents(ctx context.Context) ([]ResidentInfo, error)
	RecordDeath(ctx context.Context, req DeathRequest) (ResidentInfo, error)
	PublishTerms(ctx context.Context, req TermsRequest) (TermsInfo, error)
	Terms(ctx context.Context) ([]TermsInfo, error)
	Jobs(ctx context.Context) ([]JobInfo, error)
	BlockResident(ctx context.Context, req BlockRequest) (BlockInfo, error)
	UnblockResident(ctx context.Context, req ResidentRef) (BlockInfo, error)
	ReserveResident(ctx context.Context, req ResidentRef) (ResidentInfo, error)
	UnreserveResident(ctx context.Context, req ResidentRef) (ResidentInfo, error)
	AddGuardian(ctx context.Context, req GuardianRequest) (GuardianInfo, error)
	RemoveGuardian(ctx context.Context, req GuardianRequest) (GuardianInfo, error)
	IssueResetCode(ctx context.Context, req ResidentRef) (NewResetCode, error)
	MakeInaccessible(ctx context.Context, req HoldRequest) (HoldInfo, error)
	MakeAccessible(ctx context.Context, req LetterRef) (HoldInfo, error)
	SupportRequests(ctx context.Context) ([]SupportInfo, error)
	SupportRequest(ctx context.Context, req SupportRef) (SupportInfo, error)
	AnswerSupport(ctx context.Context, req AnswerRequest) (SupportInfo, error)
	Backup(ctx context.Context, req BackupRequest) (BackupInfo, error)
	SetCallback(ctx context.Context, req CallbackRequest) (CallbackInfo, error)
	RemoveCallback(ctx context.Context, req SenderRef) (CallbackRemoved, error)
	Callbacks(ctx context.Context) ([]CallbackInfo, error)
	SetSenderRate(ctx context.Context, req RateRequest) (SenderInfo, error)
	SetSenderReplyKey(ctx context.Context, req ReplyKeyRequest) (SenderInfo, error)
	SetSenderMessages(ctx context.Context, req MessagesRequest) (SenderInfo, error)
	PrintKey(ctx context.Context) (PrintKeyInfo, error)
	PrintExport(ctx context.Context, req PrintExportRequest) (PrintExportInfo, error)
	PrintDone(ctx context.Context, req PrintDoneRequest) (PrintDoneInfo, error)
	PrintStatus(ctx context.Context) (PrintStatusInfo, error)
}

// SenderRequest registers a sender.
type SenderRequest struct {
	Name      string `json:"name"`
	OrgNumber string `json:"orgNumber"`
	Kind      string `json:"kind"` // public or private
}

// SenderInfo is a sender as the operator sees it.
type SenderInfo struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	OrgNumber    string            `json:"orgNumber"`
	Kind         string            `json:"kind"`
	Revoked      bool              `json:"revoked"`
	RevokedAt    *time.Time        `json:"revokedAt,omitempty"`
	Created      time.Time         `json:"created"`
	Certificates []CertificateInfo `json:"certificates"`
	// Rate and Burst are the sender's token bucket on the API: requests a
	// second sustained and at once, its own or (DefaultRate) the
	// appliance's default.
	Rate        float64 `json:"rate"`
	Burst       int     `json:"burst"`
	DefaultRate bool    `json:"defaultRate"`
	// ReplyKey is the X25519 public key its replies are sealed to,
	// standard base64; empty when none is registered.
	ReplyKey string `json:"replyKey,omitempty"`
	// AcceptsMessages: residents may start conversations with it.
	AcceptsMessages bool `json:"acceptsMessages"`
}

// RateRequest sets a sender's own token bucket on the API: the sender by
// its id or organisation number, Rate requests a second sustained and
// Burst at once; both zero goes back to the default.
type RateRequest struct {
	ID        string  `json:"id,omitempty"`
	OrgNumber string  `json:"orgNumber,omitempty"`
	Rate      float64 `json:"rate"`
	Burst     int     `json:"burst"`
}

// ReplyKeyRequest registers the X25519 public key (32 bytes, standard
// base64) a sender's replies are sealed to (store.Store.SetSenderReplyKey).
type ReplyKeyRequest struct {
	ID        string `json:"id,omitempty"`
	OrgNumber string `json:"orgNumber,omitempty"`
	PublicKey string `json:"publicKey"`
}

// MessagesRequest lets residents start conversations with a sender (On),
// or stops it (store.Store.SetSenderAcceptsMessages).
type MessagesRequest struct {
	ID        string `json:"id,omitempty"`
	OrgNumber string `json:"orgNumber,omitempty"`
	On        bool   `json:"on"`
}

// CertificateInfo is a client certificate bound to a sender.
type CertificateInfo struct {
	Fingerprint string    `json:"fingerprint"` // SHA-256 of the DER, hex
	Serial      string    `json:"serial"`
	NotAfter    time.Time `json:"notAfter"`
	Revoked     bool      `json:"revoked"`
}

// NewSender is a registered sender with its first certificate and key, in
// PEM. The key exists nowhere else: it is not stored by the appliance.
type NewSender struct {
	Sender         SenderInfo `json:"sender"`
	CertificatePEM string     `json:"certificatePem"`
	KeyPEM         string     `json:"keyPem"`
}

// RevokeRequest names what to revoke: exactly one of a sender by its id or
// by its organisation number (the sender and all its certificates), or one
// certificate by its fingerprint (the sender stays).
type RevokeRequest struct {
	ID          string `json:"id,omitempty"`
	OrgNumber   string `json:"orgNumber,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// SenderRef names an active sender by its id or its organisation number
// (exactly one).
type SenderRef struct {
	ID        string `json:"id,omitempty"`
	OrgNumber string `json:"orgNumber,omitempty"`
}

// ResidentRequest enrols a resident. There is no password: the resident
// chooses one when activating the mailbox.
type ResidentRequest struct {
	NationalID string `json:"nationalId"`
	Name       string `json:"name"`
}

// ResidentInfo is a resident as the operator sees it.
type ResidentInfo struct {
	ID         string     `json:"id"`
	NationalID string     `json:"nationalId"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Created    time.Time  `json:"created"`
	LastLogin  *time.Time `json:"lastLogin,omitempty"`
	// ActivationExpires: while the mailbox is pending, when its
	// activation code expires.
	ActivationExpires *time.Time `json:"activationExpires,omitempty"`
}

// NewResident is an enrolled, pending resident with the activation code,
// which is shown once and not stored (only its hash is). The resident
// activates the mailbox with it in the browser, choosing a password and
// getting a recovery key that the operator never sees.
type NewResident struct {
	Resident       ResidentInfo `json:"resident"`
	ActivationCode string       `json:"activationCode"`
}

// ErrBadRequest is a request the operations refuse before calling the
// store (store errors keep their own sentinels).
var ErrBadRequest = errors.New("bad request")

// Operator carries the operations out on a store, issuing senders'
// certificates with the sender CA.
type Operator struct {
	Store *store.Store
	CA    *crypto.CA
	// CertificateValidity is the lifetime of new sender certificates.
	CertificateValidity time.Duration
	Clock               func() time.Time // nil = time.Now
	Rand                io.Reader        // nil = crypto/rand
	// Location is the appliance's time zone (jobs.time_zone), in which
	// effective dates of terms and dates of death are read. Nil = UTC.
	Location *time.Location
	// JobStatus returns the scheduled jobs' status. main builds it from
	// the scheduler (package control does not know package jobs). Nil:
	// Jobs is ErrNoScheduler.
	JobStatus func() ([]JobInfo, error)
	// Municipality is the organisation number of the municipality's
	// public sender (jobs.municipality), which answers support requests.
	Municipality string
	// SupportWording words the letter of an answer in the resident's
	// language (main takes it from the catalogue). Nil: English.
	SupportWording store.SupportAnswerWording
	// BackupTo writes a backup of the data folder to a path (main knows
	// the folder's layout). Nil: Backup is ErrNoBackup.
	BackupTo func(ctx context.Context, path string) (BackupInfo, error)
	// CheckCallback checks a callback URL as the API does, its form and
	// its host's addresses (main passes api.CheckCallbackURL with the
	// [callbacks] table). Nil: the store checks the form only.
	CheckCallback func(ctx context.Context, url string) error
	// CallbackPolicy is the [callbacks] table's policy.
	CallbackPolicy store.CallbackPolicy
}

var _ Operations = (*Operator)(nil)

func (o *Operator) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

func (o *Operator) rand() io.Reader {
	if o.Rand != nil {
		return o.Rand
	}
	return cryptorand.Reader
}

// AddSender registers a sender with its first client certificate, which
// it issues with the sender's name and organisation number: the store
// registers both in one transaction, so no sender is ever stored without
// its certificate. A refused registration leaves only an issued
// certificate that is bound to nothing.
func (o *Operator) AddSender(ctx context.Context, req SenderRequest) (NewSender, error) {
	kind, err := store.ParseSenderKind(req.Kind)
	if err != nil {
		return NewSender{}, err
	}
	name, err := store.CheckSender(req.Name, req.OrgNumber, kind)
	if err != nil {
		return NewSender{}, err
	}
	if o.CA == nil {
		return NewSender{}, errors.New("add sender: no sender CA")
	}
	validity := o.CertificateValidity
	if validity <= 0 {
		return NewSender{}, errors.New("add sender: no certificate validity")
	}
	certPEM, keyPEM, cert, err := o.CA.IssueClient(o.rand(), name, req.OrgNumber, o.now(), validity)
	if err != nil {
		return NewSender{}, fmt.Errorf("add sender %q: %w", name, err)
	}
	sender, err := o.Store.AddSender(ctx, name, req.OrgNumber, kind, cert)
	if err != nil {
		return NewSender{}, err
	}
	return NewSender{Sender: senderInfo(sender), CertificatePEM: string(certPEM), KeyPEM: string(keyPEM)}, nil
}

// Senders lists every sender, revoked ones included.
func (o *Operator) Senders(context.Context) ([]SenderInfo, error) {
	senders, err := o.Store.Senders(context.Background())
	if err != nil {
		return nil, err
	}
	out := make([]SenderInfo, 0, len(senders))
	for _, s := range senders {
		out = append(out, senderInfo(s))
	}
	return out, nil
}

// RevokeSender revokes a sender or one certificate (RevokeRequest). The
// running server refuses it from the next request on.
func (o *Operator) RevokeSender(ctx context.Context, req RevokeRequest) (SenderInfo, error) {
	set := 0
	for _, v := range []string{req.ID, req.OrgNumber, req.Fingerprint} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return SenderInfo{}, fmt.Errorf("%w: name exactly one of a sender id, an organisation number or a certificate fingerprint", ErrBadRequest)
	}
	if req.Fingerprint != "" {
		s, err := o.Store.RevokeCertificate(ctx, strings.ToLower(req.Fingerprint))
		if err != nil {
			return SenderInfo{}, err
		}
		return senderInfo(s), nil
	}
	id, err := o.senderID(SenderRef{ID: req.ID, OrgNumber: req.OrgNumber})
	if err != nil {
		return SenderInfo{}, err
	}
	if err := o.Store.RevokeSender(ctx, id); err != nil {
		return SenderInfo{}, err
	}
	s, err := o.Store.Sender(ctx, id)
	if err != nil {
		return SenderInfo{}, err
	}
	return senderInfo(s), nil
}

// senderID returns the id of the sender ref names; by organisation
// number only an active sender is found (store.Store.SenderByOrgNumber).
func (o *Operator) senderID(ref SenderRef) (string, error) {
	if (ref.ID == "") == (ref.OrgNumber == "") {
		return "", fmt.Errorf("%w: name exactly one of a sender id and an organisation number", ErrBadRequest)
	}
	if ref.ID != "" {
		return ref.ID, nil
	}
	s, err := o.Store.SenderByOrgNumber(context.Background(), ref.OrgNumber)
	if err != nil {
		return "", err
	}
	return s.ID, nil
}

// IssueCertificate issues another client certificate for an active sender
// and binds it: for a sender whose certificate nears its end, or who needs
// a second one. The sender's other certificates stay valid until they
// expire or are revoked.
func (o *Operator) IssueCertificate(ctx context.Context, ref SenderRef) (NewSender, error) {
	id, err := o.senderID(ref)
	if err != nil {
		return NewSender{}, err
	}
	sender, err := o.Store.Sender(ctx, id)
	if err != nil {
		return NewSender{}, err
	}
	if sender.Revoked {
		return NewSender{}, fmt.Errorf("sender %s: %w", id, store.ErrSenderRevoked)
	}
	if o.CA == nil || o.CertificateValidity <= 0 {
		return NewSender{}, errors.New("issue certificate: no sender CA or validity")
	}
	certPEM, keyPEM, cert, err := o.CA.IssueClient(o.rand(), sender.Name, sender.OrgNumber, o.now(), o.CertificateValidity)
	if err != nil {
		return NewSender{}, err
	}
	if err := o.Store.BindCertificate(ctx, id, cert); err != nil {
		return NewSender{}, err
	}
	if sender, err = o.Store.Sender(ctx, id); err != nil {
		return NewSender{}, err
	}
	return NewSender{Sender: senderInfo(sender), CertificatePEM: string(certPEM), KeyPEM: string(keyPEM)}, nil
}

// EnrolResident enrols a resident as pending and returns the activation
// code for the resident (store.Store.EnrolResident). Enrolling a pending
// resident again gives a new code.
func (o *Operator) EnrolResident(ctx context.Context, req ResidentRequest) (NewResident, error) {
	nid, err := store.ParseNationalID(req.NationalID)
	if err != nil {
		return NewResident{}, err
	}
	r, code, err := o.Store.EnrolResident(ctx, nid, req.Name)
	if err != nil {
		return NewResident{}, err
	}
	return NewResident{Resident: residentInfo(r), ActivationCode: code}, nil
}

// Residents lists every resident.
func (o *Operator) Residents(context.Context) ([]ResidentInfo, error) {
	residents, err := o.Store.Residents(context.Background())
	if err != nil {
		return nil, err
	}
	out := make([]ResidentInfo, 0, len(residents))
	for _, r := range residents {
		out = append(out, residentInfo(r))
	}
	return out, nil
}

// SetSenderRate sets a sender's own token bucket on the API
// (store.Store.SetSenderRate): the running server applies it from the
// sender's next request on.
func (o *Operator) SetSenderRate(ctx context.Context, req RateRequest) (SenderInfo, error) {
	id, err := o.senderID(SenderRef{ID: req.ID, OrgNumber: req.OrgNumber})
	if err != nil {
		return SenderInfo{}, err
	}
	s, err := o.Store.SetSenderRate(ctx, id, req.Rate, req.Burst)
	if err != nil {
		return SenderInfo{}, err
	}
	return senderInfo(s), nil
}

// SetSenderReplyKey registers a sender's reply key for it, as the sender
// itself does with PUT /api/v1/reply-key.
func (o *Operator) SetSenderReplyKey(ctx context.Context, req ReplyKeyRequest) (SenderInfo, error) {
	id, err := o.senderID(SenderRef{ID: req.ID, OrgNumber: req.OrgNumber})
	if err != nil {
		return SenderInfo{}, err
	}
	key, err := base64.StdEncoding.DecodeString(req.PublicKey)
	if err != nil {
		return SenderInfo{}, &store.InvalidError{Field: "publicKey", Reason: "not standard base64"}
	}
	if err := o.Store.SetSenderReplyKey(ctx, id, key, false); err != nil {
		return SenderInfo{}, err
	}
	s, err := o.Store.Sender(ctx, id)
	if err != nil {
		return SenderInfo{}, err
	}
	return senderInfo(s), nil
}

// SetSenderMessages lets residents start conversations with a sender
// that has a reply key, or stops it.
func (o *Operator) SetSenderMessages(ctx context.Context, req MessagesRequest) (SenderInfo, error) {
	id, err := o.senderID(SenderRef{ID: req.ID, OrgNumber: req.OrgNumber})
	if err != nil {
		return SenderInfo{}, err
	}
	if err := o.Store.SetSenderAcceptsMessages(ctx, id, req.On); err != nil {
		return SenderInfo{}, err
	}
	s, err := o.Store.Sender(ctx, id)
	if err != nil {
		return SenderInfo{}, err
	}
	return senderInfo(s), nil
}

func senderInfo(s store.Sender) SenderInfo {
	info := SenderInfo{
		ID: s.ID, Name: s.Name, OrgNumber: s.OrgNumber, Kind: string(s.Kind),
		Revoked: s.Revoked, Created: s.Created, Certificates: []CertificateInfo{},
		DefaultRate: s.APIRate == 0,
	}
	info.Rate, info.Burst = store.SenderRate(s, store.DefaultSenderRate, store.DefaultSenderBurst)
	if len(s.ReplyKey) > 0 {
		info.ReplyKey = base64.StdEncoding.EncodeToString(s.ReplyKey)
	}
	info.AcceptsMessages = s.AcceptsMessages
	if !s.RevokedAt.IsZero() {
		at := s.RevokedAt
		info.RevokedAt = &at
	}
	for _, c := range s.Certificates {
		info.Certificates = append(info.Certificates, CertificateInfo{
			Fingerprint: c.Fingerprint, Serial: c.Serial, NotAfter: c.NotAfter, Revoked: c.Revoked,
		})
	}
	return info
}

func residentInfo(r store.Resident) ResidentInfo {
	info := ResidentInfo{
		ID: r.ID, NationalID: r.NationalID.String(), Name: r.Name, Status: string(r.Status), Created: r.Created,
	}
	if !r.LastLogin.IsZero() {
		at := r.LastLogin
		info.LastLogin = &at
	}
	if !r.ActivationExpires.IsZero() {
		at := r.ActivationExpires
		info.ActivationExpires = &at
	}
	return info
}
