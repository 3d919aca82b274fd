package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/api"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
)

// openAPIValidator returns a validator of the API's OpenAPI document,
// which must itself be a valid OpenAPI 3.1 document.
func openAPIValidator(t *testing.T) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(api.OpenAPIDocument())
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("OpenAPI version %q, want 3.1.0", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("the OpenAPI document does not build: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("the OpenAPI document is not valid OpenAPI 3.1: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	return v
}

// TestOpenAPI: the document is served without a certificate and is valid
// OpenAPI 3.1; every answer of the API, good and bad, on every route,
// matches it (its status, content type and body schema); a request the
// document refuses is refused by the API too.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	v := openAPIValidator(t)
	e := apptest.NewEnv(t, apptest.Options{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	other := e.AddSender("Nordlys Energi A/S", "12345674")
	anonymous := e.Client(&tls.Config{RootCAs: e.CA.Pool()})

	served := e.Get(anonymous, e.HTTPSURL+"/api/v1/openapi.json")
	if served.StatusCode != http.StatusOK || served.Header.Get("Content-Type") != "application/json" || served.Text != string(api.OpenAPIDocument()) {
		t.Fatalf("GET /api/v1/openapi.json without a certificate: %d %s", served.StatusCode, served.Header.Get("Content-Type"))
	}

	check := func(name string, c *http.Client, method, path, contentType string, body []byte, status int) *uitest.Response {
		t.Helper()
		req, err := http.NewRequest(method, e.HTTPSURL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		r := e.Do(c, req)
		if r.StatusCode != status {
			t.Errorf("%s: %d, want %d\n%s", name, r.StatusCode, status, r.Text)
		}
		// The validator reads the answer again, and the request for its
		// route: both from copies.
		vreq, _ := http.NewRequest(method, e.HTTPSURL+path, bytes.NewReader(body))
		if contentType != "" {
			vreq.Header.Set("Content-Type", contentType)
		}
		resp := &http.Response{StatusCode: r.StatusCode, Header: r.Header.Clone(), Body: io.NopCloser(strings.NewReader(r.Text)), Request: vreq}
		if ok, errs := v.ValidateHttpResponse(vreq, resp); !ok {
			for _, err := range errs {
				t.Errorf("%s: the answer (%d) does not match the OpenAPI document: %s: %s", name, r.StatusCode, err.Message, err.Reason)
			}
		}
		return r
	}
	ct, delivery := uitest.MultipartBody(uitest.ValidDelivery("openapi-1")...)
	r := check("deliver", s.Client, http.MethodPost, "/api/v1/messages", ct, delivery, http.StatusCreated)
	var d struct{ ID string }
	if err := json.Unmarshal([]byte(r.Text), &d); err != nil {
		t.Fatal(err)
	}
	check("deliver again", s.Client, http.MethodPost, "/api/v1/messages", ct, delivery, http.StatusOK)
	msg := uitest.LetterMessage(uitest.NIDAnna, "Another subject", "openapi-1")
	ct2, changed := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	check("deliver a changed letter under the same reference", s.Client, http.MethodPost, "/api/v1/messages", ct2, changed, http.StatusConflict)
	msg = uitest.LetterMessage(uitest.NIDNobody, "To nobody", "openapi-2")
	ct3, nobody := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	check("deliver to nobody", s.Client, http.MethodPost, "/api/v1/messages", ct3, nobody, http.StatusNotFound)
	msg = uitest.LetterMessage(uitest.NIDAnna, "A picture", "openapi-3")
	ct4, wrongType := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.exe", "application/x-msdownload", []byte("MZ")))
	check("deliver an unsupported document", s.Client, http.MethodPost, "/api/v1/messages", ct4, wrongType, http.StatusUnsupportedMediaType)
	ct5, structured := uitest.MultipartBody(uitest.MessagePart(uitest.InvoiceMessage(uitest.NIDAnna, "Faktura", "openapi-4")), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	check("deliver an invoice with actions", s.Client, http.MethodPost, "/api/v1/messages", ct5, structured, http.StatusCreated)
	msg = uitest.InvoiceMessage(uitest.NIDAnna, "Faktura", "openapi-5")
	msg["invoice"].(map[string]any)["amount"] = "12.345"
	ct6, badAmount := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	check("deliver an invoice with a bad amount", s.Client, http.MethodPost, "/api/v1/messages", ct6, badAmount, http.StatusBadRequest)
	msg = uitest.LetterMessage(uitest.NIDAnna, "A field of a later version", "openapi-6")
	msg["notBeforeX"] = "2027-01-01T00:00:00Z"
	ct7, unknown := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	check("deliver with an unknown field", s.Client, http.MethodPost, "/api/v1/messages", ct7, unknown, http.StatusBadRequest)
	check("deliver nonsense", s.Client, http.MethodPost, "/api/v1/messages", "text/plain", []byte("hello"), http.StatusBadRequest)
	check("deliver without a certificate", anonymous, http.MethodPost, "/api/v1/messages", ct, delivery, http.StatusUnauthorized)

	// MeMo: the same answers as a delivery, and its own refusals.
	e.AddResident(memoAnna, "Anna Jensen")
	m := e.AddSender("Eksempelby Kommune", memoSender)
	minimum := readMemo(t, memoMinimum)
	check("deliver MeMo", m.Client, http.MethodPost, "/api/v1/memo", "application/xml", minimum, http.StatusCreated)
	check("deliver MeMo again", m.Client, http.MethodPost, "/api/v1/memo", "text/xml", minimum, http.StatusOK)
	check("deliver MeMo as JSON", m.Client, http.MethodPost, "/api/v1/memo", "application/json", []byte(`{}`), http.StatusUnsupportedMediaType)
	check("deliver MeMo with an unsupported element", m.Client, http.MethodPost, "/api/v1/memo", "application/xml", readMemo(t, "../memo/testdata/unknown-element.xml"), http.StatusBadRequest)
	check("deliver MeMo in another sender's name", s.Client, http.MethodPost, "/api/v1/memo", "application/xml", minimum, http.StatusForbidden)
	check("deliver MeMo without a certificate", anonymous, http.MethodPost, "/api/v1/memo", "application/xml", minimum, http.StatusUnauthorized)
	if _, err := e.Store.NewPrintKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	msg = uitest.LetterMessage(uitest.NIDNobody, "To print", "openapi-print")
	msg["print"] = printDetails()
	ctp, toPrint := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", testsupport.PDF("Brev")))
	var pd struct{ ID string }
	if err := json.Unmarshal([]byte(check("deliver to nobody, with print details", s.Client, http.MethodPost, "/api/v1/messages", ctp, toPrint, http.StatusCreated).Text), &pd); err != nil {
		t.Fatal(err)
	}
	check("deliver to print again", s.Client, http.MethodPost, "/api/v1/messages", ctp, toPrint, http.StatusOK)
	check("status of a letter to print", s.Client, http.MethodGet, "/api/v1/messages/"+pd.ID, "", nil, http.StatusOK)
	check("another sender's status of a letter to print", other.Client, http.MethodGet, "/api/v1/messages/"+pd.ID, "", nil, http.StatusNotFound)
	msg["senderReference"] = "openapi-print-2"
	msg["print"].(map[string]any)["address"].(map[string]any)["postalCode"] = ""
	ctp2, noPostal := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", testsupport.PDF("Brev")))
	check("deliver to print without a postal code", s.Client, http.MethodPost, "/api/v1/messages", ctp2, noPostal, http.StatusBadRequest)

	msg = uitest.LetterMessage(uitest.NIDAnna, "A letter for later", "openapi-5")
	msg["notBefore"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	ct6, later := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	var sd struct{ ID string }
	if err := json.Unmarshal([]byte(check("deliver a scheduled letter", s.Client, http.MethodPost, "/api/v1/messages", ct6, later, http.StatusCreated).Text), &sd); err != nil {
		t.Fatal(err)
	}
	check("status of a scheduled letter", s.Client, http.MethodGet, "/api/v1/messages/"+sd.ID, "", nil, http.StatusOK)
	check("deliver a scheduled letter again", s.Client, http.MethodPost, "/api/v1/messages", ct6, later, http.StatusOK)
	check("another sender withdraws", other.Client, http.MethodDelete, "/api/v1/messages/"+sd.ID, "", nil, http.StatusNotFound)
	check("withdraw without a certificate", anonymous, http.MethodDelete, "/api/v1/messages/"+sd.ID, "", nil, http.StatusUnauthorized)
	check("withdraw a delivered letter", s.Client, http.MethodDelete, "/api/v1/messages/"+d.ID, "", nil, http.StatusConflict)
	check("withdraw", s.Client, http.MethodDelete, "/api/v1/messages/"+sd.ID, "", nil, http.StatusNoContent)
	check("status", s.Client, http.MethodGet, "/api/v1/messages/"+d.ID, "", nil, http.StatusOK)
	check("another sender's status", other.Client, http.MethodGet, "/api/v1/messages/"+d.ID, "", nil, http.StatusNotFound)
	check("look up", s.Client, http.MethodGet, "/api/v1/recipients/"+uitest.NIDAnna, "", nil, http.StatusOK)
	check("look up a bad number", s.Client, http.MethodGet, "/api/v1/recipients/12345", "", nil, http.StatusBadRequest)
	check("look up many", s.Client, http.MethodPost, "/api/v1/recipients/lookup", "application/json",
		[]byte(`{"nationalIds": ["`+uitest.NIDAnna+`", "`+uitest.NIDNobody+`"]}`), http.StatusOK)
	check("look up many, one bad", s.Client, http.MethodPost, "/api/v1/recipients/lookup", "application/json",
		[]byte(`{"nationalIds": ["12345"]}`), http.StatusBadRequest)
	check("receipt key", s.Client, http.MethodGet, "/api/v1/receipt-key", "", nil, http.StatusOK)
	check("signing CA", s.Client, http.MethodGet, "/api/v1/signing-ca", "", nil, http.StatusOK)
	check("signing CA without a certificate", anonymous, http.MethodGet, "/api/v1/signing-ca", "", nil, http.StatusUnauthorized)
	check("events", s.Client, http.MethodGet, "/api/v1/events?limit=10", "", nil, http.StatusOK)
	check("events, a bad limit", s.Client, http.MethodGet, "/api/v1/events?limit=0", "", nil, http.StatusBadRequest)
	check("events without a certificate", anonymous, http.MethodGet, "/api/v1/events", "", nil, http.StatusUnauthorized)
	check("no callback", s.Client, http.MethodGet, "/api/v1/callback", "", nil, http.StatusNotFound)
	check("set a callback", s.Client, http.MethodPut, "/api/v1/callback", "application/json", []byte(`{"url": "https://93.184.216.34/cb"}`), http.StatusOK)
	check("set a loopback callback", s.Client, http.MethodPut, "/api/v1/callback", "application/json", []byte(`{"url": "https://127.0.0.1/cb"}`), http.StatusBadRequest)
	check("set an http callback", s.Client, http.MethodPut, "/api/v1/callback", "application/json", []byte(`{"url": "http://93.184.216.34/cb"}`), http.StatusBadRequest)
	check("the callback", s.Client, http.MethodGet, "/api/v1/callback", "", nil, http.StatusOK)
	check("the callback without a certificate", anonymous, http.MethodGet, "/api/v1/callback", "", nil, http.StatusUnauthorized)
	check("remove the callback", s.Client, http.MethodDelete, "/api/v1/callback", "", nil, http.StatusNoContent)

	// Signatures: a request (which needs the sender's reply key), its
	// answer for the sender only.
	ctnk, noKey := uitest.MultipartBody(uitest.MessagePart(signatureMessage("openapi-sign-nokey", 5)), uitest.DocumentPart("a.pdf", "application/pdf", testsupport.PDF("Aftale")))
	check("deliver a signature request without a reply key", other.Client, http.MethodPost, "/api/v1/messages", ctnk, noKey, http.StatusBadRequest)
	replyKey, err := crypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	replyPub := replyKey.Public()
	check("register a reply key", s.Client, http.MethodPut, "/api/v1/reply-key", "application/json",
		[]byte(`{"publicKey":"`+base64.StdEncoding.EncodeToString(replyPub[:])+`"}`), http.StatusOK)
	ctsig, sigReq := uitest.MultipartBody(uitest.MessagePart(signatureMessage("openapi-sign", 5)), uitest.DocumentPart("a.pdf", "application/pdf", testsupport.PDF("Aftale")))
	var sg struct{ ID string }
	if err := json.Unmarshal([]byte(check("deliver a signature request", s.Client, http.MethodPost, "/api/v1/messages", ctsig, sigReq, http.StatusCreated).Text), &sg); err != nil {
		t.Fatal(err)
	}
	msg = signatureMessage("openapi-sign-past", -1)
	ctsig2, pastReq := uitest.MultipartBody(uitest.MessagePart(msg), uitest.DocumentPart("a.pdf", "application/pdf", testsupport.PDF("Aftale")))
	check("deliver a signature request past its deadline", s.Client, http.MethodPost, "/api/v1/messages", ctsig2, pastReq, http.StatusBadRequest)
	check("a signature not made yet", s.Client, http.MethodGet, "/api/v1/messages/"+sg.ID+"/signature", "", nil, http.StatusNotFound)
	annaSigns(t, e, sg.ID)
	check("a signature", s.Client, http.MethodGet, "/api/v1/messages/"+sg.ID+"/signature", "", nil, http.StatusOK)
	check("another sender's signature", other.Client, http.MethodGet, "/api/v1/messages/"+sg.ID+"/signature", "", nil, http.StatusNotFound)
	check("a signature without a certificate", anonymous, http.MethodGet, "/api/v1/messages/"+sg.ID+"/signature", "", nil, http.StatusUnauthorized)
	ctsig3, declReq := uitest.MultipartBody(uitest.MessagePart(signatureMessage("openapi-decline", 5)), uitest.DocumentPart("a.txt", "text/plain", []byte("Aftale\n")))
	var dc struct{ ID string }
	if err := json.Unmarshal([]byte(check("deliver a signature request of a text", s.Client, http.MethodPost, "/api/v1/messages", ctsig3, declReq, http.StatusCreated).Text), &dc); err != nil {
		t.Fatal(err)
	}
	annaDeclines(t, e, dc.ID, "Jeg er ikke enig.")
	check("a declined signature", s.Client, http.MethodGet, "/api/v1/messages/"+dc.ID+"/signature", "", nil, http.StatusConflict)

	// The document's request schema and the API agree on a request
	// with a field the API does not know.
	bad, _ := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/recipients/lookup", strings.NewReader(`{"nationalIds": ["`+uitest.NIDAnna+`"], "extra": true}`))
	bad.Header.Set("Content-Type", "application/json")
	if ok, _ := v.ValidateHttpRequest(bad); ok {
		t.Error("the document accepts a lookup with an unknown field")
	}
	check("look up many with an unknown field", s.Client, http.MethodPost, "/api/v1/recipients/lookup", "application/json",
		[]byte(`{"nationalIds": ["`+uitest.NIDAnna+`"], "extra": true}`), http.StatusBadRequest)
}
