package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// Replies (DESIGN.md, "Replies are sealed to the sender"; API.md,
// "Replies and signatures").
//
// A sender that accepts replies registers an X25519 public key
// (SetSenderReplyKey: by the sender through the API, or by the operator);
// a letter with replyAllowed from a sender without one is refused
// (ErrNoReplyKey, as an *InvalidError of the field "replyAllowed").
//
// On such a letter the resident writes a reply (Mailbox.Reply): a text and
// at most MaxReplyAttachments attachments, under the checks and limits of
// a letter's body and documents. It is sealed with a fresh data key
// (crypto's sealed reply v1) to the sender's reply key, and the data key a
// second time to the resident, bound to the reply, the sender and the
// resident, outside the write; then one transaction stores it with the
// sender's "reply" event (naming the reply) and an audit entry, after
// checking again that the letter is still the resident's, takes replies,
// and that the sender's key is the one sealed to. Only ids, the time, the
// number of attachments and the size are in clear.
//
// The sender fetches the sealed reply (SealedReply; another sender's is
// ErrNotFound) and opens it with its private key. It answers by
// delivering a letter with InReplyTo naming the reply, which must be a
// reply to that sender from that recipient; the answer's id is kept on
// the reply, so the resident's thread (Mailbox.Thread) shows the letter,
// the replies and the answers.
//
// A letter's replies are deleted with it (DeleteLetters, retention, the
// account): their sealed bytes and both copies of their key.

// MaxReplyAttachments is how many files a reply may carry.
const MaxReplyAttachments = crypto.MaxReplyAttachments

// Errors of replies.
var (
	// ErrReplyNotAllowed: the letter does not take replies (no
	// replyAllowed, an own document or an imported letter, or its sender
	// is revoked).
	ErrReplyNotAllowed = errors.New("this letter does not take replies")
	// ErrNoReplyKey: the sender has registered no reply key.
	ErrNoReplyKey = errors.New("the sender has no reply key (PUT /api/v1/reply-key)")
	// ErrNoMessages: the sender does not accept messages that start a
	// conversation (or is revoked, or has no reply key).
	ErrNoMessages = errors.New("this sender does not accept messages")
)

// EventReply is the sender's event of a resident's reply; it names the
// reply (EventJSON.ReplyID). EventMessage is that of a message that
// starts a conversation: no letter, and the reply id names it.
const (
	EventReply   = "reply"
	EventMessage = "message"
)

// ReplyInput is a reply as the resident writes it.
type ReplyInput struct {
	Text        string
	Attachments []DocumentInput
}

// ReplyAttachmentInfo describes one attachment of an opened reply.
type ReplyAttachmentInfo struct {
	Index       int
	Name        string
	ContentType string
	Size        int
}

// ReplyView is a reply as its resident sees it in the thread.
type ReplyView struct {
	ID          string
	Created     time.Time
	Text        string
	Attachments []ReplyAttachmentInfo
	// Answers are the ids of the sender's letters that answer it.
	Answers []string
	// OnBehalf: a delegate wrote it on the resident's behalf; WrittenBy
	// is their name ("" once their account is gone).
	OnBehalf  bool
	WrittenBy string
}

// Thread is a letter's conversation: the resident's replies, oldest
// first, each with the sender's answers, which are letters of the mailbox.
type Thread struct {
	Replies []ReplyView
	Answers []LetterSummary // the answer letters still in the mailbox, oldest first
}

// SetSenderReplyKey registers the X25519 public key (32 bytes) the
// sender's replies are sealed to, replacing one registered before
// (replies sealed to the old key stay sealed to it). A key that is not a
// usable X25519 key is an *InvalidError of the field "publicKey". bySender
// says who asked, for the audit log: the sender itself (the API) or the
// operator.
func (s *Store) SetSenderReplyKey(ctx context.Context, senderID string, key []byte, bySender bool) error {
	actor := operatorActor(ctx)
	if bySender {
		actor = "sender:" + senderID
	}
	pub, err := crypto.ParseReplyPublicKey(key)
	if err != nil {
		return &InvalidError{Field: "publicKey", Reason: "not an X25519 public key of 32 bytes", Err: err}
	}
	now := s.now()
	return s.update(ctx, func(tx storage.Tx) error {
		rec, err := activeSender(tx, senderID)
		if err != nil {
			return err
		}
		rec.ReplyKey, rec.ReplyKeySet = pub[:], now
		if err := tx.Senders().Put(rec); err != nil {
			return err
		}
		return s.appendAuditDetail(tx, now, actor, "reply-key", "sender:"+senderID, hex.EncodeToString(pub[:]))
	})
}

// SenderReplyKey returns the sender's reply key; ErrNoReplyKey if none.
func (s *Store) SenderReplyKey(ctx context.Context, senderID string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx storage.Tx) error {
		rec, err := getSender(tx, senderID)
		if err != nil {
			return err
		}
		if len(rec.ReplyKey) == 0 {
			return ErrNoReplyKey
		}
		out = bytes.Clone(rec.ReplyKey)
		return nil
	})
	return out, err
}

// checkReplyAllowed refuses a letter with replyAllowed from a sender
// without a reply key.
func checkReplyAllowed(d *Delivery, sender *senderRecord) error {
	if d.ReplyAllowed && len(sender.ReplyKey) == 0 {
		return &InvalidError{Field: "replyAllowed", Reason: "the sender has no reply key: register one first (PUT /api/v1/reply-key)", Err: ErrNoReplyKey}
	}
	return nil
}

// checkInReplyTo checks a delivery's InReplyTo: none, or a reply to this
// sender from this recipient.
func checkInReplyTo(tx storage.Tx, replyID, senderID, residentID string) error {
	if replyID == "" {
		return nil
	}
	r, err := tx.Replies().Get(replyID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (r.SenderID != senderID || r.ResidentID != residentID)) {
		return invalid("inReplyTo", "not a reply to this sender from this recipient")
	}
	return err
}

// recordAnswer adds an answer letter to the reply it answers.
func recordAnswer(tx storage.Tx, rec *letterRecord) error {
	if rec.InReplyTo == "" {
		return nil
	}
	r, err := tx.Replies().Get(rec.InReplyTo)
	if err != nil {
		return err
	}
	r.Answers = append(r.Answers, rec.ID)
	return tx.Replies().Put(r)
}

// deleteReplies deletes a letter's replies, within tx.
func deleteReplies(tx storage.Tx, letterID string) error {
	return tx.Replies().ByLetter(letterID, func(r *storage.Reply) error { return tx.Replies().Delete(r.ID) })
}

// checkReply checks a reply's text and attachments as a letter's body and
// documents are checked, and returns the attachments as they are stored.
func (s *Store) checkReply(in ReplyInput) (string, []DocumentInput, error) {
	text := strings.TrimSpace(strings.ReplaceAll(in.Text, "\r\n", "\n"))
	switch {
	case text == "" && len(in.Attachments) == 0:
		return "", nil, invalid("text", "a reply needs a text or an attachment")
	case len(text) > s.limits.MaxBody:
		return "", nil, invalid("text", "longer than %d bytes", s.limits.MaxBody)
	case !isText([]byte(text)):
		return "", nil, invalid("text", "must be UTF-8 text")
	case len(in.Attachments) > MaxReplyAttachments:
		return "", nil, invalid("attachment", "at most %d attachments", MaxReplyAttachments)
	}
	if err := checkNoFormatChar("text", text); err != nil {
		return "", nil, err
	}
	if len(in.Attachments) == 0 {
		return text, nil, nil
	}
	docs, err := s.checkDocuments(in.Attachments)
	return text, docs, err
}

// replyable returns the letter of this mailbox the resident replies to,
// and its sender, if the letter takes replies.
func (m *Mailbox) replyable(tx storage.Tx, letterID string) (*letterRecord, *senderRecord, error) {
	rec, err := m.own(tx, letterID)
	if err != nil {
		return nil, nil, err
	}
	sender, err := replyTarget(tx, rec)
	if err != nil {
		return nil, nil, err
	}
	return rec, sender, nil
}

// replyTarget returns the sender of a letter that takes replies:
// ErrReplyNotAllowed for one that takes none (no replyAllowed, an own
// document, an imported letter, a revoked sender), ErrNoReplyKey for a
// sender without a reply key.
func replyTarget(tx storage.Tx, rec *letterRecord) (*senderRecord, error) {
	if !rec.ReplyAllowed || rec.Own != nil || rec.Imported != nil {
		return nil, ErrReplyNotAllowed
	}
	sender, err := getSender(tx, rec.SenderID)
	if err != nil {
		return nil, err
	}
	if sender.Revoked {
		return nil, ErrReplyNotAllowed
	}
	if len(sender.ReplyKey) == 0 {
		return nil, ErrNoReplyKey
	}
	return sender, nil
}

// Reply writes the resident's reply to a letter of this mailbox that
// takes replies and returns its id. Another resident's letter is
// ErrNotFound; one that takes none ErrReplyNotAllowed; bad text or files
// an *InvalidError, ErrDocumentTooLarge or ErrUnsupportedDocumentType.
// Nothing is stored on any error.
func (m *Mailbox) Reply(ctx context.Context, letterID string, in ReplyInput) (string, error) {
	return m.sealAndStore(ctx, letterID, in, func(tx storage.Tx) (*senderRecord, string, error) {
		letter, sender, err := m.replyable(tx, letterID)
		if err != nil {
			return nil, "", err
		}
		return sender, letter.SenderReference, nil
	}, nil)
}

// SendMessage starts a conversation with a sender that accepts messages
// (AcceptsMessages, with a reply key): a text and files as a reply's,
// sealed the same way, with no letter; the sender gets a "message" event.
// A sender that accepts none, or is unknown, is ErrNoMessages.
func (m *Mailbox) SendMessage(ctx context.Context, senderID string, in ReplyInput) (string, error) {
	return m.sealAndStore(ctx, "", in, func(tx storage.Tx) (*senderRecord, string, error) {
		sender, err := messageSender(tx, senderID)
		return sender, "", err
	}, nil)
}

// messageSender returns the sender if it accepts messages.
func messageSender(tx storage.Tx, senderID string) (*senderRecord, error) {
	sender, err := getSender(tx, senderID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoMessages
	} else if err != nil {
		return nil, err
	}
	if sender.Revoked || !sender.AcceptsMessages || len(sender.ReplyKey) == 0 {
		return nil, ErrNoMessages
	}
	return sender, nil
}

// onBehalf is a reply written by a delegate (the Mailbox's resident) on
// the grantor's behalf; the zero value is the resident's own.
type onBehalf struct {
	grantorID string
	// grant is set by the target, checked again in the write.
	grant *storage.Delegation
}

// sealAndStore checks a reply (to letterID) or a message (letterID ""),
// seals it outside the write, and stores it with its event and audit
// entry in one transaction; target finds (and, in the write, checks
// again) the sender it goes to and the letter's reference. With by set,
// the reply is the grantor's, written by this mailbox's resident as
// their delegate: sealed to the grantor (and a copy of its key to the
// delegate), its event and audit entry say who wrote it.
func (m *Mailbox) sealAndStore(ctx context.Context, letterID string, in ReplyInput, target func(tx storage.Tx) (*senderRecord, string, error), by *onBehalf) (string, error) {
	if err := m.gate(); err != nil {
		return "", err
	}
	text, docs, err := m.s.checkReply(in)
	if err != nil {
		return "", err
	}
	ownerID := m.resident.ID
	if by != nil {
		ownerID = by.grantorID
	}
	var owner, writer *residentRecord
	var senderKey []byte
	var senderID string
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		sender, _, err := target(tx)
		if err != nil {
			return err
		}
		senderKey, senderID = bytes.Clone(sender.ReplyKey), sender.ID
		if owner, err = getResident(tx, ownerID); err != nil {
			return err
		}
		if by != nil {
			writer, err = getResident(tx, m.resident.ID)
		}
		return err
	}); err != nil {
		return "", err
	}
	to, err := recipientKeys(owner)
	if err != nil {
		return "", err
	}
	pub, err := crypto.ParseReplyPublicKey(senderKey)
	if err != nil {
		return "", fmt.Errorf("sender %s reply key: %w", senderID, err)
	}
	id, err := m.s.newLetterID()
	if err != nil {
		return "", err
	}
	reply := crypto.Reply{Text: text}
	for _, d := range docs {
		reply.Attachments = append(reply.Attachments, crypto.ReplyAttachment{Name: d.Name, ContentType: d.ContentType, Content: d.Content})
	}
	binding := crypto.ReplyBinding{ReplyID: id, SenderID: senderID, ResidentID: ownerID}
	var sealed *crypto.SealedReply
	if by == nil {
		sealed, err = crypto.SealReply(m.s.rand, reply, pub, to, binding)
	} else {
		var also crypto.PublicKeys
		if also, err = recipientKeys(writer); err != nil {
			return "", err
		}
		sealed, err = crypto.SealReplyOnBehalf(m.s.rand, reply, pub, to, also, binding, m.resident.ID)
	}
	if err != nil {
		return "", fmt.Errorf("seal reply: %w", err)
	}
	now := m.s.now()
	rec := &storage.Reply{ID: id, LetterID: letterID, ResidentID: ownerID, SenderID: senderID, Created: now.UTC(),
		Attachments: len(docs), Size: len(sealed.ForSender), Sealed: sealed.ForSender, ResidentKey: sealed.ResidentKey}
	typ, action, object, actor := EventReply, "reply", "letter:"+letterID, "resident:"+m.resident.ID
	if letterID == "" {
		typ, action, object = EventMessage, "message", "sender:"+senderID
	}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		if err := m.current(tx); err != nil {
			return err
		}
		// Checked again in the write: the letter may be deleted or held,
		// the sender revoked or its key replaced, the key pair changed,
		// the grant ended.
		sender, ref, err := target(tx)
		if err != nil {
			return err
		}
		if sender.ID != senderID || !bytes.Equal(sender.ReplyKey, senderKey) {
			return fmt.Errorf("the sender's reply key changed meanwhile: %w", ErrSessionExpired)
		}
		for _, k := range []*residentRecord{owner, writer} {
			if k == nil {
				continue
			}
			if res, err := getResident(tx, k.ID); err != nil {
				return err
			} else if !bytes.Equal(res.PublicKey, k.PublicKey) {
				return ErrSessionExpired
			}
		}
		e := &Event{SenderID: senderID, Type: typ, LetterID: letterID, SenderReference: ref, At: now, ReplyID: id}
		detail := fmt.Sprintf("reply %s, %d attachments, %d bytes sealed", id, len(docs), len(sealed.ForSender))
		if by != nil {
			rec.WrittenBy, rec.DelegationID, rec.DelegateKey = m.resident.ID, by.grant.ID, sealed.DelegateKey
			e.WrittenBy = &storage.Deputy{Name: writer.Name, Role: deputyRole(by.grant.Guardianship)}
			action = "delegate-reply"
			detail = fmt.Sprintf("grantor:%s delegation:%s %s", by.grantorID, by.grant.ID, detail)
		}
		if err := tx.Replies().Put(rec); err != nil {
			return err
		}
		if err := tx.Events().Append(e); err != nil {
			return err
		}
		if err := queueCallback(tx, e); err != nil {
			return err
		}
		return m.s.appendAuditDetail(tx, now, actor, action, object, detail)
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// MessageView is a message the resident sent to a sender, opened, with
// the sender's answers still in the mailbox.
type MessageView struct {
	ReplyView
	SenderID   string
	SenderName string
	Answers    []LetterSummary
}

// Messages returns the messages the resident sent to senders, newest
// first, opened, each with the sender's answers still in the mailbox.
func (m *Mailbox) Messages(ctx context.Context) ([]MessageView, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	var out []MessageView
	err := m.s.view(ctx, func(tx storage.Tx) error {
		out = out[:0]
		senders := map[string]*senderRecord{}
		return tx.Replies().ByResident(m.resident.ID, func(r *storage.Reply) error {
			if r.LetterID != "" {
				return nil
			}
			opened, err := m.openReply(r)
			if err != nil {
				return err
			}
			v := MessageView{ReplyView: ReplyView{ID: r.ID, Created: r.Created, Text: opened.Text, Answers: r.Answers}, SenderID: r.SenderID}
			for i, a := range opened.Attachments {
				v.Attachments = append(v.Attachments, ReplyAttachmentInfo{Index: i, Name: a.Name, ContentType: a.ContentType, Size: len(a.Content)})
			}
			if snd, err := getSender(tx, r.SenderID); err == nil {
				v.SenderName = snd.Name
			}
			for _, aid := range r.Answers {
				rec, dk, err := m.open(tx, aid)
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInaccessible) {
					continue
				} else if err != nil {
					return err
				}
				sum, err := m.summary(tx, rec, dk, senders)
				dk.Zero()
				if err != nil {
					return err
				}
				v.Answers = append(v.Answers, sum)
			}
			out = append([]MessageView{v}, out...)
			return nil
		})
	})
	return out, err
}

// MessageSenders returns the active senders that accept messages, by
// name.
func (m *Mailbox) MessageSenders(ctx context.Context) ([]Sender, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	var out []Sender
	err := m.s.view(ctx, func(tx storage.Tx) error {
		out = out[:0]
		return tx.Senders().All(func(rec *senderRecord) error {
			if _, err := messageSender(tx, rec.ID); err == nil {
				out = append(out, *rec)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Sender) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// SetSenderAcceptsMessages lets residents start conversations with the
// sender, or stops it (messages already sent stay). Turning it on needs a
// reply key (ErrNoReplyKey). Operator only.
func (s *Store) SetSenderAcceptsMessages(ctx context.Context, senderID string, on bool) error {
	now := s.now()
	return s.update(ctx, func(tx storage.Tx) error {
		rec, err := activeSender(tx, senderID)
		if err != nil {
			return err
		}
		if on && len(rec.ReplyKey) == 0 {
			return ErrNoReplyKey
		}
		rec.AcceptsMessages = on
		if err := tx.Senders().Put(rec); err != nil {
			return err
		}
		detail := "off"
		if on {
			detail = "on"
		}
		return s.appendAuditDetail(tx, now, operatorActor(ctx), "accept-messages", "sender:"+senderID, detail)
	})
}

// openReply opens a reply of this mailbox with the resident's copy of its
// key.
func (m *Mailbox) openReply(r *storage.Reply) (*crypto.Reply, error) {
	out, err := m.key.OpenReplyWithKey(r.Sealed, r.ResidentKey,
		crypto.ReplyBinding{ReplyID: r.ID, SenderID: r.SenderID, ResidentID: r.ResidentID})
	if err != nil {
		return nil, fmt.Errorf("open reply %s: %w", r.ID, err)
	}
	return out, nil
}

// Thread returns the conversation of a letter of this mailbox: the
// resident's replies, opened, and the sender's answers still in the
// mailbox. Another resident's letter is ErrNotFound.
func (m *Mailbox) Thread(ctx context.Context, letterID string) (Thread, error) {
	if err := m.gate(); err != nil {
		return Thread{}, err
	}
	var out Thread
	err := m.s.view(ctx, func(tx storage.Tx) error {
		if _, err := m.own(tx, letterID); err != nil {
			return err
		}
		senders := map[string]*senderRecord{}
		names := map[string]string{}
		return tx.Replies().ByLetter(letterID, func(r *storage.Reply) error {
			if r.ResidentID != m.resident.ID {
				return fmt.Errorf("reply %s of letter %s: %w", r.ID, letterID, ErrNotFound)
			}
			opened, err := m.openReply(r)
			if err != nil {
				return err
			}
			v := ReplyView{ID: r.ID, Created: r.Created, Text: opened.Text, Answers: r.Answers,
				OnBehalf: r.WrittenBy != "", WrittenBy: writtenBy(tx, r, names)}
			for i, a := range opened.Attachments {
				v.Attachments = append(v.Attachments, ReplyAttachmentInfo{Index: i, Name: a.Name, ContentType: a.ContentType, Size: len(a.Content)})
			}
			out.Replies = append(out.Replies, v)
			for _, aid := range r.Answers {
				rec, dk, err := m.open(tx, aid)
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInaccessible) || errors.Is(err, storage.ErrNotFound) {
					continue // deleted or held since
				} else if err != nil {
					return err
				}
				sum, err := m.summary(tx, rec, dk, senders)
				dk.Zero()
				if err != nil {
					return err
				}
				out.Answers = append(out.Answers, sum)
			}
			return nil
		})
	})
	return out, err
}

// ReplyAttachment opens one attachment of a reply of this mailbox.
// Another resident's reply is ErrNotFound.
func (m *Mailbox) ReplyAttachment(ctx context.Context, replyID string, index int) (crypto.ReplyAttachment, error) {
	if err := m.gate(); err != nil {
		return crypto.ReplyAttachment{}, err
	}
	var out crypto.ReplyAttachment
	err := m.s.view(ctx, func(tx storage.Tx) error {
		r, err := tx.Replies().Get(replyID)
		if err != nil {
			return err
		}
		if r.ResidentID != m.resident.ID {
			return fmt.Errorf("reply %s: %w", replyID, ErrNotFound)
		}
		// The letter must still be readable: a held letter's replies
		// are held with it. (A message has no letter.)
		if r.LetterID != "" {
			if _, err := m.own(tx, r.LetterID); err != nil {
				return err
			}
		}
		opened, err := m.openReply(r)
		if err != nil {
			return err
		}
		if index < 0 || index >= len(opened.Attachments) {
			return fmt.Errorf("reply %s attachment %d: %w", replyID, index, ErrNotFound)
		}
		out = opened.Attachments[index]
		return nil
	})
	return out, err
}

// SealedReply returns a reply sealed to the sender (crypto's sealed reply
// v1) and the ids it is bound to, for the sender it was written to only:
// another sender's reply, or none, is ErrNotFound.
func (s *Store) SealedReply(ctx context.Context, senderID, replyID string) (storage.Reply, error) {
	var out storage.Reply
	err := s.view(ctx, func(tx storage.Tx) error {
		r, err := tx.Replies().Get(replyID)
		if err != nil {
			return err
		}
		if r.SenderID != senderID {
			return fmt.Errorf("reply %s: %w", replyID, ErrNotFound)
		}
		out = *r
		out.ResidentKey = nil
		return nil
	})
	return out, err
}
