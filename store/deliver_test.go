package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDeliverRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	priv := mustSender(t, s, "Fjordkraft AS", "976944801", SenderPrivate)
	// Its invoice allows replies: it has a reply key.
	replyKey := make([]byte, 32)
	replyKey[0] = 9 // X25519's base point: a valid public key
	if err := s.SetSenderReplyKey(context.Background(), priv.ID, replyKey, false); err != nil {
		t.Fatal(err)
	}

	first := testDelivery(f.nid, "sag-2026-001")
	res1, err := s.Deliver(context.Background(), f.sender.ID, first)
	if err != nil {
		t.Fatal(err)
	}
	delivered1 := f.clock.Now()
	if res1.Repeated || res1.Letter.Status != "delivered" || !res1.Letter.DeliveredAt.Equal(delivered1) ||
		!res1.Letter.ReadAt.IsZero() || res1.Letter.ID == "" {
		t.Errorf("first result %+v", res1)
	}

	f.clock.Advance(time.Minute)
	invoice := Delivery{
		Recipient: f.nid, Subject: "Elregning november", SenderReference: "faktura-77",
		Type: TypeInvoice, DueDate: "2026-12-15", ReplyAllowed: true,
		Documents: []DocumentInput{
			{Name: `C:\Faktura\faktura.pdf`, ContentType: "application/pdf", Content: pdfContent},
			{Name: "forbrug.png", ContentType: "image/png", Content: pngContent},
			{Name: "kvittering.jpg", ContentType: "image/jpeg", Content: jpegContent},
			{Name: "vilkaar.txt", ContentType: "text/plain; charset=utf-8", Content: []byte("Vilkår: æøå\n")},
		},
	}
	res2, err := s.Deliver(context.Background(), priv.ID, invoice)
	if err != nil {
		t.Fatal(err)
	}
	delivered2 := f.clock.Now()

	f.clock.Advance(time.Minute)
	mb := mustLogin(t, s, f.nid, testPassword)
	inbox, err := mb.Inbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 2 {
		t.Fatalf("inbox has %d letters, want 2", len(inbox))
	}
	// Newest first.
	want := []LetterSummary{
		{ID: res2.Letter.ID, SenderID: priv.ID, SenderName: "Fjordkraft AS", SenderKind: SenderPrivate,
			Subject: "Elregning november", Type: TypeInvoice, DeliveredAt: delivered2, DueDate: "2026-12-15",
			Documents: 4, Size: int64(len(pdfContent) + len(pngContent) + len(jpegContent) + len("Vilkår: æøå\n"))},
		{ID: res1.Letter.ID, SenderID: f.sender.ID, SenderName: "Aarhus Kommune", SenderKind: SenderPublic,
			Subject: first.Subject, Type: TypeDecision, DeliveredAt: delivered1, DueDate: "2027-01-31",
			Documents: 1, Size: int64(len(pdfContent))},
	}
	for i := range want {
		if !equalSummary(inbox[i], want[i]) {
			t.Errorf("inbox[%d] = %+v\nwant       %+v", i, inbox[i], want[i])
		}
		if !inbox[i].Unread() {
			t.Errorf("inbox[%d] is read before opening", i)
		}
	}

	// Opening the letter marks it read at the clock's time.
	f.clock.Advance(time.Minute)
	readAt := f.clock.Now()
	l, err := mb.Letter(context.Background(), res2.Letter.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Body != "" || !l.ReplyAllowed || l.SenderReference != "faktura-77" || !l.ReadAt.Equal(readAt) || l.Unread() {
		t.Errorf("Letter = %+v", l)
	}
	wantDocs := []DocumentInfo{
		{0, "faktura.pdf", "application/pdf", int64(len(pdfContent))},
		{1, "forbrug.png", "image/png", int64(len(pngContent))},
		{2, "kvittering.jpg", "image/jpeg", int64(len(jpegContent))},
		{3, "vilkaar.txt", "text/plain", int64(len("Vilkår: æøå\n"))},
	}
	if fmt.Sprint(l.Documents) != fmt.Sprint(wantDocs) {
		t.Errorf("documents %+v\nwant      %+v", l.Documents, wantDocs)
	}
	for i, content := range [][]byte{pdfContent, pngContent, jpegContent, []byte("Vilkår: æøå\n")} {
		doc, err := mb.Document(context.Background(), res2.Letter.ID, i)
		if err != nil {
			t.Fatalf("Document %d: %v", i, err)
		}
		if !bytes.Equal(doc.Content, content) || doc.DocumentInfo != wantDocs[i] {
			t.Errorf("Document %d = %+v (%q)", i, doc.DocumentInfo, doc.Content)
		}
	}
	for _, i := range []int{-1, 4, 1 << 16} {
		if _, err := mb.Document(context.Background(), res2.Letter.ID, i); !errors.Is(err, ErrNotFound) {
			t.Errorf("Document %d: %v, want ErrNotFound", i, err)
		}
	}
	if _, err := mb.Letter(context.Background(), "no-such-letter"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Letter(unknown): %v, want ErrNotFound", err)
	}

	// The sender sees it read; the other letter is still unread.
	st, err := s.LetterStatus(context.Background(), priv.ID, res2.Letter.ID)
	if err != nil || st.Status != "read" || !st.ReadAt.Equal(readAt) || !st.DeliveredAt.Equal(delivered2) {
		t.Errorf("LetterStatus = %+v, %v", st, err)
	}
	if st, err := s.LetterStatus(context.Background(), f.sender.ID, res1.Letter.ID); err != nil || st.Status != "delivered" || !st.ReadAt.IsZero() {
		t.Errorf("LetterStatus of the unread letter = %+v, %v", st, err)
	}
	// Opening again keeps the first reading time and logs no second read.
	f.clock.Advance(time.Minute)
	if l, err := mb.Letter(context.Background(), res2.Letter.ID); err != nil || !l.ReadAt.Equal(readAt) {
		t.Errorf("second opening: ReadAt %v, %v; want %v", l.ReadAt, err, readAt)
	}
	reads := 0
	for _, a := range auditActions(t, s) {
		if a == "read" {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("%d read entries in the audit log, want 1", reads)
	}
	inbox, err = mb.Inbox(context.Background())
	if err != nil || inbox[0].Unread() || !inbox[1].Unread() {
		t.Errorf("inbox after reading: %+v, %v", inbox, err)
	}

	// The first letter's body.
	if l, err := mb.Letter(context.Background(), res1.Letter.ID); err != nil || l.Body != first.Body || l.ReplyAllowed {
		t.Errorf("first letter = %+v, %v", l, err)
	}
}

func equalSummary(a, b LetterSummary) bool {
	return a.ID == b.ID && a.SenderID == b.SenderID && a.SenderName == b.SenderName && a.SenderKind == b.SenderKind &&
		a.Subject == b.Subject && a.Type == b.Type && a.DeliveredAt.Equal(b.DeliveredAt) && a.ReadAt.Equal(b.ReadAt) &&
		a.DueDate == b.DueDate && a.Documents == b.Documents && a.Size == b.Size
}

func TestDeliverReceipt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := testDelivery(f.nid, "sag-1")
	res, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.s.VerifyReceipt(res.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	want := ReceiptPayload{
		Version: 2, LetterID: res.Letter.ID, SenderID: f.sender.ID, SenderOrgNumber: f.sender.OrgNumber,
		Recipient: f.nid.Number, SenderReference: "sag-1", ContentHash: ContentHash(&d), DeliveredAt: f.clock.Now(),
	}
	proof := p.Audit
	p.Audit = nil
	if p != want {
		t.Errorf("receipt states %+v\nwant          %+v", p, want)
	}
	// Version 2: the proof that the delivery's entry is in the audit log,
	// at the log's size then, and the log holds that entry there.
	log, err := f.s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if proof == nil || proof.TreeSize != proof.LeafIndex+1 || proof.TreeSize != int64(len(log)) {
		t.Fatalf("receipt's audit proof %+v, log of %d entries", proof, len(log))
	}
	if e := log[proof.LeafIndex]; e.Action != "deliver" || e.Object != "letter:"+res.Letter.ID || !e.Time.Equal(want.DeliveredAt) {
		t.Errorf("the log's entry at the proof's index: %+v", e)
	}
	if !strings.HasPrefix(p.ContentHash, "sha256:") || len(p.ContentHash) != len("sha256:")+64 {
		t.Errorf("content hash %q", p.ContentHash)
	}
	// The resident sees the same receipt.
	mb := mustLogin(t, f.s, f.nid, testPassword)
	l, err := mb.Letter(context.Background(), res.Letter.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Receipt.Payload, res.Receipt.Payload) || !bytes.Equal(l.Receipt.Signature, res.Receipt.Signature) {
		t.Error("the resident's receipt differs from the sender's")
	}
	// Tampered receipts do not verify.
	bad := res.Receipt
	bad.Payload = bytes.Replace(bytes.Clone(bad.Payload), []byte("sag-1"), []byte("sag-2"), 1)
	if _, err := f.s.VerifyReceipt(bad); err == nil {
		t.Error("a receipt with a changed payload verifies")
	}
	bad = res.Receipt
	bad.Signature = bytes.Clone(bad.Signature)
	bad.Signature[0] ^= 1
	if _, err := f.s.VerifyReceipt(bad); err == nil {
		t.Error("a receipt with a changed signature verifies")
	}
	// Its JSON form round-trips.
	js, err := res.Receipt.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Receipt
	if err := back.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.VerifyReceipt(back); err != nil || back.KeyID != res.Receipt.KeyID {
		t.Errorf("receipt after JSON: %v, key id %q", err, back.KeyID)
	}
}

func TestDeliverIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	d := testDelivery(f.nid, "sag-1")
	first, err := s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	before := digest(t, s)

	// The same reference and content: the original result.
	again, err := s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Repeated || again.Letter != first.Letter || !bytes.Equal(again.Receipt.Payload, first.Receipt.Payload) ||
		!bytes.Equal(again.Receipt.Signature, first.Receipt.Signature) {
		t.Errorf("repeat = %+v\nfirst  = %+v", again, first)
	}
	if digest(t, s) != before {
		t.Error("a repeated delivery changed the database")
	}
	// An explicit "letter" type equals the default.
	d2 := testDelivery(f.nid, "sag-2")
	d2.Type = ""
	res2, err := s.Deliver(context.Background(), f.sender.ID, d2)
	if err != nil {
		t.Fatal(err)
	}
	d2.Type = TypeLetter
	if again, err := s.Deliver(context.Background(), f.sender.ID, d2); err != nil || !again.Repeated || again.Letter.ID != res2.Letter.ID {
		t.Errorf("repeat with explicit default type = %+v, %v", again, err)
	}
	before = digest(t, s)

	// The same reference with other content: refused, nothing stored.
	changes := map[string]func(*Delivery){
		"subject":       func(d *Delivery) { d.Subject += "!" },
		"body":          func(d *Delivery) { d.Body = "" },
		"type":          func(d *Delivery) { d.Type = TypeNotice },
		"due date":      func(d *Delivery) { d.DueDate = "2027-02-01" },
		"reply allowed": func(d *Delivery) { d.ReplyAllowed = true },
		"sensitive":     func(d *Delivery) { d.Sensitive = true },
		"file name":     func(d *Delivery) { d.Documents[0].Name = "other.pdf" },
		"content":       func(d *Delivery) { d.Documents[0].Content = append(bytes.Clone(pdfContent), ' ') },
		"content type": func(d *Delivery) {
			d.Documents[0] = DocumentInput{Name: "afgoerelse.pdf", ContentType: "text/plain", Content: []byte("%PDF-")}
		},
		"another document": func(d *Delivery) {
			d.Documents = append(d.Documents, DocumentInput{Name: "b.pdf", ContentType: "application/pdf", Content: pdfContent})
		},
		"another recipient": func(d *Delivery) { d.Recipient = testNID(t, 9) },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			d := testDelivery(f.nid, "sag-1")
			change(&d)
			if res, err := s.Deliver(context.Background(), f.sender.ID, d); !errors.Is(err, ErrDuplicateReference) {
				t.Errorf("Deliver = %+v, %v; want ErrDuplicateReference", res, err)
			}
		})
	}
	if digest(t, s) != before {
		t.Error("a refused or repeated delivery changed the database")
	}
	if n := countKeys(t, s)["letters"]; n != 2 {
		t.Errorf("%d letters stored, want 2", n)
	}

	// The same reference from another sender is another letter.
	other := mustSender(t, s, "Fjordkraft AS", "976944801", SenderPrivate)
	res, err := s.Deliver(context.Background(), other.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	if res.Repeated || res.Letter.ID == first.Letter.ID {
		t.Errorf("the other sender's letter = %+v", res)
	}
	if n := countKeys(t, s)["letters"]; n != 3 {
		t.Errorf("%d letters stored, want 3", n)
	}
}

// TestDeliverRefused checks every refusal stores nothing: no letter, no
// document, no index entry, no audit entry.
func TestDeliverRefused(t *testing.T) {
	t.Parallel()
	limits := DefaultLimits()
	limits.MaxDocuments = 3
	limits.MaxDocumentSize = 1000
	limits.MaxLetterSize = 1500
	f := newFixtureWith(t, func(o *Options) { o.Limits = limits })
	s := f.s
	reserved := mustResident(t, s, testNID(t, 2), "Reserveret Person")
	setResidentStatus(t, s, reserved.ID, ResidentReserved)
	closed := mustResident(t, s, testNID(t, 3), "Lukket Konto")
	setResidentStatus(t, s, closed.ID, ResidentClosed)
	deceased := mustResident(t, s, testNID(t, 4), "Afdød Person")
	setResidentStatus(t, s, deceased.ID, ResidentDeceased)
	pending, _, err := s.EnrolResident(context.Background(), testNID(t, 6), "Ikke Aktiveret")
	if err != nil {
		t.Fatal(err)
	}
	revoked := mustSender(t, s, "Nedlagt Styrelse", "11111114", SenderPublic)
	if err := s.RevokeSender(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	// A letter exists, so a reuse of its reference is a refusal too.
	if _, err := s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, "taken")); err != nil {
		t.Fatal(err)
	}
	pdf := func(n int) []byte { return append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), n-9)...) }
	doc := func(n int) DocumentInput {
		return DocumentInput{Name: "a.pdf", ContentType: "application/pdf", Content: pdf(n)}
	}

	tests := []struct {
		name   string
		sender string
		change func(d *Delivery)
		want   error  // errors.Is target, or nil for an InvalidError
		field  string // the InvalidError's field
	}{
		{"unknown recipient", "", func(d *Delivery) { d.Recipient = testNID(t, 5) }, ErrUnknownRecipient, ""},
		{"reserved recipient", "", func(d *Delivery) { d.Recipient = reserved.NationalID }, ErrRecipientNotDigital, ""},
		{"closed recipient", "", func(d *Delivery) { d.Recipient = closed.NationalID }, ErrRecipientNotDigital, ""},
		{"deceased recipient", "", func(d *Delivery) { d.Recipient = deceased.NationalID }, ErrRecipientNotDigital, ""},
		{"pending recipient (not activated)", "", func(d *Delivery) { d.Recipient = pending.NationalID }, ErrRecipientNotDigital, ""},
		{"revoked sender", revoked.ID, func(*Delivery) {}, ErrSenderRevoked, ""},
		{"unknown sender", "no-such-sender", func(*Delivery) {}, ErrNotFound, ""},
		{"duplicate reference", "", func(d *Delivery) { d.SenderReference = "taken"; d.Subject = "Other" }, ErrDuplicateReference, ""},
		{"too many documents", "", func(d *Delivery) {
			d.Documents = []DocumentInput{doc(100), doc(100), doc(100), doc(100)}
		}, nil, "document"},
		{"no documents", "", func(d *Delivery) { d.Documents = nil }, nil, "document"},
		{"document too large", "", func(d *Delivery) { d.Documents = []DocumentInput{doc(1001)} }, ErrDocumentTooLarge, ""},
		{"second document too large", "", func(d *Delivery) { d.Documents = []DocumentInput{doc(10), doc(1001)} }, ErrDocumentTooLarge, ""},
		{"letter too large", "", func(d *Delivery) { d.Documents = []DocumentInput{doc(1000), doc(501)} }, ErrDocumentTooLarge, ""},
		{"declared pdf, content png", "", func(d *Delivery) {
			d.Documents = []DocumentInput{{Name: "a.pdf", ContentType: "application/pdf", Content: pngContent}}
		}, ErrUnsupportedDocumentType, ""},
		{"declared png, content pdf", "", func(d *Delivery) {
			d.Documents = []DocumentInput{{Name: "a.png", ContentType: "image/png", Content: pdfContent}}
		}, ErrUnsupportedDocumentType, ""},
		{"declared jpeg, content png", "", func(d *Delivery) {
			d.Documents = []DocumentInput{{Name: "a.jpg", ContentType: "image/jpeg", Content: pngContent}}
		}, ErrUnsupportedDocumentType, ""},
		{"declared text, content binary", "", func(d *Delivery) {
			d.Documents = []DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("a\x00b")}}
		}, ErrUnsupportedDocumentType, ""},
		{"declared text, content not UTF-8", "", func(d *Delivery) {
			d.Documents = []DocumentInput{{Name: "a.txt", ContentType: "text/plain", Content: []byte("bl\xe5b\xe6r")}}
		}, ErrUnsupportedDocumentType, ""},
		{"unsupported type", "", func(d *Delivery) {
			d.Documents = []DocumentInput{{Name: "a.zip", ContentType: "application/zip", Content: []byte("PK\x03\x04")}}
		}, ErrUnsupportedDocumentType, ""},
		{"malformed content type", "", func(d *Delivery) { d.Documents[0].ContentType = "pdf/" }, ErrUnsupportedDocumentType, ""},
		{"empty content type", "", func(d *Delivery) { d.Documents[0].ContentType = "" }, ErrUnsupportedDocumentType, ""},
		{"unsupported second document", "", func(d *Delivery) {
			d.Documents = append(d.Documents, DocumentInput{Name: "x.exe", ContentType: "application/octet-stream", Content: []byte("MZ")})
		}, ErrUnsupportedDocumentType, ""},
		{"missing file name", "", func(d *Delivery) { d.Documents[0].Name = "" }, nil, "document[0]"},
		{"file name only a path", "", func(d *Delivery) { d.Documents[0].Name = "/" }, nil, "document[0]"},
		{"file name with a newline", "", func(d *Delivery) { d.Documents[0].Name = "a\nb.pdf" }, nil, "document[0]"},
		{"file name too long", "", func(d *Delivery) { d.Documents[0].Name = strings.Repeat("a", 256) + ".pdf" }, nil, "document[0]"},
		{"file name with a right-to-left override", "", func(d *Delivery) { d.Documents[0].Name = "Faktura\u202Efdp.bat" }, nil, "document[0]"},
		{"second file name with a zero-width space", "", func(d *Delivery) {
			d.Documents = append(d.Documents, DocumentInput{Name: "bilag\u200B.pdf", ContentType: "application/pdf", Content: pdfContent})
		}, nil, "document[1]"},
		{"empty subject", "", func(d *Delivery) { d.Subject = "" }, nil, "subject"},
		{"blank subject", "", func(d *Delivery) { d.Subject = "  \t " }, nil, "subject"},
		{"subject too long", "", func(d *Delivery) { d.Subject = strings.Repeat("a", 201) }, nil, "subject"},
		{"subject of two lines", "", func(d *Delivery) { d.Subject = "a\nb" }, nil, "subject"},
		{"subject not UTF-8", "", func(d *Delivery) { d.Subject = "\xff" }, nil, "subject"},
		{"subject with a control character", "", func(d *Delivery) { d.Subject = "a\x1bb" }, nil, "subject"},
		{"subject with a right-to-left override", "", func(d *Delivery) { d.Subject = "Refusion \u202Ekr 000 01" }, nil, "subject"},
		{"subject with a byte order mark", "", func(d *Delivery) { d.Subject = "\uFEFFRefusion" }, nil, "subject"},
		{"body with a left-to-right isolate", "", func(d *Delivery) { d.Body = "Beløb: \u2066100 kr\u2069" }, nil, "body"},
		{"body too long", "", func(d *Delivery) { d.Body = strings.Repeat("a", 10_001) }, nil, "body"},
		{"body not UTF-8", "", func(d *Delivery) { d.Body = "\xc3" }, nil, "body"},
		{"missing reference", "", func(d *Delivery) { d.SenderReference = "" }, nil, "senderReference"},
		{"reference too long", "", func(d *Delivery) { d.SenderReference = strings.Repeat("r", 129) }, nil, "senderReference"},
		{"reference not text", "", func(d *Delivery) { d.SenderReference = "a\x00b" }, nil, "senderReference"},
		{"reference with a right-to-left mark", "", func(d *Delivery) { d.SenderReference = "sag\u200F-1" }, nil, "senderReference"},
		{"bad type", "", func(d *Delivery) { d.Type = "advertisement" }, nil, "type"},
		{"bad due date", "", func(d *Delivery) { d.DueDate = "31-01-2027" }, nil, "dueDate"},
		{"impossible due date", "", func(d *Delivery) { d.DueDate = "2027-02-30" }, nil, "dueDate"},
		{"due date with a time", "", func(d *Delivery) { d.DueDate = "2027-01-31T00:00:00Z" }, nil, "dueDate"},
		{"missing recipient", "", func(d *Delivery) { d.Recipient = NationalID{} }, nil, "recipient.nationalId"},
	}
	before, beforeCounts := digest(t, s), countKeys(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDelivery(f.nid, "ref-"+tt.name)
			tt.change(&d)
			sender := tt.sender
			if sender == "" {
				sender = f.sender.ID
			}
			res, err := s.Deliver(context.Background(), sender, d)
			if err == nil {
				t.Fatalf("Deliver = %+v, want an error", res)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("Deliver: %v, want %v", err, tt.want)
				}
			} else {
				var inv *InvalidError
				if !errors.As(err, &inv) || inv.Field != tt.field {
					t.Errorf("Deliver: %v, want an InvalidError for %s", err, tt.field)
				}
			}
			if res.Letter.ID != "" || res.Repeated {
				t.Errorf("a refusal returned a result %+v", res)
			}
		})
	}
	if after := countKeys(t, s); fmt.Sprint(after) != fmt.Sprint(beforeCounts) {
		t.Errorf("keys per bucket before %v, after %v", beforeCounts, after)
	}
	if digest(t, s) != before {
		t.Error("a refused delivery changed the database")
	}
}

func TestDeliverAtLimits(t *testing.T) {
	t.Parallel()
	limits := DefaultLimits()
	limits.MaxDocuments = 3
	limits.MaxDocumentSize = 1000
	limits.MaxLetterSize = 2000
	f := newFixtureWith(t, func(o *Options) { o.Limits = limits })
	if got := f.s.Limits(); got != limits {
		t.Errorf("Limits() = %+v", got)
	}
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 991)...)
	d := testDelivery(f.nid, "at-limits")
	d.Subject = strings.Repeat("s", 200)
	d.Body = strings.Repeat("b", 10_000)
	d.SenderReference = strings.Repeat("r", 128)
	d.Documents = []DocumentInput{
		{Name: strings.Repeat("n", 251) + ".pdf", ContentType: "application/pdf", Content: pdf},
		{Name: "b.pdf", ContentType: "application/pdf", Content: pdf[:999]},
		{Name: "c.txt", ContentType: "text/plain", Content: []byte("x")},
	}
	if _, err := f.s.Deliver(context.Background(), f.sender.ID, d); err != nil {
		t.Errorf("a letter at every limit: %v", err)
	}
	// An empty document is allowed where its type allows empty content.
	d = testDelivery(f.nid, "empty-text")
	d.Documents = []DocumentInput{{Name: "tom.txt", ContentType: "text/plain", Content: nil}}
	res, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatalf("an empty text document: %v", err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	if doc, err := mb.Document(context.Background(), res.Letter.ID, 0); err != nil || len(doc.Content) != 0 {
		t.Errorf("empty document = %q, %v", doc.Content, err)
	}
}

func TestDeliverSanitisesHTML(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	original := []byte(`<p>Kære borger</p><script>alert("x")</script>` +
		`<img src="data:image/png;base64,AAAA" onerror="steal()"><a href="javascript:evil()">link</a>` +
		`<iframe src="https://evil.example"></iframe><p style="x" onclick="y()">slut</p>`)
	d := testDelivery(f.nid, "html-1")
	d.Documents = []DocumentInput{{Name: "brev.html", ContentType: "text/html; charset=utf-8", Content: original}}
	res, err := f.s.Deliver(context.Background(), f.sender.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	mb := mustLogin(t, f.s, f.nid, testPassword)
	doc, err := mb.Document(context.Background(), res.Letter.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := string(doc.Content)
	for _, bad := range []string{"<script", "alert(", "onerror", "steal()", "javascript:", "<iframe", "onclick", "style="} {
		if strings.Contains(strings.ToLower(got), bad) {
			t.Errorf("sanitised document still has %q: %s", bad, got)
		}
	}
	for _, good := range []string{"<p>Kære borger</p>", "slut"} {
		if !strings.Contains(got, good) {
			t.Errorf("sanitised document lost %q: %s", good, got)
		}
	}
	if doc.ContentType != "text/html" || doc.Size != int64(len(doc.Content)) {
		t.Errorf("document info %+v", doc.DocumentInfo)
	}
	// The receipt's hash is of what the sender sent, not of the sanitised copy.
	p, err := f.s.VerifyReceipt(res.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	if p.ContentHash != ContentHash(&d) {
		t.Errorf("receipt hash %s, want the original's %s", p.ContentHash, ContentHash(&d))
	}
	sanitised := d
	sanitised.Documents = []DocumentInput{{Name: "brev.html", ContentType: "text/html; charset=utf-8", Content: doc.Content}}
	if p.ContentHash == ContentHash(&sanitised) {
		t.Error("the receipt's hash is of the sanitised document")
	}
	// Sending the original again is a repeat, not a conflict.
	if again, err := f.s.Deliver(context.Background(), f.sender.ID, d); err != nil || !again.Repeated {
		t.Errorf("repeat of an HTML letter = %+v, %v", again, err)
	}
}

func TestContentHash(t *testing.T) {
	t.Parallel()
	nid := NationalID{Country: "DK", Number: "0101701234"}
	base := testDelivery(nid, "r")
	h := ContentHash(&base)
	if h != ContentHash(&base) {
		t.Error("ContentHash is not deterministic")
	}
	// Moving bytes between length-prefixed fields changes the hash.
	a, b := base, base
	a.Subject, a.Body = "ab", "c"
	b.Subject, b.Body = "a", "bc"
	if ContentHash(&a) == ContentHash(&b) {
		t.Error("subject/body boundary does not change the hash")
	}
	// The reference is not content: a repeat with another reference is the
	// same content.
	c := base
	c.SenderReference = "other"
	if ContentHash(&c) != h {
		t.Error("the reference changes the content hash")
	}
	// The flags are content.
	for name, change := range map[string]func(*Delivery){
		"replyAllowed": func(d *Delivery) { d.ReplyAllowed = true },
		"sensitive":    func(d *Delivery) { d.Sensitive = true },
	} {
		d := base
		change(&d)
		if ContentHash(&d) == h {
			t.Errorf("%s does not change the content hash", name)
		}
	}
}

// TestContentHashEncoding recomputes the hash from the encoding that
// ContentHash's doc comment (and so docs/SENDERS.md) gives senders, so the
// documentation cannot drift from the code.
func TestContentHashEncoding(t *testing.T) {
	t.Parallel()
	d := Delivery{
		Recipient: NationalID{Country: "DK", Number: "0101701234"}, Subject: "Afgørelse", Body: "Se bilag.",
		SenderReference: "sag-1", Type: TypeDecision, DueDate: "2027-01-31", ReplyAllowed: false, Sensitive: true,
		Documents: []DocumentInput{
			{Name: "afgoerelse.pdf", ContentType: "application/pdf", Content: pdfContent},
			{Name: "note.txt", ContentType: "text/plain", Content: []byte("hej")},
		},
	}
	var enc lengthPrefixed
	lp := enc.lp
	enc = append(enc, "postkasse/v1/content"...)
	lp("0101701234")
	lp("Afgørelse")
	lp("Se bilag.")
	lp("decision")
	lp("2027-01-31")
	enc = append(enc, 0, 1) // replyAllowed false, sensitive true
	for _, doc := range d.Documents {
		lp(doc.Name)
		lp(doc.ContentType)
		sum := sha256.Sum256(doc.Content)
		enc = append(enc, sum[:]...)
	}
	sum := sha256.Sum256(enc)
	if got, want := ContentHash(&d), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("ContentHash = %s, want %s (the documented encoding)", got, want)
	}
}

// TestLetterIDs: letter ids are 32 lowercase hex digits, unique, and grow
// with the clock (their first 48 bits are Unix milliseconds), so letters'
// keys are appended to the B+trees.
func TestLetterIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var prev string
	seen := map[string]bool{}
	for i := range 20 {
		if i%4 == 0 {
			f.clock.Advance(time.Millisecond)
		}
		res, err := f.s.Deliver(context.Background(), f.sender.ID, testDelivery(f.nid, fmt.Sprintf("id-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		id := res.Letter.ID
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("letter id %q is not 32 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("letter id %s twice", id)
		}
		seen[id] = true
		wantPrefix := fmt.Sprintf("%012x", f.clock.Now().UnixMilli())
		if !strings.HasPrefix(id, wantPrefix) {
			t.Errorf("letter id %s does not start with the time %s", id, wantPrefix)
		}
		if i%4 == 0 && id <= prev {
			t.Errorf("letter id %s of a later millisecond sorts before %s", id, prev)
		}
		prev = id
	}
	// Other ids stay wholly random.
	if f.resident.ID[:12] == fmt.Sprintf("%012x", f.clock.Now().UnixMilli()) {
		t.Error("a resident id starts with the time")
	}
}

// lengthPrefixed is the content hash's documented encoding as the tests
// write it out: lp appends a string after its length (uint32, big-endian).
type lengthPrefixed []byte

func (e *lengthPrefixed) lp(s string) {
	*e = binary.BigEndian.AppendUint32(*e, uint32(len(s)))
	*e = append(*e, s...)
}
