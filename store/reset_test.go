package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestResetWithCode: the operator's reset code resets the mailbox like
// eID does (resetMailbox): a new key pair, every letter deleted with its
// sender told, other sessions ended, passkeys gone, the old password
// gone, the new recovery key working, new mail readable; the code works
// once, and both steps are audited.
func TestResetWithCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	old, other, omb := beforeReset(t, f)
	if _, err := omb.SetNotificationPreferences(ctx, NotificationPreferences{Email: "anna@example.dk", EmailOn: true,
		Phone: "+4512345678", SMSOn: true}); err != nil {
		t.Fatal(err)
	}
	omb.Close()
	f.clock.Advance(time.Minute) // the code is issued after the last sign-in
	issued, err := f.s.IssueResetCode(ctx, f.nid)
	if err != nil {
		t.Fatal(err)
	}
	if !activationCodePattern.MatchString(issued.Code) || issued.Resident.ID != f.resident.ID ||
		!issued.Expires.Equal(f.clock.Now().Add(resetCodeLifetime)) {
		t.Fatalf("issued %+v", issued)
	}
	pending, err := f.s.DueNotifications(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Typed as a person types it: lower case, no hyphens.
	typed := strings.ToLower(strings.ReplaceAll(issued.Code, "-", " "))
	const next = "a brand new passphrase"
	sess, err := f.s.ResetWithCode(ctx, f.nid.String(), typed, next)
	if err != nil {
		t.Fatal(err)
	}
	if sess.NewRecoveryKey == nil || sess.ResidentID != f.resident.ID {
		t.Fatalf("session %+v", sess)
	}
	// The resident is told on both channels: a reset they did not make is
	// someone taking over their new mail.
	due, err := f.s.DueNotifications(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var told []Channel
	for _, n := range due[len(pending):] {
		if n.Kind == NotifyMailboxReset && n.ResidentID == f.resident.ID {
			told = append(told, n.Channel)
		}
	}
	if !slices.Equal(told, []Channel{ChannelEmail, ChannelSMS}) {
		t.Errorf("notifications of the reset on %v, want e-mail and SMS: %+v", told, due)
	}
	if _, err := f.s.OpenSession(ctx, other.Token); !errors.Is(err, ErrSessionExpired) {
		t.Errorf("another session after the reset: %v", err)
	}
	if _, err := f.s.Login(ctx, f.nid.String(), testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the old password: %v", err)
	}
	if rec := residentRaw(t, f.s, sess.ResidentID); rec.Passkeys != nil || rec.TOTP != nil {
		t.Errorf("two-step verification of the old key pair kept: %d passkeys, TOTP %v", len(rec.Passkeys), rec.TOTP != nil)
	}
	mb, err := f.s.OpenSession(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if letters, err := mb.Inbox(ctx); err != nil || len(letters) != 0 {
		t.Errorf("inbox after reset = %d letters, %v", len(letters), err)
	}
	if rec := rawLetter(t, f.s, old.Letter.ID); rec.Deleted.IsZero() || len(rec.SealedKey) > 0 {
		t.Errorf("the old letter is kept: deleted %v, %d bytes of its key's wrapping", rec.Deleted, len(rec.SealedKey))
	}
	evs, _, err := f.s.Events(ctx, f.sender.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e Event) bool { return e.Type == EventDeleted && e.LetterID == old.Letter.ID }) {
		t.Errorf("the sender got no deleted event: %+v", evs)
	}
	fresh, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "nyt brev"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Letter(ctx, fresh.Letter.ID); err != nil {
		t.Errorf("a letter after the reset: %v", err)
	}
	// Used: it works no more, and answers like a wrong code.
	if _, err := f.s.ResetWithCode(ctx, f.nid.String(), issued.Code, "yet another passphrase"); err != ErrBadResetCode {
		t.Errorf("reset twice with one code: %v", err)
	}
	mustLogin(t, f.s, f.nid, next).Close()
	if _, err := f.s.Recover(ctx, f.nid.String(), *sess.NewRecoveryKey, "yet another passphrase"); err != nil {
		t.Errorf("the new recovery key: %v", err)
	}
	actions := strings.Join(auditActions(t, f.s), "|")
	if !strings.Contains(actions, "|reset-code-issued|") || !strings.Contains(actions, "|reset-code (1 letters deleted)|") {
		t.Errorf("audit %s has no reset-code-issued and reset-code", actions)
	}
}

// TestResetCodeVoided: a reset code stops working when the resident
// signs in after it was issued (they have not lost their keys), and
// after resetCodeLifetime; an expired activation code of a pending
// mailbox is a bad code like any other, not ErrResetCodePending.
func TestResetCodeVoided(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.clock.Advance(time.Minute)
	issued, err := f.s.IssueResetCode(ctx, f.nid)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	mustLogin(t, f.s, f.nid, testPassword).Close()
	if _, err := f.s.ResetWithCode(ctx, f.nid.String(), issued.Code, "a brand new passphrase"); err != ErrBadResetCode {
		t.Fatalf("a code issued before a sign-in: %v, want ErrBadResetCode", err)
	}
	mustLogin(t, f.s, f.nid, testPassword).Close() // nothing was reset

	f.clock.Advance(time.Minute)
	issued, err = f.s.IssueResetCode(ctx, f.nid)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(resetCodeLifetime)
	if _, err := f.s.ResetWithCode(ctx, f.nid.String(), issued.Code, "a brand new passphrase"); err != ErrBadResetCode {
		t.Fatalf("a code after its lifetime: %v, want ErrBadResetCode", err)
	}
	mustLogin(t, f.s, f.nid, testPassword).Close()

	// A pending mailbox's expired activation code.
	nid := testNID(t, 5)
	_, activation, err := f.s.EnrolResident(ctx, nid, "Bo Berg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ResetWithCode(ctx, nid.String(), activation, "a brand new passphrase"); err != ErrResetCodePending {
		t.Fatalf("a live activation code: %v, want ErrResetCodePending", err)
	}
	f.clock.Advance(DefaultActivationLifetime + time.Minute)
	if _, err := f.s.ResetWithCode(ctx, nid.String(), activation, "a brand new passphrase"); err != ErrBadResetCode {
		t.Errorf("an expired activation code: %v, want ErrBadResetCode", err)
	}
}

// TestResetWithCodeRefused: wrong, replaced, expired, another
// resident's, malformed codes, unknown and invalid numbers and a mailbox
// that cannot be reset are all exactly ErrBadResetCode and change
// nothing; a pending mailbox's activation code is ErrResetCodePending;
// a password against the policy is refused after the code and leaves
// the code working.
func TestResetWithCodeRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	bo := mustResident(t, f.s, testNID(t, 2), "Bo Berg")
	carl := mustResident(t, f.s, testNID(t, 3), "Carl Carlsen")
	pending, activation, err := f.s.EnrolResident(ctx, testNID(t, 4), "Dorte Dam")
	if err != nil {
		t.Fatal(err)
	}
	closed := mustResident(t, f.s, testNID(t, 5), "Erik Eriksen")
	expired, err := f.s.IssueResetCode(ctx, carl.NationalID)
	if err != nil {
		t.Fatal(err)
	}
	closedCode, err := f.s.IssueResetCode(ctx, closed.NationalID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RecordDeath(ctx, closed.NationalID, f.clock.Now().AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(resetCodeLifetime) // expired expires; the activation code lives on
	replaced, err := f.s.IssueResetCode(ctx, f.nid)
	if err != nil {
		t.Fatal(err)
	}
	code, err := f.s.IssueResetCode(ctx, f.nid)
	if err != nil {
		t.Fatal(err)
	}
	boCode, err := f.s.IssueResetCode(ctx, bo.NationalID)
	if err != nil {
		t.Fatal(err)
	}
	nid := f.nid.String()
	compact := strings.ReplaceAll(code.Code, "-", "")
	wrong := "A" + compact[1:]
	if compact[0] == 'A' {
		wrong = "B" + compact[1:]
	}
	before := digest(t, f.s)
	tests := []struct {
		name, nid, code, password string
		want                      error // or nil for an InvalidError for "password"
	}{
		{"wrong code", nid, wrong, testPassword, ErrBadResetCode},
		{"another resident's code", nid, boCode.Code, testPassword, ErrBadResetCode},
		{"the code before it was replaced", nid, replaced.Code, testPassword, ErrBadResetCode},
		{"expired code", carl.NationalID.String(), expired.Code, testPassword, ErrBadResetCode},
		{"code of a mailbox since deceased", closed.NationalID.String(), closedCode.Code, testPassword, ErrBadResetCode},
		{"code one character short", nid, compact[1:], testPassword, ErrBadResetCode},
		{"code not base32", nid, strings.Repeat("9", 32), testPassword, ErrBadResetCode},
		{"empty code", nid, "", testPassword, ErrBadResetCode},
		{"huge code", nid, strings.Repeat("A", 10_000), testPassword, ErrBadResetCode},
		{"unknown resident", testNID(t, 9).String(), code.Code, testPassword, ErrBadResetCode},
		{"invalid national id", "0000000000", code.Code, testPassword, ErrBadResetCode},
		{"pending mailbox, a reset code", pending.NationalID.String(), code.Code, testPassword, ErrBadResetCode},
		{"pending mailbox, its activation code", pending.NationalID.String(), activation, testPassword, ErrResetCodePending},
		{"short password", nid, code.Code, "123456789", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := f.s.ResetWithCode(ctx, tt.nid, tt.code, tt.password)
			if sess.Token != "" || sess.NewRecoveryKey != nil {
				t.Error("a refused reset returned a session")
			}
			if tt.want != nil {
				// Exactly the sentinel: no hint which check failed.
				if err != tt.want {
					t.Errorf("ResetWithCode: %v, want %v", err, tt.want)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != "password" {
				t.Errorf("ResetWithCode: %v, want an InvalidError for password", err)
			}
		})
	}
	if digest(t, f.s) != before {
		t.Error("a refused reset changed the database")
	}
	// The code still works after all that.
	if _, err := f.s.ResetWithCode(ctx, nid, code.Code, "a brand new passphrase"); err != nil {
		t.Errorf("ResetWithCode with the right code after refusals: %v", err)
	}
	// A blocked mailbox: the operator is told; a code issued before the
	// block does not reset it.
	if _, err := f.s.BlockResident(ctx, bo.NationalID, "misbrug"); err != nil {
		t.Fatal(err)
	}
	var block *BlockedError
	if _, err := f.s.ResetWithCode(ctx, bo.NationalID.String(), boCode.Code, "a brand new passphrase"); !errors.As(err, &block) {
		t.Errorf("reset of a blocked mailbox: %v", err)
	}
}

// TestIssueResetCodeRefused: only an active or reserved, unblocked
// mailbox gets a reset code; a pending one is told to use activation.
func TestIssueResetCodeRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	pending, _, err := f.s.EnrolResident(ctx, testNID(t, 2), "Bo Berg")
	if err != nil {
		t.Fatal(err)
	}
	blockedRes := mustResident(t, f.s, testNID(t, 3), "Carl Carlsen")
	if _, err := f.s.BlockResident(ctx, blockedRes.NationalID, "misbrug"); err != nil {
		t.Fatal(err)
	}
	dead := mustResident(t, f.s, testNID(t, 4), "Dorte Dam")
	if _, err := f.s.RecordDeath(ctx, dead.NationalID, f.clock.Now().AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ReserveResident(ctx, f.nid); err != nil {
		t.Fatal(err)
	}
	// A reserved mailbox can be reset.
	if _, err := f.s.IssueResetCode(ctx, f.nid); err != nil {
		t.Errorf("reserved: %v", err)
	}
	before := digest(t, f.s)
	for _, tt := range []struct {
		name string
		nid  NationalID
		says string // in the InvalidError's reason, or "" for ErrNotFound
	}{
		{"pending", pending.NationalID, "resident add"},
		{"blocked", blockedRes.NationalID, "blocked"},
		{"deceased", dead.NationalID, "deceased"},
		{"unknown", testNID(t, 9), ""},
	} {
		_, err := f.s.IssueResetCode(ctx, tt.nid)
		var inv *InvalidError
		switch {
		case tt.says == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("%s: %v, want ErrNotFound", tt.name, err)
		case tt.says != "" && (!errors.As(err, &inv) || inv.Field != "status" || !strings.Contains(inv.Reason, tt.says)):
			t.Errorf("%s: %v, want an InvalidError for status that says %q", tt.name, err, tt.says)
		}
	}
	if digest(t, f.s) != before {
		t.Error("a refused reset code changed the database")
	}
}

// TestResetWithCodeConcurrently: of resets with the same code at once,
// exactly one succeeds (the write transaction checks the code again).
func TestResetWithCodeConcurrently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	code, err := f.s.IssueResetCode(ctx, f.nid)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.s.ResetWithCode(ctx, f.nid.String(), code.Code, testPassword+strings.Repeat("!", i+1))
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("resets %d and %d both succeeded", won, i)
		case err == nil:
			won = i
		case err != ErrBadResetCode:
			t.Errorf("reset %d: %v, want ErrBadResetCode", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no reset succeeded")
	}
	mustLogin(t, f.s, f.nid, testPassword+strings.Repeat("!", won+1)).Close()
	if n := strings.Count(strings.Join(auditActions(t, f.s), " "), "reset-code ("); n != 1 {
		t.Errorf("%d reset-code entries in the audit log, want 1", n)
	}
}

// beforeReset gives f's resident what a reset must take away: a letter
// (old), another session (other, opened as omb) and a passkey that wraps
// the old key pair.
func beforeReset(t *testing.T, f *fixture) (old DeliveryResult, other Session, omb *Mailbox) {
	t.Helper()
	ctx := context.Background()
	old, err := f.s.Deliver(ctx, f.sender.ID, testDelivery(f.nid, "brev"))
	if err != nil {
		t.Fatal(err)
	}
	if other, err = f.s.Login(ctx, f.nid.String(), testPassword); err != nil {
		t.Fatal(err)
	}
	if omb, err = f.s.OpenSession(ctx, other.Token); err != nil {
		t.Fatal(err)
	}
	addPasskey(t, omb, newTestAuthenticator(true, true), "phone")
	return old, other, omb
}
