package crypto

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// MaxReplyAttachments is how many attachments a reply's format holds at
// most (API.md: a reply is a text and up to 5 attachments).
const MaxReplyAttachments = 5

// Reply is a resident's reply to a letter, in clear: its text and its
// attachments, each with its file name and content type.
type Reply struct {
	Text        string
	Attachments []ReplyAttachment
}

// ReplyAttachment is one file of a reply.
type ReplyAttachment struct {
	Name        string
	ContentType string
	Content     []byte
}

// SealedReply is a reply sealed by SealReply: ForSender is the whole
// sealed reply v1, which the sender fetches and opens with its reply key's
// private key; ResidentKey is the reply's data key sealed a second time,
// to the resident, which opens the same ForSender bytes with it
// (OpenReplyWithKey). Neither opens without a private key.
type SealedReply struct {
	ForSender   []byte
	ResidentKey []byte
	// DelegateKey is the data key sealed to the delegate who wrote the
	// reply on the resident's behalf (SealReplyOnBehalf); nil otherwise.
	DelegateKey []byte
}

// The header of a sealed reply v1: 'R' (0x52), version 1.
const (
	replyMagic     = 'R'
	replyHeaderLen = 2
	replyDocLabel  = "reply"
)

// ReplyBinding names the reply a reply's data key belongs to: the reply
// id, the sender it is sealed to and the resident whose reply it is. Its
// info is "postkasse/v<n>/reply-key" | lp(replyID) | lp(senderID) |
// lp(residentID), another label than a letter's "data-key", so that a
// reply's sealed key moved to another reply, sender or resident, or
// offered as a letter's, does not open.
//
// A copy sealed to a delegate who wrote the reply on the resident's behalf
// names the delegate in Delegate: its info has the label
// "delegate-reply-key" and lp(delegateID) at the end, so it never opens as
// the resident's or the sender's copy, nor as another delegate's.
//
// A resident's signature of a letter (store/signing.go) is sealed to the
// sender in the same format, as a Reply with no text whose attachments
// are the signed files ("<letter id>.pdf", the signed PDF, for a PDF
// main document; "<letter id>.p7s", the detached CMS, always), under the
// binding of SignatureReplyID(letter id): no reply id has a colon, so a
// signature's key does not open as a reply's, nor the other way round.
type ReplyBinding struct {
	ReplyID    string
	SenderID   string
	ResidentID string
	// Delegate is the id of the delegate a copy is sealed to; empty for
	// the sender's and the resident's copies.
	Delegate string
}

// SignatureReplyID is the ReplyBinding.ReplyID of the sealed signature of
// a letter: "signature:" and the letter's id.
func SignatureReplyID(letterID string) string { return "signature:" + letterID }

func (b ReplyBinding) info(v byte) ([]byte, error) {
	out := []byte(label(v, "reply-key"))
	parts := []string{b.ReplyID, b.SenderID, b.ResidentID}
	if b.Delegate != "" {
		out = []byte(label(v, "delegate-reply-key"))
		parts = append(parts, b.Delegate)
	}
	for _, s := range parts {
		var err error
		if out, err = appendLengthPrefixed(out, s); err != nil {
			return nil, fmt.Errorf("reply binding: %w", err)
		}
	}
	return out, nil
}

// ParseReplyPublicKey checks a sender's reply key: 32 bytes of X25519
// public key (RFC 7748) that is not of low order, so that data keys sealed
// to it can be opened by nobody but the holder of its private key.
func ParseReplyPublicKey(b []byte) (PublicKey, error) {
	var pub PublicKey
	if len(b) != len(pub) {
		return pub, fmt.Errorf("x25519 public key of %d bytes, want %d: %w", len(b), len(pub), ErrFormat)
	}
	remote, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return pub, fmt.Errorf("x25519 public key: %w: %w", ErrFormat, err)
	}
	// A low-order point gives an all-zero shared secret with any key:
	// crypto/ecdh refuses the exchange, so try one with a fixed key.
	var one [keySize]byte
	one[0] = 9
	probe, err := ecdh.X25519().NewPrivateKey(one[:])
	if err != nil {
		return pub, fmt.Errorf("x25519 probe key: %w", err)
	}
	if _, err := probe.ECDH(remote); err != nil {
		return pub, fmt.Errorf("x25519 public key of low order: %w", ErrFormat)
	}
	copy(pub[:], b)
	return pub, nil
}

// NewReplyPrivateKey returns a sender's reply private key from its 32 raw
// X25519 bytes (as `postkasse sender reply-key` writes them, base64 in a
// file). The key has no ML-KEM half: a reply's sender copy is a sealed
// data key v1.
func NewReplyPrivateKey(raw []byte) (*PrivateKey, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("x25519 private key of %d bytes, want %d: %w", len(raw), keySize, ErrFormat)
	}
	k := &PrivateKey{}
	copy(k.x[:], raw)
	if _, err := k.x25519(); err != nil {
		k.Zero()
		return nil, err
	}
	return k, nil
}

// RawX25519 returns a copy of k's X25519 private key bytes, for a sender's
// tool that writes a new reply key to a file. The caller clears it.
func (k *PrivateKey) RawX25519() []byte { return bytes.Clone(k.x[:]) }

// encodeReply is the reply's plaintext: 01 | lp32(text) | n u8 | n ×
// (lp16(name) | lp16(contentType) | lp32(content)).
func encodeReply(r Reply) ([]byte, error) {
	if len(r.Attachments) > MaxReplyAttachments {
		return nil, fmt.Errorf("reply with %d attachments, at most %d: %w", len(r.Attachments), MaxReplyAttachments, ErrFormat)
	}
	if !utf8.ValidString(r.Text) || uint64(len(r.Text)) > math.MaxUint32 {
		return nil, fmt.Errorf("reply text: %w", ErrFormat)
	}
	n := 1 + 4 + len(r.Text) + 1
	for _, a := range r.Attachments {
		n += 2 + len(a.Name) + 2 + len(a.ContentType) + 4 + len(a.Content)
	}
	out := make([]byte, 0, n)
	out = append(out, formatV1)
	out = binary.BigEndian.AppendUint32(out, uint32(len(r.Text)))
	out = append(out, r.Text...)
	out = append(out, byte(len(r.Attachments)))
	for i, a := range r.Attachments {
		var err error
		if out, err = appendLengthPrefixed(out, a.Name); err != nil {
			return nil, fmt.Errorf("reply attachment %d name: %w", i, err)
		}
		if out, err = appendLengthPrefixed(out, a.ContentType); err != nil {
			return nil, fmt.Errorf("reply attachment %d content type: %w", i, err)
		}
		if uint64(len(a.Content)) > math.MaxUint32 {
			return nil, fmt.Errorf("reply attachment %d of %d bytes: %w", i, len(a.Content), ErrFormat)
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(a.Content)))
		out = append(out, a.Content...)
	}
	return out, nil
}

// decodeReply reads encodeReply's bytes, checking every length against
// what is left before it slices, and refuses trailing bytes, an unknown
// version, invalid UTF-8 in the text, the name or the type, and more than
// MaxReplyAttachments attachments.
func decodeReply(b []byte) (*Reply, error) {
	bad := func(what string) error { return fmt.Errorf("reply payload: %s: %w", what, ErrFormat) }
	if len(b) < 1+4+1 || b[0] != formatV1 {
		return nil, bad("header")
	}
	b = b[1:]
	u32 := func() (int, bool) {
		if len(b) < 4 {
			return 0, false
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return 0, false
		}
		return int(n), true
	}
	str16 := func() (string, bool) {
		if len(b) < 2 {
			return "", false
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if n == 0 || n > len(b) || !utf8.Valid(b[:n]) {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	n, ok := u32()
	if !ok || !utf8.Valid(b[:n]) {
		return nil, bad("text")
	}
	r := &Reply{Text: string(b[:n])}
	b = b[n:]
	if len(b) < 1 {
		return nil, bad("attachment count")
	}
	count := int(b[0])
	b = b[1:]
	if count > MaxReplyAttachments {
		return nil, bad("too many attachments")
	}
	for i := range count {
		var a ReplyAttachment
		if a.Name, ok = str16(); !ok {
			return nil, bad(fmt.Sprintf("attachment %d name", i))
		}
		if a.ContentType, ok = str16(); !ok {
			return nil, bad(fmt.Sprintf("attachment %d content type", i))
		}
		if n, ok = u32(); !ok {
			return nil, bad(fmt.Sprintf("attachment %d content", i))
		}
		a.Content = bytes.Clone(b[:n])
		b = b[n:]
		r.Attachments = append(r.Attachments, a)
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return r, nil
}

// SealReply seals a reply with a fresh data key read from rand: the reply's
// plaintext (its text, then each attachment's name, type and bytes) is one
// sealed document under the label "reply"; the data key is sealed to the
// sender's reply key (sealed data key v1, in ForSender) and to the
// resident's public keys (v1 or v2, ResidentKey), both bound by b.
// Only the sender's and the resident's private keys open it; the operator
// holds neither.
func SealReply(rand io.Reader, r Reply, sender PublicKey, resident Recipient, b ReplyBinding) (*SealedReply, error) {
	return sealReply(rand, r, sender, resident, nil, b, "")
}

// SealReplyOnBehalf is SealReply for a reply a delegate writes on the
// resident's behalf: the same sealed reply and resident's copy, and a
// third copy of the data key sealed to the delegate's public keys, bound
// by b with Delegate set to delegateID (DelegateKey).
func SealReplyOnBehalf(rand io.Reader, r Reply, sender PublicKey, resident, delegate Recipient, b ReplyBinding, delegateID string) (*SealedReply, error) {
	if delegate == nil || delegateID == "" {
		return nil, fmt.Errorf("seal reply on behalf: no delegate: %w", ErrFormat)
	}
	return sealReply(rand, r, sender, resident, delegate, b, delegateID)
}

func sealReply(rand io.Reader, r Reply, sender PublicKey, resident, delegate Recipient, b ReplyBinding, delegateID string) (*SealedReply, error) {
	b.Delegate = ""
	if _, err := b.info(formatV1); err != nil {
		return nil, err
	}
	payload, err := encodeReply(r)
	if err != nil {
		return nil, err
	}
	defer clear(payload)
	dk, err := NewDataKey(rand)
	if err != nil {
		return nil, err
	}
	defer dk.Zero()
	forSender, err := sender.sealDataKey(rand, dk, b)
	if err != nil {
		return nil, fmt.Errorf("seal reply key to sender: %w", err)
	}
	forResident, err := resident.sealDataKey(rand, dk, b)
	if err != nil {
		return nil, fmt.Errorf("seal reply key to resident: %w", err)
	}
	var forDelegate []byte
	if delegate != nil {
		db := b
		db.Delegate = delegateID
		if forDelegate, err = delegate.sealDataKey(rand, dk, db); err != nil {
			return nil, fmt.Errorf("seal reply key to delegate: %w", err)
		}
	}
	out := make([]byte, 0, replyHeaderLen+len(forSender)+SealedDocumentSize(len(payload)))
	out = append(out, replyMagic, formatV1)
	out = append(out, forSender...)
	// The content is a sealed document v1 (secretbox), not the v2 of
	// letters' documents: senders open replies with code of their own,
	// written to sealed reply v1 as SENDERS.md gives it. A reply in
	// AES-256-GCM would be a sealed reply v2, with a version of its own.
	if out, err = dk.appendSealedDocument(out, rand, formatV1, replyDocLabel, payload); err != nil {
		return nil, fmt.Errorf("seal reply: %w", err)
	}
	return &SealedReply{ForSender: out, ResidentKey: forResident, DelegateKey: forDelegate}, nil
}

// splitSealedReply checks a sealed reply v1's header and length and returns
// its sealed data key and its sealed document, which is in format v1.
func splitSealedReply(sealed []byte) (key, doc []byte, err error) {
	const docAt = replyHeaderLen + sealedDataKeyV1Len
	if len(sealed) < docAt+docHeaderSize+docTagSize ||
		sealed[0] != replyMagic || sealed[1] != formatV1 || sealed[2] != formatV1 || sealed[docAt] != formatV1 {
		return nil, nil, fmt.Errorf("sealed reply: %w", ErrFormat)
	}
	return sealed[replyHeaderLen:docAt], sealed[docAt:], nil
}

// OpenReply opens a sealed reply (SealedReply.ForSender) with the sender's
// reply private key, for the binding b it was sealed under.
func (k *PrivateKey) OpenReply(sealed []byte, b ReplyBinding) (*Reply, error) {
	key, _, err := splitSealedReply(sealed)
	if err != nil {
		return nil, err
	}
	return k.OpenReplyWithKey(sealed, key, b)
}

// OpenReplyWithKey opens a sealed reply with another copy of its data key
// (the resident's, SealedReply.ResidentKey) and k, the private key it was
// sealed to.
func (k *PrivateKey) OpenReplyWithKey(sealed, sealedKey []byte, b ReplyBinding) (*Reply, error) {
	_, doc, err := splitSealedReply(sealed)
	if err != nil {
		return nil, err
	}
	dk, err := k.openDataKey(sealedKey, b)
	if err != nil {
		return nil, fmt.Errorf("open reply key: %w", err)
	}
	defer dk.Zero()
	payload, err := dk.OpenDocument(replyDocLabel, doc)
	if err != nil {
		return nil, fmt.Errorf("open reply: %w", err)
	}
	defer clear(payload)
	return decodeReply(payload)
}
