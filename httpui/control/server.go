package control

import (
	"context"
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
	codeWrongPrintKey     = "WRONG_PRINT_KEY"
	codeNoPrintKey        = "NO_PRINT_KEY"
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
	h := &handler{log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", query(h, "status", func(context.Context) (Status, error) {
		return Status{PID: os.Getpid()}, nil
	}))
	mux.HandleFunc("GET /v1/senders", query(h, "list senders", ops.Senders))
	mux.HandleFunc("POST /v1/senders", change(h, "add sender", http.StatusCreated, maxBody, ops.AddSender,
		func(_ SenderRequest, out NewSender) (string, []any) {
			return "sender added", []any{"sender", out.Sender.ID, "org", out.Sender.OrgNumber}
		}))
	mux.HandleFunc("POST /v1/senders/revoke", change(h, "revoke sender", http.StatusOK, maxBody, ops.RevokeSender,
		func(req RevokeRequest, out SenderInfo) (string, []any) {
			return "sender revoked", []any{"sender", out.ID, "fingerprint", req.Fingerprint}
		}))
	mux.HandleFunc("POST /v1/senders/certificates", change(h, "issue certificate", http.StatusCreated, maxBody, ops.IssueCertificate,
		func(_ SenderRef, out NewSender) (string, []any) {
			return "sender certificate issued", []any{"sender", out.Sender.ID}
		}))
	mux.HandleFunc("POST /v1/senders/rate", change(h, "set sender rate", http.StatusOK, maxBody, ops.SetSenderRate,
		func(req RateRequest, out SenderInfo) (string, []any) {
			return "sender rate set", []any{"sender", out.ID, "rate", req.Rate, "burst", req.Burst}
		}))
	mux.HandleFunc("POST /v1/senders/reply-key", change(h, "set sender reply key", http.StatusOK, maxBody, ops.SetSenderReplyKey,
		func(_ ReplyKeyRequest, out SenderInfo) (string, []any) {
			return "sender reply key set", []any{"sender", out.ID}
		}))
	mux.HandleFunc("POST /v1/senders/messages", change(h, "set sender messages", http.StatusOK, maxBody, ops.SetSenderMessages,
		func(req MessagesRequest, out SenderInfo) (string, []any) {
			return "sender messages set", []any{"sender", out.ID, "on", req.On}
		}))
	mux.HandleFunc("GET /v1/residents", query(h, "list residents", ops.Residents))
	mux.HandleFunc("POST /v1/residents", change(h, "enrol resident", http.StatusCreated, maxBody, ops.EnrolResident,
		func(_ ResidentRequest, out NewResident) (string, []any) {
			// Never the activation code: it goes to the operator only.
			return "resident enrolled", []any{"resident", out.Resident.ID}
		}))
	mux.HandleFunc("POST /v1/residents/death", change(h, "record death", http.StatusOK, maxBody, ops.RecordDeath,
		func(_ DeathRequest, out ResidentInfo) (string, []any) {
			return "death recorded", []any{"resident", out.ID}
		}))
	mux.HandleFunc("GET /v1/terms", query(h, "list terms", ops.Terms))
	mux.HandleFunc("POST /v1/terms", change(h, "publish terms", http.StatusCreated, maxTermsBody, ops.PublishTerms,
		func(_ TermsRequest, out TermsInfo) (string, []any) {
			return "terms published", []any{"version", out.Version, "effective", out.EffectiveDate}
		}))
	mux.HandleFunc("GET /v1/jobs", query(h, "jobs status", ops.Jobs))
	mux.HandleFunc("GET /v1/callbacks", query(h, "list callbacks", ops.Callbacks))
	mux.HandleFunc("POST /v1/callbacks", change(h, "set callback", http.StatusOK, maxBody, ops.SetCallback,
		func(_ CallbackRequest, out CallbackInfo) (string, []any) {
			return "callback set", []any{"sender", out.SenderID}
		}))
	mux.HandleFunc("POST /v1/callbacks/remove", change(h, "remove callback", http.StatusOK, maxBody, ops.RemoveCallback,
		func(ref SenderRef, out CallbackRemoved) (string, []any) {
			return "callback removed", []any{"sender", ref.ID, "org", ref.OrgNumber, "removed", out.Removed}
		}))
	mux.HandleFunc("POST /v1/residents/block", change(h, "block resident", http.StatusOK, maxBody, ops.BlockResident,
		func(_ BlockRequest, out BlockInfo) (string, []any) {
			return "resident blocked", []any{"resident", out.ID}
		}))
	mux.HandleFunc("POST /v1/residents/unblock", change(h, "unblock resident", http.StatusOK, maxBody, ops.UnblockResident,
		func(_ ResidentRef, out BlockInfo) (string, []any) {
			return "resident unblocked", []any{"resident", out.ID}
		}))
	mux.HandleFunc("POST /v1/residents/reserve", change(h, "reserve resident", http.StatusOK, maxBody, ops.ReserveResident,
		func(_ ResidentRef, out ResidentInfo) (string, []any) {
			return "resident reserved", []any{"resident", out.ID}
		}))
	mux.HandleFunc("POST /v1/residents/guardian", change(h, "add guardian", http.StatusCreated, maxBody, ops.AddGuardian,
		func(_ GuardianRequest, out GuardianInfo) (string, []any) {
			return "guardianship recorded", []any{"delegation", out.ID}
		}))
	mux.HandleFunc("POST /v1/residents/guardian/remove", change(h, "remove guardian", http.StatusOK, maxBody, ops.RemoveGuardian,
		func(_ GuardianRequest, _ GuardianInfo) (string, []any) {
			return "guardianship removed", nil
		}))
	mux.HandleFunc("POST /v1/residents/unreserve", change(h, "unreserve resident", http.StatusOK, maxBody, ops.UnreserveResident,
		func(_ ResidentRef, out ResidentInfo) (string, []any) {
			return "resident unreserved", []any{"resident", out.ID}
		}))
	mux.HandleFunc("POST /v1/residents/reset-code", change(h, "issue reset code", http.StatusCreated, maxBody, ops.IssueResetCode,
		func(_ ResidentRef, out NewResetCode) (string, []any) {
			// Never the code: it goes to the operator only.
			return "reset code issued", []any{"resident", out.Resident.ID}
		}))
	mux.HandleFunc("POST /v1/letters/make-inaccessible", change(h, "make letter inaccessible", http.StatusOK, maxBody, ops.MakeInaccessible,
		func(_ HoldRequest, out HoldInfo) (string, []any) {
			return "letter made inaccessible", []any{"letter", out.LetterID}
		}))
	mux.HandleFunc("POST /v1/letters/make-accessible", change(h, "make letter accessible", http.StatusOK, maxBody, ops.MakeAccessible,
		func(_ LetterRef, out HoldInfo) (string, []any) {
			return "letter made accessible", []any{"letter", out.LetterID}
		}))
	mux.HandleFunc("GET /v1/support", query(h, "list support requests", ops.SupportRequests))
	mux.HandleFunc("POST /v1/support/request", change(h, "read support request", http.StatusOK, maxBody, ops.SupportRequest,
		func(_ SupportRef, out SupportInfo) (string, []any) {
			return "support request read", []any{"request", out.ID}
		}))
	mux.HandleFunc("POST /v1/support/answer", change(h, "answer support request", http.StatusOK, maxBody, ops.AnswerSupport,
		func(_ AnswerRequest, out SupportInfo) (string, []any) {
			// Never the answer or the request's text: they may be personal.
			return "support request answered", []any{"request", out.ID}
		}))
	mux.HandleFunc("GET /v1/print", query(h, "print status", ops.PrintStatus))
	mux.HandleFunc("POST /v1/print/key", change(h, "print key", http.StatusCreated, maxBody,
		func(ctx context.Context, _ struct{}) (PrintKeyInfo, error) { return ops.PrintKey(ctx) },
		func(struct{}, PrintKeyInfo) (string, []any) {
			// Never the key.
			return "print key made", nil
		}))
	mux.HandleFunc("POST /v1/print/export", change(h, "print export", http.StatusOK, maxBody, ops.PrintExport,
		func(_ PrintExportRequest, out PrintExportInfo) (string, []any) {
			// Never an address or the key: the batch id and counts only.
			return "print batch exported", []any{"batch", out.Batch, "letters", out.Letters, "pages", out.Pages}
		}))
	mux.HandleFunc("POST /v1/print/done", change(h, "print done", http.StatusOK, maxBody, ops.PrintDone,
		func(_ PrintDoneRequest, out PrintDoneInfo) (string, []any) {
			return "print batch printed", []any{"batch", out.Batch, "letters", out.Printed}
		}))
	mux.HandleFunc("POST /v1/backup", change(h, "backup", http.StatusOK, maxBody, ops.Backup,
		func(_ BackupRequest, out BackupInfo) (string, []any) {
			return "backup written", []any{"path", out.Path, "database_bytes", out.DatabaseBytes, "copy_ms", out.CopyMillis}
		}))
	return mux
}

type handler struct {
	log *slog.Logger
}

// Status is the answer of GET /v1/status.
type Status struct {
	PID int `json:"pid"`
}

// query serves an operation that only reads: its result, or the problem
// of its error. op names it in the log.
func query[Out any](h *handler, op string, do func(context.Context) (Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out, err := do(r.Context())
		h.respond(w, r, http.StatusOK, out, err, op)
	}
}

// change serves an operation that changes something: it decodes the
// request body (at most max bytes), calls do and answers with status and
// do's result, or with the problem of its error. A change that succeeds
// is logged with the message and attributes that logged returns. op names
// the operation in the log of an unexpected error.
func change[Req, Out any](h *handler, op string, status int, max int64, do func(context.Context, Req) (Out, error), logged func(Req, Out) (msg string, args []any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if !h.decode(w, r, &req, max) {
			return
		}
		out, err := do(r.Context(), req)
		if err == nil {
			msg, args := logged(req, out)
			h.log.Info(msg, append(args, "via", "control socket")...)
		}
		h.respond(w, r, status, out, err, op)
	}
}

// decode reads a JSON request body of at most max bytes that has no
// unknown fields.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any, max int64) bool {
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
	case errors.As(err, &invalid), errors.Is(err, store.ErrInvalidNationalID), errors.Is(err, ErrBadRequest),
		errors.Is(err, store.ErrDelegateSelf), errors.Is(err, store.ErrDelegateUnknown), errors.Is(err, store.ErrDelegationUntilPast):
		status, code = http.StatusBadRequest, codeInvalid
	case errors.Is(err, store.ErrWrongPrintKey):
		status, code = http.StatusForbidden, codeWrongPrintKey
	case errors.Is(err, store.ErrNoPrintKey):
		status, code = http.StatusConflict, codeNoPrintKey
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrDelegationExists):
		status, code = http.StatusConflict, codeExists
	case errors.Is(err, store.ErrNotFound):
		status, code = http.StatusNotFound, codeNotFound
	case errors.Is(err, store.ErrSenderRevoked):
		status, code = http.StatusConflict, codeRevoked
	case errors.Is(err, ErrNoMunicipality), errors.Is(err, store.ErrNoMunicipality):
		status, code = http.StatusConflict, codeUnavailable
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

// maxSocketPath is the longest path of a Unix socket: sun_path holds 108
// bytes on Linux (104 on the BSDs and macOS), with the terminating zero.
const maxSocketPath = 103

// CheckSocketPath refuses a socket path longer than every system takes,
// naming the folder to shorten: binding it would fail with nothing more
// than "invalid argument".
func CheckSocketPath(path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("control socket %s: the path has %d bytes, a Unix socket's may have at most %d: use a data folder with a shorter path", path, len(path), maxSocketPath)
	}
	return nil
}

// Listen opens the control socket at path, readable and writable by the
// owner only (0600), and returns a listener that accepts connections only
// from processes of the same user or root (SO_PEERCRED where the system
// has it). A socket file left at path by a server that died is replaced;
// the caller must hold the data folder's database lock, so that no
// running server owns it. Anything else at path is an error.
func Listen(path string) (net.Listener, error) {
	if err := CheckSocketPath(path); err != nil {
		return nil, err
	}
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
		if errors.Is(err, errPeerCredUnsupported) {
			return c, nil
		}
		if err == nil && (uid == l.uid || uid == 0) {
			return &peerConn{Conn: c, uid: uid}, nil
		}
		c.Close()
	}
}

// peerConn is a connection whose peer's Unix user the kernel told.
type peerConn struct {
	net.Conn
	uid int
}

// ConnContext is the control server's http.Server.ConnContext: the
// requests of a connection whose peer's user is known run with it as the
// operator (store.WithOperatorUID), so the audit log names who gave each
// command.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*peerConn); ok {
		return store.WithOperatorUID(ctx, pc.uid)
	}
	return ctx
}
