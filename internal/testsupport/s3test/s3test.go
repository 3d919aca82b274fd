// Package s3test runs a real S3-compatible object store for tests:
// versitygw, the Versity S3 Gateway, serving a temporary folder through
// its posix backend on 127.0.0.1 and a free port, started by the test
// itself and stopped when the test (or the test binary) ends. Not an
// in-memory fake: objects are files, written and renamed into place by a
// real S3 server that signs, checks and answers as S3 does (AWS
// Signature Version 4, S3's XML errors).
//
// versitygw is an outside program, installed with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// (./test does). A test that needs it fails, never skips, naming that
// command; a versitygw of another version fails too, naming it.
//
// Why versitygw: it is one Go program that installs with one go install
// through the Go module proxy (known to install on this project's
// machines), starts in a fraction of a second, and keeps each bucket as
// a folder and each object as a file, so a test can look at what is
// stored. It writes an object to an unnamed temporary file (O_TMPFILE)
// that is linked into place only when complete, so a server killed in the
// middle of a PUT leaves no half object — what an outage test needs. It
// does not fsync objects: what it stored survives a killed server, not a
// lost machine.
//
// # Two ways to use it
//
// Start gives a test a server of its own; use it when the test stops
// and starts the server (outages). Shared gives all the tests of a
// package one server, started by the first test that asks for it and
// stopped by Shared.Run from TestMain; each test gets a fresh bucket of
// its own with NewBucket:
//
//	var objects s3test.Shared
//
//	func TestMain(m *testing.M) { os.Exit(objects.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		endpoint, bucket, accessKey, secretKey := objects.NewBucket(t)
//		...
//	}
//
// A test must not stop a shared server.
//
// # What runs
//
//	versitygw --port 127.0.0.1:PORT --quiet posix FOLDER/data
//
// with root credentials (access key and secret) made at random for each
// server and passed in its environment, not on its command line; region
// us-east-1; path-style bucket addressing (http://127.0.0.1:PORT/bucket/key),
// plain HTTP. The posix backend keeps object metadata in extended
// attributes (user.*), which the temporary folder's file system must
// support (ext4, xfs and btrfs do).
//
// versitygw is a child process of the test binary, killed by the kernel
// (PR_SET_PDEATHSIG) if the test binary dies without cleaning up.
// versitygw says nothing when it is ready: s3test asks it (ListBuckets,
// with the root credentials) until it answers, while watching for it to
// exit. Stop kills it (SIGKILL: an outage, not a shutdown) and returns
// once it has exited; Start runs it again on the same folder and port.
//
// Its output (versitygw's errors) is kept in the server's folder; when a
// test fails, the part written during that test is printed with the
// test's output.
package s3test

import (
	"context"
	"crypto/rand"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// versitygw's module and the version the project pins (./test installs
// the same; a test checks that the two agree).
const (
	VersitygwModule  = "github.com/versity/versitygw"
	VersitygwVersion = "v1.8.0"
	// InstallHint is the command that installs the pinned versitygw.
	InstallHint = "go install " + VersitygwModule + "/cmd/versitygw@" + VersitygwVersion
	// Region is the S3 region the server answers for (versitygw's
	// default).
	Region = "us-east-1"
)

// Errors s3test returns; test with errors.Is.
var (
	// ErrNotInstalled: versitygw, of the pinned version, was not found.
	// The error's text names InstallHint.
	ErrNotInstalled = errors.New("versitygw " + VersitygwVersion + " not found")
	// ErrStopped: the operation needs the server running, and it is
	// stopped (by Stop, or closed).
	ErrStopped = errors.New("s3 server is stopped")
	// ErrRunning: Start was called on a running server.
	ErrRunning = errors.New("s3 server is already running")
	// ErrClosed: the server was closed; it cannot be started again.
	ErrClosed = errors.New("s3 server is closed")
)

const (
	// startTimeout bounds how long versitygw may take to answer after it
	// starts; it takes well under a second.
	startTimeout = time.Minute
	// pollInterval is how often a starting versitygw is asked whether it
	// is ready: it has no way to say so by itself.
	pollInterval = 10 * time.Millisecond
	// requestTimeout bounds one request of s3test's own (readiness,
	// buckets).
	requestTimeout = 30 * time.Second
)

// Server is a versitygw run by the test binary. Its methods may be
// called from several goroutines at once.
type Server struct {
	bin                  string
	dir                  string // the server's folder: data/ (the buckets) and the log
	port                 int
	accessKey, secretKey string
	client               *minio.Client // root's, for s3test's own requests

	bucketSeq atomic.Uint64 // numbers the buckets made by NewBucket

	mu     sync.Mutex
	proc   *process // nil when stopped
	closed bool
}

// process is one run of versitygw.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once versitygw has exited and been waited for
	waitErr error         // cmd.Wait's result; read after exited is closed
}

// Start starts a server of the test's own, stopped and removed when the
// test ends; it fails the test if that is not possible (and names the
// command that installs versitygw if it is missing).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("versitygw's output (%s):\n%s", s.LogPath(), s.logFrom(0))
		}
		if err := s.Close(); err != nil {
			t.Errorf("s3test: %v", err)
		}
	})
	return s
}

// New starts a server and returns once it answers. The caller must Close
// it. Tests use Start or Shared, which close it for them.
func New() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "s3test-")
	if err != nil {
		return nil, fmt.Errorf("make the server's folder: %w", err)
	}
	s := &Server{
		bin: bin, dir: dir,
		// 20 and 40 characters, as AWS's own keys; rand.Text is base32
		// of 128 bits (26 characters).
		accessKey: "PK" + rand.Text()[:18],
		secretKey: rand.Text() + rand.Text()[:14],
	}
	if err := s.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) init() error {
	if err := os.Mkdir(s.dataDir(), 0o700); err != nil {
		return fmt.Errorf("make the server's folder: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	// The port is picked free beforehand; if another process takes it in
	// between, versitygw exits at once, and another port is tried.
	for range 3 {
		if s.port, err = freePort(); err != nil {
			return err
		}
		if s.client, err = s.newClient(); err != nil {
			return err
		}
		err = s.start()
		if err == nil || !errors.Is(err, errPortTaken) {
			return err
		}
	}
	return err
}

// Binary returns the path of the versitygw program: in PATH, or else in
// GOBIN or GOPATH/bin, where go install puts it. It must be the pinned
// version (a build from a checkout, "(devel)", is accepted).
func Binary() (string, error) {
	path, err := exec.LookPath("versitygw")
	if err != nil {
		path = ""
		for _, dir := range goBinDirs() {
			p := filepath.Join(dir, "versitygw")
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				path = p
				break
			}
		}
	}
	if path == "" {
		ci := ""
		if os.Getenv("CI") != "" {
			ci = " (./test installs it: run ./test, or see it)"
		}
		return "", fmt.Errorf("%w in PATH or GOPATH/bin%s; versitygw is the real S3 server of the tests; install it with\n\t%s", ErrNotInstalled, ci, InstallHint)
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not a Go program that can be checked (%v); install it with\n\t%s", ErrNotInstalled, path, err, InstallHint)
	}
	if info.Main.Path != VersitygwModule || (info.Main.Version != VersitygwVersion && info.Main.Version != "(devel)") {
		return "", fmt.Errorf("%w: %s is %s %s; install the pinned one with\n\t%s", ErrNotInstalled, path, info.Main.Path, info.Main.Version, InstallHint)
	}
	return path, nil
}

func goBinDirs() []string {
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for p := range strings.SplitSeq(gopath, string(os.PathListSeparator)) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// Endpoint is the server's URL, http://127.0.0.1:PORT. It stays the same
// across Stop and Start.
func (s *Server) Endpoint() string { return "http://" + s.hostPort() }

func (s *Server) hostPort() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Credentials are the root user's access key and secret, which can do
// anything on the server.
func (s *Server) Credentials() (accessKey, secretKey string) { return s.accessKey, s.secretKey }

// Client returns a new S3 client (minio-go) of the root user:
// path-style, region Region, and without retries (minio-go retries ten
// times by default, which would blur an outage).
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := s.newClient()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	return c
}

func (s *Server) newClient() (*minio.Client, error) {
	return minio.New(s.hostPort(), &minio.Options{
		Creds:        credentials.NewStaticV4(s.accessKey, s.secretKey, ""),
		Secure:       false,
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
		Transport:    &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 16},
	})
}

// Dir is the folder whose subfolders are the server's buckets (a bucket
// is a folder, an object a file in it).
func (s *Server) Dir() string { return s.dataDir() }

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// LogPath is the file that holds versitygw's output.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "versitygw.log") }

// NewBucket creates a bucket of the test's own, named after the test (a
// number and the test's name, within S3's rules for bucket names), and
// returns what a client needs: the endpoint URL, the bucket, and the
// root user's access key and secret. When the test ends, the bucket is
// emptied (objects and unfinished multipart uploads) and removed, if
// the server runs then.
func (s *Server) NewBucket(t testing.TB) (endpoint, bucket, accessKey, secretKey string) {
	t.Helper()
	bucket = bucketName(s.bucketSeq.Add(1), t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if !s.Running() {
		t.Fatalf("s3test: create bucket %s: %v", bucket, ErrStopped)
	}
	if err := s.client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: Region}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		if !s.Running() {
			return
		}
		if err := s.removeBucket(bucket); err != nil {
			t.Errorf("s3test: remove bucket %s: %v", bucket, err)
		}
	})
	return s.Endpoint(), bucket, s.accessKey, s.secretKey
}

// removeBucket empties a bucket and removes it.
func (s *Server) removeBucket(bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	objects := make(chan minio.ObjectInfo)
	var listErr error
	go func() {
		defer close(objects)
		for obj := range s.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				listErr = obj.Err
				return
			}
			objects <- obj
		}
	}()
	var errs []error
	for rerr := range s.client.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		errs = append(errs, fmt.Errorf("remove %s: %w", rerr.ObjectName, rerr.Err))
	}
	// RemoveObjects has drained objects, so the lister has returned.
	if listErr != nil {
		errs = append(errs, fmt.Errorf("list objects: %w", listErr))
	}
	for up := range s.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			errs = append(errs, fmt.Errorf("list unfinished uploads: %w", up.Err))
			break
		}
		if err := s.client.RemoveIncompleteUpload(ctx, bucket, up.Key); err != nil {
			errs = append(errs, fmt.Errorf("abort the upload of %s: %w", up.Key, err))
		}
	}
	if len(errs) == 0 {
		err := s.client.RemoveBucket(ctx, bucket)
		if minio.ToErrorResponse(err).Code == "BucketNotEmpty" && s.removeLeftovers(bucket) {
			err = s.client.RemoveBucket(ctx, bucket)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeLeftovers removes from a bucket whose objects are all deleted
// what a server stopped in the middle of a write leaves in its folder and
// no listing shows: versitygw's temporary files (".NAME.sgwtmp.N") and
// empty folders. It reports whether it removed anything; anything else
// there is left for RemoveBucket to refuse.
func (s *Server) removeLeftovers(bucket string) bool {
	removed := false
	root := filepath.Join(s.dataDir(), bucket)
	// Deepest first, so a folder emptied of leftovers goes too.
	var paths []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && path != root && d.Name() != ".sgwtmp" {
			paths = append(paths, path)
		}
		if err == nil && d.IsDir() && d.Name() == ".sgwtmp" {
			return filepath.SkipDir
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		path := paths[i]
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			if os.Remove(path) == nil { // only when empty
				removed = true
			}
		} else if strings.Contains(filepath.Base(path), ".sgwtmp.") && os.Remove(path) == nil {
			removed = true
		}
	}
	return removed
}

// bucketName makes a valid, unique bucket name from a number and a
// test's name: 3 to 63 lower-case letters, digits and hyphens, starting
// and ending with a letter or digit, no two hyphens in a row (S3's
// bucket naming rules, which versitygw enforces; "t" and a number at the
// start keep clear of the rules against names like IP addresses and of
// the reserved prefixes).
func bucketName(n uint64, testName string) string {
	b := []byte(fmt.Sprintf("t%d-", n))
	for _, r := range strings.ToLower(testName) {
		if len(b) >= 63 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case b[len(b)-1] != '-':
			b = append(b, '-')
		}
	}
	for b[len(b)-1] == '-' {
		b = b[:len(b)-1]
	}
	// At least 3 characters, and not the suffix S3 reserves for access
	// point aliases. The number stays followed by a hyphen or nothing,
	// so names stay unique.
	if len(b) < 3 || strings.HasSuffix(string(b), "-s3alias") {
		b = append(b[:min(len(b), 60)], "-x"...)
	}
	return string(b)
}

// Running says whether the server is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Stop kills the server (SIGKILL), as an outage would, and returns once
// it has exited. Requests in flight break; new ones are refused. The
// folder and the port stay, for Start.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.proc == nil {
		return ErrStopped
	}
	s.stop()
	return nil
}

// stop kills s.proc; s.mu is held.
func (s *Server) stop() {
	p := s.proc
	s.proc = nil
	p.cmd.Process.Kill()
	<-p.exited
}

// Start starts the stopped server again, on the same folder and port,
// and returns once it answers.
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
		s.stop()
	}
	return s.start()
}

// Close stops the server if it runs and removes its folder, with every
// bucket and the log. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.proc != nil {
		s.stop()
	}
	return os.RemoveAll(s.dir)
}

// errPortTaken: versitygw could not listen on its port.
var errPortTaken = errors.New("port taken")

// start runs versitygw and waits until it answers; s.mu is held and
// s.proc is nil.
func (s *Server) start() error {
	log, err := os.OpenFile(s.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open versitygw's log: %w", err)
	}
	logStart, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		log.Close()
		return fmt.Errorf("open versitygw's log: %w", err)
	}
	cmd := exec.Command(s.bin, "--port", s.hostPort(), "--quiet", "posix", s.dataDir())
	// Nothing from the test's environment (VGW_* would change the
	// server's settings); the credentials go here rather than on the
	// command line, where any user could read them.
	cmd.Env = []string{
		"PATH=/usr/bin:/bin",
		"ROOT_ACCESS_KEY_ID=" + s.accessKey,
		"ROOT_SECRET_ACCESS_KEY=" + s.secretKey,
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Killed by the kernel if the thread that started it exits; the
		// Go runtime ends a thread only when a goroutine locked to it
		// exits, which s3test never does.
		Pdeathsig: syscall.SIGKILL,
		// A ^C at the terminal reaches the test binary, not the server.
		Setpgid: true,
	}
	err = cmd.Start()
	log.Close() // versitygw has its own descriptor
	if err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	// versitygw has no way to say it is ready; ask it until it answers.
	// A request in flight ends when versitygw exits (a process that
	// failed to bind may leave another program's listener to answer, or
	// not).
	alive, dead := context.WithCancel(context.Background())
	defer dead()
	go func() {
		select {
		case <-p.exited:
			dead()
		case <-alive.Done():
		}
	}()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(alive, 2*time.Second)
		_, lastErr = s.client.ListBuckets(ctx)
		cancel()
		if lastErr == nil {
			s.proc = p
			return nil
		}
		select {
		case <-tick.C:
		case <-p.exited:
			msg := s.logFrom(logStart)
			if strings.Contains(msg, "address already in use") {
				return fmt.Errorf("versitygw on port %d: %w: %s", s.port, errPortTaken, msg)
			}
			return fmt.Errorf("versitygw exited before it answered (%v); its output:\n%s", p.waitErr, msg)
		case <-deadline.C:
			cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("versitygw did not answer within %v (last: %v); its output:\n%s", startTimeout, lastErr, s.logFrom(logStart))
		}
	}
}

// logFrom returns versitygw's output from the byte offset on (the last
// 64 KiB of it when it is longer).
func (s *Server) logFrom(offset int64) string {
	const max = 64 << 10
	f, err := os.Open(s.LogPath())
	if err != nil {
		return fmt.Sprintf("(no output: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size()-offset > max {
		offset = fi.Size() - max
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Sprintf("(output unreadable: %v)", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(output unreadable: %v)", err)
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

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
