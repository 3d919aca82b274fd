package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestPrintCommands: letters queued for print are exported as a batch
// (the PDFs, manifest.json and manifest.csv with addresses and pages),
// written again on request while not done, marked printed once; the
// status follows, and check finds the folder consistent.
func TestPrintCommands(t *testing.T) {
	dir := initFolder(t)
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{KDF: testsupport.CheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	snd, err := st.AddSender(context.Background(), "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The operator's print key, once, into a new file only.
	keyFile := filepath.Join(t.TempDir(), "print.key")
	if out := cli(t, "print", "key", "--data", dir, "--out", keyFile); !strings.Contains(out, keyFile) {
		t.Errorf("print key printed:\n%s", out)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, %v", fi, err)
	}
	if err := run([]string{"print", "key", "--data", dir, "--out", filepath.Join(t.TempDir(), "second.key")}, io.Discard); err == nil {
		t.Error("a second print key: no error")
	}
	if err := run([]string{"print", "key", "--data", dir, "--out", keyFile}, io.Discard); err == nil {
		t.Error("a print key over an existing file: no error")
	}
	if st, err = store.Open(filepath.Join(dir, dbFileName), store.Options{KDF: testsupport.CheapKDF}); err != nil {
		t.Fatal(err)
	}
	nid, _ := store.ParseNationalID("1203861234")
	pdf := testsupport.PDF("Afgørelse om boligstøtte")
	for _, ref := range []string{"sag-1", "sag-2"} {
		res, err := st.Deliver(context.Background(), snd.ID, store.Delivery{Recipient: nid, Subject: "Afgørelse", SenderReference: ref,
			Documents: []store.DocumentInput{{Name: "../../afgørelse.pdf", ContentType: "application/pdf", Content: pdf}},
			Print: &store.PrintRequest{Address: store.PrintAddress{Name: "=Bo Berg", Lines: []string{"Søndergade 12"},
				PostalCode: "8000", City: "Aarhus C", Country: "DK"}}})
		if err != nil || res.Letter.Status != "queued-for-print" {
			t.Fatalf("deliver %s: %+v, %v", ref, res, err)
		}
	}
	st.Close()

	if out := cli(t, "print", "status", "--data", dir); !strings.Contains(out, "Queued for print: 2 letters, 2 pages") {
		t.Errorf("print status:\n%s", out)
	}
	if err := run([]string{"print", "export", "--data", dir, "--key", keyFile}, io.Discard); err == nil {
		t.Error("print export without --to: no error")
	}
	batchDir := filepath.Join(t.TempDir(), "batch")
	if err := run([]string{"print", "export", "--data", dir, "--to", batchDir}, io.Discard); err == nil {
		t.Error("print export without --key: no error")
	}
	wrongKey := filepath.Join(t.TempDir(), "wrong.key")
	os.WriteFile(wrongKey, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	if err := run([]string{"print", "export", "--data", dir, "--to", batchDir, "--key", wrongKey}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "print key") {
		t.Errorf("print export with a wrong key: %v", err)
	}
	if _, err := os.Stat(batchDir); err == nil {
		t.Error("a wrong key wrote the batch")
	}
	out := cli(t, "print", "export", "--data", dir, "--to", batchDir, "--key", keyFile)
	if !strings.Contains(out, "2 letters, 2 pages") {
		t.Errorf("print export printed:\n%s", out)
	}
	var m struct {
		Batch   string
		Letters []struct {
			ID, SenderOrgNumber, SenderReference string
			Address                              store.PrintAddress
			Pages                                int
			Documents                            []struct {
				File, Name, SHA256 string
				Pages              int
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(batchDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Letters) != 2 || m.Letters[0].SenderReference != "sag-1" || m.Letters[0].Address.PostalCode != "8000" ||
		m.Letters[0].Pages != 1 || len(m.Letters[0].Documents) != 1 || m.Letters[0].SenderOrgNumber != "29189846" {
		t.Fatalf("manifest.json: %s", b)
	}
	doc := m.Letters[0].Documents[0]
	if got, err := os.ReadFile(filepath.Join(batchDir, filepath.FromSlash(doc.File))); err != nil || !bytes.Equal(got, pdf) ||
		strings.Contains(doc.File, "..") || doc.Name != "afgørelse.pdf" {
		t.Errorf("document %+v: %v", doc, err)
	}
	f, err := os.Open(filepath.Join(batchDir, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 || rows[1][0] != m.Batch || rows[1][4] != "'=Bo Berg" || rows[1][9] != "8000" || rows[1][12] != "1" {
		t.Errorf("manifest.csv: %q, %v", rows, err)
	}
	// Nothing more to export; an existing folder is refused; the batch
	// can be written again while not done.
	if err := run([]string{"print", "export", "--data", dir, "--key", keyFile, "--to", filepath.Join(t.TempDir(), "again")}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "not found") {
		t.Errorf("second export: %v", err)
	}
	if err := run([]string{"print", "export", "--data", dir, "--key", keyFile, "--to", batchDir, "--batch", m.Batch}, io.Discard); err == nil {
		t.Error("export into an existing folder: no error")
	}
	again := filepath.Join(t.TempDir(), "again")
	cli(t, "print", "export", "--data", dir, "--key", keyFile, "--to", again, "--batch", m.Batch)
	if b2, err := os.ReadFile(filepath.Join(again, "manifest.json")); err != nil || !bytes.Equal(b, b2) {
		t.Errorf("the batch written again differs: %v", err)
	}
	var status control.PrintStatusInfo
	if err := json.Unmarshal([]byte(cli(t, "print", "status", "--data", dir, "--json")), &status); err != nil {
		t.Fatal(err)
	}
	if status.Queued != 0 || len(status.Exported) != 1 || status.Exported[0].Batch != m.Batch || status.Exported[0].Letters != 2 {
		t.Errorf("status after export: %+v", status)
	}

	if err := run([]string{"print", "done", "--data", dir}, io.Discard); err == nil {
		t.Error("print done without a batch: no error")
	}
	if err := run([]string{"print", "done", "0123456789abcdef0123456789abcdef", "--data", dir}, io.Discard); err == nil {
		t.Error("print done of an unknown batch: no error")
	}
	if out := cli(t, "print", "done", m.Batch, "--data", dir); !strings.Contains(out, "2 letters marked printed") {
		t.Errorf("print done printed:\n%s", out)
	}
	if out := cli(t, "print", "done", m.Batch, "--data", dir); !strings.Contains(out, "before") {
		t.Errorf("print done again printed:\n%s", out)
	}
	if out := cli(t, "print", "status", "--data", dir); !strings.Contains(out, "Queued for print: 0 letters, 0 pages. Printed so far: 2.") {
		t.Errorf("print status after done:\n%s", out)
	}
	if out := cli(t, "check", "--data", dir); !strings.Contains(out, "invariants: ok") {
		t.Errorf("check:\n%s", out)
	}
}
