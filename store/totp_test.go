package store

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/postkasse/postkasse/store/storage"
)

// totpCodeAt is the code an authenticator app shows for secret at t,
// computed by pquerna/otp as the app would.
func totpCodeAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enableTOTP turns two-step verification on for mb's owner with a new
// secret and returns the secret and the backup codes.
func enableTOTP(t testing.TB, f *fixture, mb *Mailbox) (string, []string) {
	t.Helper()
	key, err := mb.NewTOTPKey()
	if err != nil {
		t.Fatal(err)
	}
	codes, err := mb.EnableTOTP(context.Background(), key.Secret, totpCodeAt(t, key.Secret, f.clock.Now()), testPassword)
	if err != nil {
		t.Fatalf("EnableTOTP: %v", err)
	}
	return key.Secret, codes
}

// firstStep signs in with the password and wants the second step.
func firstStep(t testing.TB, f *fixture) string {
	t.Helper()
	sess, err := f.s.Login(context.Background(), f.nid.String(), testPassword)
	if err != nil || !sess.SecondStep {
		t.Fatalf("Login with two-step verification on: %+v, %v", sess, err)
	}
	return sess.Token
}

// TestTOTPSetUp: setting up takes the secret of NewTOTPKey, a current code
// of it and the password; anything wrong stores nothing; the ten backup
// codes are distinct and well formed; it is audited and cannot be done
// twice.
func TestTOTPSetUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	key, err := mb.NewTOTPKey()
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret); err != nil || len(raw) != 20 {
		t.Fatalf("secret %q: %d bytes, %v", key.Secret, len(raw), err)
	}
	if !strings.HasPrefix(key.URL, "otpauth://totp/Postkasse:") || !strings.Contains(key.URL, "secret="+key.Secret) {
		t.Errorf("URL %q", key.URL)
	}
	if img, err := key.QRCode(200); err != nil || img.Bounds().Dx() != 200 {
		t.Errorf("QR code: %v", err)
	}
	code := totpCodeAt(t, key.Secret, f.clock.Now())
	wrong := []struct {
		name, secret, code, password string
		want                         error
	}{
		{"wrong password", key.Secret, code, "not the password at all", ErrBadCredentials},
		{"wrong code", key.Secret, otherCode(code), testPassword, ErrBadCredentials},
		{"code of the step before last", key.Secret, totpCodeAt(t, key.Secret, f.clock.Now().Add(-time.Minute)), testPassword, ErrBadCredentials},
		{"a backup code's shape", key.Secret, "abcd-efgh-jkmn", testPassword, ErrBadCredentials},
		{"empty code", key.Secret, "", testPassword, ErrBadCredentials},
	}
	for _, w := range wrong {
		if _, err := mb.EnableTOTP(ctx, w.secret, w.code, w.password); !errors.Is(err, w.want) {
			t.Errorf("%s: %v, want %v", w.name, err, w.want)
		}
	}
	var ie *InvalidError
	if _, err := mb.EnableTOTP(ctx, "NOT-BASE32!", code, testPassword); !errors.As(err, &ie) {
		t.Errorf("a secret that does not decode: %v", err)
	}
	if st, err := mb.TOTPStatus(ctx); err != nil || st.On {
		t.Fatalf("after failed set-ups: %+v, %v", st, err)
	}
	codes, err := mb.EnableTOTP(ctx, strings.ToLower(key.Secret), code, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != BackupCodeCount || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != BackupCodeCount {
		t.Errorf("backup codes %q: want %d distinct", codes, BackupCodeCount)
	}
	for _, c := range codes {
		if kind, _ := parseCode(c); kind != codeBackup || len(c) != 14 {
			t.Errorf("backup code %q does not read back as one", c)
		}
	}
	if st, err := mb.TOTPStatus(ctx); err != nil || !st.On || st.BackupCodes != BackupCodeCount || !st.Enabled.Equal(f.clock.Now()) {
		t.Errorf("status: %+v, %v", st, err)
	}
	if _, err := mb.EnableTOTP(ctx, key.Secret, code, testPassword); !errors.Is(err, ErrTOTPOn) {
		t.Errorf("set up twice: %v", err)
	}
	if n := count(auditActions(t, f.s), "totp-on"); n != 1 {
		t.Errorf("%d totp-on audit entries, want 1", n)
	}
}

// otherCode is a six-digit code that is not code.
func otherCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestTOTPSignIn: with two-step verification on, the password gives no
// session but a first step, which opens nothing; the right code completes
// it; wrong, reused (even within the window) and stale codes are refused
// alike; the first step is used once, expires, and opens only with its
// own secret.
func TestTOTPSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	secret, _ := enableTOTP(t, f, mb)
	setupCode := totpCodeAt(t, secret, f.clock.Now())

	half := firstStep(t, f)
	if _, err := f.s.OpenSession(ctx, half); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("the first step opened a mailbox: %v", err)
	}
	if r, err := f.s.SecondStepOf(ctx, half); err != nil || r.ID != f.resident.ID {
		t.Fatalf("SecondStepOf: %+v, %v", r, err)
	}
	// The code used to set it up is used: refused within its own step.
	if _, err := f.s.CompleteLogin(ctx, half, setupCode); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the set-up code again: %v", err)
	}
	f.clock.Advance(30 * time.Second)
	now := f.clock.Now()
	for _, bad := range []string{otherCode(totpCodeAt(t, secret, now)), "", "12345", "1234567", "abc", strings.Repeat("1", 200),
		totpCodeAt(t, secret, now.Add(-time.Minute)), totpCodeAt(t, secret, now.Add(time.Minute))} {
		if _, err := f.s.CompleteLogin(ctx, half, bad); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("code %q: %v, want ErrBadCredentials", bad, err)
		}
	}
	// A forged token: the right id with another secret.
	forged, err := base64.RawURLEncoding.DecodeString(half)
	if err != nil {
		t.Fatal(err)
	}
	forged[len(forged)-1] ^= 1
	if _, err := f.s.CompleteLogin(ctx, base64.RawURLEncoding.EncodeToString(forged), totpCodeAt(t, secret, now)); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("a forged first step: %v", err)
	}
	good := totpCodeAt(t, secret, now)
	sess, err := f.s.CompleteLogin(ctx, half, " "+good[:3]+" "+good[3:]+" ")
	if err != nil || sess.SecondStep {
		t.Fatalf("the right code: %+v, %v", sess, err)
	}
	mb2, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatalf("the session after the second step: %v", err)
	}
	mb2.Close()
	// The first step is used: not again, not even with the next code.
	if _, err := f.s.CompleteLogin(ctx, half, totpCodeAt(t, secret, now.Add(30*time.Second))); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("the first step replayed: %v", err)
	}
	// The same code with a new first step, within its window: refused.
	half2 := firstStep(t, f)
	if _, err := f.s.CompleteLogin(ctx, half2, good); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a code reused within its window: %v", err)
	}
	// The code of the step after (a phone's clock ahead) is accepted, and
	// then the current one no longer is: it is older than one used.
	f.clock.Advance(10 * time.Second)
	ahead := totpCodeAt(t, secret, f.clock.Now().Add(30*time.Second))
	if _, err := f.s.CompleteLogin(ctx, half2, ahead); err != nil {
		t.Errorf("the next step's code: %v", err)
	}
	f.clock.Advance(30 * time.Second)
	half3 := firstStep(t, f)
	if _, err := f.s.CompleteLogin(ctx, half3, totpCodeAt(t, secret, f.clock.Now().Add(-30*time.Second))); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a code of a step before one used: %v", err)
	}
	// A first step expires.
	f.clock.Advance(SecondStepLifetime)
	if _, err := f.s.CompleteLogin(ctx, half3, totpCodeAt(t, secret, f.clock.Now())); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("an expired first step: %v", err)
	}
	if _, err := f.s.SecondStepOf(ctx, half3); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("SecondStepOf an expired first step: %v", err)
	}
	// A wrong password still gives nothing.
	if _, err := f.s.Login(ctx, f.nid.String(), "not the password at all"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a wrong password: %v", err)
	}
	// A session token is no first step.
	if _, err := f.s.CompleteLogin(ctx, sess.Token, totpCodeAt(t, secret, f.clock.Now())); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("a session as a first step: %v", err)
	}
	if n := count(auditActions(t, f.s), "login"); n != 3 {
		t.Errorf("%d login audit entries, want 3 (the fixture's and two second steps)", n)
	}
}

// TestTOTPBackupCodes: a backup code completes a sign-in once; it may be
// typed in any case, with or without hyphens; new codes replace the old
// ones; each use and each renewal is audited.
func TestTOTPBackupCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	_, codes := enableTOTP(t, f, mb)

	half := firstStep(t, f)
	if _, err := f.s.CompleteLogin(ctx, half, strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))); err != nil {
		t.Fatalf("a backup code: %v", err)
	}
	half = firstStep(t, f)
	if _, err := f.s.CompleteLogin(ctx, half, codes[3]); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a backup code used twice: %v", err)
	}
	if st, _ := mb.TOTPStatus(ctx); st.BackupCodes != BackupCodeCount-1 {
		t.Errorf("%d backup codes left, want %d", st.BackupCodes, BackupCodeCount-1)
	}
	if _, err := mb.NewBackupCodes(ctx, "not the password at all"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("new codes with a wrong password: %v", err)
	}
	fresh, err := mb.NewBackupCodes(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CompleteLogin(ctx, half, codes[4]); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("an old backup code after new ones: %v", err)
	}
	if _, err := f.s.CompleteLogin(ctx, half, fresh[0]); err != nil {
		t.Errorf("a new backup code: %v", err)
	}
	acts := auditActions(t, f.s)
	if count(acts, "backup-code-used") != 2 || count(acts, "new-backup-codes") != 1 {
		t.Errorf("audit: %q", acts)
	}
}

// TestTOTPTurnOff: turning off takes the password and a code; then the
// password alone signs in. Without it on, there is nothing to turn off or
// renew.
func TestTOTPTurnOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	secret, _ := enableTOTP(t, f, mb)
	f.clock.Advance(30 * time.Second)
	code := totpCodeAt(t, secret, f.clock.Now())
	if err := mb.DisableTOTP(ctx, "not the password at all", code); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if err := mb.DisableTOTP(ctx, testPassword, otherCode(code)); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong code: %v", err)
	}
	if st, _ := mb.TOTPStatus(ctx); !st.On {
		t.Fatal("turned off by a wrong attempt")
	}
	if err := mb.DisableTOTP(ctx, testPassword, code); err != nil {
		t.Fatal(err)
	}
	if sess, err := f.s.Login(ctx, f.nid.String(), testPassword); err != nil || sess.SecondStep {
		t.Errorf("sign-in after turning off: %+v, %v", sess, err)
	}
	if err := mb.DisableTOTP(ctx, testPassword, code); !errors.Is(err, ErrNotFound) {
		t.Errorf("turn off twice: %v", err)
	}
	if _, err := mb.NewBackupCodes(ctx, testPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("backup codes while off: %v", err)
	}
	if n := count(auditActions(t, f.s), "totp-off"); n != 1 {
		t.Errorf("%d totp-off audit entries, want 1", n)
	}
}

// TestTOTPFirstStepVoided: a password change between the steps voids the
// first step; recovery with the recovery key turns two-step verification
// off (audited) and ends every first step; deleting the mailbox leaves
// nothing of it.
func TestTOTPFirstStepVoided(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	secret, _ := enableTOTP(t, f, mb)
	f.clock.Advance(30 * time.Second)

	half := firstStep(t, f)
	const next = "another long passphrase"
	if err := mb.ChangePassword(ctx, testPassword, next, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CompleteLogin(ctx, half, totpCodeAt(t, secret, f.clock.Now())); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("a first step from before a password change: %v", err)
	}
	if err := mb.ChangePassword(ctx, next, testPassword, true); err != nil {
		t.Fatal(err)
	}

	half = firstStep(t, f)
	rk, err := mb.NewRecoveryKey(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Recover(ctx, f.nid.String(), rk, next); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SecondStepOf(ctx, half); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("a first step after a recovery: %v", err)
	}
	if sess, err := f.s.Login(ctx, f.nid.String(), next); err != nil || sess.SecondStep {
		t.Errorf("sign-in after a recovery: %+v, %v", sess, err)
	}
	if n := count(auditActions(t, f.s), "totp-off-recovery"); n != 1 {
		t.Errorf("%d totp-off-recovery audit entries, want 1", n)
	}

	mb = mustLogin(t, f.s, f.nid, next)
	key, err := mb.NewTOTPKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.EnableTOTP(ctx, key.Secret, totpCodeAt(t, key.Secret, f.clock.Now()), next); err != nil {
		t.Fatal(err)
	}
	sess, err := f.s.Login(ctx, f.nid.String(), next)
	if err != nil || !sess.SecondStep {
		t.Fatal(err)
	}
	if err := mb.DeleteMailbox(ctx, next); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SecondStepOf(ctx, sess.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("a first step of a deleted mailbox: %v", err)
	}
	// closeTestStore checks the invariants: a deleted account keeps no
	// TOTP record.
}

// TestTOTPOldPolicyRewrapped: a sign-in with two-step verification
// wraps the private key under a raised Argon2id policy too, when the
// second step completes.
func TestTOTPOldPolicyRewrapped(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "postkasse.db")
	s := openTestStoreAt(t, path, testOptions(clock))
	f := &fixture{s: s, clock: clock, nid: testNID(t, 1)}
	f.resident = mustResident(t, s, f.nid, "Anna Andersen")
	mb := mustLogin(t, s, f.nid, testPassword)
	secret, _ := enableTOTP(t, f, mb)
	mb.Close()
	closeTestStore(t, s)

	opts := testOptions(clock)
	opts.KDF.Time++
	s = openTestStoreAt(t, path, opts)
	f.s = s
	clock.Advance(30 * time.Second)
	half := firstStep(t, f)
	before := passwordWrapOf(t, s, f.resident.ID)
	if _, err := s.CompleteLogin(context.Background(), half, totpCodeAt(t, secret, clock.Now())); err != nil {
		t.Fatal(err)
	}
	after := passwordWrapOf(t, s, f.resident.ID)
	if bytes.Equal(before, after) {
		t.Error("the password wrapping was not renewed under the raised policy")
	}
}

func passwordWrapOf(t testing.TB, s *Store, id string) []byte {
	t.Helper()
	var w []byte
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		r, err := getResident(tx, id)
		if err == nil {
			w = bytes.Clone(r.PasswordWrap)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestTOTPSecretNotInClear: the TOTP secret (in base32 and as bytes) and
// the backup codes are in no file of the data folder in any form (the
// embedded engine), or in no row of any table (the cluster engine), while
// the secret still opens: a sign-in after reopening takes its code.
func TestTOTPSecretNotInClear(t *testing.T) {
	t.Parallel()
	totpSecretNotInClear(t, newFixture(t), openTestStoreAt)
}

// TestTOTPSecretNotInClearFile is TestTOTPSecretNotInClear on the
// embedded engine's data folder in both passes.
func TestTOTPSecretNotInClearFile(t *testing.T) {
	t.Parallel()
	totpSecretNotInClear(t, newEmbeddedFixture(t), openEmbeddedStoreAt)
}

func totpSecretNotInClear(t *testing.T, f *fixture, reopen func(testing.TB, string, Options) *Store) {
	t.Helper()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	secret, codes := enableTOTP(t, f, mb)
	mb.Close()
	f.clock.Advance(30 * time.Second)
	half := firstStep(t, f)
	if _, err := f.s.CompleteLogin(context.Background(), half, codes[0]); err != nil {
		t.Fatal(err)
	}
	path := storePath(f.s)
	if onEmbedded(f.s) {
		closeTestStore(t, f.s)
	}

	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"base32": secret, "bytes": string(raw)}
	for i, c := range codes {
		secrets["backup code "+string(rune('0'+i))] = c
		secrets["backup code (typed) "+string(rune('0'+i))] = strings.ReplaceAll(c, "-", "")
	}
	if !onEmbedded(f.s) {
		for _, where := range clusterRowsHolding(t, f.s, secrets) {
			t.Errorf("%s", where)
		}
		if len(clusterRowsHolding(t, f.s, map[string]string{"resident's id": f.resident.ID})) == 0 {
			t.Fatal("the resident's id is in no row: the test reads the wrong database")
		}
		closeTestStore(t, f.s)
	}
	dir := filepath.Dir(path)
	var files []os.DirEntry // the cluster keeps no file of its own
	if onEmbedded(f.s) {
		if files, err = os.ReadDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, fi := range files {
		if fi.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, fi.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for what, s := range secrets {
			for enc, b := range encodings(s) {
				if i := bytes.Index(data, b); i >= 0 {
					t.Errorf("the TOTP %s is in %s as %s at offset %d", what, fi.Name(), enc, i)
				}
			}
		}
	}
	s := reopen(t, path, testOptions(f.clock))
	f.s = s
	f.clock.Advance(30 * time.Second)
	half = firstStep(t, f)
	if _, err := s.CompleteLogin(context.Background(), half, totpCodeAt(t, secret, f.clock.Now())); err != nil {
		t.Errorf("the stored secret does not open after reopening: %v", err)
	}
}

// TestParseCode: what the code field accepts, and how it reads it.
func TestParseCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		kind codeKind
		want string
	}{
		{"123456", codeTOTP, "123456"},
		{" 123 456 ", codeTOTP, "123456"},
		{"123-456", codeTOTP, "123456"},
		{"abcd-efgh-jkmn", codeBackup, "abcdefghjkmn"},
		{"ABCD EFGH JKMN", codeBackup, "abcdefghjkmn"},
		{"oIlo-0000-1111", codeBackup, "011000001111"},
		{"123456789012", codeBackup, "123456789012"},
		{"", codeInvalid, ""},
		{"12345", codeInvalid, ""},
		{"1234567", codeInvalid, ""},
		{"12345a", codeInvalid, ""},
		{"abcd-efgh-jkmu", codeInvalid, ""}, // u is not in the alphabet
		{"abcd-efgh-jkm", codeInvalid, ""},
		{"abcd-efgh-jkmnp", codeInvalid, ""},
		{"１２３４５６", codeInvalid, ""}, // full-width digits
		{"12345\x00", codeInvalid, ""},
		{strings.Repeat(" ", 60) + "123456", codeInvalid, ""},
	} {
		kind, got := parseCode(c.in)
		if kind != c.kind || got != c.want {
			t.Errorf("parseCode(%q) = %v %q, want %v %q", c.in, kind, got, c.kind, c.want)
		}
	}
}

// FuzzParseCode: any input reads as nothing, six digits, or a backup
// code of the alphabet, and reading the result again gives it back.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", "abcd-efgh-jkmn", "ABCD EFGH JKMN", "o1l", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, c := parseCode(s)
		switch kind {
		case codeInvalid:
			if c != "" {
				t.Fatalf("invalid with %q", c)
			}
		case codeTOTP:
			if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
				t.Fatalf("TOTP code %q", c)
			}
		case codeBackup:
			if len(c) != backupCodeLength || strings.Trim(c, backupAlphabet) != "" {
				t.Fatalf("backup code %q", c)
			}
		}
		if k2, c2 := parseCode(c); kind != codeInvalid && (k2 != kind || c2 != c) {
			t.Fatalf("%q reads as %v %q, then %v %q", s, kind, c, k2, c2)
		}
	})
}

// TestParseTOTPSecret: the set-up form's secret decodes to 20 bytes or
// is refused.
func TestParseTOTPSecret(t *testing.T) {
	t.Parallel()
	valid := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for _, c := range []struct {
		in string
		ok bool
	}{
		{valid, true},
		{strings.ToLower(valid), true},
		{"JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP", true},
		{valid + "====", true}, // padding is ignored
		{valid[:31], false},
		{valid[:24], false}, // 15 bytes
		{valid + "AAAAAAAA", false},
		{"", false},
		{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX1", false}, // 1 is not base32
		{strings.Repeat("A", 200), false},
	} {
		raw, err := parseTOTPSecret(c.in)
		var ie *InvalidError
		switch {
		case c.ok && (err != nil || len(raw) != totpSecretSize):
			t.Errorf("parseTOTPSecret(%q) = %d bytes, %v", c.in, len(raw), err)
		case !c.ok && !errors.As(err, &ie):
			t.Errorf("parseTOTPSecret(%q) = %v, want an *InvalidError", c.in, err)
		}
	}
}

// FuzzParseTOTPSecret: a secret either decodes to 20 bytes that encode
// back to it, or is an *InvalidError.
func FuzzParseTOTPSecret(f *testing.F) {
	f.Add("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	f.Add("jbsw y3dp")
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := parseTOTPSecret(s)
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is no *InvalidError", err)
			}
			return
		}
		if len(raw) != totpSecretSize {
			t.Fatalf("%d bytes", len(raw))
		}
		again, err := parseTOTPSecret(b32NoPadding.EncodeToString(raw))
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// TestTOTPCodeOnceUnderRace: the same first step and the same right code,
// sent at once, sign in once; the same code with two first steps (two
// browsers of a thief and the resident, say) signs in once too.
func TestTOTPCodeOnceUnderRace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mb := mustLogin(t, f.s, f.nid, testPassword)
	secret, _ := enableTOTP(t, f, mb)
	for _, sameStep := range []bool{true, false} {
		f.clock.Advance(30 * time.Second)
		code := totpCodeAt(t, secret, f.clock.Now())
		halves := []string{firstStep(t, f), ""}
		if sameStep {
			halves[1] = halves[0]
		} else {
			halves[1] = firstStep(t, f)
		}
		errs := make(chan error, len(halves))
		for _, h := range halves {
			go func() {
				_, err := f.s.CompleteLogin(ctx, h, code)
				errs <- err
			}()
		}
		ok := 0
		for range halves {
			err := <-errs
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrSessionExpired):
			default:
				t.Errorf("same first step %v: %v", sameStep, err)
			}
		}
		if ok != 1 {
			t.Errorf("same first step %v: %d sign-ins with one code, want 1", sameStep, ok)
		}
	}
}

// TestTOTPWaitingSignInIsNoSession: a sign-in waiting for its code is not
// listed among the resident's sessions nor counted when the others are
// ended, but ending the others ends it too: its code no longer signs in.
func TestTOTPWaitingSignInIsNoSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	secret, _ := enableTOTP(t, f, mb)
	f.clock.Advance(time.Minute)
	half := firstStep(t, f)
	list, err := mb.Sessions(ctx)
	if err != nil || len(list) != 1 || !list[0].Current {
		t.Fatalf("sessions with a sign-in waiting for its code: %+v, %v", list, err)
	}
	if n, err := mb.EndOtherSessions(ctx); err != nil || n != 0 {
		t.Errorf("EndOtherSessions = %d, %v; want 0 sessions ended", n, err)
	}
	if _, err := f.s.CompleteLogin(ctx, half, totpCodeAt(t, secret, f.clock.Now())); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("the waiting sign-in after ending the others: %v, want ErrSessionExpired", err)
	}
}
