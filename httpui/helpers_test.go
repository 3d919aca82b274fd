package httpui

import (
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// password is every test resident's password.
const password = uitest.Password

// envOptions are the settings of the Server that httpui's own tests
// look inside; the faces' tests use apptest.
type envOptions struct {
	throttle ThrottleConfig
	// maxPasswordChecks is Config.MaxPasswordChecks.
	maxPasswordChecks int
	// adjust, when set, changes the server's unexported settings before
	// it serves (test hooks).
	adjust func(*Server)
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
	te.Env = uitest.NewEnv(t, uitest.Options{}, func(e *uitest.Env) (uitest.Server, error) {
		srv, err := New(Config{
			Store:    e.Store,
			Clock:    e.Clock.Now,
			Logger:   e.Logger(),
			Throttle: opts.throttle,

			MaxPasswordChecks: opts.maxPasswordChecks,
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
