package main

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/control"
)

// TestSenderCallbackCommands: the operator registers a sender's callback
// URL, checked as the API checks it (https, public addresses only),
// lists the callbacks with their state, and removes one.
func TestSenderCallbackCommands(t *testing.T) {
	dir := initFolder(t)
	cli(t, "sender", "add", "--data", dir, "--name", "Eksempelby Kommune", "--org", "29189846", "--kind", "public", "--out", filepath.Join(t.TempDir(), "s"))
	for _, url := range []string{"https://127.0.0.1/cb", "https://localhost/cb", "https://10.1.2.3/cb", "http://93.184.216.34/cb"} {
		err := run([]string{"sender", "callback", "set", "--data", dir, "--org", "29189846", "--url", url}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "url") {
			t.Errorf("callback set %s: %v, want a refusal naming the url", url, err)
		}
	}
	if err := run([]string{"sender", "callback", "set", "--data", dir, "--url", "https://93.184.216.34/cb"}, io.Discard); err == nil {
		t.Error("callback set without a sender: no error")
	}
	printed := cli(t, "sender", "callback", "set", "--data", dir, "--org", "29189846", "--url", "https://93.184.216.34/postkasse")
	if !strings.Contains(printed, "https://93.184.216.34/postkasse") {
		t.Errorf("callback set printed:\n%s", printed)
	}
	var cbs []control.CallbackInfo
	if err := json.Unmarshal([]byte(cli(t, "sender", "callbacks", "--data", dir, "--json")), &cbs); err != nil {
		t.Fatal(err)
	}
	if len(cbs) != 1 || cbs[0].OrgNumber != "29189846" || cbs[0].URL != "https://93.184.216.34/postkasse" || cbs[0].State != "ok" {
		t.Fatalf("callbacks: %+v", cbs)
	}
	if table := cli(t, "sender", "callbacks", "--data", dir); !strings.Contains(table, "29189846") || !strings.Contains(table, "ok") {
		t.Errorf("sender callbacks printed:\n%s", table)
	}
	if printed := cli(t, "sender", "callback", "remove", "--data", dir, "--org", "29189846"); !strings.Contains(printed, "removed") {
		t.Errorf("callback remove printed:\n%s", printed)
	}
	if printed := cli(t, "sender", "callback", "remove", "--data", dir, "--org", "29189846"); !strings.Contains(printed, "no callback") {
		t.Errorf("callback remove again printed:\n%s", printed)
	}
}
