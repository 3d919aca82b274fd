package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run the real program: a test binary started with
// POSTKASSE_TEST_MAIN=1 is postkasse itself, with the arguments it was
// given. The tests start it as a child process they can kill.
func TestMain(m *testing.M) {
	if os.Getenv("POSTKASSE_TEST_MAIN") == "1" {
		// The planted fault of TestPowerCutCatchesMissingFsync.
		ackBeforeSync = os.Getenv("POSTKASSE_TEST_ACK_BEFORE_SYNC") == "1"
		main()
		os.Exit(0)
	}
	code := m.Run()
	// PostgreSQL and the S3 server, when a test started them.
	for _, close := range []func() error{pg.Close, s3.Close} {
		if err := close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// demoProcess is a running `postkasse demo` child process.
type demoProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	demo   demoFile
	output bytes.Buffer // what it printed before it was ready
	exited chan error
}

// startDemo starts `postkasse demo` on free loopback ports with data in
// dir and returns once it printed that it is running.
func startDemo(t *testing.T, dir string) *demoProcess {
	t.Helper()
	p, err := launchDemo(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchDemo is startDemo that returns the error of a demo that did not
// start; env is added to the child's environment.
func launchDemo(t *testing.T, dir string, env ...string) (*demoProcess, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "demo", "--data", dir, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "POSTKASSE_TEST_MAIN=1"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &demoProcess{t: t, cmd: cmd, dir: dir, exited: make(chan error, 1)}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled {
				p.output.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "Everything above is also in") {
					ready <- true
					signalled = true
				}
			}
		}
		if !signalled {
			ready <- false
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.exited
		}
	})
	if !<-ready {
		err := <-p.exited
		return nil, fmt.Errorf("demo did not start: %v\nstderr:\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &p.demo); err != nil {
		return nil, err
	}
	return p, nil
}

// kill ends the process with SIGKILL: no shutdown, no cleanup.
func (p *demoProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop ends the process with SIGTERM and checks it exits cleanly.
func (p *demoProcess) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		p.t.Fatalf("demo did not exit cleanly on SIGTERM: %v", err)
	}
}

// senderClient returns an HTTPS client that presents the i-th demo
// sender's certificate and trusts the demo CA.
func (p *demoProcess) senderClient(i int) *http.Client {
	p.t.Helper()
	s := p.demo.Senders[i]
	cert, err := tls.LoadX509KeyPair(s.Cert, s.Key)
	if err != nil {
		p.t.Fatal(err)
	}
	caPEM, err := os.ReadFile(p.demo.CACert)
	if err != nil {
		p.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots},
			DisableKeepAlives: true,
		},
	}
}

// deliveryRequest builds the multipart body of a delivery with one PDF.
func deliveryRequest(nationalID, subject, ref string, pdf []byte) (body []byte, contentType string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	msg, _ := json.Marshal(map[string]any{
		"recipient":       map[string]string{"nationalId": nationalID},
		"subject":         subject,
		"senderReference": ref,
		"type":            "letter",
	})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	w, _ := mw.CreatePart(h)
	w.Write(msg)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="document"; filename="%s.pdf"`, ref))
	h.Set("Content-Type", "application/pdf")
	w, _ = mw.CreatePart(h)
	w.Write(pdf)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

type deliveryResponse struct {
	ID          string    `json:"id"`
	Status      any       `json:"status"` // a string in a letter, a number in a problem
	DeliveredAt time.Time `json:"deliveredAt"`
	Code        string    `json:"code"`
}

// deliver posts a delivery and returns the HTTP status and decoded answer.
// When the server answers 429 it waits as Retry-After says and sends the
// same request again, as a well-behaved sender does.
func deliver(c *http.Client, api, nationalID, subject, ref string, pdf []byte) (int, deliveryResponse, error) {
	body, ct := deliveryRequest(nationalID, subject, ref, pdf)
	for {
		resp, err := c.Post(api+"/api/v1/messages", ct, bytes.NewReader(body))
		if err != nil {
			return 0, deliveryResponse{}, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return resp.StatusCode, deliveryResponse{}, err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || wait < 1 {
				return resp.StatusCode, deliveryResponse{}, fmt.Errorf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
			}
			time.Sleep(time.Duration(wait) * time.Second)
			continue
		}
		var out deliveryResponse
		if err := json.Unmarshal(data, &out); err != nil {
			return resp.StatusCode, out, fmt.Errorf("decode %q: %w", data, err)
		}
		return resp.StatusCode, out, nil
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"version"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "postkasse ") {
		t.Fatalf("version printed %q", out.String())
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "a command is needed"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"demo", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"demo", "stray"}, `unexpected argument "stray"`},
		{[]string{"demo", "--http", "8080"}, `--http "8080": want host:port`},
		{[]string{"version", "extra"}, `version: unexpected argument "extra"`},
		{[]string{"verify"}, "verify: one export archive (EXPORT.zip) is needed"},
		{[]string{"verify", "a.zip", "b.zip"}, "verify: one export archive (EXPORT.zip) is needed"},
		{[]string{"verify", "/nonexistent/export.zip"}, "no such file or directory"},
		{[]string{"verify", "main.go"}, "export archive: not a readable ZIP file"},
	}
	for _, tt := range tests {
		err := run(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestDemoCurl runs the demo, then the curl command it printed, exactly as
// printed, twice: a new letter (201), then the same reference again (200,
// the same id). SIGTERM then stops the demo cleanly.
func TestDemoCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed for this test (CI installs it): %v", err)
	}
	p := startDemo(t, t.TempDir())
	out := p.output.String()
	start := strings.Index(out, "curl ")
	end := strings.Index(out, "/api/v1/messages\n")
	if start < 0 || end < start {
		t.Fatalf("no curl command in the demo's output:\n%s", out)
	}
	command := out[start : end+len("/api/v1/messages")]
	var ids []string
	for i, wantStatus := range []string{"201", "200"} {
		cmd := exec.Command("sh", "-c", command+` -s -o /dev/stderr -w '%{http_code}'`)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		status, err := cmd.Output()
		if err != nil {
			t.Fatalf("run %d of the printed curl command: %v\n%s\n%s", i+1, err, command, stderr.String())
		}
		if string(status) != wantStatus {
			t.Fatalf("run %d: status %s, want %s; body %s", i+1, status, wantStatus, stderr.String())
		}
		var resp deliveryResponse
		if err := json.Unmarshal(stderr.Bytes(), &resp); err != nil || resp.ID == "" {
			t.Fatalf("run %d: answer %s: %v", i+1, stderr.String(), err)
		}
		ids = append(ids, resp.ID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("the repeated delivery got id %s, the first %s", ids[1], ids[0])
	}
	p.stop()
}

// TestDemoRefusesApplianceFolder: demo never seeds demo residents and
// senders into a folder that init made.
func TestDemoRefusesApplianceFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, configFileName), marshalConfig(&Config{}), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"demo", "--data", dir, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "appliance's data folder") {
		t.Fatalf("demo on an initialised folder: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, dbFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("demo touched the folder: %v", err)
	}
}
