package resident_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestAccessLog: every request gets an id, in its answer's X-Request-Id
// and on its access log line (method, route name, status, duration);
// wrong passwords and throttled attempts get a line each with the
// client's address, for fail2ban; and nothing in the log names the
// account or the password tried.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Throttle: httpui.ThrottleConfig{AccountFailures: 2, AddressFailures: 10}})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	b := e.Browser()
	const wrong = "not the password at all"
	var ids []string
	for range 3 {
		r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {wrong}}, nil)
		id := r.Header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Fatalf("X-Request-Id %q", id)
		}
		ids = append(ids, id)
	}
	if page := e.Get(b, e.HTTPURL+"/no/such/page"); page.StatusCode != http.StatusNotFound || page.Header.Get("X-Request-Id") == "" {
		t.Errorf("unmatched path: %d, X-Request-Id %q", page.StatusCode, page.Header.Get("X-Request-Id"))
	}
	logs := e.Logs.String()
	for _, id := range ids {
		line := regexp.MustCompile(`(?m)^.*msg=request .*id=` + id + `$`).FindString(logs)
		if line == "" || !strings.Contains(line, "method=POST") || !strings.Contains(line, "route=login") || !strings.Contains(line, "duration=") {
			t.Errorf("access log line of request %s: %q", id, line)
		}
	}
	if !regexp.MustCompile(`msg=request method=GET route=unmatched status=404`).MatchString(logs) {
		t.Errorf("no access log line for the unmatched path:\n%s", logs)
	}
	if n := strings.Count(logs, `msg="password check failed" address=127.0.0.1`); n != 2 {
		t.Errorf("%d lines of failed password checks, want 2:\n%s", n, logs)
	}
	if n := strings.Count(logs, `msg="password check throttled" address=127.0.0.1`); n != 1 {
		t.Errorf("%d lines of throttled checks, want 1:\n%s", n, logs)
	}
	for _, secret := range []string{uitest.NIDAnna, wrong, "Anna Jensen"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
}
