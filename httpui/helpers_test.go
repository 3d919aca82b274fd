package httpui

import (
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// password is every test resident's password.
const password = uitest.Password

type envOptions struct {
	limits     store.Limits
	throttle   ThrottleConfig
	apiRate    float64
	apiBurst   int
	storeClock func() time.Time // the store's clock (sessions); nil = real time
	retention  store.RetentionPolicy
	// maxPasswordChecks is Config.MaxPasswordChecks.
	maxPasswordChecks int
	// adjust, when set, changes the server's unexported settings before
	// it serves (test hooks).
	adjust func(*Server)
	// seed, when set, is a gzipped database file the store starts from
	// (an older schema, residents made before an upgrade).
	seed string
	// defaultLanguage is Config.DefaultLanguage.
	defaultLanguage string
}

// testEnv is a real appliance on loopback (uitest.Env) and its Server,
// for the tests that look inside it.
type testEnv struct {
	*uitest.Env
	server *Server
}

func newEnv(t *testing.T, opts envOptions) *testEnv {
	t.Helper()
	te := &testEnv{}
	te.Env = uitest.NewEnv(t, uitest.Options{
		Limits: opts.limits, StoreClock: opts.storeClock, Retention: opts.retention, Seed: opts.seed,
	}, func(e *uitest.Env) (uitest.Server, error) {
		srv, err := New(Config{
			Store:    e.Store,
			Clock:    e.Clock.Now,
			Logger:   e.Logger(),
			Throttle: opts.throttle,
			APIRate:  opts.apiRate,
			APIBurst: opts.apiBurst,

			MaxPasswordChecks: opts.maxPasswordChecks,
			DefaultLanguage:   opts.defaultLanguage,
		})
		if err != nil {
			return uitest.Server{}, err
		}
		if opts.adjust != nil {
			opts.adjust(srv)
		}
		te.server = srv
		return uitest.Server{Handler: srv.Handler(), TLSConfig: TLSConfig}, nil
	})
	return te
}
