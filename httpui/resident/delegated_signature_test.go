package resident_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// TestDelegatedSigning: Carl, with a grant of access "act" from Anna,
// opens the signature request from her letter and signs it with his own
// password; the sender's event says who signed on whose behalf, Anna's
// letter page and her activity view show it, and she downloads the
// signed PDF. Without the tick nothing is signed. (The refusals of a read
// grant, a grant that does not cover the letter, an ended one, another
// resident and a wrong password: TestAccessAuthorization.)
func TestDelegatedSigning(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	ctx := context.Background()
	const carlPassword = uitest.Password // every test resident's
	g := e.actGrantToCarl(t)
	snd := e.sendersEnv.public
	e.AddReplyKey(snd)
	nid, err := store.ParseNationalID(uitest.NIDAnna)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Store.Deliver(ctx, snd.ID, store.Delivery{Recipient: nid, Subject: "Lejeaftale", SenderReference: "sign-1",
		SignatureRequest: &store.SignatureRequest{Deadline: e.clock.Now().AddDate(0, 0, 14).Format(time.DateOnly), Description: "Lejeaftale for Vestergade 12"},
		Documents:        []store.DocumentInput{{Name: "aftale.pdf", ContentType: "application/pdf", Content: testsupport.PDF("Lejeaftale")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Letter.ID
	carl := e.Browser()
	e.Login(carl, e.HTTPURL, e.nidCarl)
	letter := e.Get(carl, e.HTTPURL+"/mailboxes/"+g.ID+"/letters/"+id)
	sigURL := "/mailboxes/" + g.ID + "/letters/" + id + "/signature"
	if !strings.Contains(letter.Text, `href="`+sigURL+`"`) {
		t.Fatalf("the delegate's letter page links no signature request:\n%s", letter.Text)
	}
	page := e.Get(carl, e.HTTPURL+sigURL)
	if page.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(page.Text), "on behalf of Anna Jensen") ||
		!strings.Contains(page.Text, `action="/mailboxes/`+g.ID+`/letters/`+id+`/sign"`) {
		t.Fatalf("the signature page: %d\n%s", page.StatusCode, page.Text)
	}
	sign := e.HTTPURL + "/mailboxes/" + g.ID + "/letters/" + id + "/sign"
	if r := e.PostForm(carl, sign, url.Values{"password": {carlPassword}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("without the tick: %d", r.StatusCode)
	}
	if e.AuditCount("delegate-sign") != 0 {
		t.Fatal("signed without the tick")
	}
	wantRedirect(t, "sign on behalf", e.PostForm(carl, sign, url.Values{"confirm": {"yes"}, "password": {carlPassword}}, nil), sigURL+"?saved=signed#signature")
	if e.AuditCount("delegate-sign") != 1 {
		t.Fatal("not audited as the delegate's signature")
	}
	r := e.Get(snd.Client, e.HTTPSURL+"/api/v1/events?limit=100")
	if !strings.Contains(r.Text, `"signedBy":{"name":"Carl Carlsen","role":"delegate"}`) {
		t.Errorf("the events: %s", r.Text)
	}
	// Carl downloads the signed PDF from the page; Dora cannot.
	signedPage := e.Get(carl, e.HTTPURL+sigURL)
	fileURL := sigURL + "/file"
	if !strings.Contains(signedPage.Text, `href="`+fileURL+`"`) {
		t.Errorf("the signed page offers no download:\n%s", signedPage.Text)
	}
	if f := e.Get(carl, e.HTTPURL+fileURL); f.StatusCode != http.StatusOK || f.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(f.Text, "%PDF") {
		t.Errorf("Carl's signed PDF: %d %s", f.StatusCode, f.Header.Get("Content-Type"))
	}
	dora := e.Browser()
	e.Login(dora, e.HTTPURL, e.nidDora)
	if f := e.Get(dora, e.HTTPURL+fileURL); f.StatusCode != http.StatusNotFound || strings.Contains(f.Text, "%PDF") {
		t.Errorf("Dora's view of the signed PDF: %d", f.StatusCode)
	}
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if f := e.Get(anna, e.HTTPURL+fileURL); f.StatusCode != http.StatusNotFound {
		t.Errorf("Anna through a grant she gave: %d", f.StatusCode)
	}
	own := html.UnescapeString(e.Get(anna, e.HTTPURL+"/letters/"+id).Text)
	if !strings.Contains(own, "Carl Carlsen signed the document on behalf of Anna Jensen") {
		t.Errorf("Anna's letter page:\n%s", own)
	}
	if f := e.Get(anna, e.HTTPURL+"/letters/"+id+"/signature"); f.StatusCode != http.StatusOK || f.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("Anna's signed PDF: %d %s", f.StatusCode, f.Header.Get("Content-Type"))
	}
	access := html.UnescapeString(e.Get(anna, e.HTTPURL+"/settings/access").Text)
	if !strings.Contains(access, "signed a document on your behalf") || !strings.Contains(access, "signing or declining documents on your behalf") {
		t.Errorf("Anna's access page lacks the signature:\n%s", access)
	}
}
