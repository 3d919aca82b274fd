package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSendersScheduledCurl runs the curl commands of docs/SENDERS.md's
// "Scheduled letters" against the demo, as a sender would paste them with
// the page's variables set: the scheduled delivery answers 201 scheduled
// at its notBefore without a receipt, and the withdrawal of it 204. Only
// the page's own placeholders are replaced (the variables, the recipient,
// the file, the letter's id, and the notBefore, which is put a day ahead
// of now so that the page's date never falls in the past); a command the
// page no longer documents fails the test.
func TestSendersScheduledCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed for this test (CI installs it): %v", err)
	}
	doc, err := os.ReadFile(filepath.Join("docs", "SENDERS.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Scheduled letters\n")
	if !ok {
		t.Fatal("docs/SENDERS.md has no section Scheduled letters")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := shBlocks(section)
	if len(blocks) != 2 {
		t.Fatalf("%d sh blocks in Scheduled letters, want the delivery and the withdrawal", len(blocks))
	}
	const pageTime, pageID = "2027-01-04T08:00:00+01:00", "9b1e…"
	if !strings.Contains(blocks[0], pageTime) || !strings.Contains(blocks[1], pageID) {
		t.Fatalf("the page's examples changed; update this test:\n%s\n%s", blocks[0], blocks[1])
	}

	p := startDemo(t, t.TempDir())
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "property-tax.pdf"), []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notBefore := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	vars := strings.NewReplacer(
		"$TLS", "--cacert "+p.demo.CACert+" --cert "+p.demo.Senders[0].Cert+" --key "+p.demo.Senders[0].Key,
		"$API", p.demo.API+"/api/v1",
		"1203861234", p.demo.Residents[0].NationalID,
		pageTime, notBefore.Format(time.RFC3339),
	)
	curl := func(block, wantStatus string) []byte {
		t.Helper()
		cmd := exec.Command("sh", "-c", vars.Replace(block)+` -s -o /dev/stderr -w '%{http_code}'`)
		cmd.Dir = work
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		status, err := cmd.Output()
		if err != nil {
			t.Fatalf("the page's curl command: %v\n%s\n%s", err, block, stderr.String())
		}
		if string(status) != wantStatus {
			t.Fatalf("status %s, want %s; body %s\n%s", status, wantStatus, stderr.String(), block)
		}
		return stderr.Bytes()
	}
	body := curl(blocks[0], "201")
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	if answer["status"] != "scheduled" || answer["deliveredAt"] != notBefore.Format(time.RFC3339) || answer["receipt"] != nil {
		t.Errorf("answer %s, want scheduled at %s without a receipt", body, notBefore.Format(time.RFC3339))
	}
	id, _ := answer["id"].(string)
	withdraw := strings.ReplaceAll(blocks[1], pageID, id)
	if body := curl(withdraw, "204"); len(body) != 0 {
		t.Errorf("the withdrawal answered a body: %s", body)
	}
	curl(withdraw, "404")
	p.stop()
}

// shBlocks returns the commands of the ```sh blocks of a Markdown text,
// without their comment lines.
func shBlocks(md string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(md, "```sh\n")
		if !ok {
			return out
		}
		block, after, _ := strings.Cut(rest, "```")
		var lines []string
		for _, l := range strings.Split(block, "\n") {
			if strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#") {
				lines = append(lines, l)
			}
		}
		out = append(out, strings.Join(lines, "\n"))
		md = after
	}
}
