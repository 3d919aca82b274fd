package resident_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/crypto/signing"
	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/internal/testsupport/webauthntest"
)

// signingEnv delivers Anna two letters that ask for a signature, by a
// deadline days ahead, from a sender with a reply key, and returns their
// ids and the sender's reply key.
func signingEnv(t *testing.T, clock *testsupport.Clock) (*uitest.Env, *uitest.Sender, string, string, *crypto.PrivateKey) {
	t.Helper()
	opts := apptest.Options{}
	if clock != nil {
		opts.StoreClock = clock.Now
	}
	e := apptest.NewEnv(t, opts)
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	key := e.AddReplyKey(s)
	var ids []string
	for _, ref := range []string{"aftale-1", "aftale-2"} {
		m := uitest.LetterMessage(uitest.NIDAnna, "Lejeaftale", ref)
		now := time.Now()
		if clock != nil {
			now = clock.Now()
		}
		m["signatureRequest"] = map[string]any{"deadline": now.UTC().AddDate(0, 0, 3).Format(time.DateOnly), "description": "Lejeaftale for Vestergade 12"}
		r := e.Deliver(s.Client, uitest.MessagePart(m), uitest.DocumentPart("aftale.pdf", "application/pdf", testsupport.PDF("Lejeaftale")))
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
		}
		ids = append(ids, uitest.DecodeJSON[struct {
			ID string `json:"id"`
		}](t, r).ID)
	}
	return e, s, ids[0], ids[1], key
}

// TestLetterSigning: the letter page asks for the signature in each
// language; signing needs the box ticked and the right password, and
// then the sender gets a PDF signed in Anna's name; declining needs a
// reason. Another resident, a signed-out browser and a cross-site form
// sign and decline nothing.
func TestLetterSigning(t *testing.T) {
	t.Parallel()
	e, s, one, two, replyKey := signingEnv(t, nil)
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	nobody := e.Browser()

	for lang, want := range map[string][]string{
		"en": {"Signature requested", "Sign by", ", until 23:59 (", "I have read the document and want to sign it", ">Sign</button>", "Decline to sign"},
		"da": {"Anmodning om underskrift", "Underskriv senest", "Jeg har læst dokumentet og vil underskrive det", ">Underskriv</button>", "Afslå at underskrive"},
		"nb": {"Forespørsel om signering", "Signer senest", "Jeg har lest dokumentet og vil signere det", ">Signer</button>", "Avslå å signere"},
	} {
		r := e.Get(anna, e.HTTPURL+"/letters/"+one+"?lang="+lang)
		page := html.UnescapeString(r.Text)
		for _, w := range append(want, "Lejeaftale for Vestergade 12", `action="/letters/`+one+`/sign"`, `action="/letters/`+one+`/decline"`) {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the letter page lacks %q", lang, w)
			}
		}
	}
	e.Get(anna, e.HTTPURL+"/letters/"+one+"?lang=en")

	signature := func() int {
		return e.Get(s.Client, e.HTTPSURL+"/api/v1/messages/"+one+"/signature").StatusCode
	}
	sign := url.Values{"confirm": {"yes"}, "password": {uitest.Password}}
	// Refused: another resident, signed out, cross-site, no tick, a
	// wrong password. Nothing is signed.
	if r := e.PostForm(bjorn, e.HTTPURL+"/letters/"+one+"/sign", sign, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("Bjørn signs Anna's letter: %d", r.StatusCode)
	}
	if r := e.PostForm(bjorn, e.HTTPURL+"/letters/"+one+"/decline", url.Values{"reason": {"nej"}}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("Bjørn declines Anna's letter: %d", r.StatusCode)
	}
	wantRedirect(t, "signed-out sign", e.PostForm(nobody, e.HTTPURL+"/letters/"+one+"/sign", sign, nil), "/login")
	wantRedirect(t, "signed-out decline", e.PostForm(nobody, e.HTTPURL+"/letters/"+one+"/decline", url.Values{"reason": {"nej"}}, nil), "/login")
	if r := e.PostForm(anna, e.HTTPURL+"/letters/"+one+"/sign", sign, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign: %d", r.StatusCode)
	}
	if r := e.PostForm(anna, e.HTTPURL+"/letters/"+one+"/decline", url.Values{"reason": {"nej"}}, crossSite); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site decline: %d", r.StatusCode)
	}
	if r := e.PostForm(anna, e.HTTPURL+"/letters/"+one+"/sign", url.Values{"password": {uitest.Password}}, nil); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Text, "Tick the box") {
		t.Errorf("sign without the tick: %d", r.StatusCode)
	}
	if r := e.PostForm(anna, e.HTTPURL+"/letters/"+one+"/sign", url.Values{"confirm": {"yes"}, "password": {"not the password"}}, nil); r.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(r.Text, "The password is wrong. Nothing was signed.") {
		t.Errorf("sign with a wrong password: %d", r.StatusCode)
	}
	if st := signature(); st != http.StatusNotFound || e.AuditCount("sign") != 0 || e.AuditCount("decline-signature") != 0 {
		t.Fatalf("after the refusals: the sender's signature %d, %d signed", st, e.AuditCount("sign"))
	}

	// Signed.
	wantRedirect(t, "sign", e.PostForm(anna, e.HTTPURL+"/letters/"+one+"/sign", sign, nil), "/letters/"+one+"?saved=signed#signature")
	page := e.Get(anna, e.HTTPURL+"/letters/"+one+"?saved=signed")
	if !strings.Contains(page.Text, "You have signed the document.") || strings.Contains(page.Text, `/sign"`) {
		t.Errorf("the page after signing:\n%s", page.Text)
	}
	r := e.Get(s.Client, e.HTTPSURL+"/api/v1/messages/"+one+"/signature")
	ca, err := signing.ParseCertificatePEM(e.Store.SigningCA())
	if err != nil {
		t.Fatal(err)
	}
	// Sealed to the sender's reply key: the signed PDF is not in clear
	// on the way, nor at rest.
	sealed := uitest.DecodeJSON[struct{ ID, SenderID, ResidentID, Sealed string }](t, r)
	raw, err := base64.StdEncoding.DecodeString(sealed.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := replyKey.OpenReply(raw, crypto.ReplyBinding{ReplyID: sealed.ID, SenderID: sealed.SenderID, ResidentID: sealed.ResidentID})
	if err != nil {
		t.Fatal(err)
	}
	signedPDF := opened.Attachments[0].Content
	vs, err := signing.VerifyPDF(signedPDF, ca)
	if err != nil || vs[0].Signer.Subject.CommonName != "Anna Jensen" {
		t.Fatalf("the signed PDF: %v", err)
	}
	if r := e.PostForm(anna, e.HTTPURL+"/letters/"+one+"/sign", sign, nil); r.StatusCode != http.StatusConflict {
		t.Errorf("signing twice: %d", r.StatusCode)
	}
	// Anna downloads her own signed copy, the sender's; nobody else can.
	if !strings.Contains(page.Text, `href="/letters/`+one+`/signature" download>`) {
		t.Error("the page offers no download of the signed document")
	}
	own := e.Get(anna, e.HTTPURL+"/letters/"+one+"/signature")
	if own.StatusCode != http.StatusOK || own.Header.Get("Content-Type") != "application/pdf" || own.Text != string(signedPDF) {
		t.Errorf("Anna's signed copy: %d %s", own.StatusCode, own.Header.Get("Content-Type"))
	}
	if r := e.Get(bjorn, e.HTTPURL+"/letters/"+one+"/signature"); r.StatusCode != http.StatusNotFound || strings.Contains(r.Text, "%PDF") {
		t.Errorf("Bjørn's view of Anna's signed copy: %d", r.StatusCode)
	}
	wantRedirect(t, "signed-out signed copy", e.Get(nobody, e.HTTPURL+"/letters/"+one+"/signature"), "/login")
	if r := e.Get(anna, e.HTTPURL+"/letters/"+two+"/signature"); r.StatusCode != http.StatusNotFound {
		t.Errorf("the signed copy of a letter not signed: %d", r.StatusCode)
	}

	// Declined, with a reason.
	if r := e.PostForm(anna, e.HTTPURL+"/letters/"+two+"/decline", url.Values{"reason": {"  "}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("decline without a reason: %d", r.StatusCode)
	}
	wantRedirect(t, "decline", e.PostForm(anna, e.HTTPURL+"/letters/"+two+"/decline", url.Values{"reason": {"Huslejen er for høj."}}, nil), "/letters/"+two+"?saved=declined#signature")
	if r := e.Get(s.Client, e.HTTPSURL+"/api/v1/messages/"+two+"/signature"); r.StatusCode != http.StatusConflict || !strings.Contains(r.Text, "Huslejen er for høj.") {
		t.Errorf("the sender's view of a declined request: %d %s", r.StatusCode, r.Text)
	}
}

// TestLetterSigningExpired: after the deadline day the page says the
// document can no longer be signed, and a form posted anyway signs
// nothing.
func TestLetterSigningExpired(t *testing.T) {
	t.Parallel()
	clock := testsupport.NewClockAt(time.Now().UTC())
	e, _, one, _, _ := signingEnv(t, clock)
	// The store's clock and the pages' pass the deadline day.
	clock.Advance(5 * 24 * time.Hour)
	e.Clock.Set(clock.Now())
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	page := e.Get(anna, e.HTTPURL+"/letters/"+one)
	if !strings.Contains(page.Text, "The deadline has passed, so the document can no longer be signed here.") || strings.Contains(page.Text, `/sign"`) {
		t.Errorf("the page after the deadline:\n%s", page.Text)
	}
	r := e.PostForm(anna, e.HTTPURL+"/letters/"+one+"/sign", url.Values{"confirm": {"yes"}, "password": {uitest.Password}}, nil)
	if r.StatusCode != http.StatusConflict || e.AuditCount("sign") != 0 {
		t.Errorf("signing after the deadline: %d", r.StatusCode)
	}
}

// TestLetterSigningWithoutPassword: a mailbox made with eID and a
// passkey has no password to sign with: the signature box offers its
// passkey instead (no password field, no notice that a password is
// needed), which signs.
func TestLetterSigningWithoutPassword(t *testing.T) {
	t.Parallel()
	e := newEIDEnv(t)
	base := strings.Replace(e.HTTPURL, "//127.0.0.1:", "//localhost:", 1)
	e.op.Register(t, base+"/eid/callback")
	auth := &webauthntest.Authenticator{Origin: base, PRF: true, PRFAtCreate: true}
	b, _ := e.passkeyMailbox(t, base, "nobody", auth)
	s := e.AddSender("Aarhus Kommune", "55133018")
	e.AddReplyKey(s)
	m := uitest.LetterMessage(uitest.NIDNobody, "Lejeaftale", "aftale-1")
	m["signatureRequest"] = map[string]any{"deadline": time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly), "description": "Lejeaftale"}
	r := e.Deliver(s.Client, uitest.MessagePart(m), uitest.DocumentPart("aftale.pdf", "application/pdf", testsupport.PDF("Lejeaftale")))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	l := uitest.English
	page := e.Get(b, base+"/letters/"+id)
	if strings.Contains(html.UnescapeString(page.Text), l.T("signing.noPassword")) || strings.Contains(page.Text, `id="sign-password"`) ||
		!strings.Contains(page.Text, `id="sign-passkey-form"`) {
		t.Fatalf("the signature box of a mailbox without a password:\n%s", page.Text)
	}
	options, _, state := ceremonyOf(t, page)
	resp, err := auth.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, "sign with the passkey", e.PostForm(b, base+"/letters/"+id+"/sign", url.Values{"confirm": {"yes"}, "state": {state}, "response": {resp}}, nil),
		"/letters/"+id+"?saved=signed#signature")
}
