package crypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

func mustPRF(t testing.TB, r io.Reader) []byte {
	t.Helper()
	out := make([]byte, PRFOutputSize)
	if _, err := io.ReadFull(r, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPRFWrapping: a PRF wrapping opens with the PRF output and credential
// id it was made with, for keys of both formats, and with nothing else.
func TestPRFWrapping(t *testing.T) {
	for _, k := range []*PrivateKey{mustX25519Key(t, rand.Reader), mustKeyPair(t)} {
		prf := mustPRF(t, rand.Reader)
		cred := []byte("credential-1")
		w, err := WrapWithPRF(rand.Reader, k, prf, cred)
		if err != nil {
			t.Fatal(err)
		}
		if len(w) != PRFWrapLen(k.wrapFormat()) || w[0] != 'P' || w[1] != 1 || w[2] != k.wrapFormat() {
			t.Fatalf("wrapping of %d bytes, header %x", len(w), w[:3])
		}
		if err := CheckPRFWrapping(w); err != nil {
			t.Fatal(err)
		}
		got, err := UnwrapWithPRF(w, prf, cred)
		if err != nil || !sameKey(got, k) {
			t.Fatalf("unwrap: %v", err)
		}
		// A second wrapping of the same key with the same output differs
		// (fresh salt and nonce).
		w2, err := WrapWithPRF(rand.Reader, k, prf, cred)
		if err != nil || bytes.Equal(w[3:3+prfSaltSize], w2[3:3+prfSaltSize]) {
			t.Fatalf("second wrapping reused the salt (%v)", err)
		}
		wrongPRF := bytes.Clone(prf)
		wrongPRF[31] ^= 1
		for name, c := range map[string]struct{ w, prf, cred []byte }{
			"wrong output":        {w, wrongPRF, cred},
			"another credential":  {w, prf, []byte("credential-2")},
			"credential id + NUL": {w, prf, []byte("credential-1\x00")},
			"salt changed":        {flip(w, 5), prf, cred},
			"ciphertext changed":  {flip(w, len(w)-1), prf, cred},
		} {
			if _, err := UnwrapWithPRF(c.w, c.prf, c.cred); !errors.Is(err, ErrOpen) {
				t.Errorf("%s: err = %v, want ErrOpen", name, err)
			}
		}
		for name, c := range map[string]struct{ w, prf, cred []byte }{
			"short output":       {w, prf[:31], cred},
			"empty credential":   {w, prf, nil},
			"cut":                {w[:len(w)-1], prf, cred},
			"longer":             {append(bytes.Clone(w), 0), prf, cred},
			"other magic":        {flipTo(w, 0, 'Q'), prf, cred},
			"version 2":          {flipTo(w, 1, 2), prf, cred},
			"key format 3":       {flipTo(w, 2, 3), prf, cred},
			"other key format":   {flipTo(w, 2, 3-w[2]), prf, cred},
			"a password wrap v1": {w[2:], prf, cred},
			"empty":              {nil, prf, cred},
		} {
			if _, err := UnwrapWithPRF(c.w, c.prf, c.cred); !errors.Is(err, ErrFormat) {
				t.Errorf("%s: err = %v, want ErrFormat", name, err)
			}
		}
	}
}

func flipTo(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

const prfVectorsFile = "testdata/prf-vectors.json"

// prfVectors are the known-answer vectors of the PRF wrapping. All
// randomness is read, in the order of the fields, from a ChaCha8 stream
// (math/rand/v2.ChaCha8) whose 32-byte seed is Seed padded with zeros: the
// X25519 key and ML-KEM-768 seed of the key pair (format 2), then the PRF
// output, then for each wrapping its salt and its nonce; format 1 wraps
// the key pair's X25519 half alone.
type prfVectors struct {
	Comment      string `json:"comment"`
	Seed         string `json:"seed"`
	CredentialID string `json:"credentialId"` // hex
	PRFInput     string `json:"prfInput"`     // text

	PrivateKey string `json:"privateKey"` // X25519 key ‖ ML-KEM seed, hex
	PRFOutput  string `json:"prfOutput"`
	WrappingV1 string `json:"wrappingV1"`
	WrappingV2 string `json:"wrappingV2"`
	KeyV1      string `json:"keyV1"` // the secretbox key of format 1's wrapping
	KeyV2      string `json:"keyV2"`
}

func makePRFVectors(t *testing.T, seed string) prfVectors {
	r := detRand(seed)
	full, err := GenerateKeyPair(r)
	mustNot(t, err, "key pair")
	x := &PrivateKey{x: full.x}
	prf := mustPRF(t, r)
	cred := []byte("passkey credential id \x01\x02")
	w1, err := WrapWithPRF(r, x, prf, cred)
	mustNot(t, err, "wrap v1")
	w2, err := WrapWithPRF(r, full, prf, cred)
	mustNot(t, err, "wrap v2")
	k1, _ := prfKey(prf, w1[3:35], cred, 1)
	k2, _ := prfKey(prf, w2[3:35], cred, 2)
	return prfVectors{
		Comment:      "PRF wrapping v1 (crypto/prf.go); see prfVectors in prf_test.go for how the randomness is drawn",
		Seed:         seed,
		CredentialID: hex.EncodeToString(cred),
		PRFInput:     string(PRFInput),
		PrivateKey:   hex.EncodeToString(append(full.x[:], full.seed[:]...)),
		PRFOutput:    hex.EncodeToString(prf),
		WrappingV1:   hex.EncodeToString(w1),
		WrappingV2:   hex.EncodeToString(w2),
		KeyV1:        hex.EncodeToString(k1[:]),
		KeyV2:        hex.EncodeToString(k2[:]),
	}
}

// TestPRFVectors: the code makes the committed vectors byte for byte, and
// the committed wrappings open by the format's description alone (HKDF
// and secretbox, not this package's code).
func TestPRFVectors(t *testing.T) {
	got := makePRFVectors(t, "postkasse prf vectors v1")
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		mustNot(t, err, "marshal")
		mustNot(t, os.WriteFile(prfVectorsFile, append(b, '\n'), 0o644), "write")
	}
	b, err := os.ReadFile(prfVectorsFile)
	mustNot(t, err, "read vectors (go test ./crypto -run TestPRFVectors -update makes them)")
	var want prfVectors
	mustNot(t, json.Unmarshal(b, &want), "decode vectors")
	if got != want {
		t.Fatalf("vectors differ from %s:\n got %+v\nwant %+v", prfVectorsFile, got, want)
	}
	if want.PRFInput != string(PRFInput) {
		t.Fatalf("PRFInput %q, vectors %q", PRFInput, want.PRFInput)
	}
	dec := func(s string) []byte {
		b, err := hex.DecodeString(s)
		mustNot(t, err, "hex")
		return b
	}
	priv, prf, cred := dec(want.PrivateKey), dec(want.PRFOutput), dec(want.CredentialID)
	for _, c := range []struct {
		v       byte
		w, key  []byte
		payload []byte
	}{{1, dec(want.WrappingV1), dec(want.KeyV1), priv[:32]}, {2, dec(want.WrappingV2), dec(want.KeyV2), priv}} {
		if !bytes.Equal(c.w[:3], []byte{'P', 1, c.v}) {
			t.Fatalf("format %d: header %x", c.v, c.w[:3])
		}
		info := append([]byte("postkasse/v"+string('0'+c.v)+"/prf-wrap"), byte(len(cred)>>8), byte(len(cred)))
		info = append(info, cred...)
		key, err := hkdf.Key(sha256.New, prf, c.w[3:35], string(info), 32)
		mustNot(t, err, "hkdf")
		if !bytes.Equal(key, c.key) {
			t.Fatalf("format %d: key %x, want %x", c.v, key, c.key)
		}
		var nonce [24]byte
		var k [32]byte
		copy(nonce[:], c.w[35:59])
		copy(k[:], key)
		payload, ok := secretbox.Open(nil, c.w[59:], &nonce, &k)
		if !ok || !bytes.Equal(payload, c.payload) {
			t.Fatalf("format %d: payload does not open to the key", c.v)
		}
		got, err := UnwrapWithPRF(c.w, prf, cred)
		if err != nil || !bytes.Equal(got.x[:], priv[:32]) || (c.v == 2) != got.HasMLKEM() {
			t.Fatalf("format %d: UnwrapWithPRF: %v", c.v, err)
		}
	}
}
