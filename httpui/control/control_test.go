package control

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/teststore"
	"github.com/postkasse/postkasse/store"
)

// inEachMode runs fn with a new operator, once calling it directly and once
// over a real control socket (ops is then the socket's client).
func inEachMode(t *testing.T, fn func(t *testing.T, op *Operator, ops Operations)) {
	for _, mode := range []string{"direct", "socket"} {
		t.Run(mode, func(t *testing.T) {
			op := newOperator(t)
			var ops Operations = op
			if mode == "socket" {
				c, err := Dial(context.Background(), serveSocket(t, op))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				ops = c
			}
			fn(t, op, ops)
		})
	}
}

func newOperator(t *testing.T) *Operator {
	t.Helper()
	st := teststore.Open(t, store.Options{})
	return &Operator{Store: st, CA: testsupport.NewCA(t), CertificateValidity: 365 * 24 * time.Hour}
}

// serveSocket serves op on a control socket in a new folder and returns
// the socket's path.
func serveSocket(t *testing.T, op Operations) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(op, nil)}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return path
}

// TestOperations runs one suite against both implementations of
// Operations: the Operator directly (the command line with the server
// stopped) and the Client over a real socket (the server running).
func TestOperations(t *testing.T) {
	inEachMode(t, func(t *testing.T, op *Operator, ops Operations) {
		if c, ok := ops.(*Client); ok && c.PID != os.Getpid() {
			t.Fatalf("status pid %d, want %d", c.PID, os.Getpid())
		}
		testOperations(t, op, ops)
	})
}

func testOperations(t *testing.T, op *Operator, ops Operations) {
	ctx := context.Background()
	added, err := ops.AddSender(ctx, SenderRequest{Name: "Eksempelby Kommune", OrgNumber: "29189846", Kind: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if added.Sender.Name != "Eksempelby Kommune" || added.Sender.Kind != "public" || len(added.Sender.Certificates) != 1 {
		t.Fatalf("added %+v", added.Sender)
	}
	cert, err := tls.X509KeyPair([]byte(added.CertificatePEM), []byte(added.KeyPEM))
	if err != nil {
		t.Fatalf("the certificate and key do not make a pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: op.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("the certificate does not verify against the sender CA: %v", err)
	}
	if fp := store.CertificateFingerprint(leaf); added.Sender.Certificates[0].Fingerprint != fp {
		t.Fatalf("bound fingerprint %s, certificate's %s", added.Sender.Certificates[0].Fingerprint, fp)
	}
	if s, err := op.Store.SenderByCertificate(context.Background(), leaf); err != nil || s.ID != added.Sender.ID {
		t.Fatalf("the certificate does not authenticate the sender: %+v %v", s, err)
	}
	if block, _ := pem.Decode([]byte(added.KeyPEM)); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("key PEM %q", added.KeyPEM)
	}
	second, err := ops.AddSender(ctx, SenderRequest{Name: "Forsyning A/S", OrgNumber: "12345674", Kind: "private"})
	if err != nil {
		t.Fatal(err)
	}

	// Another certificate for the second sender; both authenticate it.
	renewed, err := ops.IssueCertificate(ctx, SenderRef{OrgNumber: "12345674"})
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Sender.ID != second.Sender.ID || len(renewed.Sender.Certificates) != 2 {
		t.Fatalf("after IssueCertificate: %+v", renewed.Sender)
	}
	for _, pemCert := range []string{second.CertificatePEM, renewed.CertificatePEM} {
		block, _ := pem.Decode([]byte(pemCert))
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := op.Store.SenderByCertificate(context.Background(), c); err != nil || s.ID != second.Sender.ID {
			t.Fatalf("certificate %x: %+v %v", c.SerialNumber, s, err)
		}
	}
	for _, tc := range []struct {
		ref  SenderRef
		want error
	}{
		{SenderRef{}, ErrBadRequest},
		{SenderRef{ID: second.Sender.ID, OrgNumber: "12345674"}, ErrBadRequest},
		{SenderRef{OrgNumber: "99999999"}, store.ErrNotFound},
		{SenderRef{ID: strings.Repeat("0", 32)}, store.ErrNotFound},
	} {
		if _, err := ops.IssueCertificate(ctx, tc.ref); !errors.Is(err, tc.want) {
			t.Errorf("IssueCertificate(%+v) = %v, want %v", tc.ref, err, tc.want)
		}
	}

	// Refusals keep the store's meaning across the socket.
	for _, tc := range []struct {
		req  SenderRequest
		want error
	}{
		{SenderRequest{Name: "Again", OrgNumber: "29189846", Kind: "public"}, store.ErrExists},
		{SenderRequest{Name: "Odd", OrgNumber: "11111114", Kind: "semi"}, ErrBadRequest},
		{SenderRequest{Name: "Short", OrgNumber: "123", Kind: "public"}, ErrBadRequest},
	} {
		if _, err := ops.AddSender(ctx, tc.req); !errors.Is(err, tc.want) && !isInvalid(err) {
			t.Errorf("AddSender(%+v) = %v, want %v", tc.req, err, tc.want)
		}
	}

	list, err := ops.Senders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d senders, want 2: %+v", len(list), list)
	}

	// Revoke one certificate, then a sender by organisation number, then
	// one by id.
	fp := added.Sender.Certificates[0].Fingerprint
	got, err := ops.RevokeSender(ctx, RevokeRequest{Fingerprint: strings.ToUpper(fp)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Revoked || !got.Certificates[0].Revoked {
		t.Fatalf("after revoking the certificate: %+v", got)
	}
	if _, err := op.Store.SenderByCertificate(context.Background(), leaf); !errors.Is(err, store.ErrSenderRevoked) {
		t.Fatalf("the revoked certificate still authenticates: %v", err)
	}
	if got, err = ops.RevokeSender(ctx, RevokeRequest{OrgNumber: "29189846"}); err != nil || !got.Revoked || got.RevokedAt == nil {
		t.Fatalf("revoke by organisation number: %+v %v", got, err)
	}
	if got, err = ops.RevokeSender(ctx, RevokeRequest{ID: second.Sender.ID}); err != nil || !got.Revoked {
		t.Fatalf("revoke by id: %+v %v", got, err)
	}
	if _, err := ops.IssueCertificate(ctx, SenderRef{ID: second.Sender.ID}); !errors.Is(err, store.ErrSenderRevoked) {
		t.Errorf("IssueCertificate for a revoked sender: %v", err)
	}
	for _, tc := range []struct {
		req  RevokeRequest
		want error
	}{
		{RevokeRequest{}, ErrBadRequest},
		{RevokeRequest{ID: second.Sender.ID, OrgNumber: "12345674"}, ErrBadRequest},
		{RevokeRequest{OrgNumber: "29189846"}, store.ErrNotFound}, // revoked already: no active one
		{RevokeRequest{Fingerprint: "00ff"}, store.ErrNotFound},
		{RevokeRequest{ID: strings.Repeat("0", 32)}, store.ErrNotFound},
	} {
		if _, err := ops.RevokeSender(ctx, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("RevokeSender(%+v) = %v, want %v", tc.req, err, tc.want)
		}
	}

	// Residents: enrolment gives an activation code, never a password or
	// a recovery key; the mailbox is pending until the resident activates
	// it.
	nr, err := ops.EnrolResident(ctx, ResidentRequest{NationalID: "120386-1234", Name: "Anna Jensen"})
	if err != nil {
		t.Fatal(err)
	}
	if nr.Resident.NationalID != "1203861234" || nr.Resident.Status != "pending" || nr.Resident.ActivationExpires == nil ||
		!regexp.MustCompile(`^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$`).MatchString(nr.ActivationCode) {
		t.Fatalf("enrolled %+v, activation code %q", nr.Resident, nr.ActivationCode)
	}
	if digital, err := op.Store.IsDigital(context.Background(), store.NationalID{Country: "DK", Number: "1203861234"}); err != nil || digital {
		t.Fatalf("a pending resident is digital: %v %v", digital, err)
	}
	if _, err := op.Store.Activate(context.Background(), "1203861234", nr.ActivationCode, "a long enough password"); err != nil {
		t.Fatalf("the resident cannot activate with the code: %v", err)
	}
	if _, err := op.Store.Login(context.Background(), "1203861234", "a long enough password"); err != nil {
		t.Fatalf("the activated resident cannot log in: %v", err)
	}
	for _, tc := range []struct {
		req  ResidentRequest
		want func(error) bool
	}{
		{ResidentRequest{NationalID: "1203861234", Name: "Anna Again"}, func(err error) bool { return errors.Is(err, store.ErrExists) }},
		{ResidentRequest{NationalID: "3213861234", Name: "Bad Date"}, func(err error) bool {
			return errors.Is(err, store.ErrInvalidNationalID) || errors.Is(err, ErrBadRequest)
		}},
		{ResidentRequest{NationalID: "0101901234", Name: " "}, isInvalid},
	} {
		if _, err := ops.EnrolResident(ctx, tc.req); !tc.want(err) {
			t.Errorf("EnrolResident(%+v) = %v", tc.req, err)
		}
	}
	residents, err := ops.Residents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(residents) != 1 || residents[0].Name != "Anna Jensen" {
		t.Fatalf("residents %+v", residents)
	}
}

// isInvalid reports a refusal of a field's value, in either mode.
func isInvalid(err error) bool {
	var invalid *store.InvalidError
	return errors.As(err, &invalid) || errors.Is(err, ErrBadRequest)
}

func TestListenPermissionsAndStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ctl.sock")

	// A socket left behind by a server that died: nobody answers.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := Dial(context.Background(), path); !errors.Is(err, ErrNoServer) {
		t.Fatalf("Dial on a stale socket: %v, want ErrNoServer", err)
	}
	if _, err := Dial(context.Background(), filepath.Join(dir, "missing.sock")); !errors.Is(err, ErrNoServer) {
		t.Fatalf("Dial on a missing socket: %v, want ErrNoServer", err)
	}

	// Listen replaces it and makes the socket owner-only.
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket with 0600", fi.Mode())
	}

	// The peer check sees this process's own user.
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := <-accepted
	if sc == nil {
		t.Fatal("the connection of the same user was refused")
	}
	defer sc.Close()
	// The accepted connection knows its peer's user, and its requests
	// run as that operator.
	pc, ok := sc.(*peerConn)
	if !ok {
		t.Fatalf("accepted %T, want a *peerConn", sc)
	}
	if pc.uid != os.Getuid() {
		t.Fatalf("peer uid %d, want %d", pc.uid, os.Getuid())
	}

	// Something that is not a socket is left alone.
	file := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen on a regular file: %v", err)
	}
}

// addAnna adds the active resident the operations' tests act on, Anna
// Jensen (test number 1).
func addAnna(t *testing.T, st *store.Store) store.NationalID {
	t.Helper()
	nid, err := store.ParseNationalID(testsupport.NationalID(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddResident(context.Background(), nid, "Anna Jensen", testsupport.Password); err != nil {
		t.Fatal(err)
	}
	return nid
}

// addKommune adds the municipality the tests' letters come from.
func addKommune(t *testing.T, st *store.Store) store.Sender {
	t.Helper()
	muni, err := st.AddSender(context.Background(), "Eksempelby Kommune", "29189846", store.SenderPublic)
	if err != nil {
		t.Fatal(err)
	}
	return muni
}

// refusesResidents checks that do refuses a pending mailbox (test number
// 2, with an error that says pendingWant), a malformed number and an
// unknown one (test number 3).
func refusesResidents(t *testing.T, st *store.Store, pendingWant string, do func(ResidentRef) error) {
	t.Helper()
	pending, err := store.ParseNationalID(testsupport.NationalID(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.EnrolResident(context.Background(), pending, "Per Pending"); err != nil {
		t.Fatal(err)
	}
	if err := do(ResidentRef{NationalID: pending.String()}); err == nil || !strings.Contains(err.Error(), pendingWant) {
		t.Errorf("a pending mailbox: %v, want %q", err, pendingWant)
	}
	if err := do(ResidentRef{NationalID: "123"}); err == nil || !errors.Is(err, ErrBadRequest) && !errors.Is(err, store.ErrInvalidNationalID) {
		t.Errorf("a malformed number: %v", err)
	}
	unknown, _ := store.ParseNationalID(testsupport.NationalID(3))
	if err := do(ResidentRef{NationalID: unknown.String()}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown number: %v", err)
	}
}
