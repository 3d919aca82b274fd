package control

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/store"
)

// TestIssueResetCode runs the operator's reset code directly and over a
// real socket: the code resets the mailbox in the resident's stead (a
// new one replaces it), is audited as the operator's and never logged;
// a pending mailbox is told to use activation, a malformed or unknown
// number is refused.
func TestIssueResetCode(t *testing.T) {
	code := regexp.MustCompile(`^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$`)
	inEachMode(t, func(t *testing.T, op *Operator, ops Operations) {
		ctx := context.Background()
		st := op.Store
		nid := addAnna(t, st)
		first, err := ops.IssueResetCode(ctx, ResidentRef{NationalID: nid.String()})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := ops.IssueResetCode(ctx, ResidentRef{NationalID: nid.String()})
		if err != nil || !code.MatchString(rc.ResetCode) || rc.Resident.Name != "Anna Jensen" || rc.Expires.IsZero() {
			t.Fatalf("reset code: %+v, %v", rc, err)
		}
		if _, err := st.ResetWithCode(ctx, nid.String(), first.ResetCode, "a brand new passphrase"); !errors.Is(err, store.ErrBadResetCode) {
			t.Errorf("the code before the new one: %v", err)
		}
		if _, err := st.ResetWithCode(ctx, nid.String(), rc.ResetCode, "a brand new passphrase"); err != nil {
			t.Errorf("reset with the code: %v", err)
		}

		refusesResidents(t, st, "postkasse resident add", func(ref ResidentRef) error {
			_, err := ops.IssueResetCode(ctx, ref)
			return err
		})

		log, err := st.AuditLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		issued := 0
		for _, e := range log {
			if e.Action == "reset-code-issued" {
				issued++
				if !strings.HasPrefix(e.Actor, "operator") {
					t.Errorf("%s audited as %q, want the operator", e.Action, e.Actor)
				}
			}
		}
		if issued != 2 {
			t.Errorf("%d reset-code-issued entries, want 2", issued)
		}
	})
}
