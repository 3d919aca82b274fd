package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestGuardian runs the operator's guardian add and remove directly and
// over a real socket: a guardianship is recorded and audited as the
// operator's, the guardian can open the ward's new letters through it,
// bad input (oneself, a number with no mailbox, a last day in the past, a
// bad date, a second one) is refused with a clear error, and removing it
// twice says there is none.
func TestGuardian(t *testing.T) {
	inEachMode(t, func(t *testing.T, op *Operator, ops Operations) {
		ctx := context.Background()
		st := op.Store
		var nids []store.NationalID
		for i, name := range []string{"Anna Jensen", "Bo Jensen"} {
			nid, err := store.ParseNationalID(testsupport.NationalID(i + 1))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.AddResident(ctx, nid, name, testsupport.Password); err != nil {
				t.Fatal(err)
			}
			nids = append(nids, nid)
		}
		ward, guardian := nids[0].String(), nids[1].String()
		for _, tc := range []struct {
			name string
			req  GuardianRequest
			want string
		}{
			{"oneself", GuardianRequest{Ward: ward, Guardian: ward}, "oneself"},
			{"no such guardian", GuardianRequest{Ward: ward, Guardian: testsupport.NationalID(9)}, "no open mailbox"},
			{"no such ward", GuardianRequest{Ward: testsupport.NationalID(9), Guardian: guardian}, "no open mailbox"},
			{"a bad number", GuardianRequest{Ward: "12", Guardian: guardian}, "ward"},
			{"a past day", GuardianRequest{Ward: ward, Guardian: guardian, Until: "2020-01-01"}, "past"},
			{"a bad day", GuardianRequest{Ward: ward, Guardian: guardian, Until: "01-01-2030"}, "YYYY-MM-DD"},
			{"a long decision", GuardianRequest{Ward: ward, Guardian: guardian, Decision: strings.Repeat("x", 201)}, "decision"},
		} {
			if _, err := ops.AddGuardian(ctx, tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
			}
		}
		g, err := ops.AddGuardian(ctx, GuardianRequest{Ward: ward, Guardian: guardian, Decision: "Familieretshuset 2026-1234"})
		if err != nil || g.WardName != "Anna Jensen" || g.GuardianName != "Bo Jensen" || g.EarlierLetters {
			t.Fatalf("AddGuardian = %+v, %v", g, err)
		}
		if _, err := ops.AddGuardian(ctx, GuardianRequest{Ward: ward, Guardian: guardian}); err == nil || !strings.Contains(err.Error(), "already") {
			t.Errorf("a second guardianship: %v", err)
		}
		log, err := st.AuditLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := log[len(log)-1]
		if last.Action != "guardianship-add" || !strings.HasPrefix(last.Actor, "operator") {
			t.Errorf("audit = %+v", last)
		}
		if _, err := ops.RemoveGuardian(ctx, GuardianRequest{Ward: ward, Guardian: guardian}); err != nil {
			t.Fatal(err)
		}
		_, err = ops.RemoveGuardian(ctx, GuardianRequest{Ward: ward, Guardian: guardian})
		if _, direct := ops.(*Operator); direct && !errors.Is(err, store.ErrNotFound) || err == nil {
			t.Errorf("removing twice: %v", err)
		}
	})
}
