package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// The mailbox's folders: the inbox (""), the archive ("archive") and the
// resident's own, by id. Each letter is in one. The names of the inbox
// and the archive are the web layer's to say in the resident's language;
// own folders have the names the resident gave them, which say as much
// about the mail as a subject ("Divorce", "Debt collection"): they are
// sealed with a key derived from the resident's private key (folderKey),
// bound to the folder's id, and stored nowhere in clear.
const (
	FolderInbox   = ""
	FolderArchive = "archive"
)

// maxFolders bounds how many folders a resident makes; maxFolderName a
// folder name, in characters.
const (
	maxFolders    = 100
	maxFolderName = 60
)

// Errors of folders that a page words for the resident. A name that is
// empty, too long or holds control or format characters is an
// InvalidError of the field "name".
var (
	// ErrFolderNotEmpty: a folder with letters in it is not deleted.
	ErrFolderNotEmpty = errors.New("the folder is not empty")
	// ErrFolderExists: another folder has the name (case folded).
	ErrFolderExists = errors.New("a folder of that name exists")
	// ErrTooManyFolders: the resident has maxFolders folders.
	ErrTooManyFolders = fmt.Errorf("at most %d folders", maxFolders)
)

// Folder is a folder of the mailbox with the number of letters in it and
// how many of them are unread. Name is empty for the inbox and the
// archive. Unreadable is set for an own folder whose sealed name does not
// open (it was damaged): it is listed, without a name, so the resident
// can rename or delete it.
type Folder struct {
	ID         string
	Name       string
	Letters    int
	Unread     int
	Unreadable bool
}

// folderPurpose names the key of folder names among keys derived from a
// resident's private key.
const folderPurpose = "folder-names"

// folderLabel binds a sealed folder name to its folder.
func folderLabel(id string) string { return "folder/" + id }

// folderKey returns the key that seals the resident's folder names.
func (m *Mailbox) folderKey() (*crypto.DataKey, error) {
	if m.foldKey == nil {
		k, err := m.key.DeriveDataKey(folderPurpose, m.resident.ID)
		if err != nil {
			return nil, err
		}
		m.foldKey = k
	}
	return m.foldKey, nil
}

// sealFolderName seals a folder's name for the resident.
func (m *Mailbox) sealFolderName(id, name string) ([]byte, error) {
	k, err := m.folderKey()
	if err != nil {
		return nil, err
	}
	return k.SealField(m.s.rand, folderLabel(id), []byte(name))
}

// resealFolderNames seals the names of a resident's folders anew when
// their key pair gains its ML-KEM half (a sign-in or a recovery): the key
// that seals them is derived from the whole key pair, so it changes.
func resealFolderNames(tx storage.Tx, rand io.Reader, residentID string, from, to *crypto.PrivateKey) error {
	own, err := tx.Folders().Get(residentID)
	if err != nil || len(own) == 0 {
		return err
	}
	old, err := from.DeriveDataKey(folderPurpose, residentID)
	if err != nil {
		return err
	}
	defer old.Zero()
	next, err := to.DeriveDataKey(folderPurpose, residentID)
	if err != nil {
		return err
	}
	defer next.Zero()
	for i, f := range own {
		name, err := old.OpenField(folderLabel(f.ID), f.Name)
		if err != nil {
			// A name that does not open stays as it is (ownFolders shows
			// it as unreadable): it must not keep the resident from
			// signing in and reaching their mail.
			continue
		}
		if own[i].Name, err = next.SealField(rand, folderLabel(f.ID), name); err != nil {
			return err
		}
	}
	return tx.Folders().Put(residentID, own)
}

// ownFolders returns the resident's own folders with their names opened.
func (m *Mailbox) ownFolders(tx storage.Tx) ([]storage.Folder, []Folder, error) {
	own, err := tx.Folders().Get(m.resident.ID)
	if err != nil {
		return nil, nil, err
	}
	k, err := m.folderKey()
	if err != nil {
		return nil, nil, err
	}
	out := make([]Folder, 0, len(own))
	for _, f := range own {
		name, err := k.OpenField(folderLabel(f.ID), f.Name)
		if err != nil {
			m.s.log.Error("folders: a name does not open", "resident", m.resident.ID, "folder", f.ID, "err", err)
			out = append(out, Folder{ID: f.ID, Unreadable: true})
			continue
		}
		out = append(out, Folder{ID: f.ID, Name: string(name)})
	}
	return own, out, nil
}

// current checks, in a write, that the mailbox's session still exists
// and holds the account's key pair: a request that opened its session
// before a sign-in elsewhere added the ML-KEM half (and ended the other
// sessions) must not seal anything with the key pair without it.
func (m *Mailbox) current(tx storage.Tx) error {
	res, err := getResident(tx, m.resident.ID)
	if err != nil {
		return err
	}
	if len(res.MLKEMPublicKey) > 0 && !m.key.HasMLKEM() {
		return ErrSessionExpired
	}
	if _, err := tx.Sessions().Get([]byte(m.sessionID)); errors.Is(err, ErrNotFound) {
		return ErrSessionExpired
	} else if err != nil {
		return err
	}
	return nil
}

// Folders returns the inbox, the archive and the resident's own folders
// (by name), each with its number of letters and of unread letters.
func (m *Mailbox) Folders(ctx context.Context) ([]Folder, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	var out []Folder
	err := m.s.view(ctx, func(tx storage.Tx) error {
		var err error
		out, err = m.folders(tx)
		return err
	})
	return out, err
}

// folders is Folders in a transaction. The counts are the engine's
// counters, kept with the indexes: one read each, whatever the mailbox's
// size.
func (m *Mailbox) folders(tx storage.Tx) ([]Folder, error) {
	_, own, err := m.ownFolders(tx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(own, func(a, b Folder) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	out := append([]Folder{{ID: FolderInbox}, {ID: FolderArchive}}, own...)
	for i := range out {
		if out[i].Letters, err = tx.Letters().FolderCount(m.resident.ID, out[i].ID); err != nil {
			return nil, err
		}
		if out[i].Unread, err = tx.Letters().FolderUnread(m.resident.ID, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkFolderName checks a folder's name: 1 to maxFolderName characters
// of printable text on one line.
func checkFolderName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("name", "empty")
	case !utf8.ValidString(name):
		return "", invalid("name", "not valid UTF-8")
	case utf8.RuneCountInString(name) > maxFolderName:
		return "", invalid("name", "more than %d characters", maxFolderName)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return "", invalid("name", "holds control or format characters")
	}
	return name, nil
}

// sameName reports whether a folder of own has the name (case folded).
func sameName(own []Folder, name, except string) bool {
	return slices.ContainsFunc(own, func(f Folder) bool { return f.ID != except && strings.EqualFold(f.Name, name) })
}

// CreateFolder makes a folder of the resident's own.
func (m *Mailbox) CreateFolder(ctx context.Context, name string) (Folder, error) {
	if err := m.gate(); err != nil {
		return Folder{}, err
	}
	name, err := checkFolderName(name)
	if err != nil {
		return Folder{}, err
	}
	id, err := m.s.newID()
	if err != nil {
		return Folder{}, err
	}
	sealed, err := m.sealFolderName(id, name)
	if err != nil {
		return Folder{}, err
	}
	now := m.s.now()
	err = m.s.update(ctx, func(tx storage.Tx) error {
		if err := m.current(tx); err != nil {
			return err
		}
		stored, own, err := m.ownFolders(tx)
		if err != nil {
			return err
		}
		switch {
		case len(own) >= maxFolders:
			return ErrTooManyFolders
		case sameName(own, name, ""):
			return ErrFolderExists
		}
		return tx.Folders().Put(m.resident.ID, append(stored, storage.Folder{ID: id, Name: sealed, Created: now}))
	})
	return Folder{ID: id, Name: name}, err
}

// RenameFolder renames one of the resident's own folders.
func (m *Mailbox) RenameFolder(ctx context.Context, id, name string) error {
	if err := m.gate(); err != nil {
		return err
	}
	name, err := checkFolderName(name)
	if err != nil {
		return err
	}
	sealed, err := m.sealFolderName(id, name)
	if err != nil {
		return err
	}
	return m.s.update(ctx, func(tx storage.Tx) error {
		if err := m.current(tx); err != nil {
			return err
		}
		stored, own, err := m.ownFolders(tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(stored, func(f storage.Folder) bool { return f.ID == id })
		switch {
		case i < 0:
			return fmt.Errorf("folder %s: %w", id, ErrNotFound)
		case sameName(own, name, id):
			return ErrFolderExists
		}
		stored[i].Name = sealed
		return tx.Folders().Put(m.resident.ID, stored)
	})
}

// DeleteFolder deletes one of the resident's own folders when it is
// empty (ErrFolderNotEmpty otherwise).
func (m *Mailbox) DeleteFolder(ctx context.Context, id string) error {
	if err := m.gate(); err != nil {
		return err
	}
	return m.s.update(ctx, func(tx storage.Tx) error {
		own, err := tx.Folders().Get(m.resident.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(own, func(f storage.Folder) bool { return f.ID == id })
		if i < 0 {
			return fmt.Errorf("folder %s: %w", id, ErrNotFound)
		}
		if n, err := tx.Letters().FolderCount(m.resident.ID, id); err != nil {
			return err
		} else if n > 0 {
			return ErrFolderNotEmpty
		}
		return tx.Folders().Put(m.resident.ID, slices.Delete(own, i, i+1))
	})
}

// knownFolder reports whether id names a folder of the resident.
func knownFolder(tx storage.Tx, residentID, id string) (bool, error) {
	if id == FolderInbox || id == FolderArchive {
		return true, nil
	}
	own, err := tx.Folders().Get(residentID)
	return slices.ContainsFunc(own, func(f storage.Folder) bool { return f.ID == id }), err
}

// MoveLetters moves letters of the mailbox to a folder, all or none.
// Another resident's letter is ErrNotFound; a letter made inaccessible
// stays where it is (ErrInaccessible).
func (m *Mailbox) MoveLetters(ctx context.Context, ids []string, folder string) error {
	if err := m.gate(); err != nil {
		return err
	}
	return m.s.update(ctx, func(tx storage.Tx) error {
		if ok, err := knownFolder(tx, m.resident.ID, folder); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("folder %s: %w", folder, ErrNotFound)
		}
		for _, id := range ids {
			rec, err := m.own(tx, id)
			if err != nil {
				return err
			}
			if rec.Folder == folder {
				continue
			}
			rec.Folder = folder
			if err := tx.Letters().Put(rec); err != nil {
				return err
			}
		}
		return nil
	})
}
