package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// The fuzz targets below cover every decoder of stored or untrusted bytes.
// Each checks that a decoder never panics, fails only with ErrFormat or
// ErrOpen, and that whatever opens is exactly the original: forging or
// moving a ciphertext must not be possible. Fixtures come from fixed
// randomness so that a failing input found once fails again. `go test`
// runs every target on its seeds; `go test -fuzz FuzzName` explores. The
// inputs of FuzzOpenDataKey and FuzzSealDataKey are over a kilobyte (an
// ML-KEM-768 ciphertext or key), which the fuzzer takes a minute to
// minimise whenever it finds a new one: explore them with
// -fuzzminimizetime 2s.

func mustNot(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// failsCleanly reports whether err is one of the errors a decoder may give
// for bad input.
func failsCleanly(err error) bool {
	return errors.Is(err, ErrFormat) || errors.Is(err, ErrOpen)
}

// wrappedKey is a private key and one wrapping of it.
type wrappedKey struct {
	k       *PrivateKey
	wrapped []byte
}

// wrappingFixtures returns a wrapping of each format made by wrap: of a key
// with the X25519 half only (format 1) and of one with both halves (format
// 2), from fixed randomness.
func wrappingFixtures(tb testing.TB, label string, wrap func(r io.Reader, k *PrivateKey) ([]byte, error)) []wrappedKey {
	r := detRand(label)
	old := mustX25519Key(tb, r)
	full, err := GenerateKeyPair(r)
	mustNot(tb, err, "key pair")
	var out []wrappedKey
	for _, k := range []*PrivateKey{old, full} {
		w, err := wrap(r, k)
		mustNot(tb, err, "wrap")
		out = append(out, wrappedKey{k, w})
	}
	return out
}

// opensTo reports whether wrapped is one of the fixtures and k its key.
func opensTo(fx []wrappedKey, wrapped []byte, k *PrivateKey) bool {
	for _, w := range fx {
		if bytes.Equal(w.wrapped, wrapped) {
			return sameKey(w.k, k)
		}
	}
	return false
}

var fuzzPassword = []byte("correct horse")

func passwordFixtures(tb testing.TB) []wrappedKey {
	return wrappingFixtures(tb, "fuzz/password", func(r io.Reader, k *PrivateKey) ([]byte, error) {
		return WrapWithPassword(r, k, fuzzPassword, cheapKDF)
	})
}

func FuzzPasswordParams(f *testing.F) {
	for _, fx := range passwordFixtures(f) {
		f.Add(fx.wrapped)
		f.Add(forgeParams(fx.wrapped, KDFParams{Time: 1, MemoryKiB: 0xffffffff, Threads: 1}))
		f.Add(forgeParams(fx.wrapped, KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}))
		f.Add(forgeParams(fx.wrapped, DefaultKDFParams()))
		f.Add(append([]byte{3 - fx.wrapped[0]}, fx.wrapped[1:]...))
		f.Add(fx.wrapped[:10])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, wrapped []byte) {
		p, err := PasswordParams(wrapped)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
			return
		}
		format1 := wrapped[0] == formatV1 && len(wrapped) == 98
		format2 := wrapped[0] == formatV2 && len(wrapped) == 162
		if !p.valid() || !format1 && !format2 {
			t.Fatalf("accepted %d bytes of format %d with parameters %+v", len(wrapped), wrapped[0], p)
		}
		// The parameters decoded are exactly the header's bytes.
		if !bytes.Equal(forgeParams(wrapped, p)[:10], wrapped[:10]) {
			t.Fatalf("parameters %+v do not re-encode to %x", p, wrapped[:10])
		}
	})
}

func FuzzUnwrapWithPassword(f *testing.F) {
	fxs := passwordFixtures(f)
	for _, fx := range fxs {
		f.Add(fx.wrapped, fuzzPassword)
		f.Add(fx.wrapped, []byte("correct horsE"))
		f.Add(fx.wrapped, []byte{})
		f.Add(forgeParams(fx.wrapped, KDFParams{Time: 1, MemoryKiB: 0xffffffff, Threads: 1}), fuzzPassword)
		f.Add(forgeParams(fx.wrapped, KDFParams{Time: 2, MemoryKiB: 64, Threads: 1}), fuzzPassword)
		f.Add(fx.wrapped[:len(fx.wrapped)-1], fuzzPassword)
	}
	// Format 2 cut to format 1's length and labelled format 1.
	f.Add(append([]byte{1}, fxs[1].wrapped[1:98]...), fuzzPassword)
	f.Fuzz(func(t *testing.T, wrapped, password []byte) {
		p, perr := PasswordParams(wrapped)
		if perr != nil {
			// Refused before any Argon2id work.
			if _, err := UnwrapWithPassword(wrapped, password); !errors.Is(err, ErrFormat) {
				t.Fatalf("PasswordParams refused (%v) but UnwrapWithPassword gave %v", perr, err)
			}
			return
		}
		if p.Time > 2 || p.MemoryKiB > 256 || p.Threads > 2 {
			// Valid, but too costly to run once per fuzz input.
			return
		}
		got, err := UnwrapWithPassword(wrapped, password)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
			return
		}
		if !opensTo(fxs, wrapped, got) || !bytes.Equal(password, fuzzPassword) {
			t.Fatalf("opened a wrapping that is not an original: %x with password %q", wrapped, password)
		}
	})
}

func FuzzUnwrapWithRecoveryKey(f *testing.F) {
	rk, err := NewRecoveryKey(detRand("fuzz/recovery-key"))
	mustNot(f, err, "recovery key")
	fxs := wrappingFixtures(f, "fuzz/recovery", func(r io.Reader, k *PrivateKey) ([]byte, error) {
		return WrapWithRecoveryKey(r, k, rk)
	})
	wrongRK := rk
	wrongRK[0] ^= 1
	for _, fx := range fxs {
		f.Add(fx.wrapped, rk[:])
		f.Add(fx.wrapped, wrongRK[:])
		f.Add(fx.wrapped[:len(fx.wrapped)-1], rk[:])
		f.Add(append([]byte{3 - fx.wrapped[0]}, fx.wrapped[1:]...), rk[:])
	}
	f.Add(append([]byte{1}, fxs[1].wrapped[1:73]...), rk[:])
	f.Fuzz(func(t *testing.T, b, key []byte) {
		var fuzzRK RecoveryKey
		copy(fuzzRK[:], key)
		got, err := UnwrapWithRecoveryKey(b, fuzzRK)
		if err != nil {
			if !failsCleanly(err) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		if !opensTo(fxs, b, got) || fuzzRK != rk {
			t.Fatalf("opened a wrapping that is not an original: %x with %x", b, fuzzRK)
		}
	})
}

func FuzzUnwrapForSession(f *testing.F) {
	secret := make([]byte, SessionSecretSize)
	_, _ = detRand("fuzz/session-secret").Read(secret)
	id := []byte("session-1")
	fxs := wrappingFixtures(f, "fuzz/session", func(r io.Reader, k *PrivateKey) ([]byte, error) {
		return WrapForSession(r, k, secret, id)
	})
	for _, fx := range fxs {
		f.Add(fx.wrapped, secret, id)
		f.Add(fx.wrapped, secret, []byte("session-1\x00"))
		f.Add(fx.wrapped, secret, []byte{})
		f.Add(fx.wrapped, secret[:31], id)
		f.Add(fx.wrapped[:len(fx.wrapped)-1], secret, id)
		f.Add(append([]byte{3 - fx.wrapped[0]}, fx.wrapped[1:]...), secret, id)
	}
	f.Fuzz(func(t *testing.T, b, s, sessionID []byte) {
		got, err := UnwrapForSession(b, s, sessionID)
		if err != nil {
			if !failsCleanly(err) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		if !opensTo(fxs, b, got) || !bytes.Equal(s, secret) || !bytes.Equal(sessionID, id) {
			t.Fatalf("opened a wrapping that is not an original: %x, secret %x, session %q", b, s, sessionID)
		}
	})
}

// dataKeyFixture is the committed known-answer vectors' key with both
// halves, the same key with its X25519 half only, and the data key sealed
// to it in both formats: fixed bytes, though a sealed data key v2 draws its
// randomness from the system, so that a failing input found once fails
// again.
type dataKeyFixture struct {
	full, old *PrivateKey
	dk        *DataKey
	b         Binding
	v1, v2    []byte
}

func newDataKeyFixture(tb testing.TB) dataKeyFixture {
	v := readVectors(tb)
	var rk RecoveryKey
	copy(rk[:], mustHex(tb, v.RecoveryKey))
	full, err := UnwrapWithRecoveryKey(mustHex(tb, v.RecoveryWrappingV2), rk)
	mustNot(tb, err, "recovery wrapping v2")
	old, err := UnwrapWithRecoveryKey(mustHex(tb, v.RecoveryWrapping), rk)
	mustNot(tb, err, "recovery wrapping v1")
	dk := &DataKey{}
	copy(dk.b[:], mustHex(tb, v.DataKey))
	return dataKeyFixture{full, old, dk, Binding(v.Binding), mustHex(tb, v.SealedDataKey), mustHex(tb, v.SealedDataKeyV2)}
}

func FuzzOpenDataKey(f *testing.F) {
	fx := newDataKeyFixture(f)
	b := fx.b
	for _, sealed := range [][]byte{fx.v1, fx.v2} {
		f.Add(sealed, b.LetterID, b.RecipientID, b.SenderID)
		f.Add(sealed, b.LetterID+"2", b.RecipientID, b.SenderID)
		f.Add(sealed, b.LetterID+b.RecipientID[:1], b.RecipientID[1:], b.SenderID)
		f.Add(sealed, "", b.RecipientID, b.SenderID)
		f.Add(sealed[:len(sealed)-1], b.LetterID, b.RecipientID, b.SenderID)
		f.Add(append([]byte{3 - sealed[0]}, sealed[1:]...), b.LetterID, b.RecipientID, b.SenderID)
		f.Add(flip(sealed, len(sealed)-1), b.LetterID, b.RecipientID, b.SenderID)
	}
	f.Add(flip(fx.v1, 32), b.LetterID, b.RecipientID, b.SenderID)
	f.Add(flip(fx.v2, 1), b.LetterID, b.RecipientID, b.SenderID)    // ML-KEM ciphertext
	f.Add(flip(fx.v2, 1100), b.LetterID, b.RecipientID, b.SenderID) // X25519 share
	f.Fuzz(func(t *testing.T, s []byte, letterID, recipientID, senderID string) {
		fb := Binding{LetterID: letterID, RecipientID: recipientID, SenderID: senderID}
		for _, k := range []*PrivateKey{fx.full, fx.old} {
			got, err := k.OpenDataKey(s, fb)
			if err != nil {
				if !failsCleanly(err) && !errors.Is(err, ErrNoMLKEM) {
					t.Fatalf("err = %v", err)
				}
				if errors.Is(err, ErrNoMLKEM) && (k.HasMLKEM() || len(s) != sealedDataKeyV2Len || s[0] != formatV2) {
					t.Fatalf("ErrNoMLKEM for %d bytes of format %d with a key that has ML-KEM: %v", len(s), s[0], k.HasMLKEM())
				}
				continue
			}
			original := bytes.Equal(s, fx.v1) || (bytes.Equal(s, fx.v2) && k.HasMLKEM())
			if !original || fb != b || got.b != fx.dk.b {
				t.Fatalf("opened a sealed data key that is not an original: %x for %+v", s, fb)
			}
		}
	})
}

// FuzzSealDataKey feeds SealDataKey public keys as a resident record could
// hold them, damaged or not: it never panics, refuses with ErrFormat what
// it cannot seal to, seals v1 without an ML-KEM key and v2 with one, and
// what it seals to the fixture's keys opens.
func FuzzSealDataKey(f *testing.F) {
	fx := newDataKeyFixture(f)
	pub := fx.full.PublicKeys()
	f.Add(pub.X25519[:], pub.MLKEM)
	f.Add(pub.X25519[:], []byte{})
	f.Add(pub.X25519[:], pub.MLKEM[:MLKEMPublicKeySize-1])
	f.Add(pub.X25519[:], append(bytes.Clone(pub.MLKEM), 0))
	f.Add(make([]byte, 32), pub.MLKEM)
	f.Add(pub.X25519[:], bytes.Repeat([]byte{0xff}, MLKEMPublicKeySize))
	f.Add([]byte{1}, pub.MLKEM)
	f.Fuzz(func(t *testing.T, x, m []byte) {
		var to PublicKeys
		copy(to.X25519[:], x)
		to.MLKEM = m
		sealed, err := SealDataKey(detRand("fuzz/seal"), fx.dk, to, fx.b)
		if err != nil {
			if !errors.Is(err, ErrFormat) || sealed != nil {
				t.Fatalf("%d bytes, err = %v", len(sealed), err)
			}
			if len(m) == MLKEMPublicKeySize && bytes.Equal(m, pub.MLKEM) && to.X25519 == pub.X25519 {
				t.Fatalf("refused the fixture's own keys: %v", err)
			}
			return
		}
		switch {
		case len(m) == 0 && len(sealed) == sealedDataKeyV1Len && sealed[0] == formatV1:
		case len(m) == MLKEMPublicKeySize && len(sealed) == sealedDataKeyV2Len && sealed[0] == formatV2:
		default:
			t.Fatalf("sealed %d bytes of format %d to a %d-byte ML-KEM key", len(sealed), sealed[0], len(m))
		}
		if to.X25519 == pub.X25519 && (len(m) == 0 || bytes.Equal(m, pub.MLKEM)) {
			if got, err := fx.full.OpenDataKey(sealed, fx.b); err != nil || got.b != fx.dk.b {
				t.Fatalf("sealed to the fixture's keys and does not open: %v", err)
			}
		}
	})
}

// envelopeFixture is a data key and some things sealed with it, for the
// field and document fuzz targets.
type envelopeFixture struct {
	dk    *DataKey
	items []sealedItem
}

type sealedItem struct {
	label     string
	plaintext []byte
	sealed    []byte
}

// opensTo reports whether (label, sealed) is one of the fixture's items and
// plaintext is its content.
func (fx envelopeFixture) opensTo(label string, sealed, plaintext []byte) bool {
	for _, it := range fx.items {
		if it.label == label && bytes.Equal(it.sealed, sealed) {
			return bytes.Equal(it.plaintext, plaintext)
		}
	}
	return false
}

func FuzzOpenField(f *testing.F) {
	r := detRand("fuzz/field")
	dk, err := NewDataKey(r)
	mustNot(f, err, "data key")
	fx := envelopeFixture{dk: dk}
	for _, it := range []sealedItem{
		{label: "subject", plaintext: []byte("Decision on housing benefit")},
		{label: "body", plaintext: []byte{}},
		{label: "document/0/name", plaintext: []byte("afgørelse.pdf")},
	} {
		it.sealed, err = dk.SealField(r, it.label, it.plaintext)
		mustNot(f, err, "seal field")
		fx.items = append(fx.items, it)
		f.Add(it.sealed, it.label)
		f.Add(it.sealed, it.label+"x")
		f.Add(it.sealed[:len(it.sealed)-1], it.label)
	}
	f.Fuzz(func(t *testing.T, sealed []byte, label string) {
		got, err := dk.OpenField(label, sealed)
		if err != nil {
			if !failsCleanly(err) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		if !fx.opensTo(label, sealed, got) {
			t.Fatalf("opened a field that was not sealed: %x under %q", sealed, label)
		}
	})
}

// FuzzOpenDocument: the sealed document's decoder never panics, fails
// only with ErrFormat or ErrOpen and no plaintext, and opens only an
// original document, in either format, under its own label.
func FuzzOpenDocument(f *testing.F) {
	r := detRand("fuzz/document")
	dk, err := NewDataKey(r)
	mustNot(f, err, "data key")
	fx := envelopeFixture{dk: dk}
	for _, format := range docFormats {
		for i, n := range []int{0, 1, 100, ChunkSize, ChunkSize + 1} {
			it := sealedItem{label: fmt.Sprintf("document/%d", i), plaintext: testDocument(n)}
			it.sealed, err = dk.appendSealedDocument(nil, r, format.v, it.label, it.plaintext)
			mustNot(f, err, "seal document")
			fx.items = append(fx.items, it)
			f.Add(it.sealed, it.label)
			f.Add(it.sealed[:len(it.sealed)-1], it.label)
			// The version byte of the other format.
			f.Add(append([]byte{formatV1 + formatV2 - format.v}, it.sealed[1:]...), it.label)
		}
		// A two-chunk document with its chunks swapped, and cut at the
		// boundary.
		two := fx.items[len(fx.items)-1]
		h, cs := chunks(two.sealed)
		f.Add(join(h, cs[1], cs[0]), two.label)
		f.Add(join(h, cs[0]), two.label)
		f.Add(join(h, cs[0], cs[0][:16]), two.label)
	}
	f.Fuzz(func(t *testing.T, sealed []byte, label string) {
		got, err := dk.OpenDocument(label, sealed)
		if err != nil {
			if !failsCleanly(err) || got != nil {
				t.Fatalf("err = %v with %d bytes", err, len(got))
			}
			return
		}
		if !fx.opensTo(label, sealed, got) {
			t.Fatalf("opened a document that was not sealed: %d bytes under %q", len(sealed), label)
		}
	})
}

// FuzzUnwrapWithPRF: the PRF wrapping's decoder never panics, fails only
// with ErrFormat or ErrOpen, and opens only an original wrapping with its
// own PRF output and credential id.
func FuzzUnwrapWithPRF(f *testing.F) {
	prf := make([]byte, PRFOutputSize)
	_, _ = detRand("fuzz/prf-output").Read(prf)
	cred := []byte("credential-1")
	fxs := wrappingFixtures(f, "fuzz/prf", func(r io.Reader, k *PrivateKey) ([]byte, error) {
		return WrapWithPRF(r, k, prf, cred)
	})
	for _, fx := range fxs {
		f.Add(fx.wrapped, prf, cred)
		f.Add(fx.wrapped, prf[:31], cred)
		f.Add(fx.wrapped, prf, []byte{})
		f.Add(fx.wrapped, prf, []byte("credential-1\x00"))
		f.Add(fx.wrapped[:len(fx.wrapped)-1], prf, cred)
		f.Add(append([]byte{'P', 1, 3 - fx.wrapped[2]}, fx.wrapped[3:]...), prf, cred)
		f.Add(fx.wrapped[2:], prf, cred)
	}
	f.Add([]byte{}, prf, cred)
	f.Fuzz(func(t *testing.T, b, out, id []byte) {
		hdr := CheckPRFWrapping(b)
		got, err := UnwrapWithPRF(b, out, id)
		if err != nil {
			if !failsCleanly(err) {
				t.Fatalf("err = %v", err)
			}
			if hdr != nil && !errors.Is(err, ErrFormat) {
				t.Fatalf("header refused (%v) but unwrap gave %v", hdr, err)
			}
			return
		}
		if hdr != nil || !opensTo(fxs, b, got) || !bytes.Equal(out, prf) || !bytes.Equal(id, cred) {
			t.Fatalf("opened a wrapping that is not an original: %x with %x / %x", b, out, id)
		}
	})
}
