package embedded

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// This file is the one home of the engine's damaged file: how a damage is
// recognised (a panic bbolt raises reading a page that does not decode, a
// fault of the memory map), what the engine does from then on (Engine's
// damage and unreadable, refused), and the one log line that says so.

// ErrDamaged: the database file is damaged (truncated, or pages that do
// not decode), so bbolt cannot read it. The error says where the damage
// struck, to run `postkasse check` and to restore the last backup.
// Transactions that meet a damage, and the changes (and backups) the
// engine refuses after one, are ErrDamaged too, wrapped in
// storage.ErrUnavailable: nothing was stored.
var ErrDamaged = errors.New("the database file is damaged")

// damagedAdvice ends the error of a damaged file at Open, and of a
// transaction refused because of a damage found earlier.
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

// guarded runs fn in a bbolt transaction of the file (write: db.Update,
// else db.View) with the damage of the file made ErrDamaged, and nothing
// else:
//
//   - A panic of fn's own (a bug in the caller) is raised again once the
//     transaction has been rolled back, as it would be without guarded:
//     it is no reason to tell the operator to restore a backup.
//   - A panic that bbolt raises in fn's calls (reading a page that does
//     not decode: "invalid page type", an assertion, an index out of
//     range; bbolts says how it is told from the caller's) is ErrDamaged.
//     bbolt rolls the transaction back as it does for any error, and
//     releases its locks: the engine refuses every change from then on,
//     and reads go on, each one that meets the damage ErrDamaged too.
//   - A fault of the memory map, in fn or in bbolt (a page past the end
//     of a file cut short, a page id that points outside the file), and
//     any panic of bbolt's outside fn (a meta or freelist page that does
//     not decode while it begins, commits or rolls back), is ErrDamaged,
//     and the file unreadable: after a fault nothing the map holds can be
//     trusted, and a panic outside fn may leave bbolt's locks held. So
//     from then on the engine answers every transaction ErrDamaged
//     without calling bbolt again: refusing is better than hanging every
//     request, and the file must be restored anyway.
//
// Either way the engine keeps the first damage (damaged) and names it in
// every refusal after it.
func (e *Engine) guarded(write bool, fn func(*bolt.Tx) error) (err error) {
	if err := e.refused(write); err != nil {
		return err
	}
	begin := e.db.View
	if write {
		begin = e.db.Update
	}
	var fnPanic any
	defer guardFaults()()
	defer func() {
		v := recover()
		if v != nil {
			site, _ := panicOrigin()
			err = e.damaged(v, site, true)
		}
		if fnPanic != nil {
			panic(fnPanic) // even when rolling it back found a damage
		}
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
			if site, bbolts := panicOrigin(); bbolts && !bboltMisuse(v) {
				err = e.damaged(v, site, false)
				return
			}
			fnPanic, err = v, errCallerPanicked
		}()
		return fn(btx)
	})
}

// onCopy runs op, which works on the copies of the file WriteBackup makes
// (opens them, prunes one, compacts it, writes it out), with a panic that
// bbolt raises there made ErrDamaged of this engine, as guarded does: the
// copy holds the file's own pages, damage and all. A panic of the
// caller's (prune's) is raised again. After a damage (panicked) bbolt may
// hold the copies' locks, and closing them could wait forever: the caller
// leaves them open (their files are removed all the same).
func (e *Engine) onCopy(op func() error) (panicked bool, err error) {
	defer guardFaults()()
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		site, bbolts := panicOrigin()
		re, fault := v.(runtime.Error)
		if (fault && isFault(re)) || (bbolts && !bboltMisuse(v)) {
			panicked, err = true, e.damaged(v, site, false)
			return
		}
		panic(v)
	}()
	return false, op()
}

// damaged records a damage just found, the panic v that struck at site,
// and returns its ErrDamaged. The first damage is kept and logged, once;
// unreadable says that the file cannot be read safely since (guarded).
func (e *Engine) damaged(v any, site string, unreadable bool) error {
	err := fmt.Errorf("%w (%v at %s)", ErrDamaged, v, site)
	if unreadable {
		e.unreadable.Store(true)
	}
	first := err
	if e.damage.CompareAndSwap(nil, &first) {
		refused := "changes and backups (reads go on where the file can be read)"
		if unreadable {
			refused = "every transaction"
		}
		e.log.Error("database file damaged", "err", err, "refused", refused,
			"do", strings.TrimPrefix(damagedAdvice, "; "))
	}
	return err
}

// refused returns ErrDamaged, naming the first damage, for a transaction
// a damage found earlier rules out, and nil for one it does not: once the
// file is unreadable every transaction is refused; after any other
// damage, a change (write) and a backup, while reads go on.
func (e *Engine) refused(write bool) error {
	first := e.damage.Load()
	if first == nil || !(write || e.unreadable.Load()) {
		return nil
	}
	return fmt.Errorf("%w (found earlier in this process: %v)%s", ErrDamaged, *first, damagedAdvice)
}

// panicOrigin describes the panic being recovered. It is called by the
// deferred function that recovered it, while the code that raised it is
// still on the stack below. site names the function and line that raised
// the first of the panics being recovered (for a fault of the memory map:
// the code that read the page; guarded's inner recover raises it again),
// the two callers above it, and the first caller that is neither bbolt's
// nor Go's own: the engine's code that met the damage.
//
// bbolts reports whether bbolt raised it: whether the first frame from
// there outwards that is neither the runtime's nor the standard
// library's (bbolt calls sort.Search and bytes.Compare, which index
// what it hands them) is in bbolt's module, go.etcd.io/bbolt. The stack
// decides, not the panic's value: a damaged page makes bbolt panic with
// many messages ("invalid page type: 20: 10", "misplaced bucket header",
// "pgid (%d) above high water mark", "assertion failed: …") and with
// plain runtime errors (a count read from a garbage header indexes out
// of range), which change between versions and name no package; the
// stack names the code that raised them. A panic in the caller's own
// code, even one that bbolt called (a ForEach callback), has the caller's
// frame first, and is the caller's bug.
func panicOrigin() (site string, bbolts bool) {
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	var raised []string // the frame that raised it and the two above it
	caller := ""        // the first frame neither bbolt's nor Go's own
	raiser := ""        // the package of the first frame not Go's own
	panicking := false
	for {
		f, more := frames.Next()
		pkg := funcPackage(f.Function)
		switch {
		case f.Function == "runtime.gopanic" || f.Function == "runtime.sigpanic":
			// Frames run from the newest: a later one is an older panic.
			raised, caller, raiser, panicking = raised[:0], "", "", true
		case panicking && pkg != "runtime":
			if len(raised) < 3 {
				raised = append(raised, frameName(f))
			}
			if raiser == "" && !standardLibrary(pkg) {
				raiser = pkg
			}
			if caller == "" && !standardLibrary(pkg) && !inBbolt(pkg) {
				caller = frameName(f)
			}
		}
		if !more {
			break
		}
	}
	site = strings.Join(raised, " < ")
	switch {
	case site == "":
		site = "an unknown place"
	case caller != "" && !slices.Contains(raised, caller):
		site += ", called from " + caller
	}
	return site, inBbolt(raiser)
}

// frameName names a frame as panicOrigin's site does: function, file and
// line.
func frameName(f runtime.Frame) string {
	return fmt.Sprintf("%s (%s:%d)", f.Function, filepath.Base(f.File), f.Line)
}

// inBbolt reports whether package pkg is bbolt's.
func inBbolt(pkg string) bool {
	return pkg == bboltModule || strings.HasPrefix(pkg, bboltModule+"/")
}

// bboltModule is the module path of bbolt and its internal packages.
const bboltModule = "go.etcd.io/bbolt"

// bboltMisuse reports whether v is one of the assertions bbolt raises on a
// misuse of its API by the caller rather than on a page it read: a cursor
// or bucket of a transaction that has ended ("tx closed"), Commit or
// Rollback of the transaction View or Update manages. They are the
// caller's bugs, not the file's damage.
func bboltMisuse(v any) bool {
	s, ok := v.(string)
	return ok && (s == "assertion failed: tx closed" || s == "assertion failed: managed tx commit not allowed" ||
		s == "assertion failed: managed tx rollback not allowed")
}

// funcPackage returns the import path of the package of a function as
// runtime.Frame names it: "go.etcd.io/bbolt" for
// "go.etcd.io/bbolt.(*Cursor).search", "sort" for "sort.Search". A
// generic function's type arguments ("[...]") are left out first: they
// may hold other paths.
func funcPackage(name string) string {
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	slash := strings.LastIndexByte(name, '/')
	if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}

// standardLibrary reports whether pkg is in Go's standard library: its
// first path element has no dot ("sort", "internal/bytealg"), and it is
// not a program's package main.
func standardLibrary(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".") && pkg != "main"
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
