package httpui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store"
)

// TestReviewLoginThrottleConcurrent (security review): the throttle is
// checked (throttle.blocked) before the password check and a failure is
// counted (throttle.fail) only after it, with the lock released in
// between. Attempts sent at the same time all pass the check before the
// first failure is counted, so an attacker who sends N guesses in
// parallel gets N password checks, however low the limit: with
// AccountFailures 3, a burst of 16 must still give at most 3 password
// checks (401) and 429 for the rest.
//
// The same gap means the number of Argon2id evaluations running at once
// is unbounded: each takes the KDF's memory (64 MiB by default), so a few
// hundred parallel login requests from one client exhaust the machine's
// memory before the per-address limit (20) can refuse anything.
func TestReviewLoginThrottleConcurrent(t *testing.T) {
	t.Parallel()
	// Argon2id costly enough (a few ms) that parallel attempts overlap,
	// as they always do with the default 64 MiB, 3 passes.
	st, err := store.Open(filepath.Join(t.TempDir(), "postkasse.db"), store.Options{
		KDF: crypto.KDFParams{Time: 3, MemoryKiB: 8 * 1024, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	nid, err := store.ParseNationalID(nidAnna)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddResident(nid, "Anna Jensen", password); err != nil {
		t.Fatal(err)
	}
	const limit = 3
	srv, err := New(Config{Store: st, Throttle: ThrottleConfig{AccountFailures: limit, AddressFailures: 1000, Window: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	const attempts = 16
	form := url.Values{"nationalId": {nidAnna}, "password": {"wrong password guess"}}.Encode()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := http.Post(ts.URL+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if checked := codes[http.StatusUnauthorized]; checked > limit {
		t.Errorf("%d parallel guesses: %d password checks (401), %d refused (429); the account limit is %d",
			attempts, checked, codes[http.StatusTooManyRequests], limit)
	}
}
