package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/postkasse/postkasse/store/storage"
)

// TestIsUnavailable: a database that went away (refused, reset, cut off
// in the middle of an answer, shutting down) is ErrUnavailable, so the
// API answers 503; a refused statement or fn's own error is passed on.
func TestIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"cut off in an answer", fmt.Errorf("read rows: %w", io.ErrUnexpectedEOF), true},
		{"closed between answers", io.EOF, true},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"fn's own", errors.New("no such letter"), false},
		{"marked already", fmt.Errorf("%w: x", storage.ErrUnavailable), false},
	} {
		if got := isUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: isUnavailable = %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := mapFnError(commitError{io.ErrUnexpectedEOF}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("a commit cut off: %v, want ErrUnavailable", err)
	}
}
