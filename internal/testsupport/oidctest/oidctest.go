// Package oidctest runs a real OpenID Connect provider for tests: the
// op package of github.com/zitadel/oidc (its authorization, token,
// discovery and key set endpoints, with the login page and in-memory
// storage of its example server) on loopback, with signing keys of its
// own, made for each provider. Tests sign in there as a resident of the
// eID provider, whose ID token carries the national identity number in a
// claim, as MitID's and ID-porten's brokers do.
//
// A provider listens at once (New), so its issuer is known before the
// appliance is built, and takes requests once the relying party is
// registered with the appliance's redirect URL (Register).
package oidctest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Claim is the claim the test provider puts the national identity number
// in.
const Claim = "national_id"

// Client is the relying party the tests register.
const (
	ClientID     = "postkasse"
	ClientSecret = "test-client-secret"
)

// User is a person who can sign in at the provider.
type User struct {
	Username, Password string
	// NationalID is the claim's value (any string: tests give invalid
	// ones too).
	NationalID string
	First      string
	Last       string
}

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is the provider's issuer and base URL.
	Issuer string

	handler atomic.Pointer[http.Handler]
	store   *opStorage
	users   *users
}

// New starts a provider on loopback, serving until the test ends; it
// answers 503 until Register.
func New(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{users: &users{byID: map[string]*storage.User{}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := p.handler.Load()
		if h == nil {
			http.Error(w, "not registered yet", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Issuer = srv.URL
	return p
}

// AddUser adds a person who can sign in.
func (p *Provider) AddUser(u User) {
	p.users.add(u)
}

// Register registers the relying party (ClientID, ClientSecret, client
// secret basic or post) with its redirect URLs, and serves the provider.
func (p *Provider) Register(t testing.TB, redirectURLs ...string) {
	t.Helper()
	client := storage.WebClient(ClientID, ClientSecret, redirectURLs...)
	st := storage.NewStorageWithClients(p.users, map[string]*storage.Client{ClientID: client})
	p.store = &opStorage{Storage: st, users: p.users}
	p.serve(p.store)
}

// IssueTokensAt makes the provider's discovery name other's token
// endpoint, and other share this provider's storage (its codes, clients
// and signing key): a provider that "mixes up" issuers, whose ID tokens
// are signed by the right keys but issued by other. For the tests that
// the relying party checks the issuer.
func (p *Provider) IssueTokensAt(t testing.TB, other *Provider) {
	t.Helper()
	other.store, other.users = p.store, p.users
	other.serve(p.store)
	p.serve(p.store, op.WithCustomTokenEndpoint(op.NewEndpointWithURL("/oauth/token", other.Issuer+"/oauth/token")))
}

func (p *Provider) serve(st *opStorage, opts ...op.Option) {
	h := http.Handler(exampleop.SetupServer(p.Issuer, st, nil, false, opts...))
	p.handler.Store(&h)
}

// SignIn signs in at the provider as user, following the authorization
// request authURL through the provider's login page, with the client c
// (which must not follow redirects to the relying party: it stops at the
// first redirect outside the provider). It returns the URL the provider
// sends the browser back to: the relying party's callback with the code
// and the state.
func (p *Provider) SignIn(t testing.TB, c *http.Client, authURL, username, password string) *url.URL {
	t.Helper()
	hc := *c
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), p.Issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/login/username") {
		t.Fatalf("authorization request: %s at %s", resp.Status, resp.Request.URL)
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	resp, err = hc.PostForm(p.Issuer+"/login/username", url.Values{"id": {id}, "username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("the provider sent no browser back: %s at %s", resp.Status, resp.Request.URL)
	}
	return loc
}

// users are the provider's people (storage.UserStore).
type users struct {
	mu   sync.Mutex
	byID map[string]*storage.User
	nids map[string]string
}

func (u *users) add(user User) {
	u.mu.Lock()
	defer u.mu.Unlock()
	id := "user-" + user.Username
	u.byID[id] = &storage.User{ID: id, Username: user.Username, Password: user.Password,
		FirstName: user.First, LastName: user.Last, PreferredLanguage: language.Danish}
	if u.nids == nil {
		u.nids = map[string]string{}
	}
	u.nids[id] = user.NationalID
}

func (u *users) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.byID[id]
}

func (u *users) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, user := range u.byID {
		if user.Username == name {
			return user
		}
	}
	return nil
}

func (u *users) ExampleClientID() string { return "service" }

func (u *users) nationalID(id string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.nids[id]
}

// opStorage is the example's storage with the national identity number
// and the name in the ID token.
type opStorage struct {
	*storage.Storage
	users    *users
	audience atomic.Pointer[string]
}

// SetUserinfoFromRequest adds the claims to the ID token (op calls it
// for every ID token).
func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if user := s.users.GetUserByID(req.GetSubject()); user != nil {
		info.Name = user.FirstName + " " + user.LastName
	}
	info.AppendClaims(Claim, s.users.nationalID(req.GetSubject()))
	return nil
}

// AuthRequestByCode returns the request a code was issued for; with
// IssueForAudience set, one whose ID token is for that audience instead
// of the client's: a provider that gives the relying party a token meant
// for another, for the tests of the audience check.
func (s *opStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	req, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	if aud := s.audience.Load(); aud != nil {
		return audienceRequest{req, *aud}, nil
	}
	return req, nil
}

type audienceRequest struct {
	op.AuthRequest
	audience string
}

func (r audienceRequest) GetAudience() []string { return []string{r.audience} }

// IssueForAudience makes the provider issue ID tokens for audience
// instead of the client that asked ("" stops it).
func (p *Provider) IssueForAudience(audience string) {
	if audience == "" {
		p.store.audience.Store(nil)
		return
	}
	p.store.audience.Store(&audience)
}
