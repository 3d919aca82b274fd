package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/acme/acmetest"
)

// TestOperatorsRunbook follows docs/OPERATORS.md as a new operator does,
// in its order: init, the service (serve), the first sender, a resident,
// a backup while the server runs and the copy's checks, restore into a
// new folder, check and audit verify of that folder, and serving it. Each
// command is taken from the page's ```sh blocks, not written out here: the
// test finds the documented line, puts its own folders and files in place
// of the page's, and runs it. A command, a flag or a value the page no
// longer documents makes the test fail, so the page and the binary cannot
// drift apart unnoticed. Between the operator's steps the resident
// activates the mailbox and a sender delivers a letter, which the resident
// reads from the restored folder.
func TestOperatorsRunbook(t *testing.T) {
	const password = "a long test password"
	doc := readRunbook(t, filepath.Join("docs", "OPERATORS.md"))

	// The page's folders, files and name; the test's own in their place.
	// The page's domain stays: pebble validates any name on loopback.
	data := filepath.Join(t.TempDir(), "postkasse")
	restored := filepath.Join(t.TempDir(), "postkasse-restored")
	out := t.TempDir()
	backup := filepath.Join(t.TempDir(), "postkasse.backup")
	places := strings.NewReplacer( // longest first: a Replacer tries them in this order
		"/backup/postkasse-$(date +%F).backup", backup,
		"/backup/postkasse-2026-12-02.backup", backup,
		"/var/lib/postkasse-restored", restored,
		"/var/lib/postkasse", data,
		"/tmp", out,
	)
	httpPort, httpsPort := acmetest.FreePort(t), acmetest.FreePort(t)
	p := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort, TLSPort: httpsPort})

	// Install: init with the flags the page names for a private ACME CA
	// and other ports, then the service as the unit file starts it.
	doc.follow(t, places, "postkasse init --data",
		"--acme-ca", p.Directory, "--acme-root", p.ListenerRootFile,
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--https", fmt.Sprintf("127.0.0.1:%d", httpsPort))
	domain := doc.words(t, places, "postkasse init --data").value(t, "--domain")
	serveArgs := unitServeArgs(t, filepath.Join("deploy", "postkasse.service"))
	if got := places.Replace(strings.Join(serveArgs, " ")); got != "serve --data "+data {
		t.Fatalf("the unit runs %q; startServe runs serve --data DIR", got)
	}
	srv := startServe(t, os.Args[0], data)
	srv.waitCertificate()

	// The first sender, and a resident, through the running server.
	printed := doc.follow(t, places, "postkasse sender add")
	if !strings.Contains(printed, "curl") {
		t.Errorf("sender add printed no curl command:\n%s", printed)
	}
	// The page names the files it writes: use those.
	m := regexp.MustCompile("writes `([a-z0-9-]+)\\.crt` and `([a-z0-9-]+)\\.key`").FindStringSubmatch(doc.text)
	if m == nil || m[1] != m[2] {
		t.Fatalf("OPERATORS.md no longer names the files sender add writes: %q", m)
	}
	residentAdd := doc.words(t, places, "postkasse resident add")
	nid := residentAdd.value(t, "--national-id")
	code := activationCode(t, doc.follow(t, places, "postkasse resident add"))
	if list := doc.follow(t, places, "postkasse resident list"); !strings.Contains(list, "pending") {
		t.Errorf("resident list before activation:\n%s", list)
	}

	// The resident activates the mailbox; the sender delivers a letter.
	httpsAddr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	base := "https://" + net.JoinHostPort(domain, strconv.Itoa(httpsPort))
	activate(t, httpsClient(t, httpsAddr, p.Roots, nil), base, nid, code, password)
	cert, err := tls.LoadX509KeyPair(filepath.Join(out, m[1]+".crt"), filepath.Join(out, m[1]+".key"))
	if err != nil {
		t.Fatalf("the files sender add wrote, as the page names them: %v", err)
	}
	letter := crashPDF("runbook-1")
	status, answer, err := deliver(httpsClient(t, httpsAddr, p.Roots, &cert), base, nid, "Runbook letter", "runbook-1", letter)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("delivery with the certificate sender add wrote: %d %+v %v", status, answer, err)
	}

	// The page checks a backup against DATA/audit-checkpoints, which the
	// audit-checkpoint job writes each minute the log has grown and at
	// every start. A new appliance has none in its first minute: restart
	// the service (as after an upgrade) rather than wait for it.
	if !strings.Contains(doc.text, "systemctl restart postkasse") {
		t.Fatal("OPERATORS.md no longer restarts the service")
	}
	srv.stop()
	srv = startServe(t, os.Args[0], data)
	srv.waitCertificate()
	waitForFile(t, filepath.Join(data, checkpointFileName))

	// A backup while the server runs, and the copy's own checks.
	if printed := doc.follow(t, places, "postkasse backup --data"); !strings.Contains(printed, "while serving") {
		t.Errorf("backup printed:\n%s", printed)
	}
	doc.follow(t, places, "postkasse check --backup")
	doc.follow(t, places, "postkasse audit verify --backup")

	// Stop the server (systemctl stop sends SIGTERM), restore into a new
	// folder and check it.
	srv.stop()
	if printed := doc.follow(t, places, "postkasse restore --from"); !strings.Contains(printed, "passed its checks") {
		t.Errorf("restore printed:\n%s", printed)
	}
	if printed := doc.follow(t, places, "postkasse check --data "+restored); !strings.Contains(printed, "invariants: ok") {
		t.Errorf("check of the restored folder:\n%s", printed)
	}
	if printed := doc.follow(t, places, "postkasse audit verify --data "+restored); !strings.Contains(printed, "OK: no problem found") {
		t.Errorf("audit verify of the restored folder:\n%s", printed)
	}

	// Serve the restored folder: the resident signs in again (a backup
	// holds no sessions) and reads the letter.
	srv = startServe(t, os.Args[0], restored)
	srv.waitCertificate()
	_, got := loginAndRead(t, httpsClient(t, httpsAddr, p.Roots, nil), base, nid, password, answer.ID)
	if string(got) != string(letter) {
		t.Errorf("the letter read from the restored folder is %d bytes, want the %d delivered", len(got), len(letter))
	}
	srv.stop()
}

// runbook is the operator's commands of a page: every line of its ```sh
// blocks that runs postkasse, continuation lines joined, comments, sudo
// and environment assignments removed.
type runbook struct {
	path  string
	text  string   // the whole page
	lines []string // "postkasse …"
}

// readRunbook reads the command lines of the page at path.
func readRunbook(t *testing.T, path string) runbook {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rb := runbook{path: path, text: string(raw)}
	inSh := false
	var cont string
	sc := bufio.NewScanner(strings.NewReader(rb.text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !inSh && strings.TrimSpace(line) == "```sh":
			inSh = true
			continue
		case inSh && strings.TrimSpace(line) == "```":
			inSh = false
			continue
		case !inSh:
			continue
		}
		line = cont + strings.TrimSpace(line)
		if l, ok := strings.CutSuffix(line, `\`); ok {
			cont = l
			continue
		}
		cont = ""
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimPrefix(line, "sudo -u postkasse ")
		for f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "=") && !strings.HasPrefix(f[0], "-"); f = f[1:] {
			line = strings.TrimSpace(strings.TrimPrefix(line, f[0]))
		}
		if strings.HasPrefix(line, "postkasse ") {
			rb.lines = append(rb.lines, strings.TrimSpace(line))
		}
	}
	if len(rb.lines) == 0 {
		t.Fatalf("%s has no postkasse command in a sh block", path)
	}
	return rb
}

// words returns the one documented line that begins with prefix, after
// places are put in, as the shell splits it.
func (rb runbook) words(t *testing.T, places *strings.Replacer, prefix string) commandLine {
	t.Helper()
	var found []string
	for _, l := range rb.lines {
		if l = places.Replace(l); strings.HasPrefix(l, prefix) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d command lines begin with %q, want 1: %q", rb.path, len(found), prefix, found)
	}
	return commandLine(shellWords(t, found[0]))
}

// follow runs the documented line that begins with prefix, with extra
// flags added. An extra flag must be documented in the page's text, and
// --data, which the page's examples often leave at its default, is added
// to a line that names no folder or backup, because the page says every
// command takes it.
// It returns what the command printed.
func (rb runbook) follow(t *testing.T, places *strings.Replacer, prefix string, extra ...string) string {
	t.Helper()
	args := rb.words(t, places, prefix)[1:] // without "postkasse"
	for _, a := range extra {
		if strings.HasPrefix(a, "--") && !strings.Contains(rb.text, "`"+a+" ") {
			t.Fatalf("%s does not document %s, which the runbook passes to %q", rb.path, a, prefix)
		}
	}
	if !args.has("--data") && !args.has("--backup") {
		if !strings.Contains(rb.text, "Every command takes `--data DIR`") {
			t.Fatalf("%s no longer says every command takes --data", rb.path)
		}
		args = append(args, "--data", places.Replace("/var/lib/postkasse"))
	}
	args = append(args, extra...)
	t.Logf("postkasse %s", strings.Join(args, " "))
	return cli(t, args...)
}

// commandLine is a command line split into words.
type commandLine []string

// has reports whether the line has the flag.
func (c commandLine) has(flag string) bool {
	for _, w := range c {
		if w == flag {
			return true
		}
	}
	return false
}

// value is the word after flag.
func (c commandLine) value(t *testing.T, flag string) string {
	t.Helper()
	for i, w := range c {
		if w == flag && i+1 < len(c) {
			return c[i+1]
		}
	}
	t.Fatalf("%q has no %s", c, flag)
	return ""
}

// shellWords splits a line as sh does for the page's commands: blanks
// separate words, single and double quotes group. Anything else the shell
// would expand is refused, so the test never runs a word sh would change.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.ContainsRune("$`*?;&|<>(){}", r):
			t.Fatalf("the command line %q has %q, which the test does not expand", line, r)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("the command line %q has an unclosed quote", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// unitServeArgs returns the arguments the systemd unit passes to
// postkasse.
func unitServeArgs(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(l, "ExecStart=/usr/local/bin/postkasse "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("%s has no ExecStart of /usr/local/bin/postkasse, where OPERATORS.md installs it", path)
	return nil
}

// waitForFile waits until the file at path exists.
func waitForFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}
