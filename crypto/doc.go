// Package crypto owns Postkasse's key hierarchy and its byte formats: the
// resident's key pairs (X25519 and ML-KEM-768) and the three ways the
// private keys are wrapped (by a password, by a recovery key, for a
// session), the per-letter data key and the envelope that seals a letter's
// fields and documents with it, the appliance's signing key for receipts,
// and the sender CA that issues senders' client certificates.
//
// # Summary in plain words
//
// Every resident has an X25519 key pair and, since sealed data keys v2, an
// ML-KEM-768 key pair (FIPS 203) beside it. The public keys are kept in
// clear so that anybody may seal mail to the resident at any time. The
// private keys are only ever stored wrapped, together: with a key derived
// from the resident's password (Argon2id, RFC 9106), with a 256-bit
// recovery key that only the resident holds, and, while the resident is
// logged in, with a random secret that lives only in the resident's session
// cookie. Code outside this package never sees the private keys' bytes: it
// holds a *PrivateKey and asks it to open a letter's data key (the
// "factotum" idea of upspin).
//
// Every letter gets a fresh random 256-bit data key. Its subject, body,
// documents and file names are sealed with keys derived from it: fields
// with NaCl secretbox (XSalsa20-Poly1305, random 24-byte nonces), documents
// in 64 KiB chunks with AES-256-GCM (sealed document v2; documents sealed
// before it, in secretbox, stay readable). The data key itself is sealed to the resident's public keys, in
// a way that binds the letter id, the recipient id and the sender id, so a
// sealed key copied to another letter, another resident or another sender's
// letter fails to open:
//
//   - v2, for a resident who has both key pairs: with HPKE (RFC 9180) and
//     the hybrid KEM MLKEM768-X25519 ("X-Wing"), which only both private
//     keys together undo. Letters are kept for years, and a copy of today's
//     database or backup, kept by anyone, can be opened the day a quantum
//     computer breaks X25519 ("harvest now, decrypt later"); a v2 letter
//     stays closed unless ML-KEM-768 is broken too. It costs 1,064 bytes
//     more per sealed key (1,169 instead of 105), 1,184 bytes of public
//     key and 64 bytes more per wrapping, about 1.8 times the CPU time of
//     v1 per seal and 2.5 times per open (BenchmarkSealDataKey,
//     BenchmarkOpenDataKey), and about 0.1 ms to expand the ML-KEM key on
//     a request's first v2 letter.
//   - v1, for a resident who does not have an ML-KEM key yet, and to an
//     X25519 key alone: an ephemeral X25519 exchange, HKDF and secretbox.
//     A v1 letter stays readable forever: OpenDataKey reads both formats.
//
// A copy of a letter's data key for a delegate is sealed the same way, to
// the delegate's public keys, with the Binding's RecipientID naming them.
// A resident's reply to a letter has a data key of its own, sealed to the
// sender's X25519 reply key and a second time to the resident, bound to the
// reply, the sender and the resident under its own label ("reply-key"), so
// that neither copy opens as a letter's key or for another reply. A
// resident's signature of a letter is sealed the same way, as a reply with
// no text whose files are the signed PDF and the detached CMS, under the
// reply id "signature:" and the letter's id (SignatureReplyID).
//
// X25519 (RFC 7748) is computed by the standard library, crypto/ecdh (and
// inside crypto/hpke), never by curve arithmetic of this package's own.
// crypto/ecdh computes a key's public key whenever it makes the key, so a
// faster fixed-base route to public keys would save nothing. v1 sealing
// costs two Montgomery ladders where the hand-written code of earlier
// versions spent one and a fixed-base multiplication, yet measured the same
// CPU time per seal; opening costs one ladder once the key is in use, and
// two on a request's first letter.
//
// # Sealed data key v2 and why crypto/hpke
//
// v2 is HPKE's single-shot Seal in base mode with the ciphersuite
// MLKEM768-X25519 (KEM 0x647a, draft-ietf-hpke-pq), HKDF-SHA256 (KDF
// 0x0001) and ChaCha20Poly1305 (AEAD 0x0003), through crypto/hpke, rather
// than a combination of crypto/mlkem and crypto/ecdh of our own:
//
//   - The combiner is X-Wing's (draft-connolly-cfrg-xwing-kem, "Combiner";
//     MLKEM768-X25519 of draft-irtf-cfrg-concrete-hybrid-kems is the same):
//     SHA3-256(ss_M | ss_X | ct_X | pk_X | XWingLabel), both shared secrets
//     with the X25519 ciphertext and public key and a fixed label. The
//     result is IND-CCA secure if either ML-KEM-768 or X25519 is (Barbosa
//     et al., "X-Wing", 2024, in the random-oracle model). The ML-KEM
//     ciphertext and key need not be hashed because ML-KEM-768 binds them
//     itself: its shared key is derived with H(ek), and a changed
//     ciphertext gives an unrelated key (implicit rejection, FIPS 203 §6.3).
//     A combiner of our own would have to be argued anew; this one is
//     specified, analysed and the standard library's.
//   - HPKE's key schedule binds the info string, where the ids go, to the
//     shared secret, and its AEAD seals the 32-byte data key under a key
//     and nonce used once (one encapsulation per sealed key).
//   - ML-KEM-768 runs in the Go Cryptographic Module, and crypto/hpke lets
//     the two halves be kept as separate keys (hpke.NewHybridPrivateKey):
//     residents' X25519 keys predate their ML-KEM keys, so the hybrid key
//     cannot be derived, as X-Wing's key generation does, from one 32-byte
//     seed. That derivation (SHAKE256) only makes two keys from one seed as
//     if drawn independently; keys drawn independently are what the
//     combiner's argument assumes.
//
// crypto/hpke takes no random reader: the ephemeral X25519 key and ML-KEM's
// randomness come from the system (since Go 1.26 the standard library's key
// generation ignores the readers it is given). The known-answer vector is
// made under testing/cryptotest.SetGlobalRandom, records the two random
// values, and TestSealedDataKeyV2Spec rebuilds it from them by the
// specifications alone, without crypto/hpke.
//
// # Upgrading residents
//
// New residents get both key pairs from GenerateKeyPair. A resident made
// earlier has an X25519 key only, and every wrapping of it is in format 1:
// it unwraps to a key for which HasMLKEM is false. At the resident's next
// sign-in the caller makes the full key with WithMLKEM (never replacing an
// existing ML-KEM key), wraps it anew (format 2 comes by itself, since the
// key has both halves), and stores the ML-KEM public key from PublicKeys.
// Seal to the resident through PublicKeys built from the record: v2 when it
// holds the ML-KEM key, v1 until then.
//
// One rule comes with this: publish the ML-KEM public key only when every
// wrapping from which the resident can get the private key back carries
// both halves. A key unwrapped from a format 1 wrapping cannot open v2
// (ErrNoMLKEM). The password is at hand at sign-in, but the recovery key is
// not: only the resident holds it, so the recovery wrapping made at
// activation stays in format 1 until the resident is given a new recovery
// key (shown once, as at activation) whose wrapping is made from the full
// key. Until then the resident's letters must stay v1, or a resident who
// forgets the password would lose the v2 letters. Deriving the ML-KEM seed
// from the X25519 key instead would not help: whoever breaks X25519 would
// have both. Session wrappings made before the upgrade also carry X25519
// only; the session that upgrades must be wrapped anew.
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
// Against a future quantum computer: wrappings, fields and documents are
// symmetric (256-bit keys, XSalsa20-Poly1305 or AES-256-GCM, HKDF-SHA-256),
// which Grover's algorithm only weakens to 128-bit security, and v2 sealed data keys hold while ML-KEM-768 holds. The
// residual risk is every v1 sealed data key: a letter delivered before its
// resident had an ML-KEM key, or sealed to an X25519 key alone. The
// resident's X25519 public key is in clear, so whoever holds a copy of the
// database or a backup from which such a letter has not been deleted, and
// later a quantum computer that solves X25519's discrete logarithms, can
// compute the private key and read every v1 letter of that resident. Nothing
// done today protects copies already taken; re-sealing a resident's v1 data
// keys to v2 while the resident is signed in (OpenDataKey, then SealDataKey
// to PublicKeys) protects copies taken afterwards. Signatures (Ed25519, the
// sender CA's ECDSA P-256) stay classical: forging one needs the quantum
// computer at the time of forging, not later.
//
// # Formats
//
// All formats start with a version byte, so they can change without
// ambiguity. Lengths are checked exactly before anything is decrypted. All
// derivations of this package use HKDF-SHA-256 (RFC 5869) with a label of
// the form "postkasse/v<n>/<purpose>", where n is the format's version; no
// key is ever used for two purposes, and no key of one format version for
// another. (HPKE's key schedule inside v2 uses its own labels.)
//
//	password wrapping v1  01 | time u32 | memoryKiB u32 | threads u8 | salt[16] | nonce[24] | secretbox(x25519[32])                (98 bytes)
//	password wrapping v2  02 | time u32 | memoryKiB u32 | threads u8 | salt[16] | nonce[24] | secretbox(x25519[32] | seed[64])    (162 bytes)
//	                      key = HKDF(Argon2id(password, salt, time, memory, threads, 32), info "postkasse/v<n>/password-wrap")
//	recovery wrapping v1  01 | nonce[24] | secretbox(x25519[32])                                                               (73 bytes)
//	recovery wrapping v2  02 | nonce[24] | secretbox(x25519[32] | seed[64])                                                    (137 bytes)
//	                      key = HKDF(recoveryKey, info "postkasse/v<n>/recovery-wrap")
//	session wrapping v1   01 | nonce[24] | secretbox(x25519[32])                                                               (73 bytes)
//	session wrapping v2   02 | nonce[24] | secretbox(x25519[32] | seed[64])                                                    (137 bytes)
//	                      key = HKDF(secret, info "postkasse/v<n>/session-wrap" | lp(sessionID))
//	PRF wrapping v1       50 | 01 | n | salt[32] | nonce[24] | secretbox(x25519[32] [| seed[64] if n = 2])                   (107 / 171 bytes)
//	                      key = HKDF(prfOutput[32], salt, info "postkasse/v<n>/prf-wrap" | lp(credentialID)); prf.go
//	sealed data key v1    01 | ephemeral[32] | nonce[24] | secretbox(dataKey[32])                                              (105 bytes)
//	                      key = HKDF(X25519(ephemeral, recipient), salt ephemeral|recipient,
//	                                 info "postkasse/v1/data-key" | lp(letterID) | lp(recipientID) | lp(senderID))
//	sealed data key v2    02 | ct_M[1088] | ct_X[32] | ChaCha20Poly1305(dataKey[32])[48]                                      (1169 bytes)
//	                      ct_M | ct_X | box = HPKE single-shot Seal (RFC 9180 §6.1, mode_base, no aad), suite
//	                                 (MLKEM768-X25519, HKDF-SHA256, ChaCha20Poly1305),
//	                                 info "postkasse/v2/data-key" | lp(letterID) | lp(recipientID) | lp(senderID)
//	                      ct_M = ML-KEM-768 ciphertext; ct_X = ephemeral X25519 public key;
//	                      shared secret = SHA3-256(ss_M | ss_X | ct_X | recipientX25519 | 5c2e2f2f5e5c)
//	delegate's copy       a sealed data key v1 or v2 as above, sealed to a delegate's key with
//	                      info "postkasse/v<n>/delegate-data-key" | lp(letterID) | lp(recipientID) |
//	                                 lp(senderID) | lp(delegateID)   (Binding.Delegate; recipientID is the grantor's)
//	sealed field          01 | nonce[24] | secretbox(plaintext)
//	                      key = HKDF(dataKey, info "postkasse/v1/field/" | label)
//	sealed document v1    01 | prefix[16] | chunk... ; chunk = secretbox(at most 65536 bytes), nonce = prefix | counter u56 | last u8
//	                      key = HKDF(dataKey, info "postkasse/v1/document/" | label)             (read; sealed only in replies)
//	sealed document v2    02 | salt[16] | chunk... ; chunk = AES-256-GCM(at most 65536 bytes)[n+16], no aad,
//	                                 nonce = counter u88 | last u8 (12 bytes)
//	                      key = HKDF(dataKey, salt, info "postkasse/v2/document/" | label)       (every new document)
//
//	sealed reply v1       52 ('R') | 01 | sealedKey[105] | sealed document(payload), label "reply"; reply.go
//	                      sealedKey = sealed data key v1 to the sender's reply key (X25519), with info
//	                                 "postkasse/v1/reply-key" | lp(replyID) | lp(senderID) | lp(residentID)
//	                      the resident's copy of the data key, kept beside it, is a sealed data key v1 or v2 to
//	                                 the resident's public keys with info "postkasse/v<n>/reply-key" | (the same ids)
//	                      a reply a delegate wrote on the resident's behalf also keeps a copy sealed to the
//	                                 delegate's public keys with info "postkasse/v<n>/delegate-reply-key" |
//	                                 (the same ids) | lp(delegateID)   (ReplyBinding.Delegate)
//	                      payload = 01 | text length u32 | text | n u8 (n ≤ 5) |
//	                                 n × (lp(fileName) | lp(contentType) | length u32 | content)
//	                      a signature: replyID "signature:" | letterID, text empty, files
//	                                 letterID ".pdf" (the signed PDF, for a PDF) then letterID ".p7s" (the CMS)
//
//	where lp(x) is x's length as a big-endian u16 followed by x (x not empty),
//	x25519 is the X25519 private key (RFC 7748 §5, unclamped as drawn), seed
//	is the ML-KEM-768 seed d | z (FIPS 203 Algorithm 16, ML-KEM.KeyGen_internal),
//	and the public keys, stored in clear, are the X25519 public key (32
//	bytes) and the ML-KEM-768 encapsulation key ek (1184 bytes, FIPS 203 §7.1).
//
// A wrapping's format follows the key: a key with an ML-KEM half is wrapped
// in v2, one without in v1, byte for byte as before v2 existed; both are
// read. A v2 wrapping cut to v1's length and relabelled does not open: the
// label and the tag differ. A wrapping added later (by a passkey's PRF
// output) carries the same two payloads.
//
// The document format is the STREAM construction (Hoang, Reyhanitabar,
// Rogaway, Vizár 2015) as age uses it: the counter and the last-chunk flag
// in the nonce make reordered, dropped or truncated chunks fail to open.
// An empty document is one empty last chunk. Both versions have the same
// size (SealedDocumentSize): a 16-byte tag per chunk. v2 seals with
// AES-256-GCM, on the processor's AES instructions, several times faster
// than secretbox (BenchmarkDocument); its key is unique to the document
// through the random salt, so the nonce is a counter, never random, and
// GCM's limit on random 96-bit nonces does not apply; the version is in
// HKDF's info, so a document given the other version byte opens under
// neither key. document.go gives the full argument. A sealed reply keeps
// its content in v1: senders decode it themselves from SENDERS.md.
//
// Ids are bound through HKDF's or HPKE's info, length-prefixed, never
// through HKDF's salt: the salt is an HMAC key, which HMAC zero-pads, so
// "abc" and "abc\x00" would be the same salt. The only salts used are of
// fixed length: public keys, and random salts (a PRF wrapping's, a sealed
// document v2's).
//
// Receipts and checkpoints are signed with Ed25519 (RFC 8032) over
// "postkasse/v1/<kind>" | 0x00 | message, where kind is not empty and has no
// 0x00 byte, so a signature for one kind of statement is never valid for
// another.
//
// Events POSTed to senders' callback URLs are signed with another Ed25519
// key, derived from the receipt key's seed by HKDF-SHA256 with info
// "postkasse/v1/callback-signing-key" (CallbackSigner), over the plain
// bytes t "." body that API.md names (t the Unix time in decimal). That
// key signs nothing else, so its plain signatures need no label; and
// they start with a digit, never with a label's "postkasse/v1/".
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
