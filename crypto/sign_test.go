package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
)

func mustSigner(t testing.TB) *Signer {
	t.Helper()
	seed, err := NewSigningSeed(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	s := mustSigner(t)
	other := mustSigner(t)
	msg := []byte(`{"id":"m1","deliveredAt":"2026-11-22T10:00:00Z"}`)
	sig := s.Sign("receipt", msg)
	if !Verify(s.PublicKey(), "receipt", msg, sig) {
		t.Fatal("signature does not verify")
	}
	tests := []struct {
		name string
		pub  ed25519.PublicKey
		kind string
		msg  []byte
		sig  []byte
	}{
		{"receipt as checkpoint", s.PublicKey(), "checkpoint", msg, sig},
		{"kind prefix", s.PublicKey(), "receip", msg, sig},
		{"kind with message bytes moved into it", s.PublicKey(), "receipt{", msg[1:], sig},
		{"another message", s.PublicKey(), "receipt", append(bytes.Clone(msg), ' '), sig},
		{"another key", other.PublicKey(), "receipt", msg, sig},
		{"flipped signature", s.PublicKey(), "receipt", msg, flip(sig, 0)},
		{"short signature", s.PublicKey(), "receipt", msg, sig[:63]},
		{"no signature", s.PublicKey(), "receipt", msg, nil},
		{"short public key", s.PublicKey()[:31], "receipt", msg, sig},
		{"nil public key", nil, "receipt", msg, sig},
		{"empty kind", s.PublicKey(), "", msg, sig},
		{"kind with 0x00", s.PublicKey(), "receipt\x00", msg, sig},
	}
	for _, tt := range tests {
		if Verify(tt.pub, tt.kind, tt.msg, tt.sig) {
			t.Errorf("%s: verifies", tt.name)
		}
	}
	// A plain Ed25519 signature of the message, without the label, is not
	// a receipt, nor is a receipt a plain signature.
	if Verify(s.PublicKey(), "receipt", msg, ed25519.Sign(s.key, msg)) {
		t.Error("unlabelled signature verifies as a receipt")
	}
	if ed25519.Verify(s.PublicKey(), msg, sig) {
		t.Error("receipt verifies as an unlabelled signature")
	}
}

// Without the rule that kinds have no 0x00 byte, kind "receipt\x00a" with
// message "b" would sign the bytes of kind "receipt" with message "a\x00b".
func TestSignRefusesAmbiguousKind(t *testing.T) {
	t.Parallel()
	s := mustSigner(t)
	for _, kind := range []string{"", "receipt\x00a", "\x00"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Sign(%q) did not panic", kind)
				}
			}()
			s.Sign(kind, []byte("b"))
		}()
	}
}

func TestSignerDeterministic(t *testing.T) {
	t.Parallel()
	seed := bytes.Repeat([]byte{0x42}, SigningSeedSize)
	a, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSigner(bytes.Clone(seed))
	if err != nil {
		t.Fatal(err)
	}
	if !a.PublicKey().Equal(b.PublicKey()) {
		t.Error("the same seed gave two keys")
	}
	if KeyID(a.PublicKey()) != KeyID(b.PublicKey()) {
		t.Error("KeyID is not stable")
	}
	if id := KeyID(a.PublicKey()); len(id) != 16 {
		t.Errorf("KeyID %q is not 16 hex digits", id)
	}
	if KeyID(a.PublicKey()) == KeyID(mustSigner(t).PublicKey()) {
		t.Error("two keys have one KeyID")
	}
	// Ed25519 signatures are deterministic (RFC 8032 §5.1.6).
	if !bytes.Equal(a.Sign("checkpoint", []byte("x")), b.Sign("checkpoint", []byte("x"))) {
		t.Error("signatures differ")
	}
}

// RFC 8032 §7.1 TEST 1: the key, and KeyID pinned to it.
func TestKeyIDPinned(t *testing.T) {
	t.Parallel()
	seed := mustHex(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	s, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"); !bytes.Equal(s.PublicKey(), want) {
		t.Fatalf("public key %x, want %x", s.PublicKey(), want)
	}
	// First 8 bytes of SHA-256 of the public key.
	if got, want := KeyID(s.PublicKey()), "21fe31dfa154a261"; got != want {
		t.Errorf("KeyID = %s, want %s", got, want)
	}
}

func TestNewSignerSeedLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := NewSigner(make([]byte, n)); !errors.Is(err, ErrFormat) {
			t.Errorf("%d-byte seed: err = %v, want ErrFormat", n, err)
		}
	}
}

// TestCallbackSigner: the callback key is not the receipt key, is the
// same for the same seed, signs t "." body plainly, and a callback
// signature is no receipt signature.
func TestCallbackSigner(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, SigningSeedSize)
	s, err := NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	c := s.CallbackSigner()
	if bytes.Equal(c.PublicKey(), s.PublicKey()) {
		t.Fatal("the callback key is the receipt key")
	}
	s2, _ := NewSigner(seed)
	if !bytes.Equal(s2.CallbackSigner().PublicKey(), c.PublicKey()) {
		t.Fatal("the callback key differs for the same seed")
	}
	body := []byte(`{"type":"delivered"}`)
	sig := c.Sign(1764676800, body)
	if !ed25519.Verify(c.PublicKey(), []byte(`1764676800.{"type":"delivered"}`), sig) {
		t.Error("the signature does not verify over t.body")
	}
	if ed25519.Verify(c.PublicKey(), []byte(`1764676801.{"type":"delivered"}`), sig) {
		t.Error("the signature verifies for another time")
	}
	if Verify(c.PublicKey(), "receipt", CallbackSignedBytes(1764676800, body), sig) {
		t.Error("a callback signature passes as a receipt")
	}
}
