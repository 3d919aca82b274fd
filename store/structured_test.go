package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/store/storage"
)

func structuredDelivery(nid NationalID, ref string) Delivery {
	d := testDelivery(nid, ref)
	d.Type, d.DueDate = "", ""
	d.Invoice = &Invoice{Amount: "1249.50", Currency: "DKK", Account: "5479 0001234567",
		PaymentReference: "+71<000000012345678+87654321<", DueDate: "2027-02-15"}
	d.Actions = []Action{
		{Type: ActionPay, Label: "Betal med MobilePay", URL: "https://betal.aarhus.dk/f/7"},
		{Type: ActionAppointment, Label: "Tandlæge", At: "2027-02-03T09:30:00+01:00", Deadline: "2027-02-01"},
		{Type: ActionReply, Label: "Svar os"},
	}
	return d
}

// TestStructuredValidation: each malformed structured field is refused
// with an InvalidError naming it, and nothing is stored.
func TestStructuredValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	link := func(u string) []Action { return []Action{{Type: ActionLink, Label: "Se sagen", URL: u}} }
	for _, tc := range []struct {
		name  string
		edit  func(d *Delivery)
		field string
	}{
		{"three decimals", func(d *Delivery) { d.Invoice.Amount = "12.345" }, "invoice.amount"},
		{"a decimal comma", func(d *Delivery) { d.Invoice.Amount = "1,50" }, "invoice.amount"},
		{"grouped", func(d *Delivery) { d.Invoice.Amount = "1.249,50" }, "invoice.amount"},
		{"negative", func(d *Delivery) { d.Invoice.Amount = "-10.00" }, "invoice.amount"},
		{"a plus", func(d *Delivery) { d.Invoice.Amount = "+10" }, "invoice.amount"},
		{"a point alone", func(d *Delivery) { d.Invoice.Amount = "10." }, "invoice.amount"},
		{"no whole part", func(d *Delivery) { d.Invoice.Amount = ".5" }, "invoice.amount"},
		{"an exponent", func(d *Delivery) { d.Invoice.Amount = "1e3" }, "invoice.amount"},
		{"a leading zero", func(d *Delivery) { d.Invoice.Amount = "007" }, "invoice.amount"},
		{"too large", func(d *Delivery) { d.Invoice.Amount = "1234567890123456" }, "invoice.amount"},
		{"no amount", func(d *Delivery) { d.Invoice.Amount = "" }, "invoice.amount"},
		{"a currency in small letters", func(d *Delivery) { d.Invoice.Currency = "dkk" }, "invoice.currency"},
		{"no such currency", func(d *Delivery) { d.Invoice.Currency = "ABC" }, "invoice.currency"},
		{"a currency's sign", func(d *Delivery) { d.Invoice.Currency = "kr." }, "invoice.currency"},
		{"no currency", func(d *Delivery) { d.Invoice.Currency = "XXX" }, "invoice.currency"},
		{"a missing currency", func(d *Delivery) { d.Invoice.Currency = "" }, "invoice.currency"},
		{"an account of two lines", func(d *Delivery) { d.Invoice.Account = "5479\n123" }, "invoice.account"},
		{"a long payment reference", func(d *Delivery) { d.Invoice.PaymentReference = strings.Repeat("1", 71) }, "invoice.paymentReference"},
		{"a bidi control in the account", func(d *Delivery) { d.Invoice.Account = "5479\u202e321" }, "invoice.account"},
		{"February 30", func(d *Delivery) { d.Invoice.DueDate = "2027-02-30" }, "invoice.dueDate"},
		{"a date in another form", func(d *Delivery) { d.Invoice.DueDate = "15-02-2027" }, "invoice.dueDate"},
		{"two due dates", func(d *Delivery) { d.DueDate = "2027-02-16" }, "invoice.dueDate"},
		{"an invoice on a decision", func(d *Delivery) { d.Type = TypeDecision }, "invoice"},
		{"an http URL", func(d *Delivery) { d.Actions = link("http://aarhus.dk/sag") }, "actions[0].url"},
		{"a javascript: URL", func(d *Delivery) { d.Actions = link("javascript:alert(1)") }, "actions[0].url"},
		{"a data: URL", func(d *Delivery) { d.Actions = link("data:text/html,<b>x</b>") }, "actions[0].url"},
		{"a relative URL", func(d *Delivery) { d.Actions = link("/sag/7") }, "actions[0].url"},
		{"a URL without a host", func(d *Delivery) { d.Actions = link("https:///sag") }, "actions[0].url"},
		{"a URL with a password", func(d *Delivery) { d.Actions = link("https://a:b@aarhus.dk/") }, "actions[0].url"},
		{"a URL with a space", func(d *Delivery) { d.Actions = link("https://aarhus.dk/a b") }, "actions[0].url"},
		{"a link without a URL", func(d *Delivery) { d.Actions = link("") }, "actions[0].url"},
		{"six actions", func(d *Delivery) {
			d.Actions = append(d.Actions, d.Actions...)
		}, "actions"},
		{"an unknown action", func(d *Delivery) { d.Actions[1].Type = "call" }, "actions[1].type"},
		{"an action without a type", func(d *Delivery) { d.Actions[1].Type = "" }, "actions[1].type"},
		{"an action without a label", func(d *Delivery) { d.Actions[2].Label = " " }, "actions[2].label"},
		{"a long label", func(d *Delivery) { d.Actions[2].Label = strings.Repeat("a", 101) }, "actions[2].label"},
		{"an appointment without a time", func(d *Delivery) { d.Actions[1].At = "" }, "actions[1].at"},
		{"a time without a zone", func(d *Delivery) { d.Actions[1].At = "2027-02-03T09:30:00" }, "actions[1].at"},
		{"a time on February 30", func(d *Delivery) { d.Actions[1].At = "2027-02-30T09:30:00Z" }, "actions[1].at"},
		{"a deadline that is no date", func(d *Delivery) { d.Actions[1].Deadline = "2027-13-01" }, "actions[1].deadline"},
	} {
		d := structuredDelivery(f.nid, "bad")
		tc.edit(&d)
		_, err := f.s.Deliver(ctx, f.sender.ID, d)
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("%s: %v, want an InvalidError of %s", tc.name, err, tc.field)
		}
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if inbox, err := mb.Inbox(ctx); err != nil || len(inbox) != 0 {
		t.Errorf("after refusals the inbox has %d letters, %v", len(inbox), err)
	}
	if evs, _, err := f.s.Events(ctx, f.sender.ID, "", 1000); err != nil || len(evs) != 0 {
		t.Errorf("after refusals: %d events, %v", len(evs), err)
	}
}

// TestStructuredRoundTrip: a letter's invoice and actions come back as
// sent; the invoice makes it an invoice whose due date is the letter's
// (listed among the due letters until marked paid); the receipt's hash
// covers them (the same reference with another amount is a conflict, the
// same content a repeat); a letter without them keeps the first version
// of the hash.
func TestStructuredRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	d := structuredDelivery(f.nid, "faktura-1")
	res, err := f.s.Deliver(ctx, f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	l, err := mb.Letter(ctx, res.Letter.ID)
	if err != nil {
		t.Fatal(err)
	}
	sent := structuredDelivery(f.nid, "faktura-1")
	if !reflect.DeepEqual(l.Invoice, sent.Invoice) || !reflect.DeepEqual(l.Actions, sent.Actions) {
		t.Errorf("opened %+v %+v, want %+v %+v", l.Invoice, l.Actions, sent.Invoice, sent.Actions)
	}
	if l.Type != TypeInvoice || l.DueDate != "2027-02-15" {
		t.Errorf("type %q, due date %q; want invoice, 2027-02-15", l.Type, l.DueDate)
	}
	if got := l.Actions[1].Time(); got.UTC().Format("2006-01-02T15:04") != "2027-02-03T08:30" {
		t.Errorf("appointment time %v", got)
	}
	due, _, err := mb.DuePage(ctx, "", 10)
	if err != nil || len(due) != 1 || due[0].ID != res.Letter.ID || due[0].DueDate != "2027-02-15" {
		t.Errorf("due letters %+v, %v", due, err)
	}
	if err := mb.MarkPaid(ctx, res.Letter.ID, true); err != nil {
		t.Fatal(err)
	}
	if due, _, err := mb.DuePage(ctx, "", 10); err != nil || len(due) != 0 {
		t.Errorf("due letters after paying %+v, %v", due, err)
	}

	again, err := f.s.Deliver(ctx, f.sender.ID, structuredDelivery(f.nid, "faktura-1"))
	if err != nil || !again.Repeated || again.Letter.ID != res.Letter.ID {
		t.Errorf("the same again: %+v, %v", again, err)
	}
	for name, edit := range map[string]func(*Delivery){
		"another amount":      func(d *Delivery) { d.Invoice.Amount = "1249.51" },
		"another action":      func(d *Delivery) { d.Actions[0].URL = "https://betal.aarhus.dk/f/8" },
		"no actions":          func(d *Delivery) { d.Actions = nil },
		"an opening receipt":  func(d *Delivery) { d.OpeningReceipt = true },
		"the due date moved":  func(d *Delivery) { d.Invoice.DueDate = "2027-02-16" },
		"the reference moved": func(d *Delivery) { d.Invoice.PaymentReference = "+71<1+2<" },
	} {
		changed := structuredDelivery(f.nid, "faktura-1")
		edit(&changed)
		if _, err := f.s.Deliver(ctx, f.sender.ID, changed); !errors.Is(err, ErrDuplicateReference) {
			t.Errorf("%s: %v, want ErrDuplicateReference", name, err)
		}
	}

	plain := testDelivery(f.nid, "plain")
	if got := ContentHash(&plain); got != "sha256:"+plainLetterHash {
		t.Errorf("a plain letter's hash %s changed; want %s", got, plainLetterHash)
	}
	if h1, h2 := ContentHash(&plain), ContentHash(&Delivery{Recipient: plain.Recipient, Subject: plain.Subject, Body: plain.Body,
		Type: plain.Type, DueDate: plain.DueDate, Documents: plain.Documents, OpeningReceipt: true}); h1 == h2 {
		t.Error("an opening receipt does not change the hash")
	}
}

// plainLetterHash is ContentHash of testDelivery(testNID(1), …) as the
// first version of the hash gave it before structured letters.
const plainLetterHash = "5e19d1c923fbdb8a2b59bac6b382a7a245a6a31e8458e2f2eb1ea7d8690dccfc"

// TestStructuredTombstone: a deleted letter keeps nothing of its invoice
// or actions.
func TestStructuredTombstone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.s.Deliver(ctx, f.sender.ID, structuredDelivery(f.nid, "faktura-1"))
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	defer mb.Close()
	if err := mb.DeleteLetters(ctx, []string{res.Letter.ID}); err != nil {
		t.Fatal(err)
	}
	err = f.s.view(ctx, func(tx storage.Tx) error {
		rec, err := tx.Letters().Get(res.Letter.ID)
		if err != nil {
			return err
		}
		if !rec.IsTombstone() || rec.Structured != nil || len(checkTombstone(rec)) != 0 {
			t.Errorf("tombstone keeps %v", checkTombstone(rec))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStructuredExportImport: an export's manifest has a letter's invoice,
// actions and opening receipt; its receipt verifies against them (a
// changed amount fails); another appliance imports them, sealed again.
func TestStructuredExportImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	d := structuredDelivery(f.nid, "faktura-1")
	d.OpeningReceipt = true
	if _, err := f.s.Deliver(ctx, f.sender.ID, d); err != nil {
		t.Fatal(err)
	}
	mbA := mustLogin(t, f.s, f.nid, testPassword)
	defer mbA.Close()
	archive, _ := exportOf(t, mbA)
	m := manifestOf(t, archive)
	sent := structuredDelivery(f.nid, "faktura-1")
	if len(m.Letters) != 1 || !reflect.DeepEqual(m.Letters[0].Invoice, sent.Invoice) ||
		!reflect.DeepEqual(m.Letters[0].Actions, sent.Actions) || !m.Letters[0].OpeningReceipt || m.Letters[0].DueDate != "2027-02-15" {
		t.Fatalf("manifest letter %+v", m.Letters)
	}
	ex, err := openExportBytes(archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Verify(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Another amount in the manifest: the receipt no longer matches.
	m.Letters[0].Invoice.Amount = "12.50"
	changed, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	forged := rezip(t, archive, func(n string, c []byte) []byte {
		if n == exportManifest {
			return changed
		}
		return c
	})
	if ex, err := openExportBytes(forged); err == nil {
		if _, err := ex.Verify(); err == nil {
			t.Error("a manifest with another amount verifies")
		}
	}

	b := openTestStore(t, testOptions(newFakeClock()))
	mustResident(t, b, f.nid, "Anna Andersen")
	mbB := mustLogin(t, b, f.nid, testPassword)
	defer mbB.Close()
	if r, err := mbB.Import(ctx, bytes.NewReader(archive), int64(len(archive))); err != nil || r.Imported != 1 {
		t.Fatalf("import %+v, %v", r, err)
	}
	inbox, err := mbB.Inbox(ctx)
	if err != nil || len(inbox) != 1 {
		t.Fatalf("inbox %+v, %v", inbox, err)
	}
	l, err := mbB.Letter(ctx, inbox[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Invoice, sent.Invoice) || !reflect.DeepEqual(l.Actions, sent.Actions) {
		t.Errorf("imported %+v %+v", l.Invoice, l.Actions)
	}
	if due, _, err := mbB.DuePage(ctx, "", 10); err != nil || len(due) != 1 {
		t.Errorf("imported invoice not due: %+v, %v", due, err)
	}
}

// TestContentHashEncodingV2 recomputes a structured letter's hash from
// the encoding ContentHash's doc comment gives senders (version 2), with
// the structured part written out as the JSON it documents.
func TestContentHashEncodingV2(t *testing.T) {
	t.Parallel()
	d := Delivery{
		Recipient: NationalID{Country: "DK", Number: "0101701234"}, Subject: "Faktura", Body: "",
		SenderReference: "f-1", Type: TypeInvoice, DueDate: "2027-02-15", OpeningReceipt: true,
		Invoice:   &Invoice{Amount: "1249.50", Currency: "DKK", DueDate: "2027-02-15"},
		Actions:   []Action{{Type: ActionLink, Label: "Se sagen", URL: "https://a.dk/s?x=1&y=2"}},
		Documents: []DocumentInput{{Name: "f.pdf", ContentType: "application/pdf", Content: pdfContent}},
	}
	var enc lengthPrefixed
	lp := enc.lp
	enc = append(enc, "postkasse/v2/content"...)
	lp("0101701234")
	lp("Faktura")
	lp("")
	lp("invoice")
	lp("2027-02-15")
	enc = append(enc, 0, 0, 1) // replyAllowed, sensitive false; openingReceipt true
	lp(`{"invoice":{"amount":"1249.50","currency":"DKK","dueDate":"2027-02-15"},` +
		`"actions":[{"type":"link","label":"Se sagen","url":"https://a.dk/s?x=1\u0026y=2"}]}`)
	lp("f.pdf")
	lp("application/pdf")
	sum := sha256.Sum256(pdfContent)
	enc = append(enc, sum[:]...)
	want := sha256.Sum256(enc)
	if got := ContentHash(&d); got != "sha256:"+hex.EncodeToString(want[:]) {
		t.Errorf("ContentHash = %s, want the documented encoding", got)
	}
}

// TestContentHashEncodingV3 recomputes the hash of a letter that answers
// a reply from the encoding ContentHash's doc comment gives (version 3:
// version 2 with the reply's id after the structured part).
func TestContentHashEncodingV3(t *testing.T) {
	t.Parallel()
	d := Delivery{
		Recipient: NationalID{Country: "DK", Number: "0101701234"}, Subject: "Svar", Body: "Tak for din henvendelse.",
		SenderReference: "s-1", Type: TypeLetter, ReplyAllowed: true, InReplyTo: "r-42",
		Documents: []DocumentInput{{Name: "svar.pdf", ContentType: "application/pdf", Content: pdfContent}},
	}
	var enc lengthPrefixed
	lp := enc.lp
	enc = append(enc, "postkasse/v3/content"...)
	lp("0101701234")
	lp("Svar")
	lp("Tak for din henvendelse.")
	lp("letter")
	lp("")
	enc = append(enc, 1, 0, 0) // replyAllowed true; sensitive, openingReceipt false
	lp("")                     // no structured fields
	lp("r-42")
	lp("svar.pdf")
	lp("application/pdf")
	sum := sha256.Sum256(pdfContent)
	enc = append(enc, sum[:]...)
	want := sha256.Sum256(enc)
	if got := ContentHash(&d); got != "sha256:"+hex.EncodeToString(want[:]) {
		t.Errorf("ContentHash = %s, want the documented encoding", got)
	}
}
