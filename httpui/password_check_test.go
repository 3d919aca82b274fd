package httpui

import (
	"context"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestPasswordChecksBusy: with every slot for password checks taken, a
// sign-in and a mailbox deletion are answered 503 with Retry-After and a
// clear message, without trying the password and without counting against
// the throttle; once a slot is free, both work again.
func TestPasswordChecksBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		throttle:          ThrottleConfig{AccountFailures: 1, AddressFailures: 100},
		maxPasswordChecks: 1,
		// No waiting for a slot: the test holds the only one.
		adjust: func(s *Server) { s.passwords.MaxWait = 0 },
	})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	logins := e.AuditCount("login")

	release := takeSlot(t, e) // the only slot
	other := e.Browser()
	r := e.PostForm(other, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "5" {
		t.Fatalf("sign in while busy: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	for _, want := range []string{"Service busy", "The service is busy; try again in a moment.", `value="` + uitest.NIDAnna + `"`} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("the busy login page lacks %q:\n%s", want, r.Text)
		}
	}
	if len(r.Cookies()) != 0 || e.AuditCount("login") != logins {
		t.Fatalf("a sign-in while busy started a session: cookies %v, %d logins", r.Cookies(), e.AuditCount("login")-logins)
	}
	r = e.PostForm(b, e.HTTPURL+"/settings/delete", url.Values{"password": {password}}, nil)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "5" ||
		!strings.Contains(r.Text, "The service is busy; try again in a moment. Your mailbox was not deleted.") ||
		strings.Contains(r.Text, `aria-invalid="true"`) {
		t.Fatalf("delete while busy: %d, Retry-After %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.Text)
	}
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Fatalf("the inbox after a delete while busy: %d", r.StatusCode)
	}
	// Busy answers, wrong password or not, are no failures: with a limit
	// of one, the next wrong password is still checked.
	e.PostForm(other, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {"wrong password!"}}, nil)

	release()
	if r := e.PostForm(other, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {"wrong password!"}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password after the busy answers: %d, want 401", r.StatusCode)
	}
	if r := e.PostForm(other, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after one failure with a limit of one: %d, want 429", r.StatusCode)
	}
}

// TestPasswordCheckWaitsForSlot: a sign-in that finds every slot taken
// waits for one to come free instead of failing at once.
func TestPasswordCheckWaitsForSlot(t *testing.T) {
	t.Parallel()
	waiting := make(chan struct{}, 1)
	e := newEnv(t, envOptions{
		maxPasswordChecks: 1,
		adjust:            func(s *Server) { s.passwords.Waiting = func() { waiting <- struct{}{} } },
	})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")

	release := takeSlot(t, e) // the only slot
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c := e.Browser()
		resp, err := c.PostForm(e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}})
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	select {
	case <-waiting:
	case r := <-done:
		t.Fatalf("the sign-in did not wait for the slot: %d %v", r.status, r.err)
	case <-time.After(30 * time.Second): // a failsafe, not a timing
		t.Fatal("the sign-in never waited for a slot")
	}
	release()
	if r := <-done; r.err != nil || r.status != http.StatusSeeOther {
		t.Fatalf("sign in after waiting: %d %v, want 303", r.status, r.err)
	}
}

// TestMaxPasswordChecks: the bound is Config.MaxPasswordChecks, by default
// one check per processor Go runs on.
func TestMaxPasswordChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct{ config, want int }{{0, runtime.GOMAXPROCS(0)}, {-1, runtime.GOMAXPROCS(0)}, {3, 3}} {
		srv, err := New(Config{Store: e.Store, MaxPasswordChecks: tc.config})
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.passwords.Slots(); got != tc.want {
			t.Errorf("MaxPasswordChecks %d: %d slots, want %d", tc.config, got, tc.want)
		}
	}
}

// TestPasswordCheckWait: a check's wait in line is bounded by
// Config.PasswordCheckWait, by default guard.DefaultPasswordCheckWait,
// never more than guard.MaxPasswordCheckWait; negative: no waiting.
func TestPasswordCheckWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tc := range []struct{ config, want time.Duration }{
		{0, guard.DefaultPasswordCheckWait},
		{-time.Second, 0},
		{10 * time.Second, 10 * time.Second},
		{2 * time.Minute, guard.MaxPasswordCheckWait},
	} {
		srv, err := New(Config{Store: e.Store, PasswordCheckWait: tc.config})
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.passwords.MaxWait; got != tc.want {
			t.Errorf("PasswordCheckWait %v: waits %v, want %v", tc.config, got, tc.want)
		}
	}
}

// takeSlot takes a slot for password checks, as a check under way would,
// and returns the function that frees it.
func takeSlot(t *testing.T, e *testEnv) (release func()) {
	t.Helper()
	release, ok := e.server.passwords.Acquire(context.Background())
	if !ok {
		t.Fatal("no free slot")
	}
	return release
}
