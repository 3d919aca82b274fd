package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// The resident's own documents: files the resident saves in the mailbox
// (a scan, a photo of a paper letter, a contract), in any folder. As
// e-Boks says of a saved document, it "corresponds to a photocopy": the
// resident's own copy, which no sender sent and nobody signed for. It is
// a letter record with Own set (storage.OwnDocument) and is sealed
// exactly like a letter: a fresh data key sealed to the resident's
// public key and bound to the record, the title in the sealed subject,
// the files' names and contents sealed with the data key, its listing
// with the resident's listing key. Its SenderID is ownSenderID, a sender
// of no appliance, and its SenderReference the document's id where it
// was first saved, so that the index of references makes importing it
// idempotent. What differs from a sender's letter:
//
//   - it has no receipt and no content hash, and no sender hears of it
//     (no events; deleting it leaves a tombstone that no sender's status
//     reads);
//   - it is not unread when saved (ReadAt is the time it was saved), and
//     not among the senders who wrote (Mailbox.Senders) nor a sender to
//     block;
//   - the resident renames it (RenameDocument); moving and deleting are
//     those of letters (MoveLetters, DeleteLetters);
//   - an export lists it under "archive" with its files under archive/
//     (export.go), and an import brings it back as an own document;
//   - retention: it goes with the account, and after the resident's death
//     it is kept as long as a private sender's letter (DeceasedPrivate):
//     it is the resident's private paper, no public record
//     (docs/RETENTION.md).
//
// Uploads take the same files as the sender API: the same types, content
// checks and size limits (checkDocuments, Limits.ReadDocument).

// ownSenderID is the SenderID of a resident's own documents.
func ownSenderID(residentID string) string { return "own:" + residentID }

// checkTitle checks an own document's title: one line of text of at most
// MaxSubject bytes without format characters, as a letter's subject. An
// empty title is the first file's name (cut to MaxSubject) when there is
// one, else refused.
func (s *Store) checkTitle(title, fileName string) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		title = strings.TrimSpace(fileName)
		for len(title) > s.limits.MaxSubject {
			_, n := utf8.DecodeLastRuneInString(title)
			title = title[:len(title)-n]
		}
	}
	switch {
	case title == "":
		return "", invalid("title", "missing")
	case len(title) > s.limits.MaxSubject:
		return "", invalid("title", "longer than %d bytes", s.limits.MaxSubject)
	case !isText([]byte(title)) || strings.ContainsAny(title, "\t\r\n\f"):
		return "", invalid("title", "must be one line of UTF-8 text")
	}
	if err := checkNoFormatChar("title", title); err != nil {
		return "", err
	}
	return title, nil
}

// Upload saves files as one own document of the resident in a folder of
// the mailbox (FolderInbox, FolderArchive or an own folder's id), titled
// title, or by the first file's name when title is empty, and returns its
// id. The files are checked as a sender's documents are (types, content,
// names, sizes: an *InvalidError, ErrDocumentTooLarge or
// ErrUnsupportedDocumentType); an unknown folder is ErrNotFound. It is
// stored in one transaction with its audit entry ("upload"), or not at
// all: nothing is half-stored.
func (m *Mailbox) Upload(ctx context.Context, folder, title string, files []DocumentInput) (string, error) {
	if err := m.gate(); err != nil {
		return "", err
	}
	docs, err := m.s.checkDocuments(files)
	if err != nil {
		return "", err
	}
	if title, err = m.s.checkTitle(title, docs[0].Name); err != nil {
		return "", err
	}
	var owner *residentRecord
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		if ok, err := knownFolder(tx, m.resident.ID, folder); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("folder %s: %w", folder, ErrNotFound)
		}
		owner, err = getResident(tx, m.resident.ID)
		return err
	}); err != nil {
		return "", err
	}
	to, err := recipientKeys(owner)
	if err != nil {
		return "", err
	}
	now := m.s.now()
	rec, blobs, err := m.sealOwn(ctx, to, "", title, docs, now)
	if err != nil {
		m.s.eng.Blobs().Discard(context.Background(), blobs)
		return "", err
	}
	rec.Folder = folder
	err = m.s.update(ctx, func(tx storage.Tx) error {
		if err := m.current(tx); err != nil {
			return err
		}
		// Checked again in the write: the folder may be deleted, or the
		// key pair changed, since.
		if ok, err := knownFolder(tx, m.resident.ID, folder); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("folder %s: %w", folder, ErrNotFound)
		}
		if res, err := getResident(tx, m.resident.ID); err != nil {
			return err
		} else if !bytes.Equal(res.PublicKey, owner.PublicKey) {
			return ErrSessionExpired
		}
		if err := tx.Letters().Put(rec); err != nil {
			return err
		}
		if err := tx.Documents().Put(rec.ID, blobs); err != nil {
			return err
		}
		return m.s.appendAuditDetail(tx, now, "resident:"+m.resident.ID, "upload", "letter:"+rec.ID,
			fmt.Sprintf("%d files, %d bytes", len(rec.Documents), rec.Size))
	})
	if err != nil {
		// A commit can fail after the database committed: the engine's
		// sweep of blobs that no letter refers to takes them then (as
		// after a failed delivery); a refusal leaves them to no letter.
		if !errors.Is(err, ErrUnavailable) {
			m.s.eng.Blobs().Discard(context.Background(), blobs)
		}
		return "", err
	}
	return rec.ID, nil
}

// sealOwn makes the record of an own document saved at the time given
// with a fresh data key sealed to the resident (to), its title and
// listing sealed, and writes its files as blobs. ref is its id where it
// was first saved; "" for a new one (its own id). On an error it returns
// the blobs written so far, for the caller to discard.
func (m *Mailbox) sealOwn(ctx context.Context, to crypto.PublicKeys, ref, title string, docs []DocumentInput, at time.Time) (*letterRecord, []storage.Blob, error) {
	lk, err := m.listingKey()
	if err != nil {
		return nil, nil, err
	}
	id, err := m.s.newLetterID()
	if err != nil {
		return nil, nil, err
	}
	if ref == "" {
		ref = id
	}
	rec := &letterRecord{
		ID: id, ResidentID: m.resident.ID, SenderID: ownSenderID(m.resident.ID), SenderReference: ref,
		DeliveredAt: at.UTC(), ReadAt: at.UTC(), Own: &storage.OwnDocument{},
	}
	dk, err := crypto.NewDataKey(m.s.rand)
	if err != nil {
		return nil, nil, err
	}
	defer dk.Zero()
	if rec.SealedKey, err = crypto.SealDataKey(m.s.rand, dk, to, letterBinding(rec)); err != nil {
		return nil, nil, err
	}
	if rec.Subject, err = dk.SealField(m.s.rand, "subject", []byte(title)); err != nil {
		return nil, nil, err
	}
	if rec.Body, err = dk.SealField(m.s.rand, "body", nil); err != nil {
		return nil, nil, err
	}
	if rec.Listing, err = sealListing(m.s, lk, id, title); err != nil {
		return nil, nil, err
	}
	var blobs []storage.Blob
	for i, doc := range docs {
		name, err := dk.SealField(m.s.rand, fmt.Sprintf("document/%d/name", i), []byte(doc.Name))
		if err != nil {
			return nil, blobs, err
		}
		sealed, err := dk.SealDocument(m.s.rand, fmt.Sprintf("document/%d", i), doc.Content)
		if err != nil {
			return nil, blobs, err
		}
		blob, err := m.s.eng.Blobs().Write(ctx, id, i, bytes.NewBuffer(sealed))
		if err != nil {
			return nil, blobs, fmt.Errorf("write document %d: %w", i, err)
		}
		blobs = append(blobs, blob)
		rec.Documents = append(rec.Documents, documentRecord{Name: name, ContentType: doc.ContentType, Size: int64(len(doc.Content))})
		rec.Size += int64(len(doc.Content))
	}
	return rec, blobs, nil
}

// sealListing seals a letter's listing (what a page shows of it) with the
// resident's listing key.
func sealListing(s *Store, lk *crypto.DataKey, id, subject string) ([]byte, error) {
	b, err := json.Marshal(listing{Subject: subject})
	if err != nil {
		return nil, err
	}
	return lk.SealField(s.rand, listingLabel(id), b)
}

// RenameDocument gives an own document of the mailbox a new title (the
// rules of Upload's; empty is refused). A sender's letter keeps the
// subject its sender gave it: renaming one, like another resident's
// document, is ErrNotFound. The search index forgets the old title in
// the same transaction; the next search indexes the new one.
func (m *Mailbox) RenameDocument(ctx context.Context, id, title string) error {
	if err := m.gate(); err != nil {
		return err
	}
	title, err := m.s.checkTitle(title, "")
	if err != nil {
		return err
	}
	lk, err := m.listingKey()
	if err != nil {
		return err
	}
	return m.s.update(ctx, func(tx storage.Tx) error {
		rec, err := m.own(tx, id)
		if err != nil {
			return err
		}
		if rec.Own == nil {
			return fmt.Errorf("letter %s is a sender's, no own document: %w", id, ErrNotFound)
		}
		dk, err := m.key.OpenDataKey(rec.SealedKey, letterBinding(rec))
		if err != nil {
			return fmt.Errorf("open letter %s: %w", id, err)
		}
		defer dk.Zero()
		if rec.Subject, err = dk.SealField(m.s.rand, "subject", []byte(title)); err != nil {
			return err
		}
		if rec.Listing, err = sealListing(m.s, lk, id, title); err != nil {
			return err
		}
		if err := m.forgetInIndex(tx, []string{id}); err != nil {
			return fmt.Errorf("take the old title out of the search index: %w", err)
		}
		return tx.Letters().Put(rec)
	})
}

// ownHere reports whether the own document an export names (by its id
// where it was first saved) is in the resident's mailbox already, or was
// and was deleted (its tombstone).
func ownHere(tx storage.Tx, residentID, originID string) (bool, error) {
	_, err := tx.Letters().ByReference(ownSenderID(residentID), originID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
