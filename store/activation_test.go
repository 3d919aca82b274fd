package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store/storage"
)

// activationCodePattern is how an activation code is shown: 32 base32
// characters (160 bits) in groups of four.
var activationCodePattern = regexp.MustCompile(`^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$`)

// rawResident returns a resident's stored record.
func rawResident(t testing.TB, s *Store, id string) *residentRecord {
	t.Helper()
	var rec *residentRecord
	if err := s.view(context.Background(), func(tx storage.Tx) error {
		var err error
		rec, err = tx.Residents().Get(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestEnrolResident: the operator's enrolment makes a pending mailbox with
// no key pair that takes no letters and cannot log in, and stores only the
// activation code's hash.
func TestEnrolResident(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	nid := testNID(t, 1)
	r, code, err := s.EnrolResident(context.Background(), nid, "  Anna   Andersen ")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "Anna Andersen" || r.NationalID != nid || r.Status != ResidentPending || r.ID == "" ||
		r.PublicKey != (crypto.PublicKey{}) || !r.ActivationExpires.Equal(clock.Now().Add(30*24*time.Hour)) {
		t.Errorf("EnrolResident = %+v", r)
	}
	if !activationCodePattern.MatchString(code) {
		t.Errorf("activation code %q, want 8 groups of 4 base32 characters", code)
	}
	rec := rawResident(t, s, r.ID)
	if rec.PublicKey != nil || rec.PasswordWrap != nil || rec.RecoveryWrap != nil {
		t.Errorf("a pending resident has keys: %+v", rec)
	}
	raw, _ := parseActivationCode(code)
	if !bytes.Equal(rec.ActivationHash, activationHash(raw)) {
		t.Error("the stored hash is not the code's")
	}
	dbText, err := json.Marshal(rawResident(t, s, r.ID))
	if err != nil {
		t.Fatal(err)
	}
	compact := strings.ReplaceAll(code, "-", "")
	if bytes.Contains(dbText, []byte(code)) || bytes.Contains(dbText, []byte(compact)) || bytes.Contains(dbText, raw) {
		t.Error("the activation code is stored in clear")
	}
	if got, err := s.ResidentByNationalID(context.Background(), nid); err != nil || got.Status != ResidentPending {
		t.Errorf("ResidentByNationalID = %+v, %v", got, err)
	}
	if digital, err := s.IsDigital(context.Background(), nid); err != nil || digital {
		t.Errorf("IsDigital of a pending mailbox = %v, %v; want false", digital, err)
	}
	sender := mustSender(t, s, "Aarhus Kommune", "55133018", SenderPublic)
	if _, err := s.Deliver(context.Background(), sender.ID, testDelivery(nid, "ref-1")); !errors.Is(err, ErrRecipientNotDigital) {
		t.Errorf("Deliver to a pending mailbox: %v, want ErrRecipientNotDigital", err)
	}
	for _, password := range []string{testPassword, code, ""} {
		if _, err := s.Login(context.Background(), nid.String(), password); err != ErrBadCredentials {
			t.Errorf("Login(%q) of a pending mailbox: %v, want ErrBadCredentials", password, err)
		}
	}
	if got := auditActions(t, s); len(got) != 2 || got[0] != "enrol-resident" {
		t.Errorf("audit %v, want enrol-resident first", got)
	}

	// The lifetime of codes is an option.
	s2 := openTestStore(t, Options{KDF: cheapKDF, Clock: clock.Now, ActivationLifetime: 72 * time.Hour})
	if r, _, err := s2.EnrolResident(context.Background(), nid, "Anna Andersen"); err != nil || !r.ActivationExpires.Equal(clock.Now().Add(72*time.Hour)) {
		t.Errorf("EnrolResident with a lifetime of 72 h = %+v, %v", r, err)
	}
}

func TestEnrolResidentRefused(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, testOptions(newFakeClock()))
	taken := testNID(t, 1)
	mustResident(t, s, taken, "Anna Andersen")
	deleted := mustResident(t, s, testNID(t, 3), "Slettet Konto")
	if err := mustLogin(t, s, deleted.NationalID, testPassword).DeleteMailbox(context.Background(), testPassword); err != nil {
		t.Fatal(err)
	}
	before := digest(t, s)
	tests := []struct {
		name  string
		nid   NationalID
		rname string
		field string // InvalidError's field, or "" for ErrExists
	}{
		{"active resident", taken, "Someone Else", ""},
		{"deleted account", deleted.NationalID, "Slettet Konto", ""},
		{"zero national id", NationalID{}, "Bo", "nationalId"},
		{"blank name", testNID(t, 2), " \t ", "name"},
		{"long name", testNID(t, 2), strings.Repeat("a", 201), "name"},
		{"name not UTF-8", testNID(t, 2), "Bo \xff", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, err := s.EnrolResident(context.Background(), tt.nid, tt.rname)
			if code != "" {
				t.Errorf("a refused enrolment returned a code")
			}
			if tt.field == "" {
				if !errors.Is(err, ErrExists) {
					t.Errorf("EnrolResident: %v, want ErrExists", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Errorf("EnrolResident: %v, want an InvalidError for %s", err, tt.field)
			}
		})
	}
	if digest(t, s) != before {
		t.Error("a refused enrolment changed the database")
	}
}

// TestActivate: the resident activates the pending mailbox with the code
// and a password of their own; the recovery key is theirs; the code works
// once.
func TestActivate(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	nid := testNID(t, 1)
	r, code, err := s.EnrolResident(context.Background(), nid, "Anna Andersen")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * 24 * time.Hour)
	// As a person might type it: lower case, spaces for hyphens, and a
	// digit 0, 1 or 8 for the letter O, I or B.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	typed = strings.NewReplacer("o", "0", "i", "1", "b", "8").Replace(typed)
	rk, err := s.Activate(context.Background(), nid.Number[:6]+"-"+nid.Number[6:], typed, testPassword)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	got, err := s.Resident(context.Background(), r.ID)
	if err != nil || got.Status != ResidentActive || got.PublicKey == (crypto.PublicKey{}) || !got.ActivationExpires.IsZero() {
		t.Fatalf("after activation: %+v, %v", got, err)
	}
	rec := rawResident(t, s, r.ID)
	if rec.ActivationHash != nil {
		t.Error("the code's hash outlived the activation")
	}
	priv, err := crypto.UnwrapWithRecoveryKey(rec.RecoveryWrap, rk)
	if err != nil {
		t.Fatalf("the recovery key does not open the recovery wrapping: %v", err)
	}
	if priv.Public() != got.PublicKey {
		t.Error("the recovery wrapping holds another key")
	}
	priv.Zero()
	if digital, err := s.IsDigital(context.Background(), nid); err != nil || !digital {
		t.Errorf("IsDigital after activation = %v, %v", digital, err)
	}
	mustLogin(t, s, nid, testPassword).Close()
	log, err := s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e := log[1]; e.Actor != "resident:"+r.ID || e.Action != "activate" || e.Object != "resident:"+r.ID || !e.Time.Equal(clock.Now()) {
		t.Errorf("audit entry %+v, want the resident's activate", e)
	}
	// Once only.
	before := digest(t, s)
	if _, err := s.Activate(context.Background(), nid.String(), code, "another password of mine"); err != ErrBadActivation {
		t.Errorf("second activation: %v, want ErrBadActivation", err)
	}
	if digest(t, s) != before {
		t.Error("a refused activation changed the database")
	}
}

// TestActivateRefused: every failure is ErrBadActivation, whichever check
// failed, and changes nothing; a password against the policy says so.
func TestActivateRefused(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	pending, _, err := s.EnrolResident(context.Background(), testNID(t, 1), "Anna Andersen")
	if err != nil {
		t.Fatal(err)
	}
	other, otherCode, err := s.EnrolResident(context.Background(), testNID(t, 2), "Bo Berg")
	if err != nil {
		t.Fatal(err)
	}
	expired, expiredCode, err := s.EnrolResident(context.Background(), testNID(t, 3), "Carl Carlsen")
	if err != nil {
		t.Fatal(err)
	}
	// Only the third code expires: the others are renewed after the clock
	// moved.
	clock.Advance(30 * 24 * time.Hour)
	_, code, err := s.EnrolResident(context.Background(), pending.NationalID, "Anna Andersen")
	if err != nil {
		t.Fatal(err)
	}
	staleOther := otherCode
	if _, otherCode, err = s.EnrolResident(context.Background(), other.NationalID, "Bo Berg"); err != nil {
		t.Fatal(err)
	}
	active := mustResident(t, s, testNID(t, 4), "Dorte Dam")
	nid := pending.NationalID.String()
	compact := strings.ReplaceAll(code, "-", "")
	wrong := "A" + compact[1:] // the right code with its first character changed
	if compact[0] == 'A' {
		wrong = "B" + compact[1:]
	}
	before := digest(t, s)

	tests := []struct {
		name, nid, code, password string
		field                     string // an InvalidError's field, or "" for ErrBadActivation
	}{
		{"wrong code", nid, wrong, testPassword, ""},
		{"another resident's code", nid, otherCode, testPassword, ""},
		{"the code before it was renewed", other.NationalID.String(), staleOther, testPassword, ""},
		{"expired code", expired.NationalID.String(), expiredCode, testPassword, ""},
		{"code one character short", nid, compact[1:], testPassword, ""},
		{"code not base32", nid, strings.Repeat("9", 32), testPassword, ""},
		{"empty code", nid, "", testPassword, ""},
		{"huge code", nid, strings.Repeat("A", 10_000), testPassword, ""},
		{"unknown resident", testNID(t, 9).String(), code, testPassword, ""},
		{"invalid national id", "0000000000", code, testPassword, ""},
		{"active resident", active.NationalID.String(), code, testPassword, ""},
		{"short password", nid, code, "123456789", "password"},
		{"huge password", nid, code, strings.Repeat("x", 1025), "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rk, err := s.Activate(context.Background(), tt.nid, tt.code, tt.password)
			if rk != (crypto.RecoveryKey{}) {
				t.Error("a refused activation returned a recovery key")
			}
			if tt.field == "" {
				// Exactly the sentinel: no hint which check failed.
				if err != ErrBadActivation {
					t.Errorf("Activate: %v, want ErrBadActivation", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Errorf("Activate: %v, want an InvalidError for %s", err, tt.field)
			}
		})
	}
	if digest(t, s) != before {
		t.Error("a refused activation changed the database")
	}
	// The renewed code still works after all that.
	if _, err := s.Activate(context.Background(), nid, code, testPassword); err != nil {
		t.Errorf("Activate with the right code after refusals: %v", err)
	}
	actions := auditActions(t, s)
	if want := []string{"enrol-resident", "enrol-resident", "enrol-resident", "renew-activation-code", "renew-activation-code"}; len(actions) < len(want) ||
		strings.Join(actions[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("audit %v, want it to start with %v", actions, want)
	}
}

// TestActivateConcurrently: of activations with the same code at once,
// exactly one succeeds (the write transaction checks the code again).
func TestActivateConcurrently(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, testOptions(newFakeClock()))
	nid := testNID(t, 1)
	r, code, err := s.EnrolResident(context.Background(), nid, "Anna Andersen")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Activate(context.Background(), nid.String(), code, testPassword+strings.Repeat("!", i))
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("activations %d and %d both succeeded", won, i)
		case err == nil:
			won = i
		case err != ErrBadActivation:
			t.Errorf("activation %d: %v, want ErrBadActivation", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no activation succeeded")
	}
	// The password of the one that won is the one that was stored.
	mustLogin(t, s, nid, testPassword+strings.Repeat("!", won)).Close()
	if n := strings.Count(strings.Join(auditActions(t, s), " "), "activate"); n != 1 {
		t.Errorf("%d activate entries in the audit log, want 1", n)
	}
	if got, _ := s.Resident(context.Background(), r.ID); got.Status != ResidentActive {
		t.Errorf("status %s", got.Status)
	}
}

// TestRecordDeathPending: a pending mailbox recorded as deceased can no
// longer be activated, and keeps no code.
func TestRecordDeathPending(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := openTestStore(t, testOptions(clock))
	nid := testNID(t, 1)
	r, code, err := s.EnrolResident(context.Background(), nid, "Anna Andersen")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordDeath(context.Background(), nid, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if rec := rawResident(t, s, r.ID); rec.ActivationHash != nil || !rec.ActivationExpires.IsZero() {
		t.Error("a deceased resident keeps an activation code")
	}
	if _, err := s.Activate(context.Background(), nid.String(), code, testPassword); err != ErrBadActivation {
		t.Errorf("Activate after death: %v, want ErrBadActivation", err)
	}
}

func TestActivationCodeFormat(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xa5}, activationCodeSize)
	code := formatActivationCode(raw)
	if !activationCodePattern.MatchString(code) {
		t.Fatalf("formatActivationCode = %q", code)
	}
	for _, typed := range []string{
		code,
		strings.ToLower(code),
		strings.ReplaceAll(code, "-", ""),
		" " + strings.ReplaceAll(code, "-", " ") + " ",
		strings.NewReplacer("O", "0", "I", "1", "B", "8").Replace(code),
	} {
		if got, ok := parseActivationCode(typed); !ok || !bytes.Equal(got, raw) {
			t.Errorf("parseActivationCode(%q) = %x, %v", typed, got, ok)
		}
	}
	for _, bad := range []string{"", code[:len(code)-1], code + "A", strings.Repeat("9", 32), code[:5] + "é" + code[6:]} {
		if _, ok := parseActivationCode(bad); ok {
			t.Errorf("parseActivationCode(%q) accepted", bad)
		}
	}
}

// FuzzParseActivationCode: a code as typed is untrusted input. Parsing
// never panics, and whatever parses is a code of the right size that reads
// back from its own format.
func FuzzParseActivationCode(f *testing.F) {
	f.Add("ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567")
	f.Add("abcd efgh ijkl mnop qrst uvwx yz23 4567")
	f.Add("0000-1111-8888-0000-1111-8888-0000-1111")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		raw, ok := parseActivationCode(s)
		if !ok {
			return
		}
		if len(raw) != activationCodeSize {
			t.Fatalf("parsed %d bytes", len(raw))
		}
		again, ok := parseActivationCode(formatActivationCode(raw))
		if !ok || !bytes.Equal(again, raw) {
			t.Fatalf("%x does not read back from %q", raw, formatActivationCode(raw))
		}
	})
}
