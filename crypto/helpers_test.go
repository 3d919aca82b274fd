package crypto

import (
	"crypto/rand"
	"encoding/hex"
	"io"
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

// sameKey reports whether a and b are the same key: the same X25519 half
// and the same ML-KEM half or none.
func sameKey(a, b *PrivateKey) bool {
	if a.x != b.x || (a.seed == nil) != (b.seed == nil) {
		return false
	}
	return a.seed == nil || *a.seed == *b.seed
}

// mustX25519Key returns a key with only an X25519 half, as residents had
// before ML-KEM: the 32 bytes read from r.
func mustX25519Key(t testing.TB, r io.Reader) *PrivateKey {
	t.Helper()
	k := &PrivateKey{}
	if _, err := io.ReadFull(r, k.x[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

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
