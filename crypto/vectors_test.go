package crypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the current code (go test ./crypto -run TestVectors -update)")

const vectorsFile = "testdata/vectors.json"

// vectors are the known-answer vectors of every format. All randomness
// (keys, salts, nonces, ephemeral keys, nonce prefixes) is read, in the
// order of the fields below, from a ChaCha8 stream (C2SP chacha8rand, Go's
// math/rand/v2.ChaCha8) seeded with Seed, so another implementation can
// reproduce every byte.
type vectors struct {
	Comment string `json:"comment"`
	Seed    string `json:"seed"`

	// Fixed inputs.
	Password       string        `json:"password"`
	KDF            vectorKDF     `json:"kdf"`
	SessionID      string        `json:"sessionId"`
	Binding        vectorBinding `json:"binding"`
	SubjectLabel   string        `json:"subjectLabel"`
	Subject        string        `json:"subject"`
	DocumentLabel  string        `json:"documentLabel"`
	DocumentSize   int           `json:"documentSize"`
	DocumentRule   string        `json:"documentRule"`
	DocumentSHA256 string        `json:"documentSha256"`
	SignedMessage  string        `json:"signedMessage"`

	// Outputs, hex, in the order they are made.
	PrivateKey       string `json:"privateKey"`
	PublicKey        string `json:"publicKey"`
	RecoveryKey      string `json:"recoveryKey"`
	SessionSecret    string `json:"sessionSecret"`
	PasswordWrapping string `json:"passwordWrapping"`
	RecoveryWrapping string `json:"recoveryWrapping"`
	SessionWrapping  string `json:"sessionWrapping"`
	DataKey          string `json:"dataKey"`
	SealedDataKey    string `json:"sealedDataKey"`
	SealedSubject    string `json:"sealedSubject"`
	SealedDocument   string `json:"sealedDocument"`
	SigningSeed      string `json:"signingSeed"`
	SigningPublicKey string `json:"signingPublicKey"`
	KeyID            string `json:"keyId"`
	ReceiptSig       string `json:"receiptSignature"`
	CheckpointSig    string `json:"checkpointSignature"`
}

// vectorKDF and vectorBinding give KDFParams and Binding the JSON names of
// the rest of the file.
type vectorKDF struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memoryKiB"`
	Threads   uint8  `json:"threads"`
}

type vectorBinding struct {
	LetterID    string `json:"letterId"`
	RecipientID string `json:"recipientId"`
	SenderID    string `json:"senderId"`
}

// vectorInputs are the fixed inputs; makeVectors adds the outputs.
func vectorInputs() vectors {
	doc := testDocument(70000)
	sum := sha256.Sum256(doc)
	return vectors{
		Comment:        "Postkasse crypto format v1 known-answer vectors; see crypto/doc.go and crypto/vectors_test.go. Regenerate only for a deliberate format change: go test ./crypto -run TestVectors -update",
		Seed:           hex.EncodeToString([]byte("postkasse/v1/test-vectors/seed!!")),
		Password:       "correct horse battery staple æøå",
		KDF:            vectorKDF{Time: 1, MemoryKiB: 64, Threads: 1},
		SessionID:      "session-0001",
		Binding:        vectorBinding{LetterID: "letter-0001", RecipientID: "resident-0001", SenderID: "sender-0001"},
		SubjectLabel:   "subject",
		Subject:        "Afgørelse om boligstøtte",
		DocumentLabel:  "document/0",
		DocumentSize:   len(doc),
		DocumentRule:   "byte i is i mod 251",
		DocumentSHA256: hex.EncodeToString(sum[:]),
		SignedMessage:  `{"id":"letter-0001","deliveredAt":"2026-11-22T10:00:00Z"}`,
	}
}

func makeVectors(t *testing.T) vectors {
	t.Helper()
	v := vectorInputs()
	var seed [32]byte
	copy(seed[:], mustHex(t, v.Seed))
	r := mathrand.NewChaCha8(seed)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h := hex.EncodeToString

	priv, err := GenerateKeyPair(r)
	check(err)
	pub := priv.Public()
	rk, err := NewRecoveryKey(r)
	check(err)
	secret := make([]byte, SessionSecretSize)
	_, err = r.Read(secret)
	check(err)
	pw, err := WrapWithPassword(r, priv, []byte(v.Password), KDFParams(v.KDF))
	check(err)
	rw, err := WrapWithRecoveryKey(r, priv, rk)
	check(err)
	sw, err := WrapForSession(r, priv, secret, []byte(v.SessionID))
	check(err)
	dk, err := NewDataKey(r)
	check(err)
	sdk, err := SealDataKey(r, dk, pub, Binding(v.Binding))
	check(err)
	subject, err := dk.SealField(r, v.SubjectLabel, []byte(v.Subject))
	check(err)
	doc, err := dk.SealDocument(r, v.DocumentLabel, testDocument(v.DocumentSize))
	check(err)
	signingSeed, err := NewSigningSeed(r)
	check(err)
	signer, err := NewSigner(signingSeed)
	check(err)

	v.PrivateKey = h(priv.b[:])
	v.PublicKey = h(pub[:])
	v.RecoveryKey = h(rk[:])
	v.SessionSecret = h(secret)
	v.PasswordWrapping = h(pw)
	v.RecoveryWrapping = h(rw)
	v.SessionWrapping = h(sw)
	v.DataKey = h(dk.b[:])
	v.SealedDataKey = h(sdk)
	v.SealedSubject = h(subject)
	v.SealedDocument = h(doc)
	v.SigningSeed = h(signingSeed)
	v.SigningPublicKey = h(signer.PublicKey())
	v.KeyID = KeyID(signer.PublicKey())
	v.ReceiptSig = h(signer.Sign("receipt", []byte(v.SignedMessage)))
	v.CheckpointSig = h(signer.Sign("checkpoint", []byte(v.SignedMessage)))
	return v
}

// TestVectors regenerates every format from fixed randomness and compares
// it byte for byte with the committed vectors, so that any change to a
// format, even one that still round-trips, is seen. With -update it
// rewrites the file instead.
func TestVectors(t *testing.T) {
	got := makeVectors(t)
	encoded, err := json.MarshalIndent(got, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	encoded = append(encoded, '\n')
	if *update {
		if err := os.WriteFile(filepath.FromSlash(vectorsFile), encoded, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", vectorsFile)
	}
	stored, err := os.ReadFile(filepath.FromSlash(vectorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var want vectors
	if err := json.Unmarshal(stored, &want); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		if name == "Comment" {
			continue
		}
		if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
			gs, ws := truncate(g), truncate(w)
			t.Errorf("%s: generated %v, %s has %v", name, gs, vectorsFile, ws)
		}
	}
	if !bytes.Equal(encoded, stored) && !t.Failed() {
		t.Errorf("%s is not in canonical form; run go test ./crypto -run TestVectors -update", vectorsFile)
	}
}

func truncate(v any) any {
	if s, ok := v.(string); ok && len(s) > 80 {
		return s[:80] + "…"
	}
	return v
}

// TestVectorsOpen opens the committed vectors with today's code: stored
// bytes must go on decoding to the same keys and plaintexts, whatever the
// code that makes new ones does.
func TestVectorsOpen(t *testing.T) {
	t.Parallel()
	stored, err := os.ReadFile(filepath.FromSlash(vectorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(stored, &v); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	h := func(s string) []byte { return mustHex(t, s) }

	p, err := PasswordParams(h(v.PasswordWrapping))
	if err != nil || p != KDFParams(v.KDF) {
		t.Errorf("PasswordParams = %+v, %v; want %+v", p, err, v.KDF)
	}
	byPassword, err := UnwrapWithPassword(h(v.PasswordWrapping), []byte(v.Password))
	if err != nil {
		t.Fatalf("password wrapping: %v", err)
	}
	if !bytes.Equal(byPassword.b[:], h(v.PrivateKey)) {
		t.Error("password wrapping opened to another private key")
	}
	if pub := byPassword.Public(); !bytes.Equal(pub[:], h(v.PublicKey)) {
		t.Error("private key does not match the public key")
	}
	var rk RecoveryKey
	copy(rk[:], h(v.RecoveryKey))
	byRecovery, err := UnwrapWithRecoveryKey(h(v.RecoveryWrapping), rk)
	if err != nil {
		t.Fatalf("recovery wrapping: %v", err)
	}
	if !sameKey(byRecovery, byPassword) {
		t.Error("recovery wrapping opened to another private key")
	}
	bySession, err := UnwrapForSession(h(v.SessionWrapping), h(v.SessionSecret), []byte(v.SessionID))
	if err != nil {
		t.Fatalf("session wrapping: %v", err)
	}
	if !sameKey(bySession, byPassword) {
		t.Error("session wrapping opened to another private key")
	}

	dk, err := byPassword.OpenDataKey(h(v.SealedDataKey), Binding(v.Binding))
	if err != nil {
		t.Fatalf("sealed data key: %v", err)
	}
	if !bytes.Equal(dk.b[:], h(v.DataKey)) {
		t.Error("sealed data key opened to another key")
	}
	subject, err := dk.OpenField(v.SubjectLabel, h(v.SealedSubject))
	if err != nil || string(subject) != v.Subject {
		t.Errorf("sealed subject: %q, %v; want %q", subject, err, v.Subject)
	}
	doc, err := dk.OpenDocument(v.DocumentLabel, h(v.SealedDocument))
	if err != nil {
		t.Fatalf("sealed document: %v", err)
	}
	if sum := sha256.Sum256(doc); hex.EncodeToString(sum[:]) != v.DocumentSHA256 || !bytes.Equal(doc, testDocument(v.DocumentSize)) {
		t.Error("sealed document opened to another document")
	}
	if n := len(h(v.SealedDocument)); n != SealedDocumentSize(v.DocumentSize) {
		t.Errorf("sealed document is %d bytes, SealedDocumentSize says %d", n, SealedDocumentSize(v.DocumentSize))
	}

	signer, err := NewSigner(h(v.SigningSeed))
	if err != nil {
		t.Fatal(err)
	}
	signingPub := h(v.SigningPublicKey)
	if !bytes.Equal(signer.PublicKey(), signingPub) {
		t.Error("signing seed gives another public key")
	}
	if KeyID(signingPub) != v.KeyID {
		t.Errorf("KeyID = %s, want %s", KeyID(signingPub), v.KeyID)
	}
	msg := []byte(v.SignedMessage)
	if !Verify(signingPub, "receipt", msg, h(v.ReceiptSig)) {
		t.Error("receipt signature does not verify")
	}
	if !Verify(signingPub, "checkpoint", msg, h(v.CheckpointSig)) {
		t.Error("checkpoint signature does not verify")
	}
	if Verify(signingPub, "checkpoint", msg, h(v.ReceiptSig)) {
		t.Error("receipt signature verifies as a checkpoint")
	}
}
