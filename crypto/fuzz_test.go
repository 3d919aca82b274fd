package crypto

import (
	"bytes"
	"errors"
	"testing"
)

// The fuzz targets below cover every decoder of stored or untrusted bytes.
// Each checks that a decoder never panics, fails only with ErrFormat or
// ErrOpen, and that whatever opens is exactly the original: forging or
// moving a ciphertext must not be possible. Fixtures come from fixed
// randomness so that a failing input found once fails again. `go test`
// runs every target on its seeds; `go test -fuzz FuzzName` explores.

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

type passwordFixture struct {
	k        *PrivateKey
	password []byte
	wrapped  []byte
}

func newPasswordFixture(tb testing.TB) passwordFixture {
	r := detRand("fuzz/password")
	k, err := GenerateKeyPair(r)
	if err != nil {
		tb.Fatal(err)
	}
	password := []byte("correct horse")
	wrapped, err := WrapWithPassword(r, k, password, cheapKDF)
	if err != nil {
		tb.Fatal(err)
	}
	return passwordFixture{k, password, wrapped}
}

func FuzzPasswordParams(f *testing.F) {
	fx := newPasswordFixture(f)
	f.Add(fx.wrapped)
	f.Add(forgeParams(fx.wrapped, KDFParams{Time: 1, MemoryKiB: 0xffffffff, Threads: 1}))
	f.Add(forgeParams(fx.wrapped, KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}))
	f.Add(forgeParams(fx.wrapped, DefaultKDFParams()))
	f.Add(fx.wrapped[:10])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, wrapped []byte) {
		p, err := PasswordParams(wrapped)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
			return
		}
		if !p.valid() {
			t.Fatalf("accepted invalid parameters %+v", p)
		}
		// The parameters decoded are exactly the header's bytes.
		if !bytes.Equal(forgeParams(wrapped, p)[:10], wrapped[:10]) {
			t.Fatalf("parameters %+v do not re-encode to %x", p, wrapped[:10])
		}
	})
}

func FuzzUnwrapWithPassword(f *testing.F) {
	fx := newPasswordFixture(f)
	f.Add(fx.wrapped, fx.password)
	f.Add(fx.wrapped, []byte("correct horsE"))
	f.Add(fx.wrapped, []byte{})
	f.Add(forgeParams(fx.wrapped, KDFParams{Time: 1, MemoryKiB: 0xffffffff, Threads: 1}), fx.password)
	f.Add(forgeParams(fx.wrapped, KDFParams{Time: 2, MemoryKiB: 64, Threads: 1}), fx.password)
	f.Add(fx.wrapped[:len(fx.wrapped)-1], fx.password)
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
		if !bytes.Equal(wrapped, fx.wrapped) || !bytes.Equal(password, fx.password) || !sameKey(got, fx.k) {
			t.Fatalf("opened a wrapping that is not the original: %x with password %q", wrapped, password)
		}
	})
}

func FuzzUnwrapWithRecoveryKey(f *testing.F) {
	r := detRand("fuzz/recovery")
	k, err := GenerateKeyPair(r)
	mustNot(f, err, "key pair")
	rk, err := NewRecoveryKey(r)
	mustNot(f, err, "recovery key")
	wrapped, err := WrapWithRecoveryKey(r, k, rk)
	mustNot(f, err, "wrap")
	wrongRK := rk
	wrongRK[0] ^= 1
	f.Add(wrapped, rk[:])
	f.Add(wrapped, wrongRK[:])
	f.Add(wrapped[:72], rk[:])
	f.Add(append([]byte{2}, wrapped[1:]...), rk[:])
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
		if !bytes.Equal(b, wrapped) || fuzzRK != rk || !sameKey(got, k) {
			t.Fatalf("opened a wrapping that is not the original: %x with %x", b, fuzzRK)
		}
	})
}

func FuzzUnwrapForSession(f *testing.F) {
	r := detRand("fuzz/session")
	k, err := GenerateKeyPair(r)
	mustNot(f, err, "key pair")
	secret := make([]byte, SessionSecretSize)
	_, _ = r.Read(secret)
	id := []byte("session-1")
	wrapped, err := WrapForSession(r, k, secret, id)
	mustNot(f, err, "wrap")
	f.Add(wrapped, secret, id)
	f.Add(wrapped, secret, []byte("session-1\x00"))
	f.Add(wrapped, secret, []byte{})
	f.Add(wrapped, secret[:31], id)
	f.Add(wrapped[:72], secret, id)
	f.Fuzz(func(t *testing.T, b, s, sessionID []byte) {
		got, err := UnwrapForSession(b, s, sessionID)
		if err != nil {
			if !failsCleanly(err) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		if !bytes.Equal(b, wrapped) || !bytes.Equal(s, secret) || !bytes.Equal(sessionID, id) || !sameKey(got, k) {
			t.Fatalf("opened a wrapping that is not the original: %x, secret %x, session %q", b, s, sessionID)
		}
	})
}

func FuzzOpenDataKey(f *testing.F) {
	r := detRand("fuzz/data-key")
	k, err := GenerateKeyPair(r)
	mustNot(f, err, "key pair")
	dk, err := NewDataKey(r)
	mustNot(f, err, "data key")
	b := Binding{LetterID: "letter-1", RecipientID: "resident-1", SenderID: "sender-1"}
	sealed, err := SealDataKey(r, dk, k.Public(), b)
	mustNot(f, err, "seal")
	f.Add(sealed, b.LetterID, b.RecipientID, b.SenderID)
	f.Add(sealed, "letter-2", b.RecipientID, b.SenderID)
	f.Add(sealed, b.LetterID+"r", "esident-1", b.SenderID)
	f.Add(sealed, "", b.RecipientID, b.SenderID)
	f.Add(flip(sealed, 32), b.LetterID, b.RecipientID, b.SenderID)
	f.Add(sealed[:104], b.LetterID, b.RecipientID, b.SenderID)
	f.Fuzz(func(t *testing.T, s []byte, letterID, recipientID, senderID string) {
		fb := Binding{LetterID: letterID, RecipientID: recipientID, SenderID: senderID}
		got, err := k.OpenDataKey(s, fb)
		if err != nil {
			if !failsCleanly(err) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		if !bytes.Equal(s, sealed) || fb != b || got.b != dk.b {
			t.Fatalf("opened a sealed data key that is not the original: %x for %+v", s, fb)
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

func FuzzOpenDocument(f *testing.F) {
	r := detRand("fuzz/document")
	dk, err := NewDataKey(r)
	mustNot(f, err, "data key")
	fx := envelopeFixture{dk: dk}
	for i, n := range []int{0, 1, 100, ChunkSize, ChunkSize + 1} {
		it := sealedItem{label: "document/" + string(rune('0'+i)), plaintext: testDocument(n)}
		it.sealed, err = dk.SealDocument(r, it.label, it.plaintext)
		mustNot(f, err, "seal document")
		fx.items = append(fx.items, it)
		f.Add(it.sealed, it.label)
		f.Add(it.sealed[:len(it.sealed)-1], it.label)
	}
	// A two-chunk document with its chunks swapped, and cut at the boundary.
	two := fx.items[len(fx.items)-1]
	h, cs := chunks(two.sealed)
	f.Add(join(h, cs[1], cs[0]), two.label)
	f.Add(join(h, cs[0]), two.label)
	f.Add(join(h, cs[0], cs[0][:16]), two.label)
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
