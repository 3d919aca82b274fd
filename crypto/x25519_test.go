package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/curve25519"
)

func unhex32(t testing.TB, s string) [32]byte {
	t.Helper()
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad test vector %q", s)
	}
	copy(out[:], b)
	return out
}

func TestX25519(t *testing.T) {
	t.Parallel()
	// RFC 7748 §5.2: the two test vectors.
	for _, v := range []struct{ scalar, u, out string }{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	} {
		k := unhex32(t, v.scalar)
		u := unhex32(t, v.u)
		got, err := x25519(&k, u[:])
		if want := unhex32(t, v.out); err != nil || got != want {
			t.Errorf("x25519(%s, %s) = %x, %v; want %s", v.scalar, v.u, got, err, v.out)
		}
	}

	// RFC 7748 §5.2: k = u = 9, then k, u = X25519(k, u), k; after one
	// and after 1,000 iterations.
	k := unhex32(t, "0900000000000000000000000000000000000000000000000000000000000000")
	u := k
	for i := 1; i <= 1000; i++ {
		out, err := x25519(&k, u[:])
		if err != nil {
			t.Fatal(err)
		}
		u, k = k, out
		switch i {
		case 1:
			if want := unhex32(t, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"); k != want {
				t.Errorf("after one iteration %x, want %x", k, want)
			}
		case 1000:
			if want := unhex32(t, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"); k != want {
				t.Errorf("after 1,000 iterations %x, want %x", k, want)
			}
		}
	}

	// Random scalars with random u-coordinates (on the curve or its twist,
	// top bit set or not, non-canonical or not) and with public keys: the
	// same bytes as curve25519.X25519.
	for i := range 500 {
		var k, u [32]byte
		rand.Read(k[:])
		rand.Read(u[:])
		if i%2 == 1 {
			pub := (&PrivateKey{b: u}).Public()
			u = pub
		}
		if i == 0 {
			u = unhex32(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") // p, non-canonical 0
		}
		got, gotErr := x25519(&k, u[:])
		want, wantErr := curve25519.X25519(k[:], u[:])
		if (gotErr != nil) != (wantErr != nil) || (gotErr == nil && !bytes.Equal(got[:], want)) {
			t.Fatalf("x25519(%x, %x) = %x, %v; curve25519.X25519 gives %x, %v", k, u, got, gotErr, want, wantErr)
		}
	}

	// Points of small order give the all-zero secret: refused, as by
	// curve25519.X25519.
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		var k [32]byte
		rand.Read(k[:])
		p := unhex32(t, u)
		if _, err := x25519(&k, p[:]); !errors.Is(err, ErrFormat) {
			t.Errorf("x25519 with the small-order point %s: %v, want ErrFormat", u, err)
		}
		if _, err := curve25519.X25519(k[:], p[:]); err == nil {
			t.Errorf("curve25519.X25519 accepts the small-order point %s", u)
		}
	}
	if _, err := x25519(&k, make([]byte, 31)); !errors.Is(err, ErrFormat) {
		t.Errorf("x25519 with a 31-byte point: %v, want ErrFormat", err)
	}
}

// BenchmarkX25519 measures x25519 against curve25519.X25519 (which also
// computes the scalar's public key) in the same run: "speedup" is the
// latter's time divided by x25519's.
//
//	go test ./crypto -run '^$' -bench X25519 -count 5
func BenchmarkX25519(b *testing.B) {
	var k, u [32]byte
	rand.Read(k[:])
	rand.Read(u[:])
	t0 := time.Now()
	for b.Loop() {
		if _, err := x25519(&k, u[:]); err != nil {
			b.Fatal(err)
		}
	}
	own := time.Since(t0)
	t0 = time.Now()
	for range b.N {
		if _, err := curve25519.X25519(k[:], u[:]); err != nil {
			b.Fatal(err)
		}
	}
	lib := time.Since(t0)
	b.ReportMetric(float64(lib.Nanoseconds())/float64(b.N), "curve25519-ns/op")
	b.ReportMetric(lib.Seconds()/own.Seconds(), "speedup")
}
