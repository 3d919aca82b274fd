package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport/cputime"
	"golang.org/x/crypto/nacl/secretbox"
)

var testBinding = Binding{LetterID: "letter-1", RecipientID: "resident-1", SenderID: "sender-1"}

func TestDataKeyRoundTrip(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	dk := mustDataKey(t)
	sealed, err := SealDataKey(rand.Reader, dk, k.Public(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 105 {
		t.Errorf("sealed data key is %d bytes, want 105", len(sealed))
	}
	got, err := k.OpenDataKey(sealed, testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if got.b != dk.b {
		t.Error("opened another data key")
	}
	// A fresh ephemeral key each time.
	again, err := SealDataKey(rand.Reader, dk, k.Public(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again[1:33], sealed[1:33]) {
		t.Error("two sealings share an ephemeral key")
	}
}

func TestDataKeyBinding(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	dk := mustDataKey(t)
	sealed, err := SealDataKey(rand.Reader, dk, k.Public(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    Binding
	}{
		{"another letter", Binding{"letter-2", "resident-1", "sender-1", ""}},
		{"another recipient", Binding{"letter-1", "resident-2", "sender-1", ""}},
		{"another sender", Binding{"letter-1", "resident-1", "sender-2", ""}},
		// The ids are length-prefixed: moving bytes between them changes the key.
		{"bytes moved between ids", Binding{"letter-1r", "esident-1", "sender-1", ""}},
		{"ids swapped", Binding{"resident-1", "letter-1", "sender-1", ""}},
		{"id extended with 0x00", Binding{"letter-1\x00", "resident-1", "sender-1", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := k.OpenDataKey(sealed, tt.b); !errors.Is(err, ErrOpen) {
				t.Errorf("err = %v, want ErrOpen", err)
			}
		})
	}
	t.Run("another resident", func(t *testing.T) {
		t.Parallel()
		other := mustKeyPair(t)
		if _, err := other.OpenDataKey(sealed, testBinding); !errors.Is(err, ErrOpen) {
			t.Errorf("err = %v, want ErrOpen", err)
		}
	})
}

func TestDataKeyMalformed(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	dk := mustDataKey(t)
	sealed, err := SealDataKey(rand.Reader, dk, k.Public(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"nil":       nil,
		"short":     sealed[:104],
		"long":      append(bytes.Clone(sealed), 0),
		"version 2": append([]byte{2}, sealed[1:]...),
	} {
		if _, err := k.OpenDataKey(b, testBinding); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	for _, b := range []Binding{
		{"", "resident-1", "sender-1", ""},
		{"letter-1", "", "sender-1", ""},
		{"letter-1", "resident-1", "", ""},
		{string(make([]byte, 65536)), "resident-1", "sender-1", ""},
	} {
		if _, err := k.OpenDataKey(sealed, b); !errors.Is(err, ErrFormat) {
			t.Errorf("binding with %d-, %d-, %d-byte ids: err = %v, want ErrFormat",
				len(b.LetterID), len(b.RecipientID), len(b.SenderID), err)
		}
		if _, err := SealDataKey(rand.Reader, dk, k.Public(), b); !errors.Is(err, ErrFormat) {
			t.Errorf("SealDataKey with %d-, %d-, %d-byte ids: err = %v, want ErrFormat",
				len(b.LetterID), len(b.RecipientID), len(b.SenderID), err)
		}
	}
	// Every changed byte fails, including the top bit of the ephemeral key,
	// which X25519 ignores (RFC 7748 §5) but the HKDF salt does not.
	for _, i := range []int{1, 32, 33, 56, 57, 104} {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(sealed)
			b[i] ^= bit
			if _, err := k.OpenDataKey(b, testBinding); !errors.Is(err, ErrOpen) {
				t.Errorf("byte %d bit %#x flipped: err = %v, want ErrOpen", i, bit, err)
			}
		}
	}
	// A low-order ephemeral key (here zero) gives an all-zero shared secret.
	b := bytes.Clone(sealed)
	clear(b[1:33])
	if _, err := k.OpenDataKey(b, testBinding); !errors.Is(err, ErrOpen) {
		t.Errorf("zero ephemeral key: err = %v, want ErrOpen", err)
	}
	if _, err := SealDataKey(rand.Reader, dk, PublicKey{}, testBinding); !errors.Is(err, ErrFormat) {
		t.Errorf("sealing to the zero public key: err = %v, want ErrFormat", err)
	}
}

// sealV2 seals a fresh data key to k's public keys in format 2.
func sealV2(t testing.TB, k *PrivateKey) (*DataKey, []byte) {
	t.Helper()
	dk := mustDataKey(t)
	sealed, err := SealDataKey(rand.Reader, dk, k.PublicKeys(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	return dk, sealed
}

func TestDataKeyV2RoundTrip(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	dk, sealed := sealV2(t, k)
	if len(sealed) != 1169 || sealed[0] != 2 {
		t.Errorf("sealed data key is %d bytes of format %d, want 1169 of format 2", len(sealed), sealed[0])
	}
	got, err := k.OpenDataKey(sealed, testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if got.b != dk.b {
		t.Error("opened another data key")
	}
	// A key unwrapped from storage (its expanded forms made afresh) opens it.
	wrapped, err := WrapWithRecoveryKey(rand.Reader, k, RecoveryKey{1})
	if err != nil {
		t.Fatal(err)
	}
	unwrapped, err := UnwrapWithRecoveryKey(wrapped, RecoveryKey{1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := unwrapped.OpenDataKey(sealed, testBinding); err != nil || got.b != dk.b {
		t.Errorf("unwrapped key: %v, or another data key", err)
	}
	// A fresh encapsulation each time: both halves of the ciphertext differ.
	again, err := SealDataKey(rand.Reader, dk, k.PublicKeys(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again[1:1089], sealed[1:1089]) || bytes.Equal(again[1089:1121], sealed[1089:1121]) {
		t.Error("two sealings share an ML-KEM ciphertext or an X25519 share")
	}
}

// A sealed data key v2 is bound like v1 to the letter, the recipient and
// the sender, and it opens only with both private halves: a key that shares
// one half with the recipient's (as someone who broke that half alone would
// hold) opens nothing.
func TestDataKeyV2Binding(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	_, sealed := sealV2(t, k)
	tests := []struct {
		name string
		b    Binding
	}{
		{"another letter", Binding{"letter-2", "resident-1", "sender-1", ""}},
		{"another recipient", Binding{"letter-1", "resident-2", "sender-1", ""}},
		{"another sender", Binding{"letter-1", "resident-1", "sender-2", ""}},
		{"bytes moved between ids", Binding{"letter-1r", "esident-1", "sender-1", ""}},
		{"ids swapped", Binding{"resident-1", "letter-1", "sender-1", ""}},
		{"id extended with 0x00", Binding{"letter-1\x00", "resident-1", "sender-1", ""}},
	}
	for _, tt := range tests {
		if _, err := k.OpenDataKey(sealed, tt.b); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", tt.name, err)
		}
	}
	other := mustKeyPair(t)
	sameX25519 := &PrivateKey{x: k.x, seed: other.seed}
	sameMLKEM := &PrivateKey{x: other.x, seed: k.seed}
	for name, key := range map[string]*PrivateKey{
		"another resident":                         other,
		"the X25519 half with another ML-KEM half": sameX25519,
		"the ML-KEM half with another X25519 half": sameMLKEM,
	} {
		if _, err := key.OpenDataKey(sealed, testBinding); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
	// The resident's own key as wrapped before the upgrade: the X25519 half
	// alone. It says why it cannot open, and still opens v1.
	old := &PrivateKey{x: k.x}
	if _, err := old.OpenDataKey(sealed, testBinding); !errors.Is(err, ErrNoMLKEM) || errors.Is(err, ErrOpen) {
		t.Errorf("X25519 half alone: err = %v, want ErrNoMLKEM", err)
	}
	dk := mustDataKey(t)
	sealedV1, err := SealDataKey(rand.Reader, dk, old.Public(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := old.OpenDataKey(sealedV1, testBinding); err != nil || got.b != dk.b {
		t.Errorf("X25519 half alone with v1: %v", err)
	}
}

func TestDataKeyV2Malformed(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	dk, sealed := sealV2(t, k)
	sealedV1, err := SealDataKey(rand.Reader, dk, k.Public(), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"version only":             sealed[:1],
		"short":                    sealed[:1168],
		"long":                     append(bytes.Clone(sealed), 0),
		"version 1":                append([]byte{1}, sealed[1:]...),
		"version 3":                append([]byte{3}, sealed[1:]...),
		"version 0":                append([]byte{0}, sealed[1:]...),
		"v1's length as version 2": append([]byte{2}, sealedV1[1:]...),
		"v1 with v2's length":      append(bytes.Clone(sealedV1), make([]byte, 1169-105)...),
	} {
		if _, err := k.OpenDataKey(b, testBinding); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	// Layout: 02 | ML-KEM ciphertext [1:1089] | X25519 share [1089:1121] |
	// ChaCha20-Poly1305 box [1121:1169]. A changed bit anywhere fails,
	// including the top bit of the X25519 share, which X25519 ignores (RFC
	// 7748 §5) but the X-Wing combiner hashes.
	for _, tt := range []struct {
		part string
		i    int
		bit  byte
	}{
		{"ML-KEM ciphertext, first byte", 1, 0x01},
		{"ML-KEM ciphertext, middle", 545, 0x10},
		{"ML-KEM ciphertext, last byte", 1088, 0x80},
		{"X25519 share, first byte", 1089, 0x01},
		{"X25519 share, top bit", 1120, 0x80},
		{"box, first byte", 1121, 0x01},
		{"box, tag's last byte", 1168, 0x01},
	} {
		b := bytes.Clone(sealed)
		b[tt.i] ^= tt.bit
		if _, err := k.OpenDataKey(b, testBinding); !errors.Is(err, ErrOpen) {
			t.Errorf("%s changed: err = %v, want ErrOpen", tt.part, err)
		}
	}
	// A low-order X25519 share (zero) fails the exchange.
	b := bytes.Clone(sealed)
	clear(b[1089:1121])
	if _, err := k.OpenDataKey(b, testBinding); !errors.Is(err, ErrOpen) {
		t.Errorf("zero X25519 share: err = %v, want ErrOpen", err)
	}
	for _, b := range []Binding{
		{"", "resident-1", "sender-1", ""},
		{"letter-1", "", "sender-1", ""},
		{"letter-1", "resident-1", "", ""},
		{string(make([]byte, 65536)), "resident-1", "sender-1", ""},
	} {
		if _, err := k.OpenDataKey(sealed, b); !errors.Is(err, ErrFormat) {
			t.Errorf("binding with %d-, %d-, %d-byte ids: err = %v, want ErrFormat",
				len(b.LetterID), len(b.RecipientID), len(b.SenderID), err)
		}
		if _, err := SealDataKey(rand.Reader, dk, k.PublicKeys(), b); !errors.Is(err, ErrFormat) {
			t.Errorf("SealDataKey with %d-, %d-, %d-byte ids: err = %v, want ErrFormat",
				len(b.LetterID), len(b.RecipientID), len(b.SenderID), err)
		}
	}
}

// SealDataKey picks the format from the recipient's keys and refuses keys
// it cannot seal to both halves of: nothing is sealed to half a key pair.
func TestSealDataKeyRecipients(t *testing.T) {
	t.Parallel()
	k := mustKeyPair(t)
	full := k.PublicKeys()
	dk := mustDataKey(t)
	tooBig := bytes.Repeat([]byte{0xff}, MLKEMPublicKeySize) // coefficients above q (FIPS 203 §7.2)
	lowOrder := PublicKey{1}                                 // u = 1 has order 4
	refused := map[string]Recipient{
		"zero PublicKey":                   PublicKey{},
		"low-order PublicKey":              lowOrder,
		"ML-KEM key without an X25519 key": PublicKeys{MLKEM: full.MLKEM},
		"ML-KEM key one byte short":        PublicKeys{X25519: full.X25519, MLKEM: full.MLKEM[:MLKEMPublicKeySize-1]},
		"ML-KEM key one byte long":         PublicKeys{X25519: full.X25519, MLKEM: append(bytes.Clone(full.MLKEM), 0)},
		"ML-KEM key of one byte":           PublicKeys{X25519: full.X25519, MLKEM: []byte{0}},
		"ML-KEM key with X25519's length":  PublicKeys{X25519: full.X25519, MLKEM: full.X25519[:]},
		"ML-KEM key out of range":          PublicKeys{X25519: full.X25519, MLKEM: tooBig},
		"low-order X25519 key":             PublicKeys{X25519: lowOrder, MLKEM: full.MLKEM},
	}
	for name, to := range refused {
		if sealed, err := SealDataKey(rand.Reader, dk, to, testBinding); !errors.Is(err, ErrFormat) || sealed != nil {
			t.Errorf("%s: %d bytes, err = %v; want ErrFormat", name, len(sealed), err)
		}
	}
	for _, tt := range []struct {
		name    string
		to      Recipient
		version byte
		size    int
	}{
		{"PublicKey", k.Public(), 1, 105},
		{"PublicKeys without ML-KEM", PublicKeys{X25519: full.X25519}, 1, 105},
		{"PublicKeys with an empty ML-KEM key", PublicKeys{X25519: full.X25519, MLKEM: []byte{}}, 1, 105},
		{"PublicKeys with ML-KEM", full, 2, 1169},
	} {
		sealed, err := SealDataKey(rand.Reader, dk, tt.to, testBinding)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(sealed) != tt.size || sealed[0] != tt.version {
			t.Errorf("%s: %d bytes of format %d, want %d of format %d", tt.name, len(sealed), sealed[0], tt.size, tt.version)
		}
		if got, err := k.OpenDataKey(sealed, testBinding); err != nil || got.b != dk.b {
			t.Errorf("%s: does not open: %v", tt.name, err)
		}
	}
}

func TestFieldRoundTrip(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t)
	tests := []struct {
		label     string
		plaintext []byte
	}{
		{"subject", []byte("Decision on your application for housing benefit")},
		{"body", bytes.Repeat([]byte("Dear resident, "), 1000)},
		{"document/0/name", []byte("afgørelse.pdf")},
		{"empty", []byte{}},
		{"", []byte("empty label")},
	}
	for _, tt := range tests {
		sealed, err := dk.SealField(rand.Reader, tt.label, tt.plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + 24 + len(tt.plaintext) + secretbox.Overhead; len(sealed) != want {
			t.Errorf("%q: sealed %d bytes, want %d", tt.label, len(sealed), want)
		}
		got, err := dk.OpenField(tt.label, sealed)
		if err != nil {
			t.Fatalf("%q: %v", tt.label, err)
		}
		if !bytes.Equal(got, tt.plaintext) {
			t.Errorf("%q: opened %q, want %q", tt.label, got, tt.plaintext)
		}
	}
}

func TestFieldBinding(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t)
	other := mustDataKey(t)
	sealed, err := dk.SealField(rand.Reader, "subject", []byte("Your tax assessment"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		dk    *DataKey
		label string
		b     []byte
	}{
		{"another label", dk, "body", sealed},
		{"label prefix", dk, "subjec", sealed},
		{"another letter's data key", other, "subject", sealed},
		{"version byte kept, nonce changed", dk, "subject", flip(sealed, 1)},
		{"ciphertext changed", dk, "subject", flip(sealed, 30)},
		{"tag changed", dk, "subject", flip(sealed, len(sealed)-1)},
		{"truncated", dk, "subject", sealed[:len(sealed)-1]},
		{"extended", dk, "subject", append(bytes.Clone(sealed), 0)},
	}
	for _, tt := range tests {
		if _, err := tt.dk.OpenField(tt.label, tt.b); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", tt.name, err)
		}
	}
	// A field never opens as a document, nor a document as a field: their
	// keys come from different labels (a document v1 has a field's
	// version byte), and a document v2 has another version byte.
	for _, tt := range []struct {
		v    byte
		want error
	}{{formatV1, ErrOpen}, {formatV2, ErrFormat}} {
		doc, err := dk.appendSealedDocument(nil, rand.Reader, tt.v, "subject", []byte("Your tax assessment"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dk.OpenField("subject", doc); !errors.Is(err, tt.want) {
			t.Errorf("document v%d opened as a field: err = %v, want %v", tt.v, err, tt.want)
		}
	}
	if _, err := dk.OpenDocument("subject", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("field opened as a document: err = %v, want ErrOpen", err)
	}
	for name, b := range map[string][]byte{
		"nil":        nil,
		"too short":  sealed[:1+24+secretbox.Overhead-1],
		"version 2":  append([]byte{2}, sealed[1:]...),
		"version 0":  append([]byte{0}, sealed[1:]...),
		"only a tag": sealed[:1+24],
	} {
		if _, err := dk.OpenField("subject", b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// BenchmarkSealDataKey measures sealing a data key to a resident in each
// format and reports the sealed key's size ("B/sealed-key") and the CPU
// time per seal ("cpu-ns/op": the process's, which other processes on a
// shared machine do not inflate as they do ns/op). The v2 case then seals
// in v1 and v2 alternately and reports v2's CPU time as a ratio to v1's
// ("xv1"), a comparison made within one run:
//
//	go test ./crypto -run '^$' -bench DataKey -count 5
func BenchmarkSealDataKey(b *testing.B) {
	k := mustKeyPair(b)
	dk := mustDataKey(b)
	var sealed []byte
	seal := func(b *testing.B, to Recipient) func() {
		return func() {
			var err error
			if sealed, err = SealDataKey(rand.Reader, dk, to, testBinding); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("v1", func(b *testing.B) {
		benchCPU(b, seal(b, k.Public()))
		b.ReportMetric(float64(len(sealed)), "B/sealed-key")
	})
	b.Run("v2", func(b *testing.B) {
		benchCPU(b, seal(b, k.PublicKeys()))
		b.ReportMetric(float64(len(sealed)), "B/sealed-key")
		compareCPU(b, "v1", seal(b, k.PublicKeys()), seal(b, k.Public()))
	})
}

// BenchmarkOpenDataKey measures opening a sealed data key in each format:
// with a private key in use ("v1", "v2": its expanded forms made, as while
// a mailbox lists its letters), and right after unwrapping it from a
// session wrapping ("-unwrapped": the first open of a request, which makes
// the expanded forms). The v2 cases report their CPU time as a ratio to
// the matching v1 case's, measured alternately in the same run.
func BenchmarkOpenDataKey(b *testing.B) {
	k := mustKeyPair(b)
	dk := mustDataKey(b)
	sealedV1, err := SealDataKey(rand.Reader, dk, k.Public(), testBinding)
	if err != nil {
		b.Fatal(err)
	}
	sealedV2, err := SealDataKey(rand.Reader, dk, k.PublicKeys(), testBinding)
	if err != nil {
		b.Fatal(err)
	}
	secret := randomBytes(b, SessionSecretSize)
	id := []byte("session-1")
	wrapped, err := WrapForSession(rand.Reader, k, secret, id)
	if err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B, sealed []byte) func() {
		return func() {
			if _, err := k.OpenDataKey(sealed, testBinding); err != nil {
				b.Fatal(err)
			}
		}
	}
	openUnwrapped := func(b *testing.B, sealed []byte) func() {
		return func() {
			k, err := UnwrapForSession(wrapped, secret, id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := k.OpenDataKey(sealed, testBinding); err != nil {
				b.Fatal(err)
			}
			k.Zero()
		}
	}
	b.Run("v1", func(b *testing.B) { benchCPU(b, open(b, sealedV1)) })
	b.Run("v2", func(b *testing.B) {
		benchCPU(b, open(b, sealedV2))
		compareCPU(b, "v1", open(b, sealedV2), open(b, sealedV1))
	})
	b.Run("v1-unwrapped", func(b *testing.B) { benchCPU(b, openUnwrapped(b, sealedV1)) })
	b.Run("v2-unwrapped", func(b *testing.B) {
		benchCPU(b, openUnwrapped(b, sealedV2))
		compareCPU(b, "v1", openUnwrapped(b, sealedV2), openUnwrapped(b, sealedV1))
	})
}

// benchCPU runs op in b's loop and reports the process's CPU time per
// operation ("cpu-ns/op"), where the platform reports it.
func benchCPU(b *testing.B, op func()) {
	b.Helper()
	c0, ok := cputime.Process()
	for b.Loop() {
		op()
	}
	if c1, _ := cputime.Process(); ok {
		b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
	}
}

// compareCPU runs op and baseline alternately b.N times each, after b's
// loop, and reports op's CPU time as a ratio to baseline's ("x<name>"):
// alternating, both see the same machine. Where the platform does not
// report CPU time it compares wall-clock time.
func compareCPU(b *testing.B, name string, op, baseline func()) {
	b.Helper()
	own, base := alternateCPU(b, op, baseline)
	b.ReportMetric(own.Seconds()/base.Seconds(), "x"+name)
}

// alternateCPU runs op and baseline alternately b.N times each and
// returns the CPU time (or, where the platform does not report it, the
// wall-clock time) each took in all.
func alternateCPU(b *testing.B, op, baseline func()) (own, base time.Duration) {
	b.Helper()
	now := func() time.Duration {
		if c, ok := cputime.Process(); ok {
			return c
		}
		return time.Duration(time.Now().UnixNano())
	}
	for range b.N {
		t0 := now()
		op()
		t1 := now()
		baseline()
		t2 := now()
		own += t1 - t0
		base += t2 - t1
	}
	return own, base
}

// TestDataKeyDelegateBinding: a copy of a data key sealed to a delegate
// opens only with the delegate's key and the delegate's binding; it never
// opens as the recipient's own copy or as a letter addressed to the
// delegate, and the recipient's own copy never opens as a delegate's, in
// either format.
func TestDataKeyDelegateBinding(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"v1", "v2"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			owner, delegate := mustKeyPair(t), mustKeyPair(t)
			to := func(k *PrivateKey) Recipient {
				if format == "v1" {
					return k.Public()
				}
				return k.PublicKeys()
			}
			dk := mustDataKey(t)
			own := Binding{LetterID: "letter-1", RecipientID: "owner-1", SenderID: "sender-1"}
			asDelegate := Binding{LetterID: "letter-1", RecipientID: "owner-1", SenderID: "sender-1", Delegate: "delegate-1"}
			ownSealed, err := SealDataKey(rand.Reader, dk, to(owner), own)
			if err != nil {
				t.Fatal(err)
			}
			delegateSealed, err := SealDataKey(rand.Reader, dk, to(delegate), asDelegate)
			if err != nil {
				t.Fatal(err)
			}
			got, err := delegate.OpenDataKey(delegateSealed, asDelegate)
			if err != nil || got.b != dk.b {
				t.Fatalf("the delegate's copy did not open for the delegate: %v", err)
			}
			bad := []struct {
				name   string
				k      *PrivateKey
				sealed []byte
				b      Binding
			}{
				{"delegate's copy as the owner's, owner's key", owner, delegateSealed, own},
				{"delegate's copy as the owner's, delegate's key", delegate, delegateSealed, own},
				{"delegate's copy as a letter to the delegate", delegate, delegateSealed, Binding{LetterID: "letter-1", RecipientID: "delegate-1", SenderID: "sender-1"}},
				{"delegate's copy for another delegate", delegate, delegateSealed, Binding{LetterID: "letter-1", RecipientID: "owner-1", SenderID: "sender-1", Delegate: "delegate-2"}},
				{"delegate's copy for another grantor", delegate, delegateSealed, Binding{LetterID: "letter-1", RecipientID: "owner-2", SenderID: "sender-1", Delegate: "delegate-1"}},
				{"delegate's copy with the owner's key", owner, delegateSealed, asDelegate},
				{"owner's copy as the delegate's, owner's key", owner, ownSealed, asDelegate},
				{"owner's copy with the delegate's key", delegate, ownSealed, asDelegate},
			}
			for _, tt := range bad {
				if _, err := tt.k.OpenDataKey(tt.sealed, tt.b); !errors.Is(err, ErrOpen) {
					t.Errorf("%s: err = %v, want ErrOpen", tt.name, err)
				}
			}
		})
	}
}
