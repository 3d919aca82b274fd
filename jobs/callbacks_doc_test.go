package jobs

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verify is the receivers' verification snippet of docs/SENDERS.md
// ("Callbacks"), word for word: TestSendersGuideVerifySnippet checks
// that the page shows this function and that it accepts the appliance's
// signatures and refuses changed ones.
func verify(pub ed25519.PublicKey, header string, body []byte, now time.Time) error {
	var keyID, ts, sig64 string
	for _, part := range strings.Split(header, ", ") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "keyId":
			keyID = v
		case "t":
			ts = v
		case "ed25519":
			sig64 = v
		}
	}
	sum := sha256.Sum256(pub)
	if keyID != hex.EncodeToString(sum[:8]) {
		return errors.New("signed by another key")
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(t, 0)).Abs() > 5*time.Minute {
		return errors.New("too old or bad time")
	}
	sig, err := base64.StdEncoding.DecodeString(sig64)
	if err != nil || !ed25519.Verify(pub, append([]byte(ts+"."), body...), sig) {
		return errors.New("bad signature")
	}
	return nil
}

// funcSource returns the source of the function that starts with the
// line prefix in text, up to its closing brace at the start of a line.
func funcSource(t *testing.T, text, prefix string) string {
	t.Helper()
	i := strings.Index(text, prefix)
	if i < 0 {
		t.Fatalf("no %q", prefix)
	}
	j := strings.Index(text[i:], "\n}\n")
	if j < 0 {
		t.Fatalf("%q has no end", prefix)
	}
	return text[i : i+j+3]
}

func TestSendersGuideVerifySnippet(t *testing.T) {
	page, err := os.ReadFile("../docs/SENDERS.md")
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.ReadFile("callbacks_doc_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if doc, code := funcSource(t, string(page), "func verify("), funcSource(t, string(own), "func verify("); doc != code {
		t.Fatalf("docs/SENDERS.md's snippet differs from the tested one:\n%s\nwant:\n%s", doc, code)
	}
	e := newEnv(t, nil)
	body := []byte(`{"cursor":"7","type":"delivered"}`)
	now := e.clock.Now()
	keyID, sig := e.st.SignCallback(now.Unix(), body)
	header := FormatSignature(keyID, now.Unix(), sig)
	pub := ed25519.PublicKey(e.st.CallbackKey())
	if err := verify(pub, header, body, now.Add(time.Minute)); err != nil {
		t.Errorf("the appliance's signature: %v", err)
	}
	for name, tc := range map[string]struct {
		header string
		body   []byte
		now    time.Time
	}{
		"changed body":  {header, []byte(`{"cursor":"8","type":"delivered"}`), now},
		"replayed late": {header, body, now.Add(10 * time.Minute)},
		"other key":     {FormatSignature("0000000000000000", now.Unix(), sig), body, now},
		"other time":    {FormatSignature(keyID, now.Unix()+1, sig), body, now},
	} {
		if err := verify(pub, tc.header, tc.body, tc.now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
