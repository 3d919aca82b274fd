package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/store"
)

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	root := filepath.Join(t.TempDir(), "private-acme-root.pem")
	ca, err := loadOrCreateCA(t.TempDir(), "some private ACME CA")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _, err := ca.PEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root, rootPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run([]string{"init", "--data", dir, "--domain", "Post.Eksempelby.DK.", "--email", "it@eksempelby.dk",
		"--acme-ca", "https://acme.eksempelby.dk/directory", "--acme-root", root, "--https", "10.0.0.5:443"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"post.eksempelby.dk", "Next steps", "postkasse serve --data " + dir, "sender add", "resident add", "Back up"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("init's output lacks %q:\n%s", want, out.String())
		}
	}

	cfg, err := loadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.Domain = "post.eksempelby.dk"
	want.ACME.Email = "it@eksempelby.dk"
	want.ACME.CA = "https://acme.eksempelby.dk/directory"
	want.ACME.TrustedRoot = acmeRootFileName
	want.Listen.HTTPS = "10.0.0.5:443"
	if *cfg != want {
		t.Fatalf("written configuration %+v, want %+v", *cfg, want)
	}
	// The root is copied in, so the folder carries it when it moves.
	if got, err := os.ReadFile(cfg.trustedRootPath(dir)); err != nil || !bytes.Equal(got, rootPEM) {
		t.Fatalf("acme root in the folder: %v", err)
	}

	modes := map[string]os.FileMode{
		"":                                 0o700 | os.ModeDir,
		configFileName:                     0o600,
		dbFileName:                         0o600,
		caDirName:                          0o700 | os.ModeDir,
		filepath.Join(caDirName, "ca.key"): 0o600,
		filepath.Join(caDirName, "ca.crt"): 0o644,
		certsDirName:                       0o700 | os.ModeDir,
	}
	for name, mode := range modes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode(), mode)
		}
	}
	if _, err := loadCA(dir); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// A second init changes nothing.
	before, err := os.ReadFile(filepath.Join(dir, configFileName))
	if err != nil {
		t.Fatal(err)
	}
	err = run([]string{"init", "--data", dir, "--domain", "other.example.dk"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "initialised already") {
		t.Fatalf("second init: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, configFileName))
	if !bytes.Equal(before, after) {
		t.Fatal("a refused init changed postkasse.toml")
	}
}

func TestInitErrors(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join(dir, "demo")
	if err := os.Mkdir(demo, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(demoFilePath(demo), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "root.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"init", "--domain", "post.example.dk"}, "--data is required"},
		{[]string{"init", "--data", fresh}, "--domain is required"},
		{[]string{"init", "--data", fresh, "--domain", "post_example.dk"}, "only lowercase letters, digits, hyphens and dots"},
		{[]string{"init", "--data", fresh, "--domain", "192.0.2.1"}, "is an IP address"},
		{[]string{"init", "--data", fresh, "--domain", "post.example.dk", "--email", "it at example"}, "acme.email"},
		{[]string{"init", "--data", fresh, "--domain", "post.example.dk", "--acme-ca", "acme.example"}, "want an https:// URL"},
		{[]string{"init", "--data", fresh, "--domain", "post.example.dk", "--acme-root", filepath.Join(dir, "missing.pem")}, "--acme-root"},
		{[]string{"init", "--data", fresh, "--domain", "post.example.dk", "--acme-root", notPEM}, "no PEM certificate"},
		{[]string{"init", "--data", fresh, "--domain", "post.example.dk", "--http", "80"}, `listen.http "80": want host:port`},
		{[]string{"init", "--data", demo, "--domain", "post.example.dk"}, "is a demo data folder"},
		{[]string{"init", "--data", fresh, "--domain", "post.example.dk", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		err := run(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("a refused init created the data folder")
	}
}

// TestOperatorsDocListsEveryKey checks that docs/OPERATORS.md's
// configuration reference has a row for every key init writes.
func TestOperatorsDocListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "OPERATORS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys() {
		name := k.name
		if k.section != "" {
			name = k.section + "." + k.name
		}
		if !strings.Contains(string(doc), "| `"+name+"` |") {
			t.Errorf("docs/OPERATORS.md has no row for %s", name)
		}
	}
}

// TestSystemdUnit checks deploy/postkasse.service against the code and the
// hardening that docs/OPERATORS.md promises.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("deploy", "postkasse.service"))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string][]string{}
	for line := range strings.SplitSeq(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = append(settings[k], v)
		}
	}
	want := map[string]string{
		"ExecStart":               "/usr/local/bin/postkasse serve --data " + defaultDataDir,
		"User":                    "postkasse",
		"StateDirectory":          strings.TrimPrefix(defaultDataDir, "/var/lib/"),
		"StateDirectoryMode":      "0700",
		"LimitCORE":               "0",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"KillSignal":              "SIGTERM",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
	}
	for k, v := range want {
		if got := settings[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	stop, err := time.ParseDuration(strings.Join(settings["TimeoutStopSec"], ""))
	if err != nil || stop <= defaultConfig().Server.ShutdownTimeout {
		t.Errorf("TimeoutStopSec=%v must exceed server.shutdown_timeout %v", settings["TimeoutStopSec"], defaultConfig().Server.ShutdownTimeout)
	}
}
