package crypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"runtime"
	"testing"
)

// keyKinds are the two kinds of resident key: with an X25519 half only, as
// every resident had before sealed data keys v2, whose wrappings stay in
// format 1 byte for byte; and with both halves, whose wrappings are in
// format 2. Every wrapping test runs on both.
var keyKinds = []struct {
	name       string
	new        func(testing.TB) *PrivateKey
	version    byte
	pwLen      int // password wrapping
	keyLen     int // recovery and session wrappings
	hasMLKEM   bool
	payloadLen int
}{
	{"x25519 only", func(t testing.TB) *PrivateKey { return mustX25519Key(t, rand.Reader) }, 1, 98, 73, false, 32},
	{"x25519 and ml-kem-768", mustKeyPair, 2, 162, 137, true, 96},
}

// RFC 7748 §6.1: Alice's and Bob's private and public keys.
func TestPublicKeyRFC7748(t *testing.T) {
	t.Parallel()
	for _, v := range []struct{ priv, pub string }{
		{"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
		{"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
	} {
		k := mustX25519Key(t, bytes.NewReader(mustHex(t, v.priv)))
		if pub := k.Public(); hex.EncodeToString(pub[:]) != v.pub {
			t.Errorf("public key of %s is %x, want %s", v.priv, pub, v.pub)
		}
	}
}

// GenerateKeyPair reads the X25519 key, then the ML-KEM-768 seed, and makes
// a key with both halves whose ML-KEM half is FIPS 203's key for that seed.
func TestGenerateKeyPair(t *testing.T) {
	t.Parallel()
	random := randomBytes(t, 96)
	k, err := GenerateKeyPair(bytes.NewReader(random))
	if err != nil {
		t.Fatal(err)
	}
	if !k.HasMLKEM() || !bytes.Equal(k.x[:], random[:32]) || !bytes.Equal(k.seed[:], random[32:]) {
		t.Fatalf("key %x / %x from random bytes %x", k.x, k.seed, random)
	}
	dk, err := mlkem.NewDecapsulationKey768(random[32:])
	if err != nil {
		t.Fatal(err)
	}
	pk := k.PublicKeys()
	if pk.X25519 != k.Public() || !bytes.Equal(pk.MLKEM, dk.EncapsulationKey().Bytes()) {
		t.Error("PublicKeys are not the key's X25519 public key and FIPS 203 encapsulation key")
	}
	for _, n := range []int{0, 31, 32, 95} {
		if _, err := GenerateKeyPair(bytes.NewReader(random[:n])); err == nil {
			t.Errorf("GenerateKeyPair with %d random bytes succeeded", n)
		}
	}
}

// WithMLKEM gives an old resident's key an ML-KEM half and keeps its X25519
// half; it never replaces an ML-KEM half, and leaves k as it was.
func TestWithMLKEM(t *testing.T) {
	t.Parallel()
	old := mustX25519Key(t, rand.Reader)
	if old.HasMLKEM() || old.PublicKeys().MLKEM != nil {
		t.Fatal("an X25519-only key has an ML-KEM half")
	}
	seed := randomBytes(t, mlkem.SeedSize)
	full, err := old.WithMLKEM(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if !full.HasMLKEM() || full.x != old.x || !bytes.Equal(full.seed[:], seed) {
		t.Error("WithMLKEM did not add the seed read from rand to the same X25519 key")
	}
	if old.HasMLKEM() {
		t.Error("WithMLKEM changed its receiver")
	}
	if got := full.PublicKeys(); got.X25519 != old.Public() || len(got.MLKEM) != MLKEMPublicKeySize {
		t.Errorf("PublicKeys after WithMLKEM: %x and %d bytes", got.X25519, len(got.MLKEM))
	}
	again, err := full.WithMLKEM(bytes.NewReader(randomBytes(t, mlkem.SeedSize)))
	if err != nil || !sameKey(again, full) || again == full {
		t.Errorf("WithMLKEM of a full key: %v; want a copy of the same key", err)
	}
	if _, err := old.WithMLKEM(bytes.NewReader(seed[:63])); err == nil {
		t.Error("WithMLKEM with 63 random bytes succeeded")
	}
	// The copy is independent: zeroing it leaves the original working.
	again.Zero()
	if !full.HasMLKEM() || *full.seed == [mlkem.SeedSize]byte{} {
		t.Error("zeroing the copy zeroed the original")
	}
}

// A key fresh from its wrapping makes its expanded forms on first use,
// once, whichever goroutine comes first; run under -race this shows that
// the package's claim of safe concurrent use holds.
func TestPrivateKeyConcurrentUse(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	want := k.PublicKeys()
	dk := mustDataKey(t)
	sealedV1, err := SealDataKey(rand.Reader, dk, want.X25519, testBinding)
	if err != nil {
		t.Fatal(err)
	}
	sealedV2, err := SealDataKey(rand.Reader, dk, want, testBinding)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := WrapWithRecoveryKey(rand.Reader, k, RecoveryKey{7})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := UnwrapWithRecoveryKey(wrapped, RecoveryKey{7})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = fresh.OpenDataKey(sealedV1, testBinding)
			case 1:
				_, err = fresh.OpenDataKey(sealedV2, testBinding)
			case 2:
				if got := fresh.PublicKeys(); got.X25519 != want.X25519 || !bytes.Equal(got.MLKEM, want.MLKEM) {
					err = errors.New("other public keys")
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestZero(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	sealedV1, err := SealDataKey(rand.Reader, mustDataKey(t), k.Public(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	sealedV2, err := SealDataKey(rand.Reader, mustDataKey(t), k.PublicKeys(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	if k.x != [32]byte{} || *k.seed != [mlkem.SeedSize]byte{} {
		t.Error("PrivateKey.Zero left bytes")
	}
	// The expanded keys are forgotten too: nothing opens any more.
	for name, sealed := range map[string][]byte{"v1": sealedV1, "v2": sealedV2} {
		if _, err := k.OpenDataKey(sealed, testBinding); !errors.Is(err, ErrOpen) {
			t.Errorf("zeroed key opens %s: err = %v, want ErrOpen", name, err)
		}
	}
	if k.Public() != (PublicKey{}) || k.PublicKeys().MLKEM != nil {
		t.Error("a zeroed key still has public keys")
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
	for _, kind := range keyKinds {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				k := kind.new(t)
				wrapped, err := WrapWithPassword(rand.Reader, k, tt.password, tt.params)
				if err != nil {
					t.Fatal(err)
				}
				if len(wrapped) != kind.pwLen || wrapped[0] != kind.version {
					t.Errorf("wrapping is %d bytes of format %d, want %d of format %d", len(wrapped), wrapped[0], kind.pwLen, kind.version)
				}
				p, err := PasswordParams(wrapped)
				if err != nil || p != tt.params {
					t.Errorf("PasswordParams = %+v, %v; want %+v", p, err, tt.params)
				}
				got, err := UnwrapWithPassword(wrapped, tt.password)
				if err != nil {
					t.Fatal(err)
				}
				if !sameKey(got, k) || got.HasMLKEM() != kind.hasMLKEM {
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
	for _, kind := range keyKinds {
		k := kind.new(t)
		wrapped, err := WrapWithPassword(rand.Reader, k, []byte("pw"), cheapKDF)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
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
			t.Errorf("%s: changed parameters: err = %v, want ErrOpen", kind.name, err)
		}
	}
}

func TestPasswordWrappingMalformed(t *testing.T) {
	t.Parallel()
	for _, kind := range keyKinds {
		k := kind.new(t)
		wrapped, err := WrapWithPassword(rand.Reader, k, []byte("pw"), cheapKDF)
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{
			"nil":            nil,
			"version only":   wrapped[:1],
			"short":          wrapped[:len(wrapped)-1],
			"long":           append(bytes.Clone(wrapped), 0),
			"other version":  append([]byte{3 - kind.version}, wrapped[1:]...),
			"version 0":      append([]byte{0}, wrapped[1:]...),
			"version 3":      append([]byte{3}, wrapped[1:]...),
			"the other size": append(bytes.Clone(wrapped[:1]), make([]byte, 98+162-1-len(wrapped))...),
		} {
			if _, err := PasswordParams(b); !errors.Is(err, ErrFormat) {
				t.Errorf("%s: %s: PasswordParams err = %v, want ErrFormat", kind.name, name, err)
			}
			if _, err := UnwrapWithPassword(b, []byte("pw")); !errors.Is(err, ErrFormat) {
				t.Errorf("%s: %s: UnwrapWithPassword err = %v, want ErrFormat", kind.name, name, err)
			}
		}
		// A changed salt, nonce or ciphertext byte makes it not open.
		for _, i := range []int{10, 25, 26, 49, 50, 97, len(wrapped) - 1} {
			b := bytes.Clone(wrapped)
			b[i] ^= 0x01
			if _, err := UnwrapWithPassword(b, []byte("pw")); !errors.Is(err, ErrOpen) {
				t.Errorf("%s: byte %d flipped: err = %v, want ErrOpen", kind.name, i, err)
			}
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
	for _, kind := range keyKinds {
		k := kind.new(t)
		rk, err := NewRecoveryKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		wrapped, err := WrapWithRecoveryKey(rand.Reader, k, rk)
		if err != nil {
			t.Fatal(err)
		}
		if len(wrapped) != kind.keyLen || wrapped[0] != kind.version {
			t.Errorf("%s: wrapping is %d bytes of format %d, want %d of format %d", kind.name, len(wrapped), wrapped[0], kind.keyLen, kind.version)
		}
		got, err := UnwrapWithRecoveryKey(wrapped, rk)
		if err != nil {
			t.Fatal(err)
		}
		if !sameKey(got, k) || got.HasMLKEM() != kind.hasMLKEM {
			t.Errorf("%s: unwrapped another key", kind.name)
		}
		wrong := rk
		wrong[31] ^= 1
		if _, err := UnwrapWithRecoveryKey(wrapped, wrong); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: wrong recovery key: err = %v, want ErrOpen", kind.name, err)
		}
		for _, i := range []int{1, 24, 25, len(wrapped) - 1} {
			if _, err := UnwrapWithRecoveryKey(flip(wrapped, i), rk); !errors.Is(err, ErrOpen) {
				t.Errorf("%s: byte %d flipped: err = %v, want ErrOpen", kind.name, i, err)
			}
		}
		for name, b := range map[string][]byte{
			"nil":           nil,
			"version only":  wrapped[:1],
			"short":         wrapped[:len(wrapped)-1],
			"long":          append(bytes.Clone(wrapped), 0),
			"other version": append([]byte{3 - kind.version}, wrapped[1:]...),
			"version 3":     append([]byte{3}, wrapped[1:]...),
		} {
			if _, err := UnwrapWithRecoveryKey(b, rk); !errors.Is(err, ErrFormat) {
				t.Errorf("%s: %s: err = %v, want ErrFormat", kind.name, name, err)
			}
		}
	}
}

func TestSessionWrapping(t *testing.T) {
	t.Parallel()
	for _, kind := range keyKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			testSessionWrapping(t, kind.new(t), kind.keyLen, kind.version)
		})
	}
}

func testSessionWrapping(t *testing.T, k *PrivateKey, size int, version byte) {
	secret := randomBytes(t, SessionSecretSize)
	id := []byte("session-0123456789abcdef")
	wrapped, err := WrapForSession(rand.Reader, k, secret, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != size || wrapped[0] != version {
		t.Errorf("wrapping is %d bytes of format %d, want %d of format %d", len(wrapped), wrapped[0], size, version)
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
		name    string
		wrapped []byte
		secret  []byte
		id      []byte
	}{
		{"wrong secret", wrapped, otherSecret, id},
		{"wrong session id", wrapped, secret, []byte("session-0123456789abcdeF")},
		{"session id prefix", wrapped, secret, id[:len(id)-1]},
		// As an HKDF salt these ids would equal id (HMAC zero-pads its key).
		{"session id with a 0x00 byte", wrapped, secret, append(bytes.Clone(id), 0)},
		{"session id with two 0x00 bytes", wrapped, secret, append(bytes.Clone(id), 0, 0)},
		{"nonce changed", flip(wrapped, 1), secret, id},
		{"last byte changed", flip(wrapped, len(wrapped)-1), secret, id},
	}
	for _, tt := range tests {
		if _, err := UnwrapForSession(tt.wrapped, tt.secret, tt.id); !errors.Is(err, ErrOpen) {
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
		{"empty wrapping", nil, secret, id},
		{"short wrapping", wrapped[:len(wrapped)-1], secret, id},
		{"long wrapping", append(bytes.Clone(wrapped), 0), secret, id},
		{"other version", append([]byte{3 - version}, wrapped[1:]...), secret, id},
		{"version 3", append([]byte{3}, wrapped[1:]...), secret, id},
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

// A wrapping of format 2 cut to format 1's length and labelled format 1
// (someone who can write the database stripping the ML-KEM half) does not
// open: the two formats use keys from different labels, and the tag covers
// the whole payload.
func TestWrappingFormatDowngrade(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	rk, err := NewRecoveryKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret, id := randomBytes(t, SessionSecretSize), []byte("s")
	password := []byte("pw")
	pw, err := WrapWithPassword(rand.Reader, k, password, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := WrapWithRecoveryKey(rand.Reader, k, rk)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := WrapForSession(rand.Reader, k, secret, id)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the header, the nonce and the box's first bytes (its tag and the
	// X25519 half), or its last bytes.
	downgrade := func(w []byte, header, size int) [][]byte {
		head := append([]byte{formatV1}, w[1:header+nonceSize]...)
		return [][]byte{
			append(bytes.Clone(head), w[header+nonceSize:size]...),
			append(bytes.Clone(head), w[len(w)-(size-header-nonceSize):]...),
		}
	}
	for _, b := range downgrade(pw, pwHeader, 98) {
		if _, err := UnwrapWithPassword(b, password); !errors.Is(err, ErrOpen) {
			t.Errorf("password wrapping cut to format 1: err = %v, want ErrOpen", err)
		}
	}
	for _, b := range downgrade(rw, 1, 73) {
		if _, err := UnwrapWithRecoveryKey(b, rk); !errors.Is(err, ErrOpen) {
			t.Errorf("recovery wrapping cut to format 1: err = %v, want ErrOpen", err)
		}
	}
	for _, b := range downgrade(sw, 1, 73) {
		if _, err := UnwrapForSession(b, secret, id); !errors.Is(err, ErrOpen) {
			t.Errorf("session wrapping cut to format 1: err = %v, want ErrOpen", err)
		}
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

// DeriveDataKey is HKDF-SHA-256 of the key's bytes with the info its doc
// gives, computed here from the spec; it differs for another purpose,
// owner or key, and a key gaining its ML-KEM half derives another key.
func TestDeriveDataKey(t *testing.T) {
	t.Parallel()
	xBytes := bytes.Repeat([]byte{1}, 32)
	seed := bytes.Repeat([]byte{2}, mlkem.SeedSize)
	old := mustX25519Key(t, bytes.NewReader(xBytes))
	full, err := old.WithMLKEM(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	spec := func(ikm []byte, purpose, owner string) []byte {
		info := []byte("postkasse/v1/derived-key")
		info = binary.BigEndian.AppendUint16(info, uint16(len(purpose)))
		info = append(info, purpose...)
		info = binary.BigEndian.AppendUint16(info, uint16(len(owner)))
		info = append(info, owner...)
		out, err := hkdf.Key(sha256.New, ikm, nil, string(info), 32)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	derived := func(k *PrivateKey, purpose, owner string) []byte {
		t.Helper()
		dk, err := k.DeriveDataKey(purpose, owner)
		if err != nil {
			t.Fatal(err)
		}
		return dk.b[:]
	}
	// The known answer, pinned: a change of the derivation fails here.
	const want = "542737666cf8a640293de93d890d6d9f87fedcae412335703d5ebfb15484e382"
	got := derived(full, "listing", "r-1")
	if !bytes.Equal(got, spec(append(bytes.Clone(xBytes), seed...), "listing", "r-1")) {
		t.Errorf("derived key %x is not HKDF-SHA-256 of both halves as specified", got)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("derived key %x, pinned %s", got, want)
	}
	if !bytes.Equal(derived(old, "listing", "r-1"), spec(xBytes, "listing", "r-1")) {
		t.Error("an X25519-only key does not derive from its X25519 half alone")
	}
	if !bytes.Equal(derived(full, "listing", "r-1"), got) {
		t.Error("deriving twice gave two keys")
	}
	seen := map[string]string{}
	for name, k := range map[string][]byte{
		"full":          got,
		"other purpose": derived(full, "listings", "r-1"),
		"other owner":   derived(full, "listing", "r-2"),
		"x25519 only":   derived(old, "listing", "r-1"),
		"shifted":       derived(full, "listingr", "-1"),
	} {
		if prev, ok := seen[string(k)]; ok {
			t.Errorf("%s derives the same key as %s", name, prev)
		}
		seen[string(k)] = name
	}
	if _, err := full.DeriveDataKey("", "r-1"); err == nil {
		t.Error("an empty purpose derived a key")
	}
}
