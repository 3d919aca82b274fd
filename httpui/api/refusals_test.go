package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestDeliverToPendingMailbox: a mailbox the operator enrolled and the
// resident has not activated has no key to seal to: the lookup says not
// digital and a letter is refused with 422, until the activation.
func TestDeliverToPendingMailbox(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	code := e.Enrol(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	digital := func() bool {
		t.Helper()
		return uitest.DecodeJSON[struct {
			Digital bool `json:"digital"`
		}](t, e.Get(s.Client, e.HTTPSURL+"/api/v1/recipients/"+uitest.NIDAnna)).Digital
	}
	if digital() {
		t.Fatal("a pending mailbox is digital")
	}
	p := uitest.WantProblem(t, e.Deliver(s.Client, uitest.ValidDelivery("before-activation")...), http.StatusUnprocessableEntity, "RECIPIENT_NOT_DIGITAL")
	if !strings.Contains(p.Detail, "not activated") {
		t.Errorf("detail %q does not mention activation", p.Detail)
	}
	if r := e.PostForm(e.Browser(), e.HTTPURL+"/activate", uitest.Activation(uitest.NIDAnna, code, uitest.Password, uitest.Password), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("activate: %d", r.StatusCode)
	}
	if !digital() {
		t.Fatal("the activated mailbox is not digital")
	}
	if r := e.Deliver(s.Client, uitest.ValidDelivery("before-activation")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("delivery after activation: %d %s", r.StatusCode, r.Text)
	}
}

// TestDeliverFormatCharacters: a subject, body, reference or file name
// with a Unicode format character (a bidi override that makes
// "Faktura\u202Efdp.bat" show as "Fakturatab.pdf", a zero-width space) is
// refused with INVALID_REQUEST naming the field and the character, and
// stores nothing.
func TestDeliverFormatCharacters(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Nordlys Energi", "31572290")
	// The file name raw in the part header, as curl -F sends it (Go's
	// multipart writer would escape it).
	ct, body := uitest.RawNameMultipart(uitest.LetterMessage(uitest.NIDAnna, "Your invoice", "bidi-name"), "Faktura\u202Efdp.bat", "application/pdf", uitest.PDFDoc)
	p := uitest.WantProblem(t, e.DeliverRaw(s.Client, ct, body), http.StatusBadRequest, "INVALID_REQUEST")
	if want := "invalid document[0]: file name must not contain Unicode format characters such as bidirectional controls (found U+202E)"; p.Detail != want {
		t.Errorf("file name: detail %q, want %q", p.Detail, want)
	}
	for _, tc := range []struct {
		name  string
		parts func() []uitest.Part
		want  string
	}{
		{"subject", func() []uitest.Part {
			return []uitest.Part{uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Refusion \u202Ekr 000 01", "bidi-subject")),
				uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc)}
		}, "invalid subject: must not contain Unicode format characters such as bidirectional controls (found U+202E)"},
		{"body", func() []uitest.Part {
			msg := uitest.LetterMessage(uitest.NIDAnna, "Your invoice", "bidi-body")
			msg["body"] = "Amount:\u200B 100 kr"
			return []uitest.Part{uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc)}
		}, "invalid body: must not contain Unicode format characters such as bidirectional controls (found U+200B)"},
		{"reference", func() []uitest.Part {
			return []uitest.Part{uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Your invoice", "sag\u2066-1")),
				uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc)}
		}, "invalid senderReference: must not contain Unicode format characters such as bidirectional controls (found U+2066)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := uitest.WantProblem(t, e.Deliver(s.Client, tc.parts()...), http.StatusBadRequest, "INVALID_REQUEST")
			if p.Detail != tc.want {
				t.Errorf("detail %q, want %q", p.Detail, tc.want)
			}
		})
	}
	if n := e.Deliveries(); n != 0 {
		t.Fatalf("%d letters stored", n)
	}
}
