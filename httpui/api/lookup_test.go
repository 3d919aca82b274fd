package api_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// postJSON posts body as JSON with c.
func postJSON(e *uitest.Env, c *http.Client, u, body string) *uitest.Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return e.Do(c, req)
}

// TestAPILookupMany: a bulk lookup answers for each number, in the order
// asked, what the single lookup answers (a resident, a number with no
// mailbox, the same number written with a hyphen); a bad number is a 400
// naming its place, not the number; an empty list, more than 1,000
// numbers, unknown fields, a second JSON value or no certificate are
// refused.
func TestAPILookupMany(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	u := e.HTTPSURL + "/api/v1/recipients/lookup"

	r := postJSON(e, s.Client, u, `{"nationalIds": ["0101701234", "0303903456", "010170-1234"]}`)
	want := `{"recipients":[{"nationalId":"0101701234","digital":true},{"nationalId":"0303903456","digital":false},{"nationalId":"0101701234","digital":true}]}`
	if r.StatusCode != http.StatusOK || strings.TrimSpace(r.Text) != want {
		t.Fatalf("lookup: %d %s\nwant %s", r.StatusCode, r.Text, want)
	}
	for name, tc := range map[string]struct{ body, detail string }{
		"a bad number":       {`{"nationalIds": ["0101701234", "3213701234"]}`, "nationalIds[1]"},
		"empty":              {`{"nationalIds": []}`, "nationalIds"},
		"missing":            {`{}`, "nationalIds"},
		"an unknown field":   {`{"nationalIds": ["0101701234"], "also": 1}`, "unknown field"},
		"not strings":        {`{"nationalIds": [101701234]}`, "nationalIds[0]"},
		"a duplicate name":   {`{"nationalIds": ["0101701234"], "nationalIds": ["3213701234"]}`, "nationalIds: given more than once"},
		"a mis-cased name":   {`{"NationalIds": ["0101701234"]}`, "NationalIds: unknown field"},
		"invalid UTF-8":      {"{\"nationalIds\": [\"0101701234\xff\"]}", "nationalIds[0]: not valid JSON: invalid UTF-8"},
		"two values":         {`{"nationalIds": ["0101701234"]} {}`, "more than one JSON value"},
		"not JSON":           {`nationalIds=0101701234`, "body"},
		"over 1,000":         {tooMany(1001), "at most 1000"},
		"a number too short": {`{"nationalIds": ["0101701234", "12345"]}`, "nationalIds[1]"},
	} {
		t.Run(name, func(t *testing.T) {
			p := uitest.WantProblem(t, postJSON(e, s.Client, u, tc.body), http.StatusBadRequest, "INVALID_REQUEST")
			if !strings.Contains(p.Detail, tc.detail) || strings.Contains(p.Detail, "3213701234") {
				t.Errorf("detail %q, want it to name %q and not the number", p.Detail, tc.detail)
			}
		})
	}
	if r := postJSON(e, s.Client, u, tooMany(1000)); r.StatusCode != http.StatusOK {
		t.Errorf("1,000 numbers: %d %s", r.StatusCode, r.Text)
	} else {
		var got struct{ Recipients []json.RawMessage }
		if err := json.Unmarshal([]byte(r.Text), &got); err != nil || len(got.Recipients) != 1000 {
			t.Errorf("1,000 numbers: %d answers, %v", len(got.Recipients), err)
		}
	}
	if r := postJSON(e, s.Client, u, strings.Repeat(" ", 70000)); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit: %d %s", r.StatusCode, r.Text)
	}
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	uitest.WantProblem(t, postJSON(e, anonymous, u, `{"nationalIds": ["0101701234"]}`), http.StatusUnauthorized, "UNAUTHENTICATED")
}

// tooMany is a lookup of n valid numbers (Anna's, repeated).
func tooMany(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", uitest.NIDAnna)
	}
	return `{"nationalIds": [` + strings.Join(ids, ",") + `]}`
}

// TestAPILookupManyRateLimited: a bulk lookup takes one token of the
// sender's rate limit per ten numbers: with a burst of 100 and no time to
// refill, ten lookups of 100 numbers pass and the eleventh is a 429.
func TestAPILookupManyRateLimited(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{APIRate: 0.001, APIBurst: 100})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	u := e.HTTPSURL + "/api/v1/recipients/lookup"
	for i := range 10 {
		if r := postJSON(e, s.Client, u, tooMany(100)); r.StatusCode != http.StatusOK {
			t.Fatalf("lookup %d of 100 numbers: %d %s", i+1, r.StatusCode, r.Text)
		}
	}
	r := postJSON(e, s.Client, u, tooMany(100))
	uitest.WantProblem(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}
