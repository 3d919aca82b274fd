package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/storage"
)

// TestBackupRestoreDrill: a backup made through the running server's
// control socket while letters are being delivered restores into a new
// folder; there every letter acknowledged before the backup started is
// present and opens, check and audit verify pass, and the backup file
// holds no subject or content in clear. Restore refuses a folder that is
// not empty, a file cut short, a file with a byte changed, and an archive
// with a file outside the data folder.
func TestBackupRestoreDrill(t *testing.T) {
	ctx := context.Background()
	dir := initFolder(t)
	cfg, err := loadResolved(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildAppliance(cfg, buildOptions{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctlLn, err := control.Listen(filepath.Join(dir, socketFileName))
	if err != nil {
		t.Fatal(err)
	}
	ctlSrv := &http.Server{Handler: control.Handler(a.operator(nil), nil)}
	go ctlSrv.Serve(ctlLn)
	defer ctlSrv.Close()

	const password = "a long test password"
	nid := store.NationalID{Country: "DK", Number: "1203861234"}
	if _, _, err := a.store.AddResident(ctx, nid, "Anna Jensen", password); err != nil {
		t.Fatal(err)
	}
	snd, err := a.store.AddSender(ctx, "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	canary := func(i int) string { return fmt.Sprintf("CANARY-SUBJECT-%04d-a8f3", i) }
	deliver := func(i int) (string, error) {
		res, err := a.store.Deliver(ctx, snd.ID, store.Delivery{Recipient: nid, Subject: canary(i), SenderReference: fmt.Sprintf("ref-%d", i),
			Documents: []store.DocumentInput{{Name: "brev.txt", ContentType: "text/plain", Content: []byte("CANARY-CONTENT " + canary(i))}}})
		return res.Letter.ID, err
	}
	var before []string
	for i := range 20 {
		id, err := deliver(i)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, id)
	}
	// A resident signed in: the session's wrapping of the private key must
	// not be in the backup.
	if _, err := a.store.Login(ctx, nid.String(), password); err != nil {
		t.Fatal(err)
	}
	var wraps [][]byte
	if err := a.store.Engine().View(ctx, func(tx storage.Tx) error {
		return tx.Sessions().All(func(_ []byte, s *storage.Session) error { wraps = append(wraps, s.Wrap); return nil })
	}); err != nil || len(wraps) == 0 {
		t.Fatalf("sessions: %d, %v", len(wraps), err)
	}
	// Deliveries go on while the backup is made.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var during atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if _, err := deliver(1000 + g*10000 + i); err != nil {
					t.Error(err)
					return
				}
				during.Add(1)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "postkasse.backup")
	out := cli(t, "backup", "--data", dir, "--to", file)
	stop.Store(true)
	wg.Wait()
	if !strings.Contains(out, "Wrote "+file) || !strings.Contains(out, "while serving") {
		t.Errorf("backup printed:\n%s", out)
	}
	t.Logf("%d letters delivered during the run; %s", during.Load(), strings.TrimSpace(out))
	if err := run([]string{"backup", "--data", dir, "--to", file}, io.Discard); err == nil {
		t.Error("a backup over an existing file")
	}

	// No subject or content in clear in the backup file.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("CANARY-")) {
		t.Error("the backup file holds a subject or content in clear")
	}
	for _, w := range wraps {
		// Records are JSON: a wrapping is in base64 there.
		if bytes.Contains(raw, w[len(w)-32:]) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(w))) {
			t.Error("the backup file holds a session's wrapping of a private key")
		}
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if out := cli(t, "restore", "--from", file, "--data", restored); !strings.Contains(out, "passed its checks") {
		t.Errorf("restore printed:\n%s", out)
	}
	for _, f := range []string{dbFileName, configFileName, "ca/ca.key", "ca/ca.crt"} {
		if _, err := os.Stat(filepath.Join(restored, f)); err != nil {
			t.Errorf("restored folder: %v", err)
		}
	}
	if out := cli(t, "check", "--data", restored); !strings.Contains(out, "ok") {
		t.Errorf("check of the restored folder:\n%s", out)
	}
	cli(t, "audit", "verify", "--data", restored)
	// check and audit verify read the backup file itself too.
	if out := cli(t, "check", "--backup", file); !strings.Contains(out, "ok") {
		t.Errorf("check of the backup file:\n%s", out)
	}
	cli(t, "audit", "verify", "--backup", file)
	rst, err := store.Open(filepath.Join(restored, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rst.Engine().View(ctx, func(tx storage.Tx) error {
		return tx.Sessions().All(func([]byte, *storage.Session) error { return errors.New("a session in the restored database") })
	}); err != nil {
		t.Error(err)
	}
	sess, err := rst.Login(ctx, nid.String(), password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := rst.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range before {
		doc, err := mb.Document(ctx, id, 0)
		if err != nil || string(doc.Content) != "CANARY-CONTENT "+canary(i) {
			t.Errorf("letter %d acknowledged before the backup: %v", i, err)
		}
	}
	mb.Close()
	rst.Close()

	// Refusals.
	if err := run([]string{"restore", "--from", file, "--data", restored}, io.Discard); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a folder in use: %v", err)
	}
	bad := func(name string, data []byte, want string) {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "target")
		err := run([]string{"restore", "--from", p, "--data", target}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, want)
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("%s: the refused restore left %s", name, target)
		}
	}
	bad("truncated", raw[:len(raw)/2], "cut short")
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/3] ^= 0x01
	bad("flipped", flipped, "manifest")
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "../evil", Size: 1, Mode: 0o600, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	bad("outside", evil.Bytes(), "not a file of a data folder")
	bad("not a backup", []byte("hello"), "")
}

// TestHelp: `postkasse COMMAND --help` and `postkasse COMMAND SUBCOMMAND
// --help` print the command's usage lines (and flags) and succeed.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"sender", "--help"}, []string{"postkasse sender add", "postkasse sender revoke"}},
		{[]string{"sender", "add", "--help"}, []string{"postkasse sender add", "-org string", "organisation number"}},
		{[]string{"backup", "-h"}, []string{"postkasse backup", "-to string"}},
		{[]string{"support", "help"}, []string{"postkasse support answer"}},
	} {
		var out bytes.Buffer
		if err := run(tc.args, &out); err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v printed no %q:\n%s", tc.args, w, out.String())
			}
		}
	}
}

// TestBackupTakesNamedFiles: a backup takes the files of the folder the
// configuration names (acme.trusted_root written by init --acme-root), so
// the restored folder serves. Found by review.
func TestBackupTakesNamedFiles(t *testing.T) {
	other := initFolder(t)
	root, err := os.ReadFile(filepath.Join(other, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(rootFile, root, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	cli(t, "init", "--data", dir, "--domain", "post.example.dk", "--acme-root", rootFile)
	file := filepath.Join(t.TempDir(), "b.backup")
	cli(t, "backup", "--data", dir, "--to", file)
	restored := filepath.Join(t.TempDir(), "restored")
	cli(t, "restore", "--from", file, "--data", restored)
	got, err := os.ReadFile(filepath.Join(restored, acmeRootFileName))
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("the restored folder's %s: %v", acmeRootFileName, err)
	}
	if _, err := loadResolved(restored); err != nil {
		t.Errorf("the restored configuration: %v", err)
	}
}
