package auditlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/postkasse/postkasse/crypto"
)

// TestCheckpointFormat pins the checkpoint's text and signature line, and
// checks the key ID and the signature the way an outside verifier would,
// from the package documentation alone.
func TestCheckpointFormat(t *testing.T) {
	t.Parallel()
	key := testKey(t, "appliance")
	s, v := testNote(t, "appliance")
	root := tlog.RecordHash([]byte("root"))
	signed, err := SignCheckpoint(s, 50, root)
	if err != nil {
		t.Fatal(err)
	}
	text := testOrigin + "\n50\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
	prefix := text + "\n— " + testOrigin + " "
	if !strings.HasPrefix(string(signed), prefix) || !strings.HasSuffix(string(signed), "\n") || strings.Count(string(signed), "\n") != 5 {
		t.Fatalf("signed checkpoint:\n%s\nwant it to start with:\n%s", signed, prefix)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(string(signed), prefix), "\n"))
	if err != nil || len(sig) != 4+64 {
		t.Fatalf("signature %x: %v", sig, err)
	}
	// C2SP signed-note: key ID = SHA-256(name | 0x0A | type | key)[:4],
	// type 0xff followed by our identifier.
	h := sha256.Sum256([]byte(testOrigin + "\n\xffpostkasse/v1/checkpoint" + string(key.PublicKey())))
	if got, want := binary.BigEndian.Uint32(sig[:4]), binary.BigEndian.Uint32(h[:4]); got != want || v.KeyHash() != want {
		t.Errorf("key ID %08x (verifier %08x), want %08x", got, v.KeyHash(), want)
	}
	// The signature is package crypto's, of kind "checkpoint", over the
	// note text.
	if !crypto.Verify(key.PublicKey(), "checkpoint", []byte(text), sig[4:]) {
		t.Error("signature is not crypto's checkpoint signature of the text")
	}
	if crypto.Verify(key.PublicKey(), "receipt", []byte(text), sig[4:]) {
		t.Error("a checkpoint signature verifies as a receipt's")
	}
	c, err := ParseCheckpoint(v, signed)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Checkpoint{Origin: testOrigin, Size: 50, Hash: root}) {
		t.Errorf("parsed %+v", c)
	}
	// A plain Ed25519 note verifier of the same key does not take it: the
	// signature is domain-separated (see the package documentation).
	vkey, err := note.NewEd25519VerifierKey(testOrigin, key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(signed, note.VerifierList(plain)); err == nil {
		t.Error("a plain Ed25519 verifier accepted the checkpoint")
	}
}

// signText signs any note text with s, for checkpoints the appliance would
// never make.
func signText(t *testing.T, s note.Signer, text string) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCheckpointRefuses(t *testing.T) {
	t.Parallel()
	s, v := testNote(t, "appliance")
	other, _ := testNote(t, "another appliance")
	otherName, err := NewNoteSigner("other.test/audit", testKey(t, "appliance"))
	if err != nil {
		t.Fatal(err)
	}
	root := tlog.RecordHash([]byte("root"))
	good, err := SignCheckpoint(s, 50, root)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(root[:])
	fromOther, _ := SignCheckpoint(other, 50, root)
	// The same checkpoint with one bit of the Ed25519 signature flipped.
	sigAt := bytes.LastIndexByte(good[:len(good)-1], ' ') + 1
	rawSig, err := base64.StdEncoding.DecodeString(string(good[sigAt : len(good)-1]))
	if err != nil {
		t.Fatal(err)
	}
	rawSig[10] ^= 1
	flipped := append(append(bytes.Clone(good[:sigAt]), base64.StdEncoding.EncodeToString(rawSig)...), '\n')
	tests := []struct {
		name   string
		in     []byte
		want   error
		phrase string
	}{
		{"another appliance's", fromOther, ErrCheckpointKey, "signed by postkasse.test/audit+"},
		{"same key under another name", func() []byte { b, _ := SignCheckpoint(otherName, 50, root); return b }(), ErrCheckpointKey, "signed by other.test/audit+"},
		{"size changed", bytes.Replace(good, []byte("\n50\n"), []byte("\n51\n"), 1), ErrCheckpointSignature, "signature of postkasse.test/audit+"},
		{"root changed", bytes.Replace(good, []byte(b64), []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 1), ErrCheckpointSignature, ""},
		{"signature bits flipped", flipped, ErrCheckpointSignature, ""},
		{"empty", nil, ErrCheckpointFormat, ""},
		{"JSON", []byte(`{"treeSize": 50}`), ErrCheckpointFormat, "not a signed note"},
		{"no signature", []byte(testOrigin + "\n50\n" + b64 + "\n"), ErrCheckpointFormat, ""},
		{"CR LF", bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")), ErrCheckpointFormat, ""},
		{"too big", append(bytes.Repeat([]byte("x"), MaxCheckpointSize), good...), ErrCheckpointFormat, ""},
		{"extension line", signText(t, s, testOrigin+"\n50\n"+b64+"\nextra\n"), ErrCheckpointFormat, "text of 4 lines"},
		{"two lines", signText(t, s, testOrigin+"\n50\n"), ErrCheckpointFormat, ""},
		{"other origin", signText(t, s, "other.test/audit\n50\n"+b64+"\n"), ErrCheckpointFormat, "origin"},
		{"leading zero", signText(t, s, testOrigin+"\n050\n"+b64+"\n"), ErrCheckpointFormat, "size"},
		{"negative size", signText(t, s, testOrigin+"\n-1\n"+b64+"\n"), ErrCheckpointFormat, "size"},
		{"size too big", signText(t, s, testOrigin+"\n9223372036854775807\n"+b64+"\n"), ErrCheckpointFormat, "size"},
		{"short hash", signText(t, s, testOrigin+"\n50\nAAAA\n"), ErrCheckpointFormat, "root hash"},
		{"unpadded hash", signText(t, s, testOrigin+"\n50\n"+strings.TrimSuffix(b64, "=")+"\n"), ErrCheckpointFormat, "root hash"},
		{"non-canonical hash", signText(t, s, testOrigin+"\n50\n"+b64[:42]+"B=\n"), ErrCheckpointFormat, "root hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCheckpoint(v, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseCheckpoint = %+v, %v; want %v", c, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q does not say %q", err, tt.phrase)
			}
		})
	}
}

// TestParseCheckpointCosigned: a witness's cosignature after ours is
// allowed and does not matter.
func TestParseCheckpointCosigned(t *testing.T) {
	t.Parallel()
	s, v := testNote(t, "appliance")
	witness, _ := NewNoteSigner("witness.test", testKey(t, "witness"))
	root := tlog.RecordHash([]byte("root"))
	text := Checkpoint{Origin: testOrigin, Size: 3, Hash: root}.text()
	both, err := note.Sign(&note.Note{Text: text}, s, witness)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCheckpoint(v, both)
	if err != nil || c.Size != 3 || c.Hash != root {
		t.Errorf("cosigned checkpoint: %+v, %v", c, err)
	}
}

func TestNoteKeyNames(t *testing.T) {
	t.Parallel()
	key := testKey(t, "appliance")
	for _, name := range []string{"", "has space", "a+b", "tab\there", "new\nline", "\xff"} {
		if _, err := NewNoteSigner(name, key); !errors.Is(err, ErrCheckpointFormat) {
			t.Errorf("NewNoteSigner(%q): %v", name, err)
		}
		if _, err := NewNoteVerifier(name, key.PublicKey()); !errors.Is(err, ErrCheckpointFormat) {
			t.Errorf("NewNoteVerifier(%q): %v", name, err)
		}
	}
	if _, err := NewNoteVerifier(testOrigin, key.PublicKey()[:31]); !errors.Is(err, ErrCheckpointFormat) {
		t.Errorf("short public key: %v", err)
	}
	s, _ := testNote(t, "appliance")
	for _, size := range []int64{-1, MaxTreeSize + 1} {
		if _, err := SignCheckpoint(s, size, tlog.Hash{}); !errors.Is(err, ErrCheckpointFormat) {
			t.Errorf("SignCheckpoint(%d): %v", size, err)
		}
	}
}

// TestCheckpointFile writes checkpoints as the appliance does, with a write
// torn by a crash in the middle, and reads them back.
func TestCheckpointFile(t *testing.T) {
	t.Parallel()
	s, v := testNote(t, "appliance")
	path := filepath.Join(t.TempDir(), "sub", "checkpoints")
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	sign := func(size int64) []byte {
		b, err := SignCheckpoint(s, size, tlog.RecordHash([]byte{byte(size)}))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, size := range []int64{1, 2} {
		if err := AppendCheckpointFile(path, sign(size)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v, want 0644", st.Mode().Perm())
	}
	// A crash in the middle of writing checkpoint 3.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(sign(3)[:40]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{4, 5} {
		if err := AppendCheckpointFile(path, sign(size)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := ParseCheckpointFile(v, data)
	want := []struct {
		line int
		size int64
		err  error
	}{{1, 1, nil}, {7, 2, nil}, {13, 0, ErrCheckpointFormat}, {17, 4, nil}, {23, 5, nil}}
	if len(got) != len(want) {
		t.Fatalf("read %d checkpoints, want %d:\n%s", len(got), len(want), data)
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line || !errors.Is(g.Err, w.err) || (w.err == nil && g.Checkpoint.Size != w.size) {
			t.Errorf("checkpoint %d: line %d, size %d, %v; want line %d, size %d, %v", i, g.Line, g.Checkpoint.Size, g.Err, w.line, w.size, w.err)
		}
	}

	// A single checkpoint as a file, without the empty line, reads too.
	if got := ParseCheckpointFile(v, sign(9)); len(got) != 1 || got[0].Err != nil || got[0].Checkpoint.Size != 9 {
		t.Errorf("single checkpoint: %+v", got)
	}
	for _, bad := range [][]byte{nil, []byte("x"), bytes.TrimSuffix(sign(6), []byte("\n")), append(sign(6), "\n\n"...)} {
		if err := AppendCheckpointFile(path, bad); !errors.Is(err, ErrCheckpointFormat) {
			t.Errorf("AppendCheckpointFile(%q): %v, want ErrCheckpointFormat", bad, err)
		}
	}
	if err := AppendCheckpointFile(filepath.Join(t.TempDir(), "missing", "dir", "f"), sign(1)); err == nil {
		t.Error("appended in a directory that does not exist")
	}
}

// witness is a real HTTP server that keeps what it is sent, or refuses.
type witness struct {
	mu     sync.Mutex
	bodies [][]byte
	types  []string
	status int
}

func (w *witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Method != http.MethodPost {
		rw.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.bodies = append(w.bodies, body)
	w.types = append(w.types, r.Header.Get("Content-Type"))
	rw.WriteHeader(w.status)
}

func TestPostCheckpoint(t *testing.T) {
	t.Parallel()
	s, _ := testNote(t, "appliance")
	signed, err := SignCheckpoint(s, 7, tlog.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	ok := &witness{status: http.StatusNoContent}
	srv := httptest.NewTLSServer(ok)
	defer srv.Close()
	if err := PostCheckpoint(ctx, srv.Client(), srv.URL+"/add", signed); err != nil {
		t.Fatal(err)
	}
	if len(ok.bodies) != 1 || !bytes.Equal(ok.bodies[0], signed) || ok.types[0] != "text/plain; charset=utf-8" {
		t.Errorf("witness got %q as %q", ok.bodies, ok.types)
	}

	refusing := httptest.NewServer(&witness{status: http.StatusInternalServerError})
	defer refusing.Close()
	if err := PostCheckpoint(ctx, refusing.Client(), refusing.URL, signed); !errors.Is(err, ErrWitness) || !strings.Contains(err.Error(), "500") {
		t.Errorf("refusing witness: %v, want ErrWitness with its status", err)
	}

	gone := httptest.NewServer(&witness{status: http.StatusOK})
	goneURL := gone.URL
	gone.Close()
	if err := PostCheckpoint(ctx, http.DefaultClient, goneURL, signed); err == nil {
		t.Error("posting to a closed server succeeded")
	}

	for _, u := range []string{"", "ftp://witness.test/", "witness.test/add", "https://", "://x"} {
		if err := PostCheckpoint(ctx, http.DefaultClient, u, signed); !errors.Is(err, ErrWitness) {
			t.Errorf("URL %q: %v, want ErrWitness", u, err)
		}
	}
	if err := PostCheckpoint(ctx, http.DefaultClient, "https://user:secret@127.0.0.1:1/", signed); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %v shows the URL's password", err)
	}
}
