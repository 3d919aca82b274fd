package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSenderTools: `postkasse send` delivers a letter through the demo's
// real API with a demo sender's certificate (again: the same letter),
// `postkasse events` then lists its delivered event, and from the last
// cursor nothing; bad input says what to fix.
func TestSenderTools(t *testing.T) {
	p := startDemo(t, t.TempDir())
	s := p.demo.Senders[0]
	api := []string{"--api", p.demo.API, "--cert", s.Cert, "--key", s.Key, "--cacert", p.demo.CACert}
	doc := filepath.Join(t.TempDir(), "afgoerelse.txt")
	if err := os.WriteFile(doc, []byte("Du har fået tilskud."), 0o600); err != nil {
		t.Fatal(err)
	}
	to := p.demo.Residents[0].NationalID
	// sendTwice runs send with args twice: each prints a delivered
	// letter with its receipt, the second the first's.
	sendTwice := func(args ...string) string {
		t.Helper()
		var ids []string
		for range 2 {
			out := cli(t, append(append([]string{"send"}, api...), args...)...)
			var answer struct {
				ID      string          `json:"id"`
				Status  string          `json:"status"`
				Receipt json.RawMessage `json:"receipt"`
			}
			if err := json.Unmarshal([]byte(out), &answer); err != nil || answer.ID == "" || answer.Status != "delivered" || len(answer.Receipt) == 0 {
				t.Fatalf("send %v printed %q (%v)", args, out, err)
			}
			ids = append(ids, answer.ID)
		}
		if ids[0] != ids[1] {
			t.Errorf("sending %v again made another letter: %v", args, ids)
		}
		return ids[0]
	}
	id := sendTwice("--to", to, "--subject", "Afgørelse om tilskud", "--reference", "tools-1", "--type", "decision", doc)
	// A MeMo message, as it is: the demo's first sender (CVR 29189846) to
	// Anna Jensen.
	memoFile := filepath.Join("httpui", "memo", "testdata", "minimum-1.1.xml")
	if memoID := sendTwice("--memo", memoFile); memoID == id {
		t.Errorf("send --memo delivered the first letter again: %s", id)
	}
	other := p.demo.Senders[1]

	out := cli(t, append([]string{"events"}, api...)...)
	var last string
	found := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct{ Cursor, Type, LetterID, SenderReference string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("events printed %q: %v", line, err)
		}
		last = ev.Cursor
		found = found || (ev.Type == "delivered" && ev.LetterID == id && ev.SenderReference == "tools-1")
	}
	if !found {
		t.Errorf("no delivered event of the letter in:\n%s", out)
	}
	if out := cli(t, append(append([]string{"events"}, api...), "--after", last)...); out != "" {
		t.Errorf("events after the last cursor:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--to", to, "--subject", "s", "--reference", "r", doc}, "--api, --cert and --key"},
		{append(append([]string{"send"}, api...), "--to", to, "--subject", "s", "--reference", "r"), "FILE"},
		{append(append([]string{"send"}, api...), "--to", to, "--subject", "s", "--reference", "r", "--not-before", "2027-01-01T00:00:00Z", doc), "not supported"},
		{append(append([]string{"send"}, api...), "--to", to, "--subject", "s", "--reference", "r", "brev.docx"), ".pdf"},
		{append(append([]string{"send"}, api...), "--to", "0101010101", "--subject", "s", "--reference", "unknown-1", doc), "UNKNOWN_RECIPIENT"},
		{append(append([]string{"send"}, api...), "--to", to, "--subject", "Another subject", "--reference", "tools-1", doc), "DUPLICATE_REFERENCE"},
		{append(append([]string{"send"}, api...), "--memo", memoFile, "--to", to), "no --to"},
		{append(append([]string{"send"}, api...), "--memo", memoFile, doc), "or FILE"},
		{append(append([]string{"send"}, api...), "--memo", "nothing.xml"), "nothing.xml"},
		{[]string{"send", "--api", p.demo.API, "--cert", other.Cert, "--key", other.Key, "--cacert", p.demo.CACert, "--memo", memoFile}, "FORBIDDEN"},
		{append(append([]string{"send"}, api...), "--memo", doc), "INVALID_REQUEST"},
		{append(append([]string{"events"}, api...), "--after", "not-a-cursor"), "INVALID_REQUEST"},
		{[]string{"events", "--api", "http://127.0.0.1:1/api/v1", "--cert", s.Cert, "--key", s.Key}, "https://"},
	} {
		err := run(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.args[len(tc.args)-1], err, tc.want)
		}
	}
	var help bytes.Buffer
	if err := run([]string{"events", "--help"}, &help); err != nil || !strings.Contains(help.String(), "--follow") {
		t.Errorf("events --help: %v\n%s", err, help.String())
	}
}
