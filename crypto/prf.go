package crypto

import (
	"fmt"
	"io"
)

// A PRF wrapping wraps a private key with a key derived from the output of
// a passkey's pseudo-random function (the WebAuthn PRF extension, W3C
// WebAuthn Level 3 §10.1.4, which CTAP2's hmac-secret computes inside the
// authenticator), so that the passkey alone both signs the resident in and
// unlocks the mailbox. The PRF output exists only in the authenticator and,
// for the length of one ceremony, in the browser and the server's memory:
// the server derives the wrapping key from it, uses it, and forgets both.
// What is stored is this wrapping, which holds its own salt.
//
// Format "PRF wrapping v1", PRFWrapLen(v) bytes:
//
//	'P' (0x50) | 0x01 (PRF wrapping version) | v (key format, 1 or 2) |
//	salt (32 random bytes) | nonce (24) | secretbox(payload)
//
// where payload is the X25519 key (v = 1) or the X25519 key followed by
// the ML-KEM-768 seed (v = 2), as in the other wrappings, and the
// secretbox key is
//
//	HKDF-SHA-256(IKM = PRF output (32 bytes), salt = salt,
//	             info = "postkasse/v<v>/prf-wrap" ‖ lp(credential id))
//
// with lp a 2-byte big-endian length and the bytes. The credential id in
// the info binds a wrapping to the passkey it was made for: moved to
// another credential's record, it does not open. The salt is fixed-length,
// so HMAC's zero padding of HKDF's salt cannot make two salts one.
//
// Every credential's PRF is evaluated at the one input PRFInput: the PRF
// is already a different function for every credential, and a fixed input
// lets a sign-in ask for it before it knows which passkey will answer
// (a discoverable credential).
const (
	prfMagic     = 'P'
	prfVersion1  = 0x01
	prfSaltSize  = 32
	prfHeaderLen = 3 + prfSaltSize
	// PRFOutputSize is the length of a PRF output (SHA-256's, as
	// hmac-secret computes it).
	PRFOutputSize = 32
)

// PRFInput is the value every passkey's PRF is evaluated at (the
// extension's eval.first). The authenticator hashes it with the context
// string "WebAuthn PRF" before use (WebAuthn §10.1.4), so it is no secret.
var PRFInput = []byte("postkasse/v1/passkey-unlock")

// PRFWrapLen is the exact length of a PRF wrapping of key format v (1 or
// 2), 0 for an unknown format.
func PRFWrapLen(v byte) int {
	if n := wrapLenKey(v); n != 0 {
		return prfHeaderLen - 1 + n
	}
	return 0
}

func prfKey(prfOutput, salt, credentialID []byte, v byte) ([keySize]byte, error) {
	if len(prfOutput) != PRFOutputSize {
		return [keySize]byte{}, fmt.Errorf("prf output of %d bytes: %w", len(prfOutput), ErrFormat)
	}
	info, err := appendLengthPrefixed([]byte(label(v, "prf-wrap")), string(credentialID))
	if err != nil {
		return [keySize]byte{}, fmt.Errorf("credential id: %w", err)
	}
	return derive(prfOutput, salt, string(info)), nil
}

// WrapWithPRF wraps k with a key derived from a passkey's PRF output (at
// PRFInput) for the credential with the id credentialID (1 to 65535
// bytes), with a fresh random salt. The format of the key inside is 2 if k
// has an ML-KEM half, else 1. The caller clears prfOutput when done.
func WrapWithPRF(rand io.Reader, k *PrivateKey, prfOutput, credentialID []byte) ([]byte, error) {
	v := k.wrapFormat()
	out := make([]byte, 3, PRFWrapLen(v))
	out[0], out[1], out[2] = prfMagic, prfVersion1, v
	salt := make([]byte, prfSaltSize)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("read salt: %w", err)
	}
	out = append(out, salt...)
	key, err := prfKey(prfOutput, salt, credentialID, v)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	return sealKey(rand, out, &key, k)
}

// CheckPRFWrapping decodes a PRF wrapping's header without opening it: the
// magic, the PRF wrapping version (1), the key format (1 or 2) and the
// exact length. Anything else is ErrFormat.
func CheckPRFWrapping(wrapped []byte) error {
	if len(wrapped) < prfHeaderLen || wrapped[0] != prfMagic || wrapped[1] != prfVersion1 {
		return fmt.Errorf("prf wrapping: %w", ErrFormat)
	}
	if n := PRFWrapLen(wrapped[2]); n == 0 || len(wrapped) != n {
		return fmt.Errorf("prf wrapping of key format %d and %d bytes: %w", wrapped[2], len(wrapped), ErrFormat)
	}
	return nil
}

// UnwrapWithPRF opens a PRF wrapping with the PRF output of the passkey
// whose credential id it was made for. A wrong output or credential id, or
// changed bytes, give ErrOpen; a malformed wrapping or an output of
// another length than PRFOutputSize gives ErrFormat.
func UnwrapWithPRF(wrapped, prfOutput, credentialID []byte) (*PrivateKey, error) {
	if err := CheckPRFWrapping(wrapped); err != nil {
		return nil, err
	}
	v := wrapped[2]
	key, err := prfKey(prfOutput, wrapped[3:prfHeaderLen], credentialID, v)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	return openKey(v, wrapped[prfHeaderLen:], &key)
}
