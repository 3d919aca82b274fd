package httpui

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/httpui/api"
	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/httpui/resident"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// Config is what the server needs; main builds it.
type Config struct {
	Store  *store.Store
	Clock  func() time.Time // nil = time.Now; used by throttling and rate limits
	Logger *slog.Logger     // nil = discard
	// Throttle bounds failed logins; zero values are the defaults.
	Throttle ThrottleConfig
	// APIRate and APIBurst are the token bucket on the sender API of each
	// sender without one of its own (store.Store.SetSenderRate): APIRate
	// requests a second sustained, APIBurst at once. Zero is the default
	// (DefaultAPIRate, DefaultAPIBurst). A sender over its
	// bucket gets 429 TOO_MANY_REQUESTS with Retry-After.
	APIRate  float64
	APIBurst int
	// BytesInFlight bounds the request-body bytes the deliveries read at
	// once, for the whole server (guard.BytesInFlight); beyond it a
	// delivery is 503 UNAVAILABLE with Retry-After. Zero is
	// DefaultBytesInFlight.
	BytesInFlight int64
	// BodyStall is how long a request body may send nothing before the
	// request is refused with 400 and its connection closed
	// (boundStalls). Zero is DefaultBodyStall.
	BodyStall time.Duration
	// MaxPasswordChecks bounds the password checks (logins, and the
	// password that confirms deleting a mailbox) that run at once: each is
	// an Argon2id evaluation that holds the KDF's memory, 64 MiB by
	// default. Zero is runtime.GOMAXPROCS(0), about what the processors
	// can compute at once anyway. A request that finds them all taken
	// waits in line for one (PasswordCheckWait).
	MaxPasswordChecks int
	// PasswordCheckWait bounds a password check's wait for a free slot:
	// a request whose expected wait (its place in line times the measured
	// cost of one check) is over it, or that has waited that long, gets
	// 503 with Retry-After (package guard, PasswordChecks). Zero is
	// guard.DefaultPasswordCheckWait, more than guard.MaxPasswordCheckWait
	// is that; negative: no waiting at all.
	PasswordCheckWait time.Duration
	// Location is the appliance's time zone: dates on pages (delivered,
	// due, deletion) are shown in it. nil is the process's local zone.
	Location *time.Location
	// DefaultLanguage is the language of pages when neither the browser
	// nor the resident chose one it knows: "en", "da" or "nb"; "" is
	// English.
	DefaultLanguage string
	// SharedLimits keeps the login throttle and the senders' rate limits
	// in the store, where every node on the same database counts
	// together (the cluster engine's nodes); false keeps them in this
	// process's memory, exact for the one process of the embedded
	// engine. A node takes a sender's tokens from the shared bucket a
	// chunk at a time (a tenth of APIRate, at least one), so the nodes
	// together allow at most APIBurst + APIRate a second + a chunk each.
	SharedLimits bool
	// Callbacks is how senders may register callback URLs through the API
	// (PUT /api/v1/callback): which schemes, and which addresses.
	Callbacks api.CallbackConfig
	// Metrics, when set, is told of every request a route answered: its
	// route name, method, status code and duration (package metrics).
	Metrics RequestObserver
	// EID, when set, signs residents in with eID (package eid);
	// EIDCallbackURL is the redirect URL registered at its provider, ""
	// for the request's own origin's.
	EID            *eid.Client
	EIDCallbackURL string
}

// RequestObserver is told of answered requests (httpui/metrics.Metrics).
type RequestObserver interface {
	ObserveRequest(route, method string, code int, d time.Duration)
}

// ThrottleConfig bounds failed logins in a sliding window. When an account
// or a client address has had that many failures within the window,
// counting the password checks still under way as failures, the next
// attempt is refused with 429 without checking the password.
type ThrottleConfig struct {
	AccountFailures int           // per national identity number; default 5
	AddressFailures int           // per client address; default 20
	Window          time.Duration // default 15 minutes
}

func (c ThrottleConfig) withDefaults() ThrottleConfig {
	if c.AccountFailures <= 0 {
		c.AccountFailures = 5
	}
	if c.AddressFailures <= 0 {
		c.AddressFailures = 20
	}
	if c.Window <= 0 {
		c.Window = 15 * time.Minute
	}
	return c
}

// Default API rate limit per sender, for a sender without its own
// (store.SetSenderRate): store.DefaultSenderRate, DefaultSenderBurst.
const (
	DefaultAPIRate  = store.DefaultSenderRate  // requests per second, sustained
	DefaultAPIBurst = store.DefaultSenderBurst // requests at once
)

// DefaultBytesInFlight is Config.BytesInFlight's default, 128 MiB: about
// five letters of the largest size read at once.
const DefaultBytesInFlight = 128 << 20

// Server is the HTTP application: the resident pages (package resident)
// and the sender API (package api) on one router, in the middleware.
type Server struct {
	store   *store.Store
	clock   func() time.Time
	log     *slog.Logger
	router  *mux.Router
	handler http.Handler
	cat     *i18n.Catalogue
	// web is what the faces share: the catalogue and the logger, for
	// problems and the language of each request.
	web *web.Kit
	// pages renders the pages and serves the static files.
	pages *web.Pages
	// passwords runs password checks under the login throttle, at most
	// Config.MaxPasswordChecks at once (resident/password_check.go).
	passwords *guard.PasswordChecks
	// apiLimit is the per-sender token bucket of the API.
	apiLimit *guard.RateLimiter
	// callbacks: Config.Callbacks.
	callbacks api.CallbackConfig
	// bodyStall: Config.BodyStall.
	bodyStall time.Duration
}

// New builds the server: it parses every template and hashes the static
// files, so a missing or broken asset fails here, not on a request.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("httpui: Config.Store is nil")
	}
	s := &Server{store: cfg.Store, clock: cfg.Clock, log: cfg.Logger}
	loc := cfg.Location
	if loc == nil {
		loc = time.Local
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	t := cfg.Throttle.withDefaults()
	checks := cfg.MaxPasswordChecks
	if checks <= 0 {
		checks = runtime.GOMAXPROCS(0)
	}
	rate, burst := cfg.APIRate, cfg.APIBurst
	if rate <= 0 {
		rate = DefaultAPIRate
	}
	if burst <= 0 {
		burst = DefaultAPIBurst
	}
	s.bodyStall = cfg.BodyStall
	if s.bodyStall <= 0 {
		s.bodyStall = DefaultBodyStall
	}
	inFlight := cfg.BytesInFlight
	if inFlight <= 0 {
		inFlight = DefaultBytesInFlight
	}
	throttle := guard.NewThrottle(s.clock, t.Window, t.AccountFailures, t.AddressFailures)
	s.callbacks = cfg.Callbacks
	s.apiLimit = guard.NewRateLimiter(s.clock, rate, float64(burst))
	if cfg.SharedLimits {
		throttle = guard.NewSharedThrottle(s.store, s.clock, t.Window, t.AccountFailures, t.AddressFailures)
		s.apiLimit = guard.NewSharedRateLimiter(s.store, s.clock, rate, float64(burst))
	}
	s.passwords = guard.NewPasswordChecks(throttle, checks)
	if cfg.PasswordCheckWait != 0 {
		s.passwords.MaxWait = min(max(cfg.PasswordCheckWait, 0), guard.MaxPasswordCheckWait)
	}
	s.passwords.Log = s.log

	var err error
	files := assets.FS()
	if s.cat, err = i18n.Load(files, cfg.DefaultLanguage); err != nil {
		return nil, fmt.Errorf("httpui: %w", err)
	}
	s.web = &web.Kit{Cat: s.cat, Log: s.log}
	s.router = mux.NewRouter()
	s.pages, err = web.NewPages(web.PagesConfig{Kit: s.web, Router: s.router, Location: loc, Files: files,
		Required: resident.Pages, FormPage: resident.FormPage})
	if err != nil {
		return nil, fmt.Errorf("httpui: %w", err)
	}
	s.routes(resident.New(resident.Config{Store: s.store, Clock: s.clock, Location: loc, Web: s.web,
		Passwords: s.passwords, Pages: s.pages, EID: cfg.EID, EIDCallbackURL: cfg.EIDCallbackURL}),
		api.New(api.Config{Store: s.store, Clock: s.clock, Limit: s.apiLimit, Web: s.web, Callbacks: s.callbacks,
			InFlight: guard.NewBytesInFlight(inFlight)}))
	// A router middleware runs after the route matched, so it knows the
	// route's name (never a path, which may hold an id): for the access
	// log, and for the metrics.
	s.router.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			web.NoteRoute(r)
			next.ServeHTTP(w, r)
		})
	})
	if cfg.Metrics != nil {
		s.router.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
				next.ServeHTTP(sw, r)
				cfg.Metrics.ObserveRequest(web.RouteName(r), r.Method, sw.code, time.Since(start))
			})
		})
	}
	s.handler = s.middleware(s.router)
	return s, nil
}

// Handler returns the one handler for both the HTTP and the HTTPS
// listener.
func (s *Server) Handler() http.Handler { return s.handler }

// routeHealth is the name of the health check's route.
const routeHealth = "healthz"

// routes mounts both faces and the health check on the router (the
// static files are there already: web.NewPages).
func (s *Server) routes(res *resident.Handlers, sender *api.API) {
	r := s.router
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)

	// Resident web UI: package resident.
	res.Register(r)
	r.Handle("/healthz", http.HandlerFunc(s.healthz)).Methods(http.MethodGet, http.MethodHead).Name(routeHealth)

	// Sender API (API.md): package api, on the same router.
	sender.Register(r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

// notFound answers a request no route matched: a problem under /api/, a
// page elsewhere.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if web.IsAPI(r) {
		s.web.WriteProblem(w, r, web.Problem{Status: http.StatusNotFound, Code: "NOT_FOUND",
			Detail: "no such API resource"})
		return
	}
	s.pages.ErrorPage(w, r, http.StatusNotFound)
}

// methodNotAllowed answers a known path with a method it does not take,
// naming the methods it does take (RFC 9110 §15.5.6).
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowedMethods(r); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if web.IsAPI(r) {
		s.web.WriteProblem(w, r, web.Problem{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
			Detail: r.Method + " is not allowed here"})
		return
	}
	s.pages.ErrorPage(w, r, http.StatusMethodNotAllowed)
}

// allowedMethods lists the methods some route takes for r's path.
func (s *Server) allowedMethods(r *http.Request) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
