package pgtest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Shared is one server for all the tests of a package: started by the
// first test that asks for it, stopped by Run when the tests are over.
// Its zero value is ready to use; declare it as a variable of the test
// package and call Run from TestMain (see the package doc). A package
// whose tests never ask for it starts no server.
//
// Tests get a database of their own from NewDatabase, so they may run in
// parallel. A test that stops or restarts the server uses Start, a
// server of its own.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Server returns the shared server, starting it on the first call. If
// it cannot start, every test that asks fails with the same error. When
// the test fails, the part of the server's log written during the test
// is printed with its output.
func (sh *Shared) Server(t testing.TB) *Server {
	t.Helper()
	sh.once.Do(func() { sh.srv, sh.err = New() })
	if sh.err != nil {
		t.Fatalf("pgtest: %v", sh.err)
	}
	s := sh.srv
	from := s.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PostgreSQL's log during %s (%s):\n%s", t.Name(), s.LogPath(), s.logFrom(from))
		}
	})
	return s
}

// NewDatabase creates a database of the test's own on the shared server
// and returns its URL; see Server.NewDatabase.
func (sh *Shared) NewDatabase(t testing.TB) string {
	t.Helper()
	return sh.Server(t).NewDatabase(t)
}

// Run runs the tests (m.Run) and then closes the server if a test
// started it. It returns the exit code for os.Exit: the tests', or 1 if
// they passed and the server could not be closed.
func (sh *Shared) Run(m *testing.M) int {
	code := m.Run()
	if err := sh.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Close closes the server if a test started it; no test may ask for it
// after. A TestMain that needs two shared servers calls m.Run and then
// Close of each, where one would call Run.
func (sh *Shared) Close() error {
	// No test runs any more; this also keeps a late caller from starting
	// a server that nothing would stop.
	sh.once.Do(func() { sh.err = fmt.Errorf("%w: the tests are over", ErrClosed) })
	if sh.srv != nil {
		if err := sh.srv.Close(); err != nil {
			return fmt.Errorf("close the shared server: %w", err)
		}
	}
	return nil
}
