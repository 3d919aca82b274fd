package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// defaultMaxImportSize bounds the documents of one import in all
// (Limits.MaxImportSize): an import is one transaction, which the
// embedded engine holds in memory until it commits.
const defaultMaxImportSize = 2 << 30

// ImportLimits are the limits of an import: a document no larger than a
// delivery's, Limits.MaxImportSize in all, and a manifest of at most
// 256 MiB (about 200,000 letters) and no larger than that.
func (s *Store) ImportLimits() ExportLimits {
	total := cmp.Or(s.limits.MaxImportSize, defaultMaxImportSize)
	return ExportLimits{MaxFiles: 200_000, MaxManifestSize: min(256<<20, total), MaxDocumentSize: s.limits.MaxDocumentSize, MaxTotalSize: total}
}

// ImportResult says what an import did.
type ImportResult struct {
	// Imported letters are new in the mailbox; Repeated were imported
	// (or delivered here) before and are left as they are. Both count
	// the resident's own documents (the export's "archive") too.
	Imported, Repeated int
	// Withheld letters were inaccessible where they came from, and
	// Unreadable did not open there: neither is in the export.
	Withheld, Unreadable int
}

// importSenderID is the SenderID of the letters imported whose receipts
// a key signed: a sender of no appliance. With the letter's id on that
// appliance as its SenderReference, the letters' index of references
// makes an import idempotent: one letter is imported once.
func importSenderID(keyID string) string { return "import:" + keyID }

// importedLetter is a letter of an export, sealed for this mailbox and
// waiting for the import's transaction.
type importedLetter struct {
	rec   *letterRecord
	blobs []storage.Blob
	// folder is the name of the own folder it goes into; "" none.
	folder string
	// stored: the import's transaction stored it.
	stored bool
}

// Import brings the letters of an export archive (Export, on this or
// another Postkasse) into the mailbox: only an export of this resident's
// national identity number, and only after every receipt and document
// verified (OpenExport, Verify). Each letter keeps its sender (as the
// export names it, known here or not), its delivery time, read state and
// its receipt, still verifiable with the key of the appliance that
// signed it, which is stored with the letter; it is sealed anew to the
// resident's key. A letter imported before (by its id and the key of the
// appliance that delivered it) is not imported again, and this
// appliance's own letters that are still here neither. Letters go into
// the folder they were in; an own folder that does not exist is made.
// All the letters are stored in one transaction, or none: a refused
// archive is an *ExportError and stores nothing. Each letter imported is
// audited ("import").
func (m *Mailbox) Import(ctx context.Context, r io.ReaderAt, size int64) (ImportResult, error) {
	var res ImportResult
	if err := m.gate(); err != nil {
		return res, err
	}
	a, err := OpenExport(r, size, m.s.ImportLimits())
	if err != nil {
		return res, err
	}
	if a.Manifest.Resident.NationalID != m.resident.NationalID.Number {
		return res, exportErr(ExportOtherResident, "", "the export is the mailbox of another national identity number")
	}
	if _, err := a.Verify(); err != nil {
		return res, err
	}
	res.Withheld, res.Unreadable = len(a.Manifest.Withheld), len(a.Manifest.Unreadable)

	var owner *residentRecord
	if err := m.s.view(ctx, func(tx storage.Tx) error {
		owner, err = getResident(tx, m.resident.ID)
		return err
	}); err != nil {
		return res, err
	}
	to, err := recipientKeys(owner)
	if err != nil {
		return res, err
	}
	var letters []*importedLetter
	defer func() {
		// Blobs of letters not stored: none after a commit.
		for _, l := range letters {
			m.s.eng.Blobs().Discard(context.Background(), l.blobs)
		}
	}()
	ownKey := crypto.KeyID(m.s.signer.PublicKey())
	for i := range a.Manifest.Letters {
		l := &a.Manifest.Letters[i]
		origin := ExportOrigin{Appliance: a.Manifest.Appliance.Name, LetterID: l.ID, ReceiptKey: a.Manifest.Appliance.ReceiptKey}
		if l.ImportedFrom != nil {
			origin = *l.ImportedFrom
		}
		var here bool
		if err := m.s.view(ctx, func(tx storage.Tx) error {
			here, err = importedHere(tx, m.resident.ID, origin, ownKey)
			return err
		}); err != nil {
			return res, err
		}
		if here {
			res.Repeated++
			continue
		}
		il, err := m.sealImported(ctx, a, l, origin, to)
		if il != nil {
			letters = append(letters, il)
		}
		if err != nil {
			return res, err
		}
	}
	for i := range a.Manifest.Archive {
		o := &a.Manifest.Archive[i]
		var here bool
		if err := m.s.view(ctx, func(tx storage.Tx) error {
			here, err = ownHere(tx, m.resident.ID, o.ID)
			return err
		}); err != nil {
			return res, err
		}
		if here {
			res.Repeated++
			continue
		}
		il, err := m.importOwn(ctx, a, o, to)
		if il != nil {
			letters = append(letters, il)
		}
		if err != nil {
			return res, err
		}
	}

	now := m.s.now()
	repeated := res.Repeated
	err = m.s.update(ctx, func(tx storage.Tx) error {
		// The engine may run this again (storage.Engine.Update): it
		// starts afresh each time.
		res.Imported, res.Repeated = 0, repeated
		if err := m.current(tx); err != nil {
			return err
		}
		stored, own, err := m.ownFolders(tx)
		if err != nil {
			return err
		}
		folders := len(stored)
		for _, il := range letters {
			rec := il.rec
			il.stored = false
			// Checked again in the write: another import may have
			// stored it since.
			var here bool
			var err error
			if rec.Own != nil {
				here, err = ownHere(tx, m.resident.ID, rec.SenderReference)
			} else {
				origin := ExportOrigin{LetterID: rec.Imported.LetterID, ReceiptKey: ExportKey{KeyID: crypto.KeyID(rec.Imported.ReceiptKey)}}
				here, err = importedHere(tx, m.resident.ID, origin, ownKey)
			}
			if err != nil {
				return err
			} else if here {
				res.Repeated++
				continue
			}
			detail := ""
			if rec.Own != nil {
				rec.Own.Imported = now
				detail = fmt.Sprintf("own document %s", rec.SenderReference)
			} else {
				rec.Imported.Imported = now
				detail = fmt.Sprintf("letter %s of the appliance with receipt key %s", rec.Imported.LetterID, crypto.KeyID(rec.Imported.ReceiptKey))
			}
			if il.folder != "" {
				rec.Folder = FolderInbox // when the resident has all the folders allowed
				i := slices.IndexFunc(own, func(f Folder) bool { return strings.EqualFold(f.Name, il.folder) })
				switch {
				case i >= 0:
					rec.Folder = own[i].ID
				case folders < maxFolders:
					f, err := m.newFolder(il.folder, now)
					if err != nil {
						return err
					}
					stored = append(stored, f)
					own = append(own, Folder{ID: f.ID, Name: il.folder})
					folders++
					rec.Folder = f.ID
				}
			}
			if err := tx.Letters().Put(rec); err != nil {
				return err
			}
			if err := tx.Documents().Put(rec.ID, il.blobs); err != nil {
				return err
			}
			if err := m.s.appendAuditDetail(tx, now, "resident:"+m.resident.ID, "import", "letter:"+rec.ID, detail); err != nil {
				return err
			}
			res.Imported++
			il.stored = true
		}
		if len(stored) > 0 {
			return tx.Folders().Put(m.resident.ID, stored)
		}
		return nil
	})
	if err != nil {
		// A commit can fail after the database committed: nobody can be
		// sure the blobs are free, so the engine's sweep of blobs that no
		// letter refers to takes them (as after a failed delivery).
		letters = nil
		return ImportResult{}, err
	}
	// The blobs of the letters stored are theirs now; those of a letter
	// that another import stored meanwhile are discarded.
	kept := letters[:0]
	for _, il := range letters {
		if !il.stored {
			kept = append(kept, il)
		}
	}
	letters = kept
	if res.Imported > 0 {
		// The letters brought in go to the delegates whose grant covers
		// them, as a delivery's do.
		if err := m.coverGrants(ctx, true); err != nil {
			return res, fmt.Errorf("seal imported letters to delegates: %w", err)
		}
	}
	return res, nil
}

// importedHere reports whether the letter an export names is in the
// resident's mailbox already: imported before from the appliance whose
// key signed its receipt, or, when that is this appliance's key, still
// here as delivered.
func importedHere(tx storage.Tx, residentID string, origin ExportOrigin, ownKeyID string) (bool, error) {
	if origin.ReceiptKey.KeyID == ownKeyID {
		rec, err := tx.Letters().Get(origin.LetterID)
		if err == nil && rec.ResidentID == residentID {
			return true, nil
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
	}
	_, err := tx.Letters().ByReference(importSenderID(origin.ReceiptKey.KeyID), origin.LetterID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// importFolder returns the folder a letter of an export goes into, as
// the export names it: the inbox or the archive, or the name of an own
// folder (then the inbox until Import finds or makes that folder).
func importFolder(folder, name string) (string, string, error) {
	switch folder {
	case "inbox":
	case "archive":
		return FolderArchive, "", nil
	case "own":
		if name == "" {
			break // a folder whose name did not open there: the inbox
		}
		name, err := checkFolderName(name)
		if err != nil {
			return "", "", fmt.Errorf("folder name: %v", err)
		}
		return FolderInbox, name, nil
	default:
		return "", "", fmt.Errorf("folder %q is not inbox, archive or own", folder)
	}
	return FolderInbox, "", nil
}

// importOwn checks one own document of a verified export with the rules
// of an upload (Upload: the same types, content checks and limits), seals
// it anew to the resident and writes its files as blobs. On an error
// after blobs were written, it returns them too, for the caller to
// discard.
func (m *Mailbox) importOwn(ctx context.Context, a *ExportArchive, o *ExportOwnDocument, to crypto.PublicKeys) (*importedLetter, error) {
	refuse := func(format string, args ...any) error {
		return letterErr(ExportNotAnExport, o.ID, format, args...)
	}
	files := make([]DocumentInput, 0, len(o.Documents))
	if len(o.Documents) > m.s.limits.MaxDocuments {
		return nil, refuse("%d files, more than the %d allowed", len(o.Documents), m.s.limits.MaxDocuments)
	}
	for j, d := range o.Documents {
		if _, ok := newTypeCheck(d.ContentType); !ok {
			return nil, refuse("file %d: type %q is not one Postkasse keeps", j+1, d.ContentType)
		}
		content, err := a.document(d)
		if err != nil {
			return nil, err
		}
		files = append(files, DocumentInput{Name: d.Name, ContentType: d.ContentType, Content: content})
	}
	docs, err := m.s.checkDocuments(files)
	if err != nil {
		return nil, refuse("%v", err)
	}
	title, err := m.s.checkTitle(o.Title, docs[0].Name)
	if err != nil {
		return nil, refuse("%v", err)
	}
	folder, folderName, err := importFolder(o.Folder, o.FolderName)
	if err != nil {
		return nil, refuse("%v", err)
	}
	rec, blobs, err := m.sealOwn(ctx, to, o.ID, title, docs, o.Saved)
	il := &importedLetter{rec: rec, blobs: blobs, folder: folderName}
	if err != nil {
		return il, err
	}
	rec.Folder = folder
	return il, nil
}

// newFolder makes the record of an own folder named name.
func (m *Mailbox) newFolder(name string, now time.Time) (storage.Folder, error) {
	id, err := m.s.newID()
	if err != nil {
		return storage.Folder{}, err
	}
	sealed, err := m.sealFolderName(id, name)
	if err != nil {
		return storage.Folder{}, err
	}
	return storage.Folder{ID: id, Name: sealed, Created: now}, nil
}

// sealImported checks one letter of a verified export against this
// appliance's rules, seals it with a fresh data key to the resident and
// writes its documents as blobs. On an error after blobs were written, it
// returns them too, for the caller to discard.
func (m *Mailbox) sealImported(ctx context.Context, a *ExportArchive, l *ExportLetter, origin ExportOrigin, to crypto.PublicKeys) (*importedLetter, error) {
	refuse := func(format string, args ...any) error {
		return letterErr(ExportNotAnExport, l.ID, format, args...)
	}
	switch l.Type {
	case TypeLetter, TypeDecision, TypeInvoice, TypeNotice:
	default:
		return nil, refuse("type %q is not one of letter, decision, invoice, notice", l.Type)
	}
	switch l.Sender.Kind {
	case SenderPublic, SenderPrivate:
	default:
		return nil, refuse("sender kind %q is not public or private", l.Sender.Kind)
	}
	if len(l.Documents) > m.s.limits.MaxDocuments {
		return nil, refuse("%d documents, more than the %d allowed", len(l.Documents), m.s.limits.MaxDocuments)
	}
	var p ReceiptPayload
	if err := json.Unmarshal(l.Receipt.Payload, &p); err != nil { // verified already
		return nil, refuse("receipt: %v", err)
	}
	if err := checkDueDate(l.DueDate); err != nil {
		return nil, refuse("letter %s: %v", l.ID, err)
	}
	// The invoice and actions by this appliance's rules; checkStructured
	// may only fill in what the manifest left empty, and the receipt was
	// checked against the manifest's fields as they are.
	structured := Delivery{Type: l.Type, DueDate: l.DueDate, Invoice: l.Invoice, Actions: l.Actions}
	if err := checkStructured(&structured); err != nil {
		return nil, refuse("%v", err)
	}
	if err := checkImportedSignatureRequest(l.SignatureRequest); err != nil {
		return nil, refuse("letter %s: %v", l.ID, err)
	}
	id, err := m.s.newLetterID()
	if err != nil {
		return nil, err
	}
	il := &importedLetter{rec: &letterRecord{
		ID: id, ResidentID: m.resident.ID, SenderID: importSenderID(origin.ReceiptKey.KeyID), SenderReference: origin.LetterID,
		Type: l.Type, DueDate: l.DueDate, DeliveredAt: l.DeliveredAt.UTC(), ReadAt: l.ReadAt.UTC(), PaidAt: l.PaidAt.UTC(),
		ContentHash: p.ContentHash, Receipt: l.Receipt, Sensitive: l.Sensitive, OpeningReceipt: l.OpeningReceipt,
		Imported: &storage.ImportedLetter{
			LetterID: origin.LetterID, ReceiptKey: origin.ReceiptKey.PublicKey, Appliance: origin.Appliance,
			SenderReference: l.SenderReference, SenderName: l.Sender.Name, SenderOrgNumber: l.Sender.OrgNumber, SenderKind: l.Sender.Kind,
		},
	}}
	rec := il.rec
	if l.ReadAt.IsZero() {
		rec.ReadAt = time.Time{}
	}
	if l.PaidAt.IsZero() {
		rec.PaidAt = time.Time{}
	}
	if l.Read != !rec.ReadAt.IsZero() {
		mark := l.Read
		rec.ReadMark = &mark
	}
	if rec.Folder, il.folder, err = importFolder(l.Folder, l.FolderName); err != nil {
		return nil, refuse("%v", err)
	}
	dk, err := crypto.NewDataKey(m.s.rand)
	if err != nil {
		return nil, err
	}
	defer dk.Zero()
	if rec.SealedKey, err = crypto.SealDataKey(m.s.rand, dk, to, letterBinding(rec)); err != nil {
		return nil, err
	}
	if rec.Subject, err = dk.SealField(m.s.rand, "subject", []byte(l.Subject)); err != nil {
		return nil, err
	}
	if rec.Body, err = dk.SealField(m.s.rand, "body", []byte(l.Body)); err != nil {
		return nil, err
	}
	if rec.Structured, err = sealStructured(m.s.rand, dk, structuredData{Invoice: l.Invoice, Actions: l.Actions, SignatureRequest: l.SignatureRequest}); err != nil {
		return nil, err
	}
	for j, d := range l.Documents {
		if _, ok := newTypeCheck(d.ContentType); !ok {
			return il, refuse("document %d: type %q is not one Postkasse keeps", j+1, d.ContentType)
		}
		content, err := a.document(d)
		if err != nil {
			return il, err
		}
		if !matchesType(d.ContentType, content) {
			return il, exportErr(ExportNotAnExport, d.Path, "is not a %s document", d.ContentType)
		}
		doc := documentRecord{ContentType: d.ContentType, Size: int64(len(content))}
		if doc.Name, err = dk.SealField(m.s.rand, fmt.Sprintf("document/%d/name", j), []byte(d.Name)); err != nil {
			return il, err
		}
		if d.Sent != nil {
			b, err := json.Marshal(d.Sent)
			if err != nil {
				return il, err
			}
			if doc.Sent, err = dk.SealField(m.s.rand, fmt.Sprintf("document/%d/sent", j), b); err != nil {
				return il, err
			}
		}
		sealed, err := dk.SealDocument(m.s.rand, fmt.Sprintf("document/%d", j), content)
		if err != nil {
			return il, err
		}
		blob, err := m.s.eng.Blobs().Write(ctx, id, j, bytes.NewBuffer(sealed))
		if err != nil {
			return il, fmt.Errorf("write document %d: %w", j, err)
		}
		il.blobs = append(il.blobs, blob)
		rec.Documents = append(rec.Documents, doc)
		rec.Size += doc.Size
	}
	return il, nil
}
