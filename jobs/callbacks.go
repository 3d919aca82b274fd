package jobs

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/postkasse/postkasse/internal/netguard"
	"github.com/postkasse/postkasse/store"
)

// SignatureHeader is the header of a callback's signature (API.md,
// "Events and callbacks"): "keyId=…, t=UNIX, ed25519=BASE64", the
// signature over t "." body.
const SignatureHeader = "Postkasse-Signature"

// maxCallbackAnswer is how much of a receiver's answer is read: enough
// to keep the connection for the next event, never a whole download.
const maxCallbackAnswer = 64 << 10

// maxEventsPerRun bounds the events one run POSTs to one sender, so one
// busy sender cannot hold the run for ever; the next run goes on.
const maxEventsPerRun = 1000

// newCallbackClient is the HTTP client of callbacks: the guard's check at
// every connection (no loopback, private, link-local … address unless
// allowed), a time limit on the connection and on the whole request, no
// redirect followed (a 3xx is a failure), no proxy from the environment
// (it would reach what the guard refuses).
func newCallbackClient(cfg CallbackConfig) *http.Client {
	guard := netguard.Guard{AllowPrivate: cfg.AllowPrivate}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, Control: guard.Control}
	return &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   cfg.ConnectTimeout,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// runCallbacks POSTs the events waiting in the outboxes of senders whose
// callback is due: each sender's one at a time in order, until its outbox
// is empty or an event fails (then it waits for its backoff); several
// senders at once.
func (s *Scheduler) runCallbacks(ctx context.Context, r *runState) error {
	senders, err := s.st.DueCallbacks(ctx)
	if err != nil {
		return err
	}
	if len(senders) == 0 {
		r.detail = "no event waiting"
		return nil
	}
	var (
		mu                  sync.Mutex
		delivered, failures int
		errs                []error
	)
	sem := make(chan struct{}, s.cfg.Callbacks.Parallel)
	var wg sync.WaitGroup
	for _, id := range senders {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, failed, err := s.deliverCallbacks(ctx, id, func() { mu.Lock(); r.item(); mu.Unlock() })
			mu.Lock()
			defer mu.Unlock()
			delivered += n
			if failed {
				failures++
			}
			if err != nil && len(errs) < maxItemErrors {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	r.detail = fmt.Sprintf("%d events delivered to %d senders; %d failing", delivered, len(senders), failures)
	return errors.Join(errs...)
}

// deliverCallbacks POSTs one sender's due events in order. It returns how
// many were acknowledged, whether one failed (and waits for its retry),
// and an error of the store.
func (s *Scheduler) deliverCallbacks(ctx context.Context, senderID string, item func()) (int, bool, error) {
	var n int
	for range maxEventsPerRun {
		if ctx.Err() != nil {
			return n, false, ctx.Err()
		}
		d, ok, err := s.st.NextCallback(ctx, senderID)
		if err != nil || !ok {
			return n, false, err
		}
		if err := s.postCallback(ctx, d); err != nil {
			if ctx.Err() != nil {
				return n, false, ctx.Err() // shutting down: the event waits, no attempt counted
			}
			cb, ferr := s.st.CallbackFailed(context.WithoutCancel(ctx), d, err.Error(), s.cfg.Callbacks.Policy)
			if ferr != nil {
				return n, true, ferr
			}
			if cb.State() == "given-up" {
				s.log.Error("callback given up", "sender", senderID, "event", d.Event.Seq, "err", err)
			} else {
				s.log.Info("callback failed", "sender", senderID, "event", d.Event.Seq, "attempts", cb.Attempts, "next", cb.NextAttempt, "err", err)
			}
			return n, true, nil
		}
		if err := s.st.CallbackDelivered(context.WithoutCancel(ctx), d); err != nil {
			return n, false, err
		}
		n++
		item()
	}
	return n, false, nil
}

// postCallback POSTs one event, signed, and returns nil only for a 2xx
// answer.
func (s *Scheduler) postCallback(ctx context.Context, d store.CallbackDelivery) error {
	body, err := json.Marshal(store.EventJSONOf(d.Event))
	if err != nil {
		return err
	}
	t := s.cfg.Clock().Unix()
	keyID, sig := s.st.SignCallback(t, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Postkasse-Callback/1")
	req.Header.Set(SignatureHeader, FormatSignature(keyID, t, sig))
	resp, err := s.callbackClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxCallbackAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(strings.ToValidUTF8(string(head), "?"))
		if msg != "" {
			return fmt.Errorf("answered %s: %s", resp.Status, msg)
		}
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// FormatSignature returns the value of the Postkasse-Signature header.
func FormatSignature(keyID string, t int64, sig []byte) string {
	return "keyId=" + keyID + ", t=" + strconv.FormatInt(t, 10) + ", ed25519=" + base64.StdEncoding.EncodeToString(sig)
}
