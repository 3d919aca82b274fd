package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/crypto"
)

// TestReplyOpener: postkasse reply-key writes a key that opens a reply
// sealed to its public key; events --reply-key writes the reply's text,
// attachments (under safe file names) and metadata into a folder of its
// own, once; a reply sealed to another key, or bound to other ids, is an
// error that says so and writes nothing.
func TestReplyOpener(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "reply.key")
	pubB64 := strings.TrimSpace(cli(t, "reply-key", "--out", keyFile))
	if err := run([]string{"reply-key", "--out", keyFile}, io.Discard); err == nil {
		t.Error("reply-key overwrote a key")
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v", fi, err)
	}
	pubRaw, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := crypto.ParseReplyPublicKey(pubRaw)
	if err != nil {
		t.Fatal(err)
	}
	resident, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(id, residentID string, to crypto.PublicKey) map[string]any {
		s, err := crypto.SealReply(rand.Reader, crypto.Reply{Text: "Hej " + id, Attachments: []crypto.ReplyAttachment{
			{Name: `..\..\evil.txt`, ContentType: "text/plain", Content: []byte("bilag")},
			{Name: "..", ContentType: "text/plain", Content: []byte("to")},
		}}, to, resident.PublicKeys(), crypto.ReplyBinding{ReplyID: id, SenderID: "s1", ResidentID: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"id": id, "letterId": "l1", "senderId": "s1", "residentId": residentID, "created": "2026-12-03T10:00:00Z",
			"attachments": 2, "format": "postkasse-sealed-reply-v1", "sealed": base64.StdEncoding.EncodeToString(s.ForSender)}
	}
	other, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	replies := map[string]map[string]any{
		"good":          seal("good", "r1", pub),
		"other-key":     seal("other-key", "r1", other.Public()),
		"wrong-binding": seal("wrong-binding", "r2", pub),
	}
	fetched := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, ok := replies[strings.TrimPrefix(r.URL.Path, "/api/v1/replies/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fetched++
		json.NewEncoder(w).Encode(rep)
	}))
	defer srv.Close()
	k, err := readReplyKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "replies")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	o := &replyOpener{client: srv.Client(), api: srv.URL + "/api/v1", key: k, dir: out}
	ctx := context.Background()
	if err := o.open(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(out, "good", "reply.txt"))
	if err != nil || string(text) != "Hej good" {
		t.Errorf("reply.txt %q, %v", text, err)
	}
	for file, want := range map[string]string{"1-evil.txt": "bilag", "2-file": "to"} {
		if b, err := os.ReadFile(filepath.Join(out, "good", file)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", file, b, err)
		}
	}
	var meta replyMeta
	if b, err := os.ReadFile(filepath.Join(out, "good", "reply.json")); err != nil || json.Unmarshal(b, &meta) != nil ||
		meta.LetterID != "l1" || len(meta.Attachments) != 2 || meta.Attachments[0].Name != `..\..\evil.txt` {
		t.Errorf("reply.json %+v, %v", meta, err)
	}
	if err := o.open(ctx, "good"); err != nil || fetched != 1 {
		t.Errorf("a reply opened before is fetched again (%d, %v)", fetched, err)
	}
	if err := o.open(ctx, "gone"); err != nil {
		t.Errorf("a reply deleted since: %v", err)
	}
	for _, id := range []string{"other-key", "wrong-binding"} {
		if err := o.open(ctx, id); err == nil || !strings.Contains(err.Error(), "does not open") {
			t.Errorf("%s: %v", id, err)
		}
		if _, err := os.Stat(filepath.Join(out, id)); !os.IsNotExist(err) {
			t.Errorf("%s: a folder was written", id)
		}
	}
	for _, id := range []string{"../x", ".hidden", ""} {
		if err := o.open(ctx, id); err == nil {
			t.Errorf("reply id %q taken", id)
		}
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("the folder holds %v", entries)
	}
}
