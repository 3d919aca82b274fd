package api

import (
	"errors"
	"net/http"

	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// senderHandler is an API handler for an authenticated sender.
type senderHandler func(w http.ResponseWriter, r *http.Request, sender store.Sender)

// withSender authenticates the sender by its TLS client certificate and
// applies its rate limit. The certificate was verified against the sender
// CA in the handshake (TLSConfig); a connection without a verified chain —
// plain HTTP, no certificate, or a listener that does not verify — is
// refused here whatever certificate it shows. The handshake checked the
// certificate's validity only at its own time, and a client may keep one
// connection for as long as it likes, so every request checks it again.
func (a *API) withSender(h senderHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
			a.web.WriteProblem(w, r, web.ProblemUnauthenticated("a client certificate issued by the sender CA is required"))
			return
		}
		leaf := r.TLS.PeerCertificates[0]
		// RFC 5280 §4.1.2.5: both ends of the validity period are
		// inclusive.
		if now := a.clock(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			a.web.WriteProblem(w, r, web.ProblemUnauthenticated("the client certificate has expired or is not yet valid"))
			return
		}
		sender, err := a.store.SenderByCertificate(r.Context(), leaf)
		switch {
		case errors.Is(err, store.ErrUnknownSender):
			a.web.WriteProblem(w, r, web.ProblemUnauthenticated("the client certificate is bound to no sender"))
			return
		case errors.Is(err, store.ErrSenderRevoked):
			a.web.WriteProblem(w, r, web.ProblemUnauthenticated("the client certificate or its sender is revoked"))
			return
		case err != nil:
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
			return
		}
		if !a.charge(w, r, sender, 1) {
			return
		}
		h(w, r, sender)
	})
}

// charge takes n tokens from the sender's rate limit (its own, when the
// operator set one, else the default), and answers 429 (or
// the error) and false when it has not got them. A request costs one; a
// route that does more work takes more.
func (a *API) charge(w http.ResponseWriter, r *http.Request, sender store.Sender, n int) bool {
	var own guard.Bucket // zero: the limiter's default
	if sender.APIRate > 0 {
		own = guard.Bucket{Rate: sender.APIRate, Burst: float64(sender.APIBurst)}
	}
	ok, wait, err := a.limit.Take(r.Context(), sender.ID, n, own)
	if err != nil {
		// The shared bucket could not be read: no request goes ahead
		// without its tokens.
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return false
	}
	if !ok {
		w.Header().Set("Retry-After", web.RetryAfter(wait))
		a.web.WriteProblem(w, r, web.Problem{Status: http.StatusTooManyRequests, Code: "TOO_MANY_REQUESTS", Detail: "slow down and try again after the time in Retry-After"})
		return false
	}
	return true
}
