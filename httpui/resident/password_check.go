package resident

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// Password checks are costly on purpose: each is an Argon2id evaluation
// that holds the KDF's memory (64 MiB by default) while it runs. The login
// throttle bounds how many one account or one address may try; the server
// also bounds how many run at once (Config.MaxPasswordChecks), so a burst
// of attempts spread over many accounts and addresses cannot exhaust the
// machine's memory (package guard). A request that finds every slot
// taken waits in line, first come first served, unless its expected wait
// is over the bound (Config.PasswordCheckWait); then, or when it has
// waited that long, it is told the service is busy (503 with
// Retry-After).

// busyRetry is the Retry-After of that 503.
const busyRetry = 5 * time.Second

// checkPassword runs check, which tries a password for account (a
// national identity number) from address, under the login throttle and
// the bound on checks at once (guard.PasswordChecks.Check): it returns
// check's error, a *guard.ThrottledError or guard.ErrBusy. A wrong
// password and a throttled attempt are logged with the client's address
// (never the account's number), one line each, for fail2ban
// (docs/OPERATORS.md).
func (s *Handlers) checkPassword(ctx context.Context, account, address string, check func() error) error {
	err := s.passwords.Check(ctx, account, address, check)
	var throttled *guard.ThrottledError
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		s.web.Log.Warn("password check failed", "address", address, "id", web.ContextRequestID(ctx))
	case errors.As(err, &throttled):
		s.web.Log.Warn("password check throttled", "address", address, "wait", throttled.Wait.Round(time.Second).String(), "id", web.ContextRequestID(ctx))
	}
	return err
}

// checkRefusal is a password check that tried no password: the throttle
// refused it, or no slot for a check came free.
type checkRefusal struct {
	Status    int    // 429 when throttled, else 503
	Throttled bool   // else busy
	Wait      string // until the next attempt, in words (throttled)
}

// refusedCheck says whether err (of checkPassword) is a refusal; when it
// is, it sets the answer's Retry-After and says what to show. Each page
// words the refusal in its own terms.
func refusedCheck(w http.ResponseWriter, l *i18n.Lang, err error) (checkRefusal, bool) {
	var throttled *guard.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", web.RetryAfter(throttled.Wait))
		return checkRefusal{Status: http.StatusTooManyRequests, Throttled: true, Wait: waitText(l, throttled.Wait)}, true
	case errors.Is(err, guard.ErrBusy):
		w.Header().Set("Retry-After", web.RetryAfter(busyRetry))
		return checkRefusal{Status: http.StatusServiceUnavailable}, true
	}
	return checkRefusal{}, false
}

// newPasswordProblem words what is wrong with a new password by the
// rule of store.CheckPassword (too short, too long, or too easy to
// guess), err being its error; shortID is the page's message for one too
// short. The rule itself lives only in the store.
func newPasswordProblem(l *i18n.Lang, err error, shortID string) string {
	switch {
	case errors.Is(err, store.ErrPasswordGuessable):
		return l.T("password.error.guessable")
	case errors.Is(err, store.ErrPasswordLong):
		return l.T("activate.error.passwordLong", "Max", maxPasswordBytes)
	}
	return l.T(shortID, "Min", store.MinPasswordLength)
}
