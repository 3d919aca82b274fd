package httpui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postkasse/postkasse/httpui/internal/uitest"
	"github.com/postkasse/postkasse/httpui/web"
)

// TestLoginFailure: wrong credentials give 401 with a clear message, keep
// the number and never echo the password.
func TestLoginFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	for _, tc := range []struct{ name, nid, password string }{
		{"wrong password", uitest.NIDAnna, "wrong password 123"},
		{"unknown person", uitest.NIDNobody, password},
		{"invalid number", "not a number", password},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.Browser()
			r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {tc.nid}, "password": {tc.password}}, nil)
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d", r.StatusCode)
			}
			if !strings.Contains(r.Text, "Wrong national identity number or password.") {
				t.Error("no clear message")
			}
			if tc.nid != "" && !strings.Contains(r.Text, `value="`+tc.nid+`"`) {
				t.Error("the national identity number was not kept")
			}
			if tc.password != "" && strings.Contains(r.Text, tc.password) {
				t.Error("the password is echoed")
			}
			if len(r.Cookies()) != 0 {
				t.Errorf("cookies set: %v", r.Cookies())
			}
			if !strings.Contains(r.Text, "<title>Sign in — Postkasse</title>") || r.Header.Get("Cache-Control") != "no-store" {
				t.Error("not the login page, or cacheable")
			}
		})
	}
	if n := e.AuditCount("login"); n != 0 {
		t.Fatalf("%d logins", n)
	}
}

// TestLoginThrottle: after N failures the account (or the address) is
// refused with 429 without checking the password, until the window has
// passed.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	t.Run("account", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{throttle: ThrottleConfig{AccountFailures: 3, AddressFailures: 100, Window: 15 * time.Minute}})
		e.AddResident(uitest.NIDAnna, "Anna Jensen")
		b := e.Browser()
		try := func(nid, pw string) *uitest.Response {
			return e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {nid}, "password": {pw}}, nil)
		}
		for i := range 3 {
			if r := try(uitest.NIDAnna, "wrong password!"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, r.StatusCode)
			}
			e.Clock.Advance(time.Minute)
		}
		// Over the limit: even the right password is not tried. The same
		// account written with a hyphen counts the same.
		for _, nid := range []string{uitest.NIDAnna, "010170-1234"} {
			r := try(nid, password)
			if r.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("%s over the limit: %d", nid, r.StatusCode)
			}
			// The first failure leaves the window 15 minutes after it was
			// made, 12 minutes from now.
			if !strings.Contains(r.Text, "Too many failed attempts to sign in. Wait 12 minutes before you try again.") {
				t.Errorf("no clear message: %s", r.Text)
			}
			if r.Header.Get("Retry-After") != "720" {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
		}
		if n := e.AuditCount("login"); n != 0 {
			t.Fatalf("a throttled login was tried: %d logins", n)
		}
		// Another account from the same address is not affected.
		if r := try(uitest.NIDBjorn, "whatever it is"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("another account: %d", r.StatusCode)
		}
		// The window slides past the first failure: one attempt is free.
		e.Clock.Advance(12 * time.Minute)
		e.Login(b, e.HTTPURL, uitest.NIDAnna)
		// Success reset the account: three more failures are allowed.
		for i := range 3 {
			if r := try(uitest.NIDAnna, "wrong password!"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d after success: %d", i, r.StatusCode)
			}
		}
		if r := try(uitest.NIDAnna, password); r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("over the limit again: %d", r.StatusCode)
		}
	})
	t.Run("address", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{throttle: ThrottleConfig{AccountFailures: 100, AddressFailures: 3, Window: time.Minute}})
		e.AddResident(uitest.NIDAnna, "Anna Jensen")
		b := e.Browser()
		for _, nid := range []string{"0101801234", "0101811234", "0101821234"} {
			r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {nid}, "password": {"guess guess"}}, nil)
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s: %d", nid, r.StatusCode)
			}
		}
		// X-Forwarded-For does not give the client another address.
		r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}},
			http.Header{"X-Forwarded-For": {"203.0.113.9"}})
		if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.Text, "Wait 1 minute") {
			t.Fatalf("address over the limit: %d %s", r.StatusCode, r.Text)
		}
		e.Clock.Advance(time.Minute)
		e.Login(b, e.HTTPURL, uitest.NIDAnna)
	})
}

// TestCrossOrigin: a cross-site POST to /login or /logout is refused and
// changes nothing; requests without browser headers (curl, senders) pass.
func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	originOnly := http.Header{"Origin": {"https://evil.example"}}

	for _, h := range []http.Header{crossSite, originOnly} {
		b := e.Browser()
		r := e.PostForm(b, e.HTTPURL+"/login", url.Values{"nationalId": {uitest.NIDAnna}, "password": {password}}, h)
		if r.StatusCode != http.StatusForbidden || len(r.Cookies()) != 0 || !strings.Contains(r.Text, "Request refused") {
			t.Fatalf("cross-site login %v: %d %v", h, r.StatusCode, r.Cookies())
		}
	}
	if n := e.AuditCount("login"); n != 0 {
		t.Fatalf("cross-site login made %d sessions", n)
	}

	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	r := e.PostForm(b, e.HTTPURL+"/logout", nil, crossSite)
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site logout: %d", r.StatusCode)
	}
	if n := e.AuditCount("logout"); n != 0 {
		t.Fatal("cross-site logout ended the session")
	}
	if r := e.Get(b, e.HTTPURL+"/"); r.StatusCode != http.StatusOK {
		t.Fatalf("session after cross-site logout: %d", r.StatusCode)
	}
	// Same-origin form posts pass.
	same := http.Header{"Origin": {e.HTTPURL}, "Sec-Fetch-Site": {"same-origin"}}
	if r := e.PostForm(b, e.HTTPURL+"/logout", nil, same); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin logout: %d", r.StatusCode)
	}

	// The API: curl sends neither Origin nor Sec-Fetch-Site and passes; a
	// browser's cross-site POST is refused with a problem.
	if r := e.Deliver(s.Client, uitest.ValidDelivery("curl")...); r.StatusCode != http.StatusCreated {
		t.Fatalf("API without browser headers: %d %s", r.StatusCode, r.Text)
	}
	ct, body := uitest.MultipartBody(uitest.ValidDelivery("browser")...)
	req, _ := http.NewRequest(http.MethodPost, e.HTTPSURL+"/api/v1/messages", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	uitest.WantProblem(t, e.Do(s.Client, req), http.StatusForbidden, "FORBIDDEN")
	if n := e.Deliveries(); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
}

// TestSecurityHeaders: every response carries the security headers:
// pages, redirects, errors, static files, API answers.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	r := e.Deliver(s.Client, uitest.ValidDelivery("headers")...)
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	bs := e.Browser()
	e.Login(bs, e.HTTPSURL, uitest.NIDAnna)
	css, err := e.server.pages.StaticURL("style.css")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		c            *http.Client
		url          string
		status       int
		csp          string
		frame        string
		cacheControl string
	}{
		{"login page", e.Browser(), e.HTTPURL + "/login", 200, web.CSPPage, "DENY", "no-store"},
		{"inbox", b, e.HTTPURL + "/", 200, web.CSPPage, "DENY", "no-store"},
		{"inbox over HTTPS", bs, e.HTTPSURL + "/", 200, web.CSPPage, "DENY", "no-store"},
		{"letter", b, e.HTTPURL + "/letters/" + id, 200, web.CSPLetterPage, "DENY", "no-store"},
		{"document", b, e.HTTPURL + "/letters/" + id + "/documents/0", 200, web.CSPDocument, "SAMEORIGIN", "no-store"},
		{"receipt", b, e.HTTPURL + "/letters/" + id + "/receipt", 200, web.CSPPage, "DENY", "no-store"},
		{"confirmation of deleting", b, e.HTTPURL + "/letters/" + id + "/delete", 200, web.CSPPage, "DENY", "no-store"},
		{"redirect to login", e.Browser(), e.HTTPURL + "/", 303, web.CSPPage, "DENY", "no-store"},
		{"404 page", b, e.HTTPURL + "/no/such/page", 404, web.CSPPage, "DENY", "no-store"},
		{"405 page", b, e.HTTPURL + "/logout", 405, web.CSPPage, "DENY", "no-store"},
		{"static", b, e.HTTPURL + css, 200, web.CSPPage, "DENY", "public, max-age=31536000, immutable"},
		{"static, wrong hash", b, e.HTTPURL + "/static/0123456789abcdef/style.css", 404, web.CSPPage, "DENY", "no-store"},
		{"healthz", b, e.HTTPURL + "/healthz", 200, web.CSPPage, "DENY", "no-store"},
		{"API 200", s.Client, e.HTTPSURL + "/api/v1/receipt-key", 200, web.CSPPage, "DENY", "no-store"},
		{"API 401", e.Client(nil), e.HTTPURL + "/api/v1/receipt-key", 401, web.CSPPage, "DENY", "no-store"},
		{"API 404", s.Client, e.HTTPSURL + "/api/v1/nothing", 404, web.CSPPage, "DENY", "no-store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Get(tc.c, tc.url)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.status)
			}
			want := map[string]string{
				"Content-Security-Policy":      tc.csp,
				"X-Content-Type-Options":       "nosniff",
				"Referrer-Policy":              "no-referrer",
				"X-Frame-Options":              tc.frame,
				"Cross-Origin-Opener-Policy":   "same-origin",
				"Cross-Origin-Resource-Policy": "same-origin",
				"Cache-Control":                tc.cacheControl,
			}
			for k, v := range want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if r.Header.Get("Permissions-Policy") == "" {
				t.Error("no Permissions-Policy")
			}
			// Never on loopback, where the demo also serves plain HTTP.
			if hsts := r.Header.Get("Strict-Transport-Security"); hsts != "" {
				t.Errorf("Strict-Transport-Security %q on loopback", hsts)
			}
		})
	}

	// HSTS over HTTPS under a real name, never over HTTP.
	for _, tc := range []struct {
		base, host, want string
	}{
		{e.HTTPSURL, "postkasse.example", "max-age=31536000"},
		{e.HTTPSURL, "localhost", ""},
		{e.HTTPURL, "postkasse.example", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.base+"/healthz", nil)
		req.Host = tc.host
		if got := e.Do(b, req).Header.Get("Strict-Transport-Security"); got != tc.want {
			t.Errorf("%s with Host %s: Strict-Transport-Security %q, want %q", tc.base, tc.host, got, tc.want)
		}
	}

	// 405 names the methods that are allowed (RFC 9110 §15.5.6).
	for _, tc := range []struct {
		c         *http.Client
		url, want string
	}{
		{b, e.HTTPURL + "/logout", "POST"},
		{b, e.HTTPURL + "/", "GET, HEAD"},
		{s.Client, e.HTTPSURL + "/api/v1/messages", "POST"},
	} {
		req, _ := http.NewRequest(http.MethodPut, tc.url, nil)
		r := e.Do(tc.c, req)
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != tc.want {
			t.Errorf("PUT %s: %d Allow %q, want %q", tc.url, r.StatusCode, r.Header.Get("Allow"), tc.want)
		}
	}
}

// TestHostileContent: a subject with markup is escaped in the pages, and an
// HTML document loses its scripts and event handlers.
func TestHostileContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	subject := `<script>alert("subject")</script> & more`
	html := `<h1 onclick="alert(1)">Notice</h1><script>alert("doc")</script><img src=x onerror=alert(2)>` +
		`<a href="javascript:alert(3)">click</a><iframe src="https://evil.example"></iframe><p style="color:red">Text</p>`
	msg := uitest.LetterMessage(uitest.NIDAnna, subject, "hostile")
	msg["body"] = `<b onmouseover="alert(4)">body</b>`
	r := e.Deliver(s.Client, uitest.MessagePart(msg), uitest.DocumentPart("notice.html", "text/html", []byte(html)))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)

	for _, u := range []string{"/", "/letters/" + id} {
		page := e.Get(b, e.HTTPURL+u)
		if strings.Contains(page.Text, "<script") || strings.Contains(page.Text, "<b onmouseover") {
			t.Errorf("%s: markup from the sender is not escaped", u)
		}
		if !strings.Contains(page.Text, "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt; &amp; more") {
			t.Errorf("%s: the escaped subject is missing", u)
		}
	}
	letter := e.Get(b, e.HTTPURL+"/letters/"+id)
	frame := `<iframe class="document-frame" sandbox src="/letters/` + id + `/documents/0"`
	if !strings.Contains(letter.Text, frame) {
		t.Errorf("the HTML main document is not in a sandboxed frame")
	}
	if !strings.Contains(letter.Header.Get("Content-Security-Policy"), "frame-src 'self'") {
		t.Error("the letter page's CSP does not allow its frame")
	}
	doc := e.Get(b, e.HTTPURL+"/letters/"+id+"/documents/0")
	for _, bad := range []string{"<script", "onerror", "onclick", "javascript:", "<iframe", "alert(\"doc\")"} {
		if strings.Contains(doc.Text, bad) {
			t.Errorf("the served HTML has %q: %s", bad, doc.Text)
		}
	}
	if !strings.Contains(doc.Text, "Notice") || !strings.Contains(doc.Text, "Text") {
		t.Errorf("the served HTML lost its text: %s", doc.Text)
	}
	if doc.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.HasSuffix(doc.Header.Get("Content-Security-Policy"), "; sandbox") {
		t.Errorf("document headers %v", doc.Header)
	}
}

// TestOtherResidentsLetters: a resident cannot open another resident's
// letter or document; the answer is the same as for one that does not
// exist.
func TestOtherResidentsLetters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	e.AddResident(uitest.NIDBjorn, "Bjørn Hansen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	r := e.Deliver(s.Client, uitest.ValidDelivery("for-anna")...)
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDBjorn)
	for _, u := range []string{
		"/letters/" + id, "/letters/" + id + "/documents/0", "/letters/" + id + "/documents/0?download=1",
		"/letters/" + strings.Repeat("0", 32), "/letters/not-an-id", "/letters/" + id + "/documents/99999",
	} {
		page := e.Get(b, e.HTTPURL+u)
		if page.StatusCode != http.StatusNotFound || !strings.Contains(page.Text, "Page not found") ||
			!strings.Contains(page.Text, "Bjørn Hansen") && strings.HasPrefix(u, "/letters/"+id) {
			t.Errorf("%s: %d", u, page.StatusCode)
		}
		if strings.Contains(page.Text, "Your tax assessment") {
			t.Errorf("%s shows Anna's letter", u)
		}
	}
	// Anna's letter is still unread.
	st := e.Get(s.Client, e.HTTPSURL+"/api/v1/messages/"+id)
	if !strings.Contains(st.Text, `"readAt":null`) {
		t.Fatalf("status %s", st.Text)
	}
	// Anna's own document index out of range is 404 too.
	a := e.Browser()
	e.Login(a, e.HTTPURL, uitest.NIDAnna)
	if page := e.Get(a, e.HTTPURL+"/letters/"+id+"/documents/1"); page.StatusCode != http.StatusNotFound {
		t.Errorf("document 1 of 1: %d", page.StatusCode)
	}
}

// TestDocumentNames: UTF-8 file names survive in Content-Disposition
// (RFC 6266, RFC 8187), and ?download=1 makes any document an attachment.
func TestDocumentNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.AddResident(uitest.NIDAnna, "Anna Jensen")
	s := e.AddSender("Aarhus Kommune", "55133018")
	r := e.Deliver(s.Client,
		uitest.MessagePart(uitest.LetterMessage(uitest.NIDAnna, "Afgørelse", "names")),
		uitest.DocumentPart("Afgørelse – bilag.pdf", "application/pdf", uitest.PDFDoc),
		uitest.DocumentPart("kort.png", "image/png", uitest.PNGDoc),
	)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("deliver: %d %s", r.StatusCode, r.Text)
	}
	id := uitest.DecodeJSON[struct {
		ID string `json:"id"`
	}](t, r).ID
	b := e.Browser()
	e.Login(b, e.HTTPURL, uitest.NIDAnna)
	for _, tc := range []struct{ path, ct, cd string }{
		{"0", "application/pdf", "inline; filename*=utf-8''Afg%C3%B8relse%20%E2%80%93%20bilag.pdf"},
		{"0?download=1", "application/pdf", "attachment; filename*=utf-8''Afg%C3%B8relse%20%E2%80%93%20bilag.pdf"},
		{"1", "image/png", "inline; filename=kort.png"},
	} {
		d := e.Get(b, e.HTTPURL+"/letters/"+id+"/documents/"+tc.path)
		if d.StatusCode != 200 || d.Header.Get("Content-Type") != tc.ct || d.Header.Get("Content-Disposition") != tc.cd {
			t.Errorf("%s: %d %q %q", tc.path, d.StatusCode, d.Header.Get("Content-Type"), d.Header.Get("Content-Disposition"))
		}
	}
	page := e.Get(b, e.HTTPURL+"/letters/"+id)
	if !strings.Contains(page.Text, "Afgørelse – bilag.pdf") || !strings.Contains(page.Text, "PNG image") {
		t.Errorf("letter page lacks the documents")
	}
}
