package httpui

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Time bounds of a request on the appliance's listeners (main sets
// ReadTimeout on its http.Servers; the body's progress is bounded here).
const (
	// ReadTimeout bounds the reading of a whole request, body included:
	// an upload of the largest letter on a slow line.
	ReadTimeout = 5 * time.Minute
	// DefaultBodyStall is how long a request body may send nothing
	// before the request is refused (Config.BodyStall).
	DefaultBodyStall = 30 * time.Second
)

// boundStalls refuses a request whose body sends nothing for stall: each
// read of the body may wait that long for its first byte (and never past
// ReadTimeout from the request's start), after which it fails, the
// handler answers 400 and the server closes the connection. Without it, a
// client that sends a byte a minute holds a connection, a goroutine and
// its buffers for the whole ReadTimeout. The deadlines are on the real
// clock: they are the socket's.
func boundStalls(next http.Handler, stall time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &stallBody{ReadCloser: r.Body, rc: http.NewResponseController(w), stall: stall,
				end: time.Now().Add(ReadTimeout)}
		}
		next.ServeHTTP(w, r)
	})
}

// stallBody is a request body whose every read has a deadline.
type stallBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time
}

func (b *stallBody) Read(p []byte) (int, error) {
	deadline := time.Now().Add(b.stall)
	if deadline.After(b.end) {
		deadline = b.end
	}
	// A connection that cannot take deadlines (none in the appliance's
	// servers) is read as it is.
	_ = b.rc.SetReadDeadline(deadline)
	// When the body ends, the server clears the deadline itself, after
	// this one, for its background read that notices a client going
	// away (net/http's connReader.startBackgroundRead): a handler at work
	// after its body is never cut off by the stall.
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && (errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(deadline)) {
		return n, fmt.Errorf("the request body sent nothing for %v: %w", b.stall, err)
	}
	return n, err
}
