package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestReserveResident runs the operator's reserve and unreserve directly
// and over a real socket: a reserved resident's lookups say not digital
// and deliveries are refused, the letters they have stay readable, and
// unreserving lets letters in again; a pending mailbox, a bad or unknown
// number are refused with a clear error; both are audited as the
// operator's.
func TestReserveResident(t *testing.T) {
	inEachMode(t, func(t *testing.T, op *Operator, ops Operations) {
		ctx := context.Background()
		st := op.Store
		nid, muni := addAnna(t, st), addKommune(t, st)
		letter := func(ref string) (store.DeliveryResult, error) {
			return st.Deliver(ctx, muni.ID, store.Delivery{Recipient: nid, Subject: "Afgørelse", SenderReference: ref,
				Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("Afgørelse")}}})
		}
		before, err := letter("sag-1")
		if err != nil {
			t.Fatal(err)
		}

		r, err := ops.ReserveResident(ctx, ResidentRef{NationalID: nid.String()})
		if err != nil || r.Status != string(store.ResidentReserved) || r.Name != "Anna Jensen" {
			t.Fatalf("reserve: %+v, %v", r, err)
		}
		if digital, err := st.IsDigitalFor(ctx, muni.ID, nid); err != nil || digital {
			t.Errorf("lookup of a reserved resident: digital %v, %v", digital, err)
		}
		if _, err := letter("sag-2"); !errors.Is(err, store.ErrRecipientNotDigital) {
			t.Errorf("delivery to a reserved resident: %v", err)
		}
		sess, err := st.Login(ctx, nid.String(), testsupport.Password)
		if err != nil {
			t.Fatalf("sign-in while reserved: %v", err)
		}
		mb, err := st.OpenSession(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Letter(ctx, before.Letter.ID); err != nil {
			t.Errorf("reading a letter while reserved: %v", err)
		}
		mb.Close()
		// Again: nothing changes, and it says so.
		if r, err := ops.ReserveResident(ctx, ResidentRef{NationalID: nid.String()}); err != nil || r.Status != string(store.ResidentReserved) {
			t.Errorf("reserve again: %+v, %v", r, err)
		}

		r, err = ops.UnreserveResident(ctx, ResidentRef{NationalID: nid.String()})
		if err != nil || r.Status != string(store.ResidentActive) {
			t.Fatalf("unreserve: %+v, %v", r, err)
		}
		if digital, err := st.IsDigitalFor(ctx, muni.ID, nid); err != nil || !digital {
			t.Errorf("lookup after unreserving: digital %v, %v", digital, err)
		}
		if _, err := letter("sag-3"); err != nil {
			t.Errorf("delivery after unreserving: %v", err)
		}

		// Bad input: a pending mailbox, a malformed and an unknown
		// number.
		refusesResidents(t, st, "a pending mailbox cannot be reserved", func(ref ResidentRef) error {
			_, err := ops.ReserveResident(ctx, ref)
			return err
		})
		unknown, _ := store.ParseNationalID(testsupport.NationalID(3))
		if _, err := ops.UnreserveResident(ctx, ResidentRef{NationalID: unknown.String()}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unreserve an unknown number: %v", err)
		}

		log, err := st.AuditLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			if e.Action == "reserve" || e.Action == "unreserve" {
				got = append(got, e.Action)
				if !strings.HasPrefix(e.Actor, "operator") {
					t.Errorf("%s audited as %q, want the operator", e.Action, e.Actor)
				}
			}
		}
		if strings.Join(got, " ") != "reserve unreserve" {
			t.Errorf("audited %v, want reserve unreserve", got)
		}
	})
}
