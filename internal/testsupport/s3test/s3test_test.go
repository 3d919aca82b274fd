package s3test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sys/unix"
)

// shared is the server the tests of this package share.
var shared Shared

// helperEnv, set in its environment, makes the test binary a helper of
// TestKilledTestBinary instead of running the tests.
const helperEnv = "S3TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	os.Exit(shared.Run(m))
}

// helperMain starts a server, prints versitygw's pid and the server's
// folder, and waits to be killed.
func helperMain() int {
	s, err := New()
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	s.mu.Lock()
	fmt.Println(s.proc.cmd.Process.Pid, s.dir)
	s.mu.Unlock()
	io.Copy(io.Discard, os.Stdin) // until killed
	s.Close()
	return 0
}

// clientFor makes a client from what NewBucket returns, as the code
// under test would: nothing from s3test but the four strings.
func clientFor(t *testing.T, endpoint, accessKey, secretKey string) *minio.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Path != "" {
		t.Fatalf("endpoint %q: want http://host:port", endpoint)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(accessKey, secretKey, ""),
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(ctx context.Context, c *minio.Client, bucket, key string, data []byte) error {
	_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return err
}

func get(ctx context.Context, c *minio.Client, bucket, key string) ([]byte, error) {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

// TestPutGet: a server starts, a bucket is made, and an object written
// through a client made from NewBucket's four strings is read back, and
// is a file of the same bytes in the server's folder.
func TestPutGet(t *testing.T) {
	t.Parallel()
	began := time.Now()
	s := Start(t)
	started := time.Since(began)
	began = time.Now()
	endpoint, bucket, ak, sk := s.NewBucket(t)
	t.Logf("versitygw started in %v, bucket created in %v", started, time.Since(began))

	c := clientFor(t, endpoint, ak, sk)
	ctx := t.Context()
	sealed := bytes.Repeat([]byte("sealed document "), 4096) // 64 KiB
	if err := put(ctx, c, bucket, "documents/01/letter.bin", sealed); err != nil {
		t.Fatal(err)
	}
	got, err := get(ctx, c, bucket, "documents/01/letter.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sealed) {
		t.Errorf("read %d bytes, not the %d written", len(got), len(sealed))
	}
	onDisk, err := os.ReadFile(filepath.Join(s.Dir(), bucket, "documents", "01", "letter.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, sealed) {
		t.Errorf("the file in the bucket's folder holds %d bytes, not the %d written", len(onDisk), len(sealed))
	}
	if _, err := get(ctx, c, bucket, "no/such/object"); minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		t.Errorf("GET of a missing object: %v, want NoSuchKey", err)
	}

	// Wrong credentials are refused: the server checks signatures.
	wrong := clientFor(t, endpoint, ak, sk+"x")
	if err := put(ctx, wrong, bucket, "forged", []byte("x")); minio.ToErrorResponse(err).Code != "SignatureDoesNotMatch" {
		t.Errorf("PUT with a wrong secret: %v, want SignatureDoesNotMatch", err)
	}
}

// TestStopStart: Stop makes requests fail with a connection error; Start
// brings the server back on the same endpoint with the objects it held,
// and the client made before the outage works again.
func TestStopStart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	endpoint, bucket, ak, sk := s.NewBucket(t)
	c := clientFor(t, endpoint, ak, sk)
	ctx := t.Context()
	if err := put(ctx, c, bucket, "before", []byte("stored before the outage")); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop took %v", time.Since(began))
	if s.Running() {
		t.Error("Running after Stop")
	}
	if err := s.Stop(); !errors.Is(err, ErrStopped) {
		t.Errorf("second Stop: %v, want ErrStopped", err)
	}
	if err := put(ctx, c, bucket, "during", []byte("x")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("PUT while stopped: %v, want connection refused", err)
	}
	if _, err := get(ctx, c, bucket, "before"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("GET while stopped: %v, want connection refused", err)
	}

	began = time.Now()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("start after stop took %v", time.Since(began))
	if err := s.Start(); !errors.Is(err, ErrRunning) {
		t.Errorf("second Start: %v, want ErrRunning", err)
	}
	if s.Endpoint() != endpoint {
		t.Errorf("endpoint %s after Start, was %s", s.Endpoint(), endpoint)
	}
	got, err := get(ctx, c, bucket, "before")
	if err != nil || string(got) != "stored before the outage" {
		t.Errorf("after Start: %q, %v", got, err)
	}
	if _, err := c.StatObject(ctx, bucket, "during", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		t.Errorf("the PUT refused during the outage: %v, want NoSuchKey", err)
	}
	if err := put(ctx, c, bucket, "after", []byte("x")); err != nil {
		t.Errorf("PUT after Start: %v", err)
	}

	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := get(ctx, c, bucket, "after"); err != nil {
		t.Errorf("GET after Restart: %v", err)
	}
}

// processGone says whether the process pid has exited (or is a zombie
// not yet reaped), per /proc (proc(5)).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// TestNoStrayProcess: Stop and Close leave no versitygw running, and
// Close removes the server's folder.
func TestNoStrayProcess(t *testing.T) {
	t.Parallel()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pid := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.proc.cmd.Process.Pid
	}
	first := pid()
	if processGone(first) {
		t.Fatalf("versitygw %d is not running", first)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !processGone(first) {
		t.Errorf("versitygw %d still runs after Stop", first)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	second := pid()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !processGone(second) {
		t.Errorf("versitygw %d still runs after Close", second)
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the server's folder after Close: %v", err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestKilledTestBinary: a test binary killed (SIGKILL: no cleanup runs)
// takes its versitygw with it (PR_SET_PDEATHSIG).
func TestKilledTestBinary(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var pid int
	var dir string
	if err == nil {
		_, err = fmt.Sscan(line, &pid, &dir)
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the helper said %q: %v", line, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // its own cleanup never runs
	// The pidfd names this very process, whatever pids the kernel hands
	// out later, and becomes readable when it exits (pidfd_open(2)).
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(pidfd)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// A minute: a safety net for a server that would never exit, not a
	// measure of how fast it does.
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 60_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll a pidfd: %v", err)
		}
		if n == 0 {
			t.Errorf("versitygw %d of the killed test binary still runs a minute later", pid)
		}
		return
	}
}

// TestNewBucket: each call makes a bucket of its own, even for test
// names S3 would refuse as they are, and the bucket is removed when its
// test ends, with its objects and an unfinished multipart upload.
func TestNewBucket(t *testing.T) {
	t.Parallel()
	s := shared.Server(t)
	var buckets []string
	t.Run("Æble_01--x", func(t *testing.T) {
		_, a, ak, sk := s.NewBucket(t)
		_, b, _, _ := s.NewBucket(t)
		if a == b {
			t.Fatalf("two buckets named %s", a)
		}
		buckets = append(buckets, a, b)
		c := clientFor(t, s.Endpoint(), ak, sk)
		for i := range 3 {
			if err := put(t.Context(), c, a, fmt.Sprintf("dir/obj%d", i), []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		core := minio.Core{Client: c}
		if _, err := core.NewMultipartUpload(t.Context(), a, "unfinished", minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if len(buckets) != 2 {
		t.Fatalf("the subtest made buckets %v", buckets)
	}
	c := s.Client(t)
	for _, b := range buckets {
		ok, err := c.BucketExists(t.Context(), b)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Errorf("bucket %s still exists after its test ended", b)
		}
	}
}

// TestSharedServer: the tests of a package get one server, and each test
// its own bucket on it.
func TestSharedServer(t *testing.T) {
	t.Parallel()
	first := shared.Server(t)
	buckets := make(chan string, 4)
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				if s := shared.Server(t); s != first {
					t.Errorf("a second shared server")
				}
				endpoint, bucket, ak, sk := shared.NewBucket(t)
				if err := put(t.Context(), clientFor(t, endpoint, ak, sk), bucket, "mine", []byte(bucket)); err != nil {
					t.Fatal(err)
				}
				buckets <- bucket
			})
		}
	})
	close(buckets)
	seen := map[string]bool{}
	for b := range buckets {
		if seen[b] {
			t.Errorf("two tests got bucket %s", b)
		}
		seen[b] = true
	}
	if len(seen) != 4 {
		t.Errorf("%d buckets, want 4", len(seen))
	}
}

// TestPortTaken: a server whose port another process holds does not
// start, says so, and starts once the port is free again.
func TestPortTaken(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", s.hostPort())
	if err != nil {
		t.Fatalf("take the stopped server's port: %v", err)
	}
	err = s.Start()
	ln.Close()
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("Start on a taken port: %v, want errPortTaken", err)
	}
	if s.Running() {
		t.Fatal("Running after a failed Start")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client(t).ListBuckets(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// bucketNameRE is S3's rule for bucket names, as far as bucketName's
// alphabet goes: 3 to 63 characters, lower-case letters, digits and
// single hyphens, a letter or digit at each end.
var bucketNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9]){2,62}$`)

func TestBucketName(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		test string
		want string
	}{
		{1, "TestStore", "t1-teststore"},
		{12, "TestStore/sub_test#01", "t12-teststore-sub-test-01"},
		{3, "TestÆble--", "t3-test-ble"},
		{4, "Test/", "t4-test"},
		{5, "", "t5-x"},
		{6, "Test-s3alias", "t6-test-s3alias-x"},
		{8, strings.Repeat("a", 52) + "-s3alias", "t8-" + strings.Repeat("a", 52) + "-s3al-x"},
		{7, strings.Repeat("TestLong", 20), "t7-" + strings.Repeat("testlong", 8)[:60]},
	} {
		got := bucketName(tc.n, tc.test)
		if got != tc.want {
			t.Errorf("bucketName(%d, %q) = %q, want %q", tc.n, tc.test, got, tc.want)
		}
		if !bucketNameRE.MatchString(got) {
			t.Errorf("bucketName(%d, %q) = %q, not a valid bucket name", tc.n, tc.test, got)
		}
	}
}

// TestMissingBinary: without versitygw, or with a program of another
// module in its place, the error names the command that installs the
// pinned one.
func TestMissingBinary(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv("GOBIN", "")
	t.Setenv("GOPATH", empty)
	_, err := Binary()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("without versitygw: %v; want ErrNotInstalled naming %q", err, InstallHint)
	}

	// This test binary, a Go program of another module, as versitygw.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(empty, "versitygw")); err != nil {
		t.Fatal(err)
	}
	_, err = Binary()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("with another program as versitygw: %v; want ErrNotInstalled naming %q", err, InstallHint)
	}
}

// TestCIInstallsThePinnedVersion: the test script (./test, which CI runs)
// installs the versitygw this package asks for.
func TestCIInstallsThePinnedVersion(t *testing.T) {
	ci, err := os.ReadFile(filepath.Join("..", "..", "..", "test"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), InstallHint) {
		t.Errorf("./test does not run %q", InstallHint)
	}
}

// BenchmarkNewBucket measures NewBucket (a CreateBucket request) and, as
// its baseline, one 1 KiB PUT on the same server.
func BenchmarkNewBucket(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	_, base, _, _ := s.NewBucket(b)
	data := make([]byte, 1024)
	var create, putTime time.Duration
	for b.Loop() {
		began := time.Now()
		s.NewBucket(b)
		create += time.Since(began)
		began = time.Now()
		if err := put(context.Background(), s.client, base, "baseline", data); err != nil {
			b.Fatal(err)
		}
		putTime += time.Since(began)
	}
	b.ReportMetric(float64(create.Microseconds())/float64(b.N), "create-µs/op")
	b.ReportMetric(float64(create)/float64(putTime), "create/put")
}

// BenchmarkNew measures New and Close: starting versitygw until it
// answers, and killing it.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		s, err := New()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRemoveBucketLeftovers: a bucket in whose folder a stopped server
// left a temporary file and an empty folder (no listing shows either) is
// still removed when its test ends.
func TestRemoveBucketLeftovers(t *testing.T) {
	t.Parallel()
	s := shared.Server(t)
	var bucket string
	t.Run("leftovers", func(t *testing.T) {
		_, bucket, _, _ = s.NewBucket(t)
		dir := filepath.Join(s.Dir(), bucket)
		if err := os.MkdirAll(filepath.Join(dir, "letters", "empty"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "letters", ".doc.sgwtmp.1764662400"), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := os.Stat(filepath.Join(s.Dir(), bucket)); !os.IsNotExist(err) {
		t.Errorf("the bucket with leftovers was not removed: %v", err)
	}
}
