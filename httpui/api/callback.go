package api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/internal/netguard"
	"github.com/postkasse/postkasse/store"
)

// callbackRequest is the body of PUT /api/v1/callback.
type callbackRequest struct {
	URL string `json:"url"`
}

// callbackKeyJSON is the key that verifies the callbacks' signatures.
type callbackKeyJSON struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"keyId"`
	PublicKey string `json:"publicKey"` // standard base64
}

// callbackResponse is a sender's callback and how its delivery goes
// (store.Callback), with the key its signatures verify with.
type callbackResponse struct {
	URL          string          `json:"url"`
	Set          time.Time       `json:"set"`
	State        string          `json:"state"`
	Queued       int             `json:"queued"`
	Delivered    string          `json:"delivered,omitempty"` // the cursor of the last event acknowledged
	DeliveredAt  time.Time       `json:"deliveredAt,omitzero"`
	Attempts     int             `json:"attempts,omitempty"`
	FirstFailure time.Time       `json:"firstFailure,omitzero"`
	LastError    string          `json:"lastError,omitempty"`
	NextAttempt  time.Time       `json:"nextAttempt,omitzero"`
	GivenUp      time.Time       `json:"givenUp,omitzero"`
	ResumeAfter  string          `json:"resumeAfter,omitempty"` // given up: the feed's cursor to read the missed events after
	SigningKey   callbackKeyJSON `json:"signingKey"`
}

// maxCallbackBody bounds PUT /api/v1/callback's body.
const maxCallbackBody = 4 << 10

// callback: GET, PUT and DELETE /api/v1/callback, the sender's own
// callback only (the sender is the certificate's; no id in the path).
func (a *API) callback(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	switch r.Method {
	case http.MethodPut:
		a.putCallback(w, r, sender)
	case http.MethodDelete:
		if _, err := a.store.RemoveCallback(r.Context(), sender.ID, true); err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		cb, err := a.store.CallbackOf(r.Context(), sender.ID)
		if errors.Is(err, store.ErrNotFound) {
			a.web.WriteProblem(w, r, web.Problem{Status: http.StatusNotFound, Code: "NOT_FOUND", Detail: "no callback registered"})
			return
		} else if err != nil {
			a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
			return
		}
		a.web.WriteJSON(w, r, http.StatusOK, "application/json", a.callbackJSON(cb))
	}
}

// putCallback registers the URL: its form (https, outside the demo),
// then its host, which must resolve to public addresses only unless the
// operator allows private ones; then the store keeps it.
func (a *API) putCallback(w http.ResponseWriter, r *http.Request, sender store.Sender) {
	req, err := readCallback(w, r)
	if err == nil {
		err = CheckCallbackURL(r.Context(), a.cb, req.URL)
	}
	var cb store.Callback
	if err == nil {
		cb, err = a.store.SetCallback(r.Context(), sender.ID, req.URL, a.cb.Policy, true)
	}
	if err != nil {
		a.web.WriteProblem(w, r, a.web.ProblemFor(r, err))
		return
	}
	a.web.WriteJSON(w, r, http.StatusOK, "application/json", a.callbackJSON(cb))
}

// CheckCallbackURL checks a callback URL as PUT /api/v1/callback does,
// its form and then its host's addresses: the operator's command checks
// with it too. Its errors are *store.InvalidError of the field "url".
func CheckCallbackURL(ctx context.Context, cfg CallbackConfig, raw string) error {
	u, err := store.CheckCallbackURL(raw, cfg.Policy.AllowHTTP)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := cfg.Guard.CheckHost(ctx, u.Hostname()); errors.Is(err, netguard.ErrNotPublic) {
		return invalidf("url", "%v: the appliance calls public addresses only", err)
	} else if err != nil {
		return invalidf("url", "%v", err)
	}
	return nil
}

// readCallback reads PUT /api/v1/callback's body strictly: one object
// with url only.
func readCallback(w http.ResponseWriter, r *http.Request) (*callbackRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBody)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, invalidf("body", "more than %d bytes", maxCallbackBody)
		}
		return nil, invalidf("body", "reading: %v", err)
	}
	// Strictly, as every JSON body of the API (strictjson.go): a name
	// matched exactly, none repeated or unknown, valid UTF-8.
	var req callbackRequest
	if err := decodeStrict(raw, &req, "body"); err != nil {
		return nil, err
	}
	return &req, nil
}

func (a *API) callbackJSON(cb store.Callback) callbackResponse {
	key := a.store.CallbackKey()
	out := callbackResponse{URL: cb.URL, Set: cb.Set, State: cb.State(), Queued: cb.Queued, DeliveredAt: cb.DeliveredAt,
		Attempts: cb.Attempts, FirstFailure: cb.FirstFailure, LastError: cb.LastError, NextAttempt: cb.NextAttempt,
		GivenUp:    cb.GivenUp,
		SigningKey: callbackKeyJSON{Algorithm: "ed25519", KeyID: crypto.KeyID(key), PublicKey: base64.StdEncoding.EncodeToString(key)}}
	if cb.Delivered != 0 {
		out.Delivered = strconv.FormatUint(cb.Delivered, 10)
	}
	if cb.GivenUpFrom != 0 {
		// The feed's cursor after which the first event not delivered comes.
		out.ResumeAfter = strconv.FormatUint(cb.GivenUpFrom-1, 10)
	}
	return out
}
