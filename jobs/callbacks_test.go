package jobs

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store"
)

// receiver is a sender's real HTTPS server that takes callbacks and
// checks each one's signature against the appliance's callback key. Its
// mode says how it answers: "ok" (204), "500", "hang" (no answer until
// the client gives up) or "down" (not listening at all).
type receiver struct {
	t    *testing.T
	key  ed25519.PublicKey
	srv  *httptest.Server
	addr string

	mu     sync.Mutex
	mode   string
	events []store.EventJSON // acknowledged, in the order received
	posts  int               // every POST, answered or not
	bad    []string          // signatures that did not verify
	stop   chan struct{}     // ends hanging handlers at cleanup
}

var signatureRe = regexp.MustCompile(`^keyId=([0-9a-f]{16}), t=([0-9]+), ed25519=([A-Za-z0-9+/=]+)$`)

func newReceiver(t *testing.T, key ed25519.PublicKey) *receiver {
	rc := &receiver{t: t, key: key, mode: "ok", stop: make(chan struct{})}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	rc.addr = rc.srv.Listener.Addr().String()
	t.Cleanup(func() { close(rc.stop); rc.srv.Close() })
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.posts++
	mode := rc.mode
	// Every POST is signed, whatever the answer.
	m := signatureRe.FindStringSubmatch(r.Header.Get(SignatureHeader))
	if m == nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.bad = append(rc.bad, "request "+r.Method+" "+r.Header.Get(SignatureHeader))
	} else {
		sig, _ := base64.StdEncoding.DecodeString(m[3])
		if m[1] != crypto.KeyID(rc.key) || !ed25519.Verify(rc.key, []byte(m[2]+"."+string(body)), sig) {
			rc.bad = append(rc.bad, "signature "+r.Header.Get(SignatureHeader))
		}
	}
	rc.mu.Unlock()
	switch mode {
	case "500":
		http.Error(w, "database is down", http.StatusInternalServerError)
		return
	case "hang":
		select {
		case <-r.Context().Done():
		case <-rc.stop:
		}
		// Never an answer: returning would write an implicit 200, and a
		// client that gave up while closing its connection may still read
		// it (net/http uses a response that races the close). Abort the
		// connection instead.
		panic(http.ErrAbortHandler)
	}
	var ev store.EventJSON
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) URL() string { return "https://" + rc.addr + "/postkasse/events" }

// setMode changes how it answers; "down" closes its listener and any
// other mode after "down" listens again on the same address.
func (rc *receiver) setMode(mode string) {
	rc.t.Helper()
	rc.mu.Lock()
	was := rc.mode
	rc.mode = mode
	rc.mu.Unlock()
	switch {
	case mode == "down" && was != "down":
		rc.srv.Listener.Close()
		rc.srv.CloseClientConnections()
	case mode != "down" && was == "down":
		l, err := net.Listen("tcp", rc.addr)
		if err != nil {
			rc.t.Fatalf("listen again on %s: %v", rc.addr, err)
		}
		tl := tls.NewListener(l, rc.srv.TLS)
		rc.srv.Listener = tl // closed by the cleanup's Close
		go rc.srv.Config.Serve(tl)
	}
}

func (rc *receiver) got() (events []store.EventJSON, posts int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bad {
		rc.t.Errorf("receiver: %s", b)
	}
	rc.bad = nil
	return append([]store.EventJSON(nil), rc.events...), rc.posts
}

// callbackEnv is a scheduler whose callbacks may reach the test's
// loopback receivers (trusting their certificates), with short time-outs
// and a backoff of 30 seconds doubling to 4 minutes, given up after an
// hour.
func callbackEnv(t *testing.T) *env {
	return newEnv(t, func(c *Config) {
		c.Callbacks = CallbackConfig{AllowPrivate: true, Timeout: 500 * time.Millisecond, ConnectTimeout: 500 * time.Millisecond,
			Policy: store.CallbackPolicy{FirstBackoff: 30 * time.Second, MaxBackoff: 4 * time.Minute, GiveUpAfter: time.Hour}}
	})
}

func (e *env) trust(rc *receiver) {
	e.cfg.Callbacks.RootCAs = rc.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	e.newScheduler()
}

func (e *env) callback(senderID string) store.Callback {
	e.t.Helper()
	cb, err := e.st.CallbackOf(context.Background(), senderID)
	if err != nil {
		e.t.Fatal(err)
	}
	return cb
}

// TestCallbacksDelivered: events reach the receiver signed, in the
// feed's order, after a receiver that is down, one that answers 500 and
// one that hangs; each failure waits for its backoff; nothing is lost or
// sent twice once acknowledged.
func TestCallbacksDelivered(t *testing.T) {
	e := callbackEnv(t)
	rc := newReceiver(t, e.st.CallbackKey())
	e.trust(rc)
	ctx := context.Background()
	if _, err := e.st.SetCallback(ctx, e.muni.ID, rc.URL(), store.CallbackPolicy{}, true); err != nil {
		t.Fatal(err)
	}
	_, nid := e.resident(store.NotificationPreferences{})
	first := e.deliver(e.muni.ID, nid, "ref-1", false)
	e.deliver(e.muni.ID, nid, "ref-2", false)
	if _, err := e.st.MakeInaccessible(ctx, first.Letter.ID, "court order", "B-123/2026"); err != nil {
		t.Fatal(err)
	}
	e.deliver(e.muni.ID, nid, "ref-3", false)
	feed, _, err := e.st.Events(ctx, e.muni.ID, "", 100)
	if err != nil || len(feed) != 4 {
		t.Fatalf("feed: %d events, %v", len(feed), err)
	}

	// Down: the first event fails and waits 30 seconds.
	rc.setMode("down")
	e.run(JobCallbacks, store.JobOK)
	cb := e.callback(e.muni.ID)
	if cb.Attempts != 1 || cb.Queued != 4 || cb.State() != "retrying" || !cb.NextAttempt.Equal(e.clock.Now().Add(30*time.Second)) || cb.LastError == "" {
		t.Fatalf("after a receiver that is down: %+v", cb)
	}
	// Not due yet: no attempt.
	rc.setMode("500")
	e.run(JobCallbacks, store.JobOK)
	if _, posts := rc.got(); posts != 0 {
		t.Fatalf("%d POSTs before the backoff ended", posts)
	}
	// 500: the second attempt fails; the wait doubles.
	e.clock.Advance(30 * time.Second)
	e.run(JobCallbacks, store.JobOK)
	cb = e.callback(e.muni.ID)
	if _, posts := rc.got(); posts != 1 || cb.Attempts != 2 || !strings.Contains(cb.LastError, "500") || !cb.NextAttempt.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatalf("after a 500: %d POSTs, %+v", posts, cb)
	}
	// A receiver that hangs: the request times out.
	rc.setMode("hang")
	e.clock.Advance(time.Minute)
	e.run(JobCallbacks, store.JobOK)
	cb = e.callback(e.muni.ID)
	if _, posts := rc.got(); posts != 2 || cb.Attempts != 3 || cb.Queued != 4 {
		t.Fatalf("after a receiver that hangs: %d POSTs, %+v", posts, cb)
	}
	// Back: every event, in the feed's order, each once.
	rc.setMode("ok")
	e.clock.Advance(2 * time.Minute)
	if r := e.run(JobCallbacks, store.JobOK); r.Items != 4 {
		t.Fatalf("run: %+v", r)
	}
	got, _ := rc.got()
	if len(got) != len(feed) {
		t.Fatalf("receiver got %d events, want %d", len(got), len(feed))
	}
	for i, ev := range got {
		if want := store.EventJSONOf(feed[i]); ev.Cursor != want.Cursor || ev.Type != want.Type || ev.LetterID != want.LetterID || !ev.At.Equal(want.At) || ev.SenderReference != want.SenderReference {
			t.Errorf("event %d: %+v, want %+v", i, ev, want)
		}
	}
	if got[0].Type != store.EventDelivered || got[2].Type != store.EventMadeInaccessible || got[2].LetterID != first.Letter.ID {
		t.Errorf("order of the letter's events: %+v", got)
	}
	cb = e.callback(e.muni.ID)
	if cb.State() != "ok" || cb.Queued != 0 || cb.Attempts != 0 || cb.LastError != "" || strconv.FormatUint(cb.Delivered, 10) != got[3].Cursor {
		t.Errorf("after delivery: %+v", cb)
	}
	// Nothing more to send: nothing sent again.
	e.clock.Advance(time.Hour)
	e.run(JobCallbacks, store.JobOK)
	if again, _ := rc.got(); len(again) != 4 {
		t.Errorf("after another run the receiver has %d events", len(again))
	}
}

// TestCallbacksGivenUp: a receiver that fails for longer than the policy
// allows is given up: its outbox is emptied, new events are not queued,
// the state says from which event to read the feed; registering again
// goes on with new events.
func TestCallbacksGivenUp(t *testing.T) {
	e := callbackEnv(t)
	rc := newReceiver(t, e.st.CallbackKey())
	e.trust(rc)
	ctx := context.Background()
	if _, err := e.st.SetCallback(ctx, e.muni.ID, rc.URL(), store.CallbackPolicy{}, false); err != nil {
		t.Fatal(err)
	}
	_, nid := e.resident(store.NotificationPreferences{})
	rc.setMode("500")
	e.deliver(e.muni.ID, nid, "ref-1", false)
	e.deliver(e.muni.ID, nid, "ref-2", false)
	for range 20 {
		e.run(JobCallbacks, store.JobOK)
		e.clock.Advance(4 * time.Minute)
	}
	cb := e.callback(e.muni.ID)
	if cb.State() != "given-up" || cb.Queued != 0 || cb.GivenUp.IsZero() {
		t.Fatalf("after an hour of 500s: %+v", cb)
	}
	feed, _, _ := e.st.Events(ctx, e.muni.ID, "", 10)
	if cb.GivenUpFrom != feed[0].Seq {
		t.Errorf("given up from %d, want the first event %d", cb.GivenUpFrom, feed[0].Seq)
	}
	e.deliver(e.muni.ID, nid, "ref-3", false)
	if cb := e.callback(e.muni.ID); cb.Queued != 0 {
		t.Errorf("an event was queued for a callback given up: %+v", cb)
	}
	_, posts := rc.got()
	rc.setMode("ok")
	e.clock.Advance(time.Hour)
	e.run(JobCallbacks, store.JobOK)
	if _, after := rc.got(); after != posts {
		t.Errorf("a callback given up was POSTed to")
	}
	// Registered again: new events go.
	if _, err := e.st.SetCallback(ctx, e.muni.ID, rc.URL(), store.CallbackPolicy{}, false); err != nil {
		t.Fatal(err)
	}
	r4 := e.deliver(e.muni.ID, nid, "ref-4", false)
	e.run(JobCallbacks, store.JobOK)
	if got, _ := rc.got(); len(got) != 1 || got[0].LetterID != r4.Letter.ID {
		t.Errorf("after registering again: %+v", got)
	}
}

// TestCallbacksOwnSenderOnly: two senders with two receivers; each gets
// only its own letters' events; a sender without a callback gets nothing
// POSTed.
func TestCallbacksOwnSenderOnly(t *testing.T) {
	e := callbackEnv(t)
	ctx := context.Background()
	other, err := e.st.AddSender(ctx, "Forsyning A/S", "10150817", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	third, err := e.st.AddSender(ctx, "Tredje A/S", "25313763", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newReceiver(t, e.st.CallbackKey()), newReceiver(t, e.st.CallbackKey())
	e.trust(a)
	if _, err := e.st.SetCallback(ctx, e.muni.ID, a.URL(), store.CallbackPolicy{}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetCallback(ctx, other.ID, b.URL(), store.CallbackPolicy{}, true); err != nil {
		t.Fatal(err)
	}
	_, nid := e.resident(store.NotificationPreferences{})
	mine := map[string]string{}
	for i := range 3 {
		for _, snd := range []string{e.muni.ID, other.ID, third.ID} {
			r := e.deliver(snd, nid, "ref-"+strconv.Itoa(i), false)
			mine[r.Letter.ID] = snd
		}
	}
	e.run(JobCallbacks, store.JobOK)
	for rc, snd := range map[*receiver]string{a: e.muni.ID, b: other.ID} {
		got, _ := rc.got()
		if len(got) != 3 {
			t.Errorf("receiver of %s got %d events", snd, len(got))
		}
		for _, ev := range got {
			if mine[ev.LetterID] != snd {
				t.Errorf("receiver of %s got an event of %s's letter %s", snd, mine[ev.LetterID], ev.LetterID)
			}
		}
	}
	if _, err := e.st.CallbackOf(ctx, third.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the third sender's callback: %v", err)
	}
	// A revoked sender's callback goes.
	if err := e.st.RevokeSender(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CallbackOf(ctx, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked sender's callback: %v", err)
	}
}

// TestCallbacksRefusePrivateAddresses: without the operator's leave, a
// callback to a loopback address is refused at the connection (the
// registration's check is the API's and the operator command's), so
// nothing reaches the server and the attempt counts as failed.
func TestCallbacksRefusePrivateAddresses(t *testing.T) {
	e := callbackEnv(t)
	rc := newReceiver(t, e.st.CallbackKey())
	e.cfg.Callbacks.AllowPrivate = false
	e.trust(rc)
	ctx := context.Background()
	// A name that resolves to loopback, as DNS rebinding would make it.
	_, port, _ := net.SplitHostPort(rc.addr)
	if _, err := e.st.SetCallback(ctx, e.muni.ID, "https://localhost:"+port+"/cb", store.CallbackPolicy{}, true); err != nil {
		t.Fatal(err)
	}
	_, nid := e.resident(store.NotificationPreferences{})
	e.deliver(e.muni.ID, nid, "ref-1", false)
	e.run(JobCallbacks, store.JobOK)
	cb := e.callback(e.muni.ID)
	if _, posts := rc.got(); posts != 0 || cb.Attempts != 1 || !strings.Contains(cb.LastError, "not a public address") {
		t.Errorf("a loopback callback: %d POSTs, %+v", posts, cb)
	}
}
