package uitest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/postkasse/postkasse/store"
)

// GuideSection returns the text of the section title (a "## " heading) of
// docs/SENDERS.md, found from a package two folders below the module's
// root (httpui/api), and fails the test without it.
func (e *Env) GuideSection(title string) string {
	e.T.Helper()
	guide, err := os.ReadFile("../../docs/SENDERS.md")
	if err != nil {
		e.T.Fatal(err)
	}
	_, section, ok := strings.Cut(string(guide), "\n## "+title+"\n")
	if !ok {
		e.T.Fatalf("docs/SENDERS.md has no section %q", title)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// SenderShell runs the shell commands of docs/SENDERS.md as a sender pastes
// them: in a folder of its own holding files, the CA's certificate
// (ca.crt) and a fresh client certificate bound to s (sender.crt,
// sender.key), with the guide's variables API and TLS set for this
// appliance. Each call of the function it returns runs command there
// and returns what it wrote to its standard output and error; a command
// that fails fails the test. curl must be installed.
func (e *Env) SenderShell(s *Sender, files map[string][]byte) func(command string) (stdout, stderr []byte) {
	e.T.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		e.T.Fatalf("curl is needed for this test (apt-get install curl): %v", err)
	}
	certPEM, keyPEM, cert := e.IssueClient(e.CA, s.Name, s.OrgNumber, time.Hour)
	if err := e.Store.BindCertificate(context.Background(), s.ID, cert); err != nil {
		e.T.Fatal(err)
	}
	caPEM, _, err := e.CA.PEM()
	if err != nil {
		e.T.Fatal(err)
	}
	dir := e.T.TempDir()
	all := map[string][]byte{"ca.crt": caPEM, "sender.crt": certPEM, "sender.key": keyPEM}
	for name, b := range files {
		all[name] = b
	}
	for name, b := range all {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			e.T.Fatal(err)
		}
	}
	return func(command string) ([]byte, []byte) {
		e.T.Helper()
		cmd := exec.Command("sh", "-c", "API="+e.HTTPSURL+"/api/v1\nTLS=\"--cacert ca.crt --cert sender.crt --key sender.key\"\n"+command)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			e.T.Fatalf("the guide's command: %v\n%s\n%s\n%s", err, command, out, stderr.String())
		}
		return out, stderr.Bytes()
	}
}

// ResidentLetter returns the letter id as the resident nid reads it in
// the mailbox (opening it, as the resident does).
func (e *Env) ResidentLetter(nid, id string) store.Letter {
	e.T.Helper()
	ctx := context.Background()
	sess, err := e.Store.Login(ctx, nid, Password)
	if err != nil {
		e.T.Fatal(err)
	}
	mb, err := e.Store.OpenSession(ctx, sess.Token)
	if err != nil {
		e.T.Fatal(err)
	}
	defer mb.Close()
	l, err := mb.Letter(ctx, id)
	if err != nil {
		e.T.Fatalf("the resident opens %s: %v", id, err)
	}
	return l
}
