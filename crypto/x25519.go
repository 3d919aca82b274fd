package crypto

import (
	"crypto/subtle"
	"fmt"

	"filippo.io/edwards25519/field"
)

// x25519 returns X25519(scalar, point), RFC 7748 §5: the Montgomery ladder
// of §5 over the field arithmetic of filippo.io/edwards25519/field, the
// same ladder and field code as the standard library's crypto/ecdh. It
// exists because golang.org/x/crypto/curve25519.X25519 goes through
// crypto/ecdh, whose NewPrivateKey also computes the scalar's public key:
// two ladders for every shared secret, where this costs one (for a sealed
// letter, whose ephemeral public key Public computes by the fixed-base
// route, that halves the cost of the key exchange; BenchmarkX25519).
//
// Like curve25519.X25519 it refuses an all-zero result (a point of small
// order: the "contributory behaviour" check of §6.1) with ErrFormat. It runs
// in constant time in the scalar: the swaps are conditional moves, and the
// loop and the final inversion do the same work for every scalar.
// TestX25519 checks it against RFC 7748's vectors and curve25519.X25519.
func x25519(scalar *[32]byte, point []byte) ([32]byte, error) {
	var out [32]byte
	if len(point) != 32 {
		return out, fmt.Errorf("x25519 point of %d bytes: %w", len(point), ErrFormat)
	}
	// §5: decodeScalar25519.
	e := *scalar
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64
	defer clear(e[:])

	// §5: decodeUCoordinate masks the top bit; SetBytes ignores it and
	// accepts non-canonical values, as the RFC requires.
	var x1, x2, z2, x3, z3, tmp0, tmp1 field.Element
	if _, err := x1.SetBytes(point); err != nil {
		return out, fmt.Errorf("x25519 point: %w", ErrFormat)
	}
	x2.One()
	x3.Set(&x1)
	z3.One()

	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := int(e[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b

		tmp0.Subtract(&x3, &z3)
		tmp1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&tmp0, &x2)
		z2.Multiply(&z2, &tmp1)
		tmp0.Square(&tmp1)
		tmp1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0)
		z2.Square(&z2)

		z3.Mult32(&tmp1, 121666) // a24 = (486662 + 2) / 4
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(out[:], x2.Bytes())
	var zero [32]byte
	if subtle.ConstantTimeCompare(out[:], zero[:]) == 1 {
		return out, fmt.Errorf("x25519 with a point of small order: %w", ErrFormat)
	}
	return out, nil
}
