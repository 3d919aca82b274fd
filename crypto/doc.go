// Package crypto owns Postkasse's key hierarchy and its byte formats: the
// resident's key pair and the three ways its private key is wrapped (by a
// password, by a recovery key, for a session), the per-letter data key and
// the envelope that seals a letter's fields and documents with it, the
// appliance's signing key for receipts, and the sender CA that issues
// senders' client certificates.
//
// # Summary in plain words
//
// Every resident has an X25519 key pair. The public key is kept in clear so
// that anybody may seal mail to the resident at any time. The private key is
// only ever stored wrapped: with a key derived from the resident's password
// (Argon2id, RFC 9106), with a 256-bit recovery key that only the resident
// holds, and, while the resident is logged in, with a random secret that
// lives only in the resident's session cookie. Code outside this package
// never sees the private key's bytes: it holds a *PrivateKey and asks it to
// open a letter's data key (the "factotum" idea of upspin).
//
// Every letter gets a fresh random 256-bit data key. Its subject, body,
// documents and file names are sealed with keys derived from it (NaCl
// secretbox, XSalsa20-Poly1305, random 24-byte nonces; documents in 64 KiB
// chunks). The data key itself is sealed to the resident's public key with
// an ephemeral X25519 exchange whose derived key binds the letter id, the
// recipient id and the sender id, so a sealed key copied to another letter,
// another resident or another sender's letter fails to open.
//
// X25519 (RFC 7748) is computed here by two routes that give the same bytes
// as golang.org/x/crypto/curve25519.X25519 (tested against it and the
// RFC's vectors), because sealing a letter is on every delivery's path: a
// public key by the fixed-base multiplication of filippo.io/edwards25519
// and the birational map to Montgomery u (PrivateKey.Public), a shared
// secret by the RFC's ladder over that module's field arithmetic (x25519),
// one ladder where curve25519.X25519 does two.
//
// # Threat model
//
// The promise is "the operator cannot read mail at rest, in backups, or of
// residents who are not logged in". Someone holding the data folder (or a
// backup) but no session cookie and no password sees only what DESIGN.md
// lists as clear: who sent what kind of letter to whom, when, and its size.
// The server necessarily decrypts while a resident is logged in; a live
// attacker on the running server can read what logged-in residents read.
// Passwords are only as strong as Argon2id makes them: an offline guessing
// attack against a weak password is possible for someone with the database.
//
// # Formats
//
// All formats start with a version byte, so they can change without
// ambiguity. Lengths are checked exactly before anything is decrypted. All
// derivations use HKDF-SHA-256 (RFC 5869) with a label of the form
// "postkasse/v1/<purpose>"; no key is ever used for two purposes.
//
//	password wrapping   01 | time u32 | memoryKiB u32 | threads u8 | salt[16] | nonce[24] | secretbox(priv[32])    (98 bytes)
//	                    key = HKDF(Argon2id(password, salt, time, memory, threads, 32), info "postkasse/v1/password-wrap")
//	recovery wrapping   01 | nonce[24] | secretbox(priv[32])                                                      (73 bytes)
//	                    key = HKDF(recoveryKey, info "postkasse/v1/recovery-wrap")
//	session wrapping    01 | nonce[24] | secretbox(priv[32])                                                      (73 bytes)
//	                    key = HKDF(secret, info "postkasse/v1/session-wrap" | lp(sessionID))
//	sealed data key     01 | ephemeral[32] | nonce[24] | secretbox(dataKey[32])                                   (105 bytes)
//	                    key = HKDF(X25519(ephemeral, recipient), salt ephemeral|recipient,
//	                               info "postkasse/v1/data-key" | lp(letterID) | lp(recipientID) | lp(senderID))
//	                    where lp(x) is x's length as a big-endian u16 followed by x
//	sealed field        01 | nonce[24] | secretbox(plaintext)
//	                    key = HKDF(dataKey, info "postkasse/v1/field/" | label)
//	sealed document     01 | prefix[16] | chunk... ; chunk = secretbox(at most 65536 bytes), nonce = prefix | counter u56 | last u8
//	                    key = HKDF(dataKey, info "postkasse/v1/document/" | label)
//
// The document format is the STREAM construction (Hoang, Reyhanitabar,
// Rogaway, Vizár 2015) as age uses it: the counter and the last-chunk flag
// in the nonce make reordered, dropped or truncated chunks fail to open.
// An empty document is one empty last chunk.
//
// Ids are bound through HKDF's info, length-prefixed, never through its
// salt: the salt is an HMAC key, which HMAC zero-pads, so "abc" and
// "abc\x00" would be the same salt. The only salts used are fixed-length
// public keys.
//
// Receipts and checkpoints are signed with Ed25519 (RFC 8032) over
// "postkasse/v1/<kind>" | 0x00 | message, where kind is not empty and has no
// 0x00 byte, so a signature for one kind of statement is never valid for
// another.
//
// The sender CA is stored as two PEM files: its self-signed X.509
// certificate ("CERTIFICATE", ECDSA P-256, 10 years, CA with path length
// zero) and its key (PKCS#8 "PRIVATE KEY", RFC 5958, unencrypted: the data
// folder's permissions protect it). It issues end-entity certificates with
// one extended key usage each: clientAuth for senders (Subject CN is the
// sender's name, Subject serialNumber its organisation number) and
// serverAuth for the demo's server. A certificate is named by its
// Fingerprint, the lowercase hex SHA-256 of its DER bytes. See [CA].
//
// Known-answer vectors for every format are in testdata/vectors.json; the
// tests regenerate them from fixed randomness and compare byte for byte.
package crypto
