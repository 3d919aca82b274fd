package httpui

import "testing"

// TestAPIRateDefaults: zero in Config is the documented default bucket.
func TestAPIRateDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	if l := e.server.apiLimit; l.Rate() != DefaultAPIRate || l.Burst() != DefaultAPIBurst {
		t.Fatalf("default bucket %v/s burst %v, want %v/s burst %v", l.Rate(), l.Burst(), DefaultAPIRate, DefaultAPIBurst)
	}
}
