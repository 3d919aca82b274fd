package httpui

import (
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/gorilla/mux"

	"github.com/postkasse/postkasse/assets"
	"github.com/postkasse/postkasse/httpui/api"
	"github.com/postkasse/postkasse/httpui/guard"
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
	// APIRate and APIBurst are each sender's token bucket on the sender
	// API: APIRate requests a second sustained, APIBurst at once. Zero is
	// the default (DefaultAPIRate, DefaultAPIBurst). A sender over its
	// bucket gets 429 TOO_MANY_REQUESTS with Retry-After.
	APIRate  float64
	APIBurst int
	// MaxPasswordChecks bounds the password checks (logins, and the
	// password that confirms deleting a mailbox) that run at once: each is
	// an Argon2id evaluation that holds the KDF's memory, 64 MiB by
	// default. Zero is runtime.GOMAXPROCS(0), about what the processors
	// can compute at once anyway. A request waits up to 5 seconds for a
	// free one, then gets 503 with Retry-After.
	MaxPasswordChecks int
	// Location is the appliance's time zone: dates on pages (delivered,
	// due, deletion) are shown in it. nil is the process's local zone.
	Location *time.Location
	// DefaultLanguage is the language of pages when neither the browser
	// nor the resident chose one it knows: "en", "da" or "nb"; "" is
	// English.
	DefaultLanguage string
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

// Default API rate limit per sender. A bulk sender delivering with many
// concurrent requests is bound by the store's group commit (hundreds of
// letters a second on one disk), not by this bucket; the bucket stops a
// runaway client from starving the other senders.
const (
	DefaultAPIRate  = 200 // requests per second, sustained
	DefaultAPIBurst = 400 // requests at once
)

// Server is the HTTP application: web UI and sender API.
type Server struct {
	store   *store.Store
	clock   func() time.Time
	loc     *time.Location // dates on pages are in this zone
	log     *slog.Logger
	router  *mux.Router
	handler http.Handler
	cat     *i18n.Catalogue
	// web is what the faces share: the catalogue and the logger, for
	// problems and the language of each request.
	web    *web.Kit
	pages  map[string]map[string]*template.Template // by language, then page
	static map[string]staticFile                    // by file name
	// passwords runs password checks under the login throttle, at most
	// Config.MaxPasswordChecks at once (password_check.go).
	passwords *guard.PasswordChecks
	// apiLimit is the per-sender token bucket of the API.
	apiLimit *guard.RateLimiter
}

// New builds the server: it parses every template and hashes the static
// files, so a missing or broken asset fails here, not on a request.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("httpui: Config.Store is nil")
	}
	s := &Server{store: cfg.Store, clock: cfg.Clock, log: cfg.Logger}
	if s.loc = cfg.Location; s.loc == nil {
		s.loc = time.Local
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
	s.passwords = guard.NewPasswordChecks(guard.NewThrottle(s.clock, t.Window, t.AccountFailures, t.AddressFailures), checks)
	rate, burst := cfg.APIRate, cfg.APIBurst
	if rate <= 0 {
		rate = DefaultAPIRate
	}
	if burst <= 0 {
		burst = DefaultAPIBurst
	}
	s.apiLimit = guard.NewRateLimiter(s.clock, rate, float64(burst))

	var err error
	files := assets.FS()
	if s.cat, err = i18n.Load(files, cfg.DefaultLanguage); err != nil {
		return nil, fmt.Errorf("httpui: %w", err)
	}
	s.web = &web.Kit{Cat: s.cat, Log: s.log}
	if s.static, err = loadStatic(files); err != nil {
		return nil, fmt.Errorf("httpui: %w", err)
	}
	s.routes()
	if s.pages, err = s.parseTemplates(files); err != nil {
		return nil, fmt.Errorf("httpui: %w", err)
	}
	s.handler = s.middleware(s.router)
	return s, nil
}

// Handler returns the one handler for both the HTTP and the HTTPS
// listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Route names. Templates and handlers build URLs from these.
const (
	routeLogin    = "login"
	routeActivate = "activate"
	routeLogout   = "logout"
	routeInbox    = "inbox"
	routeLetter   = "letter"
	routeDocument = "document"
	routeStatic   = "static"
	routeHealth   = "healthz"
)

// Route names of the resident's terms and settings. The gate of pending
// terms (termsGate) lets only the first four through.
const (
	routeTerms               = "terms"
	routeTermsAccept         = "terms-accept"
	routeDeleteMailbox       = "delete-mailbox"
	routeDeleteMailboxSubmit = "delete-mailbox-submit"
	routeSettings            = "settings"
	routeSettingsNotify      = "settings-notifications"
	routeSettingsLanguage    = "settings-language"
)

// idPattern matches a store id: 128 bits in lowercase hex.
const idPattern = "[0-9a-f]{32}"

func (s *Server) routes() {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)

	// Resident web UI.
	r.Handle("/login", http.HandlerFunc(s.loginPage)).Methods(http.MethodGet, http.MethodHead).Name(routeLogin)
	r.Handle("/login", http.HandlerFunc(s.loginSubmit)).Methods(http.MethodPost)
	r.Handle("/logout", http.HandlerFunc(s.logout)).Methods(http.MethodPost).Name(routeLogout)
	// Activation of a mailbox the operator enrolled (activate.go).
	r.Handle("/activate", http.HandlerFunc(s.activatePage)).Methods(http.MethodGet, http.MethodHead).Name(routeActivate)
	r.Handle("/activate", http.HandlerFunc(s.activateSubmit)).Methods(http.MethodPost)
	r.Handle("/", s.withMailbox(s.inbox)).Methods(http.MethodGet, http.MethodHead).Name(routeInbox)
	// GET only: opening a letter marks it read (the sender may be told),
	// so a HEAD — a link checker, a preview — must not reach it: HEAD is
	// answered 405 with "Allow: GET" (RFC 9110 §15.5.6). The other pages
	// allow HEAD, which changes nothing on them.
	r.Handle("/letters/{id:"+idPattern+"}", s.withMailbox(s.letter)).Methods(http.MethodGet).Name(routeLetter)
	r.Handle("/letters/{id:"+idPattern+"}/documents/{n:[0-9]{1,5}}", s.withMailbox(s.document)).Methods(http.MethodGet, http.MethodHead).Name(routeDocument)
	r.Handle("/terms", s.withMailbox(s.termsPage)).Methods(http.MethodGet, http.MethodHead).Name(routeTerms)
	r.Handle("/terms/accept", s.withMailbox(s.termsAccept)).Methods(http.MethodPost).Name(routeTermsAccept)
	r.Handle("/settings", s.withMailbox(s.settingsPage)).Methods(http.MethodGet, http.MethodHead).Name(routeSettings)
	r.Handle("/settings/notifications", s.withMailbox(s.settingsNotifications)).Methods(http.MethodPost).Name(routeSettingsNotify)
	r.Handle("/settings/language", s.withMailbox(s.settingsLanguage)).Methods(http.MethodPost).Name(routeSettingsLanguage)
	r.Handle("/settings/delete", s.withMailbox(s.deleteMailboxPage)).Methods(http.MethodGet, http.MethodHead).Name(routeDeleteMailbox)
	r.Handle("/settings/delete", s.withMailbox(s.deleteMailboxSubmit)).Methods(http.MethodPost).Name(routeDeleteMailboxSubmit)
	r.Handle("/static/{hash:[0-9a-f]+}/{file}", http.HandlerFunc(s.staticFile)).Methods(http.MethodGet, http.MethodHead).Name(routeStatic)
	r.Handle("/healthz", http.HandlerFunc(s.healthz)).Methods(http.MethodGet, http.MethodHead).Name(routeHealth)

	// Sender API (API.md): package api, on the same router.
	api.New(api.Config{Store: s.store, Clock: s.clock, Limit: s.apiLimit, Web: s.web}).Register(r)
	s.router = r
}

// urlFor returns the path of a named route with its variables. Route
// names are constants of this package, so an error is a bug.
func (s *Server) urlFor(name string, pairs ...string) (string, error) {
	route := s.router.Get(name)
	if route == nil {
		return "", fmt.Errorf("no route named %q", name)
	}
	u, err := route.URLPath(pairs...)
	if err != nil {
		return "", fmt.Errorf("route %q: %w", name, err)
	}
	return u.Path, nil
}

// mustURL is urlFor for handlers: the route names and variables are the
// package's own, checked by the tests.
func (s *Server) mustURL(name string, pairs ...string) string {
	u, err := s.urlFor(name, pairs...)
	if err != nil {
		panic("httpui: " + err.Error())
	}
	return u
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}
