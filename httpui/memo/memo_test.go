package memo

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func testdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit replaces old by new in s, and fails the test unless old occurs in
// s exactly once, so that a case cannot pass by not changing anything.
func edit(t testing.TB, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("bad test: %q occurs %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// doc is a Document as a test states it: the content by its start, end
// and length, or in full.
type doc struct {
	name, contentType string
	role              Role
	prefix, suffix    string
	size              int
}

func (d doc) check(t *testing.T, i int, got Document) {
	t.Helper()
	if got.Name != d.name || got.ContentType != d.contentType || got.Role != d.role {
		t.Errorf("document %d = %q %q %q, want %q %q %q", i, got.Name, got.ContentType, got.Role, d.name, d.contentType, d.role)
	}
	if !bytes.HasPrefix(got.Content, []byte(d.prefix)) || !bytes.HasSuffix(got.Content, []byte(d.suffix)) || len(got.Content) != d.size {
		t.Errorf("document %d: %d bytes %.20q…%.20q, want %d bytes %.20q…%.20q", i, len(got.Content), got.Content, got.Content[max(0, len(got.Content)-20):], d.size, d.prefix, d.suffix)
	}
}

// The PDFs in testdata are 601 (decision), 608 (invoice) and 598
// (reminder) bytes; the complaint guide and the technical document are
// given in full.
var (
	pdfStart = "%PDF-1.4\n"
	pdfEnd   = "%%EOF\n"
	guide    = "Sådan klager du\n\nDu kan klage over afgørelsen inden 4 uger.\nSkriv til Eksempelby Kommune, Borgerservice.\n"
	techXML  = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Opkraevning><Beloeb valuta=\"DKK\">4211.50</Beloeb><Betalingsid>+71&lt;000000448718+87654321&lt;</Betalingsid></Opkraevning>\n"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		want   Message // without Documents
		docs   []doc
		limits Limits
	}{
		{
			file: "minimum-1.1.xml",
			want: Message{Version: "1.1", UUID: "946d6765-6e22-4d0f-8d73-72986f39376d", Label: "Afgørelse om boligstøtte",
				SenderID: "29189846", RecipientCPR: "1203861234"},
			docs: []doc{{"Afgørelse.pdf", "application/pdf", RoleMain, pdfStart, pdfEnd, 601}},
		},
		{
			file: "documents-actions-1.2.xml",
			want: Message{Version: "1.2", UUID: "c38acccd-0ac1-4b80-bdcd-e834e34c318f", Label: "Opkrævning af ejendomsskat, 1. rate 2027",
				SenderID: "29189846", RecipientCPR: "1203861234", ReplyAllowed: true,
				Actions: []Action{
					// 22:59:59 UTC on 31 January is 23:59:59 in Copenhagen (CET).
					{Type: ActionPay, Code: "BETALING", Label: "Betal ejendomsskat", URL: "https://betaling.eksempelby.dk/ejendomsskat?sag=EJD-2027-000318&rate=1", Deadline: "2027-01-31"},
					{Type: ActionAppointment, Code: "AFTALE", Label: "Book tid til vurderingssamtale", At: utc("2027-01-14T09:30:00Z")},
					{Type: ActionLink, Code: "INFORMATION", Label: "Læs om ejendomsskat", URL: "https://www.eksempelby.dk/ejendomsskat"},
				}},
			docs: []doc{
				{"Opkrævning ejendomsskat 2027.pdf", "application/pdf", RoleMain, pdfStart, pdfEnd, 608},
				{"Klagevejledning.txt", "text/plain", RoleAdditional, guide, guide, len(guide)},
				{"Afgørelse om ejendomsskat.pdf", "application/pdf", RoleAdditional, pdfStart, pdfEnd, 601},
				{"opkraevning.xml", "application/xml", RoleTechnical, techXML, techXML, len(techXML)},
			},
		},
		{
			file: "not-before-1.2.xml",
			want: Message{Version: "1.2", UUID: "822aa229-93fd-448a-9621-0c36e68641bb", Label: "Indkaldelse til samtale om sygedagpenge",
				SenderID: "29189846", RecipientCPR: "0507524321",
				// The start of 1 March 2027 in Copenhagen (CET, UTC+1).
				NotBefore: utc("2027-02-28T23:00:00Z"),
				Actions: []Action{{Type: ActionLink, Code: "SELVBETJENING", Label: "Udfyld skema før samtalen",
					URL: "https://jobcenter.eksempelby.dk/skema/sygedagpenge", Deadline: "2027-03-15"}}},
			docs: []doc{{"Indkaldelse.pdf", "application/pdf", RoleMain, pdfStart, pdfEnd, 598}},
		},
		{
			file: "too-large.xml",
			want: Message{Version: "1.1", UUID: "946d6765-6e22-4d0f-8d73-72986f39376d", Label: "Afgørelse om boligstøtte",
				SenderID: "29189846", RecipientCPR: "1203861234"},
			docs: []doc{{"Afgørelse.pdf", "application/pdf", RoleMain, pdfStart, "xx\n", 8192}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(strings.NewReader(testdata(t, tt.file)), tt.limits)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(m.Documents) != len(tt.docs) {
				t.Fatalf("%d documents, want %d", len(m.Documents), len(tt.docs))
			}
			for i, d := range tt.docs {
				d.check(t, i, m.Documents[i])
			}
			got := *m
			got.Documents = nil
			if !got.NotBefore.Equal(tt.want.NotBefore) {
				t.Errorf("NotBefore = %s, want %s", got.NotBefore, tt.want.NotBefore)
			}
			got.NotBefore = tt.want.NotBefore
			for i := range got.Actions {
				if i < len(tt.want.Actions) && got.Actions[i].At.Equal(tt.want.Actions[i].At) {
					got.Actions[i].At = tt.want.Actions[i].At
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestParseRefusals: every refusal is the right error naming the right
// element, and Parse returns no message with it.
func TestParseRefusals(t *testing.T) {
	t.Parallel()
	minimum := testdata(t, "minimum-1.1.xml")
	several := testdata(t, "documents-actions-1.2.xml")
	const (
		header  = "\t<memo:MessageHeader>\n"
		label   = "<memo:label>Afgørelse om boligstøtte</memo:label>"
		recip   = "\t\t</memo:Recipient>\n"
		file    = "\t\t\t</memo:File>\n"
		mainEnd = "\t\t</memo:MainDocument>\n"
	)
	action := func(inner string) string {
		return edit(t, minimum, mainEnd, "\t\t\t<memo:Action>\n"+inner+"\t\t\t</memo:Action>\n"+mainEnd)
	}
	tests := []struct {
		name   string
		in     string
		limits Limits
		// One of: an *InvalidError or *UnsupportedError with this
		// element (and value); or errors.Is(err, is).
		invalid     string
		unsupported string
		value       string
		is          error
	}{
		// Files in testdata.
		{name: "DOCTYPE with entities (testdata)", in: testdata(t, "doctype-entity.xml"), unsupported: "!DOCTYPE"},
		{name: "too deep (testdata)", in: testdata(t, "too-deep.xml"), invalid: "MessageHeader/ContentData/Address/Level0/Level1/Level2/Level3/Level4/Level5/Level6/Level7/Level8"},
		{name: "unknown element (testdata)", in: testdata(t, "unknown-element.xml"), unsupported: "MessageBody/MainDocument/File[1]/checksum"},
		{name: "bad base64 (testdata)", in: testdata(t, "bad-base64.xml"), invalid: "MessageBody/MainDocument/File[1]/content"},
		{name: "document over its limit (testdata)", in: testdata(t, "too-large.xml"), limits: Limits{MaxDocumentSize: 4 << 10}, is: ErrTooLarge},
		{name: "message over its limit (testdata)", in: testdata(t, "too-large.xml"), limits: Limits{MaxSize: 8 << 10}, is: ErrTooLarge},

		// No DTDs, no entities, UTF-8 only, one message.
		{name: "external DTD", in: edit(t, minimum, "<memo:Message ", "<!DOCTYPE memo:Message SYSTEM \"http://attacker.example/memo.dtd\">\n<memo:Message "), unsupported: "!DOCTYPE"},
		{name: "entity declaration without a DOCTYPE", in: edit(t, minimum, "<memo:Message ", "<!ENTITY lol \"lol\">\n<memo:Message "), unsupported: "!ENTITY"},
		{name: "entity without a DTD", in: edit(t, minimum, label, "<memo:label>&lol;</memo:label>"), invalid: "MessageHeader/label"},
		{name: "stylesheet instruction", in: edit(t, minimum, "<memo:Message ", "<?xml-stylesheet href=\"memo.xsl\"?>\n<memo:Message "), unsupported: "?xml-stylesheet"},
		{name: "XML declaration not first", in: "<!-- x -->" + minimum, unsupported: "?xml"},
		{name: "Latin-1", in: edit(t, minimum, `encoding="UTF-8"`, `encoding="ISO-8859-1"`), invalid: "Message"},
		{name: "not XML", in: "Afgørelse om boligstøtte", invalid: "Message"},
		{name: "empty", in: "", invalid: "Message"},
		{name: "cut short", in: minimum[:strings.Index(minimum, "boligstøtte")], invalid: "MessageHeader/label"},
		{name: "text after the message", in: minimum + "x", invalid: "Message"},
		{name: "second message", in: minimum + minimum[strings.Index(minimum, "<memo:Message "):], invalid: "Message"},
		{name: "wrong root", in: edit(t, edit(t, minimum, "<memo:Message ", "<memo:Letter "), "</memo:Message>", "</memo:Letter>"), invalid: "Message"},
		{name: "wrong namespace", in: edit(t, minimum, `"https://DigitalPost.dk/MeMo-1"`, `"https://DigitalPost.dk/MeMo-2"`), invalid: "Message"},

		// Versions.
		{name: "memoVersion 1.3", in: edit(t, minimum, `memoVersion="1.1"`, `memoVersion="1.3"`), unsupported: "@memoVersion", value: "1.3"},
		{name: "no memoVersion", in: edit(t, minimum, `memoVersion="1.1" `, ""), invalid: "@memoVersion"},
		{name: "1.1 without memoSchVersion", in: edit(t, minimum, ` memoSchVersion="1.1.0"`, ""), invalid: "@memoSchVersion"},
		{name: "1.2 with a 1.1 memoSchVersion", in: edit(t, minimum, `memoVersion="1.1"`, `memoVersion="1.2"`), invalid: "@memoSchVersion"},
		{name: "memoVersion twice", in: edit(t, minimum, `memoVersion="1.1"`, `memoVersion="1.1" memoVersion="1.2"`), invalid: "@memoVersion"},
		{name: "undeclared prefix", in: strings.ReplaceAll(minimum, "memo:", "m:"), invalid: "Message"},
		{name: "unknown attribute on Message", in: edit(t, minimum, `memoVersion="1.1"`, `memoVersion="1.1" priority="high"`), unsupported: "@priority"},

		// Structure.
		{name: "attribute on an element", in: edit(t, minimum, label, `<memo:label xml:lang="da">Afgørelse</memo:label>`), unsupported: "MessageHeader/label/@lang"},
		{name: "unknown element in the header", in: edit(t, minimum, recip, recip+"\t\t<memo:priority>high</memo:priority>\n"), unsupported: "MessageHeader/priority"},
		{name: "element in another namespace", in: edit(t, minimum, label, `<x:label xmlns:x="urn:example">Afgørelse</x:label>`), invalid: "MessageHeader/label"},
		{name: "messageUUID missing", in: edit(t, minimum, "\t\t<memo:messageUUID>946D6765-6E22-4D0F-8D73-72986F39376D</memo:messageUUID>\n", ""), invalid: "MessageHeader/messageUUID"},
		{name: "out of order", in: edit(t, edit(t, minimum, "\t\t"+label+"\n", ""), "\t\t<memo:messageUUID>", "\t\t"+label+"\n\t\t<memo:messageUUID>"), invalid: "MessageHeader/messageUUID"},
		{name: "element twice", in: edit(t, minimum, "\t\t"+label+"\n", "\t\t"+label+"\n\t\t"+label+"\n"), invalid: "MessageHeader/label"},
		{name: "text between elements", in: edit(t, minimum, header, header+"Til Anna\n"), invalid: "MessageHeader"},
		{name: "element in a text", in: edit(t, minimum, label, "<memo:label>Afgørelse <memo:b>nu</memo:b></memo:label>"), invalid: "MessageHeader/label/b"},
		{name: "no MessageBody", in: minimum[:strings.Index(minimum, "\t<memo:MessageBody>")] + "</memo:Message>\n", invalid: "MessageBody"},

		// Values and lengths.
		{name: "NemSMS", in: edit(t, minimum, ">DIGITALPOST<", ">NEMSMS<"), unsupported: "MessageHeader/messageType", value: "NEMSMS"},
		{name: "unknown messageType", in: edit(t, minimum, ">DIGITALPOST<", ">EMAIL<"), invalid: "MessageHeader/messageType"},
		{name: "version 1 UUID", in: edit(t, minimum, "946D6765-6E22-4D0F", "946D6765-6E22-1D0F"), invalid: "MessageHeader/messageUUID"},
		{name: "label of 257 characters", in: edit(t, minimum, label, "<memo:label>"+strings.Repeat("ø", 257)+"</memo:label>"), invalid: "MessageHeader/label"},
		{name: "empty label", in: edit(t, minimum, label, "<memo:label> </memo:label>"), invalid: "MessageHeader/label"},
		{name: "mandatory", in: edit(t, minimum, "<memo:mandatory>false", "<memo:mandatory>true"), unsupported: "MessageHeader/mandatory", value: "true"},
		{name: "legalNotification", in: edit(t, minimum, "<memo:legalNotification>false", "<memo:legalNotification>1"), unsupported: "MessageHeader/legalNotification", value: "true"},
		{name: "boolean yes", in: edit(t, minimum, "<memo:mandatory>false", "<memo:mandatory>yes"), invalid: "MessageHeader/mandatory"},
		{name: "replyByDateTime", in: edit(t, minimum, "\t\t<memo:mandatory>", "\t\t<memo:replyByDateTime>2027-01-31T12:00:00Z</memo:replyByDateTime>\n\t\t<memo:mandatory>"), unsupported: "MessageHeader/replyByDateTime"},
		{name: "doNotDeliverUntilDate not a date", in: edit(t, minimum, "\t\t<memo:mandatory>", "\t\t<memo:doNotDeliverUntilDate>2027-02-30</memo:doNotDeliverUntilDate>\n\t\t<memo:mandatory>"), invalid: "MessageHeader/doNotDeliverUntilDate"},
		{name: "ForwardData", in: edit(t, minimum, recip, recip+"\t\t<memo:ForwardData/>\n"), unsupported: "MessageHeader/ForwardData"},
		{name: "sender by MyndighedsID", in: edit(t, minimum, "<memo:idType>CVR", "<memo:idType>MyndighedsID"), unsupported: "MessageHeader/Sender/idType", value: "MyndighedsID"},
		{name: "recipient by CVR", in: edit(t, minimum, "<memo:idType>CPR", "<memo:idType>CVR"), unsupported: "MessageHeader/Recipient/idType", value: "CVR"},
		{name: "sender's ContactPoint", in: edit(t, minimum, "</memo:label>\n\t\t</memo:Sender>", "</memo:label>\n\t\t\t<memo:ContactPoint/>\n\t\t</memo:Sender>"), unsupported: "MessageHeader/Sender/ContactPoint"},
		{name: "representative (MeMo 1.2)", in: edit(t, edit(t, minimum, `memoVersion="1.1" memoSchVersion="1.1.0"`, `memoVersion="1.2"`), "</memo:label>\n\t\t</memo:Sender>", "</memo:label>\n\t\t\t<memo:Representative/>\n\t\t</memo:Sender>"), unsupported: "MessageHeader/Sender/Representative"},
		{name: "createdDateTime not in UTC", in: edit(t, minimum, "2026-11-20T08:15:00Z", "2026-11-20T09:15:00+01:00"), invalid: "MessageBody/createdDateTime"},
		{name: "language of three letters", in: edit(t, minimum, ">da<", ">dan<"), invalid: "MessageBody/MainDocument/File[1]/language"},
		{name: "empty filename", in: edit(t, minimum, ">Afgørelse.pdf<", "><"), invalid: "MessageBody/MainDocument/File[1]/filename"},
		{name: "base64 with nonzero padding bits", in: mainContent(t, minimum, "QR=="), invalid: "MessageBody/MainDocument/File[1]/content"},
		{name: "base64 without padding", in: mainContent(t, minimum, "QQ"), invalid: "MessageBody/MainDocument/File[1]/content"},
		{name: "ContentData text over 1024 characters", in: edit(t, minimum, recip, recip+"\t\t<memo:ContentData><memo:CaseID><memo:caseID>"+strings.Repeat("x", 1025)+"</memo:caseID></memo:CaseID></memo:ContentData>\n"), invalid: "MessageHeader/ContentData/CaseID/caseID"},
		{name: "ContentData child unknown", in: edit(t, minimum, recip, recip+"\t\t<memo:ContentData><memo:Vehicle/></memo:ContentData>\n"), unsupported: "MessageHeader/ContentData/Vehicle"},

		// Limits.
		{name: "too many files", in: edit(t, minimum, file, file+minFile(t, minimum)), limits: Limits{MaxDocuments: 1}, invalid: "MessageBody/MainDocument/File[2]"},
		{name: "too many actions", in: several, limits: Limits{MaxActions: 2}, invalid: "MessageBody/AdditionalDocument[1]/Action[1]"},
		{name: "one byte over MaxSize", in: minimum, limits: Limits{MaxSize: int64(len(minimum)) - 1}, is: ErrTooLarge},
		{name: "depth limit 4", in: minimum, limits: Limits{MaxDepth: 4}, invalid: "MessageBody/MainDocument/File[1]/encodingFormat"},

		// Actions.
		{name: "unknown actionCode", in: action("\t\t\t\t<memo:label>Bestil</memo:label>\n\t\t\t\t<memo:actionCode>BESTIL</memo:actionCode>\n\t\t\t\t<memo:EntryPoint><memo:url>https://eksempelby.dk</memo:url></memo:EntryPoint>\n"),
			unsupported: "MessageBody/MainDocument/Action[1]/actionCode", value: "BESTIL"},
		{name: "link without EntryPoint", in: action("\t\t\t\t<memo:label>Læs mere</memo:label>\n\t\t\t\t<memo:actionCode>INFORMATION</memo:actionCode>\n"),
			invalid: "MessageBody/MainDocument/Action[1]/EntryPoint"},
		{name: "http URL", in: action("\t\t\t\t<memo:label>Betal</memo:label>\n\t\t\t\t<memo:actionCode>BETALING</memo:actionCode>\n\t\t\t\t<memo:EntryPoint><memo:url>http://betaling.eksempelby.dk</memo:url></memo:EntryPoint>\n"),
			invalid: "MessageBody/MainDocument/Action[1]/EntryPoint/url"},
		{name: "URL with user information", in: action("\t\t\t\t<memo:label>Betal</memo:label>\n\t\t\t\t<memo:actionCode>BETALING</memo:actionCode>\n\t\t\t\t<memo:EntryPoint><memo:url>https://betaling.eksempelby.dk@attacker.example/</memo:url></memo:EntryPoint>\n"),
			invalid: "MessageBody/MainDocument/Action[1]/EntryPoint/url"},
		{name: "relative URL", in: action("\t\t\t\t<memo:label>Betal</memo:label>\n\t\t\t\t<memo:actionCode>BETALING</memo:actionCode>\n\t\t\t\t<memo:EntryPoint><memo:url>/betal</memo:url></memo:EntryPoint>\n"),
			invalid: "MessageBody/MainDocument/Action[1]/EntryPoint/url"},
		{name: "appointment without a time", in: action("\t\t\t\t<memo:label>Møde</memo:label>\n\t\t\t\t<memo:actionCode>AFTALE</memo:actionCode>\n"),
			invalid: "MessageBody/MainDocument/Action[1]"},
		{name: "Reservation on a payment", in: edit(t, several, "<actionCode>BETALING</actionCode>\n        <endDateTime>2027-01-31T22:59:59Z</endDateTime>\n",
			"<actionCode>BETALING</actionCode>\n        <endDateTime>2027-01-31T22:59:59Z</endDateTime>\n        <Reservation><description>d</description><reservationUUID>54f7424b-3a9e-4674-8c0a-ef208f835559</reservationUUID><abstract>a</abstract><location>l</location><startDateTime>2027-01-14T09:30:00Z</startDateTime><endDateTime>2027-01-14T10:00:00Z</endDateTime></Reservation>\n"),
			unsupported: "MessageBody/MainDocument/Action[1]/Reservation"},
		{name: "Reservation missing its location", in: edit(t, several, "          <location>Borgerservice, Rådhuspladsen 1, Eksempelby</location>\n", ""),
			invalid: "MessageBody/MainDocument/Action[2]/Reservation/location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(strings.NewReader(tt.in), tt.limits)
			if m != nil {
				t.Errorf("a message with the error %v", err)
			}
			var inv *InvalidError
			var uns *UnsupportedError
			switch {
			case tt.invalid != "":
				if !errors.As(err, &inv) || inv.Element != tt.invalid {
					t.Fatalf("Parse: %v; want an *InvalidError on %s", err, tt.invalid)
				}
				if inv.Reason == "" {
					t.Error("no reason")
				}
			case tt.unsupported != "":
				if !errors.As(err, &uns) || uns.Element != tt.unsupported || uns.Value != tt.value {
					t.Fatalf("Parse: %v; want an *UnsupportedError on %s %q", err, tt.unsupported, tt.value)
				}
			default:
				if !errors.Is(err, tt.is) {
					t.Fatalf("Parse: %v; want %v", err, tt.is)
				}
			}
		})
	}
}

// minFile returns the File element of the minimum message.
func minFile(t *testing.T, minimum string) string {
	t.Helper()
	i, j := strings.Index(minimum, "\t\t\t<memo:File>"), strings.Index(minimum, "</memo:File>\n")
	if i < 0 || j < 0 {
		t.Fatal("bad test: no File in the minimum message")
	}
	return minimum[i : j+len("</memo:File>\n")]
}

// mainContent replaces the main document's base64 content.
func mainContent(t *testing.T, minimum, b64 string) string {
	t.Helper()
	i, j := strings.Index(minimum, "<memo:content>"), strings.Index(minimum, "</memo:content>")
	return minimum[:i+len("<memo:content>")] + b64 + minimum[j:]
}

// TestParseAccepts: spellings of a message that mean the same, or differ
// only where the test says.
func TestParseAccepts(t *testing.T) {
	t.Parallel()
	minimum := testdata(t, "minimum-1.1.xml")
	want, err := Parse(strings.NewReader(minimum), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dateLine := func(date string) string {
		return edit(t, minimum, "\t\t<memo:mandatory>", "\t\t<memo:doNotDeliverUntilDate>"+date+"</memo:doNotDeliverUntilDate>\n\t\t<memo:mandatory>")
	}
	const label = "<memo:label>Afgørelse om boligstøtte</memo:label>"
	tests := []struct {
		name   string
		in     string
		limits Limits
		change func(m *Message) // what differs from the minimum message
	}{
		{name: "byte order mark", in: "\ufeff" + minimum},
		{name: "no XML declaration", in: minimum[strings.Index(minimum, "\n")+1:]},
		{name: "CRLF line ends", in: strings.ReplaceAll(minimum, "\n", "\r\n")},
		{name: "base64 on one line", in: mainContent(t, minimum, strings.Join(strings.Fields(minimum[strings.Index(minimum, "<memo:content>")+len("<memo:content>"):strings.Index(minimum, "</memo:content>")]), ""))},
		{name: "base64 split by a comment", in: edit(t, minimum, "\n\t\t\t\tJVBER", "\n\t\t\t\t<!-- the PDF -->JVBER")},
		{name: "xsi:schemaLocation", in: edit(t, minimum, `memoVersion="1.1"`, `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="https://DigitalPost.dk/MeMo-1 MeMo_Message.xsd" memoVersion="1.1"`)},
		{name: "another prefix", in: strings.ReplaceAll(strings.ReplaceAll(minimum, "memo:", "m:"), "xmlns:memo=", "xmlns:m=")},
		{name: "entities, character references, a comment in a text", in: edit(t, minimum, label, "<memo:label>Afg&#248;relse <!-- note -->om bolig&#x73;tøtte &amp; &lt;klage&gt;</memo:label>"),
			change: func(m *Message) { m.Label = "Afgørelse om boligstøtte & <klage>" }},
		{name: "label of 256 characters", in: edit(t, minimum, label, "<memo:label>"+strings.Repeat("ø", 256)+"</memo:label>"),
			change: func(m *Message) { m.Label = strings.Repeat("ø", 256) }},
		{name: "MeMo 1.2", in: edit(t, minimum, `memoVersion="1.1" memoSchVersion="1.1.0"`, `memoVersion="1.2"`),
			change: func(m *Message) { m.Version = "1.2" }},
		{name: "reply 1", in: edit(t, minimum, "\t\t<memo:mandatory>", "\t\t<memo:reply>1</memo:reply>\n\t\t<memo:mandatory>"),
			change: func(m *Message) { m.ReplyAllowed = true }},
		{name: "doNotDeliverUntilDate in summer time", in: dateLine("2027-07-01"),
			change: func(m *Message) { m.NotBefore = utc("2027-06-30T22:00:00Z") }},
		{name: "doNotDeliverUntilDate in UTC", in: dateLine("2027-07-01Z"),
			change: func(m *Message) { m.NotBefore = utc("2027-07-01T00:00:00Z") }},
		{name: "doNotDeliverUntilDate with an offset", in: dateLine("2027-07-01+05:00"),
			change: func(m *Message) { m.NotBefore = utc("2027-06-30T19:00:00Z") }},
		{name: "exactly MaxSize bytes", in: minimum, limits: Limits{MaxSize: int64(len(minimum))}},
		{name: "exactly MaxDepth deep", in: minimum, limits: Limits{MaxDepth: 5}},
		{name: "a document of exactly MaxDocumentSize", in: minimum, limits: Limits{MaxDocumentSize: 601}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(strings.NewReader(tt.in), tt.limits)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			w := *want
			if tt.change != nil {
				tt.change(&w)
			}
			if !m.NotBefore.Equal(w.NotBefore) {
				t.Errorf("NotBefore = %s, want %s", m.NotBefore, w.NotBefore)
			}
			m.NotBefore = w.NotBefore
			if !reflect.DeepEqual(*m, w) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", *m, w)
			}
		})
	}
}

// TestParseReaderError: an error of the reader is returned as it is, not
// as malformed XML, so the handler can tell a client's broken upload (or
// http.MaxBytesReader's limit) from a bad message.
func TestParseReaderError(t *testing.T) {
	t.Parallel()
	minimum := testdata(t, "minimum-1.1.xml")
	broken := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(minimum[:700]), iotest.ErrReader(broken))
	m, err := Parse(r, Limits{})
	if m != nil || !errors.Is(err, broken) {
		t.Fatalf("Parse = %v, %v; want the reader's error", m, err)
	}
	var inv *InvalidError
	if errors.As(err, &inv) {
		t.Errorf("a reader's error reported as an invalid message: %v", err)
	}
}

// TestParseDoesNotReadPastLimit: Parse reads at most MaxSize+1 bytes,
// however long the input, and refuses it.
func TestParseDoesNotReadPastLimit(t *testing.T) {
	t.Parallel()
	minimum := testdata(t, "minimum-1.1.xml")
	endless := io.MultiReader(strings.NewReader(minimum), neverEnding(' '))
	counter := &countingReader{r: endless}
	m, err := Parse(counter, Limits{MaxSize: 4096})
	if m != nil || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse = %v, %v; want ErrTooLarge", m, err)
	}
	if counter.n > 4097 {
		t.Errorf("read %d bytes of a 4096-byte limit", counter.n)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&InvalidError{Element: "MessageHeader/label", Reason: "empty"}, "MeMo MessageHeader/label: empty"},
		{&UnsupportedError{Element: "MessageHeader/ForwardData"}, "MeMo MessageHeader/ForwardData is not supported"},
		{&UnsupportedError{Element: "MessageHeader/messageType", Value: "NEMSMS"}, `MeMo MessageHeader/messageType "NEMSMS" is not supported`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
