package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/metrics"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestMetrics: requests are counted by route name and code, the store's
// figures are read at the scrape, /readyz answers whether the store can
// write, and no national id, name, subject or letter id is in the
// metrics.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	// Not teststore: the test closes the store itself, to see /readyz
	// and /metrics say so.
	st, err := store.Open(filepath.Join(t.TempDir(), "postkasse.db"), store.Options{KDF: testsupport.CheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	nid, err := store.ParseNationalID(testsupport.NationalID(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddResident(ctx, nid, "Canary Residentname", testsupport.Password); err != nil {
		t.Fatal(err)
	}
	snd, err := st.AddSender(ctx, "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	var letterIDs []string
	for _, ref := range []string{"m-1", "m-2", "m-3"} {
		res, err := st.Deliver(ctx, snd.ID, store.Delivery{Recipient: nid, Subject: "Canary subject " + ref, SenderReference: ref,
			Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("x")}}})
		if err != nil {
			t.Fatal(err)
		}
		letterIDs = append(letterIDs, res.Letter.ID)
	}
	m := metrics.New(st)
	ui, err := httpui.New(httpui.Config{Store: st, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(ui.Handler())
	defer app.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 2 {
		get(t, noRedirect, app.URL+"/login")
	}
	get(t, noRedirect, app.URL+"/letters/"+letterIDs[0])
	get(t, noRedirect, app.URL+"/api/v1/messages/"+letterIDs[1])

	ops := httptest.NewServer(m.Handler())
	defer ops.Close()
	code, body := get(t, http.DefaultClient, ops.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`postkasse_http_requests_total{code="200",method="GET",route="login"} 2`,
		`postkasse_http_request_duration_seconds_bucket{route="login"`,
		`postkasse_group_commits_total `,
		`postkasse_committed_letters_total 3`,
		`postkasse_audit_log_entries `,
		`postkasse_database_bytes `,
		`postkasse_store_up 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
	for _, secret := range append([]string{nid.Number, "Canary", "Residentname"}, letterIDs...) {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics holds %q", secret)
		}
	}
	if code, body := get(t, http.DefaultClient, ops.URL+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	m.Ready = func() error { return io.ErrUnexpectedEOF }
	if code, _ := get(t, http.DefaultClient, ops.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz without a certificate: %d", code)
	}
	m.Ready = nil
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, http.DefaultClient, ops.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the store closed: %d", code)
	}
	if _, body := get(t, http.DefaultClient, ops.URL+"/metrics"); !strings.Contains(body, "postkasse_store_up 0") {
		t.Errorf("/metrics with the store closed says it is up")
	}
}
