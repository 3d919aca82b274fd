package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/internal/testsupport"
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
	if err := o.open(ctx, "good", &replyWriter{Name: "Carl Carlsen", Role: "delegate"}); err != nil {
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
		meta.LetterID != "l1" || len(meta.Attachments) != 2 || meta.Attachments[0].Name != `..\..\evil.txt` ||
		meta.WrittenBy == nil || *meta.WrittenBy != (replyWriter{Name: "Carl Carlsen", Role: "delegate"}) {
		t.Errorf("reply.json %+v, %v", meta, err)
	}
	if err := o.open(ctx, "good", nil); err != nil || fetched != 1 {
		t.Errorf("a reply opened before is fetched again (%d, %v)", fetched, err)
	}
	if err := o.open(ctx, "gone", nil); err != nil {
		t.Errorf("a reply deleted since: %v", err)
	}
	for _, id := range []string{"other-key", "wrong-binding"} {
		if err := o.open(ctx, id, nil); err == nil || !strings.Contains(err.Error(), "does not open") {
			t.Errorf("%s: %v", id, err)
		}
		if _, err := os.Stat(filepath.Join(out, id)); !os.IsNotExist(err) {
			t.Errorf("%s: a folder was written", id)
		}
	}
	for _, id := range []string{"../x", ".hidden", ""} {
		if err := o.open(ctx, id, nil); err == nil {
			t.Errorf("reply id %q taken", id)
		}
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("the folder holds %v", entries)
	}
}

// TestRepliesEndToEnd: through the demo's real server, the operator
// registers a sender's reply key made by postkasse reply-key; the sender
// sends a letter that allows replies; the resident replies from the
// letter page with a file; postkasse events --reply-key prints the reply
// event and writes the opened reply; the sender's answer (send
// --in-reply-to) shows in the resident's thread.
func TestRepliesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	p := startDemo(t, dir)
	s := p.demo.Senders[0]
	api := []string{"--api", p.demo.API, "--cert", s.Cert, "--key", s.Key, "--cacert", p.demo.CACert}
	keyFile := filepath.Join(t.TempDir(), "reply.key")
	pub := strings.TrimSpace(cli(t, "reply-key", "--out", keyFile))
	if out := cli(t, "sender", "reply-key", "--data", dir, "--org", s.OrgNumber, "--public-key", pub); !strings.Contains(out, pub) {
		t.Errorf("sender reply-key printed %q", out)
	}
	doc := filepath.Join(t.TempDir(), "hoering.txt")
	if err := os.WriteFile(doc, []byte("Partshøring før afgørelse."), 0o600); err != nil {
		t.Fatal(err)
	}
	nid := p.demo.Residents[0].NationalID
	var sent struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, append(append([]string{"send"}, api...), "--to", nid, "--subject", "Partshøring",
		"--reference", "hoering-1", "--reply-allowed", doc)...)), &sent); err != nil || sent.ID == "" {
		t.Fatalf("send: %v", err)
	}

	c := residentClient(t, p, nid)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("text", "Jeg er uenig.")
	fw, err := mw.CreateFormFile("file", "indsigelse.txt")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte("Min indsigelse"))
	mw.Close()
	resp, err := c.Post(p.demo.UI+"/letters/"+sent.ID+"/reply", mw.FormDataContentType(), &form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/letters/"+sent.ID {
		t.Fatalf("reply: %s at %s", resp.Status, resp.Request.URL)
	}

	out := filepath.Join(t.TempDir(), "replies")
	var replyID string
	for _, line := range strings.Split(strings.TrimSpace(cli(t, append(append([]string{"events"}, api...), "--reply-key", keyFile, "--replies", out)...)), "\n") {
		var ev struct{ Type, LetterID, ReplyID string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == "reply" && ev.LetterID == sent.ID {
			replyID = ev.ReplyID
		}
	}
	if replyID == "" {
		t.Fatal("no reply event")
	}
	if b, err := os.ReadFile(filepath.Join(out, replyID, "reply.txt")); err != nil || string(b) != "Jeg er uenig." {
		t.Errorf("reply.txt: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(out, replyID, "1-indsigelse.txt")); err != nil || string(b) != "Min indsigelse" {
		t.Errorf("the attachment: %q, %v", b, err)
	}

	cli(t, append(append([]string{"send"}, api...), "--to", nid, "--subject", "Svar på din indsigelse", "--reference", "svar-1",
		"--in-reply-to", replyID, doc)...)
	resp, err = c.Get(p.demo.UI + "/letters/" + sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Svar på din indsigelse") || !strings.Contains(string(page), "Jeg er uenig.") {
		t.Errorf("the thread lacks the reply or the answer:\n%s", page)
	}

	// The operator lets residents write to the sender; the resident does;
	// events --reply-key opens the message.
	if out := cli(t, "sender", "messages", "--data", dir, "--org", s.OrgNumber, "--on"); !strings.Contains(out, "may now write") {
		t.Errorf("sender messages printed %q", out)
	}
	var msgForm bytes.Buffer
	mw = multipart.NewWriter(&msgForm)
	senders, err := c.Get(p.demo.UI + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	msgPage, _ := io.ReadAll(senders.Body)
	senders.Body.Close()
	i := strings.Index(string(msgPage), `<option value="`)
	if i < 0 {
		t.Fatalf("no sender offered:\n%s", msgPage)
	}
	senderID := string(msgPage[i+len(`<option value="`):])
	senderID = senderID[:strings.Index(senderID, `"`)]
	mw.WriteField("sender", senderID)
	mw.WriteField("text", "Hvornår tømmes min skraldespand?")
	mw.Close()
	resp, err = c.Post(p.demo.UI+"/messages", mw.FormDataContentType(), &msgForm)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/messages" {
		t.Fatalf("message: %s at %s", resp.Status, resp.Request.URL)
	}
	var messageID string
	for _, line := range strings.Split(strings.TrimSpace(cli(t, append(append([]string{"events"}, api...), "--reply-key", keyFile, "--replies", out)...)), "\n") {
		var ev struct{ Type, ReplyID string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == "message" {
			messageID = ev.ReplyID
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, messageID, "reply.txt")); messageID == "" || err != nil || string(b) != "Hvornår tømmes min skraldespand?" {
		t.Errorf("the message %q: %q, %v", messageID, b, err)
	}

	// Another resident, given access "act", replies on the resident's
	// behalf: the event and reply.json say who wrote it.
	if len(p.demo.Residents) < 2 {
		t.Fatal("the demo has one resident")
	}
	other := p.demo.Residents[1]
	post := func(c *http.Client, path string, form url.Values) *http.Response {
		t.Helper()
		resp, err := c.PostForm(p.demo.UI+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(c, "/settings/access", url.Values{"nationalId": {other.NationalID}, "access": {"act"}, "scope": {"all"}}); resp.Request.URL.Path != "/settings/access" {
		t.Fatalf("grant: %s at %s", resp.Status, resp.Request.URL)
	}
	d := residentClient(t, p, other.NationalID)
	resp, err = d.Get(p.demo.UI + "/settings/access")
	if err != nil {
		t.Fatal(err)
	}
	accessPage, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`/settings/access/([0-9a-f]{32})/accept`).FindSubmatch(accessPage)
	if m == nil {
		t.Fatalf("no grant to accept:\n%s", accessPage)
	}
	grant := string(m[1])
	post(d, "/settings/access/"+grant+"/accept", nil)
	var onBehalf bytes.Buffer
	mw = multipart.NewWriter(&onBehalf)
	mw.WriteField("text", "Skrevet på vegne af min mor.")
	mw.Close()
	resp, err = d.Post(p.demo.UI+"/mailboxes/"+grant+"/letters/"+sent.ID+"/reply", mw.FormDataContentType(), &onBehalf)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/mailboxes/"+grant+"/letters/"+sent.ID {
		t.Fatalf("reply on behalf: %s at %s", resp.Status, resp.Request.URL)
	}
	var byDelegate string
	for _, line := range strings.Split(strings.TrimSpace(cli(t, append(append([]string{"events"}, api...), "--reply-key", keyFile, "--replies", out)...)), "\n") {
		var ev struct {
			Type, ReplyID string
			WrittenBy     *replyWriter
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == "reply" && ev.WrittenBy != nil {
			if *ev.WrittenBy != (replyWriter{Name: other.Name, Role: "delegate"}) {
				t.Errorf("writtenBy %+v, want %s", ev.WrittenBy, other.Name)
			}
			byDelegate = ev.ReplyID
		}
	}
	var meta replyMeta
	if b, err := os.ReadFile(filepath.Join(out, byDelegate, "reply.json")); byDelegate == "" || err != nil || json.Unmarshal(b, &meta) != nil ||
		meta.WrittenBy == nil || meta.WrittenBy.Name != other.Name || meta.ResidentID == "" {
		t.Errorf("the reply on behalf %q: %+v, %v", byDelegate, meta, err)
	}
	if b, err := os.ReadFile(filepath.Join(out, byDelegate, "reply.txt")); err != nil || string(b) != "Skrevet på vegne af min mor." {
		t.Errorf("the reply on behalf: %q, %v", b, err)
	}
}

// TestSignatureEndToEnd: through the demo's real server, a sender with a
// reply key asks for a signature of a PDF (send --sign-by); the resident
// signs it on the letter page; postkasse events --reply-key opens the
// sealed signature into the folder as LETTER.pdf and LETTER.p7s, which
// postkasse verify accepts under the appliance's signing CA, and the
// resident's own download is the same signed PDF.
func TestSignatureEndToEnd(t *testing.T) {
	dir := t.TempDir()
	p := startDemo(t, dir)
	s := p.demo.Senders[0]
	api := []string{"--api", p.demo.API, "--cert", s.Cert, "--key", s.Key, "--cacert", p.demo.CACert}
	keyFile := filepath.Join(t.TempDir(), "reply.key")
	pub := strings.TrimSpace(cli(t, "reply-key", "--out", keyFile))
	cli(t, "sender", "reply-key", "--data", dir, "--org", s.OrgNumber, "--public-key", pub)
	work := t.TempDir()
	doc := filepath.Join(work, "lejeaftale.pdf")
	if err := os.WriteFile(doc, testsupport.PDF("Lejeaftale", "Vestergade 12, 1. tv."), 0o600); err != nil {
		t.Fatal(err)
	}
	nid := p.demo.Residents[0].NationalID
	deadline := time.Now().AddDate(0, 0, 7).Format(time.DateOnly)
	if err := run(append(append([]string{"send"}, api...), "--to", nid, "--subject", "Lejeaftale", "--reference", "leje-x",
		"--sign-by", deadline, doc), io.Discard); err == nil {
		t.Error("send took --sign-by without --sign-description")
	}
	var sent struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, append(append([]string{"send"}, api...), "--to", nid, "--subject", "Lejeaftale",
		"--reference", "leje-1", "--sign-by", deadline, "--sign-description", "Lejeaftale for Vestergade 12", doc)...)), &sent); err != nil || sent.ID == "" {
		t.Fatalf("send: %v", err)
	}

	c := residentClient(t, p, nid)
	password := ""
	for _, r := range p.demo.Residents {
		if r.NationalID == nid {
			password = r.Password
		}
	}
	resp, err := c.PostForm(p.demo.UI+"/letters/"+sent.ID+"/sign", url.Values{"confirm": {"yes"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/letters/"+sent.ID {
		t.Fatalf("sign: %s at %s", resp.Status, resp.Request.URL)
	}

	out := filepath.Join(work, "replies")
	signed := false
	for _, line := range strings.Split(strings.TrimSpace(cli(t, append(append([]string{"events"}, api...), "--reply-key", keyFile, "--replies", out)...)), "\n") {
		var ev struct{ Type, LetterID string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		signed = signed || ev.Type == "signed" && ev.LetterID == sent.ID
	}
	if !signed {
		t.Fatal("no signed event")
	}
	pdf, p7s := filepath.Join(out, sent.ID+".pdf"), filepath.Join(out, sent.ID+".p7s")
	ca := filepath.Join(work, "ca.pem")
	caResp, err := p.senderClient(0).Get(p.demo.API + "/api/v1/signing-ca")
	if err := os.WriteFile(ca, body(t, caResp, err, http.StatusOK), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := cli(t, "verify", pdf, "--ca", ca); !strings.Contains(out, p.demo.Residents[0].Name) {
		t.Errorf("verify the signed PDF: %s", out)
	}
	cli(t, "verify", doc, "--signature", p7s, "--ca", ca)
	// The resident's download is the same signed PDF.
	resp, err = c.Get(p.demo.UI + "/letters/" + sent.ID + "/signature")
	own := body(t, resp, err, http.StatusOK)
	if b, err := os.ReadFile(pdf); err != nil || !bytes.Equal(b, own) {
		t.Errorf("the resident's signed PDF differs from the sender's: %v", err)
	}
	// Read again: not fetched twice, the files stay.
	cli(t, append(append([]string{"events"}, api...), "--reply-key", keyFile, "--replies", out)...)
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("the folder holds %v", entries)
	}
}

// TestSignatureOpener: events --reply-key writes a sealed signature's
// files, a CMS as it comes, once; a signature sealed to another key, or
// answered for another letter, is an error and writes nothing; a letter
// id that is no file name is refused.
func TestSignatureOpener(t *testing.T) {
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	resident, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(letter, answerFor string, to crypto.PublicKey) []byte {
		s, err := crypto.SealReply(rand.Reader, crypto.Reply{Attachments: []crypto.ReplyAttachment{
			{Name: letter + ".pdf", ContentType: "application/pdf", Content: []byte("%PDF signed")},
			{Name: letter + ".p7s", ContentType: "application/pkcs7-signature", Content: []byte("cms")},
		}}, to, resident.PublicKeys(), crypto.ReplyBinding{ReplyID: crypto.SignatureReplyID(letter), SenderID: "s1", ResidentID: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"id": crypto.SignatureReplyID(answerFor), "letterId": answerFor, "senderId": "s1", "residentId": "r1",
			"created": "2026-12-03T10:00:00Z", "attachments": 2, "format": "postkasse-sealed-reply-v1", "sealed": base64.StdEncoding.EncodeToString(s.ForSender)})
		return b
	}
	answers := map[string][]byte{
		"good":      seal("good", "good", k.Public()),
		"other-key": seal("other-key", "other-key", other.Public()),
		"swapped":   seal("good", "swapped", k.Public()),
	}
	fetched := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/messages/"), "/signature")
		fetched++
		if id == "text" {
			w.Header().Set("Content-Type", "application/pkcs7-signature")
			w.Write([]byte("cms of a text"))
			return
		}
		b, ok := answers[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	defer srv.Close()
	out := t.TempDir()
	o := &replyOpener{client: srv.Client(), api: srv.URL + "/api/v1", key: k, dir: out}
	ctx := context.Background()
	if err := o.openSignature(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"good.pdf": "%PDF signed", "good.p7s": "cms"} {
		if b, err := os.ReadFile(filepath.Join(out, file)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", file, b, err)
		}
	}
	if err := o.openSignature(ctx, "good"); err != nil || fetched != 1 {
		t.Errorf("a signature written before is fetched again (%d, %v)", fetched, err)
	}
	if err := o.openSignature(ctx, "text"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "text.p7s")); err != nil || string(b) != "cms of a text" {
		t.Errorf("text.p7s: %q, %v", b, err)
	}
	if err := o.openSignature(ctx, "gone"); err != nil {
		t.Errorf("a signature deleted since: %v", err)
	}
	if err := o.openSignature(ctx, "other-key"); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("sealed to another key: %v", err)
	}
	if err := o.openSignature(ctx, "swapped"); err == nil {
		t.Error("another letter's signature was taken")
	}
	for _, id := range []string{"../x", ".hidden", "", `a\b`} {
		if err := o.openSignature(ctx, id); err == nil {
			t.Errorf("letter id %q taken", id)
		}
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 3 {
		t.Errorf("the folder holds %v", entries)
	}
}
