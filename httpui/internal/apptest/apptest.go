// Package apptest starts the whole appliance (httpui.New) in a
// uitest.Env, for the tests of the faces (packages api and resident),
// which test their handlers through real TLS, the router and the
// middleware. httpui's own tests cannot import it (it imports httpui) and
// build their Server themselves, to look inside it.
package apptest

import (
	"net/http"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/api"
	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// Options are the appliance's settings; zero values are the defaults.
type Options struct {
	Limits     store.Limits
	StoreClock func() time.Time // the store's clock (sessions); nil = real time
	Retention  store.RetentionPolicy
	// Seed, when set, is a gzipped database file the store starts from.
	Seed string

	Throttle          httpui.ThrottleConfig
	APIRate           float64
	APIBurst          int
	BytesInFlight     int64
	BodyStall         time.Duration
	MaxPasswordChecks int
	DefaultLanguage   string
	Callbacks         api.CallbackConfig
	// EID, when set, signs residents in with eID (its redirect URL is
	// the request's origin's: register both listeners' at the provider).
	EID *eid.Client
	// Observe, when set, is told each request's time in the server's
	// handler (from its headers read to its answer written): what a
	// load command reports as the server's time.
	Observe func(r *http.Request, d time.Duration)
}

// NewEnv runs the appliance with opts on loopback until the test ends.
func NewEnv(t testing.TB, opts Options) *uitest.Env {
	t.Helper()
	return uitest.NewEnv(t, uitest.Options{
		Limits: opts.Limits, StoreClock: opts.StoreClock, Retention: opts.Retention, Seed: opts.Seed,
	}, func(e *uitest.Env) (uitest.Server, error) {
		srv, err := httpui.New(httpui.Config{
			Store:             e.Store,
			Clock:             e.Clock.Now,
			Logger:            e.Logger(),
			Throttle:          opts.Throttle,
			APIRate:           opts.APIRate,
			APIBurst:          opts.APIBurst,
			BytesInFlight:     opts.BytesInFlight,
			BodyStall:         opts.BodyStall,
			MaxPasswordChecks: opts.MaxPasswordChecks,
			DefaultLanguage:   opts.DefaultLanguage,
			Callbacks:         opts.Callbacks,
			EID:               opts.EID,
		})
		if err != nil {
			return uitest.Server{}, err
		}
		h := srv.Handler()
		if observe := opts.Observe; observe != nil {
			inner := h
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t0 := time.Now()
				inner.ServeHTTP(w, r)
				observe(r, time.Since(t0))
			})
		}
		return uitest.Server{Handler: h, TLSConfig: httpui.TLSConfig}, nil
	})
}
