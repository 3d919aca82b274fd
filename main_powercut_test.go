package main

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport/lazyfs"
)

// The power-cut tests run `postkasse serve` on a data folder on lazyfs,
// which loses what was not synced when the test cuts the power. A kill
// alone (TestCrashDuringDeliveries) leaves the page cache, and with it
// every write the server made, whether it synced it or not.

// powerCutDomain is the domain of the power-cut tests' server; their
// clients dial 127.0.0.1 whatever it resolves to.
const powerCutDomain = "post.example.dk"

// powerCutServer is a server on a data folder on lazyfs, with one
// activated resident and a sender.
type powerCutServer struct {
	t        *testing.T
	fsys     *lazyfs.FS
	dir      string   // the data folder: where lazyfs is mounted
	env      []string // added to the server's environment
	sender   *http.Client
	browser  *http.Client
	nid      string
	password string
	srv      *serveProcess
	api      string // the running server's URL
}

// newPowerCutServer makes a data folder with init on an ordinary disk,
// with a certificate of its own and a resident and two senders enrolled,
// copies it onto a new lazyfs with every file and folder synced, and
// activates the resident's mailbox through a server started on it, then
// stopped.
func newPowerCutServer(t *testing.T) *powerCutServer {
	t.Helper()
	base := initFolder(t)
	roots := ownCertificate(t, base, powerCutDomain)
	s := &powerCutServer{t: t, dir: filepath.Join(t.TempDir(), "data"), nid: "1203861234", password: "a long test password"}
	code, public, _ := enrol(t, base, s.nid)
	s.sender = loopbackClient(t, roots, &public)
	s.browser = loopbackClient(t, roots, nil)
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.fsys = lazyfs.Mount(t, s.dir)
	copyTreeSynced(t, base, s.dir)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	activate(t, s.browser, s.api, s.nid, code, s.password)
	s.srv.stop()
	return s
}

// start starts the server on the folder.
func (s *powerCutServer) start() error {
	s.t.Helper()
	srv, err := launchServe(s.t, s.env, os.Args[0], s.dir, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0")
	if err != nil {
		return err
	}
	m := servingHTTPS.FindStringSubmatch(srv.stdout.String())
	if m == nil {
		return fmt.Errorf("serve printed no HTTPS address:\n%s", srv.stdout.String())
	}
	_, port, _ := strings.Cut(m[1], ":")
	s.srv, s.api = srv, "https://"+powerCutDomain+":"+port
	return nil
}

// keepDamaged copies the data folder, as it is now, to a new folder under
// the system's temporary folder that outlives the test, and logs its path:
// a failed round leaves the evidence behind.
func (s *powerCutServer) keepDamaged() {
	s.t.Helper()
	keep, err := os.MkdirTemp("", "postkasse-powercut-")
	if err != nil {
		s.t.Logf("keep the damaged data folder: %v", err)
		return
	}
	copyTree(s.t, s.dir, keep)
	s.t.Logf("the data folder that did not start is kept at %s", keep)
}

// cut kills the server and cuts the power.
func (s *powerCutServer) cut() {
	s.t.Helper()
	s.srv.kill()
	if err := s.fsys.Cut(); err != nil {
		s.t.Fatal(err)
	}
}

// copyTreeSynced copies the folder from to the existing folder to, and
// fsyncs every file and folder it made, so that all of it is durable.
func copyTreeSynced(t *testing.T, from, to string) {
	t.Helper()
	copyTree(t, from, to)
	err := filepath.WalkDir(to, func(path string, d os.DirEntry, err error) error {
		if err != nil || !(d.IsDir() || d.Type().IsRegular()) {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPowerCutDuringDeliveries delivers letters from eight concurrent
// senders while the power is cut at random moments: the server is killed,
// everything it did not sync is lost (lazyfs), and it starts again on
// what survived, POSTKASSE_POWERCUT_CUTS times (default 30). Every few
// rounds a backup is made while the letters come in, onto an ordinary
// disk. Then every acknowledged letter must be there once, as the letter
// it was acknowledged as, and open with its own content; repeating an
// acknowledged delivery must answer 200 with the same letter; `check` and
// `audit verify` must pass; and each backup must restore, pass `check`
// and hold every letter acknowledged before it was begun.
func TestPowerCutDuringDeliveries(t *testing.T) {
	cuts := envCount(t, "POSTKASSE_POWERCUT_CUTS", 30)
	seed := envSeed(t, "POSTKASSE_POWERCUT_SEED")
	t.Logf("POSTKASSE_POWERCUT_SEED=%d POSTKASSE_POWERCUT_CUTS=%d", seed, cuts)
	rng := rand.New(rand.NewPCG(seed, 3))

	s := newPowerCutServer(t)
	defer func() {
		// Whatever failed (a start, a round's deliveries, a backup the
		// server died in), keep the folder for bbolt's own tools.
		if t.Failed() {
			s.keepDamaged()
		}
	}()
	book := newDeliveryBook("powercut", 8)
	type backup struct {
		file  string
		acked map[string]string // acknowledged before it was begun
	}
	var backups []backup
	backupDir := t.TempDir()
	for round := range cuts {
		if err := s.start(); err != nil {
			t.Fatalf("after %d cuts: %v", round, err)
		}
		wait := book.deliver(s.sender, s.api, s.nid)
		if round%6 == 3 {
			b := backup{file: filepath.Join(backupDir, fmt.Sprintf("round-%d.backup", round))}
			book.mu.Lock()
			b.acked = maps.Clone(book.acked)
			book.mu.Unlock()
			cli(t, "backup", "--data", s.dir, "--to", b.file)
			backups = append(backups, b)
		}
		// A random moment from 10 to 400 ms into the round.
		time.Sleep(time.Duration(10+rng.IntN(390)) * time.Millisecond)
		s.cut()
		wait()
		if err := book.err(); err != nil {
			t.Fatalf("after %d cuts: %v", round+1, err)
		}
	}

	// Start once more: resend what was cut off, then every acknowledged
	// reference again, which must answer 200 with the same letter id.
	if err := s.start(); err != nil {
		t.Fatalf("after the last cut: %v", err)
	}
	if err := book.resend(s.sender, s.api, s.nid); err != nil {
		t.Fatal(err)
	}
	s.srv.stop()
	t.Logf("%d cuts, %d letters acknowledged, %d fsyncs, %d backups", cuts, len(book.acked), s.fsys.Syncs(), len(backups))
	if len(book.acked) == 0 {
		t.Fatal("no delivery was acknowledged; the test proved nothing")
	}

	// The checks read a copy on an ordinary disk: bbolt reads through
	// mmap, which must not fault on lazyfs in the process that serves it.
	dir := filepath.Join(t.TempDir(), "data")
	copyTree(t, s.dir, dir)
	cli(t, "check", "--data", dir)
	verify := []string{"audit", "verify", "--data", dir}
	if _, err := os.Stat(filepath.Join(dir, checkpointFileName)); err == nil {
		verify = append(verify, "--checkpoint", filepath.Join(dir, checkpointFileName))
	}
	t.Logf("audit verify: %s", strings.ReplaceAll(strings.TrimSpace(cli(t, verify...)), "\n", "; "))
	if err := book.checkMailbox(filepath.Join(dir, dbFileName), s.nid, s.password); err != nil {
		t.Fatal(err)
	}
	for _, b := range backups {
		restored := filepath.Join(t.TempDir(), "restored")
		cli(t, "restore", "--from", b.file, "--data", restored)
		cli(t, "check", "--data", restored)
		if err := checkLetters(filepath.Join(restored, dbFileName), s.nid, s.password, b.acked); err != nil {
			t.Fatalf("%s: %v", filepath.Base(b.file), err)
		}
	}
}

// TestPowerCutCatchesMissingFsync shows that the power-cut test catches a
// missing fsync: with a fault planted, a server whose database commits
// without fsync and so acknowledges a letter before it is on disk, the
// same rounds must fail the checks, with an acknowledged letter lost or a
// damaged database, within ten cuts.
func TestPowerCutCatchesMissingFsync(t *testing.T) {
	s := newPowerCutServer(t)
	s.env = []string{"POSTKASSE_TEST_ACK_BEFORE_SYNC=1"}
	book := newDeliveryBook("fault", 8)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 4))
	caught := func(cuts int, err error) {
		problems := strings.Split(err.Error(), "\n")
		t.Logf("caught after %d cuts, %d letters acknowledged: %s (%d lines in all)", cuts, len(book.acked), problems[0], len(problems))
	}
	for round := range 10 {
		if err := s.start(); err != nil {
			caught(round, fmt.Errorf("the server does not start on what survived: %w", err))
			return
		}
		if err := book.resend(s.sender, s.api, s.nid); err != nil {
			caught(round, err)
			s.srv.kill()
			return
		}
		wait := book.deliver(s.sender, s.api, s.nid)
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		s.cut()
		wait()
	}
	t.Fatalf("10 power cuts with commits that skip fsync, %d letters acknowledged, and no check failed", len(book.acked))
}
