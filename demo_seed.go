package main

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/store"
)

// The demo's people and organisations. The numbers are valid in form (a
// real date; the Norwegian one has both check digits) but invented.
var (
	demoResidents = []demoResident{
		{NationalID: "1203861234", Name: "Anna Jensen", Password: "anna-demo-2026"},
		{NationalID: "0507524321", Name: "Lars Nielsen", Password: "lars-demo-2026"},
		{NationalID: "15058910063", Name: "Ingrid Haugen", Password: "ingrid-demo-2026"},
	}
	demoSenders = []struct {
		name, org, slug string
		kind            store.SenderKind
	}{
		{"Eksempelby Kommune", "29189846", "eksempelby-kommune", store.SenderPublic},
		{"Nordlys Energi A/S", "31572290", "nordlys-energi", store.SenderPrivate},
		{"Fjordbanken", "27183646", "fjordbanken", store.SenderPrivate},
	}
)

// demoLetter is one seeded letter: who sends it to whom, how many days
// ago, and whether the resident has read it.
type demoLetter struct {
	sender, resident int
	daysAgo          int
	read             bool
	delivery         store.Delivery
}

// seedDemo fills an empty store with the demo's residents, senders and
// letters, issues the senders' certificates and writes an example document
// for the curl command.
func seedDemo(dir string, st *store.Store, ca *crypto.CA, clock *seedClock) (*demoFile, error) {
	demo := &demoFile{CACert: filepath.Join(dir, "ca", "ca.crt")}
	now := time.Now().UTC()
	defer clock.reset()
	// The terms of use, in force before the residents enrolled (so they
	// accepted them then); the footer of every page links them.
	clock.set(now.AddDate(0, 0, -170))
	terms, err := st.PublishTerms(context.Background(), demoTerms, now.AddDate(0, 0, -130))
	if err != nil {
		return nil, fmt.Errorf("demo terms: %w", err)
	}
	// No mailbox to notify yet: the notices are done.
	clock.set(now.AddDate(0, 0, -130))
	if _, err := st.FinishTermsNotices(context.Background(), terms.Version); err != nil {
		return nil, fmt.Errorf("demo terms: %w", err)
	}
	clock.set(now.AddDate(0, 0, -120))

	residentIDs := make([]store.NationalID, len(demoResidents))
	for i, r := range demoResidents {
		nid, err := store.ParseNationalID(r.NationalID)
		if err != nil {
			return nil, fmt.Errorf("demo resident %s: %w", r.Name, err)
		}
		// AddResident enrols and activates at once with a known password:
		// right for the evaluator's sandbox, whose passwords are printed
		// anyway, and never for production enrolment (`resident add`).
		if _, _, err := st.AddResident(context.Background(), nid, r.Name, r.Password); err != nil {
			return nil, fmt.Errorf("demo resident %s: %w", r.Name, err)
		}
		residentIDs[i] = nid
		demo.Residents = append(demo.Residents, r)
		if err := acceptDemoTerms(st, r); err != nil {
			return nil, fmt.Errorf("demo resident %s: %w", r.Name, err)
		}
	}

	senderDir := filepath.Join(dir, "senders")
	if err := os.MkdirAll(senderDir, 0o700); err != nil {
		return nil, err
	}
	senderIDs := make([]string, len(demoSenders))
	for i, s := range demoSenders {
		sender, err := st.AddSender(context.Background(), s.name, s.org, s.kind)
		if err != nil {
			return nil, fmt.Errorf("demo sender %s: %w", s.name, err)
		}
		certPEM, keyPEM, cert, err := ca.IssueClient(cryptorand.Reader, s.name, s.org, now, 2*365*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("demo sender %s: %w", s.name, err)
		}
		if err := st.BindCertificate(context.Background(), sender.ID, cert); err != nil {
			return nil, fmt.Errorf("demo sender %s: %w", s.name, err)
		}
		certPath, keyPath := filepath.Join(senderDir, s.slug+".crt"), filepath.Join(senderDir, s.slug+".key")
		if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
			return nil, err
		}
		senderIDs[i] = sender.ID
		demo.Senders = append(demo.Senders, demoSender{Name: s.name, OrgNumber: s.org, Kind: string(s.kind), Cert: certPath, Key: keyPath})
	}

	// Printing is set up, its key in the folder (DIR/print.key, for
	// `postkasse print export --key`): right for the sandbox only, as
	// OPERATORS.md keeps the key off the appliance.
	printKey, err := st.NewPrintKey(context.Background())
	if err != nil {
		return nil, fmt.Errorf("demo print key: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "print.key"), []byte(hex.EncodeToString(printKey)+"\n"), 0o600); err != nil {
		return nil, err
	}

	examples := filepath.Join(dir, "examples")
	if err := os.MkdirAll(examples, 0o700); err != nil {
		return nil, err
	}
	hello := demoPDF("Hello from curl", []string{
		"This letter was delivered with the curl command that `postkasse demo` prints.",
		"Run the command again: the sender reference is the same, so the API answers",
		"200 with the original letter instead of delivering it twice.",
	})
	if err := writeFileAtomic(filepath.Join(examples, "hello.pdf"), hello, 0o644); err != nil {
		return nil, err
	}

	// The kommune takes replies and signatures: its reply key's private
	// half is in the folder (for `postkasse events --reply-key`), right
	// for the sandbox only.
	replyKey, err := crypto.GenerateKeyPair(cryptorand.Reader)
	if err != nil {
		return nil, err
	}
	replyRaw := replyKey.RawX25519()
	replyPub := replyKey.Public()
	replyKey.Zero()
	if err := writeFileAtomic(filepath.Join(senderDir, demoSenders[0].slug+".reply-key"), []byte(base64.StdEncoding.EncodeToString(replyRaw)+"\n"), 0o600); err != nil {
		return nil, err
	}
	clear(replyRaw)
	if err := st.SetSenderReplyKey(context.Background(), senderIDs[0], replyPub[:], false); err != nil {
		return nil, fmt.Errorf("demo reply key: %w", err)
	}
	demo.Senders[0].ReplyKey = filepath.Join(senderDir, demoSenders[0].slug+".reply-key")

	letters := demoLetters(now)
	toRead := map[int][]string{} // resident index → letter ids to open
	for i, l := range letters {
		clock.set(now.AddDate(0, 0, -l.daysAgo).Add(-time.Duration(i*37) * time.Minute))
		l.delivery.Recipient = residentIDs[l.resident]
		l.delivery.SenderReference = fmt.Sprintf("demo-%02d", i+1)
		res, err := st.Deliver(context.Background(), senderIDs[l.sender], l.delivery)
		if err != nil {
			return nil, fmt.Errorf("demo letter %q: %w", l.delivery.Subject, err)
		}
		if l.read {
			toRead[l.resident] = append(toRead[l.resident], res.Letter.ID)
		}
	}
	// Open the letters marked read, as their residents would have.
	for ri, ids := range toRead {
		clock.set(now.Add(-2 * time.Hour))
		sess, err := st.Login(context.Background(), demoResidents[ri].NationalID, demoResidents[ri].Password)
		if err != nil {
			return nil, fmt.Errorf("demo login: %w", err)
		}
		mb, err := st.OpenSession(context.Background(), sess.Token)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if _, err := mb.Letter(context.Background(), id); err != nil {
				mb.Close()
				return nil, err
			}
		}
		mb.Close()
		if err := st.Logout(context.Background(), sess.Token); err != nil {
			return nil, err
		}
	}
	return demo, nil
}

// acceptDemoTerms accepts the terms in force for the demo resident r, as
// the resident would have at the first sign-in.
func acceptDemoTerms(st *store.Store, r demoResident) error {
	ctx := context.Background()
	sess, err := st.Login(ctx, r.NationalID, r.Password)
	if err != nil {
		return err
	}
	defer st.Logout(ctx, sess.Token)
	mb, err := st.OpenSession(ctx, sess.Token)
	if err != nil {
		return err
	}
	defer mb.Close()
	terms, err := st.CurrentTerms(ctx)
	if err != nil {
		return err
	}
	return mb.AcceptTerms(ctx, terms.Version)
}

// demoTerms are the demo's terms of use.
const demoTerms = `Terms of use of Postkasse (demo)

1. Postkasse is Eksempelby Kommune's digital mailbox. Letters delivered here have the same legal effect as letters on paper.
2. You are notified by e-mail or SMS when a letter arrives, if you ask for it in Settings. A notification never holds the content of a letter.
3. Letters are sealed to your key. The operator of the service cannot read them; nor can anyone else without your password or recovery key.
4. A mailbox without a sign-in for 5 years is deleted after two warnings. Letters of a resident who has died are kept for 5 years (public senders) or 15 months (private senders).
5. You may opt out of digital post, or delete your mailbox, in Settings at any time.

This is a demonstration: the residents, senders and letters are made up.
`

// demoLetters returns the seeded letters, with due dates relative to now.
func demoLetters(now time.Time) []demoLetter {
	due := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
	pdf := func(name, title string, lines ...string) store.DocumentInput {
		return store.DocumentInput{Name: name, ContentType: "application/pdf", Content: demoPDF(title, lines)}
	}
	text := func(name, content string) store.DocumentInput {
		return store.DocumentInput{Name: name, ContentType: "text/plain", Content: []byte(content)}
	}
	const kommune, energi, bank = 0, 1, 2
	const anna, lars, ingrid = 0, 1, 2
	return []demoLetter{
		{kommune, anna, 95, true, store.Delivery{Subject: "Welcome to your digital mailbox", Type: store.TypeNotice,
			Body: "Letters from Eksempelby Kommune and other senders now arrive here.",
			Documents: []store.DocumentInput{text("welcome.txt",
				"Welcome to Postkasse.\n\nLetters in your digital mailbox have the same legal effect as letters on paper.\n"+
					"You will be notified when a new letter arrives. Notifications never contain the content of a letter.\n")}}},
		{bank, anna, 60, true, store.Delivery{Subject: "Your annual account statement", Type: store.TypeLetter,
			Documents: []store.DocumentInput{pdf("statement-2026.pdf", "Annual account statement",
				"Account 9876-0012345678", "Balance at 1 January:   DKK 18,240.55", "Balance at 31 October:  DKK 22,913.10",
				"", "Please keep this statement for your records.")}}},
		{kommune, anna, 41, true, store.Delivery{Subject: "Decision on your application for a building permit", Type: store.TypeDecision,
			Body: "Your application of 2 September for a carport at Skovvej 12 has been decided. The decision is enclosed.",
			Documents: []store.DocumentInput{pdf("decision-building-permit.pdf", "Decision: building permit granted",
				"Case number: 2026-04511", "Address: Skovvej 12, 9999 Eksempelby", "",
				"Eksempelby Kommune grants a building permit for a carport of 36 square metres,",
				"under section 16 of the Building Regulations.", "",
				"You may appeal this decision within four weeks of receiving it.",
				"The appeal guide is enclosed with this letter.")}}},
		{energi, anna, 33, true, store.Delivery{Subject: "Electricity bill for September", Type: store.TypeInvoice, DueDate: due(-3),
			Documents: []store.DocumentInput{pdf("invoice-2026-09.pdf", "Invoice 2026-09-44871",
				"Consumption 1 Sep to 30 Sep: 212 kWh", "Amount due: DKK 684.20", "Payment ID: +71<000000448718+87654321<")}}},
		{kommune, anna, 21, false, store.Delivery{Subject: "School enrolment for the 2027/28 school year", Type: store.TypeLetter,
			Body: "Your child can start school in August 2027. Enclosed are the letter, the form and a map of the school district.",
			Documents: []store.DocumentInput{
				pdf("enrolment-letter.pdf", "School enrolment 2027/28",
					"Enrolment opens on 1 December and closes on 31 January.",
					"Your district school is Eksempelby Skole, Skolevej 3."),
				pdf("enrolment-form.pdf", "Enrolment form", "Child's name: ____________________",
					"Preferred school: ____________________", "Signature of guardian: ____________________"),
				{Name: "school-district-map.png", ContentType: "image/png", Content: demoPNG()},
				text("opening-hours.txt", "Eksempelby Skole\nOffice open Monday to Friday 8:00–15:00\nPhone 99 99 12 34\n"),
			}}},
		{kommune, anna, 14, false, store.Delivery{Subject: "Change to waste collection days from January", Type: store.TypeNotice,
			Documents: []store.DocumentInput{{Name: "waste-collection.html", ContentType: "text/html", Content: []byte(
				"<h1>New waste collection days</h1><p>From 5 January, household waste at <strong>Skovvej</strong> is collected on " +
					"<em>Tuesdays</em> instead of Thursdays.</p><ul><li>Paper and cardboard: every fourth Friday</li>" +
					"<li>Glass and metal: every eighth Friday</li></ul><p>Questions? Write to the technical department.</p>")}}}},
		{energi, anna, 9, false, store.Delivery{Subject: "Electricity bill for October", Type: store.TypeInvoice, DueDate: due(5),
			Documents: []store.DocumentInput{pdf("invoice-2026-10.pdf", "Invoice 2026-10-45102",
				"Consumption 1 Oct to 31 Oct: 268 kWh", "Amount due: DKK 861.45", "Payment ID: +71<000000451029+87654321<")}}},
		{kommune, anna, 6, false, store.Delivery{Subject: "Property tax for the first half of 2027", Type: store.TypeInvoice, DueDate: due(70),
			Documents: []store.DocumentInput{pdf("property-tax-2027-1.pdf", "Property tax, first half of 2027",
				"Property: Skovvej 12, 9999 Eksempelby", "Land value: DKK 1,240,000", "Amount due: DKK 7,812.00")}}},
		{kommune, anna, 2, false, store.Delivery{Subject: "Appointment at the citizens' service centre", Type: store.TypeLetter,
			Documents: []store.DocumentInput{text("appointment.txt",
				"Your appointment: Thursday at 10:30, Borgerservice, Rådhuspladsen 1.\nBring photo identification.\n")}}},
		{kommune, lars, 30, true, store.Delivery{Subject: "Decision on your pension supplement", Type: store.TypeDecision,
			Documents: []store.DocumentInput{pdf("pension-supplement.pdf", "Decision: pension supplement",
				"You are granted a pension supplement of DKK 1,640 a month from 1 January.")}}},
		{energi, lars, 4, false, store.Delivery{Subject: "Electricity bill for October", Type: store.TypeInvoice, DueDate: due(12),
			Documents: []store.DocumentInput{pdf("invoice-2026-10.pdf", "Invoice 2026-10-45377", "Amount due: DKK 512.80")}}},
		{kommune, ingrid, 12, false, store.Delivery{Subject: "Decision on housing benefit", Type: store.TypeDecision,
			Documents: []store.DocumentInput{pdf("housing-benefit.pdf", "Decision: housing benefit",
				"You are granted housing benefit of DKK 2,150 a month.", "Payments start on the first banking day of next month.")}}},
		{kommune, ingrid, 1, false, store.Delivery{Subject: "Welcome to your digital mailbox", Type: store.TypeNotice,
			Documents: []store.DocumentInput{text("welcome.txt", "Welcome to Postkasse.\n")}}},
		// A signature request: the kommune has a reply key (seedDemo), which
		// the signed result is sealed to.
		{kommune, anna, 1, false, store.Delivery{Subject: "Lease of allotment garden no. 14", Type: store.TypeLetter,
			Body:             "Please read the lease and sign it in your mailbox, or decline with a reason.",
			SignatureRequest: &store.SignatureRequest{Deadline: due(14), Description: "Lease of allotment garden no. 14, Kolonihaven Eksempelby, from 1 January 2027"},
			Documents: []store.DocumentInput{pdf("allotment-lease.pdf", "Lease: allotment garden no. 14",
				"Tenant: Anna Jensen", "Garden: no. 14, Kolonihaven Eksempelby", "Rent: DKK 1,800 a year, due 1 March",
				"The lease runs from 1 January 2027 until it is ended by either party with three months' notice.")}}},
	}
}

// pdfText escapes s for a PDF literal string in WinAnsiEncoding: ( ) \ are
// escaped and characters outside Latin-1 become '?'.
func pdfText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 128:
			b.WriteRune(r)
		case r < 256:
			fmt.Fprintf(&b, "\\%03o", r)
		case r == '–':
			b.WriteString("\\226")
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// demoPDF returns a one-page PDF 1.4 with a title, a sender line and the
// given lines in Helvetica.
func demoPDF(title string, lines []string) []byte {
	var content strings.Builder
	fmt.Fprintf(&content, "BT /F2 18 Tf 56 770 Td (%s) Tj ET\n", pdfText(title))
	content.WriteString("BT /F1 11 Tf 56 735 Td 16 TL\n")
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) Tj T*\n", pdfText(l))
	}
	content.WriteString("ET\n0.6 G 56 90 m 539 90 l S\nBT /F1 9 Tf 56 76 Td (Delivered through Postkasse) Tj ET\n")
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var out strings.Builder
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return []byte(out.String())
}

// demoPNG draws a small map of a school district: blocks, roads, a river
// and the school, as a PNG.
func demoPNG() []byte {
	const w, h = 480, 320
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill := func(r image.Rectangle, c color.RGBA) { draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src) }
	fill(img.Bounds(), color.RGBA{0xf1, 0xee, 0xe4, 0xff})
	for x := 20; x < w; x += 90 {
		for y := 20; y < h; y += 70 {
			fill(image.Rect(x, y, x+70, y+50), color.RGBA{0xd9, 0xd3, 0xc3, 0xff})
		}
	}
	fill(image.Rect(0, 150, w, 162), color.RGBA{0x9c, 0xc6, 0xe0, 0xff})
	fill(image.Rect(200, 90, 270, 140), color.RGBA{0x1f, 0x5f, 0x8b, 0xff})
	fill(image.Rect(198, 88, 272, 90), color.RGBA{0x0b, 0x2e, 0x45, 0xff})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic("encode png: " + err.Error()) // encoding an in-memory RGBA image cannot fail
	}
	return buf.Bytes()
}
