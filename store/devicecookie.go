package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Device cookies, as OWASP's Authentication Cheat Sheet describes them
// ("Slow Down Online Guessing Attacks with Device Cookies"): a browser
// where a resident signed in gets a token that names the account, signed
// by the appliance. A sign-in from such a browser is counted apart from
// everyone else's, so that whoever knows a resident's number and guesses
// passwords locks out the other browsers, not the resident's own.
//
// A token is "v1." + base64url(16 random bytes: the device's id) + "." +
// base64url(HMAC-SHA-256 over a label, the national identity number's
// digits and the id). The number is not in the token, only in its MAC:
// the cookie tells nobody who signed in on the browser. The MAC key is
// the limits' secret (limitsSecret), under a label of its own.

const (
	deviceTokenPrefix = "v1."
	deviceIDSize      = 16
	deviceTokenLabel  = "postkasse/v1/device-cookie\x00"
)

// NewDeviceToken returns a new device token for the account with the
// national identity number's digits, to set as a cookie at a successful
// sign-in.
func (s *Store) NewDeviceToken(ctx context.Context, number string) (string, error) {
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		return "", err
	}
	id := make([]byte, deviceIDSize)
	if _, err := io.ReadFull(s.rand, id); err != nil {
		return "", fmt.Errorf("read device id: %w", err)
	}
	return deviceTokenPrefix + base64.RawURLEncoding.EncodeToString(id) + "." +
		base64.RawURLEncoding.EncodeToString(deviceMAC(secret, number, id)), nil
}

// DeviceOf returns the device's id (hex) when token is a device token
// that this appliance made for the account with the number's digits, and
// "" for any other (another account's, forged, malformed).
func (s *Store) DeviceOf(ctx context.Context, token, number string) string {
	rest, ok := strings.CutPrefix(token, deviceTokenPrefix)
	if !ok || len(token) > 100 {
		return ""
	}
	idText, macText, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	id, err1 := base64.RawURLEncoding.DecodeString(idText)
	mac, err2 := base64.RawURLEncoding.DecodeString(macText)
	if err1 != nil || err2 != nil || len(id) != deviceIDSize {
		return ""
	}
	secret, err := s.limitsSecret(ctx)
	if err != nil {
		s.log.Warn("device cookie: no key to check it with", "err", err)
		return ""
	}
	if !hmac.Equal(mac, deviceMAC(secret, number, id)) {
		return ""
	}
	return hex.EncodeToString(id)
}

func deviceMAC(secret []byte, number string, id []byte) []byte {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, deviceTokenLabel)
	io.WriteString(m, number)
	m.Write([]byte{0})
	m.Write(id)
	return m.Sum(nil)
}
