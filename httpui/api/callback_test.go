package api_test

import (
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/api"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/netguard"
	"github.com/postkasse/postkasse/store"
)

type callbackAnswer struct {
	URL        string `json:"url"`
	State      string `json:"state"`
	Queued     int    `json:"queued"`
	SigningKey struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"keyId"`
		PublicKey string `json:"publicKey"`
	} `json:"signingKey"`
}

func putCallback(e *uitest.Env, c *http.Client, body string, header http.Header) *uitest.Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodPut, e.HTTPSURL+"/api/v1/callback", strings.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

func deleteCallback(e *uitest.Env, c *http.Client) *uitest.Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodDelete, e.HTTPSURL+"/api/v1/callback", nil)
	if err != nil {
		e.T.Fatal(err)
	}
	return e.Do(c, req)
}

// TestAPICallback: a sender registers, reads and removes its callback;
// the answer names the key that signs the callbacks; the events from
// then on wait in its outbox.
func TestAPICallback(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	uitest.WantProblem(t, e.Get(s.Client, e.HTTPSURL+"/api/v1/callback"), http.StatusNotFound, "NOT_FOUND")

	r := putCallback(e, s.Client, `{"url": "https://93.184.216.34/postkasse/events"}`, nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.StatusCode, r.Text)
	}
	cb := uitest.DecodeJSON[callbackAnswer](t, r)
	key := e.Store.CallbackKey()
	if cb.URL != "https://93.184.216.34/postkasse/events" || cb.State != "ok" || cb.SigningKey.Algorithm != "ed25519" ||
		cb.SigningKey.KeyID != crypto.KeyID(key) || cb.SigningKey.PublicKey != base64.StdEncoding.EncodeToString(key) {
		t.Errorf("PUT answered %+v", cb)
	}
	if cb.SigningKey.KeyID == crypto.KeyID(e.Store.SigningKey()) {
		t.Error("callbacks are signed with the receipt key")
	}
	e.Deliver(s.Client, uitest.ValidDelivery("ref-1")...)
	got := uitest.DecodeJSON[callbackAnswer](t, e.Get(s.Client, e.HTTPSURL+"/api/v1/callback"))
	if got.URL != cb.URL || got.Queued != 1 || got.State != "pending" {
		t.Errorf("GET after a delivery: %+v", got)
	}
	// Replaced: the waiting event goes to the new URL.
	r = putCallback(e, s.Client, `{"url": "https://93.184.216.35/v2"}`, nil)
	if got := uitest.DecodeJSON[callbackAnswer](t, r); r.StatusCode != http.StatusOK || got.URL != "https://93.184.216.35/v2" || got.Queued != 1 {
		t.Errorf("PUT again: %d %+v", r.StatusCode, got)
	}
	if r := deleteCallback(e, s.Client); r.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.StatusCode, r.Text)
	}
	uitest.WantProblem(t, e.Get(s.Client, e.HTTPSURL+"/api/v1/callback"), http.StatusNotFound, "NOT_FOUND")
	if r := deleteCallback(e, s.Client); r.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE again: %d", r.StatusCode)
	}
}

// TestAPICallbackRefused: a URL that is not https, has no host, carries
// a password or a fragment, or whose host is a loopback, private,
// link-local or unspecified address (or a name of one) is 400
// INVALID_REQUEST naming the field; so is a body that is not exactly
// {"url": …} (an unknown, mis-cased or repeated member named, invalid
// UTF-8 refused, as in every JSON body of the API). Nothing is stored.
func TestAPICallbackRefused(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	s := e.AddSender("Aarhus Kommune", "55133018")
	for _, tc := range []struct{ body, field string }{
		{`{"url": "http://93.184.216.34/cb"}`, "url"},
		{`{"url": "ftp://93.184.216.34/cb"}`, "url"},
		{`{"url": "https:///cb"}`, "url"},
		{`{"url": ""}`, "url"},
		{`{"url": "https://user:secret@93.184.216.34/cb"}`, "url"},
		{`{"url": "https://93.184.216.34/cb#frag"}`, "url"},
		{`{"url": "https://93.184.216.34/c b"}`, "url"},
		{`{"url": "https://127.0.0.1/cb"}`, "url"},
		{`{"url": "https://localhost:8443/cb"}`, "url"},
		{`{"url": "https://[::1]/cb"}`, "url"},
		{`{"url": "https://10.0.0.8/cb"}`, "url"},
		{`{"url": "https://192.168.1.10/cb"}`, "url"},
		{`{"url": "https://169.254.169.254/latest/meta-data"}`, "url"},
		{`{"url": "https://0.0.0.0/cb"}`, "url"},
		{`{"url": "https://[::ffff:127.0.0.1]/cb"}`, "url"},
		{`{"url": "https://93.184.216.34/cb", "secret": "x"}`, "secret"},
		{`{"URL": "https://93.184.216.34/cb"}`, "URL"},
		{`{"url": "https://93.184.216.34/cb", "url": "https://127.0.0.1/cb"}`, "url"},
		{"{\"url\": \"https://93.184.216.34/\xff\"}", "url"},
		{`{"url": 7}`, "url"},
		{`["https://93.184.216.34/cb"]`, "body"},
		{`{"url": "https://93.184.216.34/cb"} {}`, "body"},
		{`not json`, "body"},
	} {
		p := uitest.WantProblem(t, putCallback(e, s.Client, tc.body, nil), http.StatusBadRequest, "INVALID_REQUEST")
		if !strings.HasPrefix(p.Detail, "invalid "+tc.field+":") {
			t.Errorf("%s: detail %q does not name %s", tc.body, p.Detail, tc.field)
		}
	}
	uitest.WantProblem(t, putCallback(e, s.Client, `{"url": "https://93.184.216.34/`+strings.Repeat("a", 5000)+`"}`, nil), http.StatusBadRequest, "INVALID_REQUEST")
	uitest.WantProblem(t, e.Get(s.Client, e.HTTPSURL+"/api/v1/callback"), http.StatusNotFound, "NOT_FOUND")
}

// TestAPICallbackPrivateAllowed: with the operator's leave (and http for
// the demo), a loopback http URL is taken.
func TestAPICallbackPrivateAllowed(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{Callbacks: api.CallbackConfig{Policy: store.CallbackPolicy{AllowHTTP: true}, Guard: netguard.Guard{AllowPrivate: true}}})
	s := e.AddSender("Aarhus Kommune", "55133018")
	if r := putCallback(e, s.Client, `{"url": "http://127.0.0.1:9000/cb"}`, nil); r.StatusCode != http.StatusOK {
		t.Errorf("PUT a loopback URL with leave: %d %s", r.StatusCode, r.Text)
	}
}

// TestAPICallbackAuthorization: another sender neither sees nor changes
// a sender's callback; without a certificate (as a cross-site form
// would come) nothing is read or changed.
func TestAPICallbackAuthorization(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Region Midtjylland", "29190925")
	if r := putCallback(e, s.Client, `{"url": "https://93.184.216.34/aarhus"}`, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.StatusCode, r.Text)
	}
	// The other sender's GET is of its own callback: none.
	uitest.WantProblem(t, e.Get(other.Client, e.HTTPSURL+"/api/v1/callback"), http.StatusNotFound, "NOT_FOUND")
	// Its DELETE and PUT change its own only.
	if r := deleteCallback(e, other.Client); r.StatusCode != http.StatusNoContent {
		t.Errorf("the other's DELETE: %d", r.StatusCode)
	}
	if r := putCallback(e, other.Client, `{"url": "https://93.184.216.35/region"}`, nil); r.StatusCode != http.StatusOK {
		t.Errorf("the other's PUT: %d %s", r.StatusCode, r.Text)
	}
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	uitest.WantProblem(t, e.Get(anonymous, e.HTTPSURL+"/api/v1/callback"), http.StatusUnauthorized, "UNAUTHENTICATED")
	uitest.WantProblem(t, deleteCallback(e, anonymous), http.StatusUnauthorized, "UNAUTHENTICATED")
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	uitest.WantProblem(t, putCallback(e, anonymous, `{"url": "https://93.184.216.36/evil"}`, crossSite), http.StatusForbidden, "FORBIDDEN")
	uitest.WantProblem(t, putCallback(e, anonymous, `{"url": "https://93.184.216.36/evil"}`, nil), http.StatusUnauthorized, "UNAUTHENTICATED")
	got := uitest.DecodeJSON[callbackAnswer](t, e.Get(s.Client, e.HTTPSURL+"/api/v1/callback"))
	if got.URL != "https://93.184.216.34/aarhus" {
		t.Errorf("the sender's callback after the others: %+v", got)
	}
	if got := uitest.DecodeJSON[callbackAnswer](t, e.Get(other.Client, e.HTTPSURL+"/api/v1/callback")); got.URL != "https://93.184.216.35/region" {
		t.Errorf("the other's callback: %+v", got)
	}
}
