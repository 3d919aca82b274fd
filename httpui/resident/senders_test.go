package resident_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/apptest"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/internal/testsupport"
	"github.com/postkasse/postkasse/store"
)

// sendersEnv is an appliance with Anna, who has letters from a public
// and a private sender, and Bjørn, who has one from the public sender;
// the store runs on clock.
type sendersEnv struct {
	*uitest.Env
	clock  *testsupport.Clock
	public *uitest.Sender
	shop   *uitest.Sender
}

func newSendersEnv(t *testing.T) *sendersEnv {
	t.Helper()
	clock := testsupport.NewClock()
	e := apptest.NewEnv(t, apptest.Options{StoreClock: clock.Now})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	public := e.AddSender("Aarhus Kommune", "55133018")
	shop, err := e.Store.AddSender(context.Background(), "Boghandlen ApS", "12345674", store.SenderPrivate)
	if err != nil {
		t.Fatal(err)
	}
	client, cert := e.CertClient(e.CA, "Boghandlen ApS", "12345674")
	if err := e.Store.BindCertificate(context.Background(), shop.ID, cert); err != nil {
		t.Fatal(err)
	}
	se := &sendersEnv{Env: e, clock: clock, public: public, shop: &uitest.Sender{Sender: shop, Client: client, Cert: cert}}
	se.deliver(se.public, uitest.NIDAnna, "skat-1", http.StatusCreated)
	se.deliver(se.shop, uitest.NIDAnna, "nyhed-1", http.StatusCreated)
	se.deliver(se.shop, uitest.NIDAnna, "nyhed-2", http.StatusCreated)
	se.deliver(se.public, uitest.NIDBjorn, "skat-2", http.StatusCreated)
	return se
}

// deliver sends a letter from s to nid over the API and wants status.
func (e *sendersEnv) deliver(s *uitest.Sender, nid, ref string, status int) *uitest.Response {
	e.T.Helper()
	r := e.Deliver(s.Client, uitest.MessagePart(uitest.LetterMessage(nid, "Brev "+ref, ref)), uitest.DocumentPart("a.pdf", "application/pdf", uitest.PDFDoc))
	if r.StatusCode != status {
		e.T.Fatalf("letter %s to %s: %d %s, want %d", ref, nid, r.StatusCode, r.Text, status)
	}
	return r
}

// blocks returns the resident's blocks, read from the store.
func (e *sendersEnv) blocks(nid string) map[string]store.SenderBlock {
	e.T.Helper()
	sess, err := e.Store.Login(context.Background(), nid, uitest.Password)
	if err != nil {
		e.T.Fatal(err)
	}
	defer e.Store.Logout(context.Background(), sess.Token)
	mb, err := e.Store.OpenSession(context.Background(), sess.Token)
	if err != nil {
		e.T.Fatal(err)
	}
	defer mb.Close()
	senders, err := mb.Senders(context.Background())
	if err != nil {
		e.T.Fatal(err)
	}
	out := map[string]store.SenderBlock{}
	for _, s := range senders {
		if s.Block != nil {
			out[s.Sender.ID] = *s.Block
		}
	}
	return out
}

// TestSendersPage: the settings page links to the senders page, which
// lists every sender who wrote to the resident; a private sender is
// blocked with a week's notice, shown as a date and time; during the
// notice its letters still arrive, afterwards its lookups say not digital
// and its letters are refused with SENDER_BLOCKED, the public sender's
// not; the block is withdrawn before and lifted after it takes effect;
// a public sender cannot be blocked and the page says why; audited.
func TestSendersPage(t *testing.T) {
	t.Parallel()
	e := newSendersEnv(t)
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if r := e.Get(b, e.HTTPURL+"/settings"); !strings.Contains(r.Text, `<a href="/settings/senders">Senders who write to you</a>`) {
		t.Fatal("the settings page does not link to the senders page")
	}
	page := e.Get(b, e.HTTPURL+"/settings/senders")
	for _, want := range []string{"<h1>Senders who write to you</h1>", "Aarhus Kommune", "Public authority · 1 letter",
		"Cannot be blocked: letters from public authorities have legal effect.", "Boghandlen ApS",
		"Company or other private sender · 2 letters", "A block takes effect 7 days after you ask for it",
		"Block letters from Boghandlen ApS", `name="sender" value="` + e.shop.ID + `"`} {
		if !strings.Contains(html.UnescapeString(page.Text), want) {
			t.Errorf("senders page lacks %q", want)
		}
	}
	if strings.Contains(page.Text, `value="`+e.public.ID+`"`) {
		t.Error("the senders page offers to block the public sender")
	}
	lookup := func(s *uitest.Sender) bool {
		t.Helper()
		return strings.Contains(e.Get(s.Client, e.HTTPSURL+"/api/v1/recipients/"+uitest.NIDAnna).Text, `"digital":true`)
	}

	// Block: a week's notice, the date and time on the page.
	r := e.PostForm(b, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {e.shop.ID}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/senders?done=blocked&sender="+e.shop.ID {
		t.Fatalf("block: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	block, ok := e.blocks(uitest.NIDAnna)[e.shop.ID]
	if !ok || !block.Effective.Equal(e.clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("the block stored: %+v", block)
	}
	when := uitest.English.DateTime(block.Effective.In(time.Local))
	page = e.Get(b, e.HTTPURL+r.Header.Get("Location"))
	for _, want := range []string{"You have blocked Boghandlen ApS. The block takes effect on " + when + ".",
		"Blocked from " + when + ". Until then, its letters still reach you.", "Withdraw the block of Boghandlen ApS"} {
		if !strings.Contains(html.UnescapeString(page.Text), want) {
			t.Errorf("after blocking, the page lacks %q:\n%s", want, page.Text)
		}
	}
	// Blocking again changes nothing. (A session ends after a while
	// without use: moving the clock signs in again.)
	e.clock.Advance(time.Hour)
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	e.PostForm(b, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {e.shop.ID}}, nil)
	if again := e.blocks(uitest.NIDAnna)[e.shop.ID]; !again.Effective.Equal(block.Effective) {
		t.Errorf("blocking again moved the date to %s", again.Effective)
	}
	// Withdrawn during the notice, then blocked again.
	r = e.PostForm(b, e.HTTPURL+"/settings/senders/unblock", url.Values{"sender": {e.shop.ID}}, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.StatusCode)
	}
	if page := e.Get(b, e.HTTPURL+r.Header.Get("Location")); !strings.Contains(page.Text, "Boghandlen ApS is no longer blocked.") {
		t.Errorf("after withdrawing:\n%s", page.Text)
	}
	if len(e.blocks(uitest.NIDAnna)) != 0 {
		t.Fatal("the block was not withdrawn")
	}
	e.PostForm(b, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {e.shop.ID}}, nil)
	block = e.blocks(uitest.NIDAnna)[e.shop.ID]

	// During the notice letters still arrive.
	e.clock.Advance(block.Effective.Sub(e.clock.Now()) - time.Minute)
	if !lookup(e.shop) {
		t.Error("the lookup says not digital during the notice")
	}
	e.deliver(e.shop, uitest.NIDAnna, "nyhed-3", http.StatusCreated)
	// From the effective time: refused, and the page says so.
	e.clock.Advance(time.Minute)
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	if lookup(e.shop) {
		t.Error("the blocked sender's lookup says digital")
	}
	if !lookup(e.public) {
		t.Error("the public sender's lookup says not digital")
	}
	before := e.Deliveries()
	uitest.WantProblem(t, e.deliver(e.shop, uitest.NIDAnna, "nyhed-4", http.StatusUnprocessableEntity), http.StatusUnprocessableEntity, "SENDER_BLOCKED")
	if e.Deliveries() != before {
		t.Error("a refused letter was stored")
	}
	e.deliver(e.public, uitest.NIDAnna, "skat-3", http.StatusCreated)
	page = e.Get(b, e.HTTPURL+"/settings/senders")
	when = uitest.English.DateTime(block.Effective.In(time.Local))
	if !strings.Contains(page.Text, "Blocked since "+when+": its letters are refused.") || !strings.Contains(page.Text, "Accept letters from Boghandlen ApS again") ||
		!strings.Contains(page.Text, "Company or other private sender · 3 letters") {
		t.Errorf("the page once the block is in effect:\n%s", page.Text)
	}
	// Lifted after it took effect: letters come in again.
	if r := e.PostForm(b, e.HTTPURL+"/settings/senders/unblock", url.Values{"sender": {e.shop.ID}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("unblock: %d", r.StatusCode)
	}
	if !lookup(e.shop) {
		t.Error("the lookup says not digital after unblocking")
	}
	e.deliver(e.shop, uitest.NIDAnna, "nyhed-5", http.StatusCreated)

	// A public sender: refused, and the page says why.
	r = e.PostForm(b, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {e.public.ID}}, nil)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "Public authorities cannot be blocked: their letters have legal effect.") {
		t.Errorf("blocking the public sender: %d\n%s", r.StatusCode, r.Text)
	}
	// No such sender, or none: not found.
	for _, id := range []string{"", strings.Repeat("0", 32), "../../etc"} {
		if r := e.PostForm(b, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {id}}, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("block %q: %d", id, r.StatusCode)
		}
		if r := e.PostForm(b, e.HTTPURL+"/settings/senders/unblock", url.Values{"sender": {id}}, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("unblock %q: %d", id, r.StatusCode)
		}
	}
	if len(e.blocks(uitest.NIDAnna)) != 0 {
		t.Error("a refused request left a block")
	}
	// Blocked twice (asking again is no new block), unblocked twice.
	if e.AuditCount("block-sender") != 2 || e.AuditCount("unblock-sender") != 2 {
		t.Errorf("audited %d blocks and %d unblocks, want 2 and 2", e.AuditCount("block-sender"), e.AuditCount("unblock-sender"))
	}

	// In Danish and Norwegian, the date in the language.
	e.PostForm(b, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {e.shop.ID}}, nil)
	block = e.blocks(uitest.NIDAnna)[e.shop.ID]
	for _, tc := range []struct{ lang, want string }{
		{"da", "Blokeret fra " + uitest.Catalogue.Lang("da").DateTime(block.Effective.In(time.Local))},
		{"nb", "Blokkert fra " + uitest.Catalogue.Lang("nb").DateTime(block.Effective.In(time.Local))},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.HTTPURL+"/settings/senders", nil)
		req.Header.Set("Accept-Language", tc.lang)
		if r := e.Do(b, req); !strings.Contains(r.Text, tc.want) {
			t.Errorf("%s: the page lacks %q:\n%s", tc.lang, tc.want, r.Text)
		}
	}
}

// TestSendersAuthorization: the senders page and its forms give another
// resident, a signed-out browser and a cross-site form nothing, and they
// change nothing.
func TestSendersAuthorization(t *testing.T) {
	t.Parallel()
	e := newSendersEnv(t)
	anna := e.Browser()
	e.Login(anna, e.HTTPURL, uitest.NIDAnna)
	if r := e.PostForm(anna, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {e.shop.ID}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("Anna blocks: %d", r.StatusCode)
	}
	want := e.blocks(uitest.NIDAnna)[e.shop.ID]
	unchanged := func(who string) {
		t.Helper()
		got := e.blocks(uitest.NIDAnna)
		if len(got) != 1 || !got[e.shop.ID].Effective.Equal(want.Effective) {
			t.Errorf("%s changed Anna's blocks: %+v", who, got)
		}
		if got := e.blocks(uitest.NIDBjorn); len(got) != 0 {
			t.Errorf("%s: Bjørn has blocks %+v", who, got)
		}
	}

	// Bjørn sees only his own sender, and cannot block Anna's shop (it
	// never wrote to him) or lift her block.
	bjorn := e.Browser()
	e.Login(bjorn, e.HTTPURL, uitest.NIDBjorn)
	page := e.Get(bjorn, e.HTTPURL+"/settings/senders")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, "Aarhus Kommune") || strings.Contains(page.Text, "Boghandlen") || strings.Contains(page.Text, e.shop.ID) {
		t.Errorf("Bjørn's senders page: %d\n%s", page.StatusCode, page.Text)
	}
	for _, path := range []string{"/settings/senders/block", "/settings/senders/unblock"} {
		if r := e.PostForm(bjorn, e.HTTPURL+path, url.Values{"sender": {e.shop.ID}}, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("Bjørn posts %s for Anna's sender: %d", path, r.StatusCode)
		}
	}
	unchanged("Bjørn")

	// Signed out: sent to the login page, nothing shown or changed.
	out := e.Browser()
	for _, r := range []*uitest.Response{
		e.Get(out, e.HTTPURL+"/settings/senders"),
		e.PostForm(out, e.HTTPURL+"/settings/senders/block", url.Values{"sender": {e.shop.ID}}, nil),
		e.PostForm(out, e.HTTPURL+"/settings/senders/unblock", url.Values{"sender": {e.shop.ID}}, nil),
	} {
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" || strings.Contains(r.Text, "Boghandlen") {
			t.Errorf("signed out: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
	}
	unchanged("a signed-out browser")

	// A cross-site form in Anna's own browser: refused, nothing changed.
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	for _, path := range []string{"/settings/senders/block", "/settings/senders/unblock"} {
		if r := e.PostForm(anna, e.HTTPURL+path, url.Values{"sender": {e.shop.ID}}, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %s: %d", path, r.StatusCode)
		}
	}
	unchanged("a cross-site form")
	if n := e.AuditCount("block-sender") + e.AuditCount("unblock-sender"); n != 1 {
		t.Errorf("%d block entries audited, want Anna's one", n)
	}
}
