package httpui

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/crypto"
	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/resident"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// TestEndToEnd delivers a letter over real mutual TLS, reads it as the
// resident in the web UI over HTTP, and sees the sender's status turn to
// read.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	kommune := e.AddSender("Aarhus Kommune", "55133018")

	// Deliver: a PDF as the main document and a text document.
	msg := uitest.LetterMessage(uitest.NIDAnna, "Decision on your housing benefit", "case-2026-0001")
	msg["body"] = "Your application is granted.\nSee the attached decision."
	resp := e.Deliver(kommune.Client,
		uitest.MessagePart(msg),
		uitest.DocumentPart("decision.pdf", "application/pdf", uitest.PDFDoc),
		uitest.DocumentPart("note.txt", "text/plain", uitest.TextDoc),
	)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", resp.StatusCode, resp.Text)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("deliver Content-Type %q", ct)
	}
	delivered := uitest.DecodeJSON[struct {
		ID          string        `json:"id"`
		Status      string        `json:"status"`
		DeliveredAt time.Time     `json:"deliveredAt"`
		Receipt     store.Receipt `json:"receipt"`
	}](t, resp)
	if len(delivered.ID) != 32 || delivered.Status != "delivered" || delivered.DeliveredAt.IsZero() {
		t.Fatalf("delivery response %+v", delivered)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/messages/"+delivered.ID {
		t.Errorf("Location %q", loc)
	}

	// The receipt verifies with the key the API publishes.
	keyResp := e.Get(kommune.Client, e.HTTPSURL+"/api/v1/receipt-key")
	key := uitest.DecodeJSON[struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"keyId"`
		PublicKey string `json:"publicKey"`
	}](t, keyResp)
	pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
	if err != nil || key.Algorithm != "ed25519" || key.KeyID != crypto.KeyID(pub) || key.KeyID != delivered.Receipt.KeyID {
		t.Fatalf("receipt key %+v (%v), receipt key id %q", key, err, delivered.Receipt.KeyID)
	}
	if !crypto.Verify(ed25519.PublicKey(pub), "receipt", delivered.Receipt.Payload, delivered.Receipt.Signature) {
		t.Fatal("receipt does not verify with the published key")
	}
	payload, err := e.Store.VerifyReceipt(delivered.Receipt)
	if err != nil || payload.LetterID != delivered.ID || payload.Recipient != uitest.NIDAnna {
		t.Fatalf("receipt payload %+v: %v", payload, err)
	}

	// Unread in the sender's status.
	st := e.Get(kommune.Client, e.HTTPSURL+"/api/v1/messages/"+delivered.ID)
	if st.StatusCode != http.StatusOK || !strings.Contains(st.Text, `"readAt":null`) || !strings.Contains(st.Text, `"status":"delivered"`) {
		t.Fatalf("status before reading: %d %s", st.StatusCode, st.Text)
	}

	// The resident signs in over plain HTTP (the demo's UI listener).
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	inbox := e.Get(b, e.HTTPURL+"/")
	if inbox.StatusCode != http.StatusOK {
		t.Fatalf("inbox: %d", inbox.StatusCode)
	}
	for _, want := range []string{
		"<title>Inbox — Postkasse</title>", "Decision on your housing benefit", "Aarhus Kommune",
		"Unread", "1 unread", "Due 31 Jan 2027", "Decision", "Anna Jensen",
		`href="/letters/` + delivered.ID + `"`, `<main id="main"`, "Skip to content",
	} {
		if !strings.Contains(inbox.Text, want) {
			t.Errorf("inbox lacks %q", want)
		}
	}

	// HEAD on the letter page is refused and does not mark it read; HEAD
	// on its document is allowed and does not either.
	for _, tc := range []struct {
		path   string
		status int
		allow  string
	}{
		{"/letters/" + delivered.ID, http.StatusMethodNotAllowed, "GET"},
		{"/letters/" + delivered.ID + "/documents/0", http.StatusOK, ""},
	} {
		req, _ := http.NewRequest(http.MethodHead, e.HTTPURL+tc.path, nil)
		r := e.Do(b, req)
		if r.StatusCode != tc.status || r.Header.Get("Allow") != tc.allow || r.Text != "" {
			t.Errorf("HEAD %s: %d Allow %q body %q", tc.path, r.StatusCode, r.Header.Get("Allow"), r.Text)
		}
	}
	st = e.Get(kommune.Client, e.HTTPSURL+"/api/v1/messages/"+delivered.ID)
	if !strings.Contains(st.Text, `"readAt":null`) {
		t.Fatalf("a HEAD request marked the letter read: %s", st.Text)
	}

	// Open the letter.
	page := e.Get(b, e.HTTPURL+"/letters/"+delivered.ID)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("letter: %d", page.StatusCode)
	}
	for _, want := range []string{
		"<title>Decision on your housing benefit — Postkasse</title>",
		"Your application is granted.\nSee the attached decision.",
		"decision.pdf", "note.txt", "Delivery receipt", payload.ContentHash, delivered.ID,
		"/letters/" + delivered.ID + "/documents/0",
		"/letters/" + delivered.ID + "/documents/1?download=1",
		"Back to Inbox",
	} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("letter page lacks %q", want)
		}
	}
	if strings.Contains(page.Text, "<iframe") {
		t.Error("a PDF main document is framed; only text and HTML are")
	}

	// Open its documents.
	docs := []struct {
		n                        string
		content                  []byte
		contentType, disposition string
	}{
		{"0", uitest.PDFDoc, "application/pdf", `inline; filename=decision.pdf`},
		{"1", uitest.TextDoc, "text/plain; charset=utf-8", `inline; filename=note.txt`},
		{"1?download=1", uitest.TextDoc, "text/plain; charset=utf-8", `attachment; filename=note.txt`},
	}
	for _, d := range docs {
		r := e.Get(b, e.HTTPURL+"/letters/"+delivered.ID+"/documents/"+d.n)
		if r.StatusCode != http.StatusOK || r.Text != string(d.content) {
			t.Errorf("document %s: %d %q", d.n, r.StatusCode, r.Text)
		}
		h := r.Header
		if h.Get("Content-Type") != d.contentType || h.Get("Content-Disposition") != d.disposition ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != web.CSPDocument ||
			h.Get("X-Frame-Options") != "SAMEORIGIN" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("document %s headers: %v", d.n, h)
		}
	}

	// Now the letter is read, for the resident and for the sender.
	inbox = e.Get(b, e.HTTPURL+"/")
	if strings.Contains(inbox.Text, "Unread") || strings.Contains(inbox.Text, "unread)") {
		t.Error("inbox still shows the letter unread")
	}
	st = e.Get(kommune.Client, e.HTTPSURL+"/api/v1/messages/"+delivered.ID)
	status := uitest.DecodeJSON[struct {
		Status string     `json:"status"`
		ReadAt *time.Time `json:"readAt"`
	}](t, st)
	if status.Status != "read" || status.ReadAt == nil || status.ReadAt.Before(delivered.DeliveredAt) {
		t.Fatalf("status after reading: %s", st.Text)
	}

	// Nothing of the mail, no national id and no password ends up in the
	// server's log, which has a line for every request of the journey.
	logs := e.Logs.String()
	if strings.Contains(logs, "housing") || strings.Contains(logs, uitest.NIDAnna) || strings.Contains(logs, uitest.Password) {
		t.Errorf("the log shows mail, a national id or a password: %s", logs)
	}
	if n := strings.Count(logs, "msg=request "); n < 10 {
		t.Errorf("%d access log lines for the whole journey:\n%s", n, logs)
	}
}

// TestSessionCookies checks the cookie's name and attributes over HTTP and
// HTTPS — a browser session cookie, without Expires or Max-Age, so closing
// the browser forgets it — and that logging out ends the session on the
// server.
func TestSessionCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	for _, tc := range []struct {
		name, base, cookie string
		secure             bool
	}{
		{"http", e.HTTPURL, "postkasse", false},
		{"https", e.HTTPSURL, "__Host-postkasse", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.Browser()
			resp := e.PostForm(b, tc.base+"/login", map[string][]string{"nationalId": {uitest.NIDAnna}, "password": {password}}, nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			// The session cookie, and the device cookie (package
			// resident's deviceAccount), which opens nothing and lives a
			// year.
			cookies := resp.Cookies()
			if len(cookies) != 2 {
				t.Fatalf("cookies %v", cookies)
			}
			c, dev := cookies[0], cookies[1]
			if dev.Name != tc.cookie+"-device" || dev.Secure != tc.secure || !dev.HttpOnly || dev.SameSite != http.SameSiteLaxMode ||
				dev.Path != "/" || dev.MaxAge != 365*24*60*60 || !strings.HasPrefix(dev.Value, "v1.") || strings.Contains(dev.Value, uitest.NIDAnna) {
				t.Fatalf("device cookie %+v", dev)
			}
			if c.Name != tc.cookie || c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
				c.Path != "/" || c.Domain != "" || c.Value == "" {
				t.Fatalf("cookie %+v", c)
			}
			if set := resp.Header.Get("Set-Cookie"); !c.Expires.IsZero() || c.MaxAge != 0 ||
				strings.Contains(strings.ToLower(set), "expires") || strings.Contains(strings.ToLower(set), "max-age") {
				t.Fatalf("the session cookie outlives the browser: %s", set)
			}
			if strings.Contains(resp.Header.Get("Set-Cookie"), password) {
				t.Fatal("the password is in the cookie")
			}
			// Signed in: the login page sends the resident to the inbox.
			if r := e.Get(b, tc.base+"/login"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
				t.Errorf("login page while signed in: %d %s", r.StatusCode, r.Header.Get("Location"))
			}
			if r := e.Get(b, tc.base+"/"); r.StatusCode != http.StatusOK {
				t.Fatalf("inbox: %d", r.StatusCode)
			}

			// Log out; the old token opens nothing any more.
			out := e.PostForm(b, tc.base+"/logout", nil, nil)
			if out.StatusCode != http.StatusSeeOther || out.Header.Get("Location") != "/login" {
				t.Fatalf("logout: %d %s", out.StatusCode, out.Header.Get("Location"))
			}
			if r := e.Get(b, tc.base+"/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
				t.Errorf("inbox after logout: %d", r.StatusCode)
			}
			stolen := e.Browser()
			req, _ := http.NewRequest(http.MethodGet, tc.base+"/", nil)
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			if r := e.Do(stolen, req); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
				t.Errorf("old token after logout: %d", r.StatusCode)
			}
		})
	}
}

// TestLoginEndsEarlierSession: signing in again in a browser that still
// has a session ends that session on the server, so it cannot be used
// from a copy of the old cookie; other browsers' sessions stay, and a
// cookie that opens nothing does not stop the sign-in.
func TestLoginEndsEarlierSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	form := url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}
	// signIn posts the login form with cookie (when set) and returns the
	// new session's token.
	signIn := func(cookie string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.HTTPURL+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: resident.CookieHTTP, Value: cookie})
		}
		r := e.Do(e.Browser(), req)
		// The session cookie, then the device cookie.
		if r.StatusCode != http.StatusSeeOther || len(r.Cookies()) != 2 || r.Cookies()[0].Name != resident.CookieHTTP || r.Cookies()[0].Value == "" {
			t.Fatalf("sign in: %d %v", r.StatusCode, r.Cookies())
		}
		return r.Cookies()[0].Value
	}
	alive := func(token string) bool {
		t.Helper()
		mb, err := e.Store.OpenSession(context.Background(), token)
		if errors.Is(err, store.ErrSessionExpired) {
			return false
		} else if err != nil {
			t.Fatal(err)
		}
		mb.Close()
		return true
	}

	other := signIn("") // another browser
	first := signIn("")
	second := signIn(first)
	if second == first {
		t.Fatal("signing in again kept the token")
	}
	if alive(first) {
		t.Error("the earlier session is alive after signing in again")
	}
	if !alive(second) || !alive(other) {
		t.Errorf("sessions alive: new %v, other browser's %v; want both", alive(second), alive(other))
	}
	// A dead or malformed cookie is no obstacle.
	for _, cookie := range []string{first, "not-a-token"} {
		if token := signIn(cookie); !alive(token) {
			t.Errorf("sign in with cookie %q: the new session is dead", cookie)
		}
	}
}
