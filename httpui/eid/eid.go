// Package eid is the appliance's side of signing in with eID: an OpenID
// Connect relying party (OpenID Connect Core 1.0) of the operator's eID
// provider (MitID, ID-porten, BankID and their brokers), with the
// authorization code flow (§3.1), PKCE (RFC 7636, S256), state (RFC 6749
// §10.12) and nonce (Core §3.1.2.1). Discovery, the token request and
// the ID token's signature, issuer, audience and expiry are
// github.com/coreos/go-oidc and golang.org/x/oauth2's; this package adds
// the nonce's check, reads the claim that carries the national identity
// number, and keeps nothing itself: the state, nonce and verifier of a
// request are kept by the store (store.EIDHandshake), bound to the
// browser and used once, so that any node of a cluster can take the
// callback.
//
// What the provider proves is who the resident is, never more: the
// mailbox's private key is still unwrapped by the password (package
// store, LoginWithEID).
package eid

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/postkasse/postkasse/store"
)

// Config is the relying party's registration at the provider.
type Config struct {
	// Issuer is the provider's issuer identifier, whose
	// /.well-known/openid-configuration is read (OpenID Connect
	// Discovery 1.0 §4); the ID token's iss must be exactly it.
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes are asked for besides "openid".
	Scopes []string
	// Name is the provider as residents know it ("MitID",
	// "ID-porten"), on the pages' buttons and texts; "" is "eID".
	Name string
	// Claim is the ID token's claim that carries the national identity
	// number (a string).
	Claim string
	// HTTPClient makes the requests to the provider; nil is a client
	// with a 10-second timeout.
	HTTPClient *http.Client
	// Clock is the time an ID token's expiry is checked against; nil is
	// time.Now.
	Clock func() time.Time
}

// Errors of Finish.
var (
	// ErrUnavailable: the provider could not be reached, or answered
	// the token request with no token (a network or provider fault).
	ErrUnavailable = errors.New("eid: the provider is unavailable")
	// ErrRefused: the callback or the ID token failed a check: the
	// state, the code, the signature, the issuer, the audience, the
	// expiry, the nonce, or the national identity number's claim.
	ErrRefused = errors.New("eid: the sign-in was refused")
	// ErrCancelled: the provider sent the browser back with an error
	// (RFC 6749 §4.1.2.1), such as the resident cancelling.
	ErrCancelled = errors.New("eid: the provider sent an error")
)

// Client is a relying party. Discovery happens at the first use, and
// again after a failure, so the appliance starts while the provider is
// down.
type Client struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// New checks cfg and returns a client; it makes no request.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("eid: issuer %q: want an https:// URL with no query or fragment", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("eid: no client id")
	}
	if cfg.Claim == "" {
		return nil, errors.New("eid: no claim for the national identity number")
	}
	c := &Client{cfg: cfg, client: cfg.HTTPClient}
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
	if c.cfg.Clock == nil {
		c.cfg.Clock = time.Now
	}
	if c.cfg.Name == "" {
		c.cfg.Name = "eID"
	}
	return c, nil
}

// Name is the provider as residents know it.
func (c *Client) Name() string { return c.cfg.Name }

// discover returns the provider's metadata and the ID token verifier,
// reading them the first time.
func (c *Client) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, c.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.client), c.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: discovery: %w", ErrUnavailable, err)
	}
	// The key set lives as long as the client: its requests use a
	// context of their own, with the client's HTTP client.
	keys := oidc.ClientContext(context.Background(), c.client)
	c.provider = p
	c.verifier = p.VerifierContext(keys, &oidc.Config{ClientID: c.cfg.ClientID, Now: c.cfg.Clock})
	return c.provider, c.verifier, nil
}

func (c *Client) oauth(p *oidc.Provider, redirectURL string) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range c.cfg.Scopes {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: redirectURL, Scopes: scopes}
}

// Begin makes a new authorization request for purpose, answered at
// redirectURL: it returns the URL to send the browser to, and the
// handshake to keep (store.BeginEIDHandshake) until the browser comes
// back. State and nonce are 128 random bits each; the PKCE verifier 256.
func (c *Client) Begin(ctx context.Context, redirectURL string, purpose store.EIDPurpose) (string, store.EIDHandshake, error) {
	p, _, err := c.discover(ctx)
	if err != nil {
		return "", store.EIDHandshake{}, err
	}
	h := store.EIDHandshake{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		RedirectURL: redirectURL, Purpose: purpose}
	u := c.oauth(p, redirectURL).AuthCodeURL(h.State, oidc.Nonce(h.Nonce), oauth2.S256ChallengeOption(h.Verifier))
	return u, h, nil
}

// Identity is whom the provider vouched for.
type Identity struct {
	NationalID store.NationalID
	Name       string // "" when the provider gave none
}

// Callback is the query of the browser's return to the redirect URL
// (RFC 6749 §4.1.2).
type Callback struct {
	State, Code, Error string
}

// ParseCallback reads a callback's query; it never fails (Finish checks).
func ParseCallback(q url.Values) Callback {
	return Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error")}
}

// Finish checks the callback against the handshake it was made for and
// exchanges its code (with the PKCE verifier) for an ID token, which
// must be signed by the provider's keys, issued by the issuer, for this
// client alone, unexpired, with the handshake's nonce, and with the claim
// holding a valid national identity number. Every failed check is
// ErrRefused (wrapped with the reason, for the log).
func (c *Client) Finish(ctx context.Context, h store.EIDHandshake, cb Callback) (Identity, error) {
	// The state first: a callback of another request (a forged one, an
	// old one) is refused before the code is sent anywhere.
	if !h.EqualState(cb.State) {
		return Identity{}, fmt.Errorf("%w: the state does not match", ErrRefused)
	}
	if cb.Error != "" {
		return Identity{}, fmt.Errorf("%w: %.100q", ErrCancelled, cb.Error)
	}
	if cb.Code == "" || len(cb.Code) > 4096 {
		return Identity{}, fmt.Errorf("%w: no code", ErrRefused)
	}
	p, verifier, err := c.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := c.oauth(p, h.RedirectURL).Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.client), cb.Code, oauth2.VerifierOption(h.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			// invalid_grant and its kin (RFC 6749 §5.2): a used or
			// forged code, a PKCE verifier that does not match.
			return Identity{}, fmt.Errorf("%w: token request: %w", ErrRefused, err)
		}
		return Identity{}, fmt.Errorf("%w: token request: %w", ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no ID token in the token response", ErrRefused)
	}
	id, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: ID token: %w", ErrRefused, err)
	}
	// go-oidc checked that the client is among the audiences; OpenID
	// Connect Core §3.1.3.7 (3) also rejects a token with audiences the
	// client does not trust: here, any other.
	if len(id.Audience) != 1 || id.Audience[0] != c.cfg.ClientID {
		return Identity{}, fmt.Errorf("%w: the ID token's audience %q is not this client alone", ErrRefused, id.Audience)
	}
	// The nonce binds the ID token to this request: a token issued for
	// another (replayed, or injected with another code) has another.
	if h.Nonce == "" || subtle.ConstantTimeCompare([]byte(h.Nonce), []byte(id.Nonce)) != 1 {
		return Identity{}, fmt.Errorf("%w: the ID token's nonce is not the request's", ErrRefused)
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %w", ErrRefused, err)
	}
	number, _ := claims[c.cfg.Claim].(string)
	nid, err := store.ParseNationalID(number)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: claim %s: %w", ErrRefused, c.cfg.Claim, err)
	}
	return Identity{NationalID: nid, Name: nameOf(claims)}, nil
}

// nameOf is the resident's name from the standard claims (Core §5.1).
func nameOf(claims map[string]any) string {
	if n, ok := claims["name"].(string); ok && strings.TrimSpace(n) != "" {
		return n
	}
	given, _ := claims["given_name"].(string)
	family, _ := claims["family_name"].(string)
	return strings.TrimSpace(given + " " + family)
}
