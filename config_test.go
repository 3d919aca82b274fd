package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// tomlKeys returns the dotted TOML keys of every leaf field of Config.
func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		name := f.Tag.Get("toml")
		if prefix != "" {
			name = prefix + "." + name
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			keys = append(keys, tomlKeys(f.Type, name)...)
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

func TestConfigDefaultsEmptyFile(t *testing.T) {
	c, err := parseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultConfig(); !reflect.DeepEqual(*c, want) {
		t.Fatalf("empty file gives %+v, want the defaults %+v", *c, want)
	}
	if c.Listen.HTTP != ":80" || c.Listen.HTTPS != ":443" || c.ACME.CA != letsEncrypt || !c.ACME.HTTPChallenge || !c.ACME.TLSALPNChallenge {
		t.Fatalf("unexpected defaults %+v", *c)
	}
}

// TestConfigWrittenFileDocumentsEveryKey writes the file init writes,
// parses it back, and checks that it gives the same configuration and that
// every key of Config is in it, each under a comment.
func TestConfigWrittenFileDocumentsEveryKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() Config
	}{
		{"defaults", func() Config { c := defaultConfig(); c.Domain = "post.eksempelby.dk"; return c }},
		{"changed", func() Config {
			c := defaultConfig()
			c.Domain = "post.eksempelby.dk"
			c.ACME.Email = "it@eksempelby.dk"
			c.ACME.CA = "https://ca.internal:9000/acme/directory"
			c.ACME.TrustedRoot = "acme-root.pem"
			c.ACME.TLSALPNChallenge = false
			c.Listen.HTTP = "127.0.0.1:8080"
			c.Sessions.Idle = 90 * time.Minute
			c.Log.Format = "json"
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.cfg()
			data := marshalConfig(&want)
			got, err := parseConfig(data)
			if err != nil {
				t.Fatalf("parse the written file: %v\n%s", err, data)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("written and parsed back: %+v, want %+v", *got, want)
			}
			var raw map[string]any
			md, err := toml.Decode(string(data), &raw)
			if err != nil {
				t.Fatal(err)
			}
			inFile := map[string]bool{}
			for _, k := range md.Keys() {
				inFile[k.String()] = true
			}
			lines := strings.Split(string(data), "\n")
			for _, key := range tomlKeys(reflect.TypeFor[Config](), "") {
				if !inFile[key] {
					t.Errorf("key %s is not in the written file", key)
					continue
				}
				leaf := key[strings.LastIndex(key, ".")+1:]
				for i, line := range lines {
					if strings.HasPrefix(line, leaf+" = ") && (i == 0 || !strings.HasPrefix(lines[i-1], "# ")) {
						t.Errorf("key %s has no comment above it", key)
					}
				}
			}
			if tc.name == "changed" && !strings.Contains(string(data), "# Default: true\ntls_alpn_challenge = false") {
				t.Errorf("a changed key does not name its default:\n%s", data)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"domain = \"post.example.dk\"\n[listen]\nhttp = \":80\"\nhttps = \":443\n", "line 4:"},
		{"domain = \"post.example.dk\"\n\n[listen]\nhttp = 80\n", "line 4"},
		{"[sessions]\nidle = \"soon\"\n", "line 2"},
		{"[sessions]\nidle = \"1m\"\n", "sessions.idle, sessions.lifetime: sessions: the idle time 1m0s is under 5m0s"},
		{"[sessions]\nidle = \"2h\"\nlifetime = \"1h\"\n", "the lifetime 1h0m0s is shorter than the idle time 2h0m0s"},
		{"[sessions]\nlifetime = \"800h\"\n", "the lifetime 800h0m0s is over 744h0m0s"},
		{"[sessions]\nidle = \"-1s\"\n", "the idle time -1s is under"},
		{"[listen]\nhtp = \":80\"\n", `unknown key "listen.htp"`},
		{"domain = \"Post.Example.dk\"\n", "domain: \"Post.Example.dk\": only lowercase"},
		{"domain = \"10.0.0.1\"\n", "is an IP address"},
		{"[listen]\nhttps = \"443\"\n", `listen.https "443": want host:port`},
		{"[acme]\nca = \"http://ca.example/directory\"\n", "acme.ca"},
		{"[acme]\nemail = \"not an address\"\n", "acme.email"},
		{"[acme]\nhttp_challenge = false\ntls_alpn_challenge = false\n", "at least one is needed"},
		{"[senders]\ncertificate_days = 0\n", "senders.certificate_days: between 1 and 3650"},
		{"[residents]\nactivation_days = 366\n", "residents.activation_days: between 1 and 365"},
		{"[log]\nlevel = \"loud\"\n", "log.level"},
		{"[server]\nshutdown_timeout = \"-1s\"\n", "server.shutdown_timeout: must be positive"},
		{"[login]\npassword_check_wait = \"500ms\"\n", "login.password_check_wait: between 1s and 45s"},
		{"[login]\npassword_check_wait = \"1m\"\n", "login.password_check_wait: between 1s and 45s"},
		{"[server]\nnode = \"node a\"\n", `server.node "node a"`},
		{"[server]\nconnections_per_address = -1\n", "server.connections_per_address: between 0 and 100000"},
		{"[server]\nbytes_in_flight_mib = 16\n", "server.bytes_in_flight_mib: between 32 and 65536"},
		{"[server]\nbytes_in_flight_mib = 70000\n", "server.bytes_in_flight_mib: between 32 and 65536"},
		{"[tls]\ncertificate_file = \"node.crt\"\n", "give both certificate_file and key_file"},
		{"[tls]\nkey_file = \"node.key\"\n", "give both certificate_file and key_file"},
		{"[oidc]\nissuer = \"http://idp.example\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\nnational_id_claim = \"cpr\"\n", "want an https:// URL"},
		{"[oidc]\nissuer = \"https://idp.example?x=1\"\n", "oidc.issuer"},
		{"[oidc]\nissuer = \"https://idp.example\"\nclient_secret_file = \"s\"\nnational_id_claim = \"cpr\"\n", "oidc.client_id: empty"},
		{"[oidc]\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nnational_id_claim = \"cpr\"\n", "oidc.client_secret_file: empty"},
		{"[oidc]\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\n", "oidc.national_id_claim: empty"},
		{"[oidc]\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\nnational_id_claim = \"cpr\"\nname = \"\"\n", "oidc.name"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseConfig(%q) = %v, want an error containing %q", tt.file, err, tt.want)
		}
	}
}

// TestConfigOIDC: a whole [oidc] section gives the relying party's
// configuration with the secret from its file; a secret file that is
// missing or not one line is an error.
func TestConfigOIDC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := "[oidc]\nissuer = \"https://idp.example\"\nclient_id = \"postkasse\"\nclient_secret_file = \"oidc-secret\"\nnational_id_claim = \"dk:cpr\"\nname = \"MitID\"\n"
	c, err := parseConfig([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.resolve(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.eidConfig(); err == nil {
		t.Error("no secret file, no error")
	}
	if err := os.WriteFile(filepath.Join(dir, "oidc-secret"), []byte("two\nlines\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.eidConfig(); err == nil {
		t.Error("a secret of two lines accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, "oidc-secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, ok, err := r.eidConfig()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if cfg.Issuer != "https://idp.example" || cfg.ClientID != "postkasse" || cfg.ClientSecret != "s3cret" || cfg.Claim != "dk:cpr" ||
		cfg.Name != "MitID" || strings.Join(cfg.Scopes, " ") != "openid profile" {
		t.Errorf("eID config = %+v", cfg)
	}
	// Off by default.
	c, _ = parseConfig(nil)
	r, _ = c.resolve(dir)
	if _, ok, err := r.eidConfig(); ok || err != nil {
		t.Errorf("the default configuration signs in with eID: %v %v", ok, err)
	}
	// A provider on this machine may use http.
	if _, err := parseConfig([]byte(strings.Replace(file, "https://idp.example", "http://127.0.0.1:8080", 1))); err != nil {
		t.Errorf("loopback http issuer: %v", err)
	}
}

func TestLoadConfigDataFolderErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.Mkdir(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, configFileName), []byte("domain = \"a.example\"\n\n[log\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, want string
	}{
		{filepath.Join(dir, "missing"), "does not exist"},
		{file, "is not a folder"},
		{dir, "has no postkasse.toml"},
		{bad, filepath.Join(bad, configFileName) + ": line 3:"},
	}
	for _, tt := range tests {
		_, err := loadConfig(tt.dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("loadConfig(%s) = %v, want an error containing %q", tt.dir, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30s", 15 * time.Minute: "15m", 12 * time.Hour: "12h",
		90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(want); err != nil || back != d {
			t.Errorf("%q does not parse back to %v", want, d)
		}
	}
}

// TestConfigEnvironment: every key of the file can be set by its
// POSTKASSE_ variable, parsed as in the file, over what the file says;
// a value that does not parse is refused naming the variable.
func TestConfigEnvironment(t *testing.T) {
	def := defaultConfig()
	for _, k := range configKeys() {
		c := defaultConfig()
		value := fmt.Sprint(k.value(&def))
		err := c.applyEnv(func(name string) (string, bool) { return value, name == envName(k.section, k.name) })
		if err != nil {
			t.Errorf("%s=%q: %v", envName(k.section, k.name), value, err)
		}
	}
	env := map[string]string{
		"POSTKASSE_DOMAIN":                 "post.eksempelby.dk",
		"POSTKASSE_LOGIN_WINDOW":           "5m",
		"POSTKASSE_LOGIN_ACCOUNT_FAILURES": "3",
		"POSTKASSE_ACME_HTTP_CHALLENGE":    "false",
		"POSTKASSE_STORE_DATABASE_URL":     "postgres://postkasse@db.internal/postkasse",
		"POSTKASSE_SMTP_PASSWORD":          "from the service's environment",
	}
	c := defaultConfig()
	if err := c.applyEnv(func(name string) (string, bool) { v, ok := env[name]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Domain != "post.eksempelby.dk" || c.Login.Window != 5*time.Minute || c.Login.AccountFailures != 3 || c.ACME.HTTPChallenge ||
		c.Store.DatabaseURL != env["POSTKASSE_STORE_DATABASE_URL"] || c.SMTP.Password != env["POSTKASSE_SMTP_PASSWORD"] {
		t.Errorf("after the environment: %+v", c)
	}
	for name, value := range map[string]string{
		"POSTKASSE_LOGIN_WINDOW":           "soon",
		"POSTKASSE_LOGIN_ACCOUNT_FAILURES": "many",
		"POSTKASSE_ACME_HTTP_CHALLENGE":    "maybe",
	} {
		c := defaultConfig()
		err := c.applyEnv(func(n string) (string, bool) { return value, n == name })
		if err == nil || !strings.Contains(err.Error(), name+"=") {
			t.Errorf("%s=%q: %v, want an error naming the variable", name, value, err)
		}
	}
	// Through loadResolved, a value the rules refuse says where it came
	// from.
	dir := initFolder(t)
	t.Setenv("POSTKASSE_LOGIN_WINDOW", "-1m")
	if _, err := loadResolved(dir); err == nil || !strings.Contains(err.Error(), "POSTKASSE_") || !strings.Contains(err.Error(), "login.window") {
		t.Errorf("loadResolved with POSTKASSE_LOGIN_WINDOW=-1m: %v", err)
	}
}
