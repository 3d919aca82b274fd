package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSupportRequests: a resident files a request and sees it; the
// operator lists, reads and answers it, and the answer arrives in the
// mailbox as a letter from the municipality, once.
func TestSupportRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	req, err := mb.SubmitSupportRequest(context.Background(), "letters", "Brev kan ikke åbnes", "Jeg kan ikke åbne brevet fra kommunen.\nHvad gør jeg?", "0101901234")
	if err != nil {
		t.Fatal(err)
	}
	if req.NationalID != "0101901234" || req.ID == "" {
		t.Errorf("request %+v", req)
	}
	own, err := mb.SupportRequests(context.Background())
	if err != nil || len(own) != 1 || own[0].ID != req.ID {
		t.Fatalf("own requests %+v, %v", own, err)
	}
	open, err := f.s.SupportRequests(context.Background(), true)
	if err != nil || len(open) != 1 {
		t.Fatalf("open requests %+v, %v", open, err)
	}
	private := mustSender(t, f.s, "Elselskabet", "25313763", SenderPrivate)
	wording := func(string) SupportAnswerLetter {
		return SupportAnswerLetter{Subject: "Svar på din henvendelse", FileName: "svar.txt"}
	}
	if _, err := f.s.AnswerSupportRequest(context.Background(), req.ID, private.ID, "Svar", wording); err == nil {
		t.Error("an answer from a private sender")
	}
	answered, err := f.s.AnswerSupportRequest(context.Background(), req.ID, f.sender.ID, "Prøv at logge ind igen.", wording)
	if err != nil {
		t.Fatal(err)
	}
	if answered.AnswerLetterID == "" || answered.AnsweredAt.IsZero() {
		t.Fatalf("answered %+v", answered)
	}
	if _, err := f.s.AnswerSupportRequest(context.Background(), req.ID, f.sender.ID, "Igen", wording); !errors.Is(err, ErrExists) {
		t.Errorf("a second answer: %v, want ErrExists", err)
	}
	l, err := mb.Letter(context.Background(), answered.AnswerLetterID)
	if err != nil || l.Subject != wording("").Subject || l.Body != "Prøv at logge ind igen." || l.SenderID != f.sender.ID {
		t.Errorf("the answer's letter %+v, %v", l, err)
	}
	if open, _ := f.s.SupportRequests(context.Background(), true); len(open) != 0 {
		t.Errorf("open requests after the answer: %d", len(open))
	}
}

// TestSupportRequestWithNationalID: a national identity number in the
// subject or description, in any of its spellings, gets the request
// refused with the kind named; nothing of it is stored, and the audit log
// says only that a request was refused.
func TestSupportRequestWithNationalID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	for _, tc := range []struct{ subject, description, kind string }{
		{"Hjælp", "Mit CPR-nummer er 120386-1234, kan I se det?", "cpr"},
		{"CPR 120386 1234", "Se emnet", "cpr"},
		{"Hjelp", "Fødselsnummeret mitt er 010170 10170.", "fødselsnummer"},
		// Written in characters the scan does not read as they are.
		{"Hjælp", "CPR 120386\u20131234 (en dash)", "cpr"},
		{"Hjælp", "CPR 120386\u00A01234 (no-break space)", "cpr"},
		{"Hjælp", "CPR １２０３８６-１２３４ (full-width)", "cpr"},
		{"Hjælp", "Født 12.03.86-1234", "cpr"},
		{"Hjelp", "Fnr. 010170\u221210170", "fødselsnummer"},
	} {
		_, err := mb.SubmitSupportRequest(context.Background(), "other", tc.subject, tc.description, "")
		var ne *NationalIDInTextError
		if !errors.As(err, &ne) {
			t.Errorf("%q / %q: %v, want refused", tc.subject, tc.description, err)
			continue
		}
		if tc.kind != "" && !strings.Contains(strings.Join(ne.Kinds, ","), tc.kind) {
			t.Errorf("%q: kinds %v, want %s", tc.description, ne.Kinds, tc.kind)
		}
	}
	if all, err := f.s.SupportRequests(context.Background(), false); err != nil || len(all) != 0 {
		t.Errorf("stored requests: %+v, %v", all, err)
	}
	log, _ := f.s.AuditLog(context.Background())
	refused := 0
	for _, e := range log {
		if e.Action == "refuse-support-request" {
			refused++
			if e.Object != "resident:"+f.resident.ID || e.Detail != "" {
				t.Errorf("audit entry of a refusal: %+v", e)
			}
		}
		if strings.Contains(e.Object+e.Detail, "1234") {
			t.Errorf("the audit log holds a number: %+v", e)
		}
	}
	if refused != 8 {
		t.Errorf("%d refusals audited, want 8", refused)
	}
}

// TestSupportRequestRefusesBadInput: each bad field is a clear error and
// nothing is stored.
func TestSupportRequestRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	long := strings.Repeat("a", maxSupportDescription+1)
	for _, tc := range []struct{ category, subject, description, nid, field string }{
		{"complaints", "s", "d", "", "category"},
		{"other", "", "d", "", "subject"},
		{"other", "two\nlines", "d", "", "subject"},
		{"other", "s", "", "", "description"},
		{"other", "s", long, "", "description"},
		{"other", "s", "bell \a", "", "description"},
		{"other", "s", "d", "123", "nationalId"},
	} {
		_, err := mb.SubmitSupportRequest(context.Background(), tc.category, tc.subject, tc.description, tc.nid)
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%+v: %v, want invalid %s", tc, err, tc.field)
		}
	}
	if all, _ := f.s.SupportRequests(context.Background(), false); len(all) != 0 {
		t.Errorf("%d requests stored", len(all))
	}
}

// TestDeletedAccountLeavesNoSupportRequest: deleting the mailbox deletes
// the resident's requests (the invariants check it when the store closes).
func TestDeletedAccountLeavesNoSupportRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if _, err := mb.SubmitSupportRequest(context.Background(), "other", "Spørgsmål", "Hvordan sletter jeg?", ""); err != nil {
		t.Fatal(err)
	}
	if err := mb.DeleteMailbox(context.Background(), testPassword); err != nil {
		t.Fatal(err)
	}
	if all, _ := f.s.SupportRequests(context.Background(), false); len(all) != 0 {
		t.Errorf("%d requests left", len(all))
	}
}

// TestSupportAnswerToReservedResident: a resident who opted out of digital
// post asks in the mailbox and gets the answer there, while other letters
// to them are still refused.
func TestSupportAnswerToReservedResident(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if err := mb.Reserve(context.Background()); err != nil {
		t.Fatal(err)
	}
	req, err := mb.SubmitSupportRequest(context.Background(), "other", "Fritagelse", "Jeg er fritaget, men vil gerne have svar her.", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "almindeligt-brev")); !errors.Is(err, ErrRecipientNotDigital) {
		t.Fatalf("a letter to a reserved resident: %v", err)
	}
	answered, err := f.s.AnswerSupportRequest(context.Background(), req.ID, f.sender.ID, "Svaret kommer her.", func(string) SupportAnswerLetter {
		return SupportAnswerLetter{Subject: "Svar på din henvendelse", FileName: "svar.txt"}
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := mb.Letter(context.Background(), answered.AnswerLetterID)
	if err != nil || l.Body != "Svaret kommer her." {
		t.Errorf("the answer in the reserved mailbox: %+v, %v", l, err)
	}
}
