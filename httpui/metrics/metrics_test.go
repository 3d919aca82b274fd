package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui"
	"github.com/postkasse/postkasse/httpui/metrics"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/boltpage"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/embedded"
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

// TestReadyzReportsDamage: a database file with a damaged page (a letter's
// page that bbolt cannot decode) keeps the server answering: the store
// call that meets the page is ErrUnavailable and ErrDamaged, not a panic,
// letters on whole pages still open, a delivery is refused, /readyz
// answers 503 naming the damage, where it struck and what to do (while
// it answered 200 before the damage was met), and /healthz and the pages
// still answer.
func TestReadyzReportsDamage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "postkasse.db")
	st, err := store.Open(path, store.Options{KDF: testsupport.CheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	nid, err := store.ParseNationalID(testsupport.NationalID(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddResident(ctx, nid, "Anna Andersen", testsupport.Password); err != nil {
		t.Fatal(err)
	}
	snd, err := st.AddSender(ctx, "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(ref string) (string, error) {
		res, err := st.Deliver(ctx, snd.ID, store.Delivery{Recipient: nid, Subject: "Brev " + ref, SenderReference: ref,
			Body: strings.Repeat("Tekst. ", 100), Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("x")}}})
		return res.Letter.ID, err
	}
	var letterIDs []string
	for i := range 40 {
		id, err := deliver(fmt.Sprintf("ref-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		letterIDs = append(letterIDs, id)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	whole, damaged := letterIDs[0], letterIDs[20]
	page, pageSize := boltpage.Leaf(t, path, []byte("letters"), []byte(damaged))
	if other, _ := boltpage.Leaf(t, path, []byte("letters"), []byte(whole)); other == page {
		t.Fatalf("letters %s and %s are on one page: deliver more", whole, damaged)
	}
	boltpage.MarkFreelist(t, path, page, pageSize)

	var log strings.Builder
	st, err = store.Open(path, store.Options{KDF: testsupport.CheapKDF, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatalf("open the store on the damaged file: %v", err)
	}
	defer st.Close()
	m := metrics.New(st)
	ops := httptest.NewServer(m.Handler())
	defer ops.Close()
	ui, err := httpui.New(httpui.Config{Store: st, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(ui.Handler())
	defer app.Close()
	if code, body := get(t, http.DefaultClient, ops.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before the damage is met: %d %q", code, body)
	}

	_, err = st.LetterStatus(ctx, snd.ID, damaged)
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, embedded.ErrDamaged) {
		t.Fatalf("the letter on the damaged page: %v, want ErrUnavailable and ErrDamaged", err)
	}
	if _, err := st.LetterStatus(ctx, snd.ID, whole); err != nil {
		t.Errorf("a letter on a whole page: %v", err)
	}
	if _, err := deliver("after"); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, embedded.ErrDamaged) {
		t.Errorf("a delivery after the damage: %v, want ErrUnavailable and ErrDamaged", err)
	}
	code, body := get(t, http.DefaultClient, ops.URL+"/readyz")
	invalid := fmt.Sprintf("invalid page type: %d: 10", page)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "the database file is damaged") || !strings.Contains(body, invalid) ||
		!strings.Contains(body, "go.etcd.io/bbolt") || !strings.Contains(body, "postkasse check") {
		t.Errorf("/readyz after the damage: %d %q, want 503 naming the damage, where it struck and what to do", code, body)
	}
	if code, _ := get(t, http.DefaultClient, ops.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after the damage: %d", code)
	}
	if code, _ := get(t, http.DefaultClient, app.URL+"/login"); code != http.StatusOK {
		t.Errorf("/login after the damage: %d", code)
	}
	if n := strings.Count(log.String(), "database file damaged"); n != 1 || !strings.Contains(log.String(), invalid) {
		t.Errorf("the log has %d lines of the damage, want one naming it:\n%s", n, log.String())
	}
}
