// Package api is the sender API of Postkasse (API.md, base /api/v1): the
// handlers that authenticate a sender by its TLS client certificate and
// apply its rate limit (withSender, sender.go), deliver a letter
// (deliver.go, parsing the multipart request in form_message.go; or a
// MeMo message, memo.go), tell a
// letter's status (status.go), withdraw a scheduled letter
// (withdraw.go), look a recipient up (recipient.go), give the receipt
// verification key (receipt_key.go), page through the sender's events
// (events.go) and register a callback URL for them (callback.go). One
// file per handler; the forms only
// parse, the rules are package store's.
//
// Every answer is JSON, every refusal an RFC 9457 problem written by
// package web, whose title is in the language of the request's
// Accept-Language. The routes are registered on the appliance's router
// by Register (package httpui mounts them), so that a wrong method on an
// API path is 405 and an unknown API path a problem, not a page.
package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/internal/netguard"
	"github.com/postkasse/postkasse/store"
)

// Config is what the API needs; httpui.New builds it.
type Config struct {
	Store *store.Store
	Clock func() time.Time // checks the client certificate's validity on every request
	// Limit is each sender's token bucket.
	Limit *guard.RateLimiter
	// Web writes problems and JSON answers in the request's language.
	Web *web.Kit
	// Callbacks is how senders may register callback URLs.
	Callbacks CallbackConfig
	// InFlight bounds the request-body bytes the deliveries read at once,
	// for the whole server; nil is no bound.
	InFlight *guard.BytesInFlight
}

// CallbackConfig is how senders may register callback URLs: the policy's
// AllowHTTP (the demo) and the guard that refuses hosts that are not
// public (unless it allows private addresses).
type CallbackConfig struct {
	Policy store.CallbackPolicy
	Guard  netguard.Guard
}

// API is the sender API's handlers.
type API struct {
	store  *store.Store
	clock  func() time.Time
	limit  *guard.RateLimiter
	web    *web.Kit
	router *mux.Router // set by Register; builds the Location of a delivery
	cb     CallbackConfig
	// inFlight: Config.InFlight.
	inFlight *guard.BytesInFlight
}

// New returns the API's handlers; Register mounts them.
func New(cfg Config) *API {
	return &API{store: cfg.Store, clock: cfg.Clock, limit: cfg.Limit, web: cfg.Web, cb: cfg.Callbacks, inFlight: cfg.InFlight}
}

// Route names of the API.
const (
	routeRecipient = "api-recipient"
	routeLookup    = "api-lookup"
	routeOpenAPI   = "api-openapi"
	routeDeliver   = "api-deliver"
	routeMemo      = "api-memo"
	routeStatus    = "api-status"
	routeWithdraw  = "api-withdraw"
	routeKey       = "api-receipt-key"
	routeEvents    = "api-events"
	routeCallback  = "api-callback"
	routeReplyKey  = "api-reply-key"
	routeReply     = "api-reply"
	routeSignature = "api-signature"
	routeSigningCA = "api-signing-ca"
)

// Base is the path under which the API's routes are.
const Base = "/api/v1"

// Register adds the API's routes to r, the appliance's router. Every
// route but the OpenAPI document authenticates the sender by its client
// certificate and counts against its rate limit. (Registered on the router itself, not on a
// subrouter: a gorilla/mux subrouter loses "wrong method" and answers
// 404.)
func (a *API) Register(r *mux.Router) {
	a.router = r
	r.Handle(Base+"/openapi.json", http.HandlerFunc(a.openAPI)).Methods(http.MethodGet, http.MethodHead).Name(routeOpenAPI)
	r.Handle(Base+"/recipients/lookup", a.withSender(a.lookup)).Methods(http.MethodPost).Name(routeLookup)
	r.Handle(Base+"/recipients/{nationalId}", a.withSender(a.recipient)).Methods(http.MethodGet).Name(routeRecipient)
	r.Handle(Base+"/messages", a.withSender(a.deliver)).Methods(http.MethodPost).Name(routeDeliver)
	r.Handle(Base+"/memo", a.withSender(a.deliverMemo)).Methods(http.MethodPost).Name(routeMemo)
	r.Handle(Base+"/messages/{id}", a.withSender(a.status)).Methods(http.MethodGet).Name(routeStatus)
	r.Handle(Base+"/messages/{id}", a.withSender(a.withdraw)).Methods(http.MethodDelete).Name(routeWithdraw)
	r.Handle(Base+"/messages/{id}/signature", a.withSender(a.signature)).Methods(http.MethodGet).Name(routeSignature)
	r.Handle(Base+"/signing-ca", a.withSender(a.signingCA)).Methods(http.MethodGet).Name(routeSigningCA)
	r.Handle(Base+"/receipt-key", a.withSender(a.receiptKey)).Methods(http.MethodGet).Name(routeKey)
	r.Handle(Base+"/events", a.withSender(a.events)).Methods(http.MethodGet).Name(routeEvents)
	r.Handle(Base+"/callback", a.withSender(a.callback)).Methods(http.MethodGet, http.MethodPut, http.MethodDelete).Name(routeCallback)
	r.Handle(Base+"/reply-key", a.withSender(a.replyKey)).Methods(http.MethodGet, http.MethodPut).Name(routeReplyKey)
	r.Handle(Base+"/replies/{id}", a.withSender(a.reply)).Methods(http.MethodGet).Name(routeReply)
}

// mustURL returns the path of one of the API's named routes with its
// variables. The names and variables are the package's own, checked by
// the tests, so an error is a bug.
func (a *API) mustURL(name string, pairs ...string) string {
	route := a.router.Get(name)
	if route == nil {
		panic(fmt.Sprintf("api: no route named %q", name))
	}
	u, err := route.URLPath(pairs...)
	if err != nil {
		panic(fmt.Sprintf("api: route %q: %v", name, err))
	}
	return u.Path
}
