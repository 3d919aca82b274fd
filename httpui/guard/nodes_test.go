package guard

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/pgtest"
	"github.com/postkasse/postkasse/internal/testsupport/s3test"
	"github.com/postkasse/postkasse/store"
	"github.com/postkasse/postkasse/store/cluster"
)

// Two nodes of a cluster: each its own store on the same database, its
// own throttle, password checks and rate limiter, as two `serve`
// processes have.

// TestNodesShareTheThrottle: the account's limit is reached after exactly
// its number of failures, whichever node saw them; the address's too; a
// right password on one node forgets the failures the other counted.
func TestNodesShareTheThrottle(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	stores := clusterStores(t, c.Now, 2)
	const perAccount, perAddress = 5, 8
	checks := make([]*PasswordChecks, 2)
	for i, st := range stores {
		checks[i] = NewPasswordChecks(NewSharedThrottle(st, c.Now, 15*time.Minute, perAccount, perAddress), 2)
	}
	wrong := func() error { return store.ErrBadCredentials }
	right := func() error { return nil }
	for i := range perAccount {
		if err := checks[i%2].Check(ctx, "0101701234", "192.0.2.1", wrong); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("failure %d, on node %d: %v", i+1, i%2, err)
		}
	}
	for i, p := range checks {
		var throttled *ThrottledError
		if err := p.Check(ctx, "0101701234", "192.0.2.9", right); !errors.As(err, &throttled) || throttled.Wait != 15*time.Minute {
			t.Fatalf("node %d after %d failures on both: %v", i, perAccount, err)
		}
	}
	// The address has 5 failures of its 8: three more of other accounts.
	for i := range perAddress - perAccount {
		if err := checks[i%2].Check(ctx, "0202701234", "192.0.2.1", wrong); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("address failure %d: %v", perAccount+i+1, err)
		}
	}
	var throttled *ThrottledError
	if err := checks[1].Check(ctx, "0303701234", "192.0.2.1", right); !errors.As(err, &throttled) {
		t.Fatalf("the address after %d failures on both nodes: %v", perAddress, err)
	}
	// 0202701234 has 3 failures; the right password on node 1 forgets
	// them for node 0 too.
	if err := checks[1].Check(ctx, "0202701234", "192.0.2.2", right); err != nil {
		t.Fatal(err)
	}
	for i := range perAccount {
		if err := checks[0].Check(ctx, "0202701234", "192.0.2.3", wrong); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("failure %d after the right password: %v", i+1, err)
		}
	}
}

// TestNodesReserveAtOnce: reservations made at the same time on both
// nodes never exceed the account's limit.
func TestNodesReserveAtOnce(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	stores := clusterStores(t, c.Now, 2)
	const limit = 4
	throttles := []*Throttle{
		NewSharedThrottle(stores[0], c.Now, 15*time.Minute, limit, 100),
		NewSharedThrottle(stores[1], c.Now, 15*time.Minute, limit, 100),
	}
	var granted, failed atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			ok, _, _, err := throttles[i%2].Reserve(ctx, "0101701234", "192.0.2.1")
			switch {
			case err != nil:
				// Too many conflicts in a row: the store gave up, and
				// the check is refused (fail closed).
				failed.Add(1)
			case ok:
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := granted.Load(); n > limit {
		t.Fatalf("%d checks under way at once, limit %d", n, limit)
	}
	// What the store gave up on is reserved now; still no more than the
	// limit.
	for range failed.Load() {
		if ok, _, _ := reserve(t, throttles[0], "0101701234", "192.0.2.1"); ok {
			granted.Add(1)
		}
	}
	if n := granted.Load(); n != limit {
		t.Fatalf("%d checks under way, want the limit %d", n, limit)
	}
	if ok, wait, _ := reserve(t, throttles[1], "0101701234", "192.0.2.1"); ok || wait != 15*time.Minute {
		t.Fatalf("a check over the limit: %v %v", ok, wait)
	}
}

// TestNodeDiesMidCheck: a check reserved on a node that then died holds
// its place on the other node until CheckDeadline, and not after.
func TestNodeDiesMidCheck(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	stores := clusterStores(t, c.Now, 2)
	dying := NewSharedThrottle(stores[0], c.Now, 15*time.Minute, 1, 100)
	other := NewSharedThrottle(stores[1], c.Now, 15*time.Minute, 1, 100)
	if ok, _, _ := reserve(t, dying, "0101701234", "192.0.2.1"); !ok {
		t.Fatal("the first check refused")
	}
	// The node dies: its check is never settled.
	if ok, wait, _ := reserve(t, other, "0101701234", "192.0.2.2"); ok || wait != 15*time.Minute {
		t.Fatalf("while the dead node's check counts: %v %v", ok, wait)
	}
	c.Advance(CheckDeadline - time.Second)
	if b, _ := blocked(t, other, "0101701234", "192.0.2.2"); !b {
		t.Fatal("the dead node's check stopped counting before its deadline")
	}
	c.Advance(time.Second)
	if b, _ := blocked(t, other, "0101701234", "192.0.2.2"); b {
		t.Fatal("the dead node's check counts after its deadline")
	}
}

// TestNodesShareTheRateLimit: with the clock still, two nodes taking a
// sender's tokens at once get exactly its burst between them; a tenth of
// a second later, exactly what the bucket refilled; a node takes its
// tokens a chunk at a time, not a transaction per request.
func TestNodesShareTheRateLimit(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	stores := clusterStores(t, c.Now, 2)
	const rate, burst = 100, 50
	limiters := []*RateLimiter{
		NewSharedRateLimiter(stores[0], c.Now, rate, burst),
		NewSharedRateLimiter(stores[1], c.Now, rate, burst),
	}
	if ch := limiters[0].Chunk(); ch != 10 {
		t.Fatalf("chunk %v, want a tenth of the rate", ch)
	}
	// drain has four requesters on each node take tokens until refused,
	// and returns how many they got in all.
	drain := func() int {
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for {
					ok, wait, err := limiters[i%2].Allow(ctx, "sender-1")
					if err != nil {
						continue // a conflict too many: nothing taken
					}
					if !ok {
						if wait <= 0 {
							t.Errorf("refused with Retry-After %v", wait)
						}
						return
					}
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		return int(allowed.Load())
	}
	if n := drain(); n != burst {
		t.Fatalf("%d requests allowed on two nodes with the clock still, want the burst %d", n, burst)
	}
	c.Advance(100 * time.Millisecond)
	if n := drain(); n != rate/10 {
		t.Fatalf("%d requests allowed a tenth of a second later, want %d", n, rate/10)
	}
	// Another sender's bucket is its own. One request on node 0 takes a
	// chunk: nine tokens left on the node, forty in the shared bucket,
	// all of which node 1 gets.
	if ok, _, err := limiters[0].Allow(ctx, "sender-2"); err != nil || !ok {
		t.Fatalf("another sender: %v %v", ok, err)
	}
	limiters[0].mu.Lock()
	local := limiters[0].local["sender-2"]
	limiters[0].mu.Unlock()
	if local != 9 {
		t.Fatalf("node 0 holds %v tokens after one request, want the rest of a chunk, 9", local)
	}
	n := 0
	for {
		ok, _, err := limiters[1].Allow(ctx, "sender-2")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		n++
	}
	if n != burst-10 {
		t.Fatalf("node 1 got %d of the shared bucket, want %d", n, burst-10)
	}
}

// TestThrottleFailsClosed: while the database is down, a password check
// is answered busy and its password is never tried, and a sender's
// request is refused with the store's error; once it is back, both go
// ahead.
func TestThrottleFailsClosed(t *testing.T) {
	t.Parallel()
	pgSrv := pgtest.Start(t)
	endpoint, bucket, ak, sk := s3.NewBucket(t)
	eng, err := cluster.Open(ctx, cluster.Config{DatabaseURL: pgSrv.NewDatabase(t),
		Blobs: cluster.BlobConfig{Endpoint: endpoint, Bucket: bucket, Region: s3test.Region, AccessKey: ak, SecretKey: sk}})
	if err != nil {
		t.Fatal(err)
	}
	c := testsupport.NewClock()
	st, err := store.New(eng, store.Options{KDF: testsupport.CheapKDF, Clock: c.Now})
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	defer st.Close()
	p := NewPasswordChecks(NewSharedThrottle(st, c.Now, 15*time.Minute, 5, 20), 2)
	l := NewSharedRateLimiter(st, c.Now, 2, 4)
	tried := 0
	check := func() error { tried++; return nil }
	if err := p.Check(ctx, "0101701234", "192.0.2.1", check); err != nil || tried != 1 {
		t.Fatalf("check before the outage: %v (tried %d)", err, tried)
	}
	if err := pgSrv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(ctx, "0101701234", "192.0.2.1", check); !errors.Is(err, ErrBusy) || !errors.Is(err, store.ErrUnavailable) || tried != 1 {
		t.Fatalf("check with the database down: %v (tried %d), want ErrBusy and ErrUnavailable, no password tried", err, tried)
	}
	if ok, _, err := l.Allow(ctx, "sender-1"); ok || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("rate limit with the database down: %v %v", ok, err)
	}
	if err := pgSrv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(ctx, "0101701234", "192.0.2.1", check); err != nil || tried != 2 {
		t.Fatalf("check after the outage: %v (tried %d)", err, tried)
	}
	if ok, _, err := l.Allow(ctx, "sender-1"); !ok || err != nil {
		t.Fatalf("rate limit after the outage: %v %v", ok, err)
	}
}

// TestNodesShareAnOwnBucket: a sender's own bucket (Take) is shared by
// the nodes as the default one is: with the clock still, two nodes get
// exactly its burst between them, whatever the limiters' default, and a
// chunk is a tenth of its own rate.
func TestNodesShareAnOwnBucket(t *testing.T) {
	t.Parallel()
	c := testsupport.NewClock()
	stores := clusterStores(t, c.Now, 2)
	limiters := []*RateLimiter{
		NewSharedRateLimiter(stores[0], c.Now, 2, 3),
		NewSharedRateLimiter(stores[1], c.Now, 2, 3),
	}
	own := Bucket{Rate: 300, Burst: 70}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for {
				ok, _, err := limiters[i%2].Take(ctx, "bulk", 1, own)
				if err != nil {
					continue // a conflict too many: nothing taken
				}
				if !ok {
					return
				}
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 70 {
		t.Fatalf("%d requests allowed on two nodes from an own burst of 70", n)
	}
	if got := limiters[0].chunkOf(own.Rate); got != 30 {
		t.Errorf("chunk of an own rate of 300: %v, want 30", got)
	}
}
