package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store"
)

var (
	pg pgtest.Shared
	s3 s3test.Shared
)

// TestMigrateCommand: `postkasse migrate` copies a data folder's database
// into PostgreSQL and a bucket, compares them and verifies the copy's
// audit log against the folder's checkpoints; run again it refuses, with
// --compare it compares; the server configured with [store] engine =
// "cluster" then serves the copy. The source is byte for byte unchanged.
func TestMigrateCommand(t *testing.T) {
	dir := initFolder(t)
	cli(t, "resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen")
	cli(t, "sender", "add", "--data", dir, "--name", "Eksempelby Kommune", "--org", "29189846", "--kind", "public", "--out", t.TempDir())
	// A letter with a document, and a checkpoint of the log after it.
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	senders, err := st.Senders(context.Background())
	if err != nil || len(senders) != 1 {
		t.Fatalf("senders: %v, %v", senders, err)
	}
	signed, _, err := st.SignCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointFileName), signed, 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}

	endpoint, bucket, ak, sk := s3.NewBucket(t)
	creds := filepath.Join(t.TempDir(), "s3-credentials")
	if err := os.WriteFile(creds, []byte(ak+"\n"+sk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbURL := pg.NewDatabase(t)
	blobsURL := strings.Replace(endpoint, "http://", "s3+http://", 1) + "/" + bucket
	args := []string{"migrate", "--data", dir, "--to", dbURL, "--blobs", blobsURL, "--blobs-region", s3test.Region, "--blobs-credentials", creds}
	out := cli(t, args...)
	for _, want := range []string{"residents:", "compared: the same", "the copy's audit log verifies", "1 checkpoints match", `engine = "cluster"`} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate printed no %q:\n%s", want, out)
		}
	}
	after, err := os.ReadFile(filepath.Join(dir, dbFileName))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the source changed (%v)", err)
	}
	// Again: refused. With --compare: compared.
	if err := run(args, io.Discard); err == nil || !strings.Contains(err.Error(), "holds records already") {
		t.Errorf("second migrate: %v", err)
	}
	if out := cli(t, append(args, "--compare")...); !strings.Contains(out, "compared: the same") {
		t.Errorf("migrate --compare:\n%s", out)
	}
	// Bad command lines say what to fix.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--data", dir, "--to", strings.Replace(dbURL, "@", ":secret@", 1), "--blobs", blobsURL, "--blobs-credentials", creds}, "password"},
		{[]string{"migrate", "--data", dir, "--to", dbURL, "--blobs", endpoint, "--blobs-credentials", creds}, "BUCKET"},
		{[]string{"migrate", "--data", dir, "--to", dbURL, "--blobs", "ftp://host/bucket", "--blobs-credentials", creds}, "s3://"},
		{[]string{"migrate", "--data", dir, "--to", dbURL, "--blobs", endpoint + "/no-such-bucket", "--blobs-region", s3test.Region, "--blobs-credentials", creds}, "no-such-bucket"},
	} {
		if err := run(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("migrate %v: %v, want an error naming %q", tc.args[3:], err, tc.want)
		}
	}

	// The appliance on the copy: [store] engine = "cluster".
	setConfigKeys(t, dir, map[string]string{"engine": "cluster", "database_url": dbURL, "blobs_endpoint": endpoint,
		"blobs_bucket": bucket, "blobs_region": s3test.Region, "blobs_credentials_file": creds})
	if err := os.Rename(filepath.Join(dir, dbFileName), filepath.Join(dir, dbFileName+".migrated")); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadResolved(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildAppliance(cfg, buildOptions{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	residents, err := a.store.Residents(context.Background())
	if err != nil || len(residents) != 1 || residents[0].Name != "Anna Jensen" {
		t.Errorf("residents on the copy: %+v, %v", residents, err)
	}
	if err := a.store.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}

	// A second node on the same database: the two count failed logins
	// together, so the fifth failure (the default limit), whichever node
	// saw it, throttles the account on both.
	b, err := buildAppliance(cfg, buildOptions{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var nodes []http.Handler
	for _, app := range []*appliance{a, b} {
		ui, err := app.webUI()
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, ui.Handler())
	}
	login := func(node http.Handler) int {
		req := httptest.NewRequest("POST", "https://post.example.dk/login",
			strings.NewReader(url.Values{"nationalId": {"1203861234"}, "password": {"not the password"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		node.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 5 {
		if code := login(nodes[i%2]); code != http.StatusUnauthorized {
			t.Fatalf("failed login %d, on node %d: %d, want 401", i+1, i%2, code)
		}
	}
	for i, node := range nodes {
		if code := login(node); code != http.StatusTooManyRequests {
			t.Errorf("login on node %d after five failures on both: %d, want 429", i, code)
		}
	}
}

// TestDutyOfCareCommands: the operator's block, hold and support
// commands run on a data folder with the server stopped, and say what to
// fix when their flags are wrong (the operations themselves are tested
// in httpui/control).
func TestDutyOfCareCommands(t *testing.T) {
	dir := initFolder(t)
	cli(t, "resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen")
	if out := cli(t, "resident", "block", "--data", dir, "--national-id", "1203861234", "--reason", "Mistanke om misbrug"); !strings.Contains(out, "Blocked Anna Jensen") {
		t.Errorf("block printed:\n%s", out)
	}
	if out := cli(t, "resident", "unblock", "--data", dir, "--national-id", "1203861234"); !strings.Contains(out, "Unblocked Anna Jensen") {
		t.Errorf("unblock printed:\n%s", out)
	}
	if out := cli(t, "support", "list", "--data", dir); !strings.Contains(out, "ID") || strings.Count(out, "\n") != 1 {
		t.Errorf("support list of none printed:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"resident", "block", "--data", dir, "--national-id", "1203861234"}, "--reason"},
		{[]string{"letter", "make-inaccessible", "--data", dir, "--id", "x"}, "--reason"},
		{[]string{"letter", "make-inaccessible", "--data", dir, "--id", "nosuchletter", "--reason", "r", "--order", "o"}, "not found"},
		{[]string{"support", "answer", "--data", dir, "--id", "x"}, "--text"},
		{[]string{"support", "show", "--data", dir, "--id", "nosuchrequest"}, "not found"},
		{[]string{"letter", "delete"}, "unknown subcommand"},
	} {
		if err := run(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}
