package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/postkasse/postkasse/internal/durable"
	"github.com/postkasse/postkasse/store/storage"
)

// Options configure the engine. The zero value is valid.
type Options struct {
	// Timeout is how long Open waits for the file's lock; default 2 s.
	Timeout time.Duration
	// ReadOnly opens the file without changing it (no schema upgrade): a
	// file of an older schema is refused.
	ReadOnly bool
	// Clock stamps the "created" time of a new database; default
	// time.Now.
	Clock func() time.Time
	// NoSync commits without fsync, so a commit returns before it is on
	// disk and a power cut loses it, or leaves the file damaged. It is a
	// planted fault, for the test that shows the power-cut test catches a
	// missing fsync; nothing else may set it.
	NoSync bool
	// Logger gets one line when the engine first finds its file damaged
	// (guarded); nil discards it.
	Logger *slog.Logger
}

// Engine is the embedded storage engine: one bbolt file.
type Engine struct {
	db    *bolt.DB
	clock func() time.Time
	log   *slog.Logger
	// damage is the error of the first transaction that found the file
	// damaged (guarded), set once: from then on no change is made (nor a
	// backup, which would copy the damage). Later transactions' errors
	// repeat it, so the cause is in the log even when the first caller's
	// error is not (a batch of deliveries tried again one by one).
	damage atomic.Pointer[error]
	// unreadable is set by a damage after which the file cannot be read
	// safely (guarded): bbolt may hold its locks, or the memory map
	// faulted. From then on no transaction runs at all, not even a read.
	unreadable atomic.Bool
	// upgraded lists what Open's schema upgrade did, for the log.
	upgraded []string
}

var (
	_ storage.Engine   = (*Engine)(nil)
	_ storage.Backuper = (*Engine)(nil)
)

// Open opens, creating it if needed, the database at path and brings its
// schema up to date (see schema.go).
func Open(path string, opts Options) (*Engine, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	e := &Engine{clock: opts.Clock, log: opts.Logger}
	if e.clock == nil {
		e.clock = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist) && !opts.ReadOnly
	restore := guardFaults()
	db, err := openBolt(path, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	restore()
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("open %s: the database is in use by another process (is the server running?)", path)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum):
			// Both meta pages unreadable.
			return nil, fmt.Errorf("open %s: %w (%v)%s", path, ErrDamaged, err, damagedAdvice)
		case errors.Is(err, ErrDamaged):
			return nil, fmt.Errorf("open %s: %w%s", path, err, damagedAdvice)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.NoSync = opts.NoSync
	e.db = db
	if created {
		// The new file's name is durable only once its folder is synced.
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if err := e.checkSize(); err != nil {
		e.Close()
		return nil, fmt.Errorf("open %s: %w%s", path, err, damagedAdvice)
	}
	if err := e.upgrade(opts.ReadOnly); err != nil {
		e.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, fmt.Errorf("open %s: %w%s", path, err, damagedAdvice)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return e, nil
}

// checkSize refuses a file shorter than its own pages reach (a truncated
// copy, a disk that filled up while copying): bbolt's memory map would
// fault reading past the file's end.
func (e *Engine) checkSize() error {
	var pages int64
	if err := e.guarded(false, func(tx *bolt.Tx) error { pages = tx.Size(); return nil }); err != nil {
		return err
	}
	fi, err := os.Stat(e.db.Path())
	if err != nil {
		return err
	}
	if fi.Size() < pages {
		return fmt.Errorf("%w (the file has %d bytes, its pages reach %d: it was cut short)", ErrDamaged, fi.Size(), pages)
	}
	return nil
}

// Path returns the database file's path.
func (e *Engine) Path() string { return e.db.Path() }

// Upgraded says what Open's schema upgrade did, one line a step; none when
// the file was up to date.
func (e *Engine) Upgraded() []string { return e.upgraded }

// View runs fn in a read-only bbolt transaction.
func (e *Engine) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := e.guarded(false, func(btx *bolt.Tx) error {
		fnErr = fn(&tx{tx: btx})
		return fnErr
	})
	return mapError(err, fnErr)
}

// Update runs fn in bbolt's one read-write transaction at a time. It is
// serialisable by construction, so fn runs once.
func (e *Engine) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := e.guarded(true, func(btx *bolt.Tx) error {
		fillAppended(btx)
		fnErr = fn(&tx{tx: btx})
		return fnErr
	})
	return mapError(err, fnErr)
}

// appendedBuckets are the buckets whose keys only grow: letters and their
// documents by letter id (which begins with its time), the audit log and
// its hashes by index. New keys go after the last, so a page split there
// is never written again: bbolt fills it to appendedFill instead of its
// default half, and these buckets take about half the room they did.
var appendedBuckets = [][]byte{bucketLetters, bucketLetterParts, bucketDocuments, bucketAuditLog, bucketAuditHashes}

const appendedFill = 0.95

// fillAppended sets the fill of the appended buckets for the read-write
// transaction btx (bbolt keeps a bucket's handle, and so its fill, for
// the transaction).
func fillAppended(btx *bolt.Tx) {
	for _, name := range appendedBuckets {
		if b := btx.Bucket(name); b != nil {
			b.FillPercent = appendedFill
		}
	}
}

// mapError passes fn's own error on unchanged and makes bbolt's failures
// (a write or the commit failed: disk full, I/O error; the database is
// closed) storage.ErrUnavailable.
func mapError(err, fnErr error) error {
	if err == nil || (fnErr != nil && err == fnErr) {
		return err
	}
	if errors.Is(err, ErrDamaged) {
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) || errors.Is(err, berrors.ErrDatabaseNotOpen) || errors.Is(err, berrors.ErrTxClosed) ||
		errors.Is(err, berrors.ErrDatabaseReadOnly) {
		return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
	}
	if fnErr == nil {
		// The commit itself failed.
		return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
	}
	return err
}

// Blobs keeps documents in the database file itself: a blob is held in
// memory until the transaction that attaches it writes it.
func (e *Engine) Blobs() storage.Blobs { return memBlobs{} }

// Check runs bbolt's consistency check of the file's pages and checks
// every table's index entries, returning every problem found. The index
// checks need this code's schema: a file of an older schema (Open
// upgrades it; only a test goes back) has its pages checked only. A page
// that does not decode stops the index checks with ErrDamaged, among the
// problems found before it (bbolt's check reports its own).
func (e *Engine) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	err := e.guarded(false, func(btx *bolt.Tx) error {
		for err := range btx.Check() {
			errs = append(errs, err)
		}
		if readSchema(btx) != SchemaVersion() {
			return nil
		}
		for _, check := range tableChecks {
			errs = append(errs, check(btx)...)
		}
		errs = append(errs, checkDocuments(btx)...)
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// WriteBackup writes a consistent copy of the database (a bbolt file) to
// w while transactions go on, and returns its size. With prune, the copy
// is first changed by prune (in a transaction on the copy, never on the
// database) and then compacted into a new file, so that nothing prune
// deleted is left in the copy's free pages; the copies are made in
// temporary files beside the database and removed. Compacting reads every
// page: a damaged one is ErrDamaged, as in a transaction (onCopy).
//
// A file found damaged is not copied: the copy would hold the damage, and
// the backup job would delete its oldest good copy for it.
func (e *Engine) WriteBackup(ctx context.Context, w io.Writer, prune func(storage.Tx) error) (n int64, err error) {
	if err := e.refused(true); err != nil {
		return 0, mapError(err, nil)
	}
	if prune == nil {
		err := e.guarded(false, func(btx *bolt.Tx) error {
			var err error
			n, err = btx.WriteTo(w)
			return err
		})
		return n, err
	}
	dir := filepath.Dir(e.db.Path())
	first, err := os.CreateTemp(dir, ".backup-copy-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(first.Name())
	if _, err := e.WriteBackup(ctx, first, nil); err != nil {
		first.Close()
		return 0, err
	}
	if err := first.Close(); err != nil {
		return 0, err
	}
	compactName := first.Name() + ".compact"
	defer os.Remove(compactName)
	var cp, dst *bolt.DB
	panicked, err := e.onCopy(func() error {
		var err error
		if cp, err = bolt.Open(first.Name(), 0o600, &bolt.Options{Timeout: time.Second}); err != nil {
			return err
		}
		if err := cp.Update(func(btx *bolt.Tx) error { t := tx{tx: btx}; return prune(&t) }); err != nil {
			return fmt.Errorf("prune the copy: %w", err)
		}
		if dst, err = bolt.Open(compactName, 0o600, &bolt.Options{Timeout: time.Second}); err != nil {
			return err
		}
		if err := bolt.Compact(dst, cp, 64<<20); err != nil {
			return fmt.Errorf("compact the copy: %w", err)
		}
		return dst.View(func(btx *bolt.Tx) error {
			var err error
			n, err = btx.WriteTo(w)
			return err
		})
	})
	if panicked {
		return 0, mapError(err, nil) // the copies are left open (onCopy)
	}
	for _, db := range []*bolt.DB{dst, cp} {
		if db == nil {
			continue
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Stats returns bbolt's statistics (for benchmarks).
func (e *Engine) Stats() bolt.Stats { return e.db.Stats() }

// Close closes the file; transactions in progress finish first.
//
// After a damage that may have left bbolt's locks held for good
// (guarded: unreadable), closing the file would wait for them forever: it
// is left to the process's end, and Close says so.
func (e *Engine) Close() error {
	if e.unreadable.Load() {
		return fmt.Errorf("%w: its file is left open until the process ends", ErrDamaged)
	}
	return e.db.Close()
}

// DB returns the bbolt database, for tests that inspect or damage the file
// on purpose and for tools that read it raw. The domain never uses it.
func (e *Engine) DB() *bolt.DB { return e.db }
