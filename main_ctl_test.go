package main

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/control"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/embedded"
)

// initFolder makes a data folder with init and returns its path.
func initFolder(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := run([]string{"init", "--data", dir, "--domain", "post.example.dk"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	return dir
}

// setConfigKeys sets keys of the data folder's postkasse.toml, as written
// by init with every key listed, to the values given. A key the file does
// not have fails the test.
func setConfigKeys(t *testing.T, dir string, values map[string]string) {
	t.Helper()
	path := filepath.Join(dir, configFileName)
	conf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, value := range values {
		line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = .*$`)
		if !line.Match(conf) {
			t.Fatalf("%s has no key %s", path, key)
		}
		conf = line.ReplaceAll(conf, []byte(key+" = "+strconv.Quote(value)))
	}
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOperatorCommandsDirect runs the operator's commands with no server:
// they open the data folder themselves.
func TestOperatorCommandsDirect(t *testing.T) {
	dir := initFolder(t)
	out := filepath.Join(t.TempDir(), "senders", "new") // --out makes the folder
	printed := cli(t, "sender", "add", "--data", dir, "--name", "Eksempelby Kommune", "--org", "29189846", "--kind", "public", "--out", out)
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("--out folder made: %v %v, want mode 0700", fi, err)
	}
	for _, want := range []string{"registered", "eksempelby-kommune.crt", "curl --cert eksempelby-kommune.crt --key eksempelby-kommune.key", "https://post.example.dk/api/v1/messages"} {
		if !strings.Contains(printed, want) {
			t.Errorf("sender add printed no %q:\n%s", want, printed)
		}
	}
	keyInfo, err := os.Stat(filepath.Join(out, "eksempelby-kommune.key"))
	if err != nil {
		t.Fatal(err)
	}
	if keyInfo.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", keyInfo.Mode().Perm())
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(out, "eksempelby-kommune.crt"), filepath.Join(out, "eksempelby-kommune.key"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Leaf.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("the sender certificate is not from the folder's CA: %v", err)
	}

	// A second sender whose files would overwrite the first one's is
	// refused before it is registered.
	var buf bytes.Buffer
	err = run([]string{"sender", "add", "--data", dir, "--name", "Eksempelby  kommune", "--org", "87654303", "--kind", "private", "--out", out}, &buf)
	if err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("sender add over existing files: %v", err)
	}

	// Another certificate for the same sender, next to the first.
	printed = cli(t, "sender", "renew", "--data", dir, "--org", "29189846", "--out", out)
	renewed := "eksempelby-kommune-" + time.Now().Format("20060102")
	if !strings.Contains(printed, renewed+".crt") {
		t.Fatalf("sender renew printed:\n%s", printed)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(out, renewed+".crt"), filepath.Join(out, renewed+".key")); err != nil {
		t.Fatal(err)
	}

	var senders []control.SenderInfo
	if err := json.Unmarshal([]byte(cli(t, "sender", "list", "--data", dir, "--json")), &senders); err != nil {
		t.Fatal(err)
	}
	if len(senders) != 1 || senders[0].OrgNumber != "29189846" || senders[0].Revoked || len(senders[0].Certificates) != 2 {
		t.Fatalf("senders %+v", senders)
	}
	fp := senders[0].Certificates[0].Fingerprint
	if printed := cli(t, "sender", "revoke", "--data", dir, "--cert", fp); !strings.Contains(printed, "Certificate "+fp) {
		t.Fatalf("sender revoke --cert printed:\n%s", printed)
	}
	if printed := cli(t, "sender", "list", "--data", dir); !strings.Contains(printed, "revoked") || !strings.Contains(printed, "active") {
		t.Fatalf("sender list after revoking the certificate:\n%s", printed)
	}
	cli(t, "sender", "revoke", "--data", dir, "--org", "29189846")
	if printed := cli(t, "sender", "list", "--data", dir); strings.Contains(printed, "active") {
		t.Fatalf("sender list after revoking the sender:\n%s", printed)
	}

	// Residents: enrolment prints an activation code and where to use
	// it, never a password or a recovery key; the mailbox is pending
	// until the resident activates it.
	printed = cli(t, "resident", "add", "--data", dir, "--national-id", "120386-1234", "--name", "Anna Jensen")
	for _, want := range []string{"Resident Anna Jensen (1203861234) enrolled", "activate at      https://post.example.dk/activate\n", "valid until"} {
		if !strings.Contains(printed, want) {
			t.Errorf("resident add printed no %q:\n%s", want, printed)
		}
	}
	for _, secret := range []string{"password  ", "recovery key  "} {
		if strings.Contains(printed, secret) {
			t.Errorf("resident add printed a %q:\n%s", strings.TrimSpace(secret), printed)
		}
	}
	annaCode := activationCode(t, printed)
	olaCode := activationCode(t, cli(t, "resident", "add", "--data", dir, "--national-id", "15058910063", "--name", "Ola Nordmann"))
	printed = cli(t, "resident", "list", "--data", dir)
	for _, want := range []string{"1203861234", "Anna Jensen", "15058910063", "Ola Nordmann", "never", "pending"} {
		if !strings.Contains(printed, want) {
			t.Errorf("resident list lacks %q:\n%s", want, printed)
		}
	}
	// Again while pending: a new code; the first one stops working.
	staleCode := olaCode
	olaCode = activationCode(t, cli(t, "resident", "add", "--data", dir, "--national-id", "15058910063", "--name", "Ola Nordmann"))
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Activate(context.Background(), "15058910063", staleCode, "ola's own password"); !errors.Is(err, store.ErrBadActivation) {
		t.Errorf("activation with the replaced code: %v, want ErrBadActivation", err)
	}
	for _, r := range []struct{ nid, code, password string }{
		{"1203861234", annaCode, "the resident's own password"},
		{"15058910063", olaCode, "ola's own password"},
	} {
		if _, err := st.Activate(context.Background(), r.nid, r.code, r.password); err != nil {
			t.Errorf("%s cannot activate with the printed code: %v", r.nid, err)
		}
		if _, err := st.Login(context.Background(), r.nid, r.password); err != nil {
			t.Errorf("%s cannot log in after activating: %v", r.nid, err)
		}
	}
	st.Close()
	// A reset code for a resident who lost both password and recovery
	// key: printed with where to use it, and it resets the mailbox; a
	// pending mailbox is told to use activation.
	printed = cli(t, "resident", "reset-code", "--data", dir, "--national-id", "120386-1234")
	for _, want := range []string{"Reset code for Anna Jensen (1203861234)", "reset at         https://post.example.dk/reset\n", "valid until", "Every letter in the mailbox is deleted"} {
		if !strings.Contains(printed, want) {
			t.Errorf("resident reset-code printed no %q:\n%s", want, printed)
		}
	}
	m := regexp.MustCompile(`(?m)^  reset code       ((?:[A-Z2-7]{4}-){7}[A-Z2-7]{4})$`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("resident reset-code printed no code:\n%s", printed)
	}
	cli(t, "resident", "add", "--data", dir, "--national-id", "0101901234", "--name", "Per Pending")
	var buf3 bytes.Buffer
	if err := run([]string{"resident", "reset-code", "--data", dir, "--national-id", "0101901234"}, &buf3); err == nil || !strings.Contains(err.Error(), "postkasse resident add") {
		t.Errorf("resident reset-code of a pending mailbox: %v", err)
	}
	if st, err = store.Open(filepath.Join(dir, dbFileName), store.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResetWithCode(context.Background(), "1203861234", m[1], "a brand new passphrase"); err != nil {
		t.Errorf("reset with the printed code: %v", err)
	}
	st.Close()
	// An active resident cannot be enrolled again.
	var buf2 bytes.Buffer
	if err := run([]string{"resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen"}, &buf2); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("resident add of an active resident: %v", err)
	}
}

// TestOperatorCommandsViaSocket runs a server in this process (store,
// sender API over HTTPS with a certificate from the sender CA, control
// socket) and drives it with the command line: the commands go through
// the socket, since the server holds the database, and a certificate
// revoked there is refused on the very next request of a kept-alive
// connection.
func TestOperatorCommandsViaSocket(t *testing.T) {
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
	st, ca := a.store, a.ca
	ui, err := httpui.New(httpui.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer(cryptorand.Reader, []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := httpui.TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &serverCert, nil }, ca.Pool())
	httpsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctlLn, err := control.Listen(filepath.Join(dir, socketFileName))
	if err != nil {
		t.Fatal(err)
	}
	op := &control.Operator{Store: st, CA: ca, CertificateValidity: 24 * time.Hour}
	httpsSrv := &http.Server{Handler: ui.Handler()}
	ctlSrv := &http.Server{Handler: control.Handler(op, nil)}
	go httpsSrv.Serve(tls.NewListener(httpsLn, tlsCfg))
	go ctlSrv.Serve(ctlLn)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		httpsSrv.Shutdown(ctx)
		ctlSrv.Shutdown(ctx)
	}()

	const nid = "1203861234"
	out := t.TempDir()
	code := activationCode(t, cli(t, "resident", "add", "--data", dir, "--national-id", nid, "--name", "Anna Jensen"))
	cli(t, "sender", "add", "--data", dir, "--name", "Eksempelby Kommune", "--org", "29189846", "--kind", "public", "--out", out)
	if printed := cli(t, "resident", "list", "--data", dir); !strings.Contains(printed, "Anna Jensen") {
		t.Fatalf("resident list via the socket:\n%s", printed)
	}
	// The resident activates the mailbox in the browser, at /activate of
	// the server that holds the database.
	browser := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	activate(t, browser, "https://"+httpsLn.Addr().String(), nid, code, "a long test password")
	cert, err := tls.LoadX509KeyPair(filepath.Join(out, "eksempelby-kommune.crt"), filepath.Join(out, "eksempelby-kommune.key"))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.Pool()},
	}}
	api := "https://" + httpsLn.Addr().String()
	status, _, err := deliver(c, api, nid, "Before", "sock-1", crashPDF("sock-1"))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("delivery: %d %v", status, err)
	}
	// An opt-out of digital post recorded in person, through the socket:
	// letters are refused as not digital until the opt-in.
	if printed := cli(t, "resident", "reserve", "--data", dir, "--national-id", nid); !strings.Contains(printed, "Reserved Anna Jensen") {
		t.Fatalf("resident reserve via the socket:\n%s", printed)
	}
	status, answer, err := deliver(c, api, nid, "Reserved", "sock-reserved", crashPDF("sock-reserved"))
	if err != nil || status != http.StatusUnprocessableEntity || answer.Code != "RECIPIENT_NOT_DIGITAL" {
		t.Fatalf("delivery to a reserved resident: %d %+v %v", status, answer, err)
	}
	cli(t, "resident", "unreserve", "--data", dir, "--national-id", nid)
	if status, _, err := deliver(c, api, nid, "Unreserved", "sock-unreserved", crashPDF("sock-unreserved")); err != nil || status != http.StatusCreated {
		t.Fatalf("delivery after unreserving: %d %v", status, err)
	}
	// The sender's own rate, set through the socket, applies from its
	// next request on and changes no other sender's: one request every
	// 50 seconds, one at once.
	cli(t, "sender", "add", "--data", dir, "--name", "Andeby Kommune", "--org", "55133018", "--kind", "public", "--out", out)
	if printed := cli(t, "sender", "rate", "--data", dir, "--org", "29189846", "--rate", "0.02", "--burst", "1"); !strings.Contains(printed, "0.02 requests a second through the API, 1 at once,") {
		t.Fatalf("sender rate printed:\n%s", printed)
	}
	listed := cli(t, "sender", "list", "--data", dir)
	for _, want := range []string{"0.02/s burst 1  ", "200/s burst 400 (default)"} {
		if !strings.Contains(listed, want) {
			t.Errorf("sender list does not show %q:\n%s", want, listed)
		}
	}
	if status, _, err := deliver(c, api, nid, "Slow", "sock-slow", crashPDF("sock-slow")); err != nil || status != http.StatusCreated {
		t.Fatalf("first delivery at its own rate: %d %v", status, err)
	}
	resp, err := c.Get(api + "/api/v1/receipt-key")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "50" {
		t.Fatalf("second request at its own rate: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if printed := cli(t, "sender", "rate", "--data", dir, "--org", "29189846", "--default"); !strings.Contains(printed, "200 requests a second through the API, 400 at once (the default)") {
		t.Fatalf("sender rate --default printed:\n%s", printed)
	}
	if status, _, err := deliver(c, api, nid, "Default again", "sock-default", crashPDF("sock-default")); err != nil || status != http.StatusCreated {
		t.Fatalf("delivery at the default rate again: %d %v", status, err)
	}
	cli(t, "sender", "revoke", "--data", dir, "--cert", store.CertificateFingerprint(cert.Leaf))
	status, answer, err = deliver(c, api, nid, "After", "sock-2", crashPDF("sock-2"))
	if err != nil || status != http.StatusUnauthorized || answer.Code != "UNAUTHENTICATED" {
		t.Fatalf("delivery with the revoked certificate: %d %+v %v", status, answer, err)
	}
}

// TestOperatorCommandErrors checks the one-line errors of the operator's
// commands for bad flags and bad data folders, and for a data folder that
// another process holds while no server answers on its socket.
func TestOperatorCommandErrors(t *testing.T) {
	dir := initFolder(t)
	base := t.TempDir()
	corrupt := filepath.Join(base, "corrupt")
	if err := os.Mkdir(corrupt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, configFileName), []byte("domain = \"post.example.dk\"\n\n[acme]\nemail = it@example.dk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noDB := filepath.Join(base, "nodb")
	if err := os.Mkdir(noDB, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noDB, configFileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateCA(filepath.Join(noDB, caDirName), "test"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sender"}, "add, list, renew, revoke, rate, reply-key, messages, callback or callbacks is needed"},
		{[]string{"sender", "rate", "--data", dir, "--rate", "10", "--burst", "20"}, "exactly one of --id and --org"},
		{[]string{"sender", "rate", "--data", dir, "--org", "29189846"}, "give --rate and --burst, or --default"},
		{[]string{"sender", "rate", "--data", dir, "--org", "29189846", "--rate", "10"}, "give both --rate and --burst"},
		{[]string{"sender", "rate", "--data", dir, "--org", "29189846", "--default", "--rate", "10"}, "give --rate and --burst, or --default"},
		{[]string{"sender", "rate", "--data", dir, "--org", "29189846", "--rate", "10", "--burst", "20"}, "not found"},
		{[]string{"sender", "renew", "--data", dir}, "exactly one of --id and --org"},
		{[]string{"sender", "messages", "--data", dir, "--on"}, "exactly one of --sender and --org"},
		{[]string{"sender", "reply-key", "--data", dir, "--sender", "a", "--org", "29189846"}, "exactly one of --sender and --org"},
		{[]string{"sender", "callback", "set", "--data", dir, "--url", "https://example.org/events"}, "exactly one of --id and --org"},
		{[]string{"sender", "callback", "set", "--data", dir, "--org", "29189846"}, "--url is needed"},
		{[]string{"sender", "callback", "remove", "--data", dir, "--id", "a", "--org", "29189846"}, "exactly one of --id and --org"},
		{[]string{"sender", "renew", "--data", dir, "--org", "99999999"}, "not found"},
		{[]string{"sender", "remove"}, `unknown subcommand "remove"`},
		{[]string{"sender", "add", "--data", dir, "--org", "29189846", "--kind", "public"}, "--name is required"},
		{[]string{"sender", "add", "--data", dir, "--name", "X", "--org", "29189846"}, "--kind is required"},
		{[]string{"sender", "add", "--data", dir, "--name", "X", "--org", "29189846", "--kind", "semi"}, `--kind "semi": want public or private`},
		{[]string{"sender", "add", "--data", dir, "--name", "X", "--org", "123", "--kind", "public"}, "an organisation number has 8 digits (Danish CVR number) or 9 (Norwegian organisasjonsnummer), not 3"},
		{[]string{"sender", "add", "--data", dir, "--name", "X", "--org", "29189847", "--kind", "public"}, "the check digit of the CVR number 29189847 does not match"},
		{[]string{"sender", "add", "--data", dir, "--name", "X", "--org", "974760674", "--kind", "public"}, "the check digit of the organisasjonsnummer 974760674 does not match"},
		{[]string{"sender", "add", "--data", dir, "--name", "X", "--org", "29189846", "--kind", "public", "--out", filepath.Join(dir, configFileName, "sub")}, "not a directory"},
		{[]string{"sender", "list", "--data", filepath.Join(base, "missing")}, "does not exist"},
		{[]string{"sender", "list", "--data", base}, "has no postkasse.toml"},
		{[]string{"sender", "list", "--data", corrupt}, "postkasse.toml: line 4"},
		{[]string{"sender", "list", "--data", noDB}, "was " + noDB + " made with `postkasse init`?"},
		{[]string{"sender", "list", "--data", dir, "--verbose"}, "flag provided but not defined: -verbose"},
		{[]string{"sender", "revoke", "--data", dir}, "exactly one of --id, --org and --cert"},
		{[]string{"sender", "revoke", "--data", dir, "--id", "a", "--org", "29189846"}, "exactly one of --id, --org and --cert"},
		{[]string{"sender", "revoke", "--data", dir, "--org", "29189846"}, "not found"},
		{[]string{"resident"}, "add, list, reset-code, died, block, unblock, reserve, unreserve or guardian is needed"},
		{[]string{"resident", "reset-code", "--data", dir}, "--national-id is required"},
		{[]string{"resident", "reset-code", "--data", dir, "--national-id", "3213861234"}, "invalid national identity number"},
		{[]string{"resident", "add", "--data", dir, "--name", "Anna"}, "--national-id is required"},
		{[]string{"resident", "add", "--data", dir, "--national-id", "1203861234"}, "--name is required"},
		{[]string{"resident", "add", "--data", dir, "--national-id", "3213861234", "--name", "Anna"}, "invalid national identity number"},
		{[]string{"resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna", "--password-stdin"}, "flag provided but not defined: -password-stdin"},
		{[]string{"resident", "list", "--data", dir, "stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		err := run(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q = %v, want an error containing %q", tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: the error is not one line: %q", tt.args, err)
		}
	}

	// The database held by another process, and no server on the socket:
	// a clear error, quickly.
	st, err := store.Open(filepath.Join(dir, dbFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	began := time.Now()
	err = run([]string{"sender", "list", "--data", dir}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no server answers on "+filepath.Join(dir, socketFileName)) || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("sender list on a held database: %v", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("the refusal took %v", d)
	}
}

// TestListingCommandsReadOnly: the listing commands open a folder's
// database read-only, so they run beside another reader (an auditor's
// check holding the file's shared lock), where a command that changes
// something waits for the lock and gives up.
func TestListingCommandsReadOnly(t *testing.T) {
	dir := initFolder(t)
	cli(t, "sender", "add", "--data", dir, "--name", "Eksempelby Kommune", "--org", "29189846", "--kind", "public", "--out", t.TempDir())
	reader, err := embedded.Open(filepath.Join(dir, dbFileName), embedded.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for _, args := range [][]string{
		{"sender", "list", "--data", dir},
		{"resident", "list", "--data", dir},
		{"terms", "list", "--data", dir},
		{"support", "list", "--data", dir},
		{"jobs", "status", "--data", dir},
	} {
		cli(t, args...)
	}
	if out := cli(t, "sender", "list", "--data", dir); !strings.Contains(out, "Eksempelby Kommune") {
		t.Errorf("sender list beside a reader:\n%s", out)
	}
	err = run([]string{"resident", "add", "--data", dir, "--national-id", "1203861234", "--name", "Anna Jensen"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("resident add beside a reader: %v, want the database in use", err)
	}
}

// TestRevokeMunicipalityWarns: revoking the sender jobs.municipality
// names says what that stops and what to do, before the next start
// refuses.
func TestRevokeMunicipalityWarns(t *testing.T) {
	dir := initFolder(t)
	setConfigKeys(t, dir, map[string]string{"municipality": "29189846"})
	cli(t, "sender", "add", "--data", dir, "--name", "Eksempelby Kommune", "--org", "29189846", "--kind", "public", "--out", t.TempDir())
	cli(t, "sender", "add", "--data", dir, "--name", "Forsyning Øst A/S", "--org", "12345674", "--kind", "private", "--out", t.TempDir())
	if out := cli(t, "sender", "revoke", "--data", dir, "--org", "12345674"); strings.Contains(out, "Warning") {
		t.Errorf("revoking another sender warns:\n%s", out)
	}
	if out := cli(t, "sender", "revoke", "--data", dir, "--org", "29189846"); !strings.Contains(out, "Warning: jobs.municipality names this sender") {
		t.Errorf("revoking the municipality's sender does not warn:\n%s", out)
	}
}
