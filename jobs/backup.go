package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/postkasse/postkasse/internal/durable"
)

// BackupConfig is the scheduled backup: a copy of the appliance written
// into Folder on its schedule, of which the Keep newest are kept.
type BackupConfig struct {
	// Folder receives the copies, named postkasse-NAME-YYYYMMDDTHHMMSSZ.tar
	// after the appliance and the time they were begun. Put it on another
	// disk, and copy it off the machine.
	Folder string
	// Name tells this appliance's copies from another's in the same
	// folder (the domain): only copies of this name are counted and
	// deleted. Letters, digits, '.', '-'.
	Name string
	// Keep is how many copies stay; older ones are deleted after a new
	// one is written whole. Default 7.
	Keep int
	// Write writes one copy to path, which does not exist (main's
	// `postkasse backup`: the database while it serves, the data
	// folder's files and their manifest). It must leave no file at path
	// when it fails.
	Write func(ctx context.Context, path string) error
}

// backupPrefix, the appliance's name and backupSuffix frame the names of
// the job's copies; only files named so are ever deleted from the folder.
const (
	backupPrefix = "postkasse-"
	backupSuffix = ".tar"
	backupLayout = "20060102T150405Z"
	// partialSuffix marks a copy being written.
	partialSuffix = ".partial"
)

// removePartials deletes the copies of this appliance (prefix) that a
// run cut short left in folder.
func removePartials(folder, prefix string) error {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, prefix) && strings.HasSuffix(name, backupSuffix+partialSuffix) {
			if err := os.Remove(filepath.Join(folder, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// runBackup writes a new copy and then deletes the oldest copies beyond
// Keep. A failed copy deletes nothing.
func (s *Scheduler) runBackup(ctx context.Context, r *runState) error {
	b := s.cfg.Backup
	if b == nil {
		r.detail = "no backup folder configured (backup.folder)"
		return nil
	}
	if err := os.MkdirAll(b.Folder, 0o700); err != nil {
		return fmt.Errorf("backup folder: %w", err)
	}
	// A copy is written under a name the pruning never counts, and
	// renamed when whole: a run cut short (a crash, the machine going
	// down) leaves a .partial file, which the next run deletes.
	prefix := backupPrefix + b.Name + "-"
	if err := removePartials(b.Folder, prefix); err != nil {
		return err
	}
	name := prefix + s.cfg.Clock().UTC().Format(backupLayout) + backupSuffix
	path := filepath.Join(b.Folder, name)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists already (two runs in one second?)", path)
	}
	if err := b.Write(ctx, path+partialSuffix); err != nil {
		return err
	}
	if err := os.Rename(path+partialSuffix, path); err != nil {
		return err
	}
	if err := durable.SyncDir(b.Folder); err != nil {
		return err
	}
	r.item()
	deleted, kept, err := pruneBackups(b.Folder, prefix, b.Keep)
	if err != nil {
		return fmt.Errorf("wrote %s, but deleting old copies failed: %w", name, err)
	}
	r.detail = fmt.Sprintf("wrote %s; %d older copies deleted, %d kept", name, len(deleted), kept)
	return nil
}

// pruneBackups deletes this appliance's copies (prefix) in folder beyond
// the keep newest, by the time in their names, and returns the names it
// deleted and how many are kept. (A clock set back makes a new copy look
// oldest; the folder keeps keep copies all the same.)
func pruneBackups(folder, prefix string, keep int) ([]string, int, error) {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, 0, err
	}
	var copies []string
	for _, e := range entries {
		name := e.Name()
		stamp, hasPrefix := strings.CutPrefix(name, prefix)
		stamp, hasSuffix := strings.CutSuffix(stamp, backupSuffix)
		if !hasPrefix || !hasSuffix || !e.Type().IsRegular() {
			continue
		}
		if _, err := time.Parse(backupLayout, stamp); err != nil {
			continue // not one of the job's
		}
		copies = append(copies, name)
	}
	slices.Sort(copies) // the layout sorts by time
	if len(copies) <= keep {
		return nil, len(copies), nil
	}
	old := copies[:len(copies)-keep]
	var errs []error
	for _, name := range old {
		if err := os.Remove(filepath.Join(folder, name)); err != nil {
			errs = append(errs, err)
		}
	}
	return old, keep, errors.Join(errs...)
}
