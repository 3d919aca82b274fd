package store

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// The export archive (API.md, "Export archive (switching provider)"): a
// resident's whole mailbox as one ZIP file that another Postkasse imports
// (Mailbox.Import) and anyone checks offline (OpenExport, Verify;
// `postkasse verify`). It holds
//
//	manifest.json          ExportManifest: the format, the appliance and its
//	                       receipt key, the resident, and every letter with
//	                       its documents' names, types, sizes and SHA-256 and
//	                       its signed receipt
//	receipt-key.json       the appliance's receipt key (ExportKey), as in the
//	                       manifest
//	letters/<id>/<n>-<name> the documents, in clear, as the resident reads them
//	archive/<id>/<n>-<name> the files of the resident's own documents
//	                       (own.go), which the manifest's "archive" lists
//	                       (ExportOwnDocument); <id> is a document's id
//	                       where it was first saved
//	replies/<id>/<n>-<name> the attachments of the resident's replies and
//	                       messages to senders (replies.go), which the
//	                       manifest's "replies" lists (ExportReply; format 2)
//
// Format 2 added "replies" (the resident's conversations, opened with
// their copy of each reply's key); a reader takes format 1 and 2 alike
// (exportFormats), and an import brings the letters and own documents of
// either and leaves the replies in the archive (a reply is sealed to the
// sender of the appliance it was written on).
//
// A receipt binds its letter: it is signed by the appliance's key (or,
// for a letter imported from elsewhere, by the key of the appliance that
// delivered it, which the letter's entry carries) and states the
// letter's id, the recipient's national identity number, the sender's
// organisation number and reference, deliveredAt, and the content hash
// (ContentHash) over the subject, body, type, due date, flags and each
// document's name, type and SHA-256 as sent. A reader computes that hash
// again from the manifest and the documents' contents, so a changed byte
// anywhere fails. An own document has no receipt: the manifest's size
// and SHA-256 of each of its files are all that a reader checks.

// ExportFormat is the version of the export archive's format that
// Export writes; exportFormats are those OpenExport reads.
const ExportFormat = 2

var exportFormats = []int{1, 2}

// Names in the export archive.
const (
	exportManifest   = "manifest.json"
	exportReceiptKey = "receipt-key.json"
	exportArchiveDir = "archive/"
	exportLettersDir = "letters/"
	exportRepliesDir = "replies/"
)

// ExportManifest is manifest.json.
type ExportManifest struct {
	Format    int             `json:"format"`
	Exported  time.Time       `json:"exported"`
	Appliance ExportAppliance `json:"appliance"`
	Resident  ExportResident  `json:"resident"`
	Letters   []ExportLetter  `json:"letters"`
	// Withheld are letters the operator made inaccessible under a legal
	// obligation: they open nothing, so they are named, not exported.
	Withheld []ExportWithheld `json:"withheld"`
	// Unreadable are letters that did not open (damaged): named, not
	// exported, so that the rest of the mailbox can move.
	Unreadable []ExportWithheld `json:"unreadable"`
	// Archive lists the resident's own documents (Mailbox.Upload).
	Archive []ExportOwnDocument `json:"archive"`
	// Replies are the resident's replies to letters of the export and
	// messages to senders, oldest first (format 2; nil in format 1).
	Replies []ExportReply `json:"replies,omitempty"`
}

// ExportReply is a reply of the resident to a letter (LetterID, a letter
// of the manifest) or a message to a sender (LetterID ""), opened: its
// text, its attachments under replies/<id>/, who wrote it when a
// delegate did (WrittenBy), and the ids of the sender's letters that
// answer it.
type ExportReply struct {
	ID          string           `json:"id"`
	LetterID    string           `json:"letterId"`
	Sender      ExportSender     `json:"sender"`
	Created     time.Time        `json:"created"`
	Text        string           `json:"text"`
	WrittenBy   string           `json:"writtenBy,omitempty"`
	Attachments []ExportDocument `json:"attachments"`
	Answers     []string         `json:"answers,omitempty"`
}

// ExportOwnDocument is one of the resident's own documents: their copy,
// with no sender and no receipt. Its files are under archive/<id>/.
type ExportOwnDocument struct {
	// ID is the document's id where it was first saved: an import of
	// the same document again adds nothing.
	ID         string           `json:"id"`
	Title      string           `json:"title"`
	Saved      time.Time        `json:"saved"`
	Folder     string           `json:"folder"`               // "inbox", "archive" or "own"
	FolderName string           `json:"folderName,omitempty"` // of an own folder; "" when its name does not open
	Documents  []ExportDocument `json:"documents"`
}

// ExportAppliance is the appliance that made the export.
type ExportAppliance struct {
	Name       string    `json:"name"`
	ReceiptKey ExportKey `json:"receiptKey"`
}

// ExportKey is a receipt key (receipt-key.json).
type ExportKey struct {
	Algorithm string `json:"algorithm"` // "ed25519"
	KeyID     string `json:"keyId"`     // crypto.KeyID
	PublicKey []byte `json:"publicKey"` // standard base64 in JSON
}

func exportKey(pub ed25519.PublicKey) ExportKey {
	return ExportKey{Algorithm: "ed25519", KeyID: crypto.KeyID(pub), PublicKey: pub}
}

// ExportResident is the mailbox's owner.
type ExportResident struct {
	NationalID string `json:"nationalId"`
	Name       string `json:"name"`
}

// ExportLetter is one letter of the manifest.
type ExportLetter struct {
	ID             string       `json:"id"`
	Sender         ExportSender `json:"sender"`
	Subject        string       `json:"subject"`
	Body           string       `json:"body"`
	Type           LetterType   `json:"type"`
	DueDate        string       `json:"dueDate"`
	ReplyAllowed   bool         `json:"replyAllowed"`
	Sensitive      bool         `json:"sensitive"`
	OpeningReceipt bool         `json:"openingReceipt,omitempty"`
	Invoice        *Invoice     `json:"invoice,omitempty"`
	Actions        []Action     `json:"actions,omitempty"`
	// SignatureRequest is the sender's request to sign the main document
	// (store/signing.go), part of what the receipt's content hash covers.
	SignatureRequest *SignatureRequest `json:"signatureRequest,omitempty"`
	// InReplyTo is the id of the resident's reply the letter answers,
	// part of what the receipt's content hash covers (version 3).
	InReplyTo       string           `json:"inReplyTo,omitempty"`
	SenderReference string           `json:"senderReference"`
	DeliveredAt     time.Time        `json:"deliveredAt"`
	ReadAt          time.Time        `json:"readAt,omitzero"`
	PaidAt          time.Time        `json:"paidAt,omitzero"`
	Folder          string           `json:"folder"`               // "inbox", "archive" or "own"
	FolderName      string           `json:"folderName,omitempty"` // of an own folder; "" when its name does not open
	Read            bool             `json:"read"`
	Documents       []ExportDocument `json:"documents"`
	Receipt         Receipt          `json:"receipt"`
	// ImportedFrom is set for a letter this appliance imported: its
	// receipt is another appliance's.
	ImportedFrom *ExportOrigin `json:"importedFrom,omitempty"`
}

// ExportSender is who sent a letter.
type ExportSender struct {
	Name      string     `json:"name"`
	OrgNumber string     `json:"orgNumber"`
	Kind      SenderKind `json:"kind"`
}

// ExportDocument is one document of a letter.
type ExportDocument struct {
	Path        string `json:"path"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"` // lowercase hex, of the content in the archive
	// Sent is what the sender sent when it differs from the content
	// kept (HTML before sanitising, a name with a folder): the receipt's
	// content hash covers it.
	Sent *SentDocument `json:"sent,omitempty"`
}

// SentDocument is a document's name, type and SHA-256 (lowercase hex) as
// its sender sent them.
type SentDocument struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	SHA256      string `json:"sha256"`
}

// ExportOrigin is where an imported letter came from.
type ExportOrigin struct {
	Appliance  string    `json:"appliance"`
	LetterID   string    `json:"letterId"`
	ReceiptKey ExportKey `json:"receiptKey"`
}

// ExportWithheld is a letter left out of an export.
type ExportWithheld struct {
	ID          string    `json:"id"`
	DeliveredAt time.Time `json:"deliveredAt"`
}

// ExportSummary says what an export holds.
type ExportSummary struct {
	// Letters counts the letters of senders; Own the resident's own
	// documents; Replies the replies and messages.
	Letters, Own, Replies, Documents, Withheld, Unreadable int
	Bytes                                                  int64 // of the documents' contents
}

// sealSentDocument seals, for document i of a letter, what the sender
// sent (sent) when the document is kept otherwise (its kept name, type
// or content's SHA-256 differ); nil when it is kept as sent.
func sealSentDocument(rand io.Reader, dk *crypto.DataKey, i int, sent HashedDocument, keptName, keptType string, keptSum [sha256.Size]byte) ([]byte, error) {
	if sent.Name == keptName && sent.ContentType == keptType && sent.SHA256 == keptSum {
		return nil, nil
	}
	b, err := json.Marshal(SentDocument{Name: sent.Name, ContentType: sent.ContentType, SHA256: hex.EncodeToString(sent.SHA256[:])})
	if err != nil {
		return nil, err
	}
	return dk.SealField(rand, fmt.Sprintf("document/%d/sent", i), b)
}

// exportPageSize is how many letters of the mailbox index one read
// transaction of Export takes.
const exportPageSize = 32

// Export writes the mailbox as an export archive to w, as it goes: the
// letters are opened one at a time, each in a read transaction of its
// own, and their documents written before the next is opened, so memory
// stays within a few documents whatever the mailbox's size. The
// manifest's entries wait, sealed with a key that only this call holds,
// in a temporary file (in dir, "" for the system's), and are written last.
// appliance is the name the appliance gives itself in the manifest.
// Audited ("export"). Letters made inaccessible are listed as withheld,
// letters that do not open (damaged) as unreadable, and left out.
// An error may come after part of the archive was written: the archive is
// then incomplete (no ZIP directory), which any reader refuses.
func (m *Mailbox) Export(ctx context.Context, w io.Writer, appliance, dir string) (ExportSummary, error) {
	var sum ExportSummary
	if err := m.gate(); err != nil {
		return sum, err
	}
	spool, err := newExportSpool(m.s.rand, dir)
	if err != nil {
		return sum, err
	}
	defer spool.close()
	folders := map[string]string{}
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		_, own, err := m.ownFolders(tx)
		for _, f := range own {
			folders[f.ID] = f.Name
		}
		return err
	}); err != nil {
		return sum, err
	}

	zw := zip.NewWriter(w)
	now := m.s.now()
	if _, err := zw.CreateHeader(&zip.FileHeader{Name: exportArchiveDir, Modified: now}); err != nil {
		return sum, err
	}
	withheld, unreadables := []ExportWithheld{}, []ExportWithheld{}
	exported := map[string]bool{} // the letters in the archive, by id
	after := ""
	for {
		var page []storage.MailboxEntry
		var next string
		if err := m.s.view(ctx, func(tx storage.Tx) error {
			page, next, err = tx.Letters().Mailbox(m.resident.ID, after, exportPageSize)
			return err
		}); err != nil {
			return sum, err
		}
		for _, e := range page {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			entry, own, err := m.exportLetter(ctx, zw, e.LetterID, folders, &sum)
			var unreadable *unreadableError
			switch {
			case errors.Is(err, ErrInaccessible):
				withheld = append(withheld, ExportWithheld{ID: e.LetterID, DeliveredAt: e.DeliveredAt})
				sum.Withheld++
				continue
			case errors.As(err, &unreadable):
				m.s.log.Error("export: a letter cannot be opened", "resident", m.resident.ID, "letter", e.LetterID, "err", err)
				unreadables = append(unreadables, ExportWithheld{ID: e.LetterID, DeliveredAt: e.DeliveredAt})
				sum.Unreadable++
				continue
			case errors.Is(err, ErrNotFound):
				continue // deleted since the page was read
			case err != nil:
				return sum, fmt.Errorf("export letter %s: %w", e.LetterID, err)
			}
			kind, v := spoolLetter, any(entry)
			if own != nil {
				kind, v = spoolOwn, own
			}
			b, err := json.Marshal(v)
			if err != nil {
				return sum, err
			}
			if err := spool.add(append([]byte{kind}, b...)); err != nil {
				return sum, err
			}
			if own != nil {
				sum.Own++
			} else {
				sum.Letters++
				exported[e.LetterID] = true
			}
		}
		if next == "" {
			break
		}
		after = next
	}

	if err := m.exportReplies(ctx, zw, spool, exported, &sum); err != nil {
		return sum, err
	}

	key := exportKey(m.s.signer.PublicKey())
	head, err := json.Marshal(struct {
		Format    int             `json:"format"`
		Exported  time.Time       `json:"exported"`
		Appliance ExportAppliance `json:"appliance"`
		Resident  ExportResident  `json:"resident"`
	}{ExportFormat, now, ExportAppliance{Name: appliance, ReceiptKey: key},
		ExportResident{NationalID: m.resident.NationalID.Number, Name: m.resident.Name}})
	if err != nil {
		return sum, err
	}
	tail, err := json.Marshal(withheld)
	if err != nil {
		return sum, err
	}
	unreadable, err := json.Marshal(unreadables)
	if err != nil {
		return sum, err
	}
	mw, err := zw.CreateHeader(&zip.FileHeader{Name: exportManifest, Method: zip.Deflate, Modified: now})
	if err != nil {
		return sum, err
	}
	bw := bufio.NewWriter(mw)
	bw.Write(head[:len(head)-1])
	list := func(kind byte) error {
		first := true
		return spool.replay(func(entry []byte) error {
			if entry[0] != kind {
				return nil
			}
			if !first {
				bw.WriteByte(',')
			}
			first = false
			_, err := bw.Write(entry[1:])
			return err
		})
	}
	bw.WriteString(`,"letters":[`)
	if err := list(spoolLetter); err != nil {
		return sum, err
	}
	bw.WriteString(`],"withheld":`)
	bw.Write(tail)
	bw.WriteString(`,"unreadable":`)
	bw.Write(unreadable)
	bw.WriteString(`,"archive":[`)
	if err := list(spoolOwn); err != nil {
		return sum, err
	}
	bw.WriteString(`],"replies":[`)
	if err := list(spoolReply); err != nil {
		return sum, err
	}
	bw.WriteString(`]}`)
	if err := bw.Flush(); err != nil {
		return sum, err
	}
	kw, err := zw.CreateHeader(&zip.FileHeader{Name: exportReceiptKey, Method: zip.Deflate, Modified: now})
	if err != nil {
		return sum, err
	}
	if err := json.NewEncoder(kw).Encode(key); err != nil {
		return sum, err
	}
	if err := zw.Close(); err != nil {
		return sum, err
	}
	err = m.s.update(ctx, func(tx storage.Tx) error {
		return m.s.appendAuditDetail(tx, m.s.now(), "resident:"+m.resident.ID, "export", "resident:"+m.resident.ID,
			fmt.Sprintf("%d letters, %d own documents, %d replies, %d withheld, %d unreadable", sum.Letters, sum.Own, sum.Replies, sum.Withheld, sum.Unreadable))
	})
	return sum, err
}

// The kinds of entries in an export's spool: a letter's, and an own
// document's (the manifest's "letters" and "archive").
const (
	spoolLetter byte = 'L'
	spoolOwn    byte = 'A'
	spoolReply  byte = 'R'
)

// exportReplies writes the resident's replies and messages to zw, one
// at a time, each opened in a read transaction of its own, and spools
// their entries. A reply to a letter not in the archive (withheld,
// unreadable, deleted since) is left out with it; one that does not open
// is logged and left out.
func (m *Mailbox) exportReplies(ctx context.Context, zw *zip.Writer, spool *exportSpool, exported map[string]bool, sum *ExportSummary) error {
	var ids []string
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		ids = ids[:0]
		return tx.Replies().ByResident(m.resident.ID, func(r *storage.Reply) error {
			if r.LetterID == "" || exported[r.LetterID] {
				ids = append(ids, r.ID)
			}
			return nil
		})
	}); err != nil {
		return err
	}
	names := map[string]string{}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		var entry *ExportReply
		var opened *crypto.Reply
		err := m.s.view(ctx, func(tx storage.Tx) error {
			r, err := tx.Replies().Get(id)
			if err != nil {
				return err
			}
			if r.ResidentID != m.resident.ID {
				return ErrNotFound
			}
			entry = &ExportReply{ID: r.ID, LetterID: r.LetterID, Created: r.Created, Answers: r.Answers,
				WrittenBy: writtenBy(tx, r, names), Attachments: []ExportDocument{}}
			if snd, err := getSender(tx, r.SenderID); err == nil {
				entry.Sender = ExportSender{Name: snd.Name, OrgNumber: snd.OrgNumber, Kind: snd.Kind}
			}
			if opened, err = m.openReply(r); err != nil {
				return &unreadableError{err}
			}
			return nil
		})
		var unreadable *unreadableError
		switch {
		case errors.Is(err, ErrNotFound):
			continue // deleted since
		case errors.As(err, &unreadable):
			m.s.log.Error("export: a reply cannot be opened", "resident", m.resident.ID, "reply", id, "err", err)
			continue
		case err != nil:
			return fmt.Errorf("export reply %s: %w", id, err)
		}
		entry.Text = opened.Text
		dir := exportRepliesDir + id + "/"
		for i, a := range opened.Attachments {
			h := sha256.Sum256(a.Content)
			d := ExportDocument{Name: a.Name, ContentType: a.ContentType, Size: int64(len(a.Content)),
				Path: fmt.Sprintf("%s%d-%s", dir, i+1, exportFileName(a.Name)), SHA256: hex.EncodeToString(h[:])}
			method := zip.Deflate
			if d.ContentType != "text/plain" {
				method = zip.Store
			}
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: d.Path, Method: method, Modified: entry.Created})
			if err != nil {
				return err
			}
			if _, err := fw.Write(a.Content); err != nil {
				return err
			}
			clear(a.Content)
			entry.Attachments = append(entry.Attachments, d)
			sum.Documents++
			sum.Bytes += d.Size
		}
		b, err := json.Marshal(entry)
		if err != nil {
			return err
		}
		if err := spool.add(append([]byte{spoolReply}, b...)); err != nil {
			return err
		}
		sum.Replies++
	}
	return nil
}

// exportLetter opens one letter, writes its documents to zw and returns
// its manifest entry: a letter's, or an own document's.
func (m *Mailbox) exportLetter(ctx context.Context, zw *zip.Writer, id string, folders map[string]string, sum *ExportSummary) (*ExportLetter, *ExportOwnDocument, error) {
	var own *ExportOwnDocument
	var entry *ExportLetter
	var sealed [][]byte
	var dk *crypto.DataKey
	defer func() {
		if dk != nil {
			dk.Zero()
		}
	}()
	err := m.s.view(ctx, func(tx storage.Tx) error {
		rec, k, err := m.open(tx, id)
		if err != nil {
			return err
		}
		dk = k
		sender, err := letterSender(tx, rec)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("its sender %s is missing", rec.SenderID)
		} else if err != nil {
			return err
		}
		subject, err := dk.OpenField("subject", rec.Subject)
		if err != nil {
			return err
		}
		body, err := dk.OpenField("body", rec.Body)
		if err != nil {
			return err
		}
		structured, err := openStructured(dk, rec)
		if err != nil {
			return err
		}
		readMark := LetterSummary{ReadAt: rec.ReadAt, ReadMark: rec.ReadMark}
		entry = &ExportLetter{
			ID: rec.ID, Sender: ExportSender{Name: sender.Name, OrgNumber: sender.OrgNumber, Kind: sender.Kind},
			Subject: string(subject), Body: string(body), Type: rec.Type, DueDate: rec.DueDate,
			ReplyAllowed: rec.ReplyAllowed, Sensitive: rec.Sensitive, SenderReference: rec.SenderReference,
			DeliveredAt: rec.DeliveredAt, ReadAt: rec.ReadAt, PaidAt: rec.PaidAt, Read: !readMark.Unread(),
			Receipt: rec.Receipt, Documents: []ExportDocument{},
			OpeningReceipt: rec.OpeningReceipt, Invoice: structured.Invoice, Actions: structured.Actions,
			SignatureRequest: structured.SignatureRequest, InReplyTo: rec.InReplyTo,
		}
		switch rec.Folder {
		case FolderInbox:
			entry.Folder = "inbox"
		case FolderArchive:
			entry.Folder = "archive"
		default:
			entry.Folder, entry.FolderName = "own", folders[rec.Folder]
		}
		if imp := rec.Imported; imp != nil {
			entry.SenderReference = imp.SenderReference
			entry.ImportedFrom = &ExportOrigin{Appliance: imp.Appliance, LetterID: imp.LetterID, ReceiptKey: exportKey(imp.ReceiptKey)}
		}
		dir := exportLettersDir + rec.ID + "/"
		if rec.Own != nil {
			own = &ExportOwnDocument{ID: rec.SenderReference, Title: entry.Subject, Saved: rec.DeliveredAt,
				Folder: entry.Folder, FolderName: entry.FolderName}
			dir = exportArchiveDir + rec.SenderReference + "/"
		}
		for i, doc := range rec.Documents {
			name, err := dk.OpenField(fmt.Sprintf("document/%d/name", i), doc.Name)
			if err != nil {
				return fmt.Errorf("document %d: %w", i, err)
			}
			d := ExportDocument{Name: string(name), ContentType: doc.ContentType, Size: doc.Size,
				Path: fmt.Sprintf("%s%d-%s", dir, i+1, exportFileName(string(name)))}
			if doc.Sent != nil {
				b, err := dk.OpenField(fmt.Sprintf("document/%d/sent", i), doc.Sent)
				if err != nil {
					return fmt.Errorf("document %d: %w", i, err)
				}
				d.Sent = new(SentDocument)
				if err := json.Unmarshal(b, d.Sent); err != nil {
					return fmt.Errorf("document %d: %w", i, err)
				}
			}
			r, err := tx.Documents().Open(rec.ID, i)
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("document %d: content missing", i)
			} else if err != nil {
				return fmt.Errorf("document %d: %w", i, err)
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return fmt.Errorf("document %d: %w", i, err)
			}
			sealed = append(sealed, b)
			entry.Documents = append(entry.Documents, d)
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrInaccessible) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, ErrClosed) || ctx.Err() != nil:
		return nil, nil, err
	case err != nil:
		return nil, nil, &unreadableError{err}
	}
	// Every document is opened before any is written: a letter is in
	// the archive whole or not at all. A letter's documents are at most
	// Limits.MaxLetterSize together.
	contents := make([][]byte, len(sealed))
	for i := range sealed {
		if contents[i], err = dk.OpenDocument(fmt.Sprintf("document/%d", i), sealed[i]); err != nil {
			return nil, nil, &unreadableError{fmt.Errorf("document %d: %w", i, err)}
		}
		sealed[i] = nil
	}
	for i := range entry.Documents {
		d := &entry.Documents[i]
		content := contents[i]
		contents[i] = nil
		h := sha256.Sum256(content)
		d.SHA256 = hex.EncodeToString(h[:])
		method := zip.Deflate
		if d.ContentType != "text/plain" && d.ContentType != "text/html" {
			method = zip.Store // PDF, PNG and JPEG are compressed already
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: d.Path, Method: method, Modified: entry.DeliveredAt})
		if err != nil {
			return nil, nil, err
		}
		if _, err := fw.Write(content); err != nil {
			return nil, nil, err
		}
		sum.Documents++
		sum.Bytes += int64(len(content))
	}
	if own != nil {
		own.Documents = entry.Documents
		return nil, own, nil
	}
	return entry, nil, nil
}

// unreadableError is a letter that does not open (a damaged record or
// document, a key that does not open it): Export names it in the
// manifest and goes on with the others.
type unreadableError struct{ err error }

func (e *unreadableError) Error() string { return "unreadable: " + e.err.Error() }
func (e *unreadableError) Unwrap() error { return e.err }

// exportFileName is a document's name as a file name in the archive: one
// path element of letters, digits, spaces, dots, hyphens and underscores
// (others become "_"), not starting with a dot, at most 100 bytes.
func exportFileName(name string) string {
	b := []rune(strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name))
	s := strings.TrimLeft(string(b), ". ")
	for len(s) > 100 {
		r := []rune(s)
		s = string(r[1:])
	}
	if s == "" {
		s = "document"
	}
	return s
}

// exportSpool keeps an export's manifest entries until they are written
// last: in a temporary file, each sealed with a data key that only the
// spool holds, so no subject reaches a disk in clear. The file is
// removed when the spool is closed.
type exportSpool struct {
	f    *os.File
	w    *bufio.Writer
	key  *crypto.DataKey
	rand io.Reader
	n    int
}

func newExportSpool(rand io.Reader, dir string) (*exportSpool, error) {
	key, err := crypto.NewDataKey(rand)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "postkasse-export-*")
	if err != nil {
		key.Zero()
		return nil, fmt.Errorf("export: %w", err)
	}
	// Removed at once where the system allows: the open file is all
	// that is needed.
	os.Remove(f.Name())
	return &exportSpool{f: f, w: bufio.NewWriter(f), key: key, rand: rand}, nil
}

func (s *exportSpool) label(i int) string { return "export-manifest/" + strconv.Itoa(i) }

func (s *exportSpool) add(entry []byte) error {
	sealed, err := s.key.SealField(s.rand, s.label(s.n), entry)
	if err != nil {
		return err
	}
	s.n++
	s.w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(sealed))))
	_, err = s.w.Write(sealed)
	return err
}

func (s *exportSpool) replay(fn func([]byte) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	r := bufio.NewReader(s.f)
	for i := 0; i < s.n; i++ {
		var n [4]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		sealed := make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(r, sealed); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		entry, err := s.key.OpenField(s.label(i), sealed)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := fn(entry); err != nil {
			return err
		}
	}
	return nil
}

func (s *exportSpool) close() {
	s.key.Zero()
	name := s.f.Name()
	s.f.Close()
	os.Remove(name)
}

// letterSender returns the sender of a letter: for an imported letter,
// the sender as the other appliance named it (no sender of this one); for
// an own document, one without a name or kind.
func letterSender(tx storage.Tx, rec *letterRecord) (*senderRecord, error) {
	if rec.Own != nil {
		return &senderRecord{ID: rec.SenderID}, nil // no sender: the resident's own document
	}
	if imp := rec.Imported; imp != nil {
		return &senderRecord{ID: rec.SenderID, Name: imp.SenderName, OrgNumber: imp.SenderOrgNumber, Kind: imp.SenderKind}, nil
	}
	return getSender(tx, rec.SenderID)
}
