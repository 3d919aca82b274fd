// Package webauthntest is a software WebAuthn authenticator and client for
// tests: it answers the options that package store makes as a browser with
// a platform authenticator would (PublicKeyCredential.toJSON of the
// results of navigator.credentials.create and get), with ES256 keys, "none"
// attestation, a signature counter, and the PRF extension computed as
// CTAP2's hmac-secret does (HMAC-SHA-256 under a secret of the credential
// over SHA-256("WebAuthn PRF" ‖ 0x00 ‖ input), WebAuthn Level 3 §10.1.4).
// The browser tests use Chromium's own virtual authenticator instead.
package webauthntest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds credentials for one origin.
type Authenticator struct {
	Origin string // the origin the client reports, e.g. https://postkasse.example
	// PRF: the authenticator has the PRF extension. PRFAtCreate: it
	// evaluates it while creating a credential too (else it only says
	// it is enabled).
	PRF, PRFAtCreate bool
	// NoCounter: the signature counter stays 0, as many passkeys keep it.
	NoCounter bool
	// NoUserVerification: assertions do not say the user was verified
	// (no PIN or biometrics: the UV flag is clear).
	NoUserVerification bool
	Credentials        []*Credential
}

// Credential is one credential of the authenticator.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	PRFSecret  []byte
	Counter    uint32
}

var b64 = base64.RawURLEncoding

type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Extensions struct {
		PRF *struct {
			Eval struct {
				First string `json:"first"`
			} `json:"eval"`
		} `json:"prf"`
	} `json:"extensions"`
}

type requestOptions struct {
	Challenge        string `json:"challenge"`
	RPID             string `json:"rpId"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
	Extensions struct {
		PRF *struct {
			Eval struct {
				First string `json:"first"`
			} `json:"eval"`
		} `json:"prf"`
	} `json:"extensions"`
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// PRFOutput is the credential's PRF at input.
func (c *Credential) PRFOutput(input []byte) []byte {
	h := sha256.New()
	h.Write([]byte("WebAuthn PRF\x00"))
	h.Write(input)
	m := hmac.New(sha256.New, c.PRFSecret)
	m.Write(h.Sum(nil))
	return m.Sum(nil)
}

func (a *Authenticator) authData(c *Credential, flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(c.RPID))
	out := append([]byte{}, rp[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, c.Counter)
	return append(out, attested...)
}

func (a *Authenticator) bump(c *Credential) {
	if !a.NoCounter {
		c.Counter++
	}
}

// Create answers creation options (their JSON) with a new credential and
// returns the response's JSON.
func (a *Authenticator) Create(options string) (string, *Credential, error) {
	var o creationOptions
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		return "", nil, err
	}
	user, err := b64.DecodeString(o.User.ID)
	if err != nil {
		return "", nil, fmt.Errorf("user id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	c := &Credential{ID: make([]byte, 16), RPID: o.RP.ID, UserHandle: user, Key: key, PRFSecret: make([]byte, 32)}
	rand.Read(c.ID)
	rand.Read(c.PRFSecret)
	a.bump(c)
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		return "", nil, err
	}
	raw := pub.Bytes() // 04 | x | y
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: 2, Algorithm: -7},
		Curve:         1, XCoord: raw[1:33], YCoord: raw[33:],
	})
	if err != nil {
		return "", nil, err
	}
	attested := make([]byte, 16) // AAGUID
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(c.ID)))
	attested = append(attested, c.ID...)
	attested = append(attested, cose...)
	authData := a.authData(c, 0x01|0x04|0x40, attested) // UP, UV, AT
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return "", nil, err
	}
	ext := map[string]any{}
	if o.Extensions.PRF != nil {
		prf := map[string]any{"enabled": a.PRF}
		if a.PRF && a.PRFAtCreate && o.Extensions.PRF.Eval.First != "" {
			in, err := b64.DecodeString(o.Extensions.PRF.Eval.First)
			if err != nil {
				return "", nil, err
			}
			prf["results"] = map[string]any{"first": b64.EncodeToString(c.PRFOutput(in))}
		}
		ext["prf"] = prf
	}
	resp := map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": ext,
	}
	b, err := json.Marshal(resp)
	a.Credentials = append(a.Credentials, c)
	return string(b), c, err
}

// Get answers request options (their JSON) with an assertion by the
// first of the authenticator's credentials that the options allow (any
// of the RP's when they list none), and returns the response's JSON.
func (a *Authenticator) Get(options string) (string, error) {
	var o requestOptions
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		return "", err
	}
	var c *Credential
	for _, cand := range a.Credentials {
		if cand.RPID != o.RPID {
			continue
		}
		if len(o.AllowCredentials) == 0 {
			c = cand
			break
		}
		for _, allowed := range o.AllowCredentials {
			if id, err := b64.DecodeString(allowed.ID); err == nil && bytes.Equal(id, cand.ID) {
				c = cand
			}
		}
		if c != nil {
			break
		}
	}
	if c == nil {
		return "", errors.New("webauthntest: no credential for these options")
	}
	return a.Assert(c, options)
}

// Assert answers request options with an assertion by c.
func (a *Authenticator) Assert(c *Credential, options string) (string, error) {
	var o requestOptions
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		return "", err
	}
	a.bump(c)
	flags := byte(0x01 | 0x04)
	if a.NoUserVerification {
		flags = 0x01
	}
	authData := a.authData(c, flags, nil)
	cd := a.clientData("webauthn.get", o.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, authData...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return "", err
	}
	ext := map[string]any{}
	if o.Extensions.PRF != nil && a.PRF && o.Extensions.PRF.Eval.First != "" {
		in, err := b64.DecodeString(o.Extensions.PRF.Eval.First)
		if err != nil {
			return "", err
		}
		ext["prf"] = map[string]any{"results": map[string]any{"first": b64.EncodeToString(c.PRFOutput(in))}}
	}
	resp := map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.UserHandle),
		},
		"clientExtensionResults": ext,
	}
	b, err := json.Marshal(resp)
	return string(b), err
}
