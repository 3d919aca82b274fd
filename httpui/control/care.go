package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/postkasse/postkasse/store"
)

// The operator's duty of care: blocking an account on suspected misuse
// (e-Boks' terms, section 4.7), making a letter inaccessible on a court's
// or an authority's order, and answering residents' support requests
// (section 5.1). Each is audited by the store.

// BlockRequest blocks a resident's account, with the reason the resident
// is shown when they try to sign in.
type BlockRequest struct {
	NationalID string `json:"nationalId"`
	Reason     string `json:"reason"`
}

// ResidentRef names a resident by national identity number.
type ResidentRef struct {
	NationalID string `json:"nationalId"`
}

// BlockInfo is a resident with their block, if any.
type BlockInfo struct {
	ResidentInfo
	Blocked   string     `json:"blocked,omitempty"`
	BlockedAt *time.Time `json:"blockedAt,omitempty"`
}

// HoldRequest makes a letter inaccessible.
type HoldRequest struct {
	LetterID string `json:"letterId"`
	Reason   string `json:"reason"`
	Order    string `json:"order"`
}

// LetterRef names a letter by id.
type LetterRef struct {
	LetterID string `json:"letterId"`
}

// HoldInfo is a letter's hold: why, on whose order and since when; empty
// when the letter was made accessible again.
type HoldInfo struct {
	LetterID string     `json:"letterId"`
	Reason   string     `json:"reason,omitempty"`
	Order    string     `json:"order,omitempty"`
	Since    *time.Time `json:"since,omitempty"`
}

// SupportInfo is a support request as the operator reads it.
type SupportInfo struct {
	ID          string     `json:"id"`
	ResidentID  string     `json:"residentId"`
	Category    string     `json:"category"`
	Subject     string     `json:"subject"`
	Description string     `json:"description"`
	NationalID  string     `json:"nationalId,omitempty"`
	Created     time.Time  `json:"created"`
	Answer      string     `json:"answer,omitempty"`
	AnsweredAt  *time.Time `json:"answeredAt,omitempty"`
}

// SupportRef names a support request by id.
type SupportRef struct {
	ID string `json:"id"`
}

// AnswerRequest answers a support request.
type AnswerRequest struct {
	ID     string `json:"id"`
	Answer string `json:"answer"`
}

// ErrNoMunicipality: answers are letters from the municipality's public
// sender, and jobs.municipality names none.
var ErrNoMunicipality = errors.New("support answers are letters from the municipality: set jobs.municipality to its public sender's organisation number")

func blockInfo(r store.Resident) BlockInfo {
	info := BlockInfo{ResidentInfo: residentInfo(r), Blocked: r.Blocked}
	if !r.BlockedAt.IsZero() {
		at := r.BlockedAt
		info.BlockedAt = &at
	}
	return info
}

func supportInfo(r store.SupportRequest) SupportInfo {
	info := SupportInfo{ID: r.ID, ResidentID: r.ResidentID, Category: r.Category, Subject: r.Subject,
		Description: r.Description, Created: r.Created, Answer: r.Answer}
	if r.NationalID != "" {
		info.NationalID = r.NationalID
	}
	if !r.AnsweredAt.IsZero() {
		at := r.AnsweredAt
		info.AnsweredAt = &at
	}
	return info
}

// BlockResident blocks an account: its sessions end at once and sign-in
// is refused with the reason.
func (o *Operator) BlockResident(ctx context.Context, req BlockRequest) (BlockInfo, error) {
	nid, err := store.ParseNationalID(req.NationalID)
	if err != nil {
		return BlockInfo{}, err
	}
	r, err := o.Store.BlockResident(ctx, nid, req.Reason)
	if err != nil {
		return BlockInfo{}, err
	}
	return blockInfo(r), nil
}

// UnblockResident lifts a block.
func (o *Operator) UnblockResident(ctx context.Context, req ResidentRef) (BlockInfo, error) {
	nid, err := store.ParseNationalID(req.NationalID)
	if err != nil {
		return BlockInfo{}, err
	}
	r, err := o.Store.UnblockResident(ctx, nid)
	if err != nil {
		return BlockInfo{}, err
	}
	return blockInfo(r), nil
}

// MakeInaccessible puts a hold on a letter: the resident sees that it was
// made inaccessible, when, why and on whose order, and cannot open it;
// the letter is kept.
func (o *Operator) MakeInaccessible(ctx context.Context, req HoldRequest) (HoldInfo, error) {
	h, err := o.Store.MakeInaccessible(ctx, req.LetterID, req.Reason, req.Order)
	if err != nil {
		return HoldInfo{}, err
	}
	at := h.At
	return HoldInfo{LetterID: req.LetterID, Reason: h.Reason, Order: h.Order, Since: &at}, nil
}

// MakeAccessible lifts a letter's hold.
func (o *Operator) MakeAccessible(ctx context.Context, req LetterRef) (HoldInfo, error) {
	if err := o.Store.MakeAccessible(ctx, req.LetterID); err != nil {
		return HoldInfo{}, err
	}
	return HoldInfo{LetterID: req.LetterID}, nil
}

// SupportRequests lists every support request, oldest first.
func (o *Operator) SupportRequests(ctx context.Context) ([]SupportInfo, error) {
	all, err := o.Store.SupportRequests(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]SupportInfo, 0, len(all))
	for _, r := range all {
		out = append(out, supportInfo(r))
	}
	return out, nil
}

// SupportRequest returns one support request.
func (o *Operator) SupportRequest(ctx context.Context, req SupportRef) (SupportInfo, error) {
	r, err := o.Store.SupportRequest(ctx, req.ID)
	if err != nil {
		return SupportInfo{}, err
	}
	return supportInfo(r), nil
}

// AnswerSupport answers a request: the answer is a letter from the
// municipality in the resident's mailbox, worded in their language.
func (o *Operator) AnswerSupport(ctx context.Context, req AnswerRequest) (SupportInfo, error) {
	if o.Municipality == "" {
		return SupportInfo{}, ErrNoMunicipality
	}
	snd, err := o.Store.Municipality(ctx, o.Municipality)
	if err != nil {
		return SupportInfo{}, err
	}
	wording := o.SupportWording
	if wording == nil {
		wording = func(string) store.SupportAnswerLetter {
			return store.SupportAnswerLetter{Subject: "Answer to your request", FileName: "answer.txt"}
		}
	}
	r, err := o.Store.AnswerSupportRequest(ctx, req.ID, snd.ID, req.Answer, wording)
	if err != nil {
		return SupportInfo{}, err
	}
	return supportInfo(r), nil
}

// The command line's side.

// BlockResident implements Operations.
func (c *Client) BlockResident(ctx context.Context, req BlockRequest) (BlockInfo, error) {
	var out BlockInfo
	err := c.do(ctx, http.MethodPost, "/v1/residents/block", req, &out)
	return out, err
}

// UnblockResident implements Operations.
func (c *Client) UnblockResident(ctx context.Context, req ResidentRef) (BlockInfo, error) {
	var out BlockInfo
	err := c.do(ctx, http.MethodPost, "/v1/residents/unblock", req, &out)
	return out, err
}

// MakeInaccessible implements Operations.
func (c *Client) MakeInaccessible(ctx context.Context, req HoldRequest) (HoldInfo, error) {
	var out HoldInfo
	err := c.do(ctx, http.MethodPost, "/v1/letters/make-inaccessible", req, &out)
	return out, err
}

// MakeAccessible implements Operations.
func (c *Client) MakeAccessible(ctx context.Context, req LetterRef) (HoldInfo, error) {
	var out HoldInfo
	err := c.do(ctx, http.MethodPost, "/v1/letters/make-accessible", req, &out)
	return out, err
}

// SupportRequests implements Operations.
func (c *Client) SupportRequests(ctx context.Context) ([]SupportInfo, error) {
	var out []SupportInfo
	err := c.do(ctx, http.MethodGet, "/v1/support", nil, &out)
	return out, err
}

// SupportRequest implements Operations.
func (c *Client) SupportRequest(ctx context.Context, req SupportRef) (SupportInfo, error) {
	var out SupportInfo
	err := c.do(ctx, http.MethodPost, "/v1/support/request", req, &out)
	return out, err
}

// AnswerSupport implements Operations.
func (c *Client) AnswerSupport(ctx context.Context, req AnswerRequest) (SupportInfo, error) {
	var out SupportInfo
	err := c.do(ctx, http.MethodPost, "/v1/support/answer", req, &out)
	return out, err
}

// BackupRequest asks for a backup of the data folder written to Path (an
// absolute path the server's user may write; it must not exist).
type BackupRequest struct {
	Path string `json:"path"`
}

// BackupInfo describes a backup written: its files (the database among
// them), the database's size and how long its copy took while serving.
type BackupInfo struct {
	Path          string    `json:"path"`
	Files         int       `json:"files"`
	DatabaseBytes int64     `json:"databaseBytes"`
	CopyMillis    int64     `json:"copyMillis"`
	Created       time.Time `json:"created"`
}

// ErrNoBackup: the operator was built without a way to write backups.
var ErrNoBackup = errors.New("backups are not available here")

// Backup writes a backup of the data folder (main's BackupTo).
func (o *Operator) Backup(ctx context.Context, req BackupRequest) (BackupInfo, error) {
	if o.BackupTo == nil {
		return BackupInfo{}, ErrNoBackup
	}
	if req.Path == "" || !filepath.IsAbs(req.Path) {
		return BackupInfo{}, fmt.Errorf("backup path %q: want an absolute path: %w", req.Path, ErrBadRequest)
	}
	return o.BackupTo(ctx, req.Path)
}

// Backup implements Operations.
func (c *Client) Backup(ctx context.Context, req BackupRequest) (BackupInfo, error) {
	var out BackupInfo
	err := c.do(ctx, http.MethodPost, "/v1/backup", req, &out)
	return out, err
}
