package main

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/jobs"
	"github.com/postkasse/postkasse/store"
)

// auditVerifyWithCheckpoints runs `postkasse audit verify` on the data
// folder against its own checkpoint file, which must hold at least one
// checkpoint.
func auditVerifyWithCheckpoints(t *testing.T, dir string) {
	t.Helper()
	file := filepath.Join(dir, checkpointFileName)
	if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
		t.Fatalf("checkpoint file: %v", err)
	}
	var out bytes.Buffer
	if err := run([]string{"audit", "verify", "--data", dir, "--checkpoint", file}, &out); err != nil {
		t.Fatalf("audit verify --checkpoint %s: %v\n%s", file, err, out.String())
	}
	if strings.Contains(out.String(), " 0 checkpoints") || !strings.Contains(out.String(), "checkpoints") {
		t.Fatalf("audit verify checked no checkpoint:\n%s", out.String())
	}
}

// runJob runs the job name once, as the appliance serve builds on the
// folder dir would, after look (when not nil) has seen its configuration;
// the run must succeed.
func runJob(t *testing.T, dir, name string, look func(jobs.Config)) {
	t.Helper()
	cfg, err := loadResolved(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildAppliance(cfg, buildOptions{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	jc, err := a.jobsConfig("https://post.example.dk/")
	if err != nil {
		t.Fatal(err)
	}
	if look != nil {
		look(jc)
	}
	sched, err := jobs.New(jc)
	if err != nil {
		t.Fatal(err)
	}
	if jr, err := sched.RunNow(name); err != nil || jr.Outcome != store.JobOK {
		t.Fatalf("run %s: %v (%+v)", name, err, jr)
	}
}

// TestServeAuditCheckpoints: the appliance serve builds runs the
// audit-checkpoint job into DATA/audit-checkpoints, which `audit verify`
// checks the log against.
func TestServeAuditCheckpoints(t *testing.T) {
	dir := initFolder(t)
	// An operator command makes the audit log grow.
	if err := run([]string{"resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	runJob(t, dir, jobs.JobCheckpoint, func(jc jobs.Config) {
		if want := filepath.Join(dir, checkpointFileName); jc.CheckpointFile != want {
			t.Errorf("checkpoint file %q, want %q", jc.CheckpointFile, want)
		}
	})
	auditVerifyWithCheckpoints(t, dir)
}

// TestAuditWitnessConfig: audit.witness reaches the checkpoint job, and
// only an http(s) URL is taken.
func TestAuditWitnessConfig(t *testing.T) {
	c, err := parseConfig([]byte("[audit]\nwitness = \"https://witness.example.dk/checkpoints\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.resolve(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	jc, err := r.jobsConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if jc.Witness != "https://witness.example.dk/checkpoints" || jc.CheckpointFile != filepath.Join(r.dir, checkpointFileName) {
		t.Errorf("jobs config: witness %q, checkpoint file %q", jc.Witness, jc.CheckpointFile)
	}
	for _, bad := range []string{"ftp://witness.example.dk", "witness.example.dk", "https://"} {
		if _, err := parseConfig([]byte("[audit]\nwitness = \"" + bad + "\"\n")); err == nil || !strings.Contains(err.Error(), "audit.witness") {
			t.Errorf("witness %q: %v, want an error naming audit.witness", bad, err)
		}
	}
}

// TestDemoAuditCheckpoints: the demo's jobs checkpoint its seeded audit
// log into DATA/audit-checkpoints at start, and `audit verify` checks the
// log against the file once the demo stopped.
func TestDemoAuditCheckpoints(t *testing.T) {
	dir := t.TempDir()
	p := startDemo(t, dir)
	file := filepath.Join(dir, checkpointFileName)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if fi, err := os.Stat(file); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint in %s after 30 seconds", file)
		}
	}
	p.stop()
	auditVerifyWithCheckpoints(t, dir)
}

// TestResidentsLanguage: residents.language is the language of pages and
// notifications when the resident and the browser choose none; only a
// language of the catalogue is taken.
func TestResidentsLanguage(t *testing.T) {
	dir := initFolder(t)
	setConfigKeys(t, dir, map[string]string{"language": "da"})
	cfg, err := loadResolved(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildAppliance(cfg, buildOptions{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	jc, err := a.jobsConfig("https://post.example.dk/")
	if err != nil || jc.DefaultLanguage != "da" {
		t.Errorf("jobs' default language %q, %v", jc.DefaultLanguage, err)
	}
	ui, err := a.webUI()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	ui.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "https://post.example.dk/login", nil))
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, `<html lang="da"`) {
		t.Errorf("the login page without Accept-Language: %d, %.200s", rec.Code, body)
	}
	for _, bad := range []string{"sv", "english", "DA-dk"} {
		if _, err := parseConfig([]byte("[residents]\nlanguage = \"" + bad + "\"\n")); err == nil || !strings.Contains(err.Error(), "residents.language") {
			t.Errorf("language %q: %v, want an error naming residents.language", bad, err)
		}
	}
}

// TestDatabaseURLPassword: a password in store.database_url is refused
// however the URL is written, as the PostgreSQL driver would read it (a
// '?' or '#' in the password makes net/url see another host), and so are
// password and sslpassword parameters. Found by review.
func TestDatabaseURLPassword(t *testing.T) {
	for _, u := range []string{
		"postgres://postkasse:secret@db.internal:5432/pk",
		"postgres://postkasse:2024?Winter@db.internal:5432/pk",
		"postgres://postkasse:2024#Winter@db.internal:5432/pk",
		"postgresql://postkasse@db.internal/pk?password=secret",
		"postgres://postkasse@db.internal:5432/pk?sslmode=verify-full&sslkey=/k.pem&sslpassword=S3cret",
	} {
		sc := StoreConfig{Engine: "cluster", DatabaseURL: u, BlobsEndpoint: "https://s3.internal", BlobsBucket: "postkasse"}
		if err := sc.check(); err == nil || !strings.Contains(err.Error(), "password") {
			t.Errorf("%s: %v, want refused for its password", u, err)
		}
	}
	ok := StoreConfig{Engine: "cluster", DatabaseURL: "postgres://postkasse@db.internal:5432/pk?sslmode=verify-full", BlobsEndpoint: "https://s3.internal", BlobsBucket: "postkasse"}
	if err := ok.check(); err != nil {
		t.Errorf("a URL without a password: %v", err)
	}
}

// TestLogOneLinePerRecord: an ERROR record of the server's log, in text
// and in JSON, is one line with no stack trace.
func TestLogOneLinePerRecord(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, _, err := newLoggers(LogConfig{Level: "info", Format: format}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		log.Error("close the database", "err", errors.New("disk on fire\nsecond line"))
		out := buf.String()
		if strings.Count(out, "\n") != 1 || strings.Contains(out, "goroutine") || strings.Contains(out, ".go:") {
			t.Errorf("%s: an ERROR record is not one line without a stack trace:\n%s", format, out)
		}
	}
}

// TestScheduledBackup: with backup.folder set, the appliance's backup job
// writes the same archive as `postkasse backup`, which restores into a new
// folder that passes check; on the cluster engine the key is refused.
func TestScheduledBackup(t *testing.T) {
	dir := initFolder(t)
	cli(t, "resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen")
	setConfigKeys(t, dir, map[string]string{"folder": "../backups"})
	t.Setenv("POSTKASSE_BACKUP_KEEP", "2")
	runJob(t, dir, jobs.JobBackup, nil)
	copies, err := filepath.Glob(filepath.Join(filepath.Dir(dir), "backups", "postkasse-post.example.dk-*.tar"))
	if err != nil || len(copies) != 1 {
		t.Fatalf("copies: %v %v", copies, err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	cli(t, "restore", "--from", copies[0], "--data", restored)
	if out := cli(t, "check", "--data", restored); !strings.Contains(out, "invariants: ok") {
		t.Errorf("check of the restored copy:\n%s", out)
	}
	if out := cli(t, "resident", "list", "--data", restored); !strings.Contains(out, "Anna Jensen") {
		t.Errorf("the restored copy lacks the resident:\n%s", out)
	}
	if _, err := parseConfig([]byte("[store]\nengine = \"cluster\"\ndatabase_url = \"postgres://pk@db/pk\"\nblobs_endpoint = \"https://s3\"\nblobs_bucket = \"pk\"\n[backup]\nfolder = \"/backup\"\n")); err == nil || !strings.Contains(err.Error(), "backup.folder") {
		t.Errorf("backup.folder on the cluster engine: %v", err)
	}
}
