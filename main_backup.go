package main

// postkasse backup and restore: the whole data folder in one file, with a
// manifest of every file's size and SHA-256, made while the server runs.
//
// The file is a tar archive: the database (a consistent copy made in one
// read transaction, while deliveries go on), the configuration, the sender
// CA, the ACME certificates (certs/), the audit checkpoints (read before
// the database is copied), the files the configuration names in the
// folder (trusted roots, a credentials file), then MANIFEST.json last. restore refuses a file whose manifest is missing
// (cut short), does not match what it lists, or lists a file twice; it
// writes into a new folder beside the target and moves it into place only
// when everything matched and the database opened and passed its checks.

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/embedded"
)

// backupFormat names the archive's format in its manifest.
const backupFormat = "postkasse-backup 1"

// manifestName is the archive's last entry.
const manifestName = "MANIFEST.json"

// backupManifest lists the archive's files.
type backupManifest struct {
	Format  string       `json:"format"`
	Created time.Time    `json:"created"`
	Version string       `json:"version"`
	Files   []backupFile `json:"files"`
}

type backupFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// backupDirs are the data folder's folders that go into a backup, with
// every regular file in them; backupFiles its single files besides the
// database.
var (
	backupDirs  = []string{caDirName, certsDirName}
	backupFiles = []string{configFileName, acmeRootFileName, "demo.json"}
)

// writeBackup writes the data folder dir's backup to path, which must not
// exist, taking the database from st while it serves. extra are further
// files of the folder the configuration names (relative to dir: a
// trusted root, a credentials file).
func writeBackup(ctx context.Context, st *store.Store, dir, path string, extra []string) (control.BackupInfo, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return control.BackupInfo{}, err
	}
	info, err := writeBackupTo(ctx, st, dir, extra, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return control.BackupInfo{}, err
	}
	info.Path = path
	return info, nil
}

func writeBackupTo(ctx context.Context, st *store.Store, dir string, extra []string, w io.Writer) (control.BackupInfo, error) {
	tw := tar.NewWriter(w)
	m := backupManifest{Format: backupFormat, Created: time.Now().UTC(), Version: version()}
	add := func(name string, size int64, mode int64, write func(io.Writer) (int64, error)) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: mode, ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		h := sha256.New()
		n, err := write(io.MultiWriter(tw, h))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("%s: %d bytes, %d expected", name, n, size)
		}
		m.Files = append(m.Files, backupFile{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	// The audit checkpoints are read before the database is copied: a
	// checkpoint appended meanwhile would be of a larger log than the
	// copy's, and audit verify on the backup would report a rollback.
	checkpoints, err := os.ReadFile(filepath.Join(dir, checkpointFileName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return control.BackupInfo{}, err
	}
	hasCheckpoints := err == nil
	// The database first: its size is known only once copied, so it goes
	// through a temporary file beside the backup's folder.
	tmp, err := os.CreateTemp(dir, ".backup-db-*")
	if err != nil {
		return control.BackupInfo{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	start := time.Now()
	size, err := st.WriteBackup(ctx, tmp)
	if err != nil {
		return control.BackupInfo{}, fmt.Errorf("copy the database: %w", err)
	}
	copied := time.Since(start)
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return control.BackupInfo{}, err
	}
	if err := add(dbFileName, size, 0o600, func(w io.Writer) (int64, error) { return io.Copy(w, tmp) }); err != nil {
		return control.BackupInfo{}, err
	}
	var names []string
	for _, d := range backupDirs {
		err := filepath.WalkDir(filepath.Join(dir, d), func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return err
			}
			if e.Type().IsRegular() {
				rel, err := filepath.Rel(dir, p)
				if err != nil {
					return err
				}
				names = append(names, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return control.BackupInfo{}, err
		}
	}
	for _, n := range append(slices.Clone(backupFiles), extra...) {
		if n == checkpointFileName || slices.Contains(names, n) || checkBackupName(n) != nil {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(n))); err == nil && fi.Mode().IsRegular() {
			names = append(names, n)
		}
	}
	if hasCheckpoints {
		if err := add(checkpointFileName, int64(len(checkpoints)), 0o600, func(w io.Writer) (int64, error) {
			n, err := w.Write(checkpoints)
			return int64(n), err
		}); err != nil {
			return control.BackupInfo{}, err
		}
	}
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return control.BackupInfo{}, err
		}
		fi, err := f.Stat()
		if err == nil {
			err = add(n, fi.Size(), int64(fi.Mode().Perm()), func(w io.Writer) (int64, error) { return io.CopyN(w, f, fi.Size()) })
		}
		f.Close()
		if err != nil {
			return control.BackupInfo{}, err
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return control.BackupInfo{}, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Size: int64(len(data)), Mode: 0o600, ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
		return control.BackupInfo{}, err
	}
	if _, err := tw.Write(data); err != nil {
		return control.BackupInfo{}, err
	}
	if err := tw.Close(); err != nil {
		return control.BackupInfo{}, err
	}
	return control.BackupInfo{Files: len(m.Files), DatabaseBytes: size, CopyMillis: copied.Milliseconds(), Created: m.Created}, nil
}

// runBackup: postkasse backup [--data DIR] --to FILE.
func runBackup(args []string, stdout io.Writer) error {
	c := newCtlCommand("backup")
	to := c.String("to", "", "the backup file to write (must not exist)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *to == "" {
		return c.usageErrorf("--to is needed")
	}
	out, err := filepath.Abs(*to)
	if err != nil {
		return c.failed(err)
	}
	return c.withOperations(func(ctx context.Context, ops control.Operations, _ *Config) error {
		info, err := ops.Backup(ctx, control.BackupRequest{Path: out})
		if err != nil {
			return c.failed(err)
		}
		fmt.Fprintf(stdout, "Wrote %s: the database (%d bytes, copied in %d ms while serving) and %d other files, with a manifest of their checksums.\nCheck it with `postkasse restore --from %s --data NEW-FOLDER` and `postkasse check --data NEW-FOLDER`.\n",
			info.Path, info.DatabaseBytes, info.CopyMillis, info.Files-1, info.Path)
		return nil
	})
}

// runRestore: postkasse restore --from FILE --data DIR.
func runRestore(args []string, stdout io.Writer) error {
	flags := newFlagSet("restore")
	from := flags.String("from", "", "the backup file")
	data := flags.String("data", "", "the data folder to make (must not exist, or be empty)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *from == "" || *data == "" {
		return fmt.Errorf("%w: restore: --from and --data are needed", errUsage)
	}
	dir, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("restore: %s is not empty: restore into a new folder", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	m, err := restoreBackup(*from, dir)
	if err != nil {
		return fmt.Errorf("restore: %s: %w", *from, err)
	}
	fmt.Fprintf(stdout, "Restored %d files from %s (made %s by postkasse %s) into %s; the database opened and passed its checks.\n",
		len(m.Files), *from, m.Created.Format(time.RFC3339), m.Version, dir)
	return nil
}

// restoreBackup unpacks the backup file into dir (absent or empty),
// through a new folder beside it that is moved into place at the end.
func restoreBackup(from, dir string) (*backupManifest, error) {
	f, err := os.Open(from)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".restore-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	m, err := unpackBackup(f, tmp)
	if err != nil {
		return nil, err
	}
	// The database opens, read-only, and passes the engine's and the
	// domain's checks before the folder is used.
	eng, err := embedded.Open(filepath.Join(tmp, dbFileName), embedded.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("the database: %w", err)
	}
	st, err := store.New(eng, store.Options{})
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("the database: %w", err)
	}
	ctx := context.Background()
	checkErr := errors.Join(st.Check(ctx), st.CheckInvariants(ctx))
	st.Close()
	if checkErr != nil {
		return nil, fmt.Errorf("the database does not pass its checks: %w", checkErr)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return m, nil
}

// unpackBackup writes the archive's files into dir and checks them
// against its manifest.
func unpackBackup(r io.Reader, dir string) (*backupManifest, error) {
	tr := tar.NewReader(r)
	got := map[string]backupFile{}
	var m *backupManifest
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a complete backup (cut short or damaged): %w", err)
		}
		if m != nil {
			return nil, fmt.Errorf("%s after the manifest: not a backup made by postkasse", h.Name)
		}
		if h.Name == manifestName {
			if h.Size > 1<<20 {
				return nil, errors.New("a manifest of more than 1 MiB")
			}
			var mm backupManifest
			dec := json.NewDecoder(io.LimitReader(tr, h.Size))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&mm); err != nil {
				return nil, fmt.Errorf("the manifest: %w", err)
			}
			m = &mm
			continue
		}
		if err := checkBackupName(h.Name); err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%s: not a regular file", h.Name)
		}
		if _, dup := got[h.Name]; dup {
			return nil, fmt.Errorf("%s: twice in the archive", h.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(h.Mode).Perm()&0o644)
		if err != nil {
			return nil, err
		}
		hash := sha256.New()
		n, err := io.Copy(io.MultiWriter(out, hash), tr)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not a complete backup (cut short or damaged): %w", h.Name, err)
		}
		got[h.Name] = backupFile{Name: h.Name, Size: n, SHA256: hex.EncodeToString(hash.Sum(nil))}
	}
	if m == nil {
		return nil, errors.New("no manifest: the backup was cut short, or is not a postkasse backup")
	}
	if m.Format != backupFormat {
		return nil, fmt.Errorf("format %q: this postkasse reads %q", m.Format, backupFormat)
	}
	var problems []string
	listed := map[string]bool{}
	for _, want := range m.Files {
		listed[want.Name] = true
		have, ok := got[want.Name]
		switch {
		case !ok:
			problems = append(problems, want.Name+": listed, not in the archive")
		case have != want:
			problems = append(problems, fmt.Sprintf("%s: %d bytes, SHA-256 %s; the manifest says %d bytes, %s", want.Name, have.Size, have.SHA256, want.Size, want.SHA256))
		}
	}
	for name := range got {
		if !listed[name] {
			problems = append(problems, name+": in the archive, not in the manifest")
		}
	}
	if !listed[dbFileName] {
		problems = append(problems, dbFileName+": missing")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("the backup does not match its manifest:\n  %s", strings.Join(problems, "\n  "))
	}
	return m, nil
}

// checkBackupName refuses a name that would leave the data folder: only
// clean relative paths inside it, and not the control socket.
func checkBackupName(name string) error {
	clean := path.Clean(name)
	if name == "" || clean != name || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") ||
		strings.Contains(name, "\\") || name == socketFileName || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%q: not a file of a data folder", name)
	}
	return nil
}
