package store

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

func TestAddResident(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, testOptions(newFakeClock()))
	nid := testNID(t, 1)
	r, rk, err := s.AddResident(context.Background(), nid, "  Anna   Andersen ", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "Anna Andersen" || r.NationalID != nid || r.Status != ResidentActive || r.ID == "" {
		t.Errorf("AddResident = %+v", r)
	}
	if rk == (crypto.RecoveryKey{}) {
		t.Error("no recovery key")
	}
	got, err := s.ResidentByNationalID(context.Background(), nid)
	if err != nil || got.ID != r.ID || got.PublicKey != r.PublicKey {
		t.Errorf("ResidentByNationalID = %+v, %v; want %+v", got, err, r)
	}
	if got, err := s.Resident(context.Background(), r.ID); err != nil || got.NationalID != nid {
		t.Errorf("Resident = %+v, %v", got, err)
	}
	if digital, err := s.IsDigital(context.Background(), nid); err != nil || !digital {
		t.Errorf("IsDigital = %v, %v; want true", digital, err)
	}
	if digital, err := s.IsDigital(context.Background(), testNID(t, 2)); err != nil || digital {
		t.Errorf("IsDigital(unknown) = %v, %v; want false", digital, err)
	}
	// The recovery key opens the stored recovery wrapping.
	err = s.view(context.Background(), func(tx storage.Tx) error {
		rec, err := tx.Residents().Get(r.ID)
		if err != nil {
			return err
		}
		k, err := crypto.UnwrapWithRecoveryKey(rec.RecoveryWrap, rk)
		if err != nil {
			return err
		}
		defer k.Zero()
		if k.Public() != r.PublicKey {
			t.Error("the recovery wrapping holds another key")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddResidentRefused(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, testOptions(newFakeClock()))
	taken := testNID(t, 1)
	mustResident(t, s, taken, "Anna Andersen")
	before := digest(t, s)
	tests := []struct {
		name     string
		nid      NationalID
		rname    string
		password string
		field    string // InvalidError's field, or "" for want
		want     error
	}{
		{"duplicate national id", taken, "Someone Else", testPassword, "", ErrExists},
		{"zero national id", NationalID{}, "Bo", testPassword, "nationalId", nil},
		{"short password", testNID(t, 2), "Bo", "123456789", "password", nil},
		{"short password in runes", testNID(t, 2), "Bo", "æøåæøåæøå", "password", nil},
		{"huge password", testNID(t, 2), "Bo", strings.Repeat("x", 1025), "password", nil},
		{"empty name", testNID(t, 2), "", testPassword, "name", nil},
		{"blank name", testNID(t, 2), " \t\n ", testPassword, "name", nil},
		{"long name", testNID(t, 2), strings.Repeat("a", 201), testPassword, "name", nil},
		{"name not UTF-8", testNID(t, 2), "Bo \xff", testPassword, "name", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.AddResident(context.Background(), tt.nid, tt.rname, tt.password)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("AddResident: %v, want %v", err, tt.want)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Errorf("AddResident: %v, want an InvalidError for %s", err, tt.field)
			}
		})
	}
	if digest(t, s) != before {
		t.Error("a refused enrolment changed the database")
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	unknown := testNID(t, 2)
	tests := []struct {
		name       string
		nationalID string
		password   string
		want       error
	}{
		{"right password", f.nid.String(), testPassword, nil},
		{"right password, hyphenated id", f.nid.Number[:6] + "-" + f.nid.Number[6:], testPassword, nil},
		{"wrong password", f.nid.String(), testPassword + "!", ErrBadCredentials},
		{"empty password", f.nid.String(), "", ErrBadCredentials},
		{"huge password", f.nid.String(), strings.Repeat("x", 1025), ErrBadCredentials},
		{"unknown resident", unknown.String(), testPassword, ErrBadCredentials},
		{"invalid national id", "0000000000", testPassword, ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := f.s.Login(context.Background(), tt.nationalID, tt.password)
			if !errors.Is(err, tt.want) || (tt.want != nil && err != tt.want) {
				// Every failure is exactly ErrBadCredentials: no hint which.
				t.Fatalf("Login: %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if sess.ResidentID != f.resident.ID || !sess.Expires.Equal(f.clock.Now().Add(12*time.Hour)) {
				t.Errorf("Login = %+v", sess)
			}
			mb, err := f.s.OpenSession(context.Background(), sess.Token)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			if mb.Resident().ID != f.resident.ID {
				t.Errorf("mailbox of %s, want %s", mb.Resident().ID, f.resident.ID)
			}
		})
	}
	if r, err := f.s.Resident(context.Background(), f.resident.ID); err != nil || !r.LastLogin.Equal(f.clock.Now()) {
		t.Errorf("LastLogin = %v, %v; want %v", r.LastLogin, err, f.clock.Now())
	}
}

func TestLoginStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status  ResidentStatus
		canRead bool
	}{
		{ResidentActive, true},
		{ResidentReserved, true}, // opted out of digital post, may still read old mail
		{ResidentClosed, false},
		{ResidentDeceased, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			// A session from before the change.
			old, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
			if err != nil {
				t.Fatal(err)
			}
			setResidentStatus(t, f.s, f.resident.ID, tt.status)
			if digital, err := f.s.IsDigital(context.Background(), f.nid); err != nil || digital != (tt.status == ResidentActive) {
				t.Errorf("IsDigital = %v, %v", digital, err)
			}
			sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
			if tt.canRead {
				if err != nil {
					t.Fatalf("Login: %v", err)
				}
			} else if err != ErrBadCredentials {
				t.Fatalf("Login = %+v, %v; want ErrBadCredentials", sess, err)
			}
			mb, err := f.s.OpenSession(context.Background(), old.Token)
			if tt.canRead {
				if err != nil {
					t.Fatalf("OpenSession of the old session: %v", err)
				}
				mb.Close()
			} else if !errors.Is(err, ErrSessionExpired) {
				t.Errorf("OpenSession of the old session: %v, want ErrSessionExpired", err)
			}
		})
	}
}

func TestSessionIdle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	open := func() error {
		mb, err := f.s.OpenSession(context.Background(), sess.Token)
		if err == nil {
			mb.Close()
		}
		return err
	}
	// Each request within 30 minutes of the last keeps it alive.
	for range 5 {
		f.clock.Advance(29 * time.Minute)
		if err := open(); err != nil {
			t.Fatalf("after 29 idle minutes: %v", err)
		}
	}
	f.clock.Advance(30 * time.Minute)
	if err := open(); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("after 30 idle minutes: %v, want ErrSessionExpired", err)
	}
	// The expired session is swept by the sweep (the hourly job), not by
	// the next login, which reads no other session.
	before := countKeys(t, f.s)["sessions"]
	if _, err := f.s.Login(context.Background(), f.nid.String(), testPassword); err != nil {
		t.Fatal(err)
	}
	after := countKeys(t, f.s)["sessions"]
	if n, err := f.s.SweepSessions(context.Background(), f.clock.Now()); err != nil || n != 1 {
		t.Errorf("SweepSessions = %d, %v; want 1", n, err)
	}
	if swept := countKeys(t, f.s)["sessions"]; before != 1 || after != 2 || swept != 1 {
		t.Errorf("sessions before and after the next login, and after the sweep: %d, %d, %d; want 1, 2, 1", before, after, swept)
	}
}

func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	start := f.clock.Now()
	for f.clock.Now().Sub(start) < 12*time.Hour-20*time.Minute {
		f.clock.Advance(20 * time.Minute)
		mb, err := f.s.OpenSession(context.Background(), sess.Token)
		if err != nil {
			t.Fatalf("after %s: %v", f.clock.Now().Sub(start), err)
		}
		mb.Close()
	}
	f.clock.Advance(20 * time.Minute) // 12 h in all
	if _, err := f.s.OpenSession(context.Background(), sess.Token); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("after 12 h: %v, want ErrSessionExpired", err)
	}
}

func TestSessionOptions(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(o *Options) {
		o.SessionIdle = 5 * time.Minute
		o.SessionLifetime = time.Hour
	})
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.Expires.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("Expires = %v", sess.Expires)
	}
	f.clock.Advance(5 * time.Minute)
	if _, err := f.s.OpenSession(context.Background(), sess.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("after 5 idle minutes: %v, want ErrSessionExpired", err)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Logout(context.Background(), sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.OpenSession(context.Background(), sess.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("OpenSession after Logout: %v, want ErrSessionExpired", err)
	}
	// Logging out again, or of garbage, is no error.
	for _, tok := range []string{sess.Token, "", "garbage!"} {
		if err := f.s.Logout(context.Background(), tok); err != nil {
			t.Errorf("Logout(%q): %v", tok, err)
		}
	}
	// The other session lives on.
	mb, err := f.s.OpenSession(context.Background(), other.Token)
	if err != nil {
		t.Fatalf("the other session: %v", err)
	}
	mb.Close()
	if n := countKeys(t, f.s)["sessions"]; n != 1 {
		t.Errorf("%d sessions stored, want 1", n)
	}
}

func TestSessionForgedToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tests := map[string]string{
		"right id, wrong secret (first byte)": flip(sessionIDSize),
		"right id, wrong secret (last byte)":  flip(len(raw) - 1),
		"wrong id, right secret":              flip(0),
		"short":                               sess.Token[:len(sess.Token)-2],
		"long":                                sess.Token + "AA",
		"not base64":                          strings.Repeat("*", len(sess.Token)),
		"trailing padding":                    sess.Token + "==",
		"empty":                               "",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			mb, err := f.s.OpenSession(context.Background(), tok)
			if !errors.Is(err, ErrSessionExpired) {
				if err == nil {
					mb.Close()
				}
				t.Errorf("OpenSession: %v, want ErrSessionExpired", err)
			}
		})
	}
	// Nor do forged tokens log the session out.
	before := digest(t, f.s)
	for name, tok := range tests {
		if err := f.s.Logout(context.Background(), tok); err != nil {
			t.Errorf("Logout(%s): %v", name, err)
		}
	}
	if digest(t, f.s) != before {
		t.Error("a forged token logged the session out")
	}
	// The real token still works.
	mb, err := f.s.OpenSession(context.Background(), sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	mb.Close()
}

// passwordParams returns the Argon2id parameters of a resident's stored
// password wrapping: read from the embedded engine's file raw, or from
// the cluster engine's record.
func passwordParams(t *testing.T, s *Store, id string) crypto.KDFParams {
	t.Helper()
	var p crypto.KDFParams
	params := func(rec *residentRecord, err error) error {
		if err != nil {
			return err
		}
		p, err = crypto.PasswordParams(rec.PasswordWrap)
		return err
	}
	var err error
	if onEmbedded(s) {
		err = s.testDB(t).View(func(tx *bolt.Tx) error { return params(boltResident(tx, id)) })
	} else {
		err = s.view(context.Background(), func(tx storage.Tx) error { return params(tx.Residents().Get(id)) })
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoginRewrapsWithStrongerKDF: a login under a stronger password
// policy than the wrapping's re-wraps the key with it, on the engine of
// the pass; TestLoginRewrapsWithStrongerKDFFile reads the embedded file.
func TestLoginRewrapsWithStrongerKDF(t *testing.T) {
	t.Parallel()
	loginRewrapsWithStrongerKDF(t, openTestStore, openTestStoreAt)
}

// TestLoginRewrapsWithStrongerKDFFile is TestLoginRewrapsWithStrongerKDF
// on the embedded engine in both passes.
func TestLoginRewrapsWithStrongerKDFFile(t *testing.T) {
	t.Parallel()
	loginRewrapsWithStrongerKDF(t, openEmbeddedStore, openEmbeddedStoreAt)
}

func loginRewrapsWithStrongerKDF(t *testing.T, open func(testing.TB, Options) *Store, openAt func(testing.TB, string, Options) *Store) {
	t.Helper()
	clock := newFakeClock()
	weak := cheapKDF
	strong := crypto.KDFParams{Time: 2, MemoryKiB: 128, Threads: 1}
	opts := testOptions(clock)
	opts.KDF = weak
	s := open(t, opts)
	path := storePath(s)
	nid := testNID(t, 1)
	r := mustResident(t, s, nid, "Anna Andersen")
	if p := passwordParams(t, s, r.ID); p != weak {
		t.Fatalf("new wrapping has %+v, want %+v", p, weak)
	}
	closeTestStore(t, s)

	opts.KDF = strong
	s = openAt(t, path, opts)
	mustLogin(t, s, nid, testPassword)
	if p := passwordParams(t, s, r.ID); p != strong {
		t.Errorf("after login the wrapping has %+v, want %+v", p, strong)
	}
	// The same password opens the new wrapping, the key is the same.
	mb := mustLogin(t, s, nid, testPassword)
	if mb.Resident().PublicKey != r.PublicKey {
		t.Error("the public key changed")
	}
	if _, err := s.Login(context.Background(), nid.String(), "wrong password!"); err != ErrBadCredentials {
		t.Errorf("wrong password after re-wrap: %v", err)
	}
	closeTestStore(t, s)

	// Weaker parameters than the wrapping's do not downgrade it.
	opts.KDF = weak
	s = openAt(t, path, opts)
	mustLogin(t, s, nid, testPassword)
	if p := passwordParams(t, s, r.ID); p != strong {
		t.Errorf("login with weaker policy left %+v, want %+v", p, strong)
	}
}
