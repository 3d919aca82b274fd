package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestDeliverStructured: a letter with an invoice and actions is
// delivered (201) and its resident reads them; each malformed field is a
// 400 INVALID_REQUEST whose detail names the field, and nothing is
// stored; an opening receipt is asked for with a boolean only.
func TestDeliverStructured(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	anna := e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	pdf := uitest.DocumentPart("faktura.pdf", "application/pdf", uitest.PDFDoc)

	msg := uitest.InvoiceMessage(uitest.NIDAnna, "Faktura for tandpleje", "faktura-1")
	msg["openingReceipt"] = true
	r := e.Deliver(s.Client, uitest.MessagePart(msg), pdf)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	l := e.ResidentLetter(anna.NationalID.String(), id)
	if l.Invoice == nil || l.Invoice.Amount != "1249.50" || l.Invoice.Account != "5479 0001234567" || len(l.Actions) != 2 ||
		l.Actions[1].At != "2027-02-03T09:30:00+01:00" || l.DueDate != "2027-02-15" {
		t.Errorf("the resident reads %+v %+v, due %q", l.Invoice, l.Actions, l.DueDate)
	}

	invoice := func(edit func(inv map[string]any)) map[string]any {
		m := uitest.InvoiceMessage(uitest.NIDAnna, "Faktura", "bad")
		edit(m["invoice"].(map[string]any))
		return m
	}
	action := func(a map[string]any) map[string]any {
		m := uitest.InvoiceMessage(uitest.NIDAnna, "Faktura", "bad")
		m["actions"] = []any{a}
		return m
	}
	six := uitest.InvoiceMessage(uitest.NIDAnna, "Faktura", "bad")
	acts := six["actions"].([]any)
	six["actions"] = append(append(acts, acts...), acts...)
	for _, tc := range []struct {
		name  string
		msg   map[string]any
		field string
	}{
		{"three decimals", invoice(func(i map[string]any) { i["amount"] = "12.345" }), "invoice.amount"},
		{"a decimal comma", invoice(func(i map[string]any) { i["amount"] = "1,50" }), "invoice.amount"},
		{"negative", invoice(func(i map[string]any) { i["amount"] = "-5.00" }), "invoice.amount"},
		{"a JSON number", invoice(func(i map[string]any) { i["amount"] = 1249.5 }), "invoice.amount"},
		{"a currency that is none", invoice(func(i map[string]any) { i["currency"] = "ABC" }), "invoice.currency"},
		{"a currency's sign", invoice(func(i map[string]any) { i["currency"] = "kr" }), "invoice.currency"},
		{"a due date that is none", invoice(func(i map[string]any) { i["dueDate"] = "2027-02-29" }), "invoice.dueDate"},
		{"an http URL", action(map[string]any{"type": "link", "label": "Se sagen", "url": "http://aarhus.dk/sag"}), "actions[0].url"},
		{"a javascript: URL", action(map[string]any{"type": "link", "label": "Se sagen", "url": "javascript:alert(document.cookie)"}), "actions[0].url"},
		{"an appointment at no time", action(map[string]any{"type": "appointment", "label": "Mød op", "at": "3 February"}), "actions[0].at"},
		{"a deadline that is none", action(map[string]any{"type": "reply", "label": "Svar", "deadline": "2027-04-31"}), "actions[0].deadline"},
		{"an unknown action", action(map[string]any{"type": "call", "label": "Ring"}), "actions[0].type"},
		{"six actions", six, "actions"},
		{"actions that are no list", func() map[string]any {
			m := uitest.InvoiceMessage(uitest.NIDAnna, "Faktura", "bad")
			m["actions"] = "pay"
			return m
		}(), "actions"},
		{"an opening receipt that is no boolean", func() map[string]any {
			m := uitest.LetterMessage(uitest.NIDAnna, "Brev", "bad")
			m["openingReceipt"] = "yes"
			return m
		}(), "openingReceipt"},
	} {
		before := e.Deliveries()
		r := e.Deliver(s.Client, uitest.MessagePart(tc.msg), pdf)
		p := uitest.WantProblem(t, r, http.StatusBadRequest, "INVALID_REQUEST")
		if !strings.Contains(p.Detail, tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.name, p.Detail, tc.field)
		}
		if after := e.Deliveries(); after != before {
			t.Errorf("%s: %d letters stored", tc.name, after-before)
		}
	}
}

// TestSendersGuideStructuredCurl runs the curl command of
// docs/SENDERS.md's "Invoices and actions" as it is written, with real
// curl, a client certificate and the guide's variables, and checks that
// the letter arrived with its invoice and actions.
func TestSendersGuideStructuredCurl(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	_, block, ok := strings.Cut(e.GuideSection("Invoices and actions"), "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/SENDERS.md has no curl example under \"## Invoices and actions\"")
	}
	nid := regexp.MustCompile(`"nationalId":"(\d+)"`).FindStringSubmatch(block)
	if nid == nil {
		t.Fatalf("no nationalId in the example:\n%s", block)
	}
	anna := e.AddResident(nid[1], "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	out, _ := e.SenderShell(s, map[string][]byte{"invoice.pdf": uitest.PDFDoc})(block)
	var answer struct{ ID, Status string }
	if err := json.Unmarshal(out, &answer); err != nil || answer.Status != "delivered" {
		t.Fatalf("the example answered %s (%v)", out, err)
	}
	l := e.ResidentLetter(anna.NationalID.String(), answer.ID)
	if l.Invoice == nil || l.Invoice.Amount != "1249.50" || len(l.Actions) != 2 || l.Type != "invoice" || l.DueDate != "2027-02-15" {
		t.Errorf("the letter: %+v %+v", l.Invoice, l.Actions)
	}
}
