package httpui

import (
	"context"
	"errors"
	"time"

	"github.com/postkasse/postkasse/store"
)

// Password checks are costly on purpose: each is an Argon2id evaluation
// that holds the KDF's memory (64 MiB by default) while it runs. The login
// throttle bounds how many one account or one address may try; the server
// also bounds how many run at once (Config.MaxPasswordChecks), so a burst
// of attempts spread over many accounts and addresses cannot exhaust the
// machine's memory. A request waits up to passwordCheckWait for a free
// slot, then is told the service is busy (503 with Retry-After).
const (
	passwordCheckWait = 5 * time.Second
	// busyRetry is the Retry-After of that 503.
	busyRetry = 5 * time.Second
)

// errBusy: no slot for a password check came free in time.
var errBusy = errors.New("too many password checks under way")

// throttledError: the login throttle refused the attempt without checking
// the password.
type throttledError struct {
	wait time.Duration // until the next attempt is allowed
}

func (e *throttledError) Error() string {
	return "too many failed password checks; wait " + e.wait.String()
}

// checkPassword runs check, which tries a password for account (a national
// identity number) from address, under the login throttle and the bound
// on checks at once. It returns check's error, a *throttledError when the
// throttle refuses the attempt, or errBusy when no slot came free; in
// those two cases check did not run. store.ErrBadCredentials from check
// counts as a failure; success forgets the account's failures.
func (s *Server) checkPassword(ctx context.Context, account, address string, check func() error) error {
	ok, wait, done := s.logins.reserve(account, address)
	if !ok {
		return &throttledError{wait: wait}
	}
	failed := false
	defer func() { done(failed) }()
	release, ok := s.startPasswordCheck(ctx)
	if !ok {
		return errBusy
	}
	defer release()
	err := check()
	failed = errors.Is(err, store.ErrBadCredentials)
	if err == nil {
		s.logins.succeed(account)
	}
	return err
}

// startPasswordCheck takes a slot for one password check, waiting up to
// s.passwordCheckWait or until ctx ends, and returns the function that
// frees it; ok is false when no slot came free.
func (s *Server) startPasswordCheck(ctx context.Context) (release func(), ok bool) {
	release = func() { <-s.passwordChecks }
	select {
	case s.passwordChecks <- struct{}{}:
		return release, true
	default:
	}
	if s.passwordCheckWait <= 0 {
		return nil, false
	}
	if s.passwordCheckWaiting != nil {
		s.passwordCheckWaiting()
	}
	timer := time.NewTimer(s.passwordCheckWait)
	defer timer.Stop()
	select {
	case s.passwordChecks <- struct{}{}:
		return release, true
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil, false
}
