package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/crypto/curve25519"
)

// RFC 7748 §6.1: Alice's private and public key.
func TestPublicKeyRFC7748(t *testing.T) {
	t.Parallel()
	priv, _ := hex.DecodeString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	want, _ := hex.DecodeString("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
	k, err := GenerateKeyPair(bytes.NewReader(priv))
	if err != nil {
		t.Fatal(err)
	}
	if pub := k.Public(); !bytes.Equal(pub[:], want) {
		t.Errorf("public key %x, want %x", pub, want)
	}
}

// Public computes X25519(k, 9) by a fixed-base multiplication on
// edwards25519: it must give exactly curve25519.X25519's bytes, for random
// keys and for keys at the edges of clamping.
func TestPublicMatchesX25519(t *testing.T) {
	t.Parallel()
	keys := [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0x80}, 32)}
	for i := range 1000 {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			t.Fatal(err)
		}
		if i < 32 {
			// A single set bit at each byte, including the clamped ones.
			clear(k)
			k[i] = 0x01 << (i % 8)
		}
		keys = append(keys, k)
	}
	for _, b := range keys {
		k, err := GenerateKeyPair(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		want, err := curve25519.X25519(b, curve25519.Basepoint)
		if err != nil {
			t.Fatal(err)
		}
		if pub := k.Public(); !bytes.Equal(pub[:], want) {
			t.Fatalf("Public of %x is %x, X25519 gives %x", b, pub, want)
		}
	}
}

// BenchmarkPublic measures Public's fixed-base multiplication against
// X25519 with the base point (the Montgomery ladder it replaced), in the
// same run: "speedup" is the ladder's time divided by Public's.
//
//	go test ./crypto -run '^$' -bench Public -count 5
func BenchmarkPublic(b *testing.B) {
	k, err := GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	for b.Loop() {
		k.Public()
	}
	public := time.Since(t0)
	t0 = time.Now()
	for range b.N {
		if _, err := curve25519.X25519(k.b[:], curve25519.Basepoint); err != nil {
			b.Fatal(err)
		}
	}
	ladder := time.Since(t0)
	b.ReportMetric(float64(ladder.Nanoseconds())/float64(b.N), "x25519-ns/op")
	b.ReportMetric(ladder.Seconds()/public.Seconds(), "speedup")
}

func TestGenerateKeyPairShortRead(t *testing.T) {
	t.Parallel()
	if _, err := GenerateKeyPair(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("GenerateKeyPair with 31 random bytes succeeded")
	}
}

func TestZero(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	k.Zero()
	if k.b != [32]byte{} {
		t.Error("PrivateKey.Zero left bytes")
	}
	dk := mustDataKey(t)
	dk.Zero()
	if dk.b != [32]byte{} {
		t.Error("DataKey.Zero left bytes")
	}
	// Zero on nil keys is a no-op, so callers may defer it unconditionally.
	(*PrivateKey)(nil).Zero()
	(*DataKey)(nil).Zero()
}

func TestPasswordWrapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		password []byte
		params   KDFParams
	}{
		{"ascii", []byte("correct horse battery staple"), cheapKDF},
		{"empty", []byte{}, cheapKDF},
		{"unicode", []byte("rødgrød med fløde — æøå"), cheapKDF},
		{"long", bytes.Repeat([]byte("x"), 10000), cheapKDF},
		{"two lanes", []byte("pw"), KDFParams{Time: 2, MemoryKiB: 32, Threads: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := mustKeyPair(t)
			wrapped, err := WrapWithPassword(rand.Reader, k, tt.password, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if len(wrapped) != 98 {
				t.Errorf("wrapping is %d bytes, want 98", len(wrapped))
			}
			p, err := PasswordParams(wrapped)
			if err != nil || p != tt.params {
				t.Errorf("PasswordParams = %+v, %v; want %+v", p, err, tt.params)
			}
			got, err := UnwrapWithPassword(wrapped, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if !sameKey(got, k) {
				t.Error("unwrapped another key")
			}
			wrong := append(bytes.Clone(tt.password), 'x')
			if _, err := UnwrapWithPassword(wrapped, wrong); !errors.Is(err, ErrOpen) {
				t.Errorf("wrong password: err = %v, want ErrOpen", err)
			}
			// A fresh salt and nonce each time: wrapping twice never repeats.
			again, err := WrapWithPassword(rand.Reader, k, tt.password, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again[10:26], wrapped[10:26]) || bytes.Equal(again, wrapped) {
				t.Error("two wrappings share a salt")
			}
		})
	}
}

// forgeParams returns a copy of wrapped with its Argon2id parameters
// replaced, as someone who can write the database could do.
func forgeParams(wrapped []byte, p KDFParams) []byte {
	w := bytes.Clone(wrapped)
	binary.BigEndian.PutUint32(w[1:5], p.Time)
	binary.BigEndian.PutUint32(w[5:9], p.MemoryKiB)
	w[9] = p.Threads
	return w
}

// Forged parameters must be refused before Argon2id runs: 4 TiB of memory
// or 2^32 passes would take the machine down. If Argon2id ran with
// MemoryKiB 0xffffffff this test would die of memory exhaustion, not fail.
func TestPasswordParamsRefuseForgedParams(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	wrapped, err := WrapWithPassword(rand.Reader, k, []byte("pw"), cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    KDFParams
	}{
		{"memory 4 TiB", KDFParams{Time: 1, MemoryKiB: 0xffffffff, Threads: 1}},
		{"memory just over 4 GiB", KDFParams{Time: 1, MemoryKiB: 4*1024*1024 + 1, Threads: 1}},
		{"time 0", KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}},
		{"time 2^32-1", KDFParams{Time: 0xffffffff, MemoryKiB: 64, Threads: 1}},
		{"time 65", KDFParams{Time: 65, MemoryKiB: 64, Threads: 1}},
		{"threads 0", KDFParams{Time: 1, MemoryKiB: 64, Threads: 0}},
		{"memory 0", KDFParams{Time: 1, MemoryKiB: 0, Threads: 1}},
		{"memory under 8 KiB per lane", KDFParams{Time: 1, MemoryKiB: 8*255 - 1, Threads: 255}},
		{"all absurd", KDFParams{Time: 0xffffffff, MemoryKiB: 0xffffffff, Threads: 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forged := forgeParams(wrapped, tt.p)
			if _, err := PasswordParams(forged); !errors.Is(err, ErrFormat) {
				t.Errorf("PasswordParams: err = %v, want ErrFormat", err)
			}
			if _, err := UnwrapWithPassword(forged, []byte("pw")); !errors.Is(err, ErrFormat) {
				t.Errorf("UnwrapWithPassword: err = %v, want ErrFormat", err)
			}
			if _, err := WrapWithPassword(rand.Reader, k, []byte("pw"), tt.p); !errors.Is(err, ErrFormat) {
				t.Errorf("WrapWithPassword: err = %v, want ErrFormat", err)
			}
		})
	}
	// Valid but different parameters are authenticated: they change the key.
	other := forgeParams(wrapped, KDFParams{Time: 2, MemoryKiB: 64, Threads: 1})
	if _, err := UnwrapWithPassword(other, []byte("pw")); !errors.Is(err, ErrOpen) {
		t.Errorf("changed parameters: err = %v, want ErrOpen", err)
	}
}

func TestPasswordWrappingMalformed(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	wrapped, err := WrapWithPassword(rand.Reader, k, []byte("pw"), cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	version2 := bytes.Clone(wrapped)
	version2[0] = 2
	for name, b := range map[string][]byte{
		"nil":       nil,
		"short":     wrapped[:len(wrapped)-1],
		"long":      append(bytes.Clone(wrapped), 0),
		"version 2": version2,
		"version 0": append([]byte{0}, wrapped[1:]...),
	} {
		if _, err := PasswordParams(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: PasswordParams err = %v, want ErrFormat", name, err)
		}
		if _, err := UnwrapWithPassword(b, []byte("pw")); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: UnwrapWithPassword err = %v, want ErrFormat", name, err)
		}
	}
	// A changed salt, nonce or ciphertext byte makes it not open.
	for _, i := range []int{10, 25, 26, 49, 50, 97} {
		b := bytes.Clone(wrapped)
		b[i] ^= 0x01
		if _, err := UnwrapWithPassword(b, []byte("pw")); !errors.Is(err, ErrOpen) {
			t.Errorf("byte %d flipped: err = %v, want ErrOpen", i, err)
		}
	}
}

func TestKDFParamsValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    KDFParams
		want bool
	}{
		{KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}, true},
		{cheapKDF, true},
		{DefaultKDFParams(), true},
		{KDFParams{Time: 1, MemoryKiB: 2 * 1024 * 1024, Threads: 4}, true}, // RFC 9106 §4, first option
		{KDFParams{Time: 64, MemoryKiB: 4 * 1024 * 1024, Threads: 255}, true},
		{KDFParams{Time: 1, MemoryKiB: 8 * 255, Threads: 255}, true},
		{KDFParams{Time: 1, MemoryKiB: 7, Threads: 1}, false},
		{KDFParams{Time: 1, MemoryKiB: 8*255 - 1, Threads: 255}, false},
		{KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}, false},
		{KDFParams{Time: 65, MemoryKiB: 64, Threads: 1}, false},
		{KDFParams{Time: 1, MemoryKiB: 64, Threads: 0}, false},
		{KDFParams{Time: 1, MemoryKiB: 4*1024*1024 + 1, Threads: 1}, false},
		{KDFParams{}, false},
	}
	for _, tt := range tests {
		if got := tt.p.valid(); got != tt.want {
			t.Errorf("%+v.valid() = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestKDFParamsLess(t *testing.T) {
	t.Parallel()
	def := DefaultKDFParams()
	tests := []struct {
		p, q KDFParams
		want bool
	}{
		{def, def, false},
		{cheapKDF, def, true},
		{def, cheapKDF, false},
		{KDFParams{Time: 2, MemoryKiB: 65536, Threads: 4}, def, true},   // fewer passes
		{KDFParams{Time: 3, MemoryKiB: 32768, Threads: 4}, def, true},   // less memory
		{KDFParams{Time: 3, MemoryKiB: 65536, Threads: 1}, def, true},   // fewer lanes
		{KDFParams{Time: 4, MemoryKiB: 32768, Threads: 4}, def, true},   // weaker in one dimension is enough
		{KDFParams{Time: 9, MemoryKiB: 131072, Threads: 8}, def, false}, // stronger everywhere
	}
	for _, tt := range tests {
		if got := tt.p.Less(tt.q); got != tt.want {
			t.Errorf("%+v.Less(%+v) = %v, want %v", tt.p, tt.q, got, tt.want)
		}
	}
}

// RFC 9106 §4: "If much less memory is available, a uniformly safe option is
// Argon2id with t=3 iterations, p=4 lanes, m=2^(16) (64 MiB of RAM), 128-bit
// salt, and 256-bit tag size. This is the SECOND RECOMMENDED option."
func TestDefaultKDFParamsRFC9106(t *testing.T) {
	t.Parallel()
	want := KDFParams{Time: 3, MemoryKiB: 1 << 16, Threads: 4}
	if got := DefaultKDFParams(); got != want {
		t.Errorf("DefaultKDFParams() = %+v, want %+v", got, want)
	}
	if saltSize*8 != 128 || keySize*8 != 256 {
		t.Errorf("salt %d bits, tag %d bits; RFC 9106 §4 says 128 and 256", saltSize*8, keySize*8)
	}
}

// TestSpendPasswordWork checks that the work for an unknown user is
// Argon2id over the parameters' memory: it allocates at least MemoryKiB.
// Not parallel: the measure is the process's allocations, and parallel
// tests wait until the sequential ones are done.
func TestSpendPasswordWork(t *testing.T) {
	p := KDFParams{Time: 1, MemoryKiB: 8 << 10, Threads: 1}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	SpendPasswordWork([]byte("pw"), p)
	runtime.ReadMemStats(&after)
	if got, want := after.TotalAlloc-before.TotalAlloc, uint64(p.MemoryKiB)<<10; got < want {
		t.Errorf("SpendPasswordWork allocated %d bytes, want at least %d (Argon2id over %d KiB)", got, want, p.MemoryKiB)
	}
}

func TestRecoveryWrapping(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	rk, err := NewRecoveryKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := WrapWithRecoveryKey(rand.Reader, k, rk)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != 73 {
		t.Errorf("wrapping is %d bytes, want 73", len(wrapped))
	}
	got, err := UnwrapWithRecoveryKey(wrapped, rk)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(got, k) {
		t.Error("unwrapped another key")
	}
	wrong := rk
	wrong[31] ^= 1
	if _, err := UnwrapWithRecoveryKey(wrapped, wrong); !errors.Is(err, ErrOpen) {
		t.Errorf("wrong recovery key: err = %v, want ErrOpen", err)
	}
	for name, b := range map[string][]byte{
		"nil":       nil,
		"short":     wrapped[:72],
		"long":      append(bytes.Clone(wrapped), 0),
		"version 2": append([]byte{2}, wrapped[1:]...),
	} {
		if _, err := UnwrapWithRecoveryKey(b, rk); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func TestSessionWrapping(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	secret := randomBytes(t, SessionSecretSize)
	id := []byte("session-0123456789abcdef")
	wrapped, err := WrapForSession(rand.Reader, k, secret, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != 73 {
		t.Errorf("wrapping is %d bytes, want 73", len(wrapped))
	}
	got, err := UnwrapForSession(wrapped, secret, id)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(got, k) {
		t.Error("unwrapped another key")
	}

	otherSecret := bytes.Clone(secret)
	otherSecret[0] ^= 1
	tests := []struct {
		name   string
		secret []byte
		id     []byte
	}{
		{"wrong secret", otherSecret, id},
		{"wrong session id", secret, []byte("session-0123456789abcdeF")},
		{"session id prefix", secret, id[:len(id)-1]},
		// As an HKDF salt these ids would equal id (HMAC zero-pads its key).
		{"session id with a 0x00 byte", secret, append(bytes.Clone(id), 0)},
		{"session id with two 0x00 bytes", secret, append(bytes.Clone(id), 0, 0)},
	}
	for _, tt := range tests {
		if _, err := UnwrapForSession(wrapped, tt.secret, tt.id); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", tt.name, err)
		}
	}

	formatErrors := []struct {
		name    string
		wrapped []byte
		secret  []byte
		id      []byte
	}{
		{"short secret", wrapped, secret[:31], id},
		{"long secret", wrapped, append(bytes.Clone(secret), 0), id},
		{"empty session id", wrapped, secret, nil},
		{"session id over 65535 bytes", wrapped, secret, make([]byte, 65536)},
		{"short wrapping", wrapped[:72], secret, id},
		{"long wrapping", append(bytes.Clone(wrapped), 0), secret, id},
		{"version 2", append([]byte{2}, wrapped[1:]...), secret, id},
	}
	for _, tt := range formatErrors {
		if _, err := UnwrapForSession(tt.wrapped, tt.secret, tt.id); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", tt.name, err)
		}
	}
	if _, err := WrapForSession(rand.Reader, k, secret[:16], id); !errors.Is(err, ErrFormat) {
		t.Errorf("WrapForSession with a 16-byte secret: err = %v, want ErrFormat", err)
	}
	if _, err := WrapForSession(rand.Reader, k, secret, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("WrapForSession without a session id: err = %v, want ErrFormat", err)
	}
	// The longest session id works.
	long := bytes.Repeat([]byte{'s'}, 65535)
	w, err := WrapForSession(rand.Reader, k, secret, long)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnwrapForSession(w, secret, long); err != nil {
		t.Errorf("65535-byte session id: %v", err)
	}
}

// The recovery and session wrappings have the same layout and both take a
// 32-byte secret; their labels keep one from opening as the other.
func TestWrappingDomainSeparation(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	var rk RecoveryKey
	copy(rk[:], randomBytes(t, 32))
	id := []byte("s")
	byRecovery, err := WrapWithRecoveryKey(rand.Reader, k, rk)
	if err != nil {
		t.Fatal(err)
	}
	bySession, err := WrapForSession(rand.Reader, k, rk[:], id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnwrapForSession(byRecovery, rk[:], id); !errors.Is(err, ErrOpen) {
		t.Errorf("recovery wrapping opened as a session wrapping: err = %v", err)
	}
	if _, err := UnwrapWithRecoveryKey(bySession, rk); !errors.Is(err, ErrOpen) {
		t.Errorf("session wrapping opened as a recovery wrapping: err = %v", err)
	}
}
