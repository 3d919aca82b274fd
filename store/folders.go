package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/postkasse/postkasse/store/storage"
)

// The mailbox's folders: the inbox (""), the archive ("archive") and the
// resident's own, by id. Each letter is in one. The names of the inbox
// and the archive are the web layer's to say in the resident's language;
// own folders have the names the resident gave them.
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

// ErrFolderNotEmpty: a folder with letters in it is not deleted.
var ErrFolderNotEmpty = errors.New("the folder is not empty")

// Folder is a folder of the mailbox with the number of letters in it.
// Name is empty for the inbox and the archive.
type Folder struct {
	ID      string
	Name    string
	Letters int
}

// Folders returns the inbox, the archive and the resident's own folders
// (by name), each with its number of letters.
func (m *Mailbox) Folders() ([]Folder, error) {
	if err := m.gate(); err != nil {
		return nil, err
	}
	var out []Folder
	err := m.s.view(func(tx storage.Tx) error {
		own, err := tx.Folders().Get(m.resident.ID)
		if err != nil {
			return err
		}
		slices.SortFunc(own, func(a, b storage.Folder) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		})
		out = []Folder{{ID: FolderInbox}, {ID: FolderArchive}}
		for _, f := range own {
			out = append(out, Folder{ID: f.ID, Name: f.Name})
		}
		for i := range out {
			if out[i].Letters, err = tx.Letters().FolderCount(m.resident.ID, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
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
func sameName(own []storage.Folder, name, except string) bool {
	return slices.ContainsFunc(own, func(f storage.Folder) bool { return f.ID != except && strings.EqualFold(f.Name, name) })
}

// CreateFolder makes a folder of the resident's own.
func (m *Mailbox) CreateFolder(name string) (Folder, error) {
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
	now := m.s.now()
	err = m.s.update(func(tx storage.Tx) error {
		own, err := tx.Folders().Get(m.resident.ID)
		if err != nil {
			return err
		}
		switch {
		case len(own) >= maxFolders:
			return invalid("name", "at most %d folders", maxFolders)
		case sameName(own, name, ""):
			return invalid("name", "a folder of that name exists")
		}
		return tx.Folders().Put(m.resident.ID, append(own, storage.Folder{ID: id, Name: name, Created: now}))
	})
	return Folder{ID: id, Name: name}, err
}

// RenameFolder renames one of the resident's own folders.
func (m *Mailbox) RenameFolder(id, name string) error {
	if err := m.gate(); err != nil {
		return err
	}
	name, err := checkFolderName(name)
	if err != nil {
		return err
	}
	return m.s.update(func(tx storage.Tx) error {
		own, err := tx.Folders().Get(m.resident.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(own, func(f storage.Folder) bool { return f.ID == id })
		switch {
		case i < 0:
			return fmt.Errorf("folder %s: %w", id, ErrNotFound)
		case sameName(own, name, id):
			return invalid("name", "a folder of that name exists")
		}
		own[i].Name = name
		return tx.Folders().Put(m.resident.ID, own)
	})
}

// DeleteFolder deletes one of the resident's own folders when it is
// empty (ErrFolderNotEmpty otherwise).
func (m *Mailbox) DeleteFolder(id string) error {
	if err := m.gate(); err != nil {
		return err
	}
	return m.s.update(func(tx storage.Tx) error {
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
func (m *Mailbox) MoveLetters(ids []string, folder string) error {
	if err := m.gate(); err != nil {
		return err
	}
	return m.s.update(func(tx storage.Tx) error {
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
