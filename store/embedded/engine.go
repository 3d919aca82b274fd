package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
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
}

// Engine is the embedded storage engine: one bbolt file.
type Engine struct {
	db    *bolt.DB
	clock func() time.Time
	// damage is the error of the first transaction that found the file
	// damaged (guarded), set once: bbolt's locks may be held since, and no
	// transaction runs again. Later transactions' errors repeat it, so the
	// cause is in the log even when the first caller's error is not (a
	// batch of deliveries tried again one by one).
	damage atomic.Pointer[error]
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
	e := &Engine{clock: opts.Clock}
	if e.clock == nil {
		e.clock = time.Now
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
		db.Close()
		return nil, fmt.Errorf("open %s: %w%s", path, err, damagedAdvice)
	}
	if err := e.upgrade(opts.ReadOnly); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return e, nil
}

// ErrDamaged: the database file is damaged (truncated, or pages that do
// not decode), so bbolt cannot read it. The error says to run `postkasse
// check` and to restore the last backup. Changes to a damaged file are
// ErrDamaged too, wrapped in storage.ErrUnavailable: nothing was stored.
var ErrDamaged = errors.New("the database file is damaged")

// damagedAdvice ends the error of a damaged file at Open.
const damagedAdvice = "; restore the last backup (docs/OPERATORS.md, \"Backups\"; `postkasse check --backup FILE` checks it first)"

// openBolt is bolt.Open, with a panic of bbolt's on a damaged file (a
// page that does not decode, a fault reading past the end of a truncated
// one) made an ErrDamaged.
func openBolt(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	defer recoverDamage(&err)
	return bolt.Open(path, 0o600, opts)
}

// recoverDamage turns a panic of bbolt's in the calling function (Open,
// which calls no code of the caller's), or a fault of its memory map (a
// page past the end of a truncated file), into *err = ErrDamaged. The
// caller defers it first thing.
//
// A fault in the memory map is a panic only in a goroutine that asked for
// it (guardFaults); otherwise it ends the process.
func recoverDamage(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("%w (%v)", ErrDamaged, v)
	}
}

// guardFaults makes a fault in the memory map a panic in this goroutine
// until the returned function is called, so recoverDamage can catch it.
func guardFaults() (restore func()) {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}

// checkSize refuses a file shorter than its own pages reach (a truncated
// copy, a disk that filled up while copying): bbolt's memory map would
// fault reading past the file's end.
func (e *Engine) checkSize() (err error) {
	defer guardFaults()()
	defer recoverDamage(&err)
	var pages int64
	if err := e.db.View(func(tx *bolt.Tx) error { pages = tx.Size(); return nil }); err != nil {
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
	err := e.guarded(func(run func(*bolt.Tx) error) error { return e.db.View(run) }, func(btx *bolt.Tx) error {
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
	err := e.guarded(func(run func(*bolt.Tx) error) error { return e.db.Update(run) }, func(btx *bolt.Tx) error {
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

// guarded runs fn in a bbolt transaction (begin: db.View or db.Update)
// with the damage of the file made ErrDamaged, and nothing else:
//
//   - A panic of fn's own (a bug in the caller) is raised again once the
//     transaction has been rolled back, as it would be without guarded:
//     it is no reason to tell the operator to restore a backup.
//   - A fault of the memory map, in fn or in bbolt (a page past the end
//     of a file cut short), and any panic of bbolt's outside fn (a meta
//     or freelist page that does not decode while it begins or commits),
//     is ErrDamaged. The latter may leave bbolt's locks held, so from
//     then on the engine answers every transaction ErrDamaged without
//     calling bbolt again (e.damage): refusing is better than hanging
//     every request, and the file must be restored anyway.
func (e *Engine) guarded(begin func(func(*bolt.Tx) error) error, fn func(*bolt.Tx) error) (err error) {
	if first := e.damage.Load(); first != nil {
		return fmt.Errorf("%w (found earlier in this process: %v)", ErrDamaged, *first)
	}
	var fnPanic any
	defer guardFaults()()
	defer func() {
		v := recover()
		if v == nil {
			if fnPanic != nil {
				panic(fnPanic)
			}
			return
		}
		err = fmt.Errorf("%w (%v at %s)", ErrDamaged, v, panicSite())
		first := err
		e.damage.CompareAndSwap(nil, &first)
	}()
	return begin(func(btx *bolt.Tx) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if re, ok := v.(runtime.Error); ok && isFault(re) {
				panic(v) // the file, not the caller: ErrDamaged above
			}
			fnPanic, err = v, errCallerPanicked
		}()
		return fn(btx)
	})
}

// panicSite names the function and line that raised the first of the
// panics being recovered (for a fault of the memory map: the code that
// read the page; guarded's inner recover raises it again), and the two
// callers above it. Called from the deferred function that recovers it.
func panicSite() string {
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	var site []string
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic" || f.Function == "runtime.sigpanic":
			// Frames run from the newest: a later one is an older panic.
			site, panicking = site[:0], true
		case panicking && len(site) < 3 && !strings.HasPrefix(f.Function, "runtime."):
			site = append(site, fmt.Sprintf("%s (%s:%d)", f.Function, filepath.Base(f.File), f.Line))
		}
		if !more {
			break
		}
	}
	if len(site) == 0 {
		return "an unknown place"
	}
	return strings.Join(site, " < ")
}

// errCallerPanicked rolls back the transaction of a function that
// panicked; guarded raises the panic again.
var errCallerPanicked = errors.New("the transaction's function panicked")

// isFault reports whether a runtime error is a fault of memory (what
// SetPanicOnFault turns a SIGBUS of the memory map into), which carries
// the faulting address.
func isFault(re runtime.Error) bool {
	_, ok := re.(interface{ Addr() uintptr })
	return ok
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
// upgrades it; only a test goes back) has its pages checked only.
func (e *Engine) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.db.View(func(btx *bolt.Tx) error {
		var errs []error
		for err := range btx.Check() {
			errs = append(errs, err)
		}
		if readSchema(btx) != SchemaVersion() {
			return errors.Join(errs...)
		}
		for _, check := range tableChecks {
			errs = append(errs, check(btx)...)
		}
		errs = append(errs, checkDocuments(btx)...)
		return errors.Join(errs...)
	})
}

// WriteBackup writes a consistent copy of the database (a bbolt file) to
// w while transactions go on, and returns its size. With prune, the copy
// is first changed by prune (in a transaction on the copy, never on the
// database) and then compacted into a new file, so that nothing prune
// deleted is left in the copy's free pages; the copies are made in
// temporary files beside the database and removed.
func (e *Engine) WriteBackup(ctx context.Context, w io.Writer, prune func(storage.Tx) error) (int64, error) {
	if prune == nil {
		var n int64
		err := e.db.View(func(btx *bolt.Tx) error {
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
	cp, err := bolt.Open(first.Name(), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	defer cp.Close()
	if err := cp.Update(func(btx *bolt.Tx) error { t := tx{tx: btx}; return prune(&t) }); err != nil {
		return 0, fmt.Errorf("prune the copy: %w", err)
	}
	compactName := first.Name() + ".compact"
	defer os.Remove(compactName)
	dst, err := bolt.Open(compactName, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	if err := bolt.Compact(dst, cp, 64<<20); err != nil {
		dst.Close()
		return 0, fmt.Errorf("compact the copy: %w", err)
	}
	var n int64
	err = dst.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// Stats returns bbolt's statistics (for benchmarks).
func (e *Engine) Stats() bolt.Stats { return e.db.Stats() }

// Close closes the file; transactions in progress finish first.
//
// After a transaction found the file damaged, bbolt's locks may be held
// for good (guarded), and closing it would wait for them forever: the
// file is left to the process's end, and Close says so.
func (e *Engine) Close() error {
	if e.damage.Load() != nil {
		return fmt.Errorf("%w: its file is left open until the process ends", ErrDamaged)
	}
	return e.db.Close()
}

// DB returns the bbolt database, for tests that inspect or damage the file
// on purpose and for tools that read it raw. The domain never uses it.
func (e *Engine) DB() *bolt.DB { return e.db }
