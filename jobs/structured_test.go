package jobs

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/store"
)

// TestNotificationsOfInvoice: the e-mail and SMS of a structured letter
// say only that it is an invoice and from whom, never its amount,
// account, payment reference, due date or actions.
func TestNotificationsOfInvoice(t *testing.T) {
	e := newEnv(t, nil)
	_, nid := e.resident(store.NotificationPreferences{Email: "anna@example.dk", EmailOn: true, Phone: "+4512345678", SMSOn: true})
	_, err := e.st.Deliver(context.Background(), e.muni.ID, store.Delivery{
		Recipient: nid, Subject: "Secret subject", Body: "Secret body", SenderReference: "faktura-1",
		Invoice: &store.Invoice{Amount: "987654.32", Currency: "DKK", Account: "5479 0001234567",
			PaymentReference: "+71<000000012345678+87654321<", DueDate: "2027-02-15"},
		Actions:   []store.Action{{Type: store.ActionPay, Label: "Betal regningen", URL: "https://betal.example.dk/faktura/7"}},
		Documents: []store.DocumentInput{{Name: "faktura.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4\n%%EOF\n")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.run(JobNotifications, store.JobOK); r.Items != 2 {
		t.Fatalf("run: %+v", r)
	}
	var texts []string
	for _, m := range e.smtp.Mails() {
		texts = append(texts, string(m.Data))
	}
	for _, r := range e.gw.Requests() {
		var body struct{ Text string }
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, body.Text)
	}
	if len(texts) != 2 {
		t.Fatalf("%d messages, want an e-mail and an SMS", len(texts))
	}
	for _, text := range texts {
		if !strings.Contains(text, "a new invoice from Eksempelby Kommune") {
			t.Errorf("the message does not say it is an invoice:\n%s", text)
		}
		for _, secret := range []string{"987654", "987.654", "987,654", "5479 0001234567", "0001234567", "+71<", "87654321", "Betal", "betal.example", "15 February", "Secret"} {
			if strings.Contains(text, secret) {
				t.Errorf("the message holds %q:\n%s", secret, text)
			}
		}
	}
}
