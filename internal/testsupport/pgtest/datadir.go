package pgtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// initdbSettings are initdb's arguments apart from the data folder; they
// are part of the template cache's key, so changing them makes a new
// template.
//
// --no-sync: initdb does not fsync the folder it made. The folder is a
// test's, and crash tests kill processes, not the machine; the template
// kept in the cache is fsynced by pgtest before it is used.
func initdbSettings() []string {
	return []string{
		"--username=" + superuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
		"--no-instructions",
	}
}

// makeDataDir makes the server's data folder: a copy of the cached
// template for this PostgreSQL version when there is one (its path is
// returned), or else a fresh initdb, which then becomes the template.
func (s *Server) makeDataDir() (template string, err error) {
	cache := templateDir(s.bin)
	if cache != "" {
		if _, err := os.Stat(filepath.Join(cache, "PG_VERSION")); err == nil {
			if err := copyTree(cache, s.dataDir(), s.owner, false); err != nil {
				return "", fmt.Errorf("copy the data folder template %s: %w", cache, err)
			}
			return cache, nil
		}
	}
	args := append([]string{"--pgdata=" + s.dataDir()}, initdbSettings()...)
	if out, err := s.runAs(s.bin.initdb, args...); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", s.bin.initdb, err, out)
	}
	if cache != "" {
		// Best effort: without a cache, every server runs initdb.
		saveTemplate(s.dataDir(), cache)
	}
	return "", nil
}

// templateDir is where the template of the data folder made with these
// binaries and initdbSettings is kept, or "" when the user has no cache
// folder.
func templateDir(bin binaries) string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(bin.version))
	h.Write([]byte{0})
	h.Write([]byte(bin.initdb))
	for _, a := range initdbSettings() {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	return filepath.Join(base, "postkasse-pgtest", fmt.Sprintf("pg%d-%s", bin.major, hex.EncodeToString(h.Sum(nil))[:16]))
}

// saveTemplate copies a fresh data folder to the cache: to a temporary
// name first, fsynced, then renamed into place, so that a reader never
// sees half of it. When another process got there first, its copy stays.
func saveTemplate(dataDir, cache string) error {
	if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
		return err
	}
	tmp := cache + ".tmp-" + rand.Text()
	if err := copyTree(dataDir, tmp, owner{}, true); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, cache); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return syncDir(filepath.Dir(cache))
}

// copyTree copies the folder src to dst, which must not exist: folders
// and regular files with their permissions (PostgreSQL insists on 0700
// for the data folder), given to own when it is another user, and
// fsynced when sync is set.
func copyTree(src, dst string, own owner, sync bool) error {
	var dirs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			if err := os.Chmod(target, info.Mode().Perm()); err != nil {
				return err
			}
			dirs = append(dirs, target)
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm(), sync); err != nil {
				return err
			}
		default:
			// A fresh data folder has no symbolic links (pg_wal is one
			// only with initdb --waldir) and nothing else.
			return fmt.Errorf("%s: %w", path, errNotCopyable)
		}
		if own.switchUser {
			return os.Lchown(target, own.uid, own.gid)
		}
		return nil
	})
	if err != nil || !sync {
		return err
	}
	// The files were synced as they were written; their names are
	// durable once each folder is.
	for _, dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

var errNotCopyable = errors.New("neither a folder nor a regular file")

func copyFile(src, dst string, perm fs.FileMode, sync bool) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := out.Chmod(perm); err != nil {
		return err
	}
	if sync {
		return out.Sync()
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
