// Package durable owns what makes a file's name survive a power cut, for
// the files Postkasse keeps outside its database engine's own writes (the
// data folder's CA, keys and configuration, a new database file): a file
// is durable once it is synced and its folder is synced after it was
// created or renamed into it (POSIX makes no stronger promise, and the
// power-cut test's filesystem, internal/testsupport/lazyfs, keeps exactly
// that one).
package durable

import (
	"fmt"
	"os"
)

// SyncDir makes a folder's list of names durable (fsync of the folder).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
