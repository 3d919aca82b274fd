package crypto

import (
	"crypto/rand"
	"io"
	"testing"
	"time"
)

// TestShortRandom checks that every function that reads randomness fails,
// rather than going on with zero bytes, when the reader runs dry at any
// read.
func TestShortRandom(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	old := mustX25519Key(t, rand.Reader)
	dk := mustDataKey(t)
	var rk RecoveryKey
	secret := make([]byte, SessionSecretSize)
	short := func(n int64) io.Reader { return io.LimitReader(rand.Reader, n) }
	tests := []struct {
		name string
		fn   func(r io.Reader) error
		// reads are the byte counts after which the reader runs dry.
		reads []int64
	}{
		{"GenerateKeyPair", func(r io.Reader) error { _, err := GenerateKeyPair(r); return err }, []int64{0, 31, 32, 95}}, // X25519 key, then ML-KEM seed
		{"WithMLKEM", func(r io.Reader) error { _, err := old.WithMLKEM(r); return err }, []int64{0, 63}},
		{"NewRecoveryKey", func(r io.Reader) error { _, err := NewRecoveryKey(r); return err }, []int64{0, 31}},
		{"NewDataKey", func(r io.Reader) error { _, err := NewDataKey(r); return err }, []int64{0, 31}},
		{"NewSigningSeed", func(r io.Reader) error { _, err := NewSigningSeed(r); return err }, []int64{0, 31}},
		{"WrapWithPassword", func(r io.Reader) error {
			_, err := WrapWithPassword(r, k, []byte("pw"), cheapKDF)
			return err
		}, []int64{0, 15, 16, 39}}, // salt, then nonce
		{"WrapWithRecoveryKey", func(r io.Reader) error { _, err := WrapWithRecoveryKey(r, k, rk); return err }, []int64{0, 23}},
		{"WrapForSession", func(r io.Reader) error { _, err := WrapForSession(r, k, secret, []byte("s")); return err }, []int64{0, 23}},
		{"SealDataKey", func(r io.Reader) error {
			_, err := SealDataKey(r, dk, k.Public(), testBinding)
			return err
		}, []int64{0, 31, 32, 55}}, // ephemeral key, then nonce
		{"SealField", func(r io.Reader) error { _, err := dk.SealField(r, "subject", []byte("x")); return err }, []int64{0, 23}},
		{"SealDocument", func(r io.Reader) error { _, err := dk.SealDocument(r, "document/0", []byte("x")); return err }, []int64{0, 15}},
		{"NewCA", func(r io.Reader) error { _, err := NewCA(r, "ca", caNow); return err }, []int64{0, 15}},
	}
	for _, tt := range tests {
		for _, n := range tt.reads {
			if err := tt.fn(short(n)); err == nil {
				t.Errorf("%s with %d random bytes: no error", tt.name, n)
			}
		}
	}
	// A sealed data key v2 reads nothing from rand: crypto/hpke draws its
	// ephemeral key and ML-KEM randomness from the system (see SealDataKey).
	if _, err := SealDataKey(short(0), dk, k.PublicKeys(), testBinding); err != nil {
		t.Errorf("SealDataKey v2 with an empty reader: %v", err)
	}
	ca := mustCA(t, "ca")
	if _, err := ca.IssueServer(short(0), []string{"localhost"}, caNow, time.Hour); err == nil {
		t.Error("IssueServer without random bytes: no error")
	}
}
