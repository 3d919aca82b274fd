package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/store"
)

// TestDemoFolderAdministered: the operator's commands work on a demo's
// folder (through its socket while it runs), its terms of use are in
// force and accepted, and a resident who deleted the mailbox is no longer
// printed as a demo login.
func TestDemoFolderAdministered(t *testing.T) {
	dir := t.TempDir()
	p := startDemo(t, dir)
	if out := cli(t, "resident", "list", "--data", dir); !strings.Contains(out, "Lars Nielsen") {
		t.Errorf("resident list on the running demo:\n%s", out)
	}
	if out := cli(t, "terms", "list", "--data", dir); !strings.Contains(out, "done") {
		t.Errorf("terms list on the demo: no version in force with its notices done:\n%s", out)
	}
	lars := p.demo.Residents[1]
	p.stop()

	// Lars deletes his mailbox; the next start does not print him.
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sess, err := st.Login(ctx, lars.NationalID, lars.Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteMailbox(ctx, lars.Password); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	p = startDemo(t, dir)
	defer p.stop()
	if strings.Contains(p.output.String(), lars.NationalID) {
		t.Errorf("the demo prints %s, whose mailbox is deleted:\n%s", lars.Name, p.output.String())
	}
	if !strings.Contains(p.output.String(), p.demo.Residents[0].NationalID) {
		t.Errorf("the demo no longer prints %s:\n%s", p.demo.Residents[0].Name, p.output.String())
	}
}
