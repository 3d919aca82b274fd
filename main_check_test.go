package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// checkFolder makes a data folder with a resident, a sender and letters
// delivered, a checkpoint file and a receipt file as a sender keeps them,
// and returns their paths.
func checkFolder(t *testing.T, letters int) (dir, checkpoint, receipt string) {
	t.Helper()
	dir = initFolder(t)
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{KDF: testsupport.CheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nid, _ := store.ParseNationalID("1203861234")
	if _, _, err := st.AddResident(context.Background(), nid, "Anna Jensen", "anna-demo-2026"); err != nil {
		t.Fatal(err)
	}
	snd, err := st.AddSender(context.Background(), "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	var last store.DeliveryResult
	for i := range letters {
		last, err = st.Deliver(context.Background(), snd.ID, store.Delivery{Recipient: nid, Subject: "Afgørelse", SenderReference: "sag-" + string(rune('a'+i)),
			Documents: []store.DocumentInput{{Name: "afgoerelse.txt", ContentType: "text/plain", Content: []byte("Du har fået tilskud.")}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	answer, err := json.Marshal(map[string]any{"receipt": last.Receipt})
	if err != nil {
		t.Fatal(err)
	}
	receipt = filepath.Join(t.TempDir(), "receipt.json")
	if err := os.WriteFile(receipt, answer, 0o600); err != nil {
		t.Fatal(err)
	}
	signed, _, err := st.SignCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkpoint = filepath.Join(t.TempDir(), "audit-checkpoints")
	if err := os.WriteFile(checkpoint, append(signed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, checkpoint, receipt
}

func copyDB(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckAndAuditVerify: an untouched folder checks and its audit log
// verifies against a checkpoint and a receipt, offline; a copy with an
// edited audit entry fails both, and so does a copy rolled back to before
// the checkpoint.
func TestCheckAndAuditVerify(t *testing.T) {
	dir, checkpoint, receipt := checkFolder(t, 3)
	var out bytes.Buffer
	if err := run([]string{"check", "--data", dir}, &out); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	for _, want := range []string{"engine:     ok", "invariants: ok", "3 letters sealed in v2", "0 in v1", "1 residents with an ML-KEM-768 key"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check printed no %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"audit", "verify", "--data", dir, "--checkpoint", checkpoint, "--receipt", receipt}, &out); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out.String())
	}

	// An entry edited in a copy.
	edited := copyDB(t, dir)
	db, err := bolt.Open(edited, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit-log"))
		k := binary.BigEndian.AppendUint64(nil, 1)
		v := b.Get(k)
		if v == nil {
			return errors.New("no entry 1")
		}
		v = bytes.Clone(v)
		v[len(v)-1] ^= 1
		return b.Put(k, v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run([]string{"audit", "verify", "--backup", edited}, &out); err == nil || !strings.Contains(out.String(), "entry 1") {
		t.Errorf("audit verify of an edited log: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"check", "--backup", edited}, &out); err == nil || !strings.Contains(out.String(), "invariants: FAILED") {
		t.Errorf("check of an edited log: %v\n%s", err, out.String())
	}

	// The folder rolled back: a copy from before more letters and a
	// later checkpoint.
	early := copyDB(t, dir)
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snds, _ := st.Senders(context.Background())
	nid, _ := store.ParseNationalID("1203861234")
	if _, err := st.Deliver(context.Background(), snds[0].ID, store.Delivery{Recipient: nid, Subject: "Mere", SenderReference: "sag-z",
		Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("x")}}}); err != nil {
		t.Fatal(err)
	}
	later, _, err := st.SignCheckpoint(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	laterFile := filepath.Join(t.TempDir(), "later")
	os.WriteFile(laterFile, later, 0o600)
	out.Reset()
	if err := run([]string{"audit", "verify", "--backup", early, "--checkpoint", laterFile}, &out); err == nil {
		t.Errorf("audit verify of a rolled-back copy passed:\n%s", out.String())
	}
}

// TestCheckCommandErrors: each wrong use is one clear error.
func TestCheckCommandErrors(t *testing.T) {
	dir, _, _ := checkFolder(t, 1)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--data", dir, "--backup", "x"}, "not both"},
		{[]string{"check", "--backup", filepath.Join(t.TempDir(), "nothing.db")}, "no such file"},
		{[]string{"audit"}, "subcommand"},
		{[]string{"audit", "verify", "--data", dir, "--receipt", filepath.Join(t.TempDir(), "none.json")}, "no such file"},
		{[]string{"audit", "verify", "--data", dir, "--checkpoint", filepath.Join(t.TempDir(), "none")}, "no such file"},
	} {
		err := run(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
	// A receipt of another kind of file.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"receipt":{"payload":"e30=","signature":"AAAA","keyId":"x"}}`), 0o600)
	if err := run([]string{"audit", "verify", "--data", dir, "--receipt", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a forged receipt: %v", err)
	}
}
