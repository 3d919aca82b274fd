package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/acme/acmetest"
)

// TestPortableDataFolder is the appliance's portability promise: the
// binary and the data folder, copied to another path (another machine in
// real life) with the original removed, start and serve with everything
// intact. A folder is initialised and served with pebble as ACME CA; a
// letter is delivered; the server stops; pebble stops too; the test binary
// (which is postkasse under POSTKASSE_TEST_MAIN=1) and the folder are
// copied elsewhere and the originals deleted; the copy serves the stored
// certificate without the CA, and the resident logs in over HTTPS and
// reads the letter.
func TestPortableDataFolder(t *testing.T) {
	const domain = "moving.postkasse.test"
	const nid, password = "1203861234", "a long test password"
	httpPort, httpsPort := acmetest.FreePort(t), acmetest.FreePort(t)
	p := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort, TLSPort: httpsPort})
	before := t.TempDir()
	dir := filepath.Join(before, "data")
	productionFolder(t, dir, domain, httpPort, httpsPort, p)
	bin := filepath.Join(before, "bin", "postkasse")
	copyFile(t, os.Args[0], bin, 0o755)

	srv := startServe(t, bin, dir)
	srv.waitCertificate()
	code, public, _ := enrol(t, dir, nid)
	httpsAddr := fmt.Sprintf("127.0.0.1:%d", httpsPort)
	base := "https://" + net.JoinHostPort(domain, strconv.Itoa(httpsPort))
	activate(t, httpsClient(t, httpsAddr, p.Roots, nil), base, nid, code, password)
	letter := crashPDF("moving-1")
	status, answer, err := deliver(httpsClient(t, httpsAddr, p.Roots, &public), base, nid, "Letter before the move", "moving-1", letter)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("delivery: %d %+v %v", status, answer, err)
	}
	srv.stop()
	p.Stop() // the ACME CA is gone for good

	after := t.TempDir()
	movedDir := filepath.Join(after, "elsewhere", "postkasse-data")
	movedBin := filepath.Join(after, "usr", "local", "bin", "postkasse")
	copyTree(t, dir, movedDir)
	copyFile(t, bin, movedBin, 0o755)
	if err := os.RemoveAll(before); err != nil {
		t.Fatal(err)
	}

	moved := startServe(t, movedBin, movedDir)
	moved.waitCertificate()
	browser := httpsClient(t, httpsAddr, p.Roots, nil)
	inbox, doc := loginAndRead(t, browser, base, nid, password, answer.ID)
	if !strings.Contains(inbox, "Letter before the move") {
		t.Fatalf("the inbox after the move does not list the letter:\n%s", inbox)
	}
	if !bytes.Equal(doc, letter) {
		t.Fatal("the letter's document differs after the move")
	}
	// The sender's certificate from before the move still delivers.
	status, _, err = deliver(httpsClient(t, httpsAddr, p.Roots, &public), base, nid, "Letter after the move", "moving-2", crashPDF("moving-2"))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("delivery after the move: %d %v", status, err)
	}
	moved.stop()

	// With the server stopped, the operator's commands work on the moved
	// folder directly.
	var out bytes.Buffer
	if err := run([]string{"sender", "list", "--data", movedDir}, &out); err != nil || !strings.Contains(out.String(), "Eksempelby Kommune") {
		t.Fatalf("sender list on the moved folder: %v\n%s", err, out.String())
	}
}

func copyFile(t *testing.T, from, to string, perm fs.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies a folder as `cp -a` would: files with their modes;
// sockets (a stopped server leaves none) are not copied.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			copyFile(t, path, target, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
