package crypto

import (
	"crypto/rand"
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
