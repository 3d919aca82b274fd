// Package pgtest runs a real PostgreSQL server for tests: Debian's
// server binaries, started by the test itself in a temporary folder, on
// 127.0.0.1 and a free port, and stopped when the test (or the test
// binary) ends. No mock, no container, no server installed as a service.
//
// The server binaries come from Debian's package:
//
//	apt-get install -y postgresql
//
// (./test installs it without starting the package's own cluster). A
// test that needs them fails, never skips, naming that command. pgtest
// takes the highest major version ≥ 15 under /usr/lib/postgresql/*/bin,
// or else postgres and initdb from PATH.
//
// # Two ways to use it
//
// Start gives a test a server of its own. Use it when the test stops and
// starts the server (outages, crashes): nothing else is affected.
//
// Shared gives all the tests of a package one server, started by the
// first test that asks for it and stopped by Shared.Run from TestMain;
// each test gets a fresh database of its own with NewDatabase:
//
//	var pg pgtest.Shared
//
//	func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		url := pg.NewDatabase(t) // postgres://postgres@127.0.0.1:port/name?sslmode=disable
//		...
//	}
//
// A test must not stop a shared server.
//
// # What runs
//
// The postmaster is a child process of the test binary (not started
// through pg_ctl, which would leave it to init), so that pgtest waits on
// it, and the kernel kills it (SIGKILL, PR_SET_PDEATHSIG) if the test
// binary dies without cleaning up — a timeout's panic, a ^C. Its backends
// exit by themselves when they see the postmaster gone.
//
// initdb refuses to run as root, and so does postgres: when the tests run
// as root (CI, this project's machines), both run as the user postgres,
// which Debian's package creates, and the server's folder is chowned to
// it. Otherwise they run as the test's own user.
//
// The server's settings: listen_addresses 127.0.0.1 and a port that was
// free a moment before (if another process takes it first, the first
// start tries another); its Unix socket in the server's folder, not in
// /var/run/postgresql; fsync, synchronous_commit and full_page_writes on,
// so that what a test sees committed is durable as in production;
// shared_buffers 16MB; max_connections 200. Authentication is trust for
// the superuser postgres, on loopback only. The cluster is initialised
// with the C locale, UTF8 encoding and time zone UTC.
//
// pgtest knows the server is ready when the postmaster says so (READY=1
// over the sd_notify protocol, which Debian's build speaks: it is built
// with systemd support), and knows it stopped when the process exits: it
// never polls or sleeps. Stop is an immediate shutdown (SIGQUIT, what
// `pg_ctl stop -m immediate` sends): no checkpoint, so the next Start
// runs crash recovery, as after a crash of the database server (the
// operating system, and its cache, carry on).
//
// The server's log (its stderr) is kept in the server's folder; when a
// test fails, the part of the log written during that test is printed
// with the test's output.
//
// # Speed
//
// initdb takes most of a second or more; copying its result takes a
// fraction of that. So the first server made with a given PostgreSQL
// version runs initdb and keeps a copy of the fresh data folder in the
// user's cache folder (os.UserCacheDir()/postkasse-pgtest/KEY, KEY a
// hash of the version and of initdb's arguments, written to a temporary
// name, fsynced and renamed into place, so a half-written copy is never
// used); every later server, in this test binary or any other, copies
// it. Copies share initdb's system identifier, which matters to nothing
// but physical replication. Creating a database (CREATE DATABASE from
// template1) takes a small fraction of a second.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallHint is the command that installs the server binaries pgtest
// needs on Debian.
const InstallHint = "apt-get install -y postgresql"

// Errors pgtest returns; test with errors.Is.
var (
	// ErrNotInstalled: no PostgreSQL ≥ 15 server binaries were found.
	// The error's text names InstallHint.
	ErrNotInstalled = errors.New("PostgreSQL ≥ 15 server binaries not found")
	// ErrStopped: the operation needs the server running, and it is
	// stopped (by Stop, or closed).
	ErrStopped = errors.New("postgresql server is stopped")
	// ErrRunning: Start was called on a running server.
	ErrRunning = errors.New("postgresql server is already running")
	// ErrClosed: the server was closed; it cannot be started again.
	ErrClosed = errors.New("postgresql server is closed")
)

const (
	// superuser is the role initdb creates and every URL connects as.
	superuser = "postgres"
	// startTimeout bounds how long a start may take before pgtest
	// gives up (a server that never says READY=1). A normal start takes
	// well under a second; crash recovery after Stop a little more.
	startTimeout = 2 * time.Minute
	// stopTimeout bounds the wait for an immediate shutdown before the
	// postmaster is killed (PostgreSQL itself kills children that do not
	// exit within 5 s of SIGQUIT).
	stopTimeout = 30 * time.Second
	// adminTimeout bounds one administrative statement (CREATE or DROP
	// DATABASE).
	adminTimeout = time.Minute
)

// Server is a PostgreSQL server run by the test binary. Its methods may
// be called from several goroutines at once.
type Server struct {
	bin   binaries
	owner owner
	dir   string // the server's folder: data/, the socket, log, notify socket
	port  int

	dbSeq atomic.Uint64 // numbers databases made by NewDatabase

	mu     sync.Mutex
	proc   *process // nil when stopped
	closed bool
}

// owner is the user the server runs as.
type owner struct {
	name     string
	uid, gid int
	// switchUser: the tests run as root, and the server's programs and
	// folder are this user's, not root's.
	switchUser bool
}

// process is one run of the postmaster.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postmaster has exited and been waited for
	waitErr error         // cmd.Wait's result; read after exited is closed
}

// Start starts a server of the test's own, stopped and removed when the
// test ends; it fails the test if that is not possible (and names the
// command that installs PostgreSQL if it is missing).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PostgreSQL's log (%s):\n%s", s.LogPath(), s.logFrom(0))
		}
		if err := s.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// New starts a server and returns once it accepts connections. The
// caller must Close it. Tests use Start or Shared, which close it for
// them.
func New() (*Server, error) {
	bin, err := findBinaries(debianBinGlob)
	if err != nil {
		return nil, err
	}
	own, err := serverOwner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("make the server's folder: %w", err)
	}
	s := &Server{bin: bin, owner: own, dir: dir}
	if err := s.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// init makes the data folder and starts the server for the first time,
// on a free port.
func (s *Server) init() error {
	if err := s.chown(s.dir); err != nil {
		return err
	}
	// The Unix socket's path must fit in sun_path (108 bytes on Linux).
	if sock := filepath.Join(s.dir, ".s.PGSQL.65535"); len(sock) > 100 {
		return fmt.Errorf("the server's folder %s is too deep for a Unix socket path (set TMPDIR to a shorter folder)", s.dir)
	}
	template, err := s.makeDataDir()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The port is picked free beforehand; if another process takes it in
	// between, the postmaster exits at once, and another port is tried.
	for range 3 {
		if s.port, err = freePort(); err != nil {
			return err
		}
		err = s.start()
		if err == nil || !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil && template != "" {
		return fmt.Errorf("%w\n(the data folder is a copy of the template %s; should the template be bad, remove it, and the next server makes it again)", err, template)
	}
	return err
}

// URL is the superuser's URL of the server's database "postgres", for
// administration; tests use a database of their own (NewDatabase).
func (s *Server) URL() string { return s.dbURL("postgres") }

// Port is the server's TCP port on 127.0.0.1. It stays the same across
// Stop and Start.
func (s *Server) Port() int { return s.port }

// LogPath is the server's log file (its stderr), which lives as long as
// the server's folder.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "postgres.log") }

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// DataDir is the server's data folder (its databases' files and the
// write-ahead log), for a test that reads what the server wrote to disk
// once it is stopped.
func (s *Server) DataDir() string { return s.dataDir() }

func (s *Server) dbURL(name string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, name)
}

// NewDatabase creates a database of the test's own, named after the test
// (a number and the test's name, within PostgreSQL's 63 bytes), and
// returns its superuser URL. The database is dropped when the test ends,
// ending the connections still open to it, unless the server is stopped
// then.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := databaseName(s.dbSeq.Add(1), t.Name())
	if err := s.admin("CREATE DATABASE " + pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if !s.Running() {
			return
		}
		// PostgreSQL 13 and later: FORCE ends the connections a test
		// left open (a pool not yet closed) instead of failing.
		if err := s.admin("DROP DATABASE " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.dbURL(name)
}

// admin runs one statement as the superuser on a connection of its own.
func (s *Server) admin(sql string) error {
	if !s.Running() {
		return ErrStopped
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// databaseName makes a valid, unique database name from a number and a
// test's name: lower-case letters, digits and underscores, at most 63
// bytes (NAMEDATALEN-1; PostgreSQL would truncate a longer name).
func databaseName(n uint64, testName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t%d_", n)
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 63 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Running says whether the server is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Stop shuts the server down at once, as a crash or an outage would: an
// immediate shutdown (SIGQUIT to the postmaster, as `pg_ctl stop -m
// immediate`), without a checkpoint, and returns when the postmaster and
// all its backends have exited. Connections open to it break; new ones
// are refused. The data folder and the port stay, for Start.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.proc == nil {
		return ErrStopped
	}
	return s.stop()
}

// stop ends s.proc; s.mu is held.
func (s *Server) stop() error {
	p := s.proc
	s.proc = nil
	if err := p.cmd.Process.Signal(syscall.SIGQUIT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop postgres: %w", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("postgres did not exit within %v of SIGQUIT and was killed", stopTimeout)
	}
}

// Start starts the stopped server again, on the same data folder and
// port, and returns once it accepts connections (after crash recovery,
// when it was stopped by Stop).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.proc != nil {
		return ErrRunning
	}
	return s.start()
}

// Restart is Stop and then Start.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.proc != nil {
		if err := s.stop(); err != nil {
			return err
		}
	}
	return s.start()
}

// Close stops the server if it runs and removes its folder, log
// included. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var stopErr error
	if s.proc != nil {
		stopErr = s.stop()
	}
	return errors.Join(stopErr, os.RemoveAll(s.dir))
}

// errPortTaken: the postmaster could not listen on its port.
var errPortTaken = errors.New("port taken")

// start runs the postmaster and waits until it says it is ready; s.mu is
// held and s.proc is nil.
func (s *Server) start() error {
	notifyPath := filepath.Join(s.dir, "notify.sock")
	notify, err := listenNotify(notifyPath, s.owner)
	if err != nil {
		return err
	}
	defer notify.Close()
	log, err := os.OpenFile(s.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open postgres's log: %w", err)
	}
	logStart, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		log.Close()
		return fmt.Errorf("open postgres's log: %w", err)
	}
	cmd := exec.Command(s.bin.postgres,
		"-D", s.dataDir(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(s.port),
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=on",
		"-c", "synchronous_commit=on",
		"-c", "full_page_writes=on",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=200",
		"-c", "logging_collector=off",
		"-c", "log_line_prefix=%m [%p] %q%u@%d ",
	)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "NOTIFY_SOCKET=" + notifyPath}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = s.procAttr()
	err = cmd.Start()
	log.Close() // the postmaster has its own descriptor
	if err != nil {
		return fmt.Errorf("run %s: %w", s.bin.postgres, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	ready := make(chan error, 1)
	go func() { ready <- waitReady(notify) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err == nil {
			s.proc = p
			return nil
		}
		cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("wait for postgres to be ready: %w", err)
	case <-p.exited:
		msg := s.logFrom(logStart)
		if strings.Contains(msg, "could not bind") || strings.Contains(msg, "could not create any TCP/IP sockets") {
			return fmt.Errorf("postgres on port %d: %w: %s", s.port, errPortTaken, msg)
		}
		return fmt.Errorf("postgres exited before it was ready (%v); its log:\n%s", p.waitErr, msg)
	case <-timer.C:
		cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("postgres did not say READY=1 within %v (is it built with systemd's sd_notify support, as Debian's is?); its log:\n%s", startTimeout, s.logFrom(logStart))
	}
}

// listenNotify opens the datagram socket on which the postmaster says
// READY=1 (the sd_notify protocol, sd_notify(3)), writable by the
// server's user.
func listenNotify(path string, own owner) (*net.UnixConn, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("listen for postgres's notifications: %w", err)
	}
	if own.switchUser {
		if err := os.Chown(path, own.uid, own.gid); err != nil {
			conn.Close()
			return nil, fmt.Errorf("listen for postgres's notifications: %w", err)
		}
	}
	return conn, nil
}

// waitReady reads sd_notify messages (newline-separated VAR=value
// assignments, sd_notify(3)) until one says READY=1. It returns an error
// when the socket is closed first.
func waitReady(conn *net.UnixConn) error {
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return err
		}
		for line := range strings.SplitSeq(string(buf[:n]), "\n") {
			if line == "READY=1" {
				return nil
			}
		}
	}
}

// logFrom returns the server's log from the byte offset on (the whole
// of it when it is short; the last 64 KiB otherwise).
func (s *Server) logFrom(offset int64) string {
	const max = 64 << 10
	f, err := os.Open(s.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size()-offset > max {
		offset = fi.Size() - max
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	return string(b)
}

// logSize is the log's current size, for logFrom.
func (s *Server) logSize() int64 {
	fi, err := os.Stat(s.LogPath())
	if err != nil {
		return 0
	}
	return fi.Size()
}

// procAttr is how the server's programs run: as the server's user, and
// killed by the kernel if the test binary dies first.
func (s *Server) procAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{
		// The postmaster gets SIGKILL if the thread that started it
		// exits; the Go runtime only ends a thread when a goroutine
		// locked to it exits, which pgtest never does.
		Pdeathsig: syscall.SIGKILL,
		// Its own process group: a ^C at the terminal reaches the test
		// binary, which cleans up, and not the server behind its back.
		Setpgid: true,
	}
	if s.owner.switchUser {
		attr.Credential = &syscall.Credential{Uid: uint32(s.owner.uid), Gid: uint32(s.owner.gid)}
	}
	return attr
}

// runAs runs a program as the server's user and returns its output.
func (s *Server) runAs(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.Dir = s.dir
	cmd.SysProcAttr = s.procAttr()
	return cmd.CombinedOutput()
}

// chown gives path to the server's user (when the tests run as root).
func (s *Server) chown(path string) error {
	if !s.owner.switchUser {
		return nil
	}
	if err := os.Chown(path, s.owner.uid, s.owner.gid); err != nil {
		return fmt.Errorf("give %s to %s: %w", path, s.owner.name, err)
	}
	return nil
}

// serverOwner is the user the server runs as: postgres when the tests
// run as root (initdb and postgres refuse root), the test's own user
// otherwise.
func serverOwner() (owner, error) {
	if os.Geteuid() != 0 {
		return owner{name: "(the test's user)", uid: os.Getuid(), gid: os.Getgid()}, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return owner{}, fmt.Errorf("the tests run as root, and PostgreSQL refuses to: it must run as the user %s, which Debian's package creates (%s): %w", superuser, InstallHint, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return owner{}, fmt.Errorf("user %s: uid %q: %w", superuser, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return owner{}, fmt.Errorf("user %s: gid %q: %w", superuser, u.Gid, err)
	}
	return owner{name: superuser, uid: uid, gid: gid, switchUser: true}, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
