package api_test

import (
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/store"
)

// envOptions are the settings of the appliance the API's tests run
// against.
type envOptions struct {
	limits     store.Limits
	apiRate    float64
	apiBurst   int
	storeClock func() time.Time // the store's clock; nil = real time
}

// newEnv runs the whole appliance (httpui.New, which mounts this
// package) on loopback: the API is tested through real mutual TLS and
// the middleware around it.
func newEnv(t *testing.T, opts envOptions) *uitest.Env {
	t.Helper()
	return uitest.NewEnv(t, uitest.Options{Limits: opts.limits, StoreClock: opts.storeClock}, func(e *uitest.Env) (uitest.Server, error) {
		srv, err := httpui.New(httpui.Config{
			Store: e.Store, Clock: e.Clock.Now, Logger: e.Logger(),
			APIRate: opts.apiRate, APIBurst: opts.apiBurst,
		})
		if err != nil {
			return uitest.Server{}, err
		}
		return uitest.Server{Handler: srv.Handler(), TLSConfig: httpui.TLSConfig}, nil
	})
}
