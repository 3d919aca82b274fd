package api_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// The MeMo messages of the tests: those of package memo's testdata, sent
// by Eksempelby Kommune (CVR 29189846) to Anna Jensen (1203861234) and
// Lars Nielsen (0507524321), and testdata/memo/tax-bill-1.2.xml.
const (
	memoSender    = "29189846"
	memoAnna      = "1203861234"
	memoLars      = "0507524321"
	memoMinimum   = "../memo/testdata/minimum-1.1.xml"
	memoNotBefore = "../memo/testdata/not-before-1.2.xml"
	memoTaxBill   = "testdata/memo/tax-bill-1.2.xml"
)

func readMemo(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editMemo replaces old by new in a message, once; a test that does not
// change what it means to is a bad test.
func editMemo(t testing.TB, b []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(b, []byte(old)); n != 1 {
		t.Fatalf("bad test: %q occurs %d times, want once", old, n)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// postMemo sends body to POST /api/v1/memo with c.
func postMemo(e *uitest.Env, c *http.Client, contentType string, body []byte, header http.Header) *uitest.Response {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/memo", bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Do(c, req)
}

// memoEnv is an appliance at testsupport.Start with the residents and the
// sender of the MeMo messages.
func memoEnv(t *testing.T, opts apptest.Options) (*uitest.Env, *uitest.Sender, *testsupport.Clock) {
	clock := testsupport.NewClock()
	opts.StoreClock = clock.Now
	e := apptest.NewEnv(t, opts)
	e.AddResident(memoAnna, "Anna Jensen")
	e.AddResident(memoLars, "Lars Nielsen")
	s := e.AddSender("Eksempelby Kommune", memoSender)
	e.AddReplyKey(s) // the tax bill allows replies
	return e, s, clock
}

type memoAnswer struct {
	ID          string
	Status      string
	DeliveredAt time.Time
	Receipt     *struct{ Payload string }
}

// TestMemoDeliver: each realistic MeMo message is delivered as the JSON
// API delivers — 201 with the status and (unless scheduled) the receipt,
// a Location — and its resident reads what the message said: the label as
// the subject, the files as documents in the message's order (the main
// document first, the technical one last), the actions, replies allowed,
// the messageUUID as the sender reference; doNotDeliverUntilDate
// schedules the letter for the start of that day in Copenhagen.
func TestMemoDeliver(t *testing.T) {
	t.Parallel()
	e, s, clock := memoEnv(t, apptest.Options{})

	type doc struct{ name, contentType string }
	for _, tc := range []struct {
		file, nid, status, subject, reference string
		deliveredAt                           time.Time
		reply                                 bool
		docs                                  []doc
		actions                               []store.Action
	}{
		{
			file: memoMinimum, nid: memoAnna, status: "delivered", deliveredAt: clock.Now(),
			subject: "Afgørelse om boligstøtte", reference: "946d6765-6e22-4d0f-8d73-72986f39376d",
			docs: []doc{{"Afgørelse.pdf", "application/pdf"}},
		},
		{
			file: memoTaxBill, nid: memoAnna, status: "delivered", deliveredAt: clock.Now(), reply: true,
			subject: "Opkrævning af ejendomsskat, 1. rate 2027", reference: "5d0b7a6e-3f2c-4c8e-9a51-7e2f0c9b1d24",
			docs: []doc{
				{"Opkrævning ejendomsskat 2027.pdf", "application/pdf"},
				{"Klagevejledning.txt", "text/plain"},
				{"Afgørelse om ejendomsskat.pdf", "application/pdf"},
				{"opkraevning.txt", "text/plain"},
			},
			actions: []store.Action{
				{Type: "pay", Label: "Betal ejendomsskat", URL: "https://betaling.eksempelby.dk/ejendomsskat?sag=EJD-2027-000318&rate=1", Deadline: "2027-01-31"},
				{Type: "appointment", Label: "Book tid til vurderingssamtale", At: "2027-01-14T09:30:00Z"},
				{Type: "link", Label: "Læs om ejendomsskat", URL: "https://www.eksempelby.dk/ejendomsskat"},
			},
		},
		{
			file: memoNotBefore, nid: memoLars, status: "scheduled",
			deliveredAt: time.Date(2027, 2, 28, 23, 0, 0, 0, time.UTC), // 1 March 00:00 in Copenhagen (CET)
			subject:     "Indkaldelse til samtale om sygedagpenge", reference: "822aa229-93fd-448a-9621-0c36e68641bb",
			docs: []doc{{"Indkaldelse.pdf", "application/pdf"}},
			actions: []store.Action{
				{Type: "link", Label: "Udfyld skema før samtalen", URL: "https://jobcenter.eksempelby.dk/skema/sygedagpenge", Deadline: "2027-03-15"},
			},
		},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			r := postMemo(e, s.Client, "application/xml", readMemo(t, tc.file), nil)
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("POST /api/v1/memo: %d %s", r.StatusCode, r.Text)
			}
			a := uitest.DecodeJSON[memoAnswer](t, r)
			if a.Status != tc.status || !a.DeliveredAt.Equal(tc.deliveredAt) || (a.Receipt != nil) == (tc.status == "scheduled") {
				t.Errorf("answer %s, want %s at %s", r.Text, tc.status, tc.deliveredAt)
			}
			if loc := r.Header.Get("Location"); loc != "/api/v1/messages/"+a.ID {
				t.Errorf("Location %q", loc)
			}
			st := e.Get(s.Client, e.HTTPSURL+"/api/v1/messages/"+a.ID)
			if st.StatusCode != http.StatusOK || !strings.Contains(st.Text, `"status":"`+tc.status+`"`) {
				t.Errorf("status: %d %s", st.StatusCode, st.Text)
			}
			if tc.status == "scheduled" {
				clock.Set(tc.deliveredAt)
				if n, err := e.Store.ReleaseScheduled(context.Background()); err != nil || n != 1 {
					t.Fatalf("release: %d, %v", n, err)
				}
			}
			l := e.ResidentLetter(tc.nid, a.ID)
			if l.Subject != tc.subject || l.SenderReference != tc.reference || l.ReplyAllowed != tc.reply ||
				l.SenderName != "Eksempelby Kommune" || l.Type != store.TypeLetter || !l.DeliveredAt.Equal(tc.deliveredAt) {
				t.Errorf("the resident reads %q from %q (reference %q, replies %v, type %q, delivered %s)",
					l.Subject, l.SenderName, l.SenderReference, l.ReplyAllowed, l.Type, l.DeliveredAt)
			}
			var docs []doc
			for _, d := range l.Documents {
				docs = append(docs, doc{d.Name, d.ContentType})
			}
			if !reflect.DeepEqual(docs, tc.docs) {
				t.Errorf("documents %q, want %q", docs, tc.docs)
			}
			if len(l.Actions) != len(tc.actions) || (len(tc.actions) > 0 && !reflect.DeepEqual(l.Actions, tc.actions)) {
				t.Errorf("actions %+v, want %+v", l.Actions, tc.actions)
			}
		})
	}
}

// TestMemoTechnicalXML: a technical document in XML (the message with
// documents and actions) is delivered as a document of type
// application/xml, after the others, under its file name.
func TestMemoTechnicalXML(t *testing.T) {
	t.Parallel()
	e, s, _ := memoEnv(t, apptest.Options{})
	r := postMemo(e, s.Client, "application/xml", readMemo(t, "../memo/testdata/documents-actions-1.2.xml"), nil)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/memo: %d %s", r.StatusCode, r.Text)
	}
	a := uitest.DecodeJSON[memoAnswer](t, r)
	l := e.ResidentLetter(memoAnna, a.ID)
	if n := len(l.Documents); n != 4 || l.Documents[3].Name != "opkraevning.xml" || l.Documents[3].ContentType != "application/xml" {
		t.Fatalf("documents %+v, want the fourth opkraevning.xml of type application/xml", l.Documents)
	}
}

// TestMemoIdempotent: the messageUUID is the idempotency key. The same
// message again is 200 with the first answer and no second letter (also
// as text/xml, and with the UUID in upper case, which MeMo allows); another
// message under the same messageUUID is 409; another sender may use the
// same messageUUID; a JSON delivery with the UUID as its senderReference
// is the same key.
func TestMemoIdempotent(t *testing.T) {
	t.Parallel()
	e, s, _ := memoEnv(t, apptest.Options{})
	other := e.AddSender("Region Midtjylland", "29190925")
	msg := readMemo(t, memoMinimum)
	first := postMemo(e, s.Client, "application/xml", msg, nil)
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("first: %d %s", first.StatusCode, first.Text)
	}
	lower := editMemo(t, msg, "946D6765-6E22-4D0F-8D73-72986F39376D", "946d6765-6e22-4d0f-8d73-72986f39376d")
	for _, tc := range []struct {
		name, contentType string
		body              []byte
	}{
		{"the same", "application/xml", msg},
		{"as text/xml in UTF-8", "text/xml; charset=utf-8", msg},
		{"the UUID in lower case", "application/xml", lower},
	} {
		again := postMemo(e, s.Client, tc.contentType, tc.body, nil)
		if again.StatusCode != http.StatusOK || again.Text != first.Text || again.Header.Get("Location") != first.Header.Get("Location") {
			t.Errorf("%s again: %d %s\nfirst: %s", tc.name, again.StatusCode, again.Text, first.Text)
		}
	}
	changed := editMemo(t, msg, "<memo:label>Afgørelse om boligstøtte</memo:label>", "<memo:label>Afgørelse om boligstøtte (rettet)</memo:label>")
	p := uitest.WantProblem(t, postMemo(e, s.Client, "application/xml", changed, nil), http.StatusConflict, "DUPLICATE_REFERENCE")
	if !strings.Contains(p.Detail, "946d6765-6e22-4d0f-8d73-72986f39376d") {
		t.Errorf("detail %q does not name the messageUUID", p.Detail)
	}
	json := uitest.LetterMessage(memoAnna, "Afgørelse om boligstøtte", "946d6765-6e22-4d0f-8d73-72986f39376d")
	uitest.WantProblem(t, e.Deliver(s.Client, uitest.MessagePart(json), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc)),
		http.StatusConflict, "DUPLICATE_REFERENCE")
	// Another sender with the same messageUUID: its own letter (its own
	// CVR number in the message).
	theirs := editMemo(t, msg, "<memo:senderID>"+memoSender+"</memo:senderID>", "<memo:senderID>29190925</memo:senderID>")
	if r := postMemo(e, other.Client, "application/xml", theirs, nil); r.StatusCode != http.StatusCreated {
		t.Fatalf("another sender, the same messageUUID: %d %s", r.StatusCode, r.Text)
	}
	if n := e.Deliveries(); n != 2 {
		t.Fatalf("%d letters stored, want 2", n)
	}
}

// TestMemoRefused: every refusal of a MeMo message is the right problem,
// names what is at fault, and stores nothing.
func TestMemoRefused(t *testing.T) {
	t.Parallel()
	limits := store.DefaultLimits()
	limits.MaxDocumentSize = 4 << 10
	limits.MaxLetterSize = 8 << 10
	e, s, _ := memoEnv(t, apptest.Options{Limits: limits})
	minimum := readMemo(t, memoMinimum)
	edit := func(old, new string) []byte { return editMemo(t, minimum, old, new) }
	// The minimum message's PDF, padded: over the document limit, and
	// (three of them, each under it) over the letter limit.
	pdf := func(size int) string {
		var b strings.Builder
		b.WriteString("JVBERi0xLjQK") // %PDF-1.4\n
		b.WriteString(strings.Repeat("eHh4", (size-9)/3))
		return b.String()
	}
	file := func(name, content string) string {
		return "<memo:File><memo:encodingFormat>application/pdf</memo:encodingFormat><memo:filename>" + name +
			"</memo:filename><memo:language>da</memo:language><memo:content>" + content + "</memo:content></memo:File>"
	}
	content := minimum[bytes.Index(minimum, []byte("<memo:content>")):]
	content = content[:bytes.Index(content, []byte("</memo:content>"))+len("</memo:content>")]
	// The message with documents and actions, its technical XML document
	// cut short (no longer well-formed).
	brokenXML := readMemo(t, "../memo/testdata/documents-actions-1.2.xml")
	technical := bytes.Index(brokenXML, []byte("<TechnicalDocument>"))
	start := technical + bytes.Index(brokenXML[technical:], []byte("<content>")) + len("<content>")
	end := start + bytes.Index(brokenXML[start:], []byte("</content>"))
	brokenXML = slices.Concat(brokenXML[:start], []byte(base64.StdEncoding.EncodeToString([]byte("<Opkraevning><Beloeb>4211.50</Opkraevning>"))), brokenXML[end:])
	var three strings.Builder
	for i := range 3 {
		three.WriteString("<memo:AdditionalDocument>" + file(string(rune('a'+i))+".pdf", pdf(3<<10)) + "</memo:AdditionalDocument>")
	}

	for _, tc := range []struct {
		name, contentType string
		body              []byte
		status            int
		code, detail      string
	}{
		{"JSON", "application/json", []byte(`{"subject": "x"}`), 415, "UNSUPPORTED_MEDIA_TYPE", "application/xml"},
		{"no content type", "", minimum, 415, "UNSUPPORTED_MEDIA_TYPE", "application/xml"},
		{"multipart", "multipart/form-data; boundary=x", minimum, 415, "UNSUPPORTED_MEDIA_TYPE", "multipart/form-data"},
		{"Latin-1", "application/xml; charset=iso-8859-1", minimum, 415, "UNSUPPORTED_MEDIA_TYPE", "iso-8859-1"},
		{"empty", "application/xml", nil, 400, "INVALID_REQUEST", "MeMo Message"},
		{"not XML", "application/xml", []byte("hello"), 400, "INVALID_REQUEST", "MeMo Message"},
		{"truncated", "application/xml", minimum[:len(minimum)/2], 400, "INVALID_REQUEST", "MeMo"},
		{"another sender's CVR number", "application/xml", edit("<memo:senderID>"+memoSender+"</memo:senderID>", "<memo:senderID>29190925</memo:senderID>"),
			403, "FORBIDDEN", "MessageHeader/Sender/senderID"},
		{"an element MeMo does not define", "application/xml", readMemo(t, "../memo/testdata/unknown-element.xml"),
			400, "INVALID_REQUEST", "MeMo MessageBody/MainDocument/File[1]/checksum"},
		{"ForwardData", "application/xml", edit("</memo:Recipient>", "</memo:Recipient><memo:ForwardData><memo:messageUUID>3c3c4ec5-1d6b-4b7e-a0a4-0c2d1e3f4a5b</memo:messageUUID></memo:ForwardData>"),
			400, "INVALID_REQUEST", "MeMo MessageHeader/ForwardData: not supported"},
		{"mandatory", "application/xml", edit("<memo:mandatory>false</memo:mandatory>", "<memo:mandatory>true</memo:mandatory>"),
			400, "INVALID_REQUEST", `MeMo MessageHeader/mandatory: the value "true" is not supported`},
		{"an entity", "application/xml", readMemo(t, "../memo/testdata/doctype-entity.xml"), 400, "INVALID_REQUEST", "DOCTYPE"},
		{"too deep", "application/xml", readMemo(t, "../memo/testdata/too-deep.xml"), 400, "INVALID_REQUEST", "deep"},
		{"bad base64", "application/xml", readMemo(t, "../memo/testdata/bad-base64.xml"), 400, "INVALID_REQUEST", "content"},
		{"a bad messageUUID", "application/xml", edit("946D6765-6E22-4D0F-8D73-72986F39376D", "946D6765"), 400, "INVALID_REQUEST", "MeMo MessageHeader/messageUUID"},
		{"a bad CPR number", "application/xml", edit("<memo:recipientID>"+memoAnna+"</memo:recipientID>", "<memo:recipientID>3213701234</memo:recipientID>"),
			400, "INVALID_REQUEST", "MeMo MessageHeader/Recipient/recipientID"},
		{"a Norwegian number", "application/xml", edit("<memo:recipientID>"+memoAnna+"</memo:recipientID>", "<memo:recipientID>15058910063</memo:recipientID>"),
			400, "INVALID_REQUEST", "MeMo MessageHeader/Recipient/recipientID: idType is CPR"},
		{"nobody's CPR number", "application/xml", edit("<memo:recipientID>"+memoAnna+"</memo:recipientID>", "<memo:recipientID>"+uitest.NIDNobody+"</memo:recipientID>"),
			404, "UNKNOWN_RECIPIENT", ""},
		{"a date more than a year ahead", "application/xml", edit("<memo:mandatory>", "<memo:doNotDeliverUntilDate>2028-01-01</memo:doNotDeliverUntilDate><memo:mandatory>"),
			400, "INVALID_REQUEST", "notBefore"},
		{"an action that is not https", "application/xml", edit("</memo:File>", "</memo:File><memo:Action><memo:label>Læs mere</memo:label><memo:actionCode>INFORMATION</memo:actionCode><memo:EntryPoint><memo:url>http://www.eksempelby.dk/</memo:url></memo:EntryPoint></memo:Action>"),
			400, "INVALID_REQUEST", "url"},
		{"declared PDF, content text", "application/xml", editMemo(t, minimum, string(content), "<memo:content>SGVq</memo:content>"),
			415, "UNSUPPORTED_DOCUMENT_TYPE", "document[0]"},
		{"an XML technical document that is not well-formed", "application/xml", brokenXML,
			415, "UNSUPPORTED_DOCUMENT_TYPE", "document[3]: declared application/xml"},
		{"a document over the limit", "application/xml", editMemo(t, minimum, string(content), "<memo:content>"+pdf(5<<10)+"</memo:content>"),
			413, "DOCUMENT_TOO_LARGE", ""},
		{"the documents over the limit", "application/xml", edit("</memo:MainDocument>", "</memo:MainDocument>"+three.String()),
			413, "DOCUMENT_TOO_LARGE", "together"},
		{"the message over the limit", "application/xml", edit("<memo:label>Afgørelse om boligstøtte</memo:label>",
			"<memo:label>Afgørelse om boligstøtte</memo:label><!-- "+strings.Repeat("x", int(limits.MaxLetterSize)*3/2+1<<20)+" -->"),
			413, "DOCUMENT_TOO_LARGE", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := uitest.WantProblem(t, postMemo(e, s.Client, tc.contentType, tc.body, nil), tc.status, tc.code)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not name %q", p.Detail, tc.detail)
			}
		})
	}
	if n := e.Deliveries(); n != 0 {
		t.Fatalf("%d letters stored by refused messages", n)
	}
	if r := postMemo(e, s.Client, "application/xml", minimum, nil); r.StatusCode != http.StatusCreated {
		t.Fatalf("the message itself: %d %s", r.StatusCode, r.Text)
	}
}

// TestMemoAuthorization: without a certificate, or from another site
// (with the sender's certificate even), a MeMo message is refused and
// nothing stored; another sender cannot see the letter's status or
// withdraw it, and cannot deliver in this sender's name.
func TestMemoAuthorization(t *testing.T) {
	t.Parallel()
	e, s, _ := memoEnv(t, apptest.Options{})
	other := e.AddSender("Nordlys Energi A/S", "12345674")
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})
	msg := readMemo(t, memoNotBefore)

	uitest.WantProblem(t, postMemo(e, anonymous, "application/xml", msg, nil), http.StatusUnauthorized, "UNAUTHENTICATED")
	uitest.WantProblem(t, postMemo(e, s.Client, "application/xml", msg, http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}),
		http.StatusForbidden, "FORBIDDEN")
	uitest.WantProblem(t, postMemo(e, other.Client, "application/xml", msg, nil), http.StatusForbidden, "FORBIDDEN")
	if n := e.Deliveries(); n != 0 {
		t.Fatalf("%d letters stored by refused messages", n)
	}

	r := postMemo(e, s.Client, "application/xml", msg, nil)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id := uitest.DecodeJSON[memoAnswer](t, r).ID
	u := e.HTTPSURL + "/api/v1/messages/" + id
	uitest.WantProblem(t, e.Get(other.Client, u), http.StatusNotFound, "NOT_FOUND")
	req, _ := http.NewRequest(http.MethodDelete, u, nil)
	uitest.WantProblem(t, e.Do(other.Client, req), http.StatusNotFound, "NOT_FOUND")
	if st := e.Get(s.Client, u); st.StatusCode != http.StatusOK || !strings.Contains(st.Text, `"status":"scheduled"`) {
		t.Fatalf("own status after the other sender's tries: %d %s", st.StatusCode, st.Text)
	}
}

// TestSendersGuideMemoCurl runs docs/SENDERS.md's MeMo example as it is
// written: the guide's message, saved under the name its curl command
// sends, with real curl, a client certificate and the guide's variables.
// The letter arrives with the message's subject and action; sending it
// again answers 200 with the same letter.
func TestSendersGuideMemoCurl(t *testing.T) {
	t.Parallel()
	e, s, _ := memoEnv(t, apptest.Options{})
	section := e.GuideSection("MeMo (Danish Digital Post)")
	_, xml, ok := strings.Cut(section, "```xml\n")
	xml, rest, ok2 := strings.Cut(xml, "```")
	_, block, ok3 := strings.Cut(rest, "```sh\n")
	block, _, ok4 := strings.Cut(block, "```")
	file := regexp.MustCompile(`@([\w.-]+\.xml)`).FindStringSubmatch(block)
	if !ok || !ok2 || !ok3 || !ok4 || file == nil {
		t.Fatal("docs/SENDERS.md has no MeMo message and curl command sending it under \"## MeMo (Danish Digital Post)\"")
	}
	var command []string // the block without its comments (the answers)
	for _, line := range strings.Split(block, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			command = append(command, line)
		}
	}
	run := e.SenderShell(s, map[string][]byte{file[1]: []byte(xml)})
	curl := func() (status string, answer memoAnswer) {
		t.Helper()
		out, body := run(strings.Join(command, "\n") + " -s -o /dev/stderr -w '%{http_code}'")
		if err := json.Unmarshal(body, &answer); err != nil {
			t.Fatalf("the example answered %s %s: %v", out, body, err)
		}
		return string(out), answer
	}
	status, first := curl()
	if status != "201" || first.Status != "delivered" || first.Receipt == nil {
		t.Fatalf("the example: %s %+v", status, first)
	}
	if status, again := curl(); status != "200" || again.ID != first.ID {
		t.Errorf("the example again: %s %+v, want 200 with %s", status, again, first.ID)
	}
	l := e.ResidentLetter(memoAnna, first.ID)
	want := []store.Action{{Type: "link", Label: "Se din sag", URL: "https://selvbetjening.eksempelby.dk/sag/2026-4511"}}
	if l.Subject != "Afgørelse om boligstøtte" || l.SenderReference != "0b9f5a52-7a3e-4f0e-9d6c-2b8f1c4e7a10" || !reflect.DeepEqual(l.Actions, want) ||
		len(l.Documents) != 1 || l.Documents[0].Name != "Afgørelse.pdf" {
		t.Errorf("the resident reads %q (%q) with %+v and %+v", l.Subject, l.SenderReference, l.Actions, l.Documents)
	}
}
