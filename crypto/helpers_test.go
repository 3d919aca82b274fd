package crypto

import (
	"crypto/rand"
	"encoding/hex"
	mathrand "math/rand/v2"
	"testing"
)

// cheapKDF are Argon2id parameters that cost almost nothing, so that unit
// tests do not spend 64 MiB and three passes per password.
var cheapKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func mustKeyPair(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustDataKey(t testing.TB) *DataKey {
	t.Helper()
	dk, err := NewDataKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func sameKey(a, b *PrivateKey) bool { return a.b == b.b }

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// testDocument returns n bytes that differ from chunk to chunk, so that a
// chunk moved to another place changes the plaintext.
func testDocument(n int) []byte {
	doc := make([]byte, n)
	for i := range doc {
		doc[i] = byte(i % 251)
	}
	return doc
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// detRand returns a deterministic byte stream (ChaCha8) for label, for
// fixtures that must be the same on every run (fuzz seeds and corpora).
func detRand(label string) *mathrand.ChaCha8 {
	var seed [32]byte
	copy(seed[:], label)
	return mathrand.NewChaCha8(seed)
}
