package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sys/unix"
)

// shared is the server the tests of this package share.
var shared Shared

// helperEnv, set in its environment, makes the test binary a helper of
// TestKilledTestBinary instead of running the tests.
const helperEnv = "PGTEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	os.Exit(shared.Run(m))
}

// helperMain starts a server, prints its postmaster's pid and its
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

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestWriteRead: a server starts, a database is made, and a row written
// through pgx is read back; the database is PostgreSQL ≥ 15 with the
// settings the package doc promises.
func TestWriteRead(t *testing.T) {
	t.Parallel()
	began := time.Now()
	s := Start(t)
	started := time.Since(began)
	began = time.Now()
	url := s.NewDatabase(t)
	t.Logf("server started in %v, database created in %v", started, time.Since(began))

	conn := connect(t, url)
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `CREATE TABLE letter (id bigint PRIMARY KEY, subject text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO letter VALUES (1, 'Årsopgørelse 2026')`); err != nil {
		t.Fatal(err)
	}
	var subject string
	if err := conn.QueryRow(ctx, `SELECT subject FROM letter WHERE id = 1`).Scan(&subject); err != nil {
		t.Fatal(err)
	}
	if subject != "Årsopgørelse 2026" {
		t.Errorf("read %q, want %q", subject, "Årsopgørelse 2026")
	}

	settings := map[string]string{
		"fsync":              "on",
		"synchronous_commit": "on",
		"full_page_writes":   "on",
		"max_connections":    "200",
		"listen_addresses":   "127.0.0.1",
		"port":               strconv.Itoa(s.Port()),
		"server_encoding":    "UTF8",
		"TimeZone":           "UTC",
	}
	for name, want := range settings {
		var got string
		if err := conn.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// The locale is the database's, not a setting, since PostgreSQL 16.
	var collate, ctype string
	if err := conn.QueryRow(ctx, `SELECT datcollate, datctype FROM pg_database WHERE datname = current_database()`).Scan(&collate, &ctype); err != nil {
		t.Fatal(err)
	}
	if collate != "C" || ctype != "C" {
		t.Errorf("the database's locale is %s/%s, want C/C", collate, ctype)
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < minMajor*10000 {
		t.Errorf("server_version_num %d, want ≥ %d", version, minMajor*10000)
	}
	var socketDir string
	if err := conn.QueryRow(ctx, `SELECT current_setting('unix_socket_directories')`).Scan(&socketDir); err != nil {
		t.Fatal(err)
	}
	if socketDir != s.dir {
		t.Errorf("unix_socket_directories = %q, want the server's folder %q", socketDir, s.dir)
	}
}

// TestStopStart: Stop breaks open connections and refuses new ones with a
// connection error; Start brings the server back on the same port with
// every committed row (crash recovery after the immediate shutdown), and
// a pool made before the outage works again without being rebuilt.
func TestStopStart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	url := s.NewDatabase(t)
	ctx := t.Context()
	conn := connect(t, url)
	if _, err := conn.Exec(ctx, `CREATE TABLE delivery (id bigint PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO delivery SELECT generate_series(1, 100)`); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("immediate stop took %v", time.Since(began))
	if s.Running() {
		t.Error("Running after Stop")
	}
	if err := s.Stop(); !errors.Is(err, ErrStopped) {
		t.Errorf("second Stop: %v, want ErrStopped", err)
	}
	if _, err := conn.Exec(ctx, `SELECT 1`); err == nil {
		t.Error("a query on a connection opened before Stop succeeded")
	}
	if _, err := pgx.Connect(ctx, url); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect while stopped: %v, want connection refused", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM delivery`).Scan(&n); err == nil {
		t.Error("a query through the pool succeeded while the server was stopped")
	}

	began = time.Now()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("start after an immediate stop (crash recovery) took %v", time.Since(began))
	if err := s.Start(); !errors.Is(err, ErrRunning) {
		t.Errorf("second Start: %v, want ErrRunning", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM delivery`).Scan(&n); err != nil {
		t.Fatalf("the pool after Start: %v", err)
	}
	if n != 100 {
		t.Errorf("%d rows after the restart, want 100", n)
	}

	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	conn2 := connect(t, url)
	if err := conn2.QueryRow(ctx, `SELECT count(*) FROM delivery`).Scan(&n); err != nil || n != 100 {
		t.Errorf("after Restart: %d rows, %v; want 100", n, err)
	}
}

// proc names one process: a pid and its start time, so that a pid the
// kernel reused for another process does not count as the same one.
type proc struct {
	pid   int
	start string
}

// procStat reads /proc/PID/stat: the process's state, parent and start
// time (proc(5)).
func procStat(pid int) (state byte, ppid int, start string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, "", err
	}
	// The command name, field 2, is in parentheses and may hold anything.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, "", fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, "", fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0][0], ppid, f[19], err
}

// processTree lists the postmaster and all its children.
func processTree(t *testing.T, postmaster int) []proc {
	t.Helper()
	_, _, start, err := procStat(postmaster)
	if err != nil {
		t.Fatal(err)
	}
	tree := []proc{{postmaster, start}}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, start, err := procStat(pid); err == nil && ppid == postmaster {
			tree = append(tree, proc{pid, start})
		}
	}
	return tree
}

// alive lists the processes of procs that still run.
func alive(procs []proc) []proc {
	var out []proc
	for _, p := range procs {
		state, _, start, err := procStat(p.pid)
		if err == nil && start == p.start && state != 'Z' {
			out = append(out, p)
		}
	}
	return out
}

// TestNoStrayProcesses: Stop and Close leave no postgres process behind
// (the postmaster and its backends, checkpointer, walwriter …, listed
// from /proc while it ran), Close removes the server's folder, and the
// server ran as postgres when the tests run as root.
func TestNoStrayProcesses(t *testing.T) {
	t.Parallel()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conn := connect(t, s.URL()) // a backend of its own

	s.mu.Lock()
	postmaster := s.proc.cmd.Process.Pid
	s.mu.Unlock()
	tree := processTree(t, postmaster)
	if len(tree) < 3 {
		t.Fatalf("the postmaster %d has %d children; want its background processes and a backend", postmaster, len(tree)-1)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", postmaster))
	if err != nil {
		t.Fatal(err)
	}
	wantUID := os.Getuid()
	if wantUID == 0 {
		wantUID = s.owner.uid
		if s.owner.name != "postgres" || wantUID == 0 {
			t.Errorf("running as root, the server's user is %+v; want postgres", s.owner)
		}
	}
	if !strings.Contains(string(status), fmt.Sprintf("\nUid:\t%d\t", wantUID)) {
		t.Errorf("the postmaster does not run as uid %d:\n%s", wantUID, status)
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := alive(tree); len(left) > 0 {
		t.Errorf("after Stop, %d of the server's %d processes still run: %v", len(left), len(tree), left)
	}
	conn.Close(context.Background())

	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	postmaster = s.proc.cmd.Process.Pid
	s.mu.Unlock()
	connect(t, s.URL())
	tree = processTree(t, postmaster)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left := alive(tree); len(left) > 0 {
		t.Errorf("after Close, %d of the server's %d processes still run: %v", len(left), len(tree), left)
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the server's folder %s after Close: %v", s.dir, err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestKilledTestBinary: a test binary killed (SIGKILL: no cleanup runs)
// takes its server with it: the kernel kills the postmaster
// (PR_SET_PDEATHSIG), and its backends and background processes exit
// when they see it gone.
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
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the helper said %q: %v", line, err)
	}
	var pid int
	var dir string
	if _, err := fmt.Sscan(line, &pid, &dir); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the helper said %q: %v", line, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // its own cleanup never runs
	tree := processTree(t, pid)
	if len(tree) < 3 {
		t.Errorf("the helper's postmaster %d has %d children; want its background processes", pid, len(tree)-1)
	}
	// pidfds name these very processes, whatever pids the kernel hands
	// out later, and become readable when they exit (pidfd_open(2)).
	var pidfds []int
	for _, p := range tree {
		fd, err := unix.PidfdOpen(p.pid, 0)
		if err != nil {
			t.Fatalf("pidfd_open %d: %v", p.pid, err)
		}
		defer unix.Close(fd)
		pidfds = append(pidfds, fd)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// A deadline as a safety net for a server that would never exit,
	// not a measure of how fast it does.
	deadline := time.Now().Add(time.Minute)
	for i, fd := range pidfds {
		if !waitExit(t, fd, deadline) {
			t.Errorf("process %d of the killed test binary's server still runs a minute later", tree[i].pid)
		}
	}
}

// waitExit waits for the process behind a pidfd to exit, until the
// deadline at most, and says whether it did.
func waitExit(t *testing.T, pidfd int, deadline time.Time) bool {
	t.Helper()
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, max(0, int(time.Until(deadline).Milliseconds())))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll a pidfd: %v", err)
		}
		return n == 1
	}
}

// TestNewDatabase: each call makes a database of its own, and the
// database is dropped when its test ends, even with a connection still
// open to it.
func TestNewDatabase(t *testing.T) {
	t.Parallel()
	s := shared.Server(t)
	var names []string
	t.Run("sub", func(t *testing.T) {
		a, b := s.NewDatabase(t), s.NewDatabase(t)
		if a == b {
			t.Fatalf("two databases with one URL %s", a)
		}
		for _, url := range []string{a, b} {
			conn := connect(t, url)
			var name string
			if err := conn.QueryRow(t.Context(), `SELECT current_database()`).Scan(&name); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		// A connection the test never closes: dropping the database at
		// the end ends it (WITH (FORCE)).
		if _, err := pgx.Connect(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	})
	if len(names) != 2 {
		t.Fatalf("the subtest found databases %v", names)
	}
	conn := connect(t, s.URL())
	for _, name := range names {
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

// TestSharedServer: the tests of a package get one server, and each test
// its own database on it.
func TestSharedServer(t *testing.T) {
	t.Parallel()
	first := shared.Server(t)
	urls := make(chan string, 4)
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				if s := shared.Server(t); s != first {
					t.Errorf("a second shared server")
				}
				url := shared.NewDatabase(t)
				conn := connect(t, url)
				if _, err := conn.Exec(t.Context(), `CREATE TABLE mine (n int)`); err != nil {
					t.Fatal(err)
				}
				urls <- url
			})
		}
	})
	close(urls)
	seen := map[string]bool{}
	for url := range urls {
		if seen[url] {
			t.Errorf("two tests got %s", url)
		}
		seen[url] = true
	}
	if len(seen) != 4 {
		t.Errorf("%d databases, want 4", len(seen))
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
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())))
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
	connect(t, s.URL())
}

// TestMissingBinaries: without PostgreSQL, the error names the command
// that installs it.
func TestMissingBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := findBinaries(filepath.Join(t.TempDir(), "*", "bin"))
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("err = %v; want ErrNotInstalled naming %q", err, InstallHint)
	}
}

// TestFindBinaries: the highest major version ≥ 15 wins; older ones and
// folders without the programs are passed over.
func TestFindBinaries(t *testing.T) {
	real, err := findBinaries(debianBinGlob)
	if err != nil {
		t.Fatalf("%v", err)
	}
	root := t.TempDir()
	// 14 is too old, 99 has no initdb, 17 is a copy of the real one;
	// the real postgres tells its own version, so 17's folder name is
	// what picks it, and its --version is then checked.
	for _, v := range []string{"14", "17", "99"} {
		dir := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real.postgres, filepath.Join(dir, "postgres")); err != nil {
			t.Fatal(err)
		}
		if v == "99" {
			continue
		}
		if err := os.Symlink(real.initdb, filepath.Join(dir, "initdb")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := findBinaries(filepath.Join(root, "*", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "17", "bin", "postgres"); got.postgres != want {
		t.Errorf("postgres = %s, want %s", got.postgres, want)
	}
	if got.major != real.major || got.version != real.version {
		t.Errorf("version %d %q, want the real one's %d %q", got.major, got.version, real.major, real.version)
	}
}

func TestParseMajor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 15, true},
		{"postgres (PostgreSQL) 17.2", 17, true},
		{"postgres (PostgreSQL) 18beta1", 18, true},
		{"postgres (PostgreSQL) 9.6.24", 9, true},
		{"something else", 0, false},
	} {
		got, err := parseMajor(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMajor(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		test string
		want string
	}{
		{1, "TestStore", "t1_teststore"},
		{12, "TestStore/sub_test#01", "t12_teststore_sub_test_01"},
		{3, "TestÆble", "t3_test_ble"},
		{7, strings.Repeat("TestLong", 20), "t7_" + strings.Repeat("testlong", 8)[:60]},
	} {
		got := databaseName(tc.n, tc.test)
		if got != tc.want {
			t.Errorf("databaseName(%d, %q) = %q, want %q", tc.n, tc.test, got, tc.want)
		}
		if len(got) > 63 {
			t.Errorf("databaseName(%d, %q) is %d bytes, over PostgreSQL's 63", tc.n, tc.test, len(got))
		}
	}
}

// TestTemplateCache: with an empty cache, the first server runs initdb
// and keeps its data folder as the template; the next one copies it; both
// work, and the copy has the modes PostgreSQL insists on.
func TestTemplateCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bin, err := findBinaries(debianBinGlob)
	if err != nil {
		t.Fatal(err)
	}
	cache := templateDir(bin)
	if !strings.HasPrefix(cache, os.Getenv("XDG_CACHE_HOME")) {
		t.Fatalf("template folder %s is not in XDG_CACHE_HOME", cache)
	}

	began := time.Now()
	cold := Start(t)
	t.Logf("initdb and start: %v", time.Since(began))
	if _, err := os.Stat(filepath.Join(cache, "PG_VERSION")); err != nil {
		t.Fatalf("no template after the first server: %v", err)
	}
	began = time.Now()
	warm := Start(t)
	t.Logf("copy of the template and start: %v", time.Since(began))
	for _, s := range []*Server{cold, warm} {
		conn := connect(t, s.NewDatabase(t))
		if _, err := conn.Exec(t.Context(), `CREATE TABLE x (n int); INSERT INTO x VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(s.dataDir())
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("data folder mode %v, want 0700", fi.Mode().Perm())
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != s.owner.uid {
			t.Errorf("data folder owned by uid %d, want %d", st.Uid, s.owner.uid)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(cache))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the cache holds %d entries, want the one template (no leftover temporary copy)", len(entries))
	}
}

// TestCopyTreeRefusesSymlinks: the copy knows only folders and regular
// files, and says so rather than copy something else wrongly.
func TestCopyTreeRefusesSymlinks(t *testing.T) {
	src := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	err := copyTree(src, filepath.Join(t.TempDir(), "dst"), owner{}, false)
	if !errors.Is(err, errNotCopyable) {
		t.Errorf("copyTree with a symlink: %v, want errNotCopyable", err)
	}
}

// TestLogOnFailure: the log that a failing test prints is the server's
// own, from where the test began.
func TestLogOnFailure(t *testing.T) {
	t.Parallel()
	s := shared.Server(t)
	log := s.logFrom(0)
	if !strings.Contains(log, "database system is ready to accept connections") {
		t.Errorf("the log does not say the server is ready:\n%s", log)
	}
	from := s.logSize()
	if _, err := pgx.Connect(t.Context(), strings.Replace(s.URL(), "/postgres?", "/no_such_database?", 1)); err == nil {
		t.Fatal("connected to a database that does not exist")
	}
	if tail := s.logFrom(from); !strings.Contains(tail, `database "no_such_database" does not exist`) {
		t.Errorf("the log since %d does not hold the failed connection:\n%s", from, tail)
	}
}

// BenchmarkNew measures New and Close: initdb (cold, an empty template
// cache) against a copy of the cached template (warm), reported as the
// ratio warm/cold.
func BenchmarkNew(b *testing.B) {
	b.Setenv("XDG_CACHE_HOME", b.TempDir())
	bin, err := findBinaries(debianBinGlob)
	if err != nil {
		b.Fatal(err)
	}
	cache := templateDir(bin)
	measure := func(cold bool) time.Duration {
		var total time.Duration
		for range 3 {
			if cold {
				if err := os.RemoveAll(cache); err != nil {
					b.Fatal(err)
				}
			}
			began := time.Now()
			s, err := New()
			if err != nil {
				b.Fatal(err)
			}
			total += time.Since(began)
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
		return total / 3
	}
	var cold, warm time.Duration
	for b.Loop() {
		cold = measure(true)
		warm = measure(false)
	}
	b.ReportMetric(float64(cold.Milliseconds()), "initdb+start-ms")
	b.ReportMetric(float64(warm.Milliseconds()), "copy+start-ms")
	b.ReportMetric(float64(warm)/float64(cold), "warm/cold")
}

// BenchmarkNewDatabase measures NewDatabase (CREATE DATABASE from
// template1 with fsync on) and, as its baseline, one INSERT committed
// in its own transaction, on the same server.
func BenchmarkNewDatabase(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(context.Background(), s.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE TABLE commits (n int)`); err != nil {
		b.Fatal(err)
	}
	var create, commit time.Duration
	for b.Loop() {
		began := time.Now()
		s.NewDatabase(b)
		create += time.Since(began)
		began = time.Now()
		if _, err := conn.Exec(context.Background(), `INSERT INTO commits VALUES (1)`); err != nil {
			b.Fatal(err)
		}
		commit += time.Since(began)
	}
	b.ReportMetric(float64(create.Microseconds())/float64(b.N), "create-µs/op")
	b.ReportMetric(float64(create)/float64(commit), "create/commit")
}
