package eid_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/oidctest"
	"github.com/postkasse/postkasse/store"
)

// callbackURL is the relying party's redirect URL in these tests; no
// server answers it: oidctest.SignIn stops at it.
const callbackURL = "http://127.0.0.1:9/eid/callback"

type rig struct {
	op     *oidctest.Provider
	rp     *eid.Client
	clock  *testsupport.Clock
	client *http.Client
}

func newRig(t *testing.T) *rig {
	t.Helper()
	p := oidctest.New(t)
	p.Register(t, callbackURL)
	p.AddUser(oidctest.User{Username: "anna", Password: "provider-pw", NationalID: testsupport.NationalID(1), First: "Anna", Last: "Andersen"})
	p.AddUser(oidctest.User{Username: "bad", Password: "provider-pw", NationalID: "0000000000", First: "Bad", Last: "Number"})
	p.AddUser(oidctest.User{Username: "none", Password: "provider-pw", NationalID: "", First: "No", Last: "Number"})
	return newRigAt(t, p, p.Issuer)
}

func newRigAt(t *testing.T, p *oidctest.Provider, issuer string) *rig {
	t.Helper()
	clock := testsupport.NewClockAt(time.Now())
	rp, err := eid.New(eid.Config{Issuer: issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		Scopes: []string{"profile"}, Claim: oidctest.Claim, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{op: p, rp: rp, clock: clock, client: &http.Client{Timeout: 10 * time.Second}}
}

// signIn begins a request and signs in at the provider; edit, when set,
// changes the authorization URL first.
func (r *rig) signIn(t *testing.T, user string, edit func(url.Values)) (store.EIDHandshake, eid.Callback) {
	t.Helper()
	authURL, h, err := r.rp.Begin(context.Background(), callbackURL, store.EIDSignIn)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	for _, k := range []string{"state", "nonce", "code_challenge", "code_challenge_method", "client_id", "redirect_uri"} {
		if q.Get(k) == "" {
			t.Fatalf("authorization URL %s has no %s", authURL, k)
		}
	}
	if q.Get("code_challenge_method") != "S256" {
		t.Errorf("PKCE method %q", q.Get("code_challenge_method"))
	}
	if edit != nil {
		edit(q)
		u.RawQuery = q.Encode()
	}
	back := r.op.SignIn(t, r.client, u.String(), user, "provider-pw")
	if back.Path != "/eid/callback" {
		t.Fatalf("back at %s", back)
	}
	return h, eid.ParseCallback(back.Query())
}

// TestFinish: a sign-in at a real provider gives the resident's number
// and name.
func TestFinish(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	h, cb := r.signIn(t, "anna", nil)
	id, err := r.rp.Finish(context.Background(), h, cb)
	if err != nil {
		t.Fatal(err)
	}
	if id.NationalID.Number != testsupport.NationalID(1) || id.Name != "Anna Andersen" {
		t.Errorf("identity = %+v", id)
	}
	// The code works once (RFC 6749 §4.1.2).
	if _, err := r.rp.Finish(context.Background(), h, cb); !errors.Is(err, eid.ErrRefused) {
		t.Errorf("the code used twice: %v", err)
	}
}

// TestRefusals: every check of the callback and the ID token refuses.
func TestRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("state mismatch", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		h, cb := r.signIn(t, "anna", nil)
		cb.State += "x"
		if _, err := r.rp.Finish(ctx, h, cb); !errors.Is(err, eid.ErrRefused) {
			t.Errorf("got %v", err)
		}
		cb.State = ""
		if _, err := r.rp.Finish(ctx, h, cb); !errors.Is(err, eid.ErrRefused) {
			t.Errorf("no state: %v", err)
		}
	})
	t.Run("replayed nonce", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		// A first sign-in, whose nonce the attacker saw.
		old, _ := r.signIn(t, "anna", nil)
		// A second request, whose authorization the attacker answers
		// with a request carrying the old nonce: state and PKCE are the
		// new request's, the ID token holds the old nonce.
		h, cb := r.signIn(t, "anna", func(q url.Values) { q.Set("nonce", old.Nonce) })
		_, err := r.rp.Finish(ctx, h, cb)
		if !errors.Is(err, eid.ErrRefused) {
			t.Fatalf("got %v", err)
		}
		t.Log(err)
	})
	t.Run("expired token", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		h, cb := r.signIn(t, "anna", nil)
		r.clock.Advance(2 * time.Hour) // the example provider's tokens live an hour
		_, err := r.rp.Finish(ctx, h, cb)
		if !errors.Is(err, eid.ErrRefused) {
			t.Fatalf("got %v", err)
		}
		t.Log(err)
	})
	t.Run("wrong audience", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		r.op.IssueForAudience("another-relying-party")
		h, cb := r.signIn(t, "anna", nil)
		_, err := r.rp.Finish(ctx, h, cb)
		if !errors.Is(err, eid.ErrRefused) {
			t.Fatalf("got %v", err)
		}
		t.Log(err)
	})
	t.Run("wrong issuer", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		// The provider's discovery names the token endpoint of another
		// provider, which shares its keys: the ID token is well signed,
		// but issued by the other.
		r.op.IssueTokensAt(t, oidctest.New(t))
		h, cb := r.signIn(t, "anna", nil)
		_, err := r.rp.Finish(ctx, h, cb)
		if !errors.Is(err, eid.ErrRefused) {
			t.Fatalf("got %v", err)
		}
		t.Log(err)
	})
	t.Run("invalid national id", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		for _, user := range []string{"bad", "none"} {
			h, cb := r.signIn(t, user, nil)
			if _, err := r.rp.Finish(ctx, h, cb); !errors.Is(err, eid.ErrRefused) || !errors.Is(err, store.ErrInvalidNationalID) {
				t.Errorf("%s: got %v", user, err)
			}
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		h, cb := r.signIn(t, "anna", nil)
		h.Verifier = "x" + h.Verifier[1:]
		if _, err := r.rp.Finish(ctx, h, cb); !errors.Is(err, eid.ErrRefused) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("provider error", func(t *testing.T) {
		t.Parallel()
		r := newRig(t)
		h, cb := r.signIn(t, "anna", nil)
		cb.Code, cb.Error = "", "access_denied"
		if _, err := r.rp.Finish(ctx, h, cb); !errors.Is(err, eid.ErrCancelled) {
			t.Errorf("got %v", err)
		}
	})
}

// TestConfig: New refuses a configuration it cannot use.
func TestConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []eid.Config{
		{Issuer: "", ClientID: "c", Claim: "x"},
		{Issuer: "ftp://idp", ClientID: "c", Claim: "x"},
		{Issuer: "https://idp?x=1", ClientID: "c", Claim: "x"},
		{Issuer: "https://idp", Claim: "x"},
		{Issuer: "https://idp", ClientID: "c"},
	} {
		if _, err := eid.New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestUnavailable: a provider that does not answer is ErrUnavailable.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	rp, err := eid.New(eid.Config{Issuer: "http://127.0.0.1:9", ClientID: "c", Claim: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rp.Begin(context.Background(), callbackURL, store.EIDSignIn); !errors.Is(err, eid.ErrUnavailable) {
		t.Errorf("got %v", err)
	}
}
