package api_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/crypto/signing"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// signatureMessage asks Anna to sign by a deadline days from today.
func signatureMessage(ref string, days int) map[string]any {
	m := uitest.LetterMessage(uitest.NIDAnna, "Lejeaftale", ref)
	m["signatureRequest"] = map[string]any{
		"deadline":    time.Now().UTC().AddDate(0, 0, days).Format(time.DateOnly),
		"description": "Lejeaftale for Vestergade 12, 1. tv.",
	}
	return m
}

// registerReplyKey registers a new reply key for the sender of client
// and returns its private half.
func registerReplyKey(t *testing.T, e *uitest.Env, client *http.Client) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	req, err := http.NewRequest(http.MethodPut, e.HTTPSURL+"/api/v1/reply-key", strings.NewReader(`{"publicKey":"`+base64.StdEncoding.EncodeToString(pub[:])+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	r := e.Do(client, req)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("reply key: %d %s", r.StatusCode, r.Text)
	}
	return k
}

// annaSigns signs a letter as Anna would in the mailbox.
func annaSigns(t *testing.T, e *uitest.Env, id string) {
	t.Helper()
	ctx := context.Background()
	sess, err := e.Store.Login(ctx, uitest.NIDAnna, uitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.Store.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if _, err := mb.Sign(ctx, id, store.SignConfirmation{Password: uitest.Password}); err != nil {
		t.Fatalf("Anna signs %s: %v", id, err)
	}
}

// annaDeclines declines a letter's signature request as Anna would.
func annaDeclines(t *testing.T, e *uitest.Env, id, reason string) {
	t.Helper()
	ctx := context.Background()
	sess, err := e.Store.Login(ctx, uitest.NIDAnna, uitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.Store.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if err := mb.DeclineSignature(ctx, id, reason); err != nil {
		t.Fatalf("Anna declines %s: %v", id, err)
	}
}

// TestSignatureAPI: a signature request is delivered and read by the
// resident; each bad request is a 400 naming the field, storing nothing;
// the signed result is the sender's only, as a PDF or a detached CMS
// that verifies under the appliance's signing CA.
func TestSignatureAPI(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	anna := e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Nordlys Energi A/S", "12345674")
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	agreement := testsupport.PDF("Lejeaftale", "Vestergade 12, 1. tv.")

	// Without a reply key, which the signed result is sealed to, a
	// request is refused.
	before := e.Deliveries()
	if r := e.Deliver(s.Client, uitest.MessagePart(signatureMessage("aftale-nokey", 10)), uitest.DocumentPart("aftale.pdf", "application/pdf", agreement)); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.Text, "signatureRequest") || !strings.Contains(r.Text, "reply key") {
		t.Errorf("a request without a reply key: %d %s", r.StatusCode, r.Text)
	}
	replyKey := registerReplyKey(t, e, s.Client)
	for _, tc := range []struct {
		name  string
		edit  func(m map[string]any)
		doc   []byte
		field string
	}{
		{"a deadline in the past", func(m map[string]any) {
			m["signatureRequest"].(map[string]any)["deadline"] = time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
		}, agreement, "signatureRequest.deadline"},
		{"a deadline that is no date", func(m map[string]any) { m["signatureRequest"].(map[string]any)["deadline"] = "2027-02-30" }, agreement, "signatureRequest.deadline"},
		{"no description", func(m map[string]any) { delete(m["signatureRequest"].(map[string]any), "description") }, agreement, "signatureRequest.description"},
		{"a broken PDF", func(map[string]any) {}, []byte("%PDF-1.7\nno objects, no xref\n%%EOF\n"), "documents[0]"},
		{"an unknown field", func(m map[string]any) { m["signatureRequest"].(map[string]any)["level"] = "qualified" }, agreement, "signatureRequest"},
	} {
		msg := signatureMessage("bad-"+tc.name, 10)
		tc.edit(msg)
		r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("aftale.pdf", "application/pdf", tc.doc))
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, tc.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.name, r.StatusCode, r.Text, tc.field)
		}
	}
	// No document at all.
	r := e.Deliver(s.Client, uitest.MessagePart(signatureMessage("bad-nodoc", 10)))
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("no document: %d %s", r.StatusCode, r.Text)
	}
	if n := e.Deliveries(); n != before {
		t.Fatalf("refused requests stored %d letters", n-before)
	}

	r = e.Deliver(s.Client, uitest.MessagePart(signatureMessage("aftale-1", 10)), uitest.DocumentPart("aftale.pdf", "application/pdf", agreement))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	if l := e.ResidentLetter(anna.NationalID.String(), id); l.SignatureRequest == nil || l.SignatureRequest.Description != "Lejeaftale for Vestergade 12, 1. tv." {
		t.Fatalf("the resident reads %+v", l.SignatureRequest)
	}
	get := func(c *http.Client, id string) *uitest.Response {
		return e.Get(c, e.HTTPSURL+"/api/v1/messages/"+id+"/signature")
	}
	if r := get(s.Client, id); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Text, "NO_SIGNATURE") {
		t.Errorf("before signing: %d %s", r.StatusCode, r.Text)
	}
	annaSigns(t, e, id)
	r = get(s.Client, id)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" || strings.Contains(r.Text, "%PDF") {
		t.Fatalf("signed: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	sealed := uitest.DecodeJSON[struct {
		ID, LetterID, SenderID, ResidentID, Format, Sealed string
		Attachments                                        int
	}](t, r)
	if sealed.ID != "signature:"+id || sealed.LetterID != id || sealed.Format != "postkasse-sealed-reply-v1" || sealed.Attachments != 2 {
		t.Fatalf("the sealed signature: %+v", sealed)
	}
	raw, err := base64.StdEncoding.DecodeString(sealed.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := replyKey.OpenReply(raw, crypto.ReplyBinding{ReplyID: sealed.ID, SenderID: sealed.SenderID, ResidentID: sealed.ResidentID})
	if err != nil || len(opened.Attachments) != 2 || opened.Attachments[0].Name != id+".pdf" || opened.Attachments[1].Name != id+".p7s" {
		t.Fatalf("open the signature: %v", err)
	}
	caPEM := e.Get(s.Client, e.HTTPSURL+"/api/v1/signing-ca")
	if caPEM.StatusCode != http.StatusOK || caPEM.Header.Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("signing CA: %d %s", caPEM.StatusCode, caPEM.Header.Get("Content-Type"))
	}
	ca, err := signing.ParseCertificatePEM([]byte(caPEM.Text))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.VerifyPDF(opened.Attachments[0].Content, ca); err != nil {
		t.Errorf("the signed PDF: %v", err)
	}
	if _, err := signing.VerifyCMS(agreement, opened.Attachments[1].Content, ca); err != nil {
		t.Errorf("the PDF's CMS: %v", err)
	}
	if r := get(other.Client, id); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "sealed") {
		t.Errorf("another sender: %d", r.StatusCode)
	}
	if r := get(anonymous, id); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a certificate: %d", r.StatusCode)
	}

	// A text's signature is a detached CMS.
	text := []byte("Jeg accepterer vilkårene.\n")
	r = e.Deliver(s.Client, uitest.MessagePart(signatureMessage("aftale-2", 0)), uitest.DocumentPart("aftale.txt", "text/plain", text))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id2 := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	annaSigns(t, e, id2)
	r = get(s.Client, id2)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/pkcs7-signature" {
		t.Fatalf("signed text: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if _, err := signing.VerifyCMS(text, []byte(r.Text), ca); err != nil {
		t.Errorf("the CMS: %v", err)
	}
	// OpenSSL verifies what the sender got with the CA the API gives.
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed: apt-get install openssl")
	}
	dir := t.TempDir()
	files := map[string][]byte{"doc.txt": text, "doc.p7s": []byte(r.Text), "ca.pem": []byte(caPEM.Text)}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", filepath.Join(dir, "doc.p7s"),
		"-content", filepath.Join(dir, "doc.txt"), "-CAfile", filepath.Join(dir, "ca.pem"), "-out", os.DevNull).CombinedOutput(); err != nil {
		t.Errorf("openssl cms -verify: %v\n%s", err, out)
	}
	// The events say so.
	r = e.Get(s.Client, e.HTTPSURL+"/api/v1/events?limit=100")
	if strings.Count(r.Text, `"type":"signed"`) != 2 {
		t.Errorf("events: %s", r.Text)
	}
}
