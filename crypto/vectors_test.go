package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/cryptotest"

	"golang.org/x/crypto/chacha20poly1305"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the current code (go test ./crypto -run TestVectors -update)")

const vectorsFile = "testdata/vectors.json"

// vectors are the known-answer vectors of every format. All randomness
// (keys, salts, nonces, ephemeral keys, nonce prefixes) is read, in the
// order of the fields below, from a ChaCha8 stream (C2SP chacha8rand, Go's
// math/rand/v2.ChaCha8) seeded with Seed, so another implementation can
// reproduce every byte. The private key of format 1 is the stream's first
// 32 bytes; its ML-KEM-768 seed (format 2) is read after the signature
// vectors, and the sealed document v2's salt after everything else, so
// that the vectors made before stay as they were.
//
// One exception: a sealed data key v2 draws its randomness from the
// standard library's secure source (crypto/hpke takes no reader). The test
// makes that source deterministic with testing/cryptotest.SetGlobalRandom
// seeded with SealedDataKeyV2Seed: a ChaCha8 stream whose 32-byte seed is
// that number, little-endian, then zeros. crypto/hpke reads the ephemeral
// X25519 key from it and then ML-KEM's encapsulation randomness m (FIPS 203
// Algorithm 20); both are written out (SealedDataKeyV2Ephemeral,
// SealedDataKeyV2MLKEMRandom) and TestSealedDataKeyV2Spec rebuilds the
// sealed key from them without crypto/hpke. Go does not promise the order in
// which its crypto reads randomness: if a Go release changes it, TestVectors
// fails on SealedDataKeyV2 alone while the committed bytes still open.
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

	// Format 2: the same private key with an ML-KEM-768 half, its
	// wrappings, and the same data key sealed to both halves.
	MLKEMSeed                  string `json:"mlkemSeed"`
	MLKEMPublicKey             string `json:"mlkemPublicKey"`
	PasswordWrappingV2         string `json:"passwordWrappingV2"`
	RecoveryWrappingV2         string `json:"recoveryWrappingV2"`
	SessionWrappingV2          string `json:"sessionWrappingV2"`
	SealedDataKeyV2Seed        uint64 `json:"sealedDataKeyV2Seed"`
	SealedDataKeyV2Ephemeral   string `json:"sealedDataKeyV2Ephemeral"`
	SealedDataKeyV2MLKEMRandom string `json:"sealedDataKeyV2MlkemRandom"`
	SealedDataKeyV2            string `json:"sealedDataKeyV2"`

	// Sealed document v2 (AES-256-GCM): the same document under the same
	// label and data key. SealedDocument above is v1, which new documents
	// are no longer sealed in but which stays readable.
	SealedDocumentV2 string `json:"sealedDocumentV2"`
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
	Delegate    string `json:"delegate,omitempty"`
}

// vectorInputs are the fixed inputs; makeVectors adds the outputs.
func vectorInputs() vectors {
	doc := testDocument(70000)
	sum := sha256.Sum256(doc)
	return vectors{
		Comment:        "Postkasse crypto formats v1 and v2 known-answer vectors; see crypto/doc.go and crypto/vectors_test.go. Regenerate only for a deliberate format change: go test ./crypto -run TestVectors -update",
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

	priv := mustX25519Key(t, r)
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
	doc, err := dk.appendSealedDocument(nil, r, formatV1, v.DocumentLabel, testDocument(v.DocumentSize))
	check(err)
	signingSeed, err := NewSigningSeed(r)
	check(err)
	signer, err := NewSigner(signingSeed)
	check(err)

	full, err := priv.WithMLKEM(r)
	check(err)
	fullPub := full.PublicKeys()
	pw2, err := WrapWithPassword(r, full, []byte(v.Password), KDFParams(v.KDF))
	check(err)
	rw2, err := WrapWithRecoveryKey(r, full, rk)
	check(err)
	sw2, err := WrapForSession(r, full, secret, []byte(v.SessionID))
	check(err)
	v.SealedDataKeyV2Seed = 768
	cryptotest.SetGlobalRandom(t, v.SealedDataKeyV2Seed)
	sdk2, err := SealDataKey(r, dk, fullPub, Binding(v.Binding))
	check(err)
	var hpkeSeed [32]byte
	binary.LittleEndian.PutUint64(hpkeSeed[:], v.SealedDataKeyV2Seed)
	hpkeRand := mathrand.NewChaCha8(hpkeSeed)
	eph, m := make([]byte, 32), make([]byte, 32)
	_, _ = hpkeRand.Read(eph)
	_, _ = hpkeRand.Read(m)
	docV2, err := dk.SealDocument(r, v.DocumentLabel, testDocument(v.DocumentSize))
	check(err)

	v.PrivateKey = h(priv.x[:])
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
	v.MLKEMSeed = h(full.seed[:])
	v.MLKEMPublicKey = h(fullPub.MLKEM)
	v.PasswordWrappingV2 = h(pw2)
	v.RecoveryWrappingV2 = h(rw2)
	v.SessionWrappingV2 = h(sw2)
	v.SealedDataKeyV2Ephemeral = h(eph)
	v.SealedDataKeyV2MLKEMRandom = h(m)
	v.SealedDataKeyV2 = h(sdk2)
	v.SealedDocumentV2 = h(docV2)
	return v
}

// TestVectors regenerates every format from fixed randomness and compares
// it byte for byte with the committed vectors, so that any change to a
// format, even one that still round-trips, is seen. With -update it
// rewrites the file instead. It is not parallel: it sets the process's
// cryptographic randomness (cryptotest.SetGlobalRandom) while it runs.
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
	want, stored := readVectorsFile(t)
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
	v := readVectors(t)
	h := func(s string) []byte { return mustHex(t, s) }

	p, err := PasswordParams(h(v.PasswordWrapping))
	if err != nil || p != KDFParams(v.KDF) {
		t.Errorf("PasswordParams = %+v, %v; want %+v", p, err, v.KDF)
	}
	byPassword, err := UnwrapWithPassword(h(v.PasswordWrapping), []byte(v.Password))
	if err != nil {
		t.Fatalf("password wrapping: %v", err)
	}
	if !bytes.Equal(byPassword.x[:], h(v.PrivateKey)) {
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
	for name, sealed := range map[string][]byte{"v1": h(v.SealedDocument), "v2": h(v.SealedDocumentV2)} {
		if n := len(sealed); n != SealedDocumentSize(v.DocumentSize) {
			t.Errorf("sealed document %s is %d bytes, SealedDocumentSize says %d", name, n, SealedDocumentSize(v.DocumentSize))
		}
	}
	if s := h(v.SealedDocument); s[0] != formatV1 {
		t.Errorf("sealed document v1 has version byte %d", s[0])
	}
	docV2, err := dk.OpenDocument(v.DocumentLabel, h(v.SealedDocumentV2))
	if err != nil {
		t.Fatalf("sealed document v2: %v", err)
	}
	if !bytes.Equal(docV2, doc) {
		t.Error("sealed document v2 opened to another document")
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
	if byPassword.HasMLKEM() || byRecovery.HasMLKEM() || bySession.HasMLKEM() {
		t.Error("a wrapping of format 1 opened to a key with an ML-KEM half")
	}

	// Format 2: wrappings of the same key with its ML-KEM half, and the
	// data key sealed to both halves.
	if p, err := PasswordParams(h(v.PasswordWrappingV2)); err != nil || p != KDFParams(v.KDF) {
		t.Errorf("PasswordParams of format 2 = %+v, %v; want %+v", p, err, v.KDF)
	}
	full, err := UnwrapWithPassword(h(v.PasswordWrappingV2), []byte(v.Password))
	if err != nil {
		t.Fatalf("password wrapping v2: %v", err)
	}
	if !full.HasMLKEM() || full.x != byPassword.x || !bytes.Equal(full.seed[:], h(v.MLKEMSeed)) {
		t.Error("password wrapping v2 opened to another private key")
	}
	if pub := full.PublicKeys(); pub.X25519 != byPassword.Public() || !bytes.Equal(pub.MLKEM, h(v.MLKEMPublicKey)) {
		t.Error("private key v2 does not match the public keys")
	}
	if k, err := UnwrapWithRecoveryKey(h(v.RecoveryWrappingV2), rk); err != nil || !sameKey(k, full) {
		t.Errorf("recovery wrapping v2: %v, or another key", err)
	}
	if k, err := UnwrapForSession(h(v.SessionWrappingV2), h(v.SessionSecret), []byte(v.SessionID)); err != nil || !sameKey(k, full) {
		t.Errorf("session wrapping v2: %v, or another key", err)
	}
	dk2, err := full.OpenDataKey(h(v.SealedDataKeyV2), Binding(v.Binding))
	if err != nil || dk2.b != dk.b {
		t.Errorf("sealed data key v2: %v, or another data key", err)
	}
	if dk1, err := full.OpenDataKey(h(v.SealedDataKey), Binding(v.Binding)); err != nil || dk1.b != dk.b {
		t.Errorf("sealed data key v1 with the key v2: %v, or another data key", err)
	}
	if _, err := byPassword.OpenDataKey(h(v.SealedDataKeyV2), Binding(v.Binding)); !errors.Is(err, ErrNoMLKEM) {
		t.Errorf("sealed data key v2 with the key v1: err = %v, want ErrNoMLKEM", err)
	}

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

// TestSealedDataKeyV2Spec rebuilds the committed sealed data key v2 from
// its recorded randomness by the specifications alone, without crypto/hpke:
// ML-KEM-768 (FIPS 203), X25519 (RFC 7748), the X-Wing combiner
// (draft-connolly-cfrg-xwing-kem, "Combiner"; MLKEM768-X25519 in
// draft-ietf-hpke-pq), and HPKE's base mode key schedule with HKDF-SHA256
// and ChaCha20Poly1305 (RFC 9180 §4, §5.1, §5.2). It shows that format 2 is
// what doc.go says, so that another implementation can read it, and it
// pins the bytes should crypto/hpke change.
func TestSealedDataKeyV2Spec(t *testing.T) {
	t.Parallel()
	v := readVectors(t)
	h := func(s string) []byte { return mustHex(t, s) }
	sealed := h(v.SealedDataKeyV2)
	if len(sealed) != 1+1088+32+32+16 || sealed[0] != 0x02 {
		t.Fatalf("sealed data key v2 is %d bytes of format %d", len(sealed), sealed[0])
	}
	ctM, ctX, box := sealed[1:1089], sealed[1089:1121], sealed[1121:]

	// The recipient's keys.
	dkM, err := mlkem.NewDecapsulationKey768(h(v.MLKEMSeed))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dkM.EncapsulationKey().Bytes(), h(v.MLKEMPublicKey)) {
		t.Fatal("mlkemPublicKey is not the seed's encapsulation key")
	}
	skX, err := ecdh.X25519().NewPrivateKey(h(v.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	pkX := skX.PublicKey().Bytes()

	// The encapsulation, from the recorded randomness.
	ssM, ct, err := mlkemtest.Encapsulate768(dkM.EncapsulationKey(), h(v.SealedDataKeyV2MLKEMRandom))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ct, ctM) {
		t.Error("the ML-KEM ciphertext is not ML-KEM.Encaps_internal with the recorded randomness")
	}
	if got, err := dkM.Decapsulate(ctM); err != nil || !bytes.Equal(got, ssM) {
		t.Errorf("decapsulation gives another secret: %v", err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(h(v.SealedDataKeyV2Ephemeral))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(eph.PublicKey().Bytes(), ctX) {
		t.Error("the X25519 share is not X25519(ephemeral, 9) of the recorded ephemeral key")
	}
	ssX, err := skX.ECDH(eph.PublicKey())
	if err != nil {
		t.Fatal(err)
	}

	// X-Wing: SHA3-256(ss_M | ss_X | ct_X | pk_X | XWingLabel), where
	// XWingLabel is the six bytes 5c2e2f2f5e5c, \./ then /^\ in ASCII.
	xwingLabel := []byte{0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c}
	xwing := sha3.New256()
	for _, b := range [][]byte{ssM, ssX, ctX, pkX, xwingLabel} {
		xwing.Write(b)
	}
	sharedSecret := xwing.Sum(nil)

	// RFC 9180 §5.1, mode_base with empty psk and psk_id.
	suiteID := []byte("HPKE\x64\x7a\x00\x01\x00\x03") // KEM 0x647a, KDF 0x0001, AEAD 0x0003
	labeledExtract := func(salt []byte, label string, ikm []byte) []byte {
		in := append(append(append([]byte("HPKE-v1"), suiteID...), label...), ikm...)
		prk, err := hkdf.Extract(sha256.New, in, salt)
		if err != nil {
			t.Fatal(err)
		}
		return prk
	}
	labeledExpand := func(prk []byte, label string, info []byte, n int) []byte {
		in := binary.BigEndian.AppendUint16(nil, uint16(n))
		in = append(append(append(append(in, "HPKE-v1"...), suiteID...), label...), info...)
		out, err := hkdf.Expand(sha256.New, prk, string(in), n)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// info = "postkasse/v2/data-key" | lp(letterId) | lp(recipientId) | lp(senderId)
	info := []byte("postkasse/v2/data-key")
	for _, id := range []string{v.Binding.LetterID, v.Binding.RecipientID, v.Binding.SenderID} {
		info = binary.BigEndian.AppendUint16(info, uint16(len(id)))
		info = append(info, id...)
	}
	ksContext := append([]byte{0x00}, labeledExtract(nil, "psk_id_hash", nil)...)
	ksContext = append(ksContext, labeledExtract(nil, "info_hash", info)...)
	secret := labeledExtract(sharedSecret, "secret", nil)
	key := labeledExpand(secret, "key", ksContext, chacha20poly1305.KeySize)
	baseNonce := labeledExpand(secret, "base_nonce", ksContext, chacha20poly1305.NonceSize)
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	// The first (only) message: the nonce is base_nonce XOR 0, no aad.
	got, err := aead.Open(nil, baseNonce, box, nil)
	if err != nil {
		t.Fatalf("the data key does not open by the specifications: %v", err)
	}
	if !bytes.Equal(got, h(v.DataKey)) {
		t.Errorf("opened %x by the specifications, want the data key %s", got, v.DataKey)
	}
}

// TestSealedDocumentV2Spec rebuilds the committed sealed document v2 from
// the data key, the document and the salt the vector holds, by the
// specifications alone and the format in doc.go: HKDF-SHA-256 (RFC 5869)
// and AES-256-GCM (NIST SP 800-38D) from the standard library, with each
// chunk's nonce written out here. It shows that another implementation can
// read (and write) format v2.
func TestSealedDocumentV2Spec(t *testing.T) {
	t.Parallel()
	v := readVectors(t)
	sealed := mustHex(t, v.SealedDocumentV2)
	if len(sealed) < 17 || sealed[0] != 0x02 {
		t.Fatalf("sealed document v2 of %d bytes", len(sealed))
	}
	salt := sealed[1:17]
	// key = HKDF-SHA-256(dataKey, salt, info "postkasse/v2/document/" | label)
	key, err := hkdf.Key(sha256.New, mustHex(t, v.DataKey), salt, "postkasse/v2/document/"+v.DocumentLabel, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	// 02 | salt | AES-256-GCM of each 65,536 bytes, nonce = counter (11
	// bytes, big-endian) | 1 on the last chunk, else 0; no additional data.
	doc := testDocument(v.DocumentSize)
	want := append([]byte{0x02}, salt...)
	for i := 0; ; i++ {
		n := min(len(doc), 65536)
		nonce := make([]byte, 12)
		binary.BigEndian.PutUint64(nonce[3:11], uint64(i))
		if n == len(doc) {
			nonce[11] = 1
		}
		want = gcm.Seal(want, nonce, doc[:n], nil)
		if doc = doc[n:]; len(doc) == 0 {
			break
		}
	}
	if !bytes.Equal(sealed, want) {
		t.Error("the committed sealed document v2 is not what the specifications make")
	}
}

// readVectors reads the committed vectors file.
func readVectors(tb testing.TB) vectors {
	v, _ := readVectorsFile(tb)
	return v
}

// readVectorsFile reads the committed vectors file and returns its bytes
// too.
func readVectorsFile(tb testing.TB) (vectors, []byte) {
	tb.Helper()
	stored, err := os.ReadFile(filepath.FromSlash(vectorsFile))
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(stored, &v); err != nil {
		tb.Fatalf("%s: %v", vectorsFile, err)
	}
	return v, stored
}
