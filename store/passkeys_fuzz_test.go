package store

import (
	"context"
	"errors"
	"testing"
)

// FuzzPasskeySignIn: whatever a browser sends as the ceremony's state and
// its response (the new decoders: the signed state, the WebAuthn JSON
// and CBOR that go-webauthn reads, the PRF output), a sign-in with a
// passkey alone and the second step with one fail with one of their
// documented errors, never another error or a panic, and sign nobody in
// unless the response is a real one.
func FuzzPasskeySignIn(f *testing.F) {
	fx := newFixture(f)
	ctx := context.Background()
	mb := mustLogin(f, fx.s, fx.nid, testPassword)
	a := newTestAuthenticator(true, true)
	addPasskey(f, mb, a, "Telefon")
	cer, err := fx.s.BeginPasskeySignIn(ctx, testRP)
	if err != nil {
		f.Fatal(err)
	}
	good, err := a.Get(cer.Options)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cer.State, good[:len(good)/2])
	f.Add(cer.State, `{"id":"","rawId":"","type":"public-key","response":{"clientDataJSON":"","authenticatorData":"","signature":""}}`)
	f.Add(cer.State+"x", good)
	f.Add("", "")
	f.Add(cer.State, `{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AA","userHandle":"AA"},"clientExtensionResults":{"prf":{"results":{"first":"AA"}}}}`)
	token := firstStep(f, fx)
	f.Fuzz(func(t *testing.T, state, response string) {
		if state == cer.State && response == good {
			return // the real one, which signs in once
		}
		if _, err := fx.s.PasskeySignIn(ctx, testRP, state, response); err == nil ||
			!(errors.Is(err, ErrPasskeyResponse) || errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrPasskeyNoUnlock)) {
			t.Fatalf("PasskeySignIn: %v", err)
		}
		if _, err := fx.s.CompletePasskeyLogin(ctx, testRP, token, state, response); err == nil ||
			!(errors.Is(err, ErrPasskeyResponse) || errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrSessionExpired)) {
			t.Fatalf("CompletePasskeyLogin: %v", err)
		}
	})
}
