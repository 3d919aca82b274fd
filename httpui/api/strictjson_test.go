package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
)

// TestDeliverStrictJSON: the message part is read strictly (issue 13). A
// field the API does not know, a name written in another case, a name
// given twice, invalid UTF-8 or a lone surrogate in a text, a value of the
// wrong kind, a second JSON value or a charset other than UTF-8 are each
// refused with INVALID_REQUEST naming the field, and nothing is stored.
// Before, each was taken silently: {"recipient":A,"recipient":B} was
// delivered to B, "NATIONALID" was taken for "nationalId", and bad UTF-8
// was replaced with U+FFFD.
func TestDeliverStrictJSON(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	const tail = `"subject":"Your tax assessment","senderReference":"strict","type":"decision"`
	for _, tc := range []struct {
		name, message, contentType, detail string
	}{
		{"an unknown field", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},` + tail + `,"notBeforeX":"2027-01-01T00:00:00Z"}`, "",
			"invalid notBeforeX: unknown field (names are case-sensitive; the OpenAPI document lists the fields)"},
		{"a mis-cased name", `{"recipient":{"NATIONALID":"` + uitest.NIDAnna + `"},` + tail + `}`, "",
			"invalid recipient.NATIONALID: unknown field (names are case-sensitive; the OpenAPI document lists the fields)"},
		{"a mis-cased top-level name", `{"Recipient":{"nationalId":"` + uitest.NIDAnna + `"},` + tail + `}`, "",
			"invalid Recipient: unknown field (names are case-sensitive; the OpenAPI document lists the fields)"},
		{"a duplicate recipient", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},"recipient":{"nationalId":"` + uitest.NIDBjorn + `"},` + tail + `}`, "",
			"invalid recipient: given more than once"},
		{"a duplicate nested name", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `","nationalId":"` + uitest.NIDBjorn + `"},` + tail + `}`, "",
			"invalid recipient.nationalId: given more than once"},
		{"invalid UTF-8", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},"subject":"Skat ` + "\xff" + `","senderReference":"strict"}`, "",
			"invalid subject: not valid JSON: invalid UTF-8"},
		{"a lone surrogate", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},"subject":"Skat \ud800","senderReference":"strict"}`, "",
			"invalid subject: not valid JSON: a lone surrogate escape (RFC 8259 §8.2)"},
		{"a lone low surrogate", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},"subject":"\udc00","senderReference":"strict"}`, "",
			"invalid subject: not valid JSON: a lone surrogate escape (RFC 8259 §8.2)"},
		{"a number for a string", `{"recipient":{"nationalId":` + uitest.NIDAnna + `},` + tail + `}`, "",
			"invalid recipient.nationalId: must be a JSON string, not a number"},
		{"a string for a boolean", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},` + tail + `,"replyAllowed":"yes"}`, "",
			"invalid replyAllowed: must be a JSON boolean, not a string"},
		{"two values", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},` + tail + `} {}`, "",
			"invalid message: more than one JSON value"},
		{"not JSON", `recipient=` + uitest.NIDAnna, "",
			"invalid message: not valid JSON: invalid character 'r' at start of value"},
		{"Latin-1", `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},` + tail + `}`, "application/json; charset=iso-8859-1",
			`invalid message: charset "iso-8859-1"; JSON is UTF-8`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			r := e.Deliver(s.Client, uitest.Part{Name: "message", ContentType: ct, Body: []byte(tc.message)},
				uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
			p := uitest.WantProblem(t, r, http.StatusBadRequest, "INVALID_REQUEST")
			if p.Detail != tc.detail {
				t.Errorf("detail %q,\nwant   %q", p.Detail, tc.detail)
			}
		})
	}
	// The same message written correctly is taken, with the escape of a
	// character outside the BMP as a surrogate pair, as RFC 8259 §7 says.
	ok := `{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},"subject":"Skat \ud83d\udcec","senderReference":"strict"}`
	if r := e.Deliver(s.Client, uitest.Part{Name: "message", ContentType: "application/json; charset=utf-8", Body: []byte(ok)},
		uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc)); r.StatusCode != http.StatusCreated {
		t.Fatalf("the correct message: %d %s", r.StatusCode, r.Text)
	}
	if n := e.Deliveries(); n != 1 {
		t.Fatalf("%d letters stored, want the one correct letter", n)
	}
}

// TestDeliverTransferEncoding: a part with a Content-Transfer-Encoding
// the API does not do (quoted-printable, base64) is refused naming the
// part, not decoded silently (mime/multipart's NextPart decodes
// quoted-printable) nor stored encoded; the identity encodings are
// taken.
func TestDeliverTransferEncoding(t *testing.T) {
	t.Parallel()
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	body := func(ref, messageCTE, documentCTE string) (string, []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="message"`)
		h.Set("Content-Type", "application/json")
		if messageCTE != "" {
			h.Set("Content-Transfer-Encoding", messageCTE)
		}
		pw, _ := w.CreatePart(h)
		pw.Write([]byte(`{"recipient":{"nationalId":"` + uitest.NIDAnna + `"},"subject":"Skat","senderReference":"` + ref + `"}`))
		h = textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="document"; filename="a.txt"`)
		h.Set("Content-Type", "text/plain")
		if documentCTE != "" {
			h.Set("Content-Transfer-Encoding", documentCTE)
		}
		pw, _ = w.CreatePart(h)
		pw.Write([]byte("K=C3=A6re borger=\r\n, De har f=C3=A5et svar.\r\n"))
		w.Close()
		return w.FormDataContentType(), buf.Bytes()
	}
	for _, tc := range []struct{ message, document, detail string }{
		{"quoted-printable", "", `invalid message: Content-Transfer-Encoding "quoted-printable" is not supported; send the part as it is (binary)`},
		{"", "quoted-printable", `invalid document[0]: Content-Transfer-Encoding "quoted-printable" is not supported; send the part as it is (binary)`},
		{"", "Quoted-Printable", `invalid document[0]: Content-Transfer-Encoding "Quoted-Printable" is not supported; send the part as it is (binary)`},
		{"", "base64", `invalid document[0]: Content-Transfer-Encoding "base64" is not supported; send the part as it is (binary)`},
	} {
		ct, b := body("cte", tc.message, tc.document)
		p := uitest.WantProblem(t, e.DeliverRaw(s.Client, ct, b), http.StatusBadRequest, "INVALID_REQUEST")
		if p.Detail != tc.detail {
			t.Errorf("%s/%s: detail %q, want %q", tc.message, tc.document, p.Detail, tc.detail)
		}
	}
	if n := e.Deliveries(); n != 0 {
		t.Fatalf("%d letters stored", n)
	}
	for i, cte := range []string{"binary", "8bit", "7bit"} {
		ct, b := body("identity-"+cte, cte, cte)
		if r := e.DeliverRaw(s.Client, ct, b); r.StatusCode != http.StatusCreated {
			t.Errorf("Content-Transfer-Encoding %s: %d %s", cte, r.StatusCode, r.Text)
		} else if n := e.Deliveries(); n != i+1 {
			t.Errorf("%d letters after %s", n, cte)
		}
	}
}
