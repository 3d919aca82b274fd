package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestDutyOfCare runs the operator's block, hold and support operations
// directly and over a real socket: each takes effect for the resident,
// refuses bad input with a clear error, and is audited.
func TestDutyOfCare(t *testing.T) {
	inEachMode(t, func(t *testing.T, op *Operator, ops Operations) {
		ctx := context.Background()
		st := op.Store
		nid, muni := addAnna(t, st), addKommune(t, st)
		res, err := st.Deliver(ctx, muni.ID, store.Delivery{Recipient: nid, Subject: "Afgørelse", SenderReference: "sag-1",
			Documents: []store.DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("Afgørelse")}}})
		if err != nil {
			t.Fatal(err)
		}

		// Block: sign-in refused with the reason; unblock: allowed.
		b, err := ops.BlockResident(ctx, BlockRequest{NationalID: nid.String(), Reason: "Mistanke om misbrug"})
		if err != nil || b.Blocked != "Mistanke om misbrug" || b.BlockedAt == nil {
			t.Fatalf("block: %+v, %v", b, err)
		}
		if _, err := st.Login(ctx, nid.String(), testsupport.Password); !errors.Is(err, store.ErrBlocked) {
			t.Errorf("sign-in of a blocked account: %v", err)
		}
		if _, err := ops.UnblockResident(ctx, ResidentRef{NationalID: nid.String()}); err != nil {
			t.Fatal(err)
		}
		sess, err := st.Login(ctx, nid.String(), testsupport.Password)
		if err != nil {
			t.Fatalf("sign-in after unblocking: %v", err)
		}
		mb, err := st.OpenSession(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()

		// Hold: the letter cannot be opened, and is listed as held.
		h, err := ops.MakeInaccessible(ctx, HoldRequest{LetterID: res.Letter.ID, Reason: "Beslaglagt", Order: "Retten i Aarhus, sag 12-345"})
		if err != nil || h.Since == nil || h.Order != "Retten i Aarhus, sag 12-345" {
			t.Fatalf("make inaccessible: %+v, %v", h, err)
		}
		var ie *store.InaccessibleError
		if _, err := mb.Letter(ctx, res.Letter.ID); !errors.As(err, &ie) {
			t.Errorf("a held letter opened: %v", err)
		}
		if _, err := ops.MakeAccessible(ctx, LetterRef{LetterID: res.Letter.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Letter(ctx, res.Letter.ID); err != nil {
			t.Errorf("after making it accessible: %v", err)
		}

		// Support: listed, answered as a letter from the municipality
		// in the resident's language.
		if err := mb.SetLanguage(ctx, "da"); err != nil {
			t.Fatal(err)
		}
		req, err := mb.SubmitSupportRequest(ctx, "sign-in", "Kan ikke logge ind", "Min kode virker ikke.", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ops.AnswerSupport(ctx, AnswerRequest{ID: req.ID, Answer: "Prøv igen."}); !errors.Is(err, ErrNoMunicipality) && !strings.Contains(errString(err), "jobs.municipality") {
			t.Errorf("answer without a municipality: %v", err)
		}
		op.Municipality = "29189846"
		op.SupportWording = func(lang string) store.SupportAnswerLetter {
			return store.SupportAnswerLetter{Subject: "Svar (" + lang + ")", FileName: "svar.txt"}
		}
		list, err := ops.SupportRequests(ctx)
		if err != nil || len(list) != 1 || list[0].Description != "Min kode virker ikke." || list[0].AnsweredAt != nil {
			t.Fatalf("support requests: %+v, %v", list, err)
		}
		if one, err := ops.SupportRequest(ctx, SupportRef{ID: req.ID}); err != nil || one.Subject != "Kan ikke logge ind" {
			t.Errorf("support request %s: %+v, %v", req.ID, one, err)
		}
		if _, err := ops.SupportRequest(ctx, SupportRef{ID: "nosuchrequest"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("no such support request: %v", err)
		}
		ans, err := ops.AnswerSupport(ctx, AnswerRequest{ID: req.ID, Answer: "Prøv at nulstille din adgangskode."})
		if err != nil || ans.AnsweredAt == nil {
			t.Fatalf("answer: %+v, %v", ans, err)
		}
		inbox, err := mb.Inbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range inbox {
			found = found || (l.Subject == "Svar (da)" && l.SenderID == muni.ID)
		}
		if !found {
			t.Errorf("no answer letter in the resident's language in %+v", inbox)
		}

		// Bad input.
		for name, err := range map[string]error{
			"block without a reason": func() error {
				_, err := ops.BlockResident(ctx, BlockRequest{NationalID: nid.String()})
				return err
			}(),
			"block of a bad number": func() error {
				_, err := ops.BlockResident(ctx, BlockRequest{NationalID: "123", Reason: "x"})
				return err
			}(),
			"hold of no letter": func() error {
				_, err := ops.MakeInaccessible(ctx, HoldRequest{LetterID: "nosuchletter", Reason: "x", Order: "y"})
				return err
			}(),
			"answer of no request": func() error {
				_, err := ops.AnswerSupport(ctx, AnswerRequest{ID: "nosuchrequest", Answer: "x"})
				return err
			}(),
			"second answer": func() error {
				_, err := ops.AnswerSupport(ctx, AnswerRequest{ID: req.ID, Answer: "igen"})
				return err
			}(),
		} {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		}

		log, err := st.AuditLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action)
		}
		all := strings.Join(actions, " ")
		for _, want := range []string{"block", "unblock", "make-inaccessible", "make-accessible", "answer-support-request"} {
			if !strings.Contains(all, want) {
				t.Errorf("no %q in the audit log: %s", want, all)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
