package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/postkasse/postkasse/store"
)

// problem is an error as the protocol carries it.
type problem struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Error codes of the protocol, mapped from the store's sentinels.
const (
	codeInvalid           = "INVALID"
	codeTermsNoticePeriod = "TERMS_NOTICE_PERIOD"
	codeExists            = "EXISTS"
	codeNotFound          = "NOT_FOUND"
	codeRevoked           = "REVOKED"
	codeUnavailable       = "UNAVAILABLE"
	codeInternal          = "INTERNAL"
)

// maxBody bounds a request body: the requests are a few small fields.
const maxBody = 64 << 10

// maxTermsBody bounds a request that carries the terms of use: their
// largest text, with room for JSON escapes ("<" is six bytes).
const maxTermsBody = 6*store.MaxTermsSize + maxBody

// Handler serves the operations on the control socket.
func Handler(ops Operations, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &handler{ops: ops, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", h.status)
	mux.HandleFunc("GET /v1/senders", h.senders)
	mux.HandleFunc("POST /v1/senders", h.addSender)
	mux.HandleFunc("POST /v1/senders/revoke", h.revokeSender)
	mux.HandleFunc("POST /v1/senders/certificates", h.issueCertificate)
	mux.HandleFunc("GET /v1/residents", h.residents)
	mux.HandleFunc("POST /v1/residents", h.enrolResident)
	mux.HandleFunc("POST /v1/residents/death", h.recordDeath)
	mux.HandleFunc("GET /v1/terms", h.terms)
	mux.HandleFunc("POST /v1/terms", h.publishTerms)
	mux.HandleFunc("GET /v1/jobs", h.jobs)
	return mux
}

type handler struct {
	ops Operations
	log *slog.Logger
}

// Status is the answer of GET /v1/status.
type Status struct {
	PID int `json:"pid"`
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	h.respond(w, r, http.StatusOK, Status{PID: os.Getpid()}, nil, "status")
}

func (h *handler) senders(w http.ResponseWriter, r *http.Request) {
	out, err := h.ops.Senders(r.Context())
	h.respond(w, r, http.StatusOK, out, err, "list senders")
}

func (h *handler) addSender(w http.ResponseWriter, r *http.Request) {
	var req SenderRequest
	if !h.decode(w, r, &req) {
		return
	}
	out, err := h.ops.AddSender(r.Context(), req)
	if err == nil {
		h.log.Info("sender added", "sender", out.Sender.ID, "org", out.Sender.OrgNumber, "via", "control socket")
	}
	h.respond(w, r, http.StatusCreated, out, err, "add sender")
}

func (h *handler) revokeSender(w http.ResponseWriter, r *http.Request) {
	var req RevokeRequest
	if !h.decode(w, r, &req) {
		return
	}
	out, err := h.ops.RevokeSender(r.Context(), req)
	if err == nil {
		h.log.Info("sender revoked", "sender", out.ID, "fingerprint", req.Fingerprint, "via", "control socket")
	}
	h.respond(w, r, http.StatusOK, out, err, "revoke sender")
}

func (h *handler) issueCertificate(w http.ResponseWriter, r *http.Request) {
	var req SenderRef
	if !h.decode(w, r, &req) {
		return
	}
	out, err := h.ops.IssueCertificate(r.Context(), req)
	if err == nil {
		h.log.Info("sender certificate issued", "sender", out.Sender.ID, "via", "control socket")
	}
	h.respond(w, r, http.StatusCreated, out, err, "issue certificate")
}

func (h *handler) residents(w http.ResponseWriter, r *http.Request) {
	out, err := h.ops.Residents(r.Context())
	h.respond(w, r, http.StatusOK, out, err, "list residents")
}

func (h *handler) enrolResident(w http.ResponseWriter, r *http.Request) {
	var req ResidentRequest
	if !h.decode(w, r, &req) {
		return
	}
	out, err := h.ops.EnrolResident(r.Context(), req)
	if err == nil {
		// Never the activation code: it goes to the operator only.
		h.log.Info("resident enrolled", "resident", out.Resident.ID, "via", "control socket")
	}
	h.respond(w, r, http.StatusCreated, out, err, "enrol resident")
}

// decode reads a JSON request body that has no unknown fields.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return h.decodeMax(w, r, v, maxBody)
}

// decodeMax is decode with a bound of max bytes.
func (h *handler) decodeMax(w http.ResponseWriter, r *http.Request, v any, max int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, problem{Error: "request body: " + err.Error(), Code: codeInvalid})
		return false
	}
	return true
}

// respond writes v with status, or the problem for err.
func (h *handler) respond(w http.ResponseWriter, r *http.Request, status int, v any, err error, op string) {
	if err == nil {
		writeJSON(w, status, v)
		return
	}
	status, code := http.StatusInternalServerError, codeInternal
	var invalid *store.InvalidError
	switch {
	case errors.Is(err, store.ErrTermsNoticePeriod):
		status, code = http.StatusBadRequest, codeTermsNoticePeriod
	case errors.As(err, &invalid), errors.Is(err, store.ErrInvalidNationalID), errors.Is(err, ErrBadRequest):
		status, code = http.StatusBadRequest, codeInvalid
	case errors.Is(err, store.ErrExists):
		status, code = http.StatusConflict, codeExists
	case errors.Is(err, store.ErrNotFound):
		status, code = http.StatusNotFound, codeNotFound
	case errors.Is(err, store.ErrSenderRevoked):
		status, code = http.StatusConflict, codeRevoked
	case errors.Is(err, ErrNoScheduler):
		status, code = http.StatusServiceUnavailable, codeUnavailable
	default:
		h.log.Error("control: "+op, "err", err)
	}
	writeJSON(w, status, problem{Error: err.Error(), Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Listen opens the control socket at path, readable and writable by the
// owner only (0600), and returns a listener that accepts connections only
// from processes of the same user or root (SO_PEERCRED where the system
// has it). A socket file left at path by a server that died is replaced;
// the caller must hold the data folder's database lock, so that no
// running server owns it. Anything else at path is an error.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove the stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The socket is made with the process's umask; restrict it before
	// the first Accept. Connecting needs write permission on it.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &peerListener{Listener: ln, uid: os.Getuid()}, nil
}

// peerListener drops connections from other users.
type peerListener struct {
	net.Listener
	uid int
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			return c, nil
		}
		uid, err := peerUID(uc)
		if errors.Is(err, errPeerCredUnsupported) || (err == nil && (uid == l.uid || uid == 0)) {
			return c, nil
		}
		c.Close()
	}
}
